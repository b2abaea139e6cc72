import { useCallback, useEffect, useMemo, useState } from "react";
import { Background, Controls, Handle, Position, ReactFlow, useNodesInitialized, useReactFlow, type Edge, type Node, type NodeChange, type NodeProps, type Connection, type EdgeChange } from "@xyflow/react";
import { api, enc, listAll } from "../lib/api";
import { useAuth } from "../lib/auth";
import { useFeature } from "../lib/capabilities";
import { navigate, useLocation } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import type { Project } from "../lib/types";
import { Async, Badge, ErrorBox, Field, Gated, PageHeader, ProjectOptions, TableHead } from "../components/ui";
import { fmtTime } from "../lib/format";
import {
  PARAMS,
  STAGE_TYPES,
  addStage,
  connect,
  disconnect,
  emptyPipeline,
  fromYaml,
  layout,
  parseParam,
  removeStage,
  renameStage,
  showParam,
  stageIndexOfPath,
  toYaml,
  updateStage,
  type PipelineModel,
  type StageType,
} from "../lib/pipelineSpec";
import { PipelineRunsPanel } from "./PipelineRuns";

interface ValidationError {
  path: string;
  line?: number;
  column?: number;
  message: string;
}
interface Validation {
  valid: boolean;
  errors: ValidationError[];
  warnings: (ValidationError | string)[];
  stages?: { id: string; type: string; hash: string; locked: boolean; lock: "none" | "locked" | "unlocked" }[];
}
interface RegisteredPipeline {
  project: string;
  name: string;
  version: number;
  spec_hash: string;
  created_by: string;
  created_at: string;
  spec_yaml?: string;
}
interface Lock {
  stage: string;
  status: "locked" | "unlocked";
  locked_by: string;
  locked_at: string;
  hash: string;
  unlock?: { approved_by: string; reason: string; approved_at: string };
}

const DRAFT_PREFIX = "studio.pipeline.";
const draftKey = (project: string, name: string) => `${DRAFT_PREFIX}${project}/${name}`;

function listDrafts(project: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i)!;
    if (k.startsWith(`${DRAFT_PREFIX}${project}/`)) out.push(k.slice(`${DRAFT_PREFIX}${project}/`.length));
  }
  return out.sort();
}

export function PipelinesPage() {
  const { search } = useLocation();
  const projects = useAsync(() => listAll<Project>("/api/v1/projects"), []);
  const project = search.get("project") ?? "";
  const name = search.get("name") ?? "";
  const setSel = (p: string, n: string) => navigate(`/pipelines?project=${enc(p)}${n ? `&name=${enc(n)}` : ""}`);
  return (
    <section>
      <PageHeader title="Pipelines" />
      <Async state={projects} what="projects" isEmpty={(p) => p.length === 0} empty="No projects yet. Create one on the Projects page, then build its pipeline here.">
        {(ps) => (
          <>
            <PipelinePicker projects={ps} project={project} name={name} onPick={setSel} />
            {project && name ? <PipelineEditor key={`${project}/${name}`} project={project} name={name} /> : <p className="empty">Pick a project and open or create a pipeline to edit its DAG.</p>}
          </>
        )}
      </Async>
    </section>
  );
}

