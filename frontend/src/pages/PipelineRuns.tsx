import { useEffect, useRef, useState } from "react";
import { api, enc, type Page } from "../lib/api";
import { useFeature } from "../lib/capabilities";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import type { Run, StageRun } from "../lib/types";
import { AsyncTable, Badge, ErrorBox, Gated, TableHead } from "../components/ui";
import { fmtDuration, fmtTime } from "../lib/format";
import { useAction } from "../lib/useAction";

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "CANCELED", "TIMED_OUT", "SKIPPED"]);
export const isTerminal = (s?: string) => !!s && TERMINAL.has(s.toUpperCase());

// Polls a run until it ends.
export function useRun(id: string | null) {
  const [run, setRun] = useState<Run | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!id) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const r = await api.get<Run>(`/api/v1/runs/${enc(id)}`);
        if (stop) return;
        setRun(r);
        setError(null);
        if (!isTerminal(r.status)) timer = setTimeout(poll, 1500);
      } catch (e) {
        if (!stop) setError(e);
      }
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [id, tick]);
  return { run, error, reload: () => setTick((t) => t + 1) };
}

export function PipelineRunsPanel({
  project,
  pipeline,
  spec,
  valid,
  onStageStatus,
  onStarted,
}: {
  project: string;
  pipeline: string;
  spec: string;
  valid: boolean;
  onStageStatus: (s: Record<string, string>) => void;
  onStarted?: () => void;
}) {
  const hasRuns = useFeature("runs");
  const [selected, setSelected] = useState<string | null>(null);
  const { error: startError, run: perform } = useAction();
  const runs = useAsync(
    () => (hasRuns ? api.get<Page<Run>>("/api/v1/runs", { project, max_results: 100 }).then((p) => p.items.filter((r) => r.pipeline === pipeline).slice(0, 20)) : Promise.resolve([])),
    [project, pipeline, hasRuns],
  );
  const { run } = useRun(selected);
  useEffect(() => {
    const m: Record<string, string> = {};
    for (const s of run?.stages ?? []) m[s.id] = s.status;
    onStageStatus(m);
  }, [run, onStageStatus]);
  // The history shows the followed run's latest status.
  const runStatus = run?.status;
  const reloadRuns = runs.reload;
  useEffect(() => {
    if (runStatus) reloadRuns();
  }, [runStatus, reloadRuns]);
  if (!hasRuns) return null;
  const start = (noop: boolean) =>
    perform(async () => {
      // The spec as edited; the server registers it as a new version when it changed.
      const r = await api.post<Run>("/api/v1/runs", { spec, noop });
      setSelected(r.id);
      runs.reload();
      onStarted?.();
    });
  return (
    <section aria-label="Pipeline runs">
      <h2>Runs</h2>
      <div className="row-actions">
        <Gated perm="create" allowed={valid} title="The spec must validate first" onClick={() => void start(false)}>
          Run pipeline
        </Gated>
        <Gated perm="create" allowed={valid} title="The spec must validate first" onClick={() => void start(true)}>
          Dry run (no-op stages)
        </Gated>
      </div>
      {startError !== null && <ErrorBox error={startError} />}
      <AsyncTable state={runs} what="runs" empty="No runs of this pipeline yet. Click “Run pipeline” to start one." cols={["Run", "Status", "Started", "Show on graph"]} className="table compact">
        {(r) => (
          <tr key={r.id}>
            <td>
              <Link to={`/runs/${enc(r.id)}`}>{r.id.slice(-8)}</Link>
            </td>
            <td>
              <Badge value={r.status} />
            </td>
            <td>{fmtTime(r.started_at ?? r.created_at)}</td>
            <td>
              <button type="button" onClick={() => setSelected(r.id === selected ? null : r.id)} aria-pressed={r.id === selected}>
                {r.id === selected ? "Hide" : "Colour graph"}
              </button>
            </td>
          </tr>
        )}
      </AsyncTable>
      {run && <StagesTable run={run} />}
    </section>
  );
}

