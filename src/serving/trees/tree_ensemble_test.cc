#include "serving/trees/tree_ensemble.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "serving/trees/internal/model_dom.h"
#include "serving/trees/onnx_tree_def.h"

namespace studio::serving::trees {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// depth-1 stump on feature f: x <op> t → leaf a else leaf b.
OnnxTreeAttributes Stump(const std::string& mode, double t, float a, float b, int track_true) {
  OnnxTreeAttributes s;
  s.nodes_treeids = {0, 0, 0};
  s.nodes_nodeids = {0, 1, 2};
  s.nodes_featureids = {0, 0, 0};
  s.nodes_modes = {mode, "LEAF", "LEAF"};
  s.nodes_values = {t, 0, 0};
  s.nodes_truenodeids = {1, 0, 0};
  s.nodes_falsenodeids = {2, 0, 0};
  s.nodes_missing_value_tracks_true = {track_true, 0, 0};
  s.leaf_treeids = {0, 0};
  s.leaf_nodeids = {1, 2};
  s.leaf_ids = {0, 0};
  s.leaf_weights = {a, b};
  return s;
}

std::unique_ptr<TreeEnsemble> Build(const OnnxTreeAttributes& a, bool classifier) {
  auto def = BuildOnnxEnsemble(a, classifier);
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  auto e = TreeEnsemble::Create(*def);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return std::move(e).value();
}

float Predict1(const TreeEnsemble& e, float x) {
  float out[4] = {};
  e.PredictRow(&x, out);
  return out[0];
}

TEST(TreeEnsembleTest, OnnxModesAndMissingValues) {
  struct Case {
    const char* mode;
    float x;
    int track;
    float want;
  } cases[] = {
      {"BRANCH_LEQ", 1.0f, 0, 10}, {"BRANCH_LEQ", 1.5f, 0, 20}, {"BRANCH_LT", 1.0f, 0, 20},
      {"BRANCH_LT", 0.5f, 0, 10},  {"BRANCH_GTE", 1.0f, 0, 10}, {"BRANCH_GT", 1.0f, 0, 20},
      {"BRANCH_EQ", 1.0f, 0, 10},  {"BRANCH_EQ", 2.0f, 0, 20},  {"BRANCH_NEQ", 1.0f, 0, 20},
      {"BRANCH_NEQ", kNaN, 0, 10},  // NaN != t holds
      {"BRANCH_LEQ", kNaN, 0, 20}, {"BRANCH_LEQ", kNaN, 1, 10}, {"BRANCH_GT", kNaN, 1, 10},
  };
  for (const auto& c : cases) {
    auto e = Build(Stump(c.mode, 1.0, 10, 20, c.track), false);
    EXPECT_EQ(Predict1(*e, c.x), c.want) << c.mode << " x=" << c.x << " track=" << c.track;
  }
}

TEST(TreeEnsembleTest, DoubleThresholdsCompareExactly) {
  // 0.1 is not a float: x = float(0.1) is above the double 0.1 (float(0.1) > 0.1).
  const float x = 0.1f;
  ASSERT_GT(static_cast<double>(x), 0.1);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_LT", 0.1, 1, 2, 0), false), x), 2);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_LEQ", 0.1, 1, 2, 0), false), x), 2);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_GT", 0.1, 1, 2, 0), false), x), 1);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_GTE", 0.1, 1, 2, 0), false), x), 1);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_EQ", 0.1, 1, 2, 0), false), x), 2);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_NEQ", 0.1, 1, 2, 0), false), x), 1);
  const float below = std::nextafter(x, 0.0f);
  EXPECT_EQ(Predict1(*Build(Stump("BRANCH_LT", 0.1, 1, 2, 0), false), below), 1);
}

