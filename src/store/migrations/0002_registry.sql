-- Model registry: registered models, versions, tags, aliases (MLflow's model, plus lineage).
-- Model names are unique across projects: MLflow clients address a model by name alone.
-- Models created through the MLflow API belong to the project named `default`.
CREATE TABLE registered_models (
  id TEXT PRIMARY KEY,
  project_id TEXT NOT NULL REFERENCES projects(id),
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL DEFAULT '',
  -- Highest version number ever assigned: numbers are never reused after a delete.
  last_version INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX registered_models_project ON registered_models(project_id, name);
CREATE INDEX registered_models_updated ON registered_models(updated_at);
CREATE INDEX registered_models_created ON registered_models(created_at);

CREATE TABLE model_versions (
  model_id TEXT NOT NULL REFERENCES registered_models(id),
  version INTEGER NOT NULL,
  source TEXT NOT NULL,
  run_id TEXT NOT NULL DEFAULT '',
  run_link TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  current_stage TEXT NOT NULL DEFAULT 'None',
  status TEXT NOT NULL DEFAULT 'READY',
  status_message TEXT NOT NULL DEFAULT '',
  flavor TEXT NOT NULL DEFAULT '',
  -- JSON texts; '' means unset.
  signature TEXT NOT NULL DEFAULT '',
  metrics TEXT NOT NULL DEFAULT '',
  git_commit TEXT NOT NULL DEFAULT '',
  dataset_digests TEXT NOT NULL DEFAULT '',
  file_digests TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_run ON model_versions(run_id);
CREATE INDEX model_versions_stage ON model_versions(model_id, current_stage, version);
CREATE INDEX model_versions_updated ON model_versions(updated_at);

-- Keyed by (model, version) first: MLflow's (key, name, version) primary key made per-version
-- tag lookups scan every tag row.
CREATE TABLE registered_model_tags (
  model_id TEXT NOT NULL REFERENCES registered_models(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE INDEX registered_model_tags_kv ON registered_model_tags(key, value);

CREATE TABLE model_version_tags (
  model_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, version, key),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
);
CREATE INDEX model_version_tags_kv ON model_version_tags(key, value);

CREATE TABLE registered_model_aliases (
  model_id TEXT NOT NULL REFERENCES registered_models(id),
  alias TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (model_id, alias),
  FOREIGN KEY (model_id, version) REFERENCES model_versions(model_id, version)
);
CREATE INDEX registered_model_aliases_version ON registered_model_aliases(model_id, version);
