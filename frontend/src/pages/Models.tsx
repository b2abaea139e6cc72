import { useState, type FormEvent } from "react";
import { parse as parseYaml } from "yaml";
import { api, ApiError, enc, listAll, uploadArtifact, type Page } from "../lib/api";
import { useAuth } from "../lib/auth";
import { Link, navigate, useLocation } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import type { Model, ModelVersion, Project } from "../lib/types";
import { Async, AsyncTable, Badge, ErrorBox, Field, Gated, PageHeader, ProjectOptions, TableHead } from "../components/ui";
import { fmtBytes, fmtNum, fmtTime } from "../lib/format";
import { useAction } from "../lib/useAction";

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function ModelsPage() {
  const { can } = useAuth();
  const { search } = useLocation();
  const [q, setQ] = useState("");
  const [showRegister, setShowRegister] = useState(false);
  const list = useAsync(() => listAll<Model>("/api/v1/models", { filter: q ? `name ILIKE ${quote(`%${q}%`)}` : undefined, order_by: "name" }), [q]);
  return (
    <section>
      <PageHeader title="Model registry">
        <Gated perm="create" className="primary" onClick={() => setShowRegister((v) => !v)} aria-expanded={showRegister}>
          Register a model version
        </Gated>
      </PageHeader>
      {showRegister && can("create") && <RegisterVersion defaultProject={search.get("project") ?? ""} onDone={(v) => navigate(`/models/${enc(v.model_name)}/versions/${v.version}`)} />}
      <div className="searchbar">
        <label htmlFor="model-search">Search models</label>
        <input id="model-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name contains…" />
      </div>
      <AsyncTable
        state={list}
        what="models"
        empty={q ? "No model matches this search." : "No models yet. Click “Register a model version” to upload an MLflow model package (MLmodel + model file)."}
        cols={["Model", "Latest versions", "Aliases", "Description", "Updated"]}
      >
        {(m) => (
          <tr key={m.id}>
            <td>
              <Link to={`/models/${enc(m.name)}`}>{m.name}</Link>
            </td>
            <td>
              {m.latest_versions.map((v) => (
                <span key={v.version} className="tag">
                  v{v.version} {v.stage}
                </span>
              ))}
            </td>
            <td>
              {Object.entries(m.aliases ?? {}).map(([a, v]) => (
                <span key={a} className="tag">
                  @{a}→v{v}
                </span>
              ))}
            </td>
            <td>{m.description}</td>
            <td>{fmtTime(m.updated_at)}</td>
          </tr>
        )}
      </AsyncTable>
    </section>
  );
}

interface PackageFile {
  path: string;
  file: File;
}

function readText(b: Blob): Promise<string> {
  if (typeof b.text === "function") return b.text();
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(b);
  });
}

// The package as `studio model register --path DIR` reads it: MLmodel names the flavor, the
// model file and the signature; every file is uploaded under a fresh prefix, then the version
// points at it (a failed upload never leaves a half-there version).
export async function readPackage(files: PackageFile[]) {
  const mlmodel = files.find((f) => f.path === "MLmodel");
  if (!mlmodel) throw new Error("the package has no MLmodel file (select the model directory, or MLmodel and the model file)");
  const doc = parseYaml(await readText(mlmodel.file)) as { flavors?: Record<string, Record<string, unknown>>; signature?: { inputs?: string; outputs?: string } };
  const flavors = doc?.flavors ?? {};
  const flavor = ["xgboost", "onnx"].find((f) => flavors[f]);
  if (!flavor) throw new Error("MLmodel flavors needs an xgboost or onnx flavor (the runtimes studio serves)");
  const data = (flavors[flavor].data ?? flavors[flavor].model_path) as string | undefined;
  if (!data) throw new Error(`MLmodel flavors.${flavor}.data is missing`);
  if (!files.some((f) => f.path === data)) throw new Error(`MLmodel names '${data}', which is not among the selected files`);
  const signature: Record<string, string> = {};
  if (doc.signature?.inputs) signature.inputs = doc.signature.inputs;
  if (doc.signature?.outputs) signature.outputs = doc.signature.outputs;
  return { flavor, signature };
}

