#pragma once

// Concept drift: model quality per window against a reference baseline, and the streaming
// detectors DDM and Page-Hinkley with river's defaults (reference/drift_monitoring.md §6).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace studio::monitoring {

// ---- Classification ----
// Labels are class indices (map string labels to indices first). For binary problems the
// positive class is 1; `scores` (optional, may be empty) is the positive-class score used for
// ROC-AUC. F1 is the binary F1 of class 1 when every label is 0/1, otherwise macro-F1 over the
// classes present in y_true ∪ y_pred (sklearn's f1_score average='binary' / 'macro',
// zero_division=0).
struct ClassificationMetrics {
  int64_t count = 0;
  double accuracy = 0;
  double f1 = 0;
  std::optional<double> roc_auc;  // binary with scores and both classes present
};
Result<ClassificationMetrics> ComputeClassification(std::span<const int64_t> y_true,
                                                    std::span<const int64_t> y_pred,
                                                    std::span<const double> scores = {});
// sklearn.metrics.roc_auc_score for binary labels (ties get half credit); nullopt if only one
// class is present.
std::optional<double> RocAuc(std::span<const int64_t> y_true, std::span<const double> scores);

// ---- Regression ----
struct RegressionMetrics {
  int64_t count = 0;
  double mae = 0;
  double rmse = 0;
};
Result<RegressionMetrics> ComputeRegression(std::span<const double> y_true,
                                            std::span<const double> y_pred);

// ---- Windows against a baseline ----
struct MetricComparison {
  std::string metric;  // "accuracy", "f1", "roc_auc", "mae", "rmse"
  double reference = 0;
  double current = 0;
  double relative_change =
      0;                  // (current - reference) / |reference| (0 when reference is 0 and equal)
  bool degraded = false;  // worse than the reference by more than relative_threshold
};
// Higher is better for accuracy/f1/roc_auc; lower is better for mae/rmse. Default: a 10%
// relative degradation raises the flag.
std::vector<MetricComparison> CompareClassification(const ClassificationMetrics& reference,
                                                    const ClassificationMetrics& current,
                                                    double relative_threshold = 0.1);
std::vector<MetricComparison> CompareRegression(const RegressionMetrics& reference,
                                                const RegressionMetrics& current,
                                                double relative_threshold = 0.1);
// Consecutive windows of `window` rows (the last partial window is kept if non-empty).
Result<std::vector<ClassificationMetrics>> ClassificationWindows(std::span<const int64_t> y_true,
                                                                 std::span<const int64_t> y_pred,
                                                                 std::span<const double> scores,
                                                                 int64_t window);
Result<std::vector<RegressionMetrics>> RegressionWindows(std::span<const double> y_true,
                                                         std::span<const double> y_pred,
                                                         int64_t window);

// ---- Streaming detectors ----
enum class DetectorState { kStable, kWarning, kDrift };
std::string_view DetectorStateName(DetectorState state);  // "stable","warning","drift"

// river.drift.binary.DDM: input is the 0/1 error stream (1 = the model was wrong). After a
// drift the detector resets itself on the next Update, as river does.
class Ddm {
 public:
  struct Options {
    int64_t warm_start = 30;
    double warning_threshold = 2.0;
    double drift_threshold = 3.0;
  };
  Ddm() : Ddm(Options{}) {}
  explicit Ddm(Options options) : options_(options) { Reset(); }
  DetectorState Update(double x);
  DetectorState state() const { return state_; }
  int64_t n() const { return n_; }
  void Reset();

 private:
  Options options_;
  DetectorState state_ = DetectorState::kStable;
  int64_t n_ = 0;
  double mean_ = 0;
  double p_min_ = 0, s_min_ = 0, ps_min_ = 0;  // +inf after Reset()
};

// river.drift.PageHinkley (reference §6): S = max(0, alpha*S + x - mean - delta), drift when
// S >= threshold once min_instances values were seen; detects increases of the mean (kUp, river's
// behaviour). kDown mirrors it for decreases; kBoth runs both. No warning zone (river has none);
// kDrift after a change, then the detector resets on the next Update, as river does.
class PageHinkley {
 public:
  enum class Mode { kUp, kDown, kBoth };
  struct Options {
    int64_t min_instances = 30;
    double delta = 0.005;
    double threshold = 50.0;
    double alpha = 1 - 0.0001;
    Mode mode = Mode::kUp;
  };
  PageHinkley() : PageHinkley(Options{}) {}
  explicit PageHinkley(Options options) : options_(options) { Reset(); }
  DetectorState Update(double x);
  DetectorState state() const { return state_; }
  int64_t n() const { return n_; }
  void Reset();

 private:
  Options options_;
  DetectorState state_ = DetectorState::kStable;
  int64_t n_ = 0;
  double mean_ = 0;
  double sum_up_ = 0, sum_down_ = 0;
};

}  // namespace studio::monitoring
