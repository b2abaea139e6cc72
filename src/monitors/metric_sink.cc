#include "monitors/metric_sink.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace studio::monitors {
namespace {

metrics::Labels Base(const MonitorLabels& l) {
  return {{"monitor", l.monitor},
          {"model", l.model},
          {"version", l.version},
          {"deployment", l.deployment}};
}

}  // namespace

void PrometheusSink::RecordDrift(const DriftPoint& p) {
  for (const auto& f : p.features) {
    metrics::Labels labels = Base(p.labels);
    labels.push_back({"feature", f.feature});
    labels.push_back({"method", f.method});
    registry_
        .GetGauge("studio_feature_drift_score",
                  "Latest drift score per feature (a p-value for ks/chisquare/z, else a distance)",
                  labels)
        .Set(f.score);
    registry_
        .GetGauge("studio_feature_drift_detected", "1 when the feature drifted in the latest check",
                  labels)
        .Set(f.drift ? 1 : 0);
  }
  registry_
      .GetGauge("studio_dataset_drift_share",
                "Share of evaluated features that drifted in the latest check", Base(p.labels))
      .Set(p.share);
  registry_
      .GetGauge("studio_dataset_drift_detected",
                "1 when the latest check found dataset drift (share >= drift_share)",
                Base(p.labels))
      .Set(p.dataset_drift ? 1 : 0);
}

void PrometheusSink::RecordAlarm(const AlarmPoint& p) {
  for (const char* state : {"OK", "ALARM", "INSUFFICIENT_DATA"}) {
    registry_
        .GetGauge("studio_alarm_state", "Alarm rule state: 1 for the current state, else 0",
                  {{"rule", p.rule},
                   {"rule_id", p.rule_id},
                   {"kind", p.kind},
                   {"monitor", p.monitor_id},
                   {"state", state}})
        .Set(p.state == state ? 1 : 0);
  }
}

void PrometheusSink::RecordPerformance(const PerformancePoint& p) {
  for (const auto& m : p.metrics) {
    metrics::Labels labels = Base(p.labels);
    labels.push_back({"metric", m.metric});
    registry_
        .GetGauge("studio_model_performance",
                  "Model quality of the latest labelled window (accuracy, f1, roc_auc, mae, rmse)",
                  labels)
        .Set(m.value);
    registry_
        .GetGauge(
            "studio_model_performance_degraded",
            "1 when the metric is worse than its baseline by more than the allowed degradation",
            labels)
        .Set(m.degraded ? 1 : 0);
  }
}

Result<std::unique_ptr<EmfSink>> EmfSink::Create(const std::string& output,
                                                 const std::string& namespace_name) {
  if (output == "stdout")
    return std::unique_ptr<EmfSink>(new EmfSink(stdout, false, namespace_name));
  std::FILE* f = std::fopen(output.c_str(), "ae");
  if (!f) return InvalidArgument("cannot open the EMF output file '" + output + "'");
  return std::unique_ptr<EmfSink>(new EmfSink(f, true, namespace_name));
}

EmfSink::~EmfSink() {
  if (owned_ && out_) std::fclose(out_);
}

namespace {
// The MonitorLabels as dimension members; the dimension set names the non-empty ones (a
// CloudWatch dimension value must be 1-1024 characters).
void Dimensions(const MonitorLabels& l, nlohmann::json& event, nlohmann::json& set) {
  auto add = [&](const char* key, const std::string& v) {
    if (v.empty()) return;
    event[key] = v.substr(0, 1024);
    set.push_back(key);
  };
  add("Monitor", l.monitor);
  add("Model", l.model);
  add("Version", l.version);
  add("Deployment", l.deployment);
}

nlohmann::json Envelope(int64_t ts, const std::string& ns, const nlohmann::json& dims,
                        const nlohmann::json& metrics) {
  return {
      {"Timestamp", ts},
      {"CloudWatchMetrics",
       nlohmann::json::array({{{"Namespace", ns}, {"Dimensions", dims}, {"Metrics", metrics}}})}};
}
}  // namespace

