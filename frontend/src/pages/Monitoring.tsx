import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, enc, listAll, type Page } from "../lib/api";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import type { AlarmRule, Monitor, Project } from "../lib/types";
import { Async, AsyncTable, Badge, ErrorBox, Gated, PageHeader, TableHead } from "../components/ui";
import { fmtNum, fmtTime } from "../lib/format";
import { useAction } from "../lib/useAction";

interface ReportSummary {
  id: string;
  monitor_id: string;
  status: string;
  trigger: string;
  dataset_drift: boolean;
  drift_share: number;
  drifted_features: number;
  total_features: number;
  current_rows: number;
  error: string;
  created_by: string;
  created_at: string;
}
interface FeatureResult {
  column: string;
  method: string;
  kind?: string;
  statistic?: number;
  p_value?: number;
  score?: number;
  threshold?: number;
  drift: boolean;
  histogram?: { edges?: number[]; categories?: string[]; ref: number[]; cur: number[] };
}
interface FullReport extends ReportSummary {
  report?: { features?: FeatureResult[]; [k: string]: unknown };
}
interface Series {
  feature: string;
  method: string;
  points: { report_id: string; ts: string; score: number; threshold: number; drift: boolean }[];
}

export function MonitoringPage() {
  const projects = useAsync(() => listAll<Project>("/api/v1/projects"), []);
  const monitors = useAsync(() => listAll<Monitor>("/api/v1/monitors"), []);
  const rules = useAsync(() => listAll<AlarmRule>("/api/v1/alarms/rules"), []);
  const projectName = (id?: string) => projects.data?.find((p) => p.id === id)?.name ?? id ?? "—";
  return (
    <section>
      <PageHeader title="Monitoring" />
      <h2>Monitors</h2>
      <Async
        state={monitors}
        what="monitors"
        isEmpty={(m) => m.length === 0}
        empty={<>No monitors yet. Create one with <code>POST /api/v1/monitors</code> (a reference CSV and the current data; docs/api.md, Monitoring).</>}
      >
        {(ms) => (
          <table className="table">
            <TableHead cols={["Monitor", "Project", "Target", "Schedule", "Last check", "Alarms"]} />
            <tbody>
              {ms.map((m) => {
                const mine = (rules.data ?? []).filter((r) => r.monitor_id === m.id);
                const firing = mine.filter((r) => r.state === "ALARM").length;
                return (
                  <tr key={m.id}>
                    <td>
                      <Link to={`/monitoring/${enc(m.id)}`}>{m.name}</Link>
                    </td>
                    <td>{projectName(m.project_id)}</td>
                    <td>
                      <code>{JSON.stringify(m.target)}</code>
                    </td>
                    <td>{String(m.schedule ?? "manual")}</td>
                    <td>
                      {m.last_status ? <Badge value={String(m.last_status)} /> : null} {fmtTime(m.last_run_at as string)}
                    </td>
                    <td>{firing ? <Badge value={`${firing} ALARM`} /> : `${mine.length} rules`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Async>
      <h2>Alarms</h2>
      <AlarmTable state={rules} />
    </section>
  );
}

function AlarmTable({ state }: { state: ReturnType<typeof useAsync<AlarmRule[]>> }) {
  const { error, run: perform } = useAction();
  const ack = (r: AlarmRule) =>
    perform(async () => {
      await api.post(`/api/v1/alarms/rules/${enc(r.id)}/ack`, {});
      state.reload();
    });
  return (
    <>
      {error !== null && <ErrorBox error={error} />}
      <AsyncTable state={state} what="alarm rules" empty="No alarm rules. Each new monitor gets the default rules; monitoring_team or admin can add more (POST /api/v1/alarms/rules)." cols={["Rule", "Kind", "Threshold", "State", "Reason", "Acknowledgement"]}>
        {(r) => (
          <tr key={r.id}>
            <td>{r.name || r.kind}</td>
            <td>{r.kind}</td>
            <td>{fmtNum(r.threshold)}</td>
            <td>
              <Badge value={r.state} />
            </td>
            <td>{r.state_reason || "—"}</td>
            <td>
              {r.state !== "ALARM" ? (
                "—"
              ) : r.acknowledged ? (
                "acknowledged"
              ) : (
                <Gated perm="manage_alerts" onClick={() => void ack(r)} aria-label={`Acknowledge ${r.name || r.kind}`}>
                  Acknowledge
                </Gated>
              )}
            </td>
          </tr>
        )}
      </AsyncTable>
    </>
  );
}

export function MonitorDetailPage({ id }: { id: string }) {
  const monitor = useAsync(() => api.get<Monitor>(`/api/v1/monitors/${enc(id)}`), [id]);
  const reports = useAsync(() => api.get<Page<ReportSummary>>(`/api/v1/monitors/${enc(id)}/reports`, { max_results: 50 }).then((p) => p.items), [id]);
  const scores = useAsync(() => api.get<{ items: Series[] }>(`/api/v1/monitors/${enc(id)}/scores`).then((r) => r.items), [id]);
  const rules = useAsync(() => listAll<AlarmRule>("/api/v1/alarms/rules", { monitor_id: id }), [id]);
  const [reportId, setReportId] = useState<string | null>(null);
  const current = reportId ?? reports.data?.[0]?.id ?? null;
  const report = useAsync(() => (current ? api.get<FullReport>(`/api/v1/monitors/${enc(id)}/reports/${enc(current)}`) : Promise.resolve(null)), [id, current]);
  const { error: runError, busy: running, run: perform } = useAction();
  const run = () =>
    perform(async () => {
      const r = await api.post<ReportSummary>(`/api/v1/monitors/${enc(id)}/run`, {});
      setReportId(r.id);
      reports.reload();
      scores.reload();
      rules.reload();
    });
  return (
    <section>
      <p className="breadcrumb">
        <Link to="/monitoring">Monitoring</Link>
      </p>
      <Async state={monitor} what="monitor">
        {(m) => (
          <>
            <PageHeader title={`Monitor ${m.name}`}>
              <Gated perm="create" onClick={() => void run()} disabled={running}>
                {running ? "Checking…" : "Run check now"}
              </Gated>
            </PageHeader>
            <dl className="props">
              <dt>Target</dt>
              <dd>
                <code>{JSON.stringify(m.target)}</code>
              </dd>
              <dt>Reference</dt>
              <dd>
                <code>{String((m.reference as { path?: string })?.path ?? "—")}</code> ({String((m.reference as { rows?: number })?.rows ?? "?")} rows)
              </dd>
              <dt>Current data</dt>
              <dd>
                <code>{JSON.stringify(m.current)}</code>
              </dd>
              <dt>Schedule</dt>
              <dd>{String(m.schedule ?? "manual")}</dd>
            </dl>
          </>
        )}
      </Async>
      {runError !== null && <ErrorBox error={runError} />}
      <h2>Drift reports</h2>
      <AsyncTable state={reports} what="reports" empty="No reports yet. Click “Run check now” (or wait for the schedule)." cols={["Report", "Status", "Dataset drift", "Drifted features", "Rows", "Trigger"]} className="table compact">
        {(r) => (
          <tr key={r.id} className={r.id === current ? "current" : ""}>
            <td>
              <button type="button" className="link" onClick={() => setReportId(r.id)} aria-pressed={r.id === current}>
                {fmtTime(r.created_at)}
              </button>
            </td>
            <td>
              <Badge value={r.status} />
              {r.error ? <div className="muted">{r.error}</div> : null}
            </td>
            <td>{r.status === "succeeded" ? <Badge value={r.dataset_drift ? "DRIFT" : "NO DRIFT"} /> : "—"}</td>
            <td>
              {r.drifted_features}/{r.total_features} ({fmtNum(r.drift_share, 3)})
            </td>
            <td>{r.current_rows}</td>
            <td>{r.trigger}</td>
          </tr>
        )}
      </AsyncTable>
      <Async state={report} what="report">
        {(r) => (r && r.report?.features ? <FeatureResults features={r.report.features} /> : null)}
      </Async>
      <h2>Scores over time</h2>
      <Async state={scores} what="score history" isEmpty={(s) => s.length === 0} empty="No scores yet: run a check to start the history.">
        {(ss) => (
          <div className="charts">
            {ss.map((s) => (
              <ScoreChart key={s.feature} series={s} />
            ))}
          </div>
        )}
      </Async>
      <h2>Alarm rules of this monitor</h2>
      <AlarmTable state={rules} />
    </section>
  );
}

function FeatureResults({ features }: { features: FeatureResult[] }) {
  const [feature, setFeature] = useState(features[0]?.column ?? "");
  const f = features.find((x) => x.column === feature);
  return (
    <>
      <h3>Per-feature results</h3>
      <table className="table compact">
        <TableHead cols={["Feature", "Method", "Statistic", "p-value", "Threshold", "Drift", "Distribution"]} />
        <tbody>
          {features.map((x) => (
            <tr key={x.column} className={x.column === feature ? "current" : ""}>
              <td>{x.column}</td>
              <td>{x.method}</td>
              <td>{fmtNum(x.statistic)}</td>
              <td>{fmtNum(x.p_value)}</td>
              <td>{fmtNum(x.threshold)}</td>
              <td>
                <Badge value={x.drift ? "DRIFT" : "OK"} />
              </td>
              <td>
                <button type="button" onClick={() => setFeature(x.column)} aria-pressed={x.column === feature} disabled={!x.histogram}>
                  Compare
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {f?.histogram && <Distribution feature={f} />}
    </>
  );
}

function Distribution({ feature }: { feature: FeatureResult }) {
  const h = feature.histogram!;
  const labels = h.categories ?? (h.edges ?? []).slice(0, -1).map((e, i) => `${fmtNum(e, 2)}–${fmtNum(h.edges![i + 1], 2)}`);
  const refTotal = h.ref.reduce((a, b) => a + b, 0) || 1;
  const curTotal = h.cur.reduce((a, b) => a + b, 0) || 1;
  const data = labels.map((label, i) => ({ label, reference: (h.ref[i] ?? 0) / refTotal, current: (h.cur[i] ?? 0) / curTotal }));
  return (
    <figure className="chart" aria-label={`Distribution of ${feature.column}: reference vs current`}>
      <figcaption>
        Distribution of <strong>{feature.column}</strong>: reference vs current (share of rows)
      </figcaption>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="label" tick={{ fontSize: 11 }} />
          <YAxis domain={[0, (max: number) => Math.min(1, max * 1.1)]} tickFormatter={(v: number) => `${Math.round(v * 100)}%`} />
          <Tooltip formatter={(v) => `${(Number(v) * 100).toFixed(1)}%`} />
          <Legend />
          <Bar dataKey="reference" fill="#6b8cae" isAnimationActive={false} />
          <Bar dataKey="current" fill="#e07b39" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

function ScoreChart({ series }: { series: Series }) {
  const data = series.points.map((p) => ({ ts: fmtTime(p.ts), score: p.score, threshold: p.threshold }));
  const threshold = series.points[series.points.length - 1]?.threshold;
  return (
    <figure className="chart" aria-label={`Score of ${series.feature} over time`}>
      <figcaption>
        <strong>{series.feature}</strong> <span className="muted">({series.method})</span>
      </figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <LineChart data={data}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="ts" tick={{ fontSize: 10 }} />
          <YAxis tick={{ fontSize: 10 }} domain={[0, (max: number) => Math.max(max, (threshold ?? 0) * 1.2)]} tickFormatter={(v: number) => fmtNum(v, 3)} />
          <Tooltip />
          {threshold !== undefined && <ReferenceLine y={threshold} stroke="#c0392b" strokeDasharray="4 4" label="threshold" />}
          <Line type="monotone" dataKey="score" stroke="#2c6fbb" dot isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
