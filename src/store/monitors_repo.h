#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of migration 0004 (monitoring). Timestamps are epoch milliseconds; JSON columns are text.
struct MonitorRecord {
  std::string id;
  std::string project_id;
  std::string name;
  std::string description;
  std::string model_name;
  std::string model_version;
  std::string deployment_id;
  std::string reference_path;
  std::string reference_sha256;
  int64_t reference_rows = 0;
  std::string profile_json;
  std::string current_kind;  // "prediction_log" | "csv"
  std::string current_path;
  std::string metrics_url;
  std::string schedule = "manual";
  int64_t interval_seconds = 0;  // 0: manual
  std::string options_json = "{}";
  int64_t next_run_at = 0;
  int64_t last_run_at = 0;
  std::string last_status;
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct DriftReportRecord {
  std::string id;
  std::string monitor_id;
  std::string status;        // "succeeded" | "failed"
  std::string trigger_kind;  // "manual" | "schedule"
  bool dataset_drift = false;
  double drift_share = 0;
  int64_t drifted_features = 0;
  int64_t total_features = 0;
  int64_t current_rows = 0;
  std::string error;
  std::string report_json;  // the full per-feature report; '' in list results
  std::string created_by;
  int64_t created_at = 0;
};

struct FeatureScoreRecord {
  std::string report_id;
  std::string monitor_id;
  std::string feature;
  std::string method;
  double score = 0;
  double threshold = 0;
  bool drifted = false;
  int64_t created_at = 0;
};

struct AlarmRuleRecord {
  std::string id;
  std::string project_id;
  std::string monitor_id;  // '' = every monitor of the project
  std::string name;
  std::string kind;  // drift_share | latency_p99 | error_rate | task_failure
  double threshold = 0;
  bool enabled = true;
  std::string webhook_url;
  std::string webhook_secret_sealed;
  std::string state = "INSUFFICIENT_DATA";
  double state_value = 0;
  std::string state_reason;
  int64_t state_changed_at = 0;
  std::string acknowledged_by;
  int64_t acknowledged_at = 0;
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct AlertRecord {
  std::string id;
  std::string rule_id;
  std::string monitor_id;
  std::string from_state;
  std::string to_state;
  double value = 0;
  std::string reason;
  std::string notification;
  int64_t created_at = 0;
};

// Migration 0006: a ground-truth label for one prediction (by request id) of a monitor.
struct LabelRecord {
  std::string monitor_id;
  std::string request_id;
  std::string label_json;  // a JSON number or string
  int64_t ts = 0;
  std::string created_by;
  int64_t updated_at = 0;
};

class Monitors {
 public:
  explicit Monitors(Tx& tx) : tx_(tx) {}

  Status Insert(const MonitorRecord& m);
  Result<MonitorRecord> Get(const std::string& id);
  // Writes every mutable column (all but id, project_id, created_by, created_at).
  Status Update(const MonitorRecord& m);
  // Deletes the monitor with its reports, scores, rules and their alerts.
  Status Delete(const std::string& id);
  // Ordered by id (UUIDv7: creation order); `after` is the last id of the previous page.
  // Empty `project_id`: every project.
  Result<std::vector<MonitorRecord>> List(const std::string& project_id, const std::string& after,
                                          int limit);
  // Scheduled monitors whose next run is at or before `now`.
  Result<std::vector<MonitorRecord>> Due(int64_t now, int limit);
  // Moves next_run_at from `expected` to `next`; false when another scheduler got there first.
  Result<bool> ClaimRun(const std::string& id, int64_t expected, int64_t next);
  Status MarkRun(const std::string& id, int64_t ran_at, const std::string& status);

  Status InsertReport(const DriftReportRecord& r, const std::vector<FeatureScoreRecord>& scores);
  Result<DriftReportRecord> GetReport(const std::string& monitor_id, const std::string& report_id);
  // Newest first; `before` is the last id of the previous page ('' = from the newest).
  Result<std::vector<DriftReportRecord>> ListReports(const std::string& monitor_id,
                                                     const std::string& before, int limit);
  Result<DriftReportRecord> LatestReport(const std::string& monitor_id);
  // Oldest first, at most `limit` points per feature, optionally for one feature.
  Result<std::vector<FeatureScoreRecord>> Scores(const std::string& monitor_id,
                                                 const std::string& feature, int64_t since,
                                                 int limit);

  // Inserts or replaces (last write wins) the label of (monitor_id, request_id).
  Status UpsertLabel(const LabelRecord& l);
  // A monitor's labels, newest `ts` first, at most `limit`.
  Result<std::vector<LabelRecord>> Labels(const std::string& monitor_id, int limit);

 private:
  Tx& tx_;
};

class AlarmRules {
 public:
  explicit AlarmRules(Tx& tx) : tx_(tx) {}

  Status Insert(const AlarmRuleRecord& r);
  Result<AlarmRuleRecord> Get(const std::string& id);
  // Writes name, threshold, enabled, webhook_url, webhook_secret, updated_at.
  Status Update(const AlarmRuleRecord& r);
  // Writes the state columns and the acknowledgement.
  Status UpdateState(const AlarmRuleRecord& r);
  Status Delete(const std::string& id);
  // Filters are optional ('' = any). Ordered by id.
  Result<std::vector<AlarmRuleRecord>> List(const std::string& project_id,
                                            const std::string& monitor_id, const std::string& after,
                                            int limit);
  // The rules that apply to a monitor: its own and its project's project-wide ones.
  Result<std::vector<AlarmRuleRecord>> ForMonitor(const std::string& project_id,
                                                  const std::string& monitor_id);

  Status InsertAlert(const AlertRecord& a);
  Status SetAlertNotification(const std::string& alert_id, const std::string& notification);
  // Newest first.
  Result<std::vector<AlertRecord>> ListAlerts(const std::string& rule_id, const std::string& before,
                                              int limit);

 private:
  Tx& tx_;
};

}  // namespace studio::store