function PipelinePicker({ projects, project, name, onPick }: { projects: Project[]; project: string; name: string; onPick: (p: string, n: string) => void }) {
  const hasServerPipelines = useFeature("projectPipelines");
  const [newName, setNewName] = useState("");
  const server = useAsync(
    () => (project && hasServerPipelines ? api.get<{ items: { name: string }[] }>(`/api/v1/projects/${enc(project)}/pipelines`).then((r) => r.items.map((p) => p.name)) : Promise.resolve([] as string[])),
    [project, hasServerPipelines],
  );
  const names = [...new Set([...(server.data ?? []), ...(project ? listDrafts(project) : []), ...(name ? [name] : [])])].sort();
  return (
    <div className="picker" role="group" aria-label="Pipeline">
      <Field label="Project">
        {(id) => (
          <select id={id} value={project} onChange={(e) => onPick(e.target.value, "")}>
            <ProjectOptions projects={projects} />
          </select>
        )}
      </Field>
      {project && (
        <>
          <Field label="Pipeline">
            {(id) => (
              <select id={id} value={names.includes(name) ? name : ""} onChange={(e) => e.target.value && onPick(project, e.target.value)}>
                <option value="">{names.length ? "— open —" : "none yet"}</option>
                {names.map((n) => (
                  <option key={n}>{n}</option>
                ))}
              </select>
            )}
          </Field>
          <form
            className="inline-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (newName) onPick(project, newName);
              setNewName("");
            }}
          >
            <Field label="New pipeline name">{(id) => <input id={id} value={newName} onChange={(e) => setNewName(e.target.value)} pattern="[a-z][a-z0-9\-]{0,61}[a-z0-9]" placeholder="churn" />}</Field>
            <button type="submit">Create</button>
          </form>
        </>
      )}
      {server.error && <ErrorBox error={server.error} retry={server.reload} />}
    </div>
  );
}

type StageNodeData = { label: string; type: string; lock: string; invalid: boolean; status?: string; readOnly: boolean };
type StageNode = Node<StageNodeData, "stage">;