function stageDuration(s: StageRun): number | undefined {
  if (typeof s.duration_ms === "number") return s.duration_ms;
  const d = (s as { durations?: Record<string, number> }).durations;
  if (d && typeof d === "object") {
    const total = d.total_ms ?? d.run_ms ?? d.total;
    if (typeof total === "number") return total;
  }
  if (s.started_at && s.finished_at) return Date.parse(s.finished_at) - Date.parse(s.started_at);
  return undefined;
}

function attemptsOf(s: StageRun): string {
  const max = (s as { max_attempts?: number }).max_attempts;
  if (s.attempt !== undefined && max !== undefined) return `${s.attempt}/${max}`;
  const n = Array.isArray(s.attempts) ? s.attempts.length : s.attempts;
  if (s.attempt !== undefined && n !== undefined) return `${s.attempt}/${n}`;
  return n !== undefined ? String(n) : s.attempt !== undefined ? String(s.attempt) : "—";
}

export function StagesTable({ run }: { run: Run }) {
  const [logStage, setLogStage] = useState<string | null>(null);
  return (
    <>
      <table className="table compact" aria-label={`Stages of run ${run.id}`}>
        <TableHead cols={["Stage", "Type", "Status", "Attempts", "Duration", "Outputs", "Logs"]} />
        <tbody>
          {(run.stages ?? []).map((s) => (
            <tr key={s.id}>
              <td>{s.id}</td>
              <td>{s.type}</td>
              <td>
                <Badge value={s.status} />
                {s.error ? <div className="muted">{String(s.error)}</div> : null}
              </td>
              <td>{attemptsOf(s)}</td>
              <td>{fmtDuration(stageDuration(s))}</td>
              <td className="details">{s.outputs && Object.keys(s.outputs).length ? <code>{JSON.stringify(s.outputs)}</code> : "—"}</td>
              <td>
                <button type="button" onClick={() => setLogStage(logStage === s.id ? null : s.id)} aria-pressed={logStage === s.id}>
                  {logStage === s.id ? "Hide logs" : "Logs"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {logStage && <StageLogs runId={run.id} stage={logStage} live={!isTerminal(run.status)} />}
    </>
  );
}

// Per-stage logs; with follow on, the server streams new lines until the stage ends.
export function StageLogs({ runId, stage, live }: { runId: string; stage: string; live: boolean }) {
  const [follow, setFollow] = useState(live);
  const [text, setText] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    setText("");
    setDone(false);
    setError(null);
    (async () => {
      const res = await fetch(`/api/v1/runs/${enc(runId)}/stages/${enc(stage)}/logs${follow ? "?follow=1" : ""}`, { credentials: "same-origin", signal: ctrl.signal });
      if (!res.ok) {
        const b = await res.json().catch(() => ({}));
        throw new Error(b.message ?? `HTTP ${res.status}`);
      }
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        setText((t) => t + dec.decode(value, { stream: true }));
      }
      setDone(true);
    })().catch((e) => {
      if ((e as Error).name !== "AbortError") setError(e);
    });
    return () => ctrl.abort();
  }, [runId, stage, follow]);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);
  return (
    <div className="logs">
      <div className="row-actions">
        <h3>Logs of {stage}</h3>
        <label className="checkbox">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
        </label>
        <span className="muted" role="status">
          {done ? "end of log" : follow ? "following…" : "loading…"}
        </span>
      </div>
      {error !== null && <ErrorBox error={error} />}
      <pre ref={pre} tabIndex={0} aria-label={`Log output of ${stage}`}>
        {text ? renderLog(text) : done ? "(no output)" : ""}
      </pre>
    </div>
  );
}

// NDJSON lines ({"ts","stream","line"} or similar) are shown as text; plain text as is.
function renderLog(text: string): string {
  return text
    .split("\n")
    .map((l) => {
      if (!l.startsWith("{")) return l;
      try {
        const o = JSON.parse(l);
        const msg = o.line ?? o.msg ?? o.message ?? o.text;
        return msg !== undefined ? `${o.ts ? `${o.ts} ` : ""}${o.stream && o.stream !== "stdout" ? `[${o.stream}] ` : ""}${msg}` : l;
      } catch {
        return l;
      }
    })
    .join("\n");
}
