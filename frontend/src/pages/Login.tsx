import { useState, type FormEvent } from "react";
import { useAuth } from "../lib/auth";
import { ErrorBox } from "../components/ui";
import { useAction } from "../lib/useAction";

export function LoginPage() {
  const { login } = useAuth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, run: perform } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      await login(username, password);
    });
  };
  return (
    <main className="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title" className="card">
        <h1 id="login-title">Sign in to MLOps Studio</h1>
        <div className="field">
          <label htmlFor="login-username">Username</label>
          <input id="login-username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input
            id="login-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </div>
        {error !== null && <ErrorBox error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p className="hint">
          No account yet? The first admin comes from <code>studio admin bootstrap</code>; an admin creates the others.
        </p>
      </form>
    </main>
  );
}
