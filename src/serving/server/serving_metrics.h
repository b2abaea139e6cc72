#pragma once

#include <array>
#include <atomic>
#include <string>

#include "common/metrics.h"

namespace studio::serving {

// The serve-model metrics. Hot-path counters are resolved once and cached, so a request pays
// a few atomic adds, not a registry lookup.
class ServingMetrics {
 public:
  enum Route { kPredict, kInvocations, kBatch, kOipInfer, kOther, kRouteCount };
  static constexpr const char* kRouteNames[kRouteCount] = {"/predict", "/invocations",
                                                           "/batch-predict", "/v2/infer", "other"};

  ServingMetrics();
  void ObserveRequest(Route route, int status, double seconds);
  void AddPredictions(int64_t rows) { predictions_->Inc(static_cast<double>(rows)); }
  void AddBatchRows(int64_t rows) { batch_rows_->Inc(static_cast<double>(rows)); }
  void SetModel(const std::string& name, const std::string& version, const std::string& flavor,
                const std::string& engine, double load_seconds);
  void CountReload(bool ok);
  // XGBoost load-time check of the native engine against libxgboost.
  void SetEngineCheck(double rows, double mismatched);
  void SetInflight(double v) { inflight_->Set(v); }
  void SetOverloadRejections(double v) { overload_->Set(v); }
  void SetPredictionLog(double written, double dropped);
  metrics::Registry& registry() { return registry_; }
  std::string Render();

 private:
  metrics::Counter& Code(Route route, int status);

  metrics::Registry registry_;
  std::array<metrics::Histogram*, kRouteCount> latency_{};
  // [route][status - 100], filled on first use.
  std::array<std::array<std::atomic<metrics::Counter*>, 500>, kRouteCount> codes_{};
  metrics::Counter* predictions_;
  metrics::Counter* batch_rows_;
  metrics::Gauge* load_seconds_;
  metrics::Gauge* inflight_;
  metrics::Gauge* overload_;
  metrics::Gauge* log_written_;
  metrics::Gauge* log_dropped_;
  metrics::Gauge* model_info_ = nullptr;
};

}  // namespace studio::serving
