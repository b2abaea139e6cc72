// Concept drift: quality metrics (sklearn's definitions), baseline comparison, and river's DDM
// and Page-Hinkley detectors.
#include "monitoring/performance.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace studio::monitoring {

std::optional<double> RocAuc(std::span<const int64_t> y_true, std::span<const double> scores) {
  if (y_true.size() != scores.size() || y_true.empty()) return std::nullopt;
  std::vector<size_t> order(y_true.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann–Whitney U with average ranks for ties == sklearn's trapezoidal ROC area.
  double pos_rank_sum = 0;
  int64_t npos = 0, nneg = 0;
  size_t i = 0;
  while (i < order.size()) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (y_true[order[k]] == 1) {
        pos_rank_sum += avg_rank;
        ++npos;
      } else {
        ++nneg;
      }
    }
    i = j;
  }
  if (npos == 0 || nneg == 0) return std::nullopt;
  const double np = static_cast<double>(npos), nn = static_cast<double>(nneg);
  return (pos_rank_sum - np * (np + 1) / 2.0) / (np * nn);
}

Result<ClassificationMetrics> ComputeClassification(std::span<const int64_t> y_true,
                                                    std::span<const int64_t> y_pred,
                                                    std::span<const double> scores) {
  if (y_true.size() != y_pred.size()) return InvalidArgument("y_true and y_pred differ in length");
  if (!scores.empty() && scores.size() != y_true.size())
    return InvalidArgument("scores and y_true differ in length");
  if (y_true.empty()) return InvalidArgument("no labelled rows");
  ClassificationMetrics m;
  m.count = static_cast<int64_t>(y_true.size());
  std::map<int64_t, std::array<int64_t, 3>> per_class;  // tp, fp, fn
  int64_t correct = 0;
  bool binary = true;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const int64_t t = y_true[i], p = y_pred[i];
    if ((t != 0 && t != 1) || (p != 0 && p != 1)) binary = false;
    per_class[t];
    per_class[p];
    if (t == p) {
      ++correct;
      ++per_class[t][0];
    } else {
      ++per_class[p][1];
      ++per_class[t][2];
    }
  }
  m.accuracy = static_cast<double>(correct) / static_cast<double>(m.count);
  auto f1_of = [](const std::array<int64_t, 3>& c) {
    const double denom = 2.0 * static_cast<double>(c[0]) + static_cast<double>(c[1] + c[2]);
    return denom == 0 ? 0.0 : 2.0 * static_cast<double>(c[0]) / denom;
  };
  if (binary) {
    m.f1 = f1_of(per_class[1]);
  } else {
    double sum = 0;
    for (const auto& [label, c] : per_class) sum += f1_of(c);
    m.f1 = sum / static_cast<double>(per_class.size());
  }
  if (binary && !scores.empty()) m.roc_auc = RocAuc(y_true, scores);
  return m;
}

Result<RegressionMetrics> ComputeRegression(std::span<const double> y_true,
                                            std::span<const double> y_pred) {
  if (y_true.size() != y_pred.size()) return InvalidArgument("y_true and y_pred differ in length");
  if (y_true.empty()) return InvalidArgument("no labelled rows");
  double abs_sum = 0, sq_sum = 0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    const double e = y_true[i] - y_pred[i];
    abs_sum += std::fabs(e);
    sq_sum += e * e;
  }
  RegressionMetrics m;
  m.count = static_cast<int64_t>(y_true.size());
  m.mae = abs_sum / static_cast<double>(m.count);
  m.rmse = std::sqrt(sq_sum / static_cast<double>(m.count));
  return m;
}

namespace {
MetricComparison Compare(std::string name, double ref, double cur, bool higher_is_better,
                         double rel) {
  MetricComparison c;
  c.metric = std::move(name);
  c.reference = ref;
  c.current = cur;
  if (ref != 0) {
    c.relative_change = (cur - ref) / std::fabs(ref);
  } else {
    c.relative_change = cur == 0 ? 0
                                 : (cur > 0 ? std::numeric_limits<double>::infinity()
                                            : -std::numeric_limits<double>::infinity());
  }
  c.degraded = higher_is_better ? c.relative_change < -rel : c.relative_change > rel;
  return c;
}
}  // namespace

std::vector<MetricComparison> CompareClassification(const ClassificationMetrics& reference,
                                                    const ClassificationMetrics& current,
                                                    double relative_threshold) {
  std::vector<MetricComparison> out;
  out.push_back(
      Compare("accuracy", reference.accuracy, current.accuracy, true, relative_threshold));
  out.push_back(Compare("f1", reference.f1, current.f1, true, relative_threshold));
  if (reference.roc_auc && current.roc_auc) {
    out.push_back(
        Compare("roc_auc", *reference.roc_auc, *current.roc_auc, true, relative_threshold));
  }
  return out;
}

