#include "monitors/internal/performance_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/time_util.h"
#include "monitoring/performance.h"

namespace studio::monitors::internal {
namespace {

const std::vector<std::string>& MetricsOf(const std::string& task) {
  static const std::vector<std::string> kClassification = {"accuracy", "f1", "roc_auc"};
  static const std::vector<std::string> kRegression = {"mae", "rmse"};
  return task == "regression" ? kRegression : kClassification;
}

bool HigherIsBetter(const std::string& metric) { return metric != "mae" && metric != "rmse"; }

// Numbers that are whole are the same class as their decimal string ("1" == 1 == 1.0).
std::string ClassKey(const Value& v) {
  if (!v.is_number) return v.text;
  if (std::isfinite(v.number) && v.number == std::floor(v.number) && std::fabs(v.number) < 1e15)
    return std::to_string(static_cast<long long>(v.number));
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v.number);
  return buf;
}

std::optional<Value> CellOf(const monitoring::Column& c, size_t row) {
  Value v;
  if (c.kind == monitoring::ColumnKind::kNumeric) {
    if (row >= c.numeric.size() || !std::isfinite(c.numeric[row])) return std::nullopt;
    v.is_number = true;
    v.number = c.numeric[row];
    return v;
  }
  if (!c.codes.empty()) {
    if (row >= c.codes.size() || c.codes[row] < 0) return std::nullopt;
    v.text = c.dictionary[static_cast<size_t>(c.codes[row])];
  } else {
    if (row >= c.categorical.size()) return std::nullopt;
    v.text = c.categorical[row];
  }
  if (v.text.empty()) return std::nullopt;
  return v;
}

}  // namespace

void ValidatePerformance(const nlohmann::json& j, std::map<std::string, std::string>& problems) {
  const std::string p = "performance";
  if (!j.is_object()) {
    problems[p] = "must be an object: {\"task\": \"classification\"|\"regression\", …}";
    return;
  }
  static const std::vector<std::string> kKnown = {
      "task",     "window_rows",       "min_rows",        "degradation",       "label_column",
      "baseline", "prediction_column", "prediction_type", "decision_threshold"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end())
      problems[p + "." + it.key()] = "unknown field";
  std::string task;
  if (auto it = j.find("task");
      it == j.end() || !it->is_string() || (*it != "classification" && *it != "regression"))
    problems[p + ".task"] = "required: classification or regression";
  else
    task = it->get<std::string>();
  auto integer = [&](const char* key, int64_t lo, int64_t hi) {
    if (auto it = j.find(key);
        it != j.end() &&
        !(it->is_number_integer() && it->get<int64_t>() >= lo && it->get<int64_t>() <= hi))
      problems[p + "." + key] =
          "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi);
  };
  integer("window_rows", 1, 1000000);
  integer("min_rows", 1, 1000000);
  auto unit = [&](const char* key, bool open_low) {
    if (auto it = j.find(key); it != j.end()) {
      double v = it->is_number() ? it->get<double>() : -1;
      if (!it->is_number() || !std::isfinite(v) || v < 0 || v > 1 || (open_low && v == 0))
        problems[p + "." + key] = open_low ? "must be a number in (0, 1]" : "must be in [0, 1]";
    }
  };
  unit("degradation", true);
  unit("decision_threshold", false);
  for (const char* key : {"label_column", "prediction_column"})
    if (auto it = j.find(key);
        it != j.end() &&
        (!it->is_string() || it->get<std::string>().empty() || it->get<std::string>().size() > 256))
      problems[p + "." + key] = "must be a non-empty column name";
  if (auto it = j.find("prediction_type");
      it != j.end() && (!it->is_string() || (*it != "auto" && *it != "class" && *it != "score")))
    problems[p + ".prediction_type"] = "must be auto, class or score";
  if (auto it = j.find("baseline"); it != j.end()) {
    if (!it->is_object() || it->empty()) {
      problems[p + ".baseline"] = "must be an object of metric → value";
    } else if (!task.empty()) {
      const auto& allowed = MetricsOf(task);
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (std::find(allowed.begin(), allowed.end(), m.key()) == allowed.end())
          problems[p + ".baseline." + m.key()] = "not a " + task + " metric";
        else if (!m->is_number() || !std::isfinite(m->get<double>()) || m->get<double>() < 0)
          problems[p + ".baseline." + m.key()] = "must be a finite number >= 0";
      }
    }
  }
}

