import { useEffect, useState, type FormEvent } from "react";
import { api, enc, listAll, type Page } from "../lib/api";
import { useAuth } from "../lib/auth";
import { useFeature } from "../lib/capabilities";
import { Link } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { deployPermission } from "../lib/rbac";
import type { Deployment, Model, Project, Run } from "../lib/types";
import { Async, Badge, ErrorBox, Field, Gated, PageHeader, ProjectOptions, TableHead } from "../components/ui";
import { fmtNum, fmtTime } from "../lib/format";
import { DeploymentCells, DeploymentsTable, RunsTable } from "./Projects";
import { StagesTable, isTerminal, useRun } from "./PipelineRuns";
import { useAction } from "../lib/useAction";

interface Environment {
  name: string;
  policy?: { approvals_required?: number; strategy?: string; allowed_strategies?: string[]; canary_percent?: number };
  updated_by?: string;
  updated_at?: string;
}

const TERMINAL_DEPLOYMENT = new Set(["LIVE", "ROLLED_BACK", "FAILED", "REJECTED"]);

export function CicdPage() {
  const hasRuns = useFeature("runs");
  const hasDeployments = useFeature("deployments");
  const [project, setProject] = useState("");
  const projects = useAsync(() => listAll<Project>("/api/v1/projects"), []);
  const runs = useAsync(() => (hasRuns ? api.get<Page<Run>>("/api/v1/runs", { project, max_results: 50 }).then((p) => p.items) : Promise.resolve([])), [hasRuns, project]);
  const deployments = useAsync(
    () => (hasDeployments ? api.get<Page<Deployment>>("/api/v1/deployments", { project, max_results: 100 }).then((p) => p.items) : Promise.resolve([])),
    [hasDeployments, project],
  );
  return (
    <section>
      <PageHeader title="CI/CD" />
      <div className="searchbar">
        <label htmlFor="cicd-project">Project</label>
        <select id="cicd-project" value={project} onChange={(e) => setProject(e.target.value)}>
          <option value="">all projects</option>
          {(projects.data ?? []).map((p) => (
            <option key={p.id} value={p.name}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      {hasDeployments && (
        <>
          <RequestDeployment projects={projects.data ?? []} defaultProject={project} onDone={deployments.reload} />
          <h2>Pending approvals</h2>
          <Async
            state={deployments}
            what="deployments"
            isEmpty={(d) => d.filter((x) => x.status === "PENDING_APPROVAL").length === 0}
            empty="Nothing waits for approval. Staging and prod deployments appear here until enough eligible people approve them."
          >
            {(ds) => <Approvals deployments={ds.filter((x) => x.status === "PENDING_APPROVAL")} onDone={deployments.reload} />}
          </Async>
          <h2>Deployments</h2>
          <Async state={deployments} what="deployments" isEmpty={(d) => d.length === 0} empty="No deployments yet. Request one above.">
            {(ds) => <DeploymentsTable deployments={ds} />}
          </Async>
        </>
      )}
      {hasRuns && (
        <>
          <h2>Pipeline runs</h2>
          <Async state={runs} what="runs" isEmpty={(r) => r.length === 0} empty="No pipeline runs yet. Start one from the Pipelines page or with studio pipeline run.">
            {(rs) => <RunsTable runs={rs} />}
          </Async>
        </>
      )}
    </section>
  );
}

function RequestDeployment({ projects, defaultProject, onDone }: { projects: Project[]; defaultProject: string; onDone: () => void }) {
  const { can } = useAuth();
  const envs = useAsync(() => api.get<Page<Environment> | Environment[]>("/api/v1/environments").then((r) => (Array.isArray(r) ? r : r.items)), []);
  const [project, setProject] = useState(defaultProject);
  const proj = project || defaultProject;
  const models = useAsync(() => (proj ? listAll<Model>(`/api/v1/projects/${enc(proj)}/models`) : Promise.resolve([])), [proj]);
  const [model, setModel] = useState("");
  const [version, setVersion] = useState("");
  const [environment, setEnvironment] = useState("");
  const [strategy, setStrategy] = useState("");
  const { error, run: perform } = useAction();
  const [created, setCreated] = useState<Deployment | null>(null);
  const perm = deployPermission(environment || "dev");
  const env = envs.data?.find((e) => e.name === environment);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      const body: Record<string, unknown> = { project: proj, model, environment };
      if (strategy) body.strategy = strategy;
      if (/^\d+$/.test(version)) body.version = version;
      else body.alias = version;
      setCreated(await api.post<Deployment>("/api/v1/deployments", body));
      onDone();
    });
  };
  return (
    <form className="card form" onSubmit={submit} aria-label="Request a deployment">
      <h2>Request a deployment</h2>
      <div className="grid">
        <Field label="Project">
          {(id) => (
            <select id={id} value={proj} onChange={(e) => setProject(e.target.value)} required>
              <ProjectOptions projects={projects} />
            </select>
          )}
        </Field>
        <Field label="Model">
          {(id) => (
            <select id={id} value={model} onChange={(e) => setModel(e.target.value)} required>
              <option value="">{models.data?.length === 0 ? "no models in this project" : "— choose —"}</option>
              {(models.data ?? []).map((m) => (
                <option key={m.id} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Version or alias">{(id) => <input id={id} value={version} onChange={(e) => setVersion(e.target.value)} required placeholder="1 or champion" />}</Field>
        <Field label="Environment">
          {(id) => (
            <select id={id} value={environment} onChange={(e) => setEnvironment(e.target.value)} required>
              <option value="">— choose —</option>
              {(envs.data ?? []).map((env) => (
                <option key={env.name} value={env.name}>
                  {env.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Strategy">
          {(id) => (
            <select id={id} value={strategy} onChange={(e) => setStrategy(e.target.value)}>
              <option value="">{env?.policy?.strategy ? `environment default (${env.policy.strategy})` : "environment default"}</option>
              {(env?.policy?.allowed_strategies ?? ["direct", "canary", "blue-green"]).map((st) => (
                <option key={st} value={st}>
                  {st}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      {env && (
        <p className="hint">
          {env.name}: {env.policy?.approvals_required ? `${env.policy.approvals_required} approval${env.policy.approvals_required > 1 ? "s" : ""} by production_team, model_sponsor or admin (not the requester)` : "no approval needed"}
          {env.policy?.strategy ? `; default strategy ${env.policy.strategy}` : ""}
          {env.policy?.canary_percent ? `, canary ${env.policy.canary_percent}%` : ""}.
        </p>
      )}
      {envs.error && <ErrorBox error={envs.error} retry={envs.reload} />}
      {error !== null && <ErrorBox error={error} />}
      {created && (
        <p role="status">
          Requested <Link to={`/deployments/${enc(created.id)}`}>deployment {created.id.slice(-8)}</Link>: <Badge value={created.status} />
        </p>
      )}
      {can(perm) ? (
        <button type="submit" className="primary">
          Request deployment
        </button>
      ) : (
        <Gated perm={perm}>Request deployment</Gated>
      )}
    </form>
  );
}

function approvalsNeeded(d: Deployment): number | undefined {
  return (d.approvals_required ?? d.required_approvals) as number | undefined;
}
const approverOf = (a: { approved_by?: string; user?: string }) => a.approved_by ?? a.user;

function Approvals({ deployments, onDone }: { deployments: Deployment[]; onDone: () => void }) {
  return (
    <table className="table">
      <TableHead cols={["Deployment", "Model", "Environment", "Requested by", "Approvals", "Decision"]} />
      <tbody>
        {deployments.map((d) => (
          <tr key={d.id}>
            <DeploymentCells d={d} />
            <td>{d.requested_by ?? d.created_by}</td>
            <td>
              {(d.approvals ?? []).filter((a) => (a.decision ?? "approve") === "approve").length}
              {approvalsNeeded(d) !== undefined ? ` of ${approvalsNeeded(d)}` : ""}
            </td>
            <td>
              <Decide deployment={d} onDone={onDone} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Decide({ deployment, onDone }: { deployment: Deployment; onDone: () => void }) {
  const { me } = useAuth();
  const [comment, setComment] = useState("");
  const { error, run: perform } = useAction();
  const requester = deployment.requested_by ?? deployment.created_by;
  const own = requester === me?.username;
  const already = (deployment.approvals ?? []).some((a) => approverOf(a) === me?.username);
  const decide = (what: "approve" | "reject") =>
    perform(async () => {
      await api.post(`/api/v1/deployments/${enc(deployment.id)}/${what}`, { comment });
      onDone();
    });
  const why = own ? "You requested this deployment: someone else must approve it" : already ? "You already approved it" : undefined;
  return (
    <div className="decide">
      <label className="sr-only" htmlFor={`comment-${deployment.id}`}>
        Comment on {deployment.id}
      </label>
      <input id={`comment-${deployment.id}`} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="comment" />
      <Gated perm="approve" allowed={!own && !already} title={why} onClick={() => void decide("approve")}>
        Approve
      </Gated>
      <Gated perm="approve" allowed={!own} title={why} className="danger" onClick={() => void decide("reject")}>
        Reject
      </Gated>
      {error !== null && <ErrorBox error={error} />}
    </div>
  );
}

export function RunDetailPage({ id }: { id: string }) {
  const { run, error, reload } = useRun(id);
  const { error: cancelError, run: perform } = useAction();
  const cancel = () =>
    perform(async () => {
      await api.post(`/api/v1/runs/${enc(id)}/cancel`, {});
      reload();
    });
  if (error) return <ErrorBox error={error} retry={reload} />;
  if (!run) return <p role="status">Loading run…</p>;
  return (
    <section>
      <p className="breadcrumb">
        <Link to="/cicd">CI/CD</Link>
      </p>
      <PageHeader title={`Run ${run.id.slice(-8)}`}>
        <Gated perm="create" allowed={!isTerminal(run.status)} title="The run has ended" onClick={() => void cancel()}>
          Cancel run
        </Gated>
      </PageHeader>
      {cancelError !== null && <ErrorBox error={cancelError} />}
      <dl className="props">
        <dt>Pipeline</dt>
        <dd>
          {run.project && run.pipeline ? <Link to={`/pipelines?project=${enc(String(run.project))}&name=${enc(run.pipeline)}`}>{run.pipeline}</Link> : run.pipeline ?? "—"}
        </dd>
        <dt>Status</dt>
        <dd>
          <Badge value={run.status} />
        </dd>
        <dt>Started</dt>
        <dd>
          {fmtTime(run.started_at ?? run.created_at)} by {String(run.requested_by ?? run.created_by ?? "—")}
        </dd>
        <dt>Finished</dt>
        <dd>{fmtTime(run.finished_at)}</dd>
        {run.error ? (
          <>
            <dt>Error</dt>
            <dd>{String(run.error)}</dd>
          </>
        ) : null}
      </dl>
      <h2>Stages</h2>
      <StagesTable run={run} />
    </section>
  );
}

function weightsOf(w: unknown): [string, number][] {
  if (!w || typeof w !== "object") return [];
  return Object.entries(w as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === "number");
}

export function DeploymentDetailPage({ id }: { id: string }) {
  const d = useAsync(() => api.get<Deployment>(`/api/v1/deployments/${enc(id)}`), [id]);
  // Follow a deployment in flight: its status, weights and events change on their own.
  const status = d.data?.status;
  useEffect(() => {
    if (!status || TERMINAL_DEPLOYMENT.has(status) || status === "PENDING_APPROVAL") return;
    const t = setTimeout(d.reload, 1500);
    return () => clearTimeout(t);
  }, [status, d.data, d.reload]);
  const { error, run: perform } = useAction();
  const rollback = () =>
    perform(async () => {
      await api.post(`/api/v1/deployments/${enc(id)}/rollback`, {});
      d.reload();
    });
  return (
    <section>
      <p className="breadcrumb">
        <Link to="/cicd">CI/CD</Link>
      </p>
      <Async state={d} what="deployment">
        {(dep) => (
          <>
            <PageHeader title={`Deployment ${dep.id.slice(-8)}`}>
              <Gated
                perm={deployPermission(dep.environment)}
                allowed={["CANARY", "GREEN_VALIDATING", "DEPLOYING"].includes(dep.status) || (dep.status === "LIVE" && !dep.superseded_by && !!dep.previous_deployment_id)}
                title={dep.status === "LIVE" ? "There is no earlier version to return to" : "Only a live or rolling-out deployment can be rolled back"}
                onClick={() => void rollback()}
              >
                Roll back
              </Gated>
            </PageHeader>
            {error !== null && <ErrorBox error={error} />}
            <dl className="props">
              <dt>Model</dt>
              <dd>
                {dep.model ?? dep.model_name} {dep.version !== undefined ? `v${dep.version}` : dep.alias ? `@${dep.alias}` : ""}
              </dd>
              <dt>Environment</dt>
              <dd>{dep.environment}</dd>
              <dt>Strategy</dt>
              <dd>{dep.strategy ?? "—"}</dd>
              <dt>Status</dt>
              <dd>
                <Badge value={dep.status} />
              </dd>
              <dt>Requested</dt>
              <dd>
                {fmtTime(dep.created_at)} by {dep.requested_by ?? dep.created_by ?? "—"}
              </dd>
            </dl>
            {dep.error ? <ErrorBox error={new Error(String(dep.error))} /> : null}
            <h2>Traffic</h2>
            <Weights weights={weightsOf(dep.weights)} />
            <LiveSlots live={dep.live as { target?: string; slots?: Record<string, Record<string, number>> } | undefined} />
            {dep.status === "PENDING_APPROVAL" && (
              <>
                <h2>Approval</h2>
                <Decide deployment={dep} onDone={d.reload} />
              </>
            )}
            <h2>Approvals</h2>
            {(dep.approvals ?? []).length === 0 ? (
              <p className="empty">No approvals recorded{approvalsNeeded(dep) ? ` (${approvalsNeeded(dep)} needed)` : ""}.</p>
            ) : (
              <ul className="timeline">
                {(dep.approvals ?? []).map((a, i) => (
                  <li key={i}>
                    <strong>{approverOf(a)}</strong> {a.decision === "reject" ? "rejected" : "approved"} {fmtTime(a.at ?? a.created_at)} {a.comment ? `— “${a.comment}”` : ""}
                  </li>
                ))}
              </ul>
            )}
            <h2>Timeline</h2>
            {(dep.events ?? []).length === 0 ? (
              <p className="empty">No events yet.</p>
            ) : (
              <ol className="timeline" aria-label="Deployment timeline">
                {(dep.events ?? []).map((ev, i) => (
                  <li key={i}>
                    <div>
                      <span className="muted">{fmtTime(ev.ts ?? ev.at ?? ev.created_at)}</span> {ev.from || ev.to ? `${ev.from ?? "—"} → ` : ""}
                      {ev.to || ev.status ? <Badge value={String(ev.to ?? ev.status)} /> : <code>{ev.type ?? ev.kind}</code>} {ev.actor ? `by ${ev.actor}` : ""}
                    </div>
                    {ev.reason && <div>{ev.reason}</div>}
                    {weightsOf(ev.weights).length > 0 && <Weights weights={weightsOf(ev.weights)} />}
                    <Facts title="Metrics and thresholds behind this decision" facts={ev.details ?? ev.metrics} />
                  </li>
                ))}
              </ol>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

function Weights({ weights }: { weights: [string, number][] }) {
  if (weights.length === 0) return <p className="empty">No traffic weights recorded.</p>;
  const total = weights.reduce((a, [, w]) => a + w, 0) || 1;
  return (
    <div className="weights" role="img" aria-label={weights.map(([k, w]) => `${k} ${w}`).join(", ")}>
      {weights.map(([k, w]) => (
        <div key={k} className={`weight weight-${k}`} style={{ width: `${(100 * w) / total}%` }}>
          {k} {w}
          {total === 100 || total === 1 ? (total === 1 ? "" : "%") : ""}
        </div>
      ))}
    </div>
  );
}

function Facts({ title, facts }: { title: string; facts?: Record<string, unknown> }) {
  if (!facts || Object.keys(facts).length === 0) return null;
  return (
    <table className="table compact facts">
      <caption>{title}</caption>
      <tbody>
        {Object.entries(facts).map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              {v && typeof v === "object" ? (
                Object.entries(v as Record<string, unknown>).map(([k2, v2]) => (
                  <span key={k2} className="tag">
                    {k2}: {typeof v2 === "object" ? JSON.stringify(v2) : fmtNum(v2)}
                  </span>
                ))
              ) : typeof v === "number" ? (
                fmtNum(v)
              ) : (
                String(v)
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LiveSlots({ live }: { live?: { target?: string; slots?: Record<string, Record<string, number>> } }) {
  const slots = Object.entries(live?.slots ?? {});
  if (slots.length === 0) return null;
  return (
    <table className="table compact">
      <caption>Live slots ({live?.target ?? "target"})</caption>
      <TableHead cols={["Slot", "Requests", "Errors", "Error rate", "p50 ms", "p99 ms"]} />
      <tbody>
        {slots.map(([name, m]) => (
          <tr key={name}>
            <td>{name}</td>
            <td>{m.requests}</td>
            <td>{m.errors}</td>
            <td>{fmtNum(m.error_rate, 4)}</td>
            <td>{fmtNum(m.p50_ms, 2)}</td>
            <td>{fmtNum(m.p99_ms, 2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