OnnxTreeAttributes TwoStumps() {
  OnnxTreeAttributes s = Stump("BRANCH_LEQ", 0.0, 1, 4, 0);
  // Second tree on feature 1 with two targets on one leaf.
  s.nodes_treeids.insert(s.nodes_treeids.end(), {7, 7, 7});
  s.nodes_nodeids.insert(s.nodes_nodeids.end(), {0, 1, 2});
  s.nodes_featureids.insert(s.nodes_featureids.end(), {1, 0, 0});
  s.nodes_modes.insert(s.nodes_modes.end(), {"BRANCH_LEQ", "LEAF", "LEAF"});
  s.nodes_values.insert(s.nodes_values.end(), {0, 0, 0});
  s.nodes_truenodeids.insert(s.nodes_truenodeids.end(), {1, 0, 0});
  s.nodes_falsenodeids.insert(s.nodes_falsenodeids.end(), {2, 0, 0});
  s.nodes_missing_value_tracks_true.insert(s.nodes_missing_value_tracks_true.end(), {0, 0, 0});
  s.leaf_treeids.insert(s.leaf_treeids.end(), {7, 7, 7});
  s.leaf_nodeids.insert(s.leaf_nodeids.end(), {1, 1, 2});
  s.leaf_ids.insert(s.leaf_ids.end(), {0, 1, 1});
  s.leaf_weights.insert(s.leaf_weights.end(), {2, 3, 8});
  return s;
}

TEST(TreeEnsembleTest, AggregatesAndMultiTarget) {
  OnnxTreeAttributes a = TwoStumps();
  a.n_targets = 2;
  float row[2] = {-1, -1};  // tree0 → leaf 1 (t0 += 1); tree7 → leaf 1 (t0 += 2, t1 += 3)
  float out[2];
  a.aggregate_function = "SUM";
  Build(a, false)->PredictRow(row, out);
  EXPECT_EQ(out[0], 3);
  EXPECT_EQ(out[1], 3);
  a.aggregate_function = "AVERAGE";
  a.base_values = {10, 20};
  Build(a, false)->PredictRow(row, out);
  EXPECT_EQ(out[0], 3.0f / 2 + 10);
  EXPECT_EQ(out[1], 3.0f / 2 + 20);
  a.aggregate_function = "MIN";
  a.base_values = {};
  Build(a, false)->PredictRow(row, out);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 3);
  a.aggregate_function = "MAX";
  Build(a, false)->PredictRow(row, out);
  EXPECT_EQ(out[0], 2);
  a.aggregate_function = "SUM";
  a.post_transform = "SOFTMAX";
  Build(a, false)->PredictRow(row, out);
  EXPECT_FLOAT_EQ(out[0], 0.5f);
  EXPECT_FLOAT_EQ(out[1], 0.5f);
}

TEST(TreeEnsembleTest, BinaryClassifierLikeOnnxRuntime) {
  // One weight column (class 1 only), mixed signs, LOGISTIC: ORT writes
  // [logistic(-s), logistic(s)] and picks the positive label when s > 0.
  OnnxTreeAttributes a = Stump("BRANCH_LEQ", 0.0, -1.5f, 2.0f, 0);
  a.leaf_ids = {1, 1};
  a.classlabels_int64s = {0, 1};
  a.post_transform = "LOGISTIC";
  auto e = Build(a, true);
  float row = 1.0f, out[2];
  int64_t label = -1;
  e->PredictRow(&row, out, &label);
  // has[1]: class 1 has a score, live == 2, binary_case → mixed weights → add 2, labels[1].
  EXPECT_EQ(label, 1);
  EXPECT_NEAR(out[1], 1 / (1 + std::exp(-2.0f)), 1e-7);
  // Weights on class 0 only (as onnxmltools writes XGBoost binary models), base [0.5]:
  a.leaf_ids = {0, 0};
  a.base_values = {0.5f};
  e = Build(a, true);
  row = -1.0f;  // s = -1.5 + 0.5 = -1
  e->PredictRow(&row, out, &label);
  EXPECT_EQ(label, 0);
  EXPECT_FLOAT_EQ(out[0], 1 / (1 + std::exp(-1.0f)));
  EXPECT_FLOAT_EQ(out[1], 1 - 1 / (1 + std::exp(-1.0f)));
  // All-positive probabilities without transform: [1-p, p], threshold 0.5.
  a = Stump("BRANCH_LEQ", 0.0, 0.25f, 0.75f, 0);
  a.leaf_ids = {0, 0};
  a.classlabels_strings = {"no", "yes"};
  e = Build(a, true);
  row = 1.0f;
  e->PredictRow(&row, out, &label);
  EXPECT_EQ(label, 1);  // index into classlabels_strings
  EXPECT_FLOAT_EQ(out[0], 0.25f);
  EXPECT_FLOAT_EQ(out[1], 0.75f);
}

