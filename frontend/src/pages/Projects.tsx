import { useState, type FormEvent } from "react";
import { api, enc, listAll, type Page } from "../lib/api";
import { useAuth } from "../lib/auth";
import { useFeature } from "../lib/capabilities";
import { Link, navigate } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import type { Deployment, Model, Project, Run } from "../lib/types";
import { Async, AsyncTable, Badge, ErrorBox, Field, Gated, PageHeader, TableHead } from "../components/ui";
import { fmtTime } from "../lib/format";
import { useAction } from "../lib/useAction";

export function ProjectsPage() {
  const { can } = useAuth();
  const [q, setQ] = useState("");
  const [showCreate, setShowCreate] = useState(false);
  const list = useAsync(() => listAll<Project>("/api/v1/projects", { q }), [q]);
  return (
    <section>
      <PageHeader title="Projects">
        <Gated perm="create" className="primary" onClick={() => setShowCreate((v) => !v)} aria-expanded={showCreate}>
          New project
        </Gated>
      </PageHeader>
      {showCreate && can("create") && <CreateProject onCreated={(p) => navigate(`/projects/${enc(p.name)}`)} />}
      <div className="searchbar">
        <label htmlFor="project-search">Search projects</label>
        <input id="project-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or description" />
      </div>
      <AsyncTable
        state={list}
        what="projects"
        empty={q ? "No project matches this search." : can("create") ? "No projects yet. Click “New project” to create the first one." : "No projects yet. Ask an ml_engineer, data_engineer or admin to create one."}
        cols={["Name", "Description", "Owner", "Tags", "Created"]}
      >
        {(p) => (
          <tr key={p.id}>
            <td>
              <Link to={`/projects/${enc(p.name)}`}>{p.name}</Link>
            </td>
            <td>{p.description}</td>
            <td>{p.owner}</td>
            <td>
              {Object.entries(p.tags ?? {}).map(([k, v]) => (
                <span key={k} className="tag">
                  {k}={v}
                </span>
              ))}
            </td>
            <td>{fmtTime(p.created_at)}</td>
          </tr>
        )}
      </AsyncTable>
    </section>
  );
}

