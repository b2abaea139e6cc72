-- Monitoring: drift monitors and their reports, alarm rules with their state and alerts.
-- A monitor watches a registered model version (model_name + model_version) or a deployment
-- (deployment_id; deployments are their own aggregate and are not referenced by a foreign key
-- so a monitor may be set up before its deployment exists).
CREATE TABLE monitors (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  model_name TEXT NOT NULL DEFAULT '',
  model_version TEXT NOT NULL DEFAULT '',
  deployment_id TEXT NOT NULL DEFAULT '',
  -- The reference dataset: an artifact path (CSV) and the profile computed from it once.
  reference_path TEXT NOT NULL,
  reference_sha256 TEXT NOT NULL DEFAULT '',
  reference_rows BIGINT NOT NULL DEFAULT 0,
  profile TEXT NOT NULL,
  -- Current data: 'prediction_log' (a prefix of NDJSON files) or 'csv' (one artifact).
  current_kind TEXT NOT NULL,
  current_path TEXT NOT NULL,
  -- A serving endpoint's Prometheus /metrics, for the latency and error-rate rules; '' = none.
  metrics_url TEXT NOT NULL DEFAULT '',
  schedule TEXT NOT NULL DEFAULT 'manual',
  interval_seconds BIGINT NOT NULL DEFAULT 0,
  -- Drift options as JSON: method, threshold, drift_share, features (per-feature overrides).
  options TEXT NOT NULL DEFAULT '{}',
  next_run_at BIGINT NOT NULL DEFAULT 0,
  last_run_at BIGINT NOT NULL DEFAULT 0,
  last_status TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (project_id, name)
);
CREATE INDEX monitors_due ON monitors(interval_seconds, next_run_at);

CREATE TABLE drift_reports (
  id TEXT PRIMARY KEY,
  monitor_id TEXT NOT NULL REFERENCES monitors(id),
  status TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  dataset_drift INTEGER NOT NULL DEFAULT 0,
  drift_share DOUBLE PRECISION NOT NULL DEFAULT 0,
  drifted_features INTEGER NOT NULL DEFAULT 0,
  total_features INTEGER NOT NULL DEFAULT 0,
  current_rows BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  report TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX drift_reports_monitor ON drift_reports(monitor_id, created_at, id);

-- One row per feature per report: the time series the UI charts without parsing reports.
CREATE TABLE drift_feature_scores (
  report_id TEXT NOT NULL REFERENCES drift_reports(id),
  monitor_id TEXT NOT NULL,
  feature TEXT NOT NULL,
  method TEXT NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  drifted INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (report_id, feature)
);
CREATE INDEX drift_feature_scores_series ON drift_feature_scores(monitor_id, feature, created_at);

CREATE TABLE alarm_rules (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  monitor_id TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  webhook_url TEXT NOT NULL DEFAULT '',
  -- AES-256-GCM sealed (monitors/secret_box.h); '' = no signing secret.
  webhook_secret TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'INSUFFICIENT_DATA',
  state_value DOUBLE PRECISION NOT NULL DEFAULT 0,
  state_reason TEXT NOT NULL DEFAULT '',
  state_changed_at BIGINT NOT NULL DEFAULT 0,
  acknowledged_by TEXT NOT NULL DEFAULT '',
  acknowledged_at BIGINT NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX alarm_rules_project ON alarm_rules(project_id, id);
CREATE INDEX alarm_rules_monitor ON alarm_rules(monitor_id, id);

-- An alert: one state transition of a rule, with the outcome of its notification.
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL REFERENCES alarm_rules(id),
  monitor_id TEXT NOT NULL DEFAULT '',
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  notification TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX alerts_rule ON alerts(rule_id, created_at, id);
