// Unit tests of concept drift in the control plane: the `performance` config, scoring labelled
// predictions (hand-computed sklearn values), windows, baselines, the alarm rule and gauges.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "monitors/alarm.h"
#include "monitors/internal/performance_eval.h"
#include "monitors/metric_sink.h"

namespace studio::monitors::internal {
namespace {

Value Num(double v) { return {true, v, ""}; }
Value Str(std::string s) { return {false, 0, std::move(s)}; }

PerformanceConfig Classification(int64_t window = 1000, int64_t min_rows = 1) {
  PerformanceConfig c;
  c.task = "classification";
  c.window_rows = window;
  c.min_rows = min_rows;
  return c;
}

TEST(PerformanceConfig, Validates) {
  std::map<std::string, std::string> p;
  ValidatePerformance({{"task", "classification"}, {"window_rows", 50}, {"degradation", 0.2}}, p);
  EXPECT_TRUE(p.empty());
  ValidatePerformance(nlohmann::json::array(), p);
  EXPECT_TRUE(p.count("performance"));
  p.clear();
  ValidatePerformance({{"task", "x"},
                       {"window_rows", 0},
                       {"min_rows", "3"},
                       {"degradation", 0},
                       {"prediction_type", "prob"},
                       {"label_column", ""},
                       {"other", 1}},
                      p);
  for (const char* f : {"performance.task", "performance.window_rows", "performance.min_rows",
                        "performance.degradation", "performance.prediction_type",
                        "performance.label_column", "performance.other"})
    EXPECT_TRUE(p.count(f)) << f;
  p.clear();
  ValidatePerformance({{"task", "regression"}, {"baseline", {{"mae", 1.5}, {"f1", 0.3}}}}, p);
  EXPECT_EQ(p.size(), 1u);
  EXPECT_TRUE(p.count("performance.baseline.f1"));
  auto c = PerformanceConfigFromJson(
      {{"task", "regression"}, {"baseline", {{"mae", 1.5}}}, {"reference_baseline", {{"mae", 2}}}});
  EXPECT_EQ(c.task, "regression");
  EXPECT_EQ(c.window_rows, 1000);
  EXPECT_EQ(c.min_rows, 30);
  EXPECT_DOUBLE_EQ(c.degradation, 0.1);
  EXPECT_DOUBLE_EQ(c.baseline.at("mae"), 1.5);
  EXPECT_DOUBLE_EQ(c.reference_baseline.at("mae"), 2);
}

TEST(PerformanceScore, BinaryScoresMatchSklearn) {
  // y = [0,0,1,1,1,0], scores = [0.1,0.6,0.35,0.8,0.7,0.2] → pred = [0,1,0,1,1,0]
  // accuracy 4/6; tp=2 fp=1 fn=1 → f1 = 4/6; roc_auc: pos {0.35,0.8,0.7} vs neg {0.1,0.6,0.2}
  // → pairs won: 0.35:2, 0.8:3, 0.7:3 = 8/9.
  std::vector<Value> y = {Num(0), Num(0), Num(1), Str("1"), Num(1), Str("0")};
  std::vector<Value> s = {Num(0.1), Num(0.6), Num(0.35), Num(0.8), Num(0.7), Num(0.2)};
  auto r = ScoreRows(Classification(), y, s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_DOUBLE_EQ(r->metrics.at("accuracy"), 4.0 / 6);
  EXPECT_DOUBLE_EQ(r->metrics.at("f1"), 4.0 / 6);
  EXPECT_DOUBLE_EQ(r->metrics.at("roc_auc"), 8.0 / 9);
  EXPECT_EQ(r->errors, (std::vector<double>{0, 1, 1, 0, 0, 0}));
  // As classes (no scores): no roc_auc.
  auto cfg = Classification();
  cfg.prediction_type = "class";
  std::vector<Value> p = {Num(0), Num(1), Num(0), Num(1), Num(1), Num(0)};
  r = ScoreRows(cfg, y, p);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->metrics.at("accuracy"), 4.0 / 6);
  EXPECT_FALSE(r->metrics.count("roc_auc"));
}

TEST(PerformanceScore, StringClassesUseMacroF1) {
  // Classes a,b,c: y = [a,b,c,a], p = [a,c,c,b]. Per class F1: a: tp1 fn1 → 2/3; b: fp1 fn1 → 0;
  // c: tp1 fp1 → 2/3 → macro 4/9; accuracy 2/4.
  auto r = ScoreRows(Classification(), {Str("a"), Str("b"), Str("c"), Str("a")},
                     {Str("a"), Str("c"), Str("c"), Str("b")});
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->metrics.at("accuracy"), 0.5);
  EXPECT_NEAR(r->metrics.at("f1"), 4.0 / 9, 1e-15);
}

TEST(PerformanceScore, RegressionSkipsStrings) {
  PerformanceConfig c;
  c.task = "regression";
  auto r = ScoreRows(c, {Num(1), Num(2), Str("x"), Num(4)}, {Num(2), Num(2), Num(3), Num(1)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count, 3);
  EXPECT_EQ(r->skipped, 1);
  EXPECT_DOUBLE_EQ(r->metrics.at("mae"), 4.0 / 3);
  EXPECT_DOUBLE_EQ(r->metrics.at("rmse"), std::sqrt(10.0 / 3));
  EXPECT_FALSE(ScoreRows(c, {Str("a")}, {Num(1)}).ok());
}

TEST(PerformanceEvaluate, LatestWindowAgainstBaseline) {
  auto cfg = Classification(/*window=*/4, /*min_rows=*/3);
  cfg.prediction_type = "class";
  cfg.reference_baseline = {{"accuracy", 0.9}, {"f1", 0.5}};
  std::vector<JoinedRow> rows;
  // Time order: 4 right answers, then 4 with 2 wrong (given out of order).
  for (int i = 7; i >= 0; --i)
    rows.push_back({1000 + i, "r" + std::to_string(i), Num(1), Num(i >= 4 && i % 2 ? 0 : 1)});
  auto res = EvaluatePerformance(cfg, rows);
  EXPECT_EQ(res.joined, 8);
  EXPECT_TRUE(res.reason.empty()) << res.reason;
  EXPECT_DOUBLE_EQ(res.current.at("accuracy"), 0.5);  // rows 4..7
  EXPECT_TRUE(res.degraded.at("accuracy"));
  ASSERT_TRUE(res.worst_degradation);
  EXPECT_NEAR(*res.worst_degradation, (0.9 - 0.5) / 0.9, 1e-12);
  EXPECT_EQ(res.report["baseline_source"], "reference");
  EXPECT_EQ(res.report["detector"]["name"], "ddm");
  EXPECT_EQ(res.report["detector"]["n"], 8);
  EXPECT_TRUE(res.report["any_degraded"].get<bool>());

  // Too few labelled rows: not judged.
  rows.resize(2);
  res = EvaluatePerformance(cfg, rows);
  EXPECT_FALSE(res.worst_degradation);
  EXPECT_NE(res.reason.find("minimum 3"), std::string::npos) << res.reason;

  // A config baseline wins over the reference's; regression uses Page-Hinkley.
  PerformanceConfig reg;
  reg.task = "regression";
  reg.min_rows = 1;
  reg.baseline = {{"mae", 1.0}};
  reg.reference_baseline = {{"mae", 100.0}};
  res = EvaluatePerformance(reg, {{1, "a", Num(1), Num(2.05)}, {2, "b", Num(1), Num(2.05)}});
  EXPECT_EQ(res.report["baseline_source"], "config");
  EXPECT_NEAR(*res.worst_degradation, 0.05, 1e-12);
  EXPECT_FALSE(res.degraded.at("mae"));  // within 10%
  EXPECT_EQ(res.report["detector"]["name"], "page_hinkley");
}

TEST(PerformanceEvaluate, ReferenceBaselineFromColumns) {
  monitoring::Dataset ds;
  ds.rows = 4;
  monitoring::Column y{"label", monitoring::ColumnKind::kNumeric, {1, 0, 1, NAN}, {}, {}, {}};
  monitoring::Column p{
      "prediction", monitoring::ColumnKind::kCategorical, {}, {"1", "0", "0", "1"}, {}, {}};
  ds.columns = {y, p};
  auto b = ReferenceBaseline(Classification(), ds);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_DOUBLE_EQ(b->at("accuracy"), 2.0 / 3);  // the NaN row is left out
  auto cfg = Classification();
  cfg.label_column = "y";
  EXPECT_FALSE(ReferenceBaseline(cfg, ds).ok());
}

}  // namespace
}  // namespace studio::monitors::internal

