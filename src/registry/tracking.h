#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/identity.h"
#include "common/status.h"
#include "store/metadata_store.h"
#include "store/tracking_repo.h"

namespace studio::registry {

// MLflow's limits (mlflow/utils/validation.py).
inline constexpr size_t kMaxEntityKeyBytes = 250;
inline constexpr size_t kMaxParamValueBytes = 6000;
inline constexpr size_t kMaxTagValueBytes = 5000;
inline constexpr size_t kMaxBatchMetrics = 1000;
inline constexpr size_t kMaxBatchParams = 100;
inline constexpr size_t kMaxBatchTags = 100;
inline constexpr size_t kMaxBatchTotal = 1000;
inline constexpr int kMaxSearchResults = 50000;

struct KeyValue {
  std::string key;
  std::string value;
};

struct ExperimentInput {
  std::string name;
  std::optional<std::string> artifact_location;
  std::vector<KeyValue> tags;
};

struct RunInput {
  std::string experiment_id = "0";
  std::string user_id;  // ignored: runs belong to the authenticated caller
  std::string run_name;
  std::optional<int64_t> start_time;
  std::vector<KeyValue> tags;
};

struct RunUpdate {
  std::optional<std::string> status;
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;
};

struct SearchRequest {
  std::vector<std::string> experiment_ids;  // runs only
  std::string filter;
  std::string view_type = "ACTIVE_ONLY";  // ACTIVE_ONLY | DELETED_ONLY | ALL
  int max_results = 1000;
  std::vector<std::string> order_by;
  std::string page_token;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

// An experiment's artifact_location must be absent (→ mlflow-artifacts:/<id>), an
// mlflow-artifacts:/ path, or lie inside the configured artifact root. Everything else —
// file:///etc, other buckets, http://, '?'/'#' tricks, traversal in any encoding — is refused.
Status ValidateArtifactLocation(const std::string& location, const std::string& artifact_root);

// The MLflow tracking model (experiments, runs, params, metrics, tags) over the metadata store.
// Every change is audit-logged in its transaction.
class Tracking {
 public:
  Tracking(store::MetadataStore& store, std::string artifact_root)
      : store_(store), artifact_root_(std::move(artifact_root)) {}

  Result<std::string> CreateExperiment(const auth::Actor& actor, const ExperimentInput& in);
  Result<store::ExperimentRecord> GetExperiment(const std::string& experiment_id);
  Result<store::ExperimentRecord> GetExperimentByName(const std::string& name);
  Result<Page<store::ExperimentRecord>> SearchExperiments(const SearchRequest& req);
  Status SetExperimentTag(const auth::Actor& actor, const std::string& experiment_id,
                          const KeyValue& tag);
  Status RenameExperiment(const auth::Actor& actor, const std::string& experiment_id,
                          const std::string& new_name);
  // Soft delete / restore, with the experiment's runs (the Default experiment stays).
  Status SetExperimentStage(const auth::Actor& actor, const std::string& experiment_id,
                            bool deleted);

  Result<store::RunRecord> CreateRun(const auth::Actor& actor, const RunInput& in);
  Result<store::RunRecord> GetRun(const std::string& run_id);
  Result<store::RunRecord> UpdateRun(const auth::Actor& actor, const std::string& run_id,
                                     const RunUpdate& update);
  Status DeleteRun(const auth::Actor& actor, const std::string& run_id);
  Status RestoreRun(const auth::Actor& actor, const std::string& run_id);
  // Params are immutable: the same value again is a no-op, another value INVALID_PARAMETER_VALUE.
  Status LogBatch(const auth::Actor& actor, const std::string& run_id,
                  const std::vector<store::MetricRecord>& metrics,
                  const std::vector<KeyValue>& params, const std::vector<KeyValue>& tags);
  Status DeleteTag(const auth::Actor& actor, const std::string& run_id, const std::string& key);
  Result<Page<store::MetricRecord>> MetricHistory(const std::string& run_id, const std::string& key,
                                                  int max_results, const std::string& page_token);
  Result<Page<store::RunRecord>> SearchRuns(const SearchRequest& req);

 private:
  store::MetadataStore& store_;
  std::string artifact_root_;
};

}  // namespace studio::registry
