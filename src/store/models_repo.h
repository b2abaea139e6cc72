#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of the model registry (migration 0002). Timestamps are epoch milliseconds; JSON columns
// are text, '' when unset.
struct ModelVersionRecord {
  std::string model_id;
  std::string name;  // the registered model's name (joined, not stored)
  int64_t version = 0;
  std::string source;
  std::string run_id;
  std::string run_link;
  std::string description;
  std::string current_stage = "None";
  std::string status = "READY";
  std::string status_message;
  std::string flavor;
  std::string signature_json;
  std::string metrics_json;
  std::string git_commit;
  std::string dataset_digests_json;
  std::string file_digests_json;
  std::string user_id;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  // Filled by LoadVersionExtras.
  std::map<std::string, std::string> tags;
  std::vector<std::string> aliases;
};

struct ModelRecord {
  std::string id;
  std::string project_id;
  std::string name;
  std::string description;
  std::string user_id;
  int64_t last_version = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  // Filled by LoadModelExtras.
  std::map<std::string, std::string> tags;
  std::vector<std::pair<std::string, int64_t>> aliases;  // alias → version, by alias
  std::vector<ModelVersionRecord> latest_versions;       // highest version per stage
};

// A compiled search: a WHERE fragment with named placeholders (:p0, :p1, ...) and its values.
// Values are always bound, never spliced into the SQL text.
struct SqlParam {
  std::string name;
  bool is_int = false;
  std::string text;
  long long number = 0;
};
struct SqlQuery {
  std::string where = "1 = 1";  // over aliases m (registered_models) and v (model_versions)
  std::vector<SqlParam> params;
  std::string order_by;  // e.g. "m.name ASC"; the repository adds its tiebreakers
};

class Models {
 public:
  explicit Models(Tx& tx) : tx_(tx) {}

  // The project named `name`, created (owned by `owner`) when missing; `*created` tells.
  Result<std::string> EnsureProject(const std::string& name, const std::string& owner, int64_t now,
                                    bool* created);
  Result<int64_t> CountInProject(const std::string& project_id);

  Status InsertModel(const ModelRecord& m);
  Result<ModelRecord> GetModel(const std::string& name);  // by name
  Result<ModelRecord> GetModelById(const std::string& id);
  // Writes name, description, updated_at.
  Status UpdateModel(const ModelRecord& m);
  Status TouchModel(const std::string& model_id, int64_t now);
  // Deletes the model with its versions, tags and aliases.
  Status DeleteModel(const std::string& model_id);
  Result<std::vector<ModelRecord>> SearchModels(const SqlQuery& q, int limit, int64_t offset);
  // Tags, aliases and latest versions per stage for all of `models` in a fixed few queries.
  Status LoadModelExtras(std::vector<ModelRecord>& models);

  Status SetModelTag(const std::string& model_id, const std::string& key, const std::string& value);
  // false when there was no such tag.
  Result<bool> DeleteModelTag(const std::string& model_id, const std::string& key);

  // Reserves the next version number of the model.
  Result<int64_t> NextVersion(const std::string& model_id);
  Status InsertVersion(const ModelVersionRecord& v);
  Result<ModelVersionRecord> GetVersion(const ModelRecord& m, int64_t version);
  // Writes description, current_stage, status, status_message, updated_at.
  Status UpdateVersion(const ModelVersionRecord& v);
  // Also drops its tags and the aliases pointing at it.
  Status DeleteVersion(const std::string& model_id, int64_t version);
  // Versions of the model in `stage` other than `except`, for archive_existing_versions.
  Result<std::vector<int64_t>> VersionsInStage(const std::string& model_id,
                                               const std::string& stage, int64_t except);
  Result<std::vector<ModelVersionRecord>> SearchVersions(const SqlQuery& q, int limit,
                                                         int64_t offset);
  Status LoadVersionExtras(std::vector<ModelVersionRecord>& versions);

  Status SetVersionTag(const std::string& model_id, int64_t version, const std::string& key,
                       const std::string& value);
  Result<bool> DeleteVersionTag(const std::string& model_id, int64_t version,
                                const std::string& key);

  // Overwrites an existing alias.
  Status SetAlias(const std::string& model_id, const std::string& alias, int64_t version);
  Result<bool> DeleteAlias(const std::string& model_id, const std::string& alias);
  // 0 when the alias does not exist.
  Result<int64_t> GetAlias(const std::string& model_id, const std::string& alias);

 private:
  Tx& tx_;
};

}  // namespace studio::store
