-- MLflow tracking: experiments and runs with their params, metrics (full history plus the
-- latest value per key) and tags (mlflow/protos/service.proto). Ids are MLflow's: experiment
-- ids are integers (sent as strings), run ids 32 hex digits.
CREATE TABLE experiments (
  experiment_id BIGINT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  artifact_location TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  creation_time BIGINT NOT NULL,
  last_update_time BIGINT NOT NULL
);

CREATE TABLE experiment_tags (
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (experiment_id, key)
);

-- Allocating ids under this row's lock serializes concurrent creates on PostgreSQL too.
CREATE TABLE tracking_counters (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO tracking_counters (name, value) VALUES ('experiment', 0);

-- MLflow clients log to experiment 0 when none is set.
INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time,
                         last_update_time)
  VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);

CREATE TABLE runs (
  run_uuid TEXT PRIMARY KEY,
  experiment_id BIGINT NOT NULL REFERENCES experiments(experiment_id),
  run_name TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  start_time BIGINT NOT NULL,
  end_time BIGINT NOT NULL DEFAULT 0,
  artifact_uri TEXT NOT NULL,
  lifecycle_stage TEXT NOT NULL DEFAULT 'active',
  deleted_time BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX runs_experiment_start ON runs(experiment_id, start_time);

CREATE TABLE run_params (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);

CREATE TABLE run_tags (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE INDEX run_tags_kv ON run_tags(key, value);

CREATE TABLE run_metrics (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  timestamp BIGINT NOT NULL,
  step BIGINT NOT NULL
);
CREATE INDEX run_metrics_history ON run_metrics(run_uuid, key, step, timestamp);

-- The value with the highest (step, timestamp) per key: what runs/get and search show.
CREATE TABLE run_latest_metrics (
  run_uuid TEXT NOT NULL REFERENCES runs(run_uuid),
  key TEXT NOT NULL,
  value DOUBLE PRECISION NOT NULL,
  timestamp BIGINT NOT NULL,
  step BIGINT NOT NULL,
  PRIMARY KEY (run_uuid, key)
);
CREATE INDEX run_latest_metrics_kv ON run_latest_metrics(key, value);