async function sha256(file: File): Promise<string | undefined> {
  if (!(globalThis.crypto as Crypto | undefined)?.subtle || file.size > 512 * 1024 * 1024) return undefined;
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function newId(): string {
  return (globalThis.crypto as Partial<Crypto> | undefined)?.randomUUID ? crypto.randomUUID() : `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
}

function RegisterVersion({ defaultProject, defaultModel, onDone }: { defaultProject?: string; defaultModel?: string; onDone: (v: ModelVersion) => void }) {
  const projects = useAsync(() => listAll<Project>("/api/v1/projects"), []);
  const [project, setProject] = useState(defaultProject ?? "");
  const [name, setName] = useState(defaultModel ?? "");
  const [description, setDescription] = useState("");
  const [files, setFiles] = useState<PackageFile[]>([]);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const { error, busy, run: perform } = useAction();

  const pick = (list: FileList | null) => {
    const out: PackageFile[] = [];
    for (const f of Array.from(list ?? [])) {
      const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath;
      // A picked directory gives "dir/sub/file": the package root is the picked directory.
      const path = rel ? rel.split("/").slice(1).join("/") : f.name;
      out.push({ path, file: f });
    }
    setFiles(out);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    return perform(async () => {
      const pkg = await readPackage(files);
      const proj = project || projects.data?.[0]?.name;
      if (!proj) throw new Error("pick a project (create one on the Projects page first)");
      const total = files.reduce((n, f) => n + f.file.size, 0);
      const prefix = `models/${proj}/${name}/${newId()}`;
      const digests: Record<string, { sha256?: string; size: number }> = {};
      let base = 0;
      setProgress({ sent: 0, total });
      for (const f of files) {
        digests[f.path] = { sha256: await sha256(f.file), size: f.file.size };
        await uploadArtifact(`${prefix}/${f.path}`, f.file, (sent) => setProgress({ sent: base + sent, total }));
        base += f.file.size;
      }
      const existing = await api.get<Page<Model>>("/api/v1/models", { filter: `name = ${quote(name)}` });
      if (existing.items.length === 0) await api.post(`/api/v1/projects/${enc(proj)}/models`, { name });
      const body: Record<string, unknown> = {
        source: `mlflow-artifacts:/${prefix}`,
        flavor: pkg.flavor,
        signature: pkg.signature,
        lineage: { file_digests: digests },
      };
      if (description) body.description = description;
      onDone(await api.post<ModelVersion>(`/api/v1/models/${enc(name)}/versions`, body));
    });
  };
  const pct = progress && progress.total > 0 ? Math.round((100 * progress.sent) / progress.total) : 0;
  return (
    <form className="card form" onSubmit={submit} aria-label="Register a model version">
      <h2>Register a model version</h2>
      <p className="hint">Upload an MLflow model package: its MLmodel file and the model file it names (XGBoost or ONNX).</p>
      <Field label="Project">
        {(id) => (
          <select id={id} value={project} onChange={(e) => setProject(e.target.value)} required>
            <ProjectOptions projects={projects.data ?? []} />
          </select>
        )}
      </Field>
      {projects.error && <ErrorBox error={projects.error} retry={projects.reload} />}
      {projects.data?.length === 0 && <p className="empty">No projects yet: create one on the <Link to="/projects">Projects page</Link> first.</p>}
      <Field label="Model name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required maxLength={256} />}</Field>
      <Field label="Description">{(id) => <input id={id} value={description} onChange={(e) => setDescription(e.target.value)} />}</Field>
      <Field label="Package files" hint="Select MLmodel and the model file (or pick the whole directory below)">
        {(id) => <input id={id} type="file" multiple onChange={(e) => pick(e.target.files)} />}
      </Field>
      <Field label="…or a package directory">
        {(id) => <input id={id} type="file" {...({ webkitdirectory: "" } as object)} onChange={(e) => pick(e.target.files)} />}
      </Field>
      {files.length > 0 && (
        <ul className="files" aria-label="Selected files">
          {files.map((f) => (
            <li key={f.path}>
              {f.path} <span className="muted">{fmtBytes(f.file.size)}</span>
            </li>
          ))}
        </ul>
      )}
      {progress && (
        <div className="progress">
          <label htmlFor="upload-progress">Upload</label>
          <progress id="upload-progress" max={progress.total || 1} value={progress.sent} aria-valuetext={`${pct}%`} />
          <span>
            {pct}% · {fmtBytes(progress.sent)} of {fmtBytes(progress.total)}
          </span>
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
      <button type="submit" className="primary" disabled={busy || files.length === 0 || !name}>
        {busy ? "Uploading…" : "Upload and register"}
      </button>
    </form>
  );
}

export function ModelDetailPage({ name }: { name: string }) {
  const { can } = useAuth();
  const model = useAsync(() => api.get<Model>(`/api/v1/models/${enc(name)}`), [name]);
  const versions = useAsync(() => listAll<ModelVersion>(`/api/v1/models/${enc(name)}/versions`), [name]);
  const [showRegister, setShowRegister] = useState(false);
  return (
    <section>
      <Async state={model} what="model">
        {(m) => (
          <>
            <PageHeader title={`Model ${m.name}`}>
              <Gated perm="create" onClick={() => setShowRegister((v) => !v)} aria-expanded={showRegister}>
                New version
              </Gated>
            </PageHeader>
            <dl className="props">
              <dt>Description</dt>
              <dd>{m.description || "—"}</dd>
              <dt>Aliases</dt>
              <dd>{Object.keys(m.aliases ?? {}).length ? Object.entries(m.aliases).map(([a, v]) => <span key={a} className="tag">@{a}→v{v}</span>) : "—"}</dd>
              <dt>Tags</dt>
              <dd>{Object.keys(m.tags ?? {}).length ? Object.entries(m.tags).map(([k, v]) => <span key={k} className="tag">{k}={v}</span>) : "—"}</dd>
              <dt>Created</dt>
              <dd>
                {fmtTime(m.created_at)} by {m.created_by}
              </dd>
            </dl>
            {showRegister && can("create") && <RegisterVersion defaultModel={m.name} onDone={(v) => navigate(`/models/${enc(v.model_name)}/versions/${v.version}`)} />}
          </>
        )}
      </Async>
      <h2>Versions</h2>
      <AsyncTable state={versions} what="versions" empty="No versions yet. Click “New version” to upload a package." cols={["Version", "Stage", "Aliases", "Flavor", "Created", "By"]}>
        {(v) => (
          <tr key={v.version}>
            <td>
              <Link to={`/models/${enc(name)}/versions/${v.version}`}>v{v.version}</Link>
            </td>
            <td>
              <Badge value={v.stage} />
            </td>
            <td>{v.aliases.map((a) => `@${a}`).join(" ")}</td>
            <td>{v.flavor || "—"}</td>
            <td>{fmtTime(v.created_at)}</td>
            <td>{v.created_by}</td>
          </tr>
        )}
      </AsyncTable>
    </section>
  );
}

interface ArtifactFile {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

async function listArtifacts(prefix: string): Promise<ArtifactFile[]> {
  const out: ArtifactFile[] = [];
  const dirs = [""];
  while (dirs.length && out.length < 1000) {
    const dir = dirs.pop()!;
    const res = await api.get<{ files?: ArtifactFile[] }>("/api/2.0/mlflow-artifacts/artifacts", { path: dir ? `${prefix}/${dir}` : prefix });
    for (const f of res.files ?? []) {
      const rel = dir ? `${dir}/${f.path.split("/").pop()}` : f.path.split("/").pop()!;
      if (f.is_dir) dirs.push(rel);
      else out.push({ ...f, path: rel });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function parseSignature(s: unknown): { name?: string; type: string }[] | null {
  if (!s) return null;
  try {
    const v = typeof s === "string" ? JSON.parse(s) : s;
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

export function VersionDetailPage({ name, version }: { name: string; version: string }) {
  const v = useAsync(() => api.get<ModelVersion>(`/api/v1/models/${enc(name)}/versions/${enc(version)}`), [name, version]);
  const prefix = v.data?.source.startsWith("mlflow-artifacts:/") ? v.data.source.slice("mlflow-artifacts:/".length).replace(/^\/+/, "") : null;
  const artifacts = useAsync(() => (prefix ? listArtifacts(prefix) : Promise.resolve(null)), [prefix]);
  const [stage, setStage] = useState("");
  const [alias, setAlias] = useState("");
  const { error: actionError, run: perform } = useAction();
  const act = (fn: () => Promise<unknown>) =>
    perform(async () => {
      await fn();
      v.reload();
    });
  return (
    <section>
      <p className="breadcrumb">
        <Link to="/models">Models</Link> / <Link to={`/models/${enc(name)}`}>{name}</Link>
      </p>
      <Async state={v} what="model version">
        {(mv) => (
          <>
            <PageHeader title={`${mv.model_name} v${mv.version}`} />
            <dl className="props">
              <dt>Stage</dt>
              <dd>
                <Badge value={mv.stage} />
              </dd>
              <dt>Status</dt>
              <dd>{mv.status}</dd>
              <dt>Aliases</dt>
              <dd>{mv.aliases.length ? mv.aliases.map((a) => <span key={a} className="tag">@{a}</span>) : "—"}</dd>
              <dt>Flavor</dt>
              <dd>{mv.flavor || "—"}</dd>
              <dt>Source</dt>
              <dd>
                <code>{mv.source}</code>
              </dd>
              <dt>Description</dt>
              <dd>{mv.description || "—"}</dd>
              <dt>Tags</dt>
              <dd>{Object.keys(mv.tags ?? {}).length ? Object.entries(mv.tags).map(([k, val]) => <span key={k} className="tag">{k}={val}</span>) : "—"}</dd>
              <dt>Created</dt>
              <dd>
                {fmtTime(mv.created_at)} by {mv.created_by}
              </dd>
            </dl>
            <div className="row-actions">
              <label htmlFor="stage-select">Move to stage</label>
              <select id="stage-select" value={stage} onChange={(e) => setStage(e.target.value)}>
                <option value="">—</option>
                {["None", "Staging", "Production", "Archived"].map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
              <Gated perm="create" allowed={!!stage} title="Pick a stage first" onClick={() => void act(() => api.patch(`/api/v1/models/${enc(name)}/versions/${mv.version}`, { stage }))}>
                Transition
              </Gated>
              <label htmlFor="alias-input">Alias</label>
              <input id="alias-input" value={alias} onChange={(e) => setAlias(e.target.value)} placeholder="champion" pattern="[A-Za-z0-9_\-]+" />
              <Gated perm="create" allowed={!!alias} title="Type an alias first" onClick={() => void act(() => api.put(`/api/v1/models/${enc(name)}/aliases/${enc(alias)}`, { version: mv.version }))}>
                Set alias
              </Gated>
            </div>
            {actionError !== null && <ErrorBox error={actionError} />}
            <h2>Signature</h2>
            <SignatureTable title="Inputs" spec={parseSignature(mv.signature?.inputs)} />
            <SignatureTable title="Outputs" spec={parseSignature(mv.signature?.outputs)} />
            <h2>Metrics</h2>
            {mv.metrics && Object.keys(mv.metrics).length ? (
              <dl className="props">
                {Object.entries(mv.metrics).map(([k, val]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{fmtNum(val)}</dd>
                  </div>
                ))}
              </dl>
            ) : (
              <p className="empty">No metrics recorded. Pass metrics when registering (API field metrics).</p>
            )}
            <h2>Lineage</h2>
            <dl className="props">
              <dt>Run</dt>
              <dd>{mv.lineage?.run_id || mv.run_id || "—"}</dd>
              <dt>Git commit</dt>
              <dd>{mv.lineage?.git_commit ? <code>{mv.lineage.git_commit}</code> : "—"}</dd>
              <dt>Datasets</dt>
              <dd>{Object.keys(mv.lineage?.dataset_digests ?? {}).length ? <code>{JSON.stringify(mv.lineage.dataset_digests)}</code> : "—"}</dd>
            </dl>
            <h2>Artifacts</h2>
            {!prefix ? (
              <p className="empty">
                This version's files are at <code>{mv.source}</code>, outside the server's artifact proxy.
              </p>
            ) : (
              <Async state={artifacts} what="artifacts" isEmpty={(a) => !a || a.length === 0} empty="No files under this version's source.">
                {(files) => (
                  <table className="table">
                    <TableHead cols={["File", "Size", "SHA-256 (recorded)"]} />
                    <tbody>
                      {files!.map((f) => (
                        <tr key={f.path}>
                          <td>
                            <a href={`/api/2.0/mlflow-artifacts/artifacts/${`${prefix}/${f.path}`.split("/").map(enc).join("/")}`} download={f.path.split("/").pop()}>
                              {f.path}
                            </a>
                          </td>
                          <td>{f.file_size !== undefined ? fmtBytes(f.file_size) : "—"}</td>
                          <td>
                            <code className="hash">{mv.lineage?.file_digests?.[f.path]?.sha256 ?? "—"}</code>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </Async>
            )}
          </>
        )}
      </Async>
    </section>
  );
}

function SignatureTable({ title, spec }: { title: string; spec: { name?: string; type: string; "tensor-spec"?: { dtype?: string; shape?: number[] } }[] | null }) {
  if (!spec) return <p className="empty">{title}: no signature recorded (add one to MLmodel).</p>;
  return (
    <table className="table compact">
      <caption>{title}</caption>
      <TableHead cols={["Name", "Type"]} />
      <tbody>
        {spec.map((c, i) => (
          <tr key={i}>
            <td>{c.name ?? `#${i}`}</td>
            <td>{c.type === "tensor" ? `tensor ${c["tensor-spec"]?.dtype ?? ""} ${JSON.stringify(c["tensor-spec"]?.shape ?? [])}` : c.type}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export { ApiError };