TEST(TreeEnsembleTest, MulticlassClassifierPicksArgmax) {
  OnnxTreeAttributes a = TwoStumps();
  a.classlabels_int64s = {5, 6, 7};
  a.leaf_ids = {0, 2, 1, 2, 2};
  a.post_transform = "SOFTMAX";
  auto e = Build(a, true);
  float row[2] = {1, 1}, out[3];
  int64_t label = 0;
  e->PredictRow(row, out, &label);  // tree0 leaf2: c2 += 4; tree7 leaf2: c2 += 8
  EXPECT_EQ(label, 7);
  EXPECT_GT(out[2], 0.99f);
}

TEST(TreeEnsembleTest, RejectsMalformedTrees) {
  OnnxTreeAttributes a = Stump("BRANCH_LEQ", 0, 1, 2, 0);
  a.nodes_falsenodeids[0] = 1;  // both children the same node
  auto def = BuildOnnxEnsemble(a, false);
  ASSERT_TRUE(def.ok());
  EXPECT_FALSE(TreeEnsemble::Create(*def).ok());
  a = Stump("BRANCH_LEQ", 0, 1, 2, 0);
  a.nodes_truenodeids[0] = 9;
  EXPECT_FALSE(BuildOnnxEnsemble(a, false).ok());
  a = Stump("BRANCH_FOO", 0, 1, 2, 0);
  auto bad = BuildOnnxEnsemble(a, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("BRANCH_FOO"), std::string::npos);
  a = Stump("BRANCH_LEQ", 0, 1, 2, 0);
  a.leaf_ids = {0, 3};
  EXPECT_FALSE(BuildOnnxEnsemble(a, false).ok());
}

TEST(TreeEnsembleTest, BatchEqualsRows) {
  OnnxTreeAttributes a = TwoStumps();
  a.leaf_ids = {0, 0, 0, 0, 0};
  a.base_values = {0.25f};
  auto e = Build(a, false);
  std::vector<float> x;
  for (int i = 0; i < 300; ++i) {
    x.push_back(static_cast<float>(i % 7) - 3);
    x.push_back(i % 11 == 0 ? kNaN : static_cast<float>(i % 5) - 2);
  }
  std::vector<float> batch(300);
  e->PredictBatch(x.data(), 300, 2, batch.data());
  for (int i = 0; i < 300; ++i) {
    float one;
    e->PredictRow(&x[static_cast<size_t>(2 * i)], &one);
    EXPECT_EQ(one, batch[static_cast<size_t>(i)]);
  }
}

TEST(UbjsonTest, ParsesTypedContainersAndRejectsTruncation) {
  // {"a": [$d#i 2 1.5 -2.0], "b": "xy", "c": [i 1 U 200 ]}
  std::string b = "{";
  b += std::string(
           "i\x01"
           "a",
           3) +
       "[$d#i" + std::string("\x02", 1);
  b += std::string("\x3f\xc0\x00\x00", 4) + std::string("\xc0\x00\x00\x00", 4);
  b += std::string(
           "i\x01"
           "b",
           3) +
       "Si" + std::string("\x02", 1) + "xy";
  b += std::string(
           "i\x01"
           "c",
           3) +
       "[i" + std::string("\x01", 1) + "U" + std::string("\xc8", 1) + "]";
  b += "}";
  auto v = internal::ParseUbjson(b);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const auto* a = v->Find("a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->items.size(), 2u);
  EXPECT_EQ(a->items[0].f32, 1.5f);
  EXPECT_EQ(a->items[1].f32, -2.0f);
  EXPECT_EQ(v->Find("b")->str, "xy");
  EXPECT_EQ(v->Find("c")->items[1].i, 200);
  for (size_t cut = 0; cut < b.size(); ++cut) {
    EXPECT_FALSE(internal::ParseUbjson(b.substr(0, cut)).ok()) << cut;
  }
  // A huge count must fail without allocating it.
  std::string huge = "[$d#L" + std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
  EXPECT_FALSE(internal::ParseUbjson(huge).ok());
}

TEST(JsonDomTest, KeepsFloat32Exact) {
  auto v = internal::ParseJson(R"({"x": [1.5136829E-2, 5E-1, 3], "s": "5E-1"})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("x")->items[0].f32, 1.5136829E-2f);
  EXPECT_EQ(v->Find("x")->items[2].i, 3);
  EXPECT_FALSE(internal::ParseJson("{\"x\": [1, 2").ok());
}

}  // namespace
}  // namespace studio::serving::trees
