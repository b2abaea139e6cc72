import { afterEach, expect, test } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { AuditTable, summarize } from "./Audit";

afterEach(cleanup);

test("details are summarized, the full JSON kept in the title", () => {
  const details = { name: "demo", hash: "f".repeat(64), nested: { a: 1 } };
  expect(summarize(details)).toBe(`name=demo hash=${"f".repeat(37)}… nested={"a":1}`);
  render(
    <AuditTable
      events={[{ seq: 7, id: "e1", ts: "2026-11-26T10:00:00.123Z", actor: "mia", action: "project.create", resource_type: "project", resource_id: "p1", request_id: "r", details, prev_hash: "", hash: "" }]}
    />,
  );
  expect(screen.getByRole("cell", { name: "project.create" })).toBeTruthy();
  expect(screen.getByRole("cell", { name: "2026-11-26 10:00:00Z" })).toBeTruthy();
  expect(screen.getByTitle(/"nested"/)).toBeTruthy();
});
