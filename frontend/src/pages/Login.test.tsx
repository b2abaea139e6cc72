import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { AuthProvider, useAuth } from "../lib/auth";
import { LoginPage } from "./Login";

function Who() {
  const { me } = useAuth();
  return me ? <p>signed in as {me.username} ({me.roles.join(", ")})</p> : <LoginPage />;
}

function json(body: unknown, status = 200) {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

test("a fresh browser shows the login page without asking the server", () => {
  const fetchMock = vi.fn();
  vi.stubGlobal("fetch", fetchMock);
  render(
    <AuthProvider>
      <Who />
    </AuthProvider>,
  );
  expect(screen.getByRole("heading", { name: "Sign in to MLOps Studio" })).toBeTruthy();
  expect(fetchMock).not.toHaveBeenCalled();
});

test("login posts JSON, then shows the user and remembers the session", async () => {
  const fetchMock = vi.fn((url: string, init?: RequestInit) => {
    if (url === "/api/v1/auth/login") {
      expect(init?.method).toBe("POST");
      expect((init?.headers as Record<string, string>)["Content-Type"]).toBe("application/json");
      expect(JSON.parse(String(init?.body))).toEqual({ username: "mia", password: "s3cret-pass" });
      return json({ user: { username: "mia" } });
    }
    if (url === "/api/v1/me") return json({ id: "1", username: "mia", roles: ["ml_engineer"], permissions: ["read", "create"] });
    return json({}, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  render(
    <AuthProvider>
      <Who />
    </AuthProvider>,
  );
  fireEvent.change(screen.getByLabelText("Username"), { target: { value: "mia" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "s3cret-pass" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  await screen.findByText("signed in as mia (ml_engineer)");
  expect(localStorage.getItem("studio.signedIn")).toBe("1");
});

test("a wrong password shows the server's error and stays on the login page", async () => {
  vi.stubGlobal(
    "fetch",
    vi.fn(() => json({ error_code: "UNAUTHENTICATED", message: "invalid username or password" }, 401)),
  );
  render(
    <AuthProvider>
      <Who />
    </AuthProvider>,
  );
  fireEvent.change(screen.getByLabelText("Username"), { target: { value: "mia" } });
  fireEvent.change(screen.getByLabelText("Password"), { target: { value: "nope-nope" } });
  fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
  const alert = await screen.findByRole("alert");
  expect(alert.textContent).toContain("UNAUTHENTICATED: invalid username or password");
  await waitFor(() => expect(screen.getByRole("button", { name: "Sign in" })).toHaveProperty("disabled", false));
  expect(localStorage.getItem("studio.signedIn")).toBeNull();
});

test("an expired session falls back to the login page", async () => {
  localStorage.setItem("studio.signedIn", "1");
  vi.stubGlobal("fetch", vi.fn(() => json({ error_code: "UNAUTHENTICATED", message: "session expired" }, 401)));
  render(
    <AuthProvider>
      <Who />
    </AuthProvider>,
  );
  await screen.findByRole("heading", { name: "Sign in to MLOps Studio" });
  await waitFor(() => expect(localStorage.getItem("studio.signedIn")).toBeNull());
});