function StageNodeView({ data, selected }: NodeProps<StageNode>) {
  const cls = ["stage-node", data.invalid ? "invalid" : "", data.lock === "locked" ? "locked" : "", data.status ? `status-${data.status.toLowerCase()}` : "", selected ? "selected" : ""].join(" ");
  return (
    <div className={cls} aria-label={`Stage ${data.label} (${data.type})${data.lock === "locked" ? ", locked" : ""}${data.status ? `, ${data.status}` : ""}`}>
      <Handle type="target" position={Position.Top} isConnectable={!data.readOnly} />
      <div className="stage-id">
        {data.label}
        {data.lock === "locked" && (
          <span className="lock-mark" aria-hidden="true">
            locked
          </span>
        )}
      </div>
      <div className="stage-type">{data.type}</div>
      {data.status && <div className="stage-status">{data.status}</div>}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

const nodeTypes = { stage: StageNodeView };

// Keeps the whole DAG in view when stages are added or removed (not on every drag).
function FitOnChange({ count }: { count: number }) {
  const { fitView } = useReactFlow();
  const measured = useNodesInitialized();
  useEffect(() => {
    if (!measured) return;
    const t = requestAnimationFrame(() => void fitView({ padding: 0.1, maxZoom: 1.1, minZoom: 0.2 }));
    return () => cancelAnimationFrame(t);
  }, [count, measured, fitView]);
  return null;
}

function PipelineEditor({ project, name }: { project: string; name: string }) {
  const { can } = useAuth();
  const hasServerPipelines = useFeature("projectPipelines");
  const [model, setModel] = useState<PipelineModel>(() => {
    const draft = localStorage.getItem(draftKey(project, name));
    if (draft) {
      try {
        return fromYaml(draft);
      } catch {
        /* a broken draft: start over */
      }
    }
    return emptyPipeline(project, name);
  });
  const [loadedFromServer, setLoadedFromServer] = useState(false);
  const [positions, setPositions] = useState<Record<string, { x: number; y: number }>>({});
  // Measured node sizes: the graph is derived from the spec on every render, so React Flow's
  // measurements must be handed back (a node without them is not shown).
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});
  const [selected, setSelected] = useState<string | null>(null);
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);
  const [newType, setNewType] = useState<StageType>("data-ingestion");
  const [yamlText, setYamlText] = useState<string | null>(null);
  const [yamlError, setYamlError] = useState<string | null>(null);
  const [validation, setValidation] = useState<Validation | null>(null);
  const [validating, setValidating] = useState(false);
  const [validateError, setValidateError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [runStatus, setRunStatus] = useState<Record<string, string>>({});
  const yaml = useMemo(() => toYaml(model), [model]);

  // The registered pipeline (its latest version) is the starting point when there is no draft.
  const registered = useAsync(
    () =>
      hasServerPipelines
        ? api
            .get<{ items: RegisteredPipeline[] }>(`/api/v1/projects/${enc(project)}/pipelines`)
            .then((r) => r.items.find((i) => i.name === name) ?? null)
        : Promise.resolve(null),
    [hasServerPipelines, project, name],
  );
  useEffect(() => {
    if (!registered.data || loadedFromServer || localStorage.getItem(draftKey(project, name))) return;
    setLoadedFromServer(true);
    api
      .get<RegisteredPipeline>(`/api/v1/projects/${enc(project)}/pipelines/${enc(name)}`)
      .then((p) => p.spec_yaml && setModel(fromYaml(p.spec_yaml)))
      .catch(setActionError);
  }, [registered.data, loadedFromServer, project, name]);
  const [registering, setRegistering] = useState(false);
  const register = async () => {
    setActionError(null);
    setRegistering(true);
    try {
      await api.post(`/api/v1/projects/${enc(project)}/pipelines`, { spec: yaml });
      registered.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setRegistering(false);
    }
  };

  useEffect(() => {
    localStorage.setItem(draftKey(project, name), yaml);
  }, [yaml, project, name]);

  const locks = useAsync(() => api.get<{ items: Lock[] }>(`/api/v1/pipelines/${enc(project)}/${enc(name)}/locks`).then((r) => r.items), [project, name]);
  const lockOf = useCallback(
    (id: string): Lock | undefined => (locks.data ?? []).find((l) => l.stage === id),
    [locks.data],
  );
  const isLocked = useCallback((id: string) => lockOf(id)?.status === "locked", [lockOf]);

  // Live validation through the API, 400 ms after the last change.
  useEffect(() => {
    const t = setTimeout(() => {
      setValidating(true);
      api
        .post<Validation>("/api/v1/pipelines/validate", { spec: yaml })
        .then((v) => {
          setValidation(v);
          setValidateError(null);
        })
        .catch(setValidateError)
        .finally(() => setValidating(false));
    }, 400);
    return () => clearTimeout(t);
  }, [yaml, locks.data]);

  const auto = useMemo(() => layout(model.stages), [model.stages]);
  const invalidStages = useMemo(() => {
    const s = new Set<string>();
    for (const e of validation?.errors ?? []) {
      const i = stageIndexOfPath(e.path);
      if (i !== null && model.stages[i]) s.add(model.stages[i].id);
    }
    return s;
  }, [validation, model.stages]);

  const nodes: StageNode[] = model.stages.map((s) => ({
    id: s.id,
    type: "stage",
    position: positions[s.id] ?? auto[s.id],
    measured: sizes[s.id],
    selected: s.id === selected,
    deletable: !isLocked(s.id),
    data: { label: s.id, type: s.type, lock: lockOf(s.id)?.status ?? "none", invalid: invalidStages.has(s.id), status: runStatus[s.id], readOnly: isLocked(s.id) },
  }));
  const edges: Edge[] = model.stages.flatMap((s) =>
    s.needs.map((n) => ({ id: `${n}->${s.id}`, source: n, target: s.id, selected: selectedEdge === `${n}->${s.id}`, deletable: !isLocked(s.id), animated: runStatus[s.id] === "RUNNING" })),
  );

  const onNodesChange = (changes: NodeChange<StageNode>[]) => {
    for (const c of changes) {
      if (c.type === "position" && c.position) setPositions((p) => ({ ...p, [c.id]: c.position! }));
      if (c.type === "dimensions" && c.dimensions) setSizes((z) => ({ ...z, [c.id]: c.dimensions! }));
      if (c.type === "select") {
        if (c.selected) {
          setSelected(c.id);
          setSelectedEdge(null);
        } else setSelected((cur) => (cur === c.id ? null : cur));
      }
    }
  };
  const onEdgesChange = (changes: EdgeChange[]) => {
    for (const c of changes) if (c.type === "select") setSelectedEdge(c.selected ? c.id : null);
  };
  const onConnect = (c: Connection) => {
    if (!c.source || !c.target) return;
    if (isLocked(c.target)) {
      setActionError(new Error(`stage '${c.target}' is locked: its needs cannot change`));
      return;
    }
    setModel((m) => connect(m, c.source!, c.target!));
  };
  const onEdgesDelete = (es: Edge[]) => setModel((m) => es.filter((e) => !isLocked(e.target)).reduce((acc, e) => disconnect(acc, e.source, e.target), m));
  const onNodesDelete = (ns: Node[]) => {
    for (const n of ns) deleteStage(n.id);
  };
  const deleteStage = (id: string) => {
    if (isLocked(id)) return setActionError(new Error(`stage '${id}' is locked and cannot be removed`));
    const dependent = model.stages.find((s) => s.needs.includes(id) && isLocked(s.id));
    if (dependent) return setActionError(new Error(`locked stage '${dependent.id}' needs '${id}'`));
    setModel((m) => removeStage(m, id));
    if (selected === id) setSelected(null);
  };
  const add = () => {
    const { model: m, id } = addStage(model, newType, selected ?? undefined);
    setModel(m);
    setSelected(id);
  };
  const applyYaml = () => {
    try {
      const m = fromYaml(yamlText ?? yaml);
      if (m.name !== name || m.project !== project) throw new Error(`metadata must stay name: ${name}, project: ${project}`);
      setModel(m);
      setYamlText(null);
      setYamlError(null);
    } catch (e) {
      setYamlError((e as Error).message);
    }
  };
  const lock = async (id: string) => {
    setActionError(null);
    try {
      await api.post(`/api/v1/pipelines/${enc(project)}/${enc(name)}/stages/${enc(id)}/lock`, { spec: yaml });
      locks.reload();
    } catch (e) {
      setActionError(e);
    }
  };
  const unlock = async (id: string, reason: string) => {
    setActionError(null);
    try {
      await api.post(`/api/v1/pipelines/${enc(project)}/${enc(name)}/stages/${enc(id)}/unlock`, { reason });
      locks.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  const stage = model.stages.find((s) => s.id === selected);
  const canEdit = can("read"); // everyone may draft; the server's locks and validation decide
  return (
    <div className="editor">
      <div className="editor-toolbar" role="toolbar" aria-label="Pipeline editor">
        <label htmlFor="new-stage-type">Stage type</label>
        <select id="new-stage-type" value={newType} onChange={(e) => setNewType(e.target.value as StageType)}>
          {STAGE_TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <button type="button" onClick={add} disabled={!canEdit}>
          Add stage{selected ? ` after ${selected}` : ""}
        </button>
        <label htmlFor="edit-stage">Edit stage</label>
        <select
          id="edit-stage"
          value={selected ?? ""}
          onChange={(e) => {
            setSelected(e.target.value || null);
            setSelectedEdge(null);
          }}
        >
          <option value="">—</option>
          {model.stages.map((st) => (
            <option key={st.id} value={st.id}>
              {st.id}
            </option>
          ))}
        </select>
        <label className="checkbox">
          <input type="checkbox" checked={model.canonical} onChange={(e) => setModel({ ...model, canonical: e.target.checked })} /> canonical
        </label>
        {hasServerPipelines && (
          <>
            <Gated perm="create" allowed={(validation?.valid ?? false) && !registering} title="The spec must validate before it is registered" onClick={() => void register()}>
              Register version
            </Gated>
            <span className="muted" role="status">
              {registered.data ? `registered: v${registered.data.version} by ${registered.data.created_by}, ${fmtTime(registered.data.created_at)}` : "not registered on the server yet"}
            </span>
          </>
        )}
        <span className={`validity ${validation?.valid ? "ok" : "bad"}`} role="status" aria-live="polite" data-testid="validity">
          {validating ? "Validating…" : validation ? (validation.valid ? "✓ Valid" : `✗ ${validation.errors.length} error${validation.errors.length === 1 ? "" : "s"}`) : ""}
        </span>
      </div>
      <div className="editor-body">
        <div className="flow" aria-label="Pipeline DAG">
          {model.stages.length === 0 ? (
            <p className="empty flow-empty">This pipeline has no stages yet. Pick a stage type and click “Add stage”; each new stage runs after the selected one.</p>
          ) : null}
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onEdgesDelete={onEdgesDelete}
            onNodesDelete={onNodesDelete}
            onPaneClick={() => {
              setSelected(null);
              setSelectedEdge(null);
            }}
            fitView
            fitViewOptions={{ padding: 0.1, maxZoom: 1.1, minZoom: 0.2 }}
            minZoom={0.2}
            deleteKeyCode={["Delete", "Backspace"]}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
            <FitOnChange count={model.stages.length} />
          </ReactFlow>
        </div>
        <aside className="panel" aria-label="Stage details">
          {stage ? (
            <StagePanel
              key={stage.id}
              model={model}
              stageId={stage.id}
              lock={lockOf(stage.id)}
              onChange={setModel}
              onSelect={setSelected}
              onDelete={() => deleteStage(stage.id)}
              onLock={() => void lock(stage.id)}
              onUnlock={(reason) => void unlock(stage.id, reason)}
              canLock={validation?.valid ?? false}
            />
          ) : (
            <p className="empty">Select a stage to edit its parameters, needs and lock. Drag from a stage's bottom handle to another stage's top handle to connect them.</p>
          )}
          {selectedEdge && (
            <div className="edge-actions">
              <p>
                Connection <code>{selectedEdge}</code>
              </p>
              <button
                type="button"
                onClick={() => {
                  const [s, t] = selectedEdge.split("->");
                  onEdgesDelete([{ id: selectedEdge, source: s, target: t }]);
                  setSelectedEdge(null);
                }}
                disabled={isLocked(selectedEdge.split("->")[1])}
              >
                Remove connection
              </button>
            </div>
          )}
        </aside>
      </div>
      {actionError !== null && <ErrorBox error={actionError} />}
      {locks.error && <ErrorBox error={locks.error} retry={locks.reload} />}
      {validateError !== null && <ErrorBox error={validateError} />}
      {validation && !validation.valid && (
        <div className="validation" role="region" aria-label="Validation errors">
          <h2>Validation errors</h2>
          <ul>
            {validation.errors.map((e, i) => (
              <li key={i}>
                <code>
                  {e.line ? `${e.line}:${e.column} ` : ""}
                  {e.path}
                </code>{" "}
                {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {validation && validation.warnings.length > 0 && (
        <div className="warnings" role="region" aria-label="Validation warnings">
          <h2>Warnings</h2>
          <ul>
            {validation.warnings.map((w, i) => (
              <li key={i}>{typeof w === "string" ? w : `${w.path ?? ""} ${w.message}`}</li>
            ))}
          </ul>
        </div>
      )}
      <details className="yaml" open>
        <summary>studio-pipeline.yaml</summary>
        <label htmlFor="pipeline-yaml" className="sr-only">
          Pipeline YAML
        </label>
        <textarea id="pipeline-yaml" value={yamlText ?? yaml} onChange={(e) => setYamlText(e.target.value)} rows={18} spellCheck={false} />
        <div className="row-actions">
          <button type="button" onClick={applyYaml} disabled={yamlText === null}>
            Apply YAML to the graph
          </button>
          <button type="button" onClick={() => setYamlText(null)} disabled={yamlText === null}>
            Discard edits
          </button>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(yaml)}>
            Copy YAML
          </button>
        </div>
        {yamlError && <ErrorBox error={new Error(yamlError)} />}
      </details>
      <PipelineRunsPanel project={project} pipeline={name} spec={yaml} valid={validation?.valid ?? false} onStageStatus={setRunStatus} onStarted={registered.reload} />
      {locks.data && locks.data.length > 0 && (
        <>
          <h2>Locks</h2>
          <table className="table compact">
            <TableHead cols={["Stage", "Status", "Locked by", "Unlock approval"]} />
            <tbody>
              {locks.data.map((l) => (
                <tr key={l.stage}>
                  <td>{l.stage}</td>
                  <td>
                    <Badge value={l.status} />
                  </td>
                  <td>
                    {l.locked_by} {fmtTime(l.locked_at)}
                  </td>
                  <td>{l.unlock ? `${l.unlock.approved_by}: ${l.unlock.reason}` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function StagePanel({
  model,
  stageId,
  lock,
  onChange,
  onSelect,
  onDelete,
  onLock,
  onUnlock,
  canLock,
}: {
  model: PipelineModel;
  stageId: string;
  lock?: Lock;
  onChange: (m: PipelineModel) => void;
  onSelect: (id: string) => void;
  onDelete: () => void;
  onLock: () => void;
  onUnlock: (reason: string) => void;
  canLock: boolean;
}) {
  const stage = model.stages.find((s) => s.id === stageId)!;
  const locked = lock?.status === "locked";
  const [idDraft, setIdDraft] = useState(stage.id);
  const [reason, setReason] = useState("");
  const [paramDrafts, setParamDrafts] = useState<Record<string, string>>({});
  const known = PARAMS[stage.type as StageType] ?? {};
  const paramNames = [...new Set([...Object.keys(known), ...Object.keys(stage.with)])];
  const setParam = (k: string, text: string) => {
    setParamDrafts((d) => ({ ...d, [k]: text }));
    const v = parseParam(text);
    onChange(
      updateStage(model, stage.id, (s) => {
        const w = { ...s.with };
        if (v === undefined) delete w[k];
        else w[k] = v;
        return { ...s, with: w };
      }),
    );
  };
  return (
    <div className={`stage-panel ${locked ? "locked" : ""}`}>
      <h2>
        Stage {stage.id} {locked && <Badge value="locked" />}
      </h2>
      {locked && (
        <p className="lock-note" role="note">
          Locked by {lock!.locked_by} on {fmtTime(lock!.locked_at)}: read-only. Changing it needs an approved unlock by production_team or admin.
        </p>
      )}
      <fieldset disabled={locked}>
        <legend className="sr-only">Stage definition</legend>
        <Field label="Stage id">
          {(id) => (
            <input
              id={id}
              value={idDraft}
              onChange={(e) => setIdDraft(e.target.value)}
              onBlur={() => {
                if (idDraft && idDraft !== stage.id && !model.stages.some((s) => s.id === idDraft)) {
                  onChange(renameStage(model, stage.id, idDraft));
                  onSelect(idDraft);
                } else setIdDraft(stage.id);
              }}
            />
          )}
        </Field>
        <Field label="Type">
          {(id) => (
            <select id={id} value={stage.type} onChange={(e) => onChange(updateStage(model, stage.id, (s) => ({ ...s, type: e.target.value })))}>
              {STAGE_TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
        <fieldset className="needs">
          <legend>Runs after</legend>
          {model.stages.filter((s) => s.id !== stage.id).length === 0 && <p className="muted">No other stages.</p>}
          {model.stages
            .filter((s) => s.id !== stage.id)
            .map((s) => (
              <label key={s.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={stage.needs.includes(s.id)}
                  onChange={(e) => onChange(e.target.checked ? connect(model, s.id, stage.id) : disconnect(model, s.id, stage.id))}
                />{" "}
                {s.id}
              </label>
            ))}
        </fieldset>
        <fieldset className="params">
          <legend>Parameters (with)</legend>
          {paramNames.map((k) => (
            <Field key={k} label={`${k}${known[k] ? " *" : ""}`}>
              {(id) => <input id={id} value={paramDrafts[k] ?? showParam(stage.with[k])} onChange={(e) => setParam(k, e.target.value)} placeholder={known[k] ? "required" : "optional"} />}
            </Field>
          ))}
        </fieldset>
        <button type="button" className="danger" onClick={onDelete}>
          Remove stage
        </button>
      </fieldset>
      <div className="lock-actions">
        {locked ? (
          <>
            <Field label="Unlock reason">{(id) => <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} />}</Field>
            <Gated perm="lock_pipelines" allowed={!!reason} title="Give a reason first" onClick={() => onUnlock(reason)}>
              Unlock stage
            </Gated>
          </>
        ) : (
          <Gated perm="lock_pipelines" allowed={canLock} title="The spec must validate before a stage can be locked" onClick={onLock}>
            Lock stage
          </Gated>
        )}
      </div>
    </div>
  );
}
