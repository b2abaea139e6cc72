#pragma once

// The native tree-ensemble engine. One engine serves XGBoost models (model.json / .ubj) and the
// ONNX ai.onnx.ml TreeEnsembleRegressor / TreeEnsembleClassifier operators; each front end only
// decides how leaf values are aggregated and how raw scores become outputs, and reproduces its
// reference implementation's float32 arithmetic step by step (XGBoost 1.7's CPU predictor,
// ONNX Runtime's tree_ensemble_aggregator.h), so results are bit-identical where the reference
// itself is deterministic.
//
// Layout: every tree is re-numbered so a split node's "true" child (XGBoost: left, the
// `x < threshold` side) sits at `left` and its "false" child at `left + 1`; nodes are 16 bytes
// and all trees share one array. Prediction allocates nothing for up to kStackTargets targets.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace studio::serving::trees {

// Split comparisons: the "true" branch is taken when `x <op> threshold`.
enum class NodeMode : uint8_t { kLeq, kLt, kGte, kGt, kEq, kNeq, kLeaf };

// How per-tree leaf values become raw scores, then outputs.
enum class Aggregate : uint8_t { kSum, kAverage, kMin, kMax };

enum class Transform : uint8_t {
  // XGBoost objectives (the score starts at base_score's margin; trees added in order).
  kXgbIdentity,
  kXgbSigmoid,  // binary:logistic, reg:logistic
  kXgbExp,      // count:poisson, reg:gamma, reg:tweedie, survival:cox
  kXgbHinge,    // binary:hinge: 1 if margin > 0 else 0
  kXgbSoftmax,  // multi:softprob
  kXgbArgmax,   // multi:softmax: index of the largest margin, as float; one output column
  // ONNX post_transform values (ONNX Runtime semantics, including its binary-classifier rules).
  kOnnxNone,
  kOnnxLogistic,
  kOnnxSoftmax,
  kOnnxSoftmaxZero,
  kOnnxProbit,
};

// One node of a tree as a front end describes it; children are indices in the same tree.
struct NodeDef {
  NodeMode mode = NodeMode::kLeaf;
  int32_t feature = 0;
  double threshold = 0;  // compared against float inputs exactly (see tree_ensemble.cc)
  int32_t true_child = -1;
  int32_t false_child = -1;
  bool missing_true = false;  // NaN takes the true branch (XGBoost default_left)
  // Leaf contributions: (target, weight). A leaf may feed several targets.
  std::vector<std::pair<int32_t, float>> weights;
};

// The root of each tree is node 0 of its vector.
struct EnsembleDef {
  std::vector<std::vector<NodeDef>> trees;
  int32_t num_targets = 1;
  int32_t num_features = 0;  // inputs a row must have; at least max split feature + 1
  Aggregate aggregate = Aggregate::kSum;
  Transform transform = Transform::kXgbIdentity;
  std::vector<float> base_values;  // XGBoost: one margin per target; ONNX: base_values as given
  // ONNX classifiers only.
  bool classifier = false;
  std::vector<int64_t> class_labels;  // int labels, or 0..C-1 when the model has string labels
};

class TreeEnsemble {
 public:
  static constexpr int kStackTargets = 64;

  // Validates (child indices in range, every node reached exactly once, depth ≤ 4096,
  // targets in range) and flattens.
  static Result<std::unique_ptr<TreeEnsemble>> Create(const EnsembleDef& def);

  int32_t num_features() const { return num_features_; }
  int32_t num_targets() const { return num_targets_; }
  // Output columns per row: num_targets, except 1 for multi:softmax (argmax).
  int32_t num_outputs() const { return num_outputs_; }
  size_t num_trees() const { return roots_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  bool classifier() const { return classifier_; }

  // One row (`num_features()` floats, NaN = missing) → `num_outputs()` floats; for classifiers
  // `label` (may be null) receives the winning class label (ONNX Runtime's rule).
  void PredictRow(const float* row, float* out, int64_t* label = nullptr) const;
  // `rows` rows, row-major with `stride` floats between rows → rows × num_outputs() floats.
  void PredictBatch(const float* x, int64_t rows, int64_t stride, float* out,
                    int64_t* labels = nullptr) const;

  // Distinct split thresholds per feature (as float), for building validation samples.
  std::vector<std::vector<float>> ThresholdsByFeature() const;

 private:
  struct Node {
    float value;       // threshold (split) or the leaf's weight for target 0 (single target)
    int32_t left;      // split: index of the true child (false child = left + 1);
                       // leaf: first index into weights_
    uint32_t feature;  // split feature; leaf: number of weights
    uint8_t mode;      // NodeMode
    uint8_t missing_true;
    uint16_t pad;
  };
  static_assert(sizeof(Node) == 16);
  struct Weight {
    int32_t target;
    float value;
  };

  TreeEnsemble() = default;
  template <int kMode>
  const Node* Walk(const Node* root, const float* x) const;
  const Node* WalkAny(const Node* root, const float* x) const;
  template <int kMode>
  void SumSingle(const float* x, int64_t rows, int64_t stride, float* out) const;
  void PredictGeneral(const float* row, float* out, int64_t* label) const;
  void Finalize(float* scores, const unsigned char* has, float* out, int64_t* label) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;
  std::vector<Weight> weights_;
  int32_t num_features_ = 0;
  int32_t num_targets_ = 1;
  int32_t num_outputs_ = 1;
  int same_mode_ = -1;                // the one split mode every node uses, or -1
  bool single_weight_leaves_ = true;  // every leaf has exactly one weight, for target 0
  Aggregate aggregate_ = Aggregate::kSum;
  Transform transform_ = Transform::kXgbIdentity;
  std::vector<float> base_values_;
  bool classifier_ = false;
  bool binary_case_ = false;
  bool weights_all_positive_ = true;
  std::vector<int64_t> class_labels_;
};

// XGBoost's float32 transforms, exposed for tests.
float XgbSigmoid(float x);

}  // namespace studio::serving::trees
