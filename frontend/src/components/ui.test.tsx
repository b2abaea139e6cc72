import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { AuthProvider, useAuth } from "../lib/auth";
import { Async, AsyncTable, Gated } from "./ui";
import { ApiError } from "../lib/api";

function respond(body: unknown, status = 200) {
  return Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));
}

beforeEach(() => {
  localStorage.clear();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

async function renderAs(permissions: string[], ui: React.ReactNode) {
  localStorage.setItem("studio.signedIn", "1");
  vi.stubGlobal(
    "fetch",
    vi.fn((url: string) => (url === "/api/v1/me" ? respond({ id: "1", username: "mia", roles: ["ml_engineer"], permissions }) : respond({}, 404))),
  );
  render(
    <AuthProvider>
      <SignedIn />
      {ui}
    </AuthProvider>,
  );
  // The session is known once the user's name shows: the buttons below render for that user.
  await screen.findByText("signed in: mia");
}

function SignedIn() {
  const { me } = useAuth();
  return me ? <p>signed in: {me.username}</p> : null;
}

test("a forbidden action is disabled and its tooltip names who can do it", async () => {
  const onClick = vi.fn();
  await renderAs(["read", "self", "create", "deploy_dev"], <Gated perm="lock_pipelines" onClick={onClick}>Lock stage</Gated>);
  const button = screen.getByRole("button", { name: "Lock stage" });
  expect(button).toHaveProperty("disabled", true);
  expect(button.getAttribute("title")).toBe("Needs the lock_pipelines permission (role production_team or admin)");
  expect(screen.getByRole("tooltip").textContent).toContain("production_team or admin");
  fireEvent.click(button);
  expect(onClick).not.toHaveBeenCalled();
});

test("an allowed action is enabled and clickable", async () => {
  const onClick = vi.fn();
  await renderAs(["read", "self", "create"], <Gated perm="create" onClick={onClick}>New project</Gated>);
  const button = screen.getByRole("button", { name: "New project" });
  expect(button).toHaveProperty("disabled", false);
  fireEvent.click(button);
  expect(onClick).toHaveBeenCalledOnce();
});

test("allowed=false disables with the given reason even when the role permits", async () => {
  await renderAs(["read", "create"], <Gated perm="create" allowed={false} title="Pick a stage first">Transition</Gated>);
  const button = screen.getByRole("button", { name: "Transition" });
  expect(button.getAttribute("title")).toBe("Pick a stage first");
  expect(button).toHaveProperty("disabled", true);
});

test("Async shows loading, then error with retry, then the empty state", () => {
  const reload = vi.fn();
  const { rerender } = render(
    <Async state={{ data: undefined, error: undefined, loading: true, reload }} what="projects">
      {() => <p>data</p>}
    </Async>,
  );
  expect(screen.getByRole("status").textContent).toBe("Loading projects…");
  rerender(
    <Async state={{ data: undefined, error: new ApiError(403, "PERMISSION_DENIED", "needs admin"), loading: false, reload }} what="projects">
      {() => <p>data</p>}
    </Async>,
  );
  expect(screen.getByRole("alert").textContent).toContain("PERMISSION_DENIED: needs admin");
  fireEvent.click(screen.getByRole("button", { name: "Retry" }));
  expect(reload).toHaveBeenCalledOnce();
  rerender(
    <Async state={{ data: [] as number[], error: undefined, loading: false, reload }} what="projects" isEmpty={(d) => d.length === 0} empty="Create one first.">
      {() => <p>data</p>}
    </Async>,
  );
  expect(screen.getByText("Create one first.")).toBeTruthy();
});

test("AsyncTable shows the empty text for no rows, else column headers and one row per item", () => {
  const reload = vi.fn();
  const row = (n: number) => (
    <tr key={n}>
      <td>item {n}</td>
    </tr>
  );
  const { rerender } = render(
    <AsyncTable state={{ data: [] as number[], error: undefined, loading: false, reload }} what="items" empty="No items yet." cols={["Item"]}>
      {row}
    </AsyncTable>,
  );
  expect(screen.getByText("No items yet.")).toBeTruthy();
  expect(screen.queryByRole("table")).toBeNull();
  rerender(
    <AsyncTable state={{ data: [1, 2], error: undefined, loading: false, reload }} what="items" empty="No items yet." cols={["Item"]} className="table compact">
      {row}
    </AsyncTable>,
  );
  expect(screen.getByRole("table").className).toBe("table compact");
  expect(screen.getByRole("columnheader", { name: "Item" }).getAttribute("scope")).toBe("col");
  expect(screen.getAllByRole("cell").map((c) => c.textContent)).toEqual(["item 1", "item 2"]);
});