namespace studio::monitors {
namespace {

TEST(PerformanceAlarm, EvaluatesTheRule) {
  Observation obs;
  obs.performance_reason = "only 3 predictions have labels (minimum 30)";
  auto e = Evaluate(RuleKind::kPerformance, 0.1, obs);
  EXPECT_EQ(e.state, AlarmState::kInsufficientData);
  EXPECT_EQ(e.reason, obs.performance_reason);
  obs.performance_degradation = 0.05;
  EXPECT_EQ(Evaluate(RuleKind::kPerformance, 0.1, obs).state, AlarmState::kOk);
  obs.performance_degradation = 0.25;
  EXPECT_EQ(Evaluate(RuleKind::kPerformance, 0.1, obs).state, AlarmState::kAlarm);
  EXPECT_EQ(*ParseRuleKind("performance"), RuleKind::kPerformance);
  EXPECT_EQ(PerformanceRule(0.2).threshold, 0.2);
  EXPECT_EQ(DefaultRules().size(), 4u);  // not a default of every monitor
}

TEST(PerformanceSink, PrometheusAndEmf) {
  metrics::Registry reg;
  PrometheusSink sink(reg);
  PerformancePoint p{{"m1", "mon", "churn", "3", ""}, 0, {{"accuracy", 0.75, true}}};
  sink.RecordPerformance(p);
  std::string text = reg.Render();
  EXPECT_NE(text.find("studio_model_performance{monitor=\"mon\",model=\"churn\",version=\"3\","
                      "deployment=\"\",metric=\"accuracy\"} 0.75"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("studio_model_performance_degraded{monitor=\"mon\",model=\"churn\","
                      "version=\"3\",deployment=\"\",metric=\"accuracy\"} 1"),
            std::string::npos)
      << text;
  auto emf = EmfSink::Create("stdout", "NS");
  ASSERT_TRUE(emf.ok());
  auto ev = nlohmann::json::parse((*emf)->PerformanceEvent(p, p.metrics[0]));
  EXPECT_EQ(ev["Metric"], "accuracy");
  EXPECT_EQ(ev["ModelPerformance"], 0.75);
  EXPECT_EQ(ev["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "ModelPerformance");
}

}  // namespace
}  // namespace studio::monitors