PerformanceConfig PerformanceConfigFromJson(const nlohmann::json& j) {
  PerformanceConfig c;
  c.task = j.value("task", "classification");
  c.window_rows = j.value("window_rows", c.window_rows);
  c.min_rows = j.value("min_rows", c.min_rows);
  c.degradation = j.value("degradation", c.degradation);
  c.label_column = j.value("label_column", c.label_column);
  c.prediction_column = j.value("prediction_column", c.prediction_column);
  c.prediction_type = j.value("prediction_type", c.prediction_type);
  c.decision_threshold = j.value("decision_threshold", c.decision_threshold);
  for (const char* key : {"baseline", "reference_baseline"}) {
    auto& out = std::string(key) == "baseline" ? c.baseline : c.reference_baseline;
    if (auto it = j.find(key); it != j.end() && it->is_object())
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_number()) out[m.key()] = m->get<double>();
  }
  return c;
}

std::optional<Value> ValueFromJson(const nlohmann::json& j) {
  Value v;
  if (j.is_number()) {
    v.is_number = true;
    v.number = j.get<double>();
    if (!std::isfinite(v.number)) return std::nullopt;
    return v;
  }
  if (j.is_string()) {
    v.text = j.get<std::string>();
    return v;
  }
  return std::nullopt;
}

nlohmann::json ValueToJson(const Value& v) {
  return v.is_number ? nlohmann::json(v.number) : nlohmann::json(v.text);
}

Result<Scored> ScoreRows(const PerformanceConfig& cfg, const std::vector<Value>& labels,
                         const std::vector<Value>& predictions) {
  Scored out;
  size_t n = std::min(labels.size(), predictions.size());
  if (cfg.task == "regression") {
    std::vector<double> y, p;
    for (size_t i = 0; i < n; ++i) {
      if (!labels[i].is_number || !predictions[i].is_number) {
        ++out.skipped;
        continue;
      }
      y.push_back(labels[i].number);
      p.push_back(predictions[i].number);
      out.errors.push_back(std::fabs(labels[i].number - predictions[i].number));
    }
    if (y.empty()) return InvalidArgument("no numeric label/prediction pairs to score");
    ASSIGN_OR_RETURN(auto m, monitoring::ComputeRegression(y, p));
    out.count = m.count;
    out.metrics = {{"mae", m.mae}, {"rmse", m.rmse}};
    return out;
  }
  bool score_mode = cfg.prediction_type == "score";
  if (cfg.prediction_type == "auto") {
    bool all_unit = n > 0, any_fraction = false;
    for (size_t i = 0; i < n && all_unit; ++i) {
      const Value& p = predictions[i];
      all_unit = p.is_number && p.number >= 0 && p.number <= 1;
      any_fraction = any_fraction || (all_unit && p.number != std::floor(p.number));
    }
    score_mode = all_unit && any_fraction;
  }
  std::vector<int64_t> y_true, y_pred;
  std::vector<double> scores;
  if (score_mode) {
    for (size_t i = 0; i < n; ++i) {
      std::string key = ClassKey(labels[i]);
      if ((key != "0" && key != "1") || !predictions[i].is_number) {
        ++out.skipped;
        continue;
      }
      y_true.push_back(key == "1" ? 1 : 0);
      y_pred.push_back(predictions[i].number >= cfg.decision_threshold ? 1 : 0);
      scores.push_back(predictions[i].number);
    }
  } else {
    std::vector<std::string> lk, pk;
    std::set<std::string> classes;
    for (size_t i = 0; i < n; ++i) {
      lk.push_back(ClassKey(labels[i]));
      pk.push_back(ClassKey(predictions[i]));
      classes.insert(lk.back());
      classes.insert(pk.back());
    }
    // 0/1 labels keep their meaning (1 is the positive class); others are numbered in order.
    bool binary01 = std::all_of(classes.begin(), classes.end(),
                                [](const std::string& k) { return k == "0" || k == "1"; });
    std::map<std::string, int64_t> index;
    for (const auto& k : classes)
      index[k] = binary01 ? (k == "1" ? 1 : 0) : static_cast<int64_t>(index.size());
    for (size_t i = 0; i < n; ++i) {
      y_true.push_back(index[lk[i]]);
      y_pred.push_back(index[pk[i]]);
    }
  }
  if (y_true.empty()) return InvalidArgument("no label/prediction pairs to score");
  for (size_t i = 0; i < y_true.size(); ++i) out.errors.push_back(y_true[i] != y_pred[i] ? 1 : 0);
  ASSIGN_OR_RETURN(auto m, monitoring::ComputeClassification(y_true, y_pred, scores));
  out.count = m.count;
  out.metrics = {{"accuracy", m.accuracy}, {"f1", m.f1}};
  if (m.roc_auc) out.metrics["roc_auc"] = *m.roc_auc;
  return out;
}

