export interface Project {
  id: string;
  name: string;
  description: string;
  owner: string;
  github_repo: string;
  tags: Record<string, string>;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ModelVersion {
  model_id: string;
  model_name: string;
  version: number;
  source: string;
  run_id: string;
  run_link: string;
  description: string;
  stage: string;
  status: string;
  status_message: string;
  flavor: string;
  signature: { inputs?: unknown; outputs?: unknown } | null;
  metrics: Record<string, number> | null;
  lineage: { run_id?: string; git_commit?: string; dataset_digests?: Record<string, unknown>; file_digests?: Record<string, { sha256: string; size: number }> };
  tags: Record<string, string>;
  aliases: string[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface Model {
  id: string;
  project_id: string;
  name: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  latest_versions: ModelVersion[];
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface AuditEvent {
  seq: number;
  id: string;
  ts: string;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  request_id: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AlarmRule {
  id: string;
  project_id?: string;
  monitor_id?: string;
  name: string;
  kind: string;
  threshold: number;
  enabled?: boolean;
  state: "OK" | "ALARM" | "INSUFFICIENT_DATA";
  state_reason?: string;
  state_value?: number;
  acknowledged?: boolean;
  updated_at?: string;
}

export interface Monitor {
  id: string;
  project_id?: string;
  project?: string;
  name: string;
  target?: Record<string, unknown>;
  schedule?: string;
  method?: string;
  created_at?: string;
  last_report?: unknown;
  [k: string]: unknown;
}

export interface User {
  id: string;
  username: string;
  roles: string[];
  permissions?: string[];
  disabled: boolean;
  created_at: string;
  updated_at: string;
}

export interface Token {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export interface StageRun {
  id: string;
  type: string;
  status: string;
  attempt?: number;
  attempts?: number | unknown[];
  outputs?: Record<string, unknown>;
  duration_ms?: number;
  started_at?: string;
  finished_at?: string;
  error?: string;
  [k: string]: unknown;
}

export interface Run {
  id: string;
  project?: string;
  project_id?: string;
  pipeline?: string;
  status: string;
  trigger?: string;
  created_by?: string;
  created_at?: string;
  started_at?: string;
  finished_at?: string;
  duration_ms?: number;
  stages?: StageRun[];
  spec?: string;
  [k: string]: unknown;
}

export interface Deployment {
  id: string;
  project?: string;
  project_id?: string;
  model?: string;
  model_name?: string;
  version?: number | string;
  alias?: string;
  environment: string;
  strategy?: string;
  status: string;
  weights?: Record<string, number> | { stable?: number; canary?: number };
  approvals?: { approved_by?: string; user?: string; comment?: string; decision?: string; at?: string; created_at?: string }[];
  required_approvals?: number;
  approvals_required?: number;
  approvals_received?: number;
  previous_deployment_id?: string;
  superseded_by?: string;
  error?: string;
  requested_by?: string;
  created_by?: string;
  created_at?: string;
  updated_at?: string;
  events?: { ts?: string; at?: string; created_at?: string; type?: string; kind?: string; from?: string; to?: string; status?: string; reason?: string; details?: Record<string, unknown>; metrics?: Record<string, unknown>; weights?: Record<string, number>; actor?: string }[];
  [k: string]: unknown;
}