std::string EmfSink::FeatureEvent(const DriftPoint& p, const FeatureScore& f) const {
  nlohmann::json event = nlohmann::json::object();
  nlohmann::json set = nlohmann::json::array();
  Dimensions(p.labels, event, set);
  event["Feature"] = f.feature.substr(0, 1024);
  set.push_back("Feature");
  event["Method"] = f.method;  // a plain member: not a dimension (cardinality)
  event["MonitorId"] = p.labels.monitor_id;
  event["FeatureDriftScore"] = f.score;
  event["FeatureDriftDetected"] = f.drift ? 1 : 0;
  event["_aws"] =
      Envelope(p.ts_ms, namespace_, nlohmann::json::array({set}),
               nlohmann::json::array({{{"Name", "FeatureDriftScore"}, {"Unit", "None"}},
                                      {{"Name", "FeatureDriftDetected"}, {"Unit", "Count"}}}));
  return event.dump();
}

std::string EmfSink::DatasetEvent(const DriftPoint& p) const {
  nlohmann::json event = nlohmann::json::object();
  nlohmann::json set = nlohmann::json::array();
  Dimensions(p.labels, event, set);
  event["MonitorId"] = p.labels.monitor_id;
  event["DatasetDriftShare"] = p.share;
  event["DatasetDriftDetected"] = p.dataset_drift ? 1 : 0;
  event["_aws"] =
      Envelope(p.ts_ms, namespace_, nlohmann::json::array({set}),
               nlohmann::json::array({{{"Name", "DatasetDriftShare"}, {"Unit", "None"}},
                                      {{"Name", "DatasetDriftDetected"}, {"Unit", "Count"}}}));
  return event.dump();
}

std::string EmfSink::AlarmEvent(const AlarmPoint& p) const {
  // 0 OK, 1 ALARM, 2 INSUFFICIENT_DATA: one metric CloudWatch alarms can threshold on.
  int value = p.state == "OK" ? 0 : p.state == "ALARM" ? 1 : 2;
  nlohmann::json event = {
      {"Rule", p.rule.substr(0, 1024)}, {"RuleKind", p.kind}, {"RuleId", p.rule_id},
      {"MonitorId", p.monitor_id},      {"State", p.state},   {"AlarmState", value}};
  event["_aws"] = Envelope(p.ts_ms, namespace_, nlohmann::json::array({{"Rule", "RuleKind"}}),
                           nlohmann::json::array({{{"Name", "AlarmState"}, {"Unit", "None"}}}));
  return event.dump();
}

std::string EmfSink::PerformanceEvent(const PerformancePoint& p, const PerformanceMetric& m) const {
  nlohmann::json event = nlohmann::json::object();
  nlohmann::json set = nlohmann::json::array();
  Dimensions(p.labels, event, set);
  event["Metric"] = m.metric;
  set.push_back("Metric");
  event["MonitorId"] = p.labels.monitor_id;
  event["ModelPerformance"] = m.value;
  event["ModelPerformanceDegraded"] = m.degraded ? 1 : 0;
  event["_aws"] =
      Envelope(p.ts_ms, namespace_, nlohmann::json::array({set}),
               nlohmann::json::array({{{"Name", "ModelPerformance"}, {"Unit", "None"}},
                                      {{"Name", "ModelPerformanceDegraded"}, {"Unit", "Count"}}}));
  return event.dump();
}

void EmfSink::RecordPerformance(const PerformancePoint& p) {
  std::vector<std::string> lines;
  for (const auto& m : p.metrics)
    if (std::isfinite(m.value)) lines.push_back(PerformanceEvent(p, m));
  WriteLines(lines);
}

void EmfSink::RecordDrift(const DriftPoint& p) {
  std::vector<std::string> lines;
  for (const auto& f : p.features)
    if (std::isfinite(f.score)) lines.push_back(FeatureEvent(p, f));
  if (std::isfinite(p.share)) lines.push_back(DatasetEvent(p));
  WriteLines(lines);
}

void EmfSink::RecordAlarm(const AlarmPoint& p) { WriteLines({AlarmEvent(p)}); }

void EmfSink::WriteLines(const std::vector<std::string>& lines) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& l : lines) {
    std::fwrite(l.data(), 1, l.size(), out_);
    std::fputc('\n', out_);
  }
  std::fflush(out_);
}

}  // namespace studio::monitors
