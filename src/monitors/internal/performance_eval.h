#pragma once

// Concept drift in the control plane: a monitor's `performance` option, labelled predictions
// joined by request id, and their evaluation against the baseline (metrics of the latest
// window, DDM / Page-Hinkley over the whole joined stream). Pure logic; the I/O is in
// performance_check.cc.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "monitoring/drift.h"

namespace studio::monitors::internal {

struct PerformanceConfig {
  std::string task;  // "classification" | "regression"
  int64_t window_rows = 1000;
  int64_t min_rows = 30;
  double degradation = 0.1;  // relative degradation that flags a metric
  std::string label_column = "label";
  std::string prediction_column = "prediction";
  // Classification only: "class" (predictions are labels), "score" (the positive-class score
  // of a binary model; class = score >= decision_threshold) or "auto" (score when every
  // prediction is a number in [0, 1] and one is not an integer).
  std::string prediction_type = "auto";
  double decision_threshold = 0.5;
  std::map<std::string, double> baseline;            // given in the config
  std::map<std::string, double> reference_baseline;  // computed from the reference CSV
};

// Validates the `performance` option object; problems are added as "performance.<field>".
void ValidatePerformance(const nlohmann::json& j, std::map<std::string, std::string>& problems);
// A validated object → the config (stored options are trusted).
PerformanceConfig PerformanceConfigFromJson(const nlohmann::json& j);

// A label or a prediction: a number or a string.
struct Value {
  bool is_number = false;
  double number = 0;
  std::string text;
};
std::optional<Value> ValueFromJson(const nlohmann::json& j);  // numbers and strings only
nlohmann::json ValueToJson(const Value& v);

struct JoinedRow {
  int64_t ts_ms = 0;
  std::string key;  // request id (or "<request id>/<row>" for batched requests)
  Value label;
  Value prediction;
};

// Metrics of labelled predictions: accuracy, f1 and roc_auc (binary scores) or mae and rmse.
// `skipped` counts rows that cannot be scored (a string in a regression, a non-0/1 label with
// scores). Errors when nothing is left.
struct Scored {
  std::map<std::string, double> metrics;
  std::vector<double> errors;  // per scored row: 0/1 misclassification or |error|
  int64_t count = 0;
  int64_t skipped = 0;
};
Result<Scored> ScoreRows(const PerformanceConfig& cfg, const std::vector<Value>& labels,
                         const std::vector<Value>& predictions);

// The baseline from the reference dataset's label and prediction columns.
Result<std::map<std::string, double>> ReferenceBaseline(const PerformanceConfig& cfg,
                                                        const monitoring::Dataset& reference);

struct PerformanceResult {
  nlohmann::json report = nlohmann::json::object();  // the report's "performance" object
  int64_t joined = 0;
  std::map<std::string, double> current;    // metric → latest window value
  std::map<std::string, bool> degraded;     // metric → flag (metrics with a baseline)
  std::optional<double> worst_degradation;  // max relative worsening; unset = not judged
  std::string reason;                       // why it is not judged
};

// `rows` in any order (sorted here by time, then key).
PerformanceResult EvaluatePerformance(const PerformanceConfig& cfg, std::vector<JoinedRow> rows);

}  // namespace studio::monitors::internal
