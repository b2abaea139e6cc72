import { parse, stringify } from "yaml";

// The editor's model of a studio-pipeline.yaml (docs/pipelines.md) and its YAML round trip.

export const STAGE_TYPES = [
  "data-ingestion",
  "data-preparation",
  "feature-store",
  "model-registry",
  "model-deployment",
  "realtime-inference",
  "batch-inference",
  "model-monitoring",
  "cicd-enforcement",
  "command",
] as const;
export type StageType = (typeof STAGE_TYPES)[number];

// Parameters per stage type: name → required.
export const PARAMS: Record<StageType, Record<string, boolean>> = {
  "data-ingestion": { source: true, format: false, max_rows: false },
  "data-preparation": { required_columns: false, casts: false, nulls: false, dedupe: false, reference_fraction: false, split_column: false },
  "feature-store": { features: true, table: false },
  "model-registry": { model_name: true, package: true, description: false },
  "model-deployment": { environment: true, strategy: false, canary_percent: false },
  "realtime-inference": { sample_rows: false, max_latency_ms: false },
  "batch-inference": { output: true, batch_size: false },
  "model-monitoring": { method: false, drift_threshold: false, drift_share: false },
  "cicd-enforcement": { require_locks: false, status_context: false },
  command: { command: true, env: false },
};

const DEFAULT_IDS: Record<StageType, string> = {
  "data-ingestion": "ingest",
  "data-preparation": "prepare",
  "feature-store": "features",
  "model-registry": "register",
  "model-deployment": "deploy",
  "realtime-inference": "realtime",
  "batch-inference": "batch",
  "model-monitoring": "monitor",
  "cicd-enforcement": "enforce",
  command: "command",
};

export function defaultParams(type: StageType, pipelineName: string): Record<string, unknown> {
  switch (type) {
    case "data-ingestion":
      return { source: "data/training.csv", format: "csv" };
    case "data-preparation":
      return { nulls: "drop", dedupe: true, reference_fraction: 0.5 };
    case "feature-store":
      return { features: [{ name: "log_amount", expr: "log(amount)" }] };
    case "model-registry":
      return { model_name: pipelineName || "model", package: "model/" };
    case "model-deployment":
      return { environment: "dev", strategy: "direct" };
    case "realtime-inference":
      return { sample_rows: 20 };
    case "batch-inference":
      return { output: "predictions/batch.csv" };
    case "model-monitoring":
      return { method: "auto", drift_share: 0.5 };
    case "cicd-enforcement":
      return { require_locks: true };
    case "command":
      return { command: ["echo", "hello"] };
  }
}

export interface Stage {
  id: string;
  type: string;
  needs: string[];
  with: Record<string, unknown>;
  // retry, timeout_seconds, resources, locked: kept as written.
  extra: Record<string, unknown>;
}

export interface PipelineModel {
  name: string;
  project: string;
  description: string;
  canonical: boolean;
  stages: Stage[];
}

export function emptyPipeline(project: string, name: string): PipelineModel {
  return { name, project, description: "", canonical: true, stages: [] };
}

export function uniqueId(base: string, taken: string[]): string {
  if (!taken.includes(base)) return base;
  for (let i = 2; ; i++) if (!taken.includes(`${base}-${i}`)) return `${base}-${i}`;
}

export function addStage(m: PipelineModel, type: StageType, after?: string): { model: PipelineModel; id: string } {
  const id = uniqueId(DEFAULT_IDS[type], m.stages.map((s) => s.id));
  const stage: Stage = { id, type, needs: after ? [after] : [], with: defaultParams(type, m.name), extra: {} };
  return { model: { ...m, stages: [...m.stages, stage] }, id };
}

export function removeStage(m: PipelineModel, id: string): PipelineModel {
  return { ...m, stages: m.stages.filter((s) => s.id !== id).map((s) => ({ ...s, needs: s.needs.filter((n) => n !== id) })) };
}

export function renameStage(m: PipelineModel, from: string, to: string): PipelineModel {
  return {
    ...m,
    stages: m.stages.map((s) => ({ ...s, id: s.id === from ? to : s.id, needs: s.needs.map((n) => (n === from ? to : n)) })),
  };
}

