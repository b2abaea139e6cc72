-- Deployments (issue 7): environments with their promotion policy (JSON, admin-editable),
-- deployments of a model version to an environment, approvals and the per-deployment event
-- history (every status change with its reason; for a rollback the metric values and
-- thresholds). Timestamps are epoch milliseconds.
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- The seed's policies (DESIGN.md §5, issue 7). Analysis thresholds: error rate over at least
-- min_requests in the window, p99 latency in milliseconds.
INSERT INTO environments (name, policy, updated_by, updated_at) VALUES
('dev', '{"approvals_required":0,"strategy":"direct","allowed_strategies":["direct","canary","blue-green"],"canary_percent":10,"analysis":{"min_requests":20,"max_error_rate":0.05,"max_p99_ms":1000,"window_seconds":60,"interval_seconds":10},"bake_seconds":0,"replicas":1,"max_replicas":1,"smoke_test":true}', 'system', 0),
('staging', '{"approvals_required":1,"strategy":"canary","allowed_strategies":["canary","blue-green"],"canary_percent":10,"analysis":{"min_requests":50,"max_error_rate":0.05,"max_p99_ms":500,"window_seconds":300,"interval_seconds":30},"bake_seconds":0,"replicas":2,"max_replicas":2,"smoke_test":true}', 'system', 0),
('prod', '{"approvals_required":2,"strategy":"blue-green","allowed_strategies":["blue-green"],"canary_percent":10,"analysis":{"min_requests":100,"max_error_rate":0.01,"max_p99_ms":500,"window_seconds":300,"interval_seconds":30},"bake_seconds":600,"replicas":3,"max_replicas":10,"smoke_test":true}', 'system', 0);

-- active = 1 from the request until a terminal status (LIVE, ROLLED_BACK, FAILED, REJECTED):
-- the partial unique index lets one deployment at a time change a project's environment, on
-- both backends and across control-plane processes sharing the database.
CREATE TABLE deployments (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  model_name TEXT NOT NULL,
  model_version BIGINT NOT NULL,
  alias TEXT NOT NULL DEFAULT '',
  environment TEXT NOT NULL REFERENCES environments(name),
  strategy TEXT NOT NULL,
  status TEXT NOT NULL,
  active INTEGER NOT NULL,
  weights TEXT NOT NULL DEFAULT '{}',
  slot TEXT NOT NULL DEFAULT '',
  previous_slot TEXT NOT NULL DEFAULT '',
  previous_deployment_id TEXT NOT NULL DEFAULT '',
  superseded_by TEXT NOT NULL DEFAULT '',
  approvals_required INTEGER NOT NULL,
  policy TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX deployments_one_active ON deployments (project_id, environment) WHERE active = 1;
CREATE INDEX deployments_by_project ON deployments (project_id, environment, id);

CREATE TABLE deployment_approvals (
  deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  username TEXT NOT NULL,
  decision TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (deployment_id, username)
);

CREATE TABLE deployment_events (
  id TEXT PRIMARY KEY,
  deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  reason TEXT NOT NULL,
  details TEXT NOT NULL DEFAULT '{}',
  actor TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX deployment_events_by_deployment ON deployment_events (deployment_id, id);
