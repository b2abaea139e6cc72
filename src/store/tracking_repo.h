#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of MLflow tracking (migration 0003). Timestamps are epoch milliseconds.
struct ExperimentRecord {
  int64_t experiment_id = 0;
  std::string name;
  std::string artifact_location;
  std::string lifecycle_stage = "active";
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::map<std::string, std::string> tags;
};

struct MetricRecord {
  std::string key;
  double value = 0;
  int64_t timestamp = 0;
  int64_t step = 0;
};

struct RunRecord {
  std::string run_uuid;
  int64_t experiment_id = 0;
  std::string run_name;
  std::string user_id;
  std::string status = "RUNNING";
  int64_t start_time = 0;
  int64_t end_time = 0;  // 0: not ended
  std::string artifact_uri;
  std::string lifecycle_stage = "active";
  // Filled by LoadRunData.
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<MetricRecord> latest_metrics;  // sorted by key
};

// A WHERE fragment over `r` (runs) or `e` (experiments) with its bound values: the SQL text is
// built only from fixed fragments; every user value is a parameter :p0, :p1, ...
struct TrackingQuery {
  std::string where = "1 = 1";
  std::vector<std::string> text_params;  // bound as :t0, :t1, ...
  std::vector<double> number_params;     // bound as :n0, :n1, ...
  std::string order_by;                  // fixed fragments only
};

class TrackingRepo {
 public:
  explicit TrackingRepo(Tx& tx) : tx_(tx) {}

  Result<int64_t> NextExperimentId();
  Status InsertExperiment(const ExperimentRecord& e);
  Result<ExperimentRecord> GetExperiment(int64_t id);
  Result<ExperimentRecord> GetExperimentByName(const std::string& name);
  Result<std::vector<ExperimentRecord>> SearchExperiments(const TrackingQuery& q, int limit,
                                                          int64_t offset);
  Status TouchExperiment(int64_t id, int64_t now);
  // Name and lifecycle stage; a taken name → ALREADY_EXISTS.
  Status UpdateExperiment(const ExperimentRecord& e);
  // Marks every run of the experiment `stage` (MLflow deletes and restores them together).
  Status SetExperimentRunsStage(int64_t id, const std::string& stage);

  Status InsertRun(const RunRecord& r);
  Result<RunRecord> GetRun(const std::string& run_uuid);  // without params/tags/metrics
  Status UpdateRun(const RunRecord& r);                   // name, status, end time, lifecycle
  Status LoadRunData(RunRecord& r);
  Result<std::vector<RunRecord>> SearchRuns(const TrackingQuery& q, int limit, int64_t offset);

  // Existing value of a param, or NOT_FOUND.
  Result<std::string> GetParam(const std::string& run_uuid, const std::string& key);
  Status InsertParam(const std::string& run_uuid, const std::string& key, const std::string& value);
  Status SetRunTag(const std::string& run_uuid, const std::string& key, const std::string& value);
  Status DeleteRunTag(const std::string& run_uuid, const std::string& key);
  Status SetExperimentTag(int64_t id, const std::string& key, const std::string& value);
  Status InsertMetric(const std::string& run_uuid, const MetricRecord& m);
  Result<std::vector<MetricRecord>> MetricHistory(const std::string& run_uuid,
                                                  const std::string& key, int limit,
                                                  int64_t offset);

 private:
  Tx& tx_;
};

}  // namespace studio::store