Result<std::map<std::string, double>> ReferenceBaseline(const PerformanceConfig& cfg,
                                                        const monitoring::Dataset& reference) {
  const monitoring::Column* label = reference.Find(cfg.label_column);
  const monitoring::Column* pred = reference.Find(cfg.prediction_column);
  if (!label || !pred)
    return InvalidArgument("the reference has no '" +
                           (label ? cfg.prediction_column : cfg.label_column) +
                           "' column: give performance.baseline or add the label and prediction "
                           "columns to the reference");
  std::vector<Value> labels, preds;
  for (size_t r = 0; r < static_cast<size_t>(reference.rows); ++r) {
    auto l = CellOf(*label, r);
    auto p = CellOf(*pred, r);
    if (!l || !p) continue;
    labels.push_back(*l);
    preds.push_back(*p);
  }
  ASSIGN_OR_RETURN(auto scored, ScoreRows(cfg, labels, preds));
  return scored.metrics;
}

PerformanceResult EvaluatePerformance(const PerformanceConfig& cfg, std::vector<JoinedRow> rows) {
  PerformanceResult out;
  std::sort(rows.begin(), rows.end(), [](const JoinedRow& a, const JoinedRow& b) {
    return a.ts_ms != b.ts_ms ? a.ts_ms < b.ts_ms : a.key < b.key;
  });
  out.joined = static_cast<int64_t>(rows.size());
  const auto& baseline = cfg.baseline.empty() ? cfg.reference_baseline : cfg.baseline;
  auto& rep = out.report;
  rep = {{"task", cfg.task},
         {"joined_rows", out.joined},
         {"window_rows", cfg.window_rows},
         {"min_rows", cfg.min_rows},
         {"degradation", cfg.degradation},
         {"baseline", baseline},
         {"baseline_source",
          cfg.baseline.empty() ? (baseline.empty() ? "none" : "reference") : "config"}};
  auto give_up = [&](std::string why) {
    out.reason = std::move(why);
    rep["reason"] = out.reason;
    return out;
  };

  // The detector runs over the whole joined stream in time order.
  std::vector<Value> labels, preds;
  for (const auto& r : rows) {
    labels.push_back(r.label);
    preds.push_back(r.prediction);
  }
  if (!rows.empty()) {
    auto all = ScoreRows(cfg, labels, preds);
    if (all.ok()) {
      bool classification = cfg.task != "regression";
      monitoring::Ddm ddm;
      monitoring::PageHinkley ph;
      int64_t drifts = 0, warnings = 0;
      monitoring::DetectorState state = monitoring::DetectorState::kStable;
      for (double e : all->errors) {
        state = classification ? ddm.Update(e) : ph.Update(e);
        if (state == monitoring::DetectorState::kDrift) ++drifts;
        if (state == monitoring::DetectorState::kWarning) ++warnings;
      }
      rep["detector"] = {{"name", classification ? "ddm" : "page_hinkley"},
                         {"input", classification ? "error (0/1)" : "absolute error"},
                         {"n", static_cast<int64_t>(all->errors.size())},
                         {"state", std::string(monitoring::DetectorStateName(state))},
                         {"drifts", drifts},
                         {"warnings", warnings},
                         {"drift_detected", drifts > 0}};
    }
  }

  if (out.joined < cfg.min_rows)
    return give_up("only " + std::to_string(out.joined) + " predictions have labels (minimum " +
                   std::to_string(cfg.min_rows) + ")");
  size_t first = rows.size() > static_cast<size_t>(cfg.window_rows)
                     ? rows.size() - static_cast<size_t>(cfg.window_rows)
                     : 0;
  std::vector<Value> wl(labels.begin() + static_cast<std::ptrdiff_t>(first), labels.end());
  std::vector<Value> wp(preds.begin() + static_cast<std::ptrdiff_t>(first), preds.end());
  rep["window_start"] = FormatRfc3339(rows[first].ts_ms);
  rep["window_end"] = FormatRfc3339(rows.back().ts_ms);
  auto scored = ScoreRows(cfg, wl, wp);
  if (!scored.ok()) return give_up("cannot score the latest window: " + scored.status().message());
  rep["window_count"] = scored->count;
  rep["skipped_rows"] = scored->skipped;
  out.current = scored->metrics;
  rep["metrics"] = out.current;
  if (scored->count < cfg.min_rows)
    return give_up("only " + std::to_string(scored->count) +
                   " scorable labelled predictions in the window (minimum " +
                   std::to_string(cfg.min_rows) + ")");
  nlohmann::json comparisons = nlohmann::json::array();
  nlohmann::json flags = nlohmann::json::object();
  for (const auto& [metric, value] : out.current) {
    auto b = baseline.find(metric);
    if (b == baseline.end()) continue;
    monitoring::MetricComparison c;
    if (HigherIsBetter(metric)) {
      monitoring::ClassificationMetrics ref, cur;
      ref.accuracy = ref.f1 = b->second;
      cur.accuracy = cur.f1 = value;
      c = monitoring::CompareClassification(ref, cur, cfg.degradation).front();
    } else {
      monitoring::RegressionMetrics ref, cur;
      ref.mae = ref.rmse = b->second;
      cur.mae = cur.rmse = value;
      c = monitoring::CompareRegression(ref, cur, cfg.degradation).front();
    }
    double worsening = HigherIsBetter(metric) ? -c.relative_change : c.relative_change;
    out.worst_degradation = std::max(out.worst_degradation.value_or(worsening), worsening);
    out.degraded[metric] = c.degraded;
    flags[metric] = c.degraded;
    comparisons.push_back(
        {{"metric", metric},
         {"reference", c.reference},
         {"current", c.current},
         {"relative_change",
          std::isfinite(c.relative_change) ? nlohmann::json(c.relative_change) : nlohmann::json()},
         {"degraded", c.degraded}});
  }
  rep["comparisons"] = comparisons;
  rep["degraded"] = flags;
  bool any = std::any_of(out.degraded.begin(), out.degraded.end(),
                         [](const auto& kv) { return kv.second; });
  rep["any_degraded"] = any;
  if (!out.worst_degradation) return give_up("no baseline for the computed metrics");
  rep["worst_degradation"] = std::isfinite(*out.worst_degradation)
                                 ? nlohmann::json(*out.worst_degradation)
                                 : nlohmann::json();
  return out;
}

}  // namespace studio::monitors::internal
