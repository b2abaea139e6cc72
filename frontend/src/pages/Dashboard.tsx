import { api, listAll } from "../lib/api";
import { useFeature } from "../lib/capabilities";
import { useAsync } from "../lib/useAsync";
import type { AlarmRule, AuditEvent, Deployment, Project, Run } from "../lib/types";
import { Async, Kpi, PageHeader } from "../components/ui";
import { Link } from "../lib/router";
import { fmtTime } from "../lib/format";
import { AuditTable } from "./Audit";

function countBy<T>(items: T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m.entries()].sort();
}

export function DashboardPage() {
  const hasRuns = useFeature("runs");
  const hasDeployments = useFeature("deployments");
  const hasAlarms = useFeature("alarms");

  const projects = useAsync(() => listAll<Project>("/api/v1/projects"), []);
  const models = useAsync(() => listAll<{ name: string }>("/api/v1/models"), []);
  const versions = useAsync(
    () => api.get<{ model_versions?: unknown[] }>("/api/2.0/mlflow/model-versions/search", { max_results: 200000 }).then((r) => r.model_versions?.length ?? 0),
    [],
  );
  const deployments = useAsync(() => (hasDeployments ? listAll<Deployment>("/api/v1/deployments") : Promise.resolve([])), [hasDeployments]);
  const runs = useAsync(async () => {
    if (!hasRuns) return [];
    const all = await listAll<Run>("/api/v1/runs", {}, 5);
    const since = Date.now() - 24 * 3600 * 1000;
    return all.filter((r) => Date.parse(r.created_at ?? r.started_at ?? "") >= since);
  }, [hasRuns]);
  const alarms = useAsync(() => (hasAlarms ? listAll<AlarmRule>("/api/v1/alarms/rules") : Promise.resolve([])), [hasAlarms]);
  const audit = useAsync(() => api.get<{ items: AuditEvent[] }>("/api/v1/audit", { max_results: 10 }), []);

  return (
    <section>
      <PageHeader title="Dashboard" />
      <div className="kpis">
        <Async state={projects} what="projects">
          {(p) => <Kpi label="Projects" value={<Link to="/projects">{p.length}</Link>} sub={p.length === 0 ? "Create one on the Projects page" : undefined} />}
        </Async>
        <Async state={models} what="models">
          {(m) => <Kpi label="Registered models" value={<Link to="/models">{m.length}</Link>} />}
        </Async>
        <Async state={versions} what="model versions">
          {(n) => <Kpi label="Model versions" value={n} />}
        </Async>
        {hasDeployments && (
          <Async state={deployments} what="deployments">
            {(d) => (
              <Kpi
                label="Live deployments per environment"
                value={d.filter((x) => x.status === "LIVE").length}
                sub={
                  <ul className="inline-list">
                    {countBy(
                      d.filter((x) => x.status === "LIVE"),
                      (x) => x.environment,
                    ).map(([env, n]) => (
                      <li key={env}>
                        {env}: {n}
                      </li>
                    ))}
                  </ul>
                }
              />
            )}
          </Async>
        )}
        {hasRuns && (
          <Async state={runs} what="pipeline runs">
            {(r) => (
              <Kpi
                label="Pipeline runs, last 24 h"
                value={<Link to="/cicd">{r.length}</Link>}
                sub={
                  <ul className="inline-list">
                    {countBy(r, (x) => x.status).map(([s, n]) => (
                      <li key={s}>
                        {s.toLowerCase()}: {n}
                      </li>
                    ))}
                  </ul>
                }
              />
            )}
          </Async>
        )}
        {hasAlarms && (
          <Async state={alarms} what="alarms">
            {(a) => {
              const active = a.filter((x) => x.state === "ALARM");
              return (
                <Kpi
                  label="Active alarms"
                  value={<Link to="/monitoring">{active.length}</Link>}
                  sub={active.length ? `${active.filter((x) => !x.acknowledged).length} not acknowledged` : `${a.length} rules OK or without data`}
                />
              );
            }}
          </Async>
        )}
      </div>
      <h2>Recent activity</h2>
      <Async state={audit} what="audit events" empty="Nothing has happened yet: create a project to get started." isEmpty={(a) => a.items.length === 0}>
        {(a) => (
          <>
            <AuditTable events={a.items} />
            <p>
              <Link to="/audit">Full audit log</Link> · updated {fmtTime(new Date().toISOString())}
            </p>
          </>
        )}
      </Async>
    </section>
  );
}
