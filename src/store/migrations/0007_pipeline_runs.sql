-- Pipeline runs (issue 6, local executor): registered specs per project with versions, runs
-- with a snapshot of the spec they run, one row per stage run (the scheduler's state machine)
-- and one row per attempt (its log artifact, exit code and duration). Timestamps are epoch ms;
-- JSON columns are text. The same SQL runs on SQLite and PostgreSQL.
CREATE TABLE pipeline_specs (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  spec_yaml TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, name, version)
);

-- status: queued | running | succeeded | failed | cancelled; executor: local | aws.
CREATE TABLE pipeline_runs (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  pipeline TEXT NOT NULL,
  pipeline_version INTEGER NOT NULL DEFAULT 0,
  spec_yaml TEXT NOT NULL,
  status TEXT NOT NULL,
  executor TEXT NOT NULL,
  execution_handle TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL,
  git_sha TEXT NOT NULL DEFAULT '',
  noop INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pipeline_runs_project ON pipeline_runs (project_id, id);
CREATE INDEX pipeline_runs_status ON pipeline_runs (status, id);

-- status: pending | queued | running | succeeded | failed | cancelled | skipped.
-- attempt is the number of the latest attempt (0 before the first); max_attempts is the
-- stage's retry budget for this run. claimed_by names the scheduler or worker running it,
-- pgid the child's process group (its pid: the child is a session leader).
CREATE TABLE stage_runs (
  run_id TEXT NOT NULL REFERENCES pipeline_runs(id) ON DELETE CASCADE,
  stage_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  type TEXT NOT NULL,
  needs TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 1,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  claimed_by TEXT NOT NULL DEFAULT '',
  pgid BIGINT NOT NULL DEFAULT 0,
  heartbeat_at BIGINT NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  exit_code INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '',
  outputs TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, stage_id)
);
CREATE INDEX stage_runs_status ON stage_runs (status, next_attempt_at);

-- status: running | succeeded | failed | timed_out | cancelled | interrupted.
-- token_id is the short-lived API token the attempt's process acts with (revoked at its end);
-- log_local the growing log file while it runs, log_path the artifact once it ended.
CREATE TABLE stage_attempts (
  run_id TEXT NOT NULL,
  stage_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  claimed_by TEXT NOT NULL DEFAULT '',
  token_id TEXT NOT NULL DEFAULT '',
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0,
  duration_ms BIGINT NOT NULL DEFAULT 0,
  exit_code INTEGER NOT NULL DEFAULT -1,
  error TEXT NOT NULL DEFAULT '',
  reported INTEGER NOT NULL DEFAULT 0,
  outputs TEXT NOT NULL DEFAULT '{}',
  log_local TEXT NOT NULL DEFAULT '',
  log_path TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, stage_id, attempt),
  FOREIGN KEY (run_id, stage_id) REFERENCES stage_runs (run_id, stage_id) ON DELETE CASCADE
);
