#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"

namespace studio::monitors {

// Who a drift result is about.
struct MonitorLabels {
  std::string monitor_id;
  std::string monitor;  // name
  std::string model;
  std::string version;
  std::string deployment;
};

struct FeatureScore {
  std::string feature;
  std::string method;
  double score = 0;
  bool drift = false;
};

struct DriftPoint {
  MonitorLabels labels;
  int64_t ts_ms = 0;
  std::vector<FeatureScore> features;
  double share = 0;  // drifted / evaluated
  bool dataset_drift = false;
};

struct AlarmPoint {
  std::string rule_id;
  std::string rule;  // name
  std::string kind;
  std::string monitor_id;
  std::string state;  // OK | ALARM | INSUFFICIENT_DATA
  int64_t ts_ms = 0;
};

// Concept drift: model-quality metrics of the latest labelled window.
struct PerformanceMetric {
  std::string metric;  // accuracy, f1, roc_auc, mae, rmse
  double value = 0;
  bool degraded = false;
};
struct PerformancePoint {
  MonitorLabels labels;
  int64_t ts_ms = 0;
  std::vector<PerformanceMetric> metrics;
};

// Where monitoring results are published (DESIGN.md §3: two real implementations).
class MetricSink {
 public:
  virtual ~MetricSink() = default;
  virtual void RecordDrift(const DriftPoint& p) = 0;
  virtual void RecordAlarm(const AlarmPoint& p) = 0;
  virtual void RecordPerformance(const PerformancePoint& p) = 0;
};

// Gauges on the control plane's /metrics:
//   studio_feature_drift_score{monitor,model,version,deployment,feature,method}
//   studio_feature_drift_detected{...same}            1 when the feature drifted
//   studio_dataset_drift_share{monitor,model,version,deployment}
//   studio_dataset_drift_detected{...same}
//   studio_alarm_state{rule,rule_id,kind,monitor,state}  1 for the current state, 0 otherwise
//   studio_model_performance{monitor,model,version,deployment,metric}
//   studio_model_performance_degraded{...same}       1 when worse than the baseline allows
class PrometheusSink final : public MetricSink {
 public:
  explicit PrometheusSink(metrics::Registry& registry) : registry_(registry) {}
  void RecordDrift(const DriftPoint& p) override;
  void RecordAlarm(const AlarmPoint& p) override;
  void RecordPerformance(const PerformancePoint& p) override;

 private:
  metrics::Registry& registry_;
};

// CloudWatch Embedded Metric Format (reference/deploy_cicd_aws.md §5): one JSON object per
// line, written to stdout or appended to a file that the CloudWatch agent / Fluent Bit / the
// awslogs driver ships. Non-finite values are left out (CloudWatch rejects them).
class EmfSink final : public MetricSink {
 public:
  // `output`: "stdout" or a file path.
  static Result<std::unique_ptr<EmfSink>> Create(const std::string& output,
                                                 const std::string& namespace_name);
  ~EmfSink() override;
  void RecordDrift(const DriftPoint& p) override;
  void RecordAlarm(const AlarmPoint& p) override;
  void RecordPerformance(const PerformancePoint& p) override;

  // The EMF event for one feature / the dataset / an alarm (exposed for the tests).
  std::string FeatureEvent(const DriftPoint& p, const FeatureScore& f) const;
  std::string DatasetEvent(const DriftPoint& p) const;
  std::string AlarmEvent(const AlarmPoint& p) const;
  std::string PerformanceEvent(const PerformancePoint& p, const PerformanceMetric& m) const;

 private:
  EmfSink(std::FILE* out, bool owned, std::string ns)
      : out_(out), owned_(owned), namespace_(std::move(ns)) {}
  void WriteLines(const std::vector<std::string>& lines);

  std::mutex mu_;
  std::FILE* out_;
  bool owned_;
  std::string namespace_;
};

// Fans out to every sink.
class MultiSink final : public MetricSink {
 public:
  void Add(std::unique_ptr<MetricSink> sink) { sinks_.push_back(std::move(sink)); }
  void RecordDrift(const DriftPoint& p) override {
    for (auto& s : sinks_) s->RecordDrift(p);
  }
  void RecordAlarm(const AlarmPoint& p) override {
    for (auto& s : sinks_) s->RecordAlarm(p);
  }
  void RecordPerformance(const PerformancePoint& p) override {
    for (auto& s : sinks_) s->RecordPerformance(p);
  }

 private:
  std::vector<std::unique_ptr<MetricSink>> sinks_;
};

}  // namespace studio::monitors