std::vector<MetricComparison> CompareRegression(const RegressionMetrics& reference,
                                                const RegressionMetrics& current,
                                                double relative_threshold) {
  return {Compare("mae", reference.mae, current.mae, false, relative_threshold),
          Compare("rmse", reference.rmse, current.rmse, false, relative_threshold)};
}

Result<std::vector<ClassificationMetrics>> ClassificationWindows(std::span<const int64_t> y_true,
                                                                 std::span<const int64_t> y_pred,
                                                                 std::span<const double> scores,
                                                                 int64_t window) {
  if (window <= 0) return InvalidArgument("window must be positive");
  if (y_true.size() != y_pred.size() || (!scores.empty() && scores.size() != y_true.size())) {
    return InvalidArgument("inputs differ in length");
  }
  std::vector<ClassificationMetrics> out;
  for (size_t start = 0; start < y_true.size(); start += static_cast<size_t>(window)) {
    const size_t len = std::min(static_cast<size_t>(window), y_true.size() - start);
    auto m = ComputeClassification(y_true.subspan(start, len), y_pred.subspan(start, len),
                                   scores.empty() ? scores : scores.subspan(start, len));
    if (!m.ok()) return m.status();
    out.push_back(*m);
  }
  return out;
}

Result<std::vector<RegressionMetrics>> RegressionWindows(std::span<const double> y_true,
                                                         std::span<const double> y_pred,
                                                         int64_t window) {
  if (window <= 0) return InvalidArgument("window must be positive");
  if (y_true.size() != y_pred.size()) return InvalidArgument("inputs differ in length");
  std::vector<RegressionMetrics> out;
  for (size_t start = 0; start < y_true.size(); start += static_cast<size_t>(window)) {
    const size_t len = std::min(static_cast<size_t>(window), y_true.size() - start);
    auto m = ComputeRegression(y_true.subspan(start, len), y_pred.subspan(start, len));
    if (!m.ok()) return m.status();
    out.push_back(*m);
  }
  return out;
}

std::string_view DetectorStateName(DetectorState state) {
  switch (state) {
    case DetectorState::kWarning:
      return "warning";
    case DetectorState::kDrift:
      return "drift";
    case DetectorState::kStable:
      break;
  }
  return "stable";
}

void Ddm::Reset() {
  state_ = DetectorState::kStable;
  n_ = 0;
  mean_ = 0;
  p_min_ = s_min_ = ps_min_ = std::numeric_limits<double>::infinity();
}

DetectorState Ddm::Update(double x) {
  if (state_ == DetectorState::kDrift) Reset();
  ++n_;
  mean_ += (x - mean_) / static_cast<double>(n_);
  const double p = mean_;
  const double s = std::sqrt(p * (1 - p) / static_cast<double>(n_));
  if (n_ > options_.warm_start) {
    if (p + s <= ps_min_) {
      p_min_ = p;
      s_min_ = s;
      ps_min_ = p_min_ + s_min_;
    }
    state_ = p + s > p_min_ + options_.warning_threshold * s_min_ ? DetectorState::kWarning
                                                                  : DetectorState::kStable;
    if (p + s > p_min_ + options_.drift_threshold * s_min_) state_ = DetectorState::kDrift;
  }
  return state_;
}

void PageHinkley::Reset() {
  state_ = DetectorState::kStable;
  n_ = 0;
  mean_ = 0;
  sum_up_ = sum_down_ = 0;
}

DetectorState PageHinkley::Update(double x) {
  if (state_ == DetectorState::kDrift) Reset();
  ++n_;
  mean_ += (x - mean_) / static_cast<double>(n_);
  sum_up_ = std::max(0.0, options_.alpha * sum_up_ + (x - mean_ - options_.delta));
  sum_down_ = std::max(0.0, options_.alpha * sum_down_ + (mean_ - x - options_.delta));
  state_ = DetectorState::kStable;
  // river counts from 1 and increments before the check: the test runs from the
  // (min_instances - 1)-th value on.
  if (n_ + 1 >= options_.min_instances) {
    const bool up = options_.mode != Mode::kDown && sum_up_ >= options_.threshold;
    const bool down = options_.mode != Mode::kUp && sum_down_ >= options_.threshold;
    if (up || down) state_ = DetectorState::kDrift;
  }
  return state_;
}

}  // namespace studio::monitoring
