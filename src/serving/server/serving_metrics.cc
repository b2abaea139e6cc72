#include "serving/server/serving_metrics.h"

namespace studio::serving {
namespace {

// Sub-millisecond resolution: single-row predictions take tens of microseconds.
std::vector<double> ServingBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   10};
}

}  // namespace

ServingMetrics::ServingMetrics() {
  for (int r = 0; r < kRouteCount; ++r)
    latency_[r] = &registry_.GetHistogram("studio_serving_request_duration_seconds",
                                          "Time from a complete request to its response",
                                          ServingBuckets(), {{"route", kRouteNames[r]}});
  predictions_ =
      &registry_.GetCounter("studio_serving_predictions_total", "Rows predicted, all routes");
  batch_rows_ =
      &registry_.GetCounter("studio_serving_batch_rows_total", "Rows predicted by /batch-predict");
  load_seconds_ = &registry_.GetGauge("studio_serving_model_load_seconds",
                                      "Seconds the current model took to load and warm up");
  inflight_ =
      &registry_.GetGauge("studio_serving_inflight_requests", "Requests read and not yet answered");
  overload_ = &registry_.GetGauge("studio_serving_overload_rejections",
                                  "Requests answered 503 because the server was saturated");
  log_written_ = &registry_.GetGauge("studio_serving_prediction_log_records",
                                     "Prediction-log records written");
  log_dropped_ = &registry_.GetGauge("studio_serving_prediction_log_dropped",
                                     "Prediction-log records dropped (queue full or write error)");
}

metrics::Counter& ServingMetrics::Code(Route route, int status) {
  if (status < 100 || status > 599) status = 500;
  auto& slot = codes_[route][status - 100];
  metrics::Counter* c = slot.load(std::memory_order_acquire);
  if (!c) {
    c = &registry_.GetCounter("studio_serving_requests_total", "HTTP requests by route and status",
                              {{"route", kRouteNames[route]}, {"code", std::to_string(status)}});
    slot.store(c, std::memory_order_release);
  }
  return *c;
}

void ServingMetrics::ObserveRequest(Route route, int status, double seconds) {
  Code(route, status).Inc();
  latency_[route]->Observe(seconds);
}

void ServingMetrics::SetModel(const std::string& name, const std::string& version,
                              const std::string& flavor, const std::string& engine,
                              double load_seconds) {
  load_seconds_->Set(load_seconds);
  if (model_info_) model_info_->Set(0);  // the version a reload replaced
  model_info_ = &registry_.GetGauge(
      "studio_serving_model_info", "The model being served (value 1; 0 for replaced versions)",
      {{"name", name}, {"version", version}, {"flavor", flavor}, {"engine", engine}});
  model_info_->Set(1);
}

void ServingMetrics::SetEngineCheck(double rows, double mismatched) {
  registry_
      .GetGauge("studio_serving_engine_check_rows",
                "Rows the native tree engine predicted against libxgboost at load")
      .Set(rows);
  registry_
      .GetGauge("studio_serving_engine_check_mismatched_rows",
                "Of those, rows whose outputs differed in any bit (non-zero: libxgboost serves)")
      .Set(mismatched);
}

void ServingMetrics::CountReload(bool ok) {
  registry_
      .GetCounter("studio_serving_model_reloads_total", "Hot reloads by result",
                  {{"result", ok ? "success" : "failure"}})
      .Inc();
}

void ServingMetrics::SetPredictionLog(double written, double dropped) {
  log_written_->Set(written);
  log_dropped_->Set(dropped);
}

std::string ServingMetrics::Render() {
  return registry_.Render() + metrics::RenderProcessMetrics();
}

}  // namespace studio::serving
