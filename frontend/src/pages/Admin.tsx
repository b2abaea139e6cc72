import { useState, type FormEvent } from "react";
import { api, enc, listAll } from "../lib/api";
import { useAuth } from "../lib/auth";
import { useAsync } from "../lib/useAsync";
import { ROLES } from "../lib/rbac";
import type { Token, User } from "../lib/types";
import { AsyncTable, Badge, ErrorBox, Field, Gated, PageHeader } from "../components/ui";
import { fmtTime } from "../lib/format";
import { useAction } from "../lib/useAction";

export function AdminPage() {
  const { can } = useAuth();
  return (
    <section>
      <PageHeader title="Admin" />
      {can("admin") ? (
        <Users />
      ) : (
        <p className="empty">Users and role bindings are managed by an admin. You can manage your own API tokens below.</p>
      )}
      <Tokens />
    </section>
  );
}

function RolePicker({ value, onChange, legend }: { value: string[]; onChange: (r: string[]) => void; legend: string }) {
  return (
    <fieldset className="roles-picker">
      <legend>{legend}</legend>
      {ROLES.map((r) => (
        <label key={r} className="checkbox">
          <input type="checkbox" checked={value.includes(r)} onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))} /> {r}
        </label>
      ))}
    </fieldset>
  );
}

function Users() {
  const users = useAsync(() => listAll<User>("/api/v1/users"), []);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [roles, setRoles] = useState<string[]>([]);
  const { error, run: perform } = useAction();
  const [editing, setEditing] = useState<string | null>(null);
  const [editRoles, setEditRoles] = useState<string[]>([]);
  const create = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      await api.post("/api/v1/users", { username, password, roles });
      setUsername("");
      setPassword("");
      setRoles([]);
      users.reload();
    });
  };
  const patch = (u: User, body: Record<string, unknown>) =>
    perform(async () => {
      await api.patch(`/api/v1/users/${enc(u.id)}`, body);
      setEditing(null);
      users.reload();
    });
  return (
    <>
      <h2>Users and role bindings</h2>
      <form className="card form" onSubmit={create} aria-label="Create a user">
        <h3>New user</h3>
        <Field label="Username">{(id) => <input id={id} value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />}</Field>
        <Field label="Initial password" hint="8 characters or more">
          {(id) => <input id={id} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={8} autoComplete="new-password" />}
        </Field>
        <RolePicker value={roles} onChange={setRoles} legend="Roles" />
        <button type="submit" className="primary">
          Create user
        </button>
      </form>
      {error !== null && <ErrorBox error={error} />}
      <AsyncTable state={users} what="users" empty="No users. Create one above." cols={["User", "Roles", "Status", "Created", "Actions"]}>
        {(u) => (
          <tr key={u.id}>
            <td>{u.username}</td>
            <td>
              {editing === u.id ? (
                <RolePicker value={editRoles} onChange={setEditRoles} legend={`Roles of ${u.username}`} />
              ) : (
                u.roles.map((r) => <span key={r} className="tag">{r}</span>)
              )}
            </td>
            <td>
              <Badge value={u.disabled ? "disabled" : "active"} />
            </td>
            <td>{fmtTime(u.created_at)}</td>
            <td className="row-actions">
              {editing === u.id ? (
                <>
                  <button type="button" className="primary" onClick={() => void patch(u, { roles: editRoles })}>
                    Save roles
                  </button>
                  <button type="button" onClick={() => setEditing(null)}>
                    Cancel
                  </button>
                </>
              ) : (
                <Gated
                  perm="admin"
                  onClick={() => {
                    setEditing(u.id);
                    setEditRoles(u.roles);
                  }}
                  aria-label={`Edit roles of ${u.username}`}
                >
                  Edit roles
                </Gated>
              )}
              <Gated perm="admin" onClick={() => void patch(u, { disabled: !u.disabled })} aria-label={`${u.disabled ? "Enable" : "Disable"} ${u.username}`}>
                {u.disabled ? "Enable" : "Disable"}
              </Gated>
            </td>
          </tr>
        )}
      </AsyncTable>
    </>
  );
}

function Tokens() {
  const tokens = useAsync(() => api.get<{ items: Token[] }>("/api/v1/tokens").then((r) => r.items), []);
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [secret, setSecret] = useState<string | null>(null);
  const { error, run: perform } = useAction();
  const create = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      const body: Record<string, unknown> = { name };
      if (days) body.expires_in_days = Number(days);
      const t = await api.post<Token & { token: string }>("/api/v1/tokens", body);
      setSecret(t.token);
      setName("");
      tokens.reload();
    });
  };
  const revoke = (t: Token) =>
    perform(async () => {
      await api.del(`/api/v1/tokens/${enc(t.id)}`);
      tokens.reload();
    });
  return (
    <>
      <h2>Your API tokens</h2>
      <form className="card form inline" onSubmit={create} aria-label="Create an API token">
        <Field label="Token name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} />}</Field>
        <Field label="Expires in days" hint="empty: never">
          {(id) => <input id={id} type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />}
        </Field>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      {secret && (
        <div className="secret" role="alert">
          Copy this token now; it is not shown again: <code>{secret}</code>{" "}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
      <AsyncTable state={tokens} what="tokens" empty="No API tokens. Create one above for the CLI, CI or MLflow clients (STUDIO_TOKEN / MLFLOW_TRACKING_TOKEN)." cols={["Name", "Prefix", "Created", "Expires", "Last used", "Actions"]}>
        {(t) => (
          <tr key={t.id}>
            <td>{t.name}</td>
            <td>
              <code>{t.prefix}</code>
            </td>
            <td>{fmtTime(t.created_at)}</td>
            <td>{t.expires_at ? fmtTime(t.expires_at) : "never"}</td>
            <td>{fmtTime(t.last_used_at)}</td>
            <td>
              <button type="button" className="danger" onClick={() => void revoke(t)} aria-label={`Revoke token ${t.name}`}>
                Revoke
              </button>
            </td>
          </tr>
        )}
      </AsyncTable>
    </>
  );
}
