// Concept-drift metrics (sklearn definitions) and river's DDM / Page-Hinkley on hand-checked
// sequences (river is not installed; expected indices come from river's update rules).
#include "monitoring/performance.h"

#include <gtest/gtest.h>

#include <cmath>

namespace studio::monitoring {
namespace {

TEST(Performance, ClassificationMetrics) {
  const std::vector<int64_t> t = {0, 0, 1, 1};
  const std::vector<int64_t> p = {0, 1, 1, 1};
  const std::vector<double> s = {0.1, 0.4, 0.35, 0.8};
  auto m = ComputeClassification(t, p, s);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m->f1, 0.8);         // tp 2, fp 1, fn 0
  EXPECT_DOUBLE_EQ(*m->roc_auc, 0.75);  // sklearn's roc_auc_score docstring example
  // Ties get half credit.
  EXPECT_DOUBLE_EQ(
      *RocAuc(std::vector<int64_t>{0, 1, 0, 1}, std::vector<double>{0.5, 0.5, 0.2, 0.9}), 0.875);
  EXPECT_FALSE(RocAuc(std::vector<int64_t>{1, 1}, std::vector<double>{0.1, 0.2}).has_value());
  // Macro F1 over three classes: class0 f1=1, class1 f1=2/3, class2 f1=0.
  auto mc =
      ComputeClassification(std::vector<int64_t>{0, 1, 1, 2}, std::vector<int64_t>{0, 1, 2, 1});
  ASSERT_TRUE(mc.ok());
  EXPECT_NEAR(mc->f1, (1.0 + 0.5 + 0.0) / 3, 1e-15);
  EXPECT_FALSE(ComputeClassification(std::vector<int64_t>{1}, std::vector<int64_t>{}).ok());
}

TEST(Performance, RegressionAndDegradation) {
  auto r = ComputeRegression(std::vector<double>{1, 2, 3}, std::vector<double>{1, 4, 6});
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->mae, 5.0 / 3);
  EXPECT_DOUBLE_EQ(r->rmse, std::sqrt(13.0 / 3));
  RegressionMetrics base{100, 1.0, 1.0}, cur{100, 1.05, 1.2};
  auto cmp = CompareRegression(base, cur, 0.1);
  EXPECT_FALSE(cmp[0].degraded);
  EXPECT_TRUE(cmp[1].degraded);
  ClassificationMetrics cb{100, 0.9, 0.9, 0.95}, cc{100, 0.7, 0.88, 0.94};
  auto cc2 = CompareClassification(cb, cc, 0.1);
  ASSERT_EQ(cc2.size(), 3u);
  EXPECT_TRUE(cc2[0].degraded);
  EXPECT_FALSE(cc2[1].degraded);
  auto w =
      RegressionWindows(std::vector<double>{1, 2, 3, 4, 5}, std::vector<double>{1, 2, 3, 4, 9}, 2);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 3u);
  EXPECT_DOUBLE_EQ((*w)[2].mae, 4);
}

TEST(Detectors, DdmRiverDefaults) {
  // An error every 10th prediction for 100 steps, then only errors: warnings at 103-105,
  // drift at 106 (river's DDM update rule, warm_start 30, thresholds 2 and 3).
  Ddm ddm;
  std::vector<std::pair<char, int>> events;
  for (int i = 0; i < 140; ++i) {
    const double x = i < 100 ? (i % 10 == 0 ? 1 : 0) : 1;
    const DetectorState s = ddm.Update(x);
    if (s == DetectorState::kWarning) events.emplace_back('w', i);
    if (s == DetectorState::kDrift) events.emplace_back('d', i);
  }
  const std::vector<std::pair<char, int>> want = {{'w', 103}, {'w', 104}, {'w', 105}, {'d', 106}};
  EXPECT_EQ(events, want);
}

TEST(Detectors, PageHinkleyRiverDefaults) {
  // 50 zeros then tens: S grows by ~(10 - mean) per step and crosses 50 at index 55.
  PageHinkley ph;
  std::vector<int> drifts;
  for (int i = 0; i < 70; ++i) {
    if (ph.Update(i < 50 ? 0.0 : 10.0) == DetectorState::kDrift) drifts.push_back(i);
  }
  EXPECT_EQ(drifts, std::vector<int>{55});
  // Fewer than min_instances values never signal, however large the jump.
  PageHinkley early;
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(early.Update(i < 10 ? 1.0 : 100.0), DetectorState::kStable);
  // After a drift the next update starts from scratch.
  PageHinkley::Options o;
  o.min_instances = 1;
  o.threshold = 1;
  PageHinkley quick(o);
  EXPECT_EQ(quick.Update(0), DetectorState::kStable);
  EXPECT_EQ(quick.Update(5), DetectorState::kDrift);
  EXPECT_EQ(quick.Update(5), DetectorState::kStable);
  EXPECT_EQ(quick.n(), 1);
}

}  // namespace
}  // namespace studio::monitoring
