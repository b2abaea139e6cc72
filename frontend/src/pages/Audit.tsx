import { useState, type FormEvent } from "react";
import { api } from "../lib/api";
import { useAsync } from "../lib/useAsync";
import type { AuditEvent } from "../lib/types";
import { Async, Badge, Field, PageHeader, Pager, TableHead } from "../components/ui";
import { fmtTime } from "../lib/format";

// key=value pairs, long ids and hashes shortened; the full JSON is in the cell's title.
export function summarize(details: Record<string, unknown>): string {
  const parts = Object.entries(details ?? {}).map(([k, v]) => {
    let s = typeof v === "string" ? v : JSON.stringify(v);
    if (s.length > 40) s = `${s.slice(0, 37)}…`;
    return `${k}=${s}`;
  });
  const out = parts.join(" ");
  return out.length > 200 ? `${out.slice(0, 199)}…` : out;
}

export function AuditTable({ events }: { events: AuditEvent[] }) {
  return (
    <table className="table">
      <TableHead cols={["#", "Time", "Actor", "Action", "Resource", "Details"]} />
      <tbody>
        {events.map((e) => (
          <tr key={e.id}>
            <td>{e.seq}</td>
            <td>{fmtTime(e.ts)}</td>
            <td>{e.actor}</td>
            <td>
              <code>{e.action}</code>
            </td>
            <td>
              {e.resource_type} <span className="muted">{e.resource_id}</span>
            </td>
            <td className="details" title={JSON.stringify(e.details, null, 1)}>
              <code>{summarize(e.details)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface Filters {
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { actor: "", action: "", resource_type: "", resource_id: "", since: "", until: "" };

function toRfc3339(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function AuditPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [tokens, setTokens] = useState<string[]>([""]); // page tokens visited; last is current
  const pageToken = tokens[tokens.length - 1];
  const verify = useAsync(() => api.get<{ ok: boolean; count: number; first_broken_seq?: number; problem?: string }>("/api/v1/audit/verify"), []);
  const page = useAsync(
    () =>
      api.get<{ items: AuditEvent[]; next_page_token?: string }>("/api/v1/audit", {
        actor: filters.actor,
        action: filters.action,
        resource_type: filters.resource_type,
        resource_id: filters.resource_id,
        since: toRfc3339(filters.since),
        until: toRfc3339(filters.until),
        max_results: 50,
        page_token: pageToken,
      }),
    [filters, pageToken],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
    setTokens([""]);
  };
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <section>
      <PageHeader title="Audit log" />
      <Async state={verify} what="chain verification">
        {(v) =>
          v.ok ? (
            <p className="chain ok" role="status">
              <Badge value="VERIFIED" /> Hash chain intact over {v.count} events.
            </p>
          ) : (
            <p className="chain broken" role="alert">
              <Badge value="BROKEN" /> Chain broken at event #{v.first_broken_seq}: {v.problem}
            </p>
          )
        }
      </Async>
      <form className="filters" onSubmit={submit} aria-label="Search the audit log">
        <Field label="Actor">{(id) => <input id={id} value={draft.actor} onChange={set("actor")} placeholder="username" />}</Field>
        <Field label="Action">{(id) => <input id={id} value={draft.action} onChange={set("action")} placeholder="project.create" />}</Field>
        <Field label="Resource type">{(id) => <input id={id} value={draft.resource_type} onChange={set("resource_type")} placeholder="project" />}</Field>
        <Field label="Resource id">{(id) => <input id={id} value={draft.resource_id} onChange={set("resource_id")} />}</Field>
        <Field label="Since">{(id) => <input id={id} type="datetime-local" value={draft.since} onChange={set("since")} />}</Field>
        <Field label="Until">{(id) => <input id={id} type="datetime-local" value={draft.until} onChange={set("until")} />}</Field>
        <div className="filter-actions">
          <button type="submit" className="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setTokens([""]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Async state={page} what="audit events" empty="No events match these filters. Widen the time range or clear a filter." isEmpty={(p) => p.items.length === 0}>
        {(p) => (
          <>
            <AuditTable events={p.items} />
            <Pager
              label="Audit log"
              hasPrev={tokens.length > 1}
              hasNext={!!p.next_page_token}
              onPrev={() => setTokens(tokens.slice(0, -1))}
              onNext={() => setTokens([...tokens, p.next_page_token!])}
            />
          </>
        )}
      </Async>
    </section>
  );
}
