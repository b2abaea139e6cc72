-- Pipelines (spec and validation): per-project policy and node locks. A lock pins one stage
-- of a pipeline (project + metadata.name + stage id) to the hash of its definition; the
-- definition is kept so a changed stage can be reported field by field. An approved unlock
-- (unlock_approved_by set) lets a changed definition validate until the stage is locked again.
CREATE TABLE pipeline_policies (
  project_id TEXT PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
  allow_command_stages INTEGER NOT NULL DEFAULT 0,
  updated_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE pipeline_stage_locks (
  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  pipeline TEXT NOT NULL,
  stage_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  definition TEXT NOT NULL,
  locked_by TEXT NOT NULL,
  locked_at BIGINT NOT NULL,
  unlock_approved_by TEXT NOT NULL DEFAULT '',
  unlock_reason TEXT NOT NULL DEFAULT '',
  unlocked_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (project_id, pipeline, stage_id)
);