function CreateProject({ onCreated }: { onCreated: (p: Project) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [repo, setRepo] = useState("");
  const { error, busy, run: perform } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      const body: Record<string, string> = { name };
      if (description) body.description = description;
      if (repo) body.github_repo = repo;
      onCreated(await api.post<Project>("/api/v1/projects", body));
    });
  };
  return (
    <form className="card form" onSubmit={submit} aria-label="Create a project">
      <h2>New project</h2>
      <Field label="Name" hint="2–63 of a-z, 0-9 and -, starting with a letter">
        {(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required pattern="[a-z][a-z0-9\-]{0,61}[a-z0-9]" />}
      </Field>
      <Field label="Description">{(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <Field label="GitHub repository" hint="https://github.com/owner/repo (optional)">
        {(id) => <input id={id} value={repo} onChange={(e) => setRepo(e.target.value)} />}
      </Field>
      {error !== null && <ErrorBox error={error} />}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Creating…" : "Create project"}
      </button>
    </form>
  );
}

export function ProjectDetailPage({ name }: { name: string }) {
  const hasRuns = useFeature("runs");
  const hasDeployments = useFeature("deployments");
  const hasPipelines = useFeature("projectPipelines");
  const hasMonitors = useFeature("monitors");
  const project = useAsync(() => api.get<Project>(`/api/v1/projects/${enc(name)}`), [name]);
  const models = useAsync(() => listAll<Model>(`/api/v1/projects/${enc(name)}/models`), [name]);
  const pipelines = useAsync(
    () => (hasPipelines ? api.get<Page<{ name: string; id?: string; updated_at?: string; version?: number }>>(`/api/v1/projects/${enc(name)}/pipelines`).then((p) => p.items) : Promise.resolve([])),
    [name, hasPipelines],
  );
  const runs = useAsync(() => (hasRuns ? api.get<Page<Run>>("/api/v1/runs", { project: name, max_results: 20 }).then((p) => p.items) : Promise.resolve([])), [name, hasRuns]);
  const deployments = useAsync(
    () => (hasDeployments ? api.get<Page<Deployment>>("/api/v1/deployments", { project: name, max_results: 20 }).then((p) => p.items) : Promise.resolve([])),
    [name, hasDeployments],
  );
  const monitors = useAsync(
    () => (hasMonitors ? api.get<Page<{ id: string; name: string }>>("/api/v1/monitors", { project: name }).then((p) => p.items) : Promise.resolve([])),
    [name, hasMonitors],
  );
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const remove = async () => {
    if (!window.confirm(`Delete project ${name}?`)) return;
    try {
      await api.del(`/api/v1/projects/${enc(name)}`);
      navigate("/projects");
    } catch (e) {
      setDeleteError(e);
    }
  };
  return (
    <section>
      <Async state={project} what="project">
        {(p) => (
          <>
            <PageHeader title={`Project ${p.name}`}>
              <Gated perm="create" onClick={() => void remove()}>
                Delete project
              </Gated>
            </PageHeader>
            {deleteError !== null && <ErrorBox error={deleteError} />}
            <dl className="props">
              <dt>Description</dt>
              <dd>{p.description || "—"}</dd>
              <dt>Owner</dt>
              <dd>{p.owner}</dd>
              <dt>GitHub</dt>
              <dd>{p.github_repo ? <a href={p.github_repo}>{p.github_repo}</a> : "—"}</dd>
              <dt>Created</dt>
              <dd>
                {fmtTime(p.created_at)} by {p.created_by}
              </dd>
            </dl>
          </>
        )}
      </Async>
      <h2>Models</h2>
      <Async state={models} what="models" isEmpty={(m) => m.length === 0} empty={<>No models yet. Register one from the <Link to={`/models?project=${enc(name)}`}>Models page</Link> or with <code>studio model register</code>.</>}>
        {(ms) => (
          <ul className="cards">
            {ms.map((m) => (
              <li key={m.id}>
                <Link to={`/models/${enc(m.name)}`}>{m.name}</Link>{" "}
                <span className="muted">
                  {m.latest_versions.length ? `latest v${Math.max(...m.latest_versions.map((v) => v.version))}` : "no versions"}
                </span>
              </li>
            ))}
          </ul>
        )}
      </Async>
      {hasPipelines && (
        <>
          <h2>Pipelines</h2>
          <Async state={pipelines} what="pipelines" isEmpty={(p) => p.length === 0} empty={<>No pipelines registered. Build one in the <Link to={`/pipelines?project=${enc(name)}`}>pipeline editor</Link>.</>}>
            {(ps) => (
              <ul className="cards">
                {ps.map((pl) => (
                  <li key={pl.name}>
                    <Link to={`/pipelines?project=${enc(name)}&name=${enc(pl.name)}`}>{pl.name}</Link>
                  </li>
                ))}
              </ul>
            )}
          </Async>
        </>
      )}
      {hasRuns && (
        <>
          <h2>Pipeline runs</h2>
          <Async state={runs} what="runs" isEmpty={(r) => r.length === 0} empty="No runs yet. Start one from the Pipelines page or with studio pipeline run.">
            {(rs) => <RunsTable runs={rs} />}
          </Async>
        </>
      )}
      {hasDeployments && (
        <>
          <h2>Deployments</h2>
          <Async state={deployments} what="deployments" isEmpty={(d) => d.length === 0} empty="No deployments yet. Request one from the CI/CD page.">
            {(ds) => <DeploymentsTable deployments={ds} />}
          </Async>
        </>
      )}
      {hasMonitors && (
        <>
          <h2>Monitors</h2>
          <Async state={monitors} what="monitors" isEmpty={(m) => m.length === 0} empty="No monitors yet. Create one with POST /api/v1/monitors (docs/api.md).">
            {(ms) => (
              <ul className="cards">
                {ms.map((m) => (
                  <li key={m.id}>
                    <Link to={`/monitoring/${enc(m.id)}`}>{m.name}</Link>
                  </li>
                ))}
              </ul>
            )}
          </Async>
        </>
      )}
    </section>
  );
}

export function RunsTable({ runs }: { runs: Run[] }) {
  return (
    <table className="table">
      <TableHead cols={["Run", "Pipeline", "Status", "Started", "By"]} />
      <tbody>
        {runs.map((r) => (
          <tr key={r.id}>
            <td>
              <Link to={`/runs/${enc(r.id)}`}>{r.id.slice(-8)}</Link>
            </td>
            <td>{r.pipeline ?? "—"}</td>
            <td>
              <Badge value={r.status} />
            </td>
            <td>{fmtTime(r.started_at ?? r.created_at)}</td>
            <td>{String(r.requested_by ?? r.created_by ?? "—")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// The first cells of a deployment row: its short id (a link), the model version or alias, the environment.
export function DeploymentCells({ d }: { d: Deployment }) {
  return (
    <>
      <td>
        <Link to={`/deployments/${enc(d.id)}`}>{d.id.slice(-8)}</Link>
      </td>
      <td>
        {d.model ?? d.model_name} {d.version !== undefined ? `v${d.version}` : d.alias ? `@${d.alias}` : ""}
      </td>
      <td>{d.environment}</td>
    </>
  );
}

export function DeploymentsTable({ deployments }: { deployments: Deployment[] }) {
  return (
    <table className="table">
      <TableHead cols={["Deployment", "Model", "Environment", "Strategy", "Status", "Requested"]} />
      <tbody>
        {deployments.map((d) => (
          <tr key={d.id}>
            <DeploymentCells d={d} />
            <td>{d.strategy ?? "—"}</td>
            <td>
              <Badge value={d.status} />
            </td>
            <td>{fmtTime(d.created_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