export function updateStage(m: PipelineModel, id: string, fn: (s: Stage) => Stage): PipelineModel {
  return { ...m, stages: m.stages.map((s) => (s.id === id ? fn(s) : s)) };
}

export function connect(m: PipelineModel, source: string, target: string): PipelineModel {
  if (source === target) return m;
  return updateStage(m, target, (s) => (s.needs.includes(source) ? s : { ...s, needs: [...s.needs, source] }));
}

export function disconnect(m: PipelineModel, source: string, target: string): PipelineModel {
  return updateStage(m, target, (s) => ({ ...s, needs: s.needs.filter((n) => n !== source) }));
}

export function toYaml(m: PipelineModel): string {
  const metadata: Record<string, unknown> = { name: m.name, project: m.project };
  if (m.description) metadata.description = m.description;
  const doc = {
    apiVersion: "mlops-studio/v1",
    kind: "Pipeline",
    metadata,
    spec: {
      canonical: m.canonical,
      stages: m.stages.map((s) => {
        const out: Record<string, unknown> = { id: s.id, type: s.type };
        if (s.needs.length) out.needs = s.needs;
        if (Object.keys(s.with).length) out.with = s.with;
        return { ...out, ...s.extra };
      }),
    },
  };
  return "# studio-pipeline.yaml (built in the MLOps Studio console)\n" + stringify(doc, { lineWidth: 0 });
}

// YAML → model; throws with a readable message when the text is not a pipeline document.
export function fromYaml(text: string): PipelineModel {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== "object") throw new Error("the YAML is not a mapping");
  const md = (doc.metadata ?? {}) as Record<string, unknown>;
  const spec = (doc.spec ?? {}) as Record<string, unknown>;
  const rawStages = Array.isArray(spec.stages) ? spec.stages : [];
  const stages: Stage[] = rawStages.map((raw: unknown, i: number) => {
    if (!raw || typeof raw !== "object") throw new Error(`spec.stages[${i}] is not a mapping`);
    const { id, type, needs, with: params, ...extra } = raw as Record<string, unknown>;
    return {
      id: String(id ?? `stage-${i + 1}`),
      type: String(type ?? "command"),
      needs: Array.isArray(needs) ? needs.map(String) : [],
      with: params && typeof params === "object" ? (params as Record<string, unknown>) : {},
      extra,
    };
  });
  return {
    name: String(md.name ?? ""),
    project: String(md.project ?? ""),
    description: md.description ? String(md.description) : "",
    canonical: spec.canonical === true,
    stages,
  };
}

// Top to bottom: one level per step of the longest path from a root (cycles are cut); stages
// on the same level side by side, centred, in spec order.
export function layout(stages: Stage[]): Record<string, { x: number; y: number }> {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const d = (id: string): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const s = byId.get(id);
    const v = s && s.needs.length ? 1 + Math.max(...s.needs.filter((n) => byId.has(n)).map(d), -1) : 0;
    visiting.delete(id);
    depth.set(id, v);
    return v;
  };
  const levels = new Map<number, string[]>();
  for (const s of stages) {
    const level = d(s.id);
    levels.set(level, [...(levels.get(level) ?? []), s.id]);
  }
  const out: Record<string, { x: number; y: number }> = {};
  for (const [level, ids] of levels)
    ids.forEach((id, i) => {
      out[id] = { x: (i - (ids.length - 1) / 2) * 190, y: level * 80 };
    });
  return out;
}

// A parameter typed in a form field: YAML scalar or flow syntax ("3" → 3, "[a, b]" → list).
export function parseParam(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return parse(text);
  } catch {
    return text;
  }
}

export function showParam(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return stringify(v, { collectionStyle: "flow", lineWidth: 0 }).trim();
}

// "spec.stages[3].with.format" → index 3.
export function stageIndexOfPath(path: string): number | null {
  const m = /^spec\.stages\[(\d+)\]/.exec(path);
  return m ? Number(m[1]) : null;
}
