#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "monitors/alarm.h"
#include "monitors/egress.h"
#include "monitors/metric_sink.h"
#include "monitors/secret_box.h"
#include "store/metadata_store.h"
#include "store/monitors_repo.h"

namespace studio::artifacts {
class ArtifactStore;
}
namespace studio::monitoring {
struct Dataset;
}
namespace studio::monitors::internal {
struct PerformanceResult;
}

namespace studio::monitors {

struct Actor {
  std::string username;  // "system" for the scheduler
  std::string request_id;
};

struct ServiceOptions {
  store::MetadataStore* store = nullptr;          // not owned
  artifacts::ArtifactStore* artifacts = nullptr;  // not owned
  std::string data_dir;                           // for the secrets key
  std::vector<std::string> allowed_webhook_hosts;
  metrics::Registry* registry = nullptr;  // Prometheus gauges; null = none
  std::string emf_output;                 // CloudWatch EMF: "" off, "stdout" or a file path
  std::string emf_namespace = "MLOpsStudio/Monitoring";
  bool scheduler = true;  // run scheduled checks in a background thread
  int scheduler_tick_ms = 1000;
  long webhook_timeout_ms = 5000;
  long metrics_timeout_ms = 3000;
};

// Monitors, their drift reports, alarm rules and notifications: what the /api/v1/monitors and
// /api/v1/alarms routes call. Inputs are the request's JSON bodies (validated here, with
// per-field details); outputs are the wire JSON (docs/api.md "Monitoring").
class MonitorService {
 public:
  static Result<std::unique_ptr<MonitorService>> Create(ServiceOptions options);
  ~MonitorService();  // stops and joins the scheduler

  // -- monitors
  Result<nlohmann::json> CreateMonitor(const Actor& actor, const nlohmann::json& body);
  Result<nlohmann::json> GetMonitor(const std::string& id);
  // {"items","next_page_token"}; `project` is an id or name ('' = all).
  Result<nlohmann::json> ListMonitors(const std::string& project, const std::string& after,
                                      int limit);
  Result<nlohmann::json> UpdateMonitor(const Actor& actor, const std::string& id,
                                       const nlohmann::json& body);
  Status DeleteMonitor(const Actor& actor, const std::string& id);
  // Runs one check now; the stored report with the alarm transitions it caused.
  Result<nlohmann::json> RunMonitor(const Actor& actor, const std::string& id,
                                    const std::string& trigger);
  Result<nlohmann::json> ListReports(const std::string& monitor_id, const std::string& before,
                                     int limit);
  Result<nlohmann::json> GetReport(const std::string& monitor_id, const std::string& report_id);
  // Ground-truth labels for served predictions: {"labels": [{"request_id", "label", "ts"?}]},
  // at most 1000; a request id labelled again is replaced (last write wins). One audit event.
  Result<nlohmann::json> PostLabels(const Actor& actor, const std::string& id,
                                    const nlohmann::json& body);
  // Per-feature score series for charts.
  Result<nlohmann::json> FeatureSeries(const std::string& monitor_id, const std::string& feature,
                                       int64_t since, int limit);

  // -- alarm rules
  Result<nlohmann::json> CreateRule(const Actor& actor, const nlohmann::json& body);
  Result<nlohmann::json> GetRule(const std::string& id);
  Result<nlohmann::json> ListRules(const std::string& project, const std::string& monitor_id,
                                   const std::string& after, int limit);
  Result<nlohmann::json> UpdateRule(const Actor& actor, const std::string& id,
                                    const nlohmann::json& body);
  Status DeleteRule(const Actor& actor, const std::string& id);
  Result<nlohmann::json> AckRule(const Actor& actor, const std::string& id,
                                 const nlohmann::json& body);
  Result<nlohmann::json> ListAlerts(const std::string& rule_id, const std::string& before,
                                    int limit);

  // One scheduler pass: runs every due monitor (also what the thread calls). Returns how many.
  int RunDue();

 private:
  explicit MonitorService(ServiceOptions options, SecretBox box);
  struct Transition {
    store::AlarmRuleRecord rule;
    std::string from;
    std::string alert_id;
    std::string reason;
  };
  Result<std::string> ResolveProject(const std::string& id_or_name);
  // Reads the reference artifact and builds its profile into `m`.
  Status ProfileReference(store::MonitorRecord& m);
  Observation ServingObservation(const store::MonitorRecord& m);
  // Concept drift (performance_check.cc): the `performance` option's metrics of labelled
  // predictions, and its baseline from the reference's label and prediction columns.
  internal::PerformanceResult CheckPerformance(const store::MonitorRecord& m,
                                               const nlohmann::json& config);
  Status ReferenceBaseline(store::MonitorRecord& m, const monitoring::Dataset& reference);
  void Notify(const Transition& t, const store::MonitorRecord* m, const std::string& report_id);
  void PublishRule(const store::AlarmRuleRecord& r);
  void RestoreMetrics();
  void SchedulerLoop(std::stop_token stop);

  ServiceOptions options_;
  SecretBox box_;
  MultiSink sinks_;
  MetricSink* sink_ = nullptr;            // &sinks_ when any sink is configured
  PrometheusSink* prometheus_ = nullptr;  // owned by sinks_
  EgressPolicy webhook_policy_;
  EgressPolicy metrics_policy_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread scheduler_;  // last: joined before the members above go away
};

}  // namespace studio::monitors
