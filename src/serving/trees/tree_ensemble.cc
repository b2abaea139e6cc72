#include "serving/trees/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace studio::serving::trees {
namespace {

constexpr uint8_t kLeafMode = static_cast<uint8_t>(NodeMode::kLeaf);

// A float threshold `f` such that `x <op> f` equals `x <op> t` for every float x (ONNX models
// may carry double thresholds in the *_as_tensor attributes; ONNX Runtime compares the float
// input against the double).
float ExactThreshold(double t, NodeMode mode) {
  if (std::isnan(t)) return static_cast<float>(t);
  const float f = static_cast<float>(t);
  if (static_cast<double>(f) == t) return f;
  const float up =
      static_cast<double>(f) > t ? f : std::nextafter(f, std::numeric_limits<float>::infinity());
  const float down =
      static_cast<double>(f) < t ? f : std::nextafter(f, -std::numeric_limits<float>::infinity());
  switch (mode) {
    case NodeMode::kLt:   // x < t  ⇔ x < smallest float above t
    case NodeMode::kGte:  // x >= t ⇔ x >= smallest float above t
      return up;
    case NodeMode::kLeq:
    case NodeMode::kGt:
      return down;
    default:  // EQ never holds and NEQ always holds: NaN compares that way.
      return std::numeric_limits<float>::quiet_NaN();
  }
}

template <int kMode>
inline bool Compare(float v, float t) {
  if constexpr (kMode == static_cast<int>(NodeMode::kLeq)) return v <= t;
  if constexpr (kMode == static_cast<int>(NodeMode::kLt)) return v < t;
  if constexpr (kMode == static_cast<int>(NodeMode::kGte)) return v >= t;
  if constexpr (kMode == static_cast<int>(NodeMode::kGt)) return v > t;
  if constexpr (kMode == static_cast<int>(NodeMode::kEq)) return v == t;
  if constexpr (kMode == static_cast<int>(NodeMode::kNeq)) return v != t;
  return false;
}

inline bool CompareAny(uint8_t mode, float v, float t) {
  switch (static_cast<NodeMode>(mode)) {
    case NodeMode::kLeq:
      return v <= t;
    case NodeMode::kLt:
      return v < t;
    case NodeMode::kGte:
      return v >= t;
    case NodeMode::kGt:
      return v > t;
    case NodeMode::kEq:
      return v == t;
    case NodeMode::kNeq:
      return v != t;
    default:
      return false;
  }
}

// ONNX Runtime's ml_common.h helpers, float for float.
float OrtLogistic(float val) {
  float v = 1 / (1 + std::exp(-std::abs(val)));
  return (val < 0) ? (1 - v) : v;
}

float OrtErfInv(float x) {
  float sgn = x < 0 ? -1.0f : 1.0f;
  x = (1 - x) * (1 + x);
  float log = std::log(x);
  float v = 2 / (static_cast<float>(M_PI) * 0.147f) + 0.5f * log;
  float v2 = 1 / (0.147f) * log;
  float v3 = -v + std::sqrt(v * v - v2);
  x = sgn * std::sqrt(v3);
  return x;
}

float OrtProbit(float val) { return static_cast<float>(M_SQRT2) * OrtErfInv(2 * val - 1); }

void OrtSoftmax(float* v, int n) {
  float v_max = -std::numeric_limits<float>::max();
  for (int i = 0; i < n; ++i) v_max = v[i] > v_max ? v[i] : v_max;
  float sum = 0.f;
  for (int i = 0; i < n; ++i) {
    v[i] = std::exp(v[i] - v_max);
    sum += v[i];
  }
  for (int i = 0; i < n; ++i) v[i] = v[i] / sum;
}

void OrtSoftmaxZero(float* v, int n) {
  float v_max = -std::numeric_limits<float>::max();
  for (int i = 0; i < n; ++i) v_max = v[i] > v_max ? v[i] : v_max;
  float exp_neg_v_max = std::exp(-v_max);
  float sum = 0.f;
  for (int i = 0; i < n; ++i) {
    if (v[i] > 0.0000001f || v[i] < -0.0000001f) {
      v[i] = std::exp(v[i] - v_max);
      sum += v[i];
    } else {
      v[i] = v[i] * exp_neg_v_max;
    }
  }
  for (int i = 0; i < n; ++i) v[i] = v[i] / sum;
}

// ONNX Runtime's write_scores(): `n` live scores (1 or ≥ 2) into `out`.
void OrtWriteScores(float* s, int n, Transform t, float* out, int add_second_class) {
  if (n >= 2) {
    switch (t) {
      case Transform::kOnnxProbit:
        for (int i = 0; i < n; ++i) out[i] = OrtProbit(s[i]);
        return;
      case Transform::kOnnxLogistic:
        for (int i = 0; i < n; ++i) out[i] = OrtLogistic(s[i]);
        return;
      case Transform::kOnnxSoftmax:
        OrtSoftmax(s, n);
        break;
      case Transform::kOnnxSoftmaxZero:
        OrtSoftmaxZero(s, n);
        break;
      default:
        break;
    }
    for (int i = 0; i < n; ++i) out[i] = s[i];
    return;
  }
  if (t == Transform::kOnnxProbit) {
    out[0] = OrtProbit(s[0]);
    return;
  }
  switch (add_second_class) {
    case 0:
    case 1:
      out[0] = 1 - s[0];
      out[1] = s[0];
      break;
    case 2:
    case 3:
      if (t == Transform::kOnnxLogistic) {
        out[0] = OrtLogistic(-s[0]);
        out[1] = OrtLogistic(s[0]);
      } else {
        out[0] = -s[0];
        out[1] = s[0];
      }
      break;
    default:
      out[0] = s[0];
      break;
  }
}

bool IsXgb(Transform t) { return t <= Transform::kXgbArgmax; }

}  // namespace

// XGBoost 1.7 common::Sigmoid: the exponent is clamped so expf never overflows.
float XgbSigmoid(float x) {
  constexpr float kEps = 1e-16f;
  x = std::min(-x, 88.7f);
  float denom = std::exp(x) + 1.0f + kEps;
  return 1.0f / denom;
}

Result<std::unique_ptr<TreeEnsemble>> TreeEnsemble::Create(const EnsembleDef& def) {
  if (def.num_targets < 1) return InvalidArgument("a tree ensemble needs at least one target");
  if (def.trees.empty()) return InvalidArgument("the model has no trees");
  if (def.transform == Transform::kXgbArgmax || def.transform == Transform::kXgbSoftmax) {
    if (def.num_targets < 2) return InvalidArgument("softmax objectives need at least 2 classes");
  }
  if (IsXgb(def.transform) && def.base_values.size() != static_cast<size_t>(def.num_targets)) {
    return InvalidArgument("base_score must have one value per target");
  }
  if (def.classifier && def.num_targets < 2) {
    return InvalidArgument("a classifier needs at least two classes");
  }
  if (def.classifier && def.class_labels.size() != static_cast<size_t>(def.num_targets)) {
    return InvalidArgument("class labels must have one entry per class");
  }
  std::unique_ptr<TreeEnsemble> e(new TreeEnsemble());
  e->num_targets_ = def.num_targets;
  e->num_outputs_ = def.transform == Transform::kXgbArgmax ? 1 : def.num_targets;
  e->aggregate_ = def.aggregate;
  e->transform_ = def.transform;
  e->base_values_ = def.base_values;
  e->classifier_ = def.classifier;
  e->class_labels_ = def.class_labels;

  int32_t max_feature = -1;
  int first_mode = -1;
  bool same_mode = true;
  std::set<int32_t> weight_targets;
  size_t total = 0;
  for (const auto& t : def.trees) total += t.size();
  e->nodes_.reserve(total);

  std::vector<int32_t> origin;  // new index (relative to the tree's base) → old index
  std::vector<char> seen;
  for (size_t ti = 0; ti < def.trees.size(); ++ti) {
    const auto& tree = def.trees[ti];
    const std::string where = "tree " + std::to_string(ti);
    if (tree.empty()) return InvalidArgument(where + " has no nodes");
    const uint32_t base = static_cast<uint32_t>(e->nodes_.size());
    e->roots_.push_back(base);
    origin.assign(1, 0);
    seen.assign(tree.size(), 0);
    seen[0] = 1;
    e->nodes_.push_back(Node{});
    for (size_t k = 0; k < origin.size(); ++k) {
      const NodeDef& d = tree[static_cast<size_t>(origin[k])];
      Node n{};
      if (d.mode == NodeMode::kLeaf) {
        n.mode = kLeafMode;
        n.left = static_cast<int32_t>(e->weights_.size());
        n.feature = static_cast<uint32_t>(d.weights.size());
        if (d.weights.empty()) {
          if (!IsXgb(def.transform)) {
            return InvalidArgument(where + ": leaf " + std::to_string(origin[k]) +
                                   " has no weight");
          }
        } else {
          n.value = d.weights[0].second;
        }
        if (d.weights.size() != 1 || d.weights[0].first != 0) e->single_weight_leaves_ = false;
        for (const auto& [target, w] : d.weights) {
          if (target < 0 || target >= def.num_targets) {
            return InvalidArgument(where + ": leaf weight for target " + std::to_string(target) +
                                   " but the model has " + std::to_string(def.num_targets));
          }
          if (w < 0) e->weights_all_positive_ = false;
          weight_targets.insert(target);
          e->weights_.push_back(Weight{target, w});
        }
      } else {
        if (d.feature < 0) return InvalidArgument(where + ": negative feature index");
        for (int32_t c : {d.true_child, d.false_child}) {
          if (c < 0 || static_cast<size_t>(c) >= tree.size()) {
            return InvalidArgument(where + ": node " + std::to_string(origin[k]) + " has child " +
                                   std::to_string(c) + " out of range");
          }
          if (seen[static_cast<size_t>(c)]) {
            return InvalidArgument(where + ": node " + std::to_string(c) +
                                   " is reached twice (the nodes do not form a tree)");
          }
          seen[static_cast<size_t>(c)] = 1;
        }
        n.mode = static_cast<uint8_t>(d.mode);
        n.feature = static_cast<uint32_t>(d.feature);
        n.value = ExactThreshold(d.threshold, d.mode);
        n.missing_true = d.missing_true ? 1 : 0;
        n.left = static_cast<int32_t>(e->nodes_.size());
        origin.push_back(d.true_child);
        origin.push_back(d.false_child);
        e->nodes_.push_back(Node{});
        e->nodes_.push_back(Node{});
        max_feature = std::max(max_feature, d.feature);
        if (first_mode < 0) first_mode = n.mode;
        if (first_mode != n.mode) same_mode = false;
      }
      e->nodes_[base + k] = n;
    }
  }
  if (def.num_targets != 1) e->single_weight_leaves_ = false;
  e->same_mode_ = same_mode ? std::max(first_mode, 0) : -1;
  e->num_features_ = std::max(def.num_features, max_feature + 1);
  e->binary_case_ = def.classifier && def.num_targets == 2 && weight_targets.size() == 1;
  return e;
}

template <int kMode>
inline const TreeEnsemble::Node* TreeEnsemble::Walk(const Node* root, const float* x) const {
  const Node* nodes = nodes_.data();
  const Node* n = root;
  while (n->mode != kLeafMode) {
    const float v = x[n->feature];
    // Branch-free: the direction is data, only the leaf test is a branch.
    const unsigned t = static_cast<unsigned>(Compare<kMode>(v, n->value)) |
                       (static_cast<unsigned>(n->missing_true) & static_cast<unsigned>(v != v));
    n = nodes + n->left + (t ^ 1u);
  }
  return n;
}

const TreeEnsemble::Node* TreeEnsemble::WalkAny(const Node* root, const float* x) const {
  switch (same_mode_) {
    case static_cast<int>(NodeMode::kLt):
      return Walk<static_cast<int>(NodeMode::kLt)>(root, x);
    case static_cast<int>(NodeMode::kLeq):
      return Walk<static_cast<int>(NodeMode::kLeq)>(root, x);
    default:
      break;
  }
  const Node* nodes = nodes_.data();
  const Node* n = root;
  while (n->mode != kLeafMode) {
    const float v = x[n->feature];
    const bool t = CompareAny(n->mode, v, n->value) || (n->missing_true && std::isnan(v));
    n = nodes + n->left + (t ? 0 : 1);
  }
  return n;
}

// Single target, one weight per leaf, summed: the XGBoost binary/regression hot path. Rows go
// in blocks so each tree's nodes stay in cache across the block; each row still adds its trees
// in model order, so the float sum is the same as row by row.
template <int kMode>
void TreeEnsemble::SumSingle(const float* x, int64_t rows, int64_t stride, float* out) const {
  constexpr int64_t kBlock = 64;
  const float init = IsXgb(transform_) ? base_values_[0] : 0.0f;
  const Node* nodes = nodes_.data();
  for (int64_t b = 0; b < rows; b += kBlock) {
    const int64_t e = std::min(rows, b + kBlock);
    for (int64_t r = b; r < e; ++r) out[r] = init;
    for (uint32_t root : roots_) {
      for (int64_t r = b; r < e; ++r) {
        const Node* leaf = kMode >= 0 ? Walk<kMode>(nodes + root, x + r * stride)
                                      : WalkAny(nodes + root, x + r * stride);
        out[r] += leaf->value;
      }
    }
  }
}

void TreeEnsemble::PredictBatch(const float* x, int64_t rows, int64_t stride, float* out,
                                int64_t* labels) const {
  const bool fast =
      single_weight_leaves_ && aggregate_ == Aggregate::kSum && !classifier_ &&
      (transform_ == Transform::kXgbIdentity || transform_ == Transform::kXgbSigmoid ||
       transform_ == Transform::kXgbExp || transform_ == Transform::kXgbHinge ||
       transform_ == Transform::kOnnxNone || transform_ == Transform::kOnnxProbit ||
       transform_ == Transform::kOnnxLogistic || transform_ == Transform::kOnnxSoftmax ||
       transform_ == Transform::kOnnxSoftmaxZero);
  if (!fast) {
    for (int64_t r = 0; r < rows; ++r) {
      PredictGeneral(x + r * stride, out + r * num_outputs_, labels ? labels + r : nullptr);
    }
    return;
  }
  if (same_mode_ == static_cast<int>(NodeMode::kLt)) {
    SumSingle<static_cast<int>(NodeMode::kLt)>(x, rows, stride, out);
  } else if (same_mode_ == static_cast<int>(NodeMode::kLeq)) {
    SumSingle<static_cast<int>(NodeMode::kLeq)>(x, rows, stride, out);
  } else {
    SumSingle<-1>(x, rows, stride, out);
  }
  switch (transform_) {
    case Transform::kXgbSigmoid:
      for (int64_t r = 0; r < rows; ++r) out[r] = XgbSigmoid(out[r]);
      break;
    case Transform::kXgbExp:
      for (int64_t r = 0; r < rows; ++r) out[r] = std::exp(out[r]);
      break;
    case Transform::kXgbHinge:
      for (int64_t r = 0; r < rows; ++r) out[r] = out[r] > 0.0f ? 1.0f : 0.0f;
      break;
    case Transform::kXgbIdentity:
      break;
    default: {
      // ONNX regressor, one target, SUM: add base_values[0] when it is the only one; only
      // PROBIT applies (ONNX Runtime's FinalizeScores1).
      const float origin = base_values_.size() == 1 ? base_values_[0] : 0.0f;
      for (int64_t r = 0; r < rows; ++r) {
        float s = out[r] + origin;
        out[r] = transform_ == Transform::kOnnxProbit ? OrtProbit(s) : s;
      }
      break;
    }
  }
}

void TreeEnsemble::PredictRow(const float* row, float* out, int64_t* label) const {
  PredictBatch(row, 1, num_features_, out, label);
}

void TreeEnsemble::PredictGeneral(const float* row, float* out, int64_t* label) const {
  float stack_scores[kStackTargets];
  unsigned char stack_has[kStackTargets];
  std::vector<float> heap_scores;
  std::vector<unsigned char> heap_has;
  float* s = stack_scores;
  unsigned char* has = stack_has;
  if (num_targets_ > kStackTargets) {
    heap_scores.resize(static_cast<size_t>(num_targets_));
    heap_has.resize(static_cast<size_t>(num_targets_));
    s = heap_scores.data();
    has = heap_has.data();
  }
  const bool xgb = IsXgb(transform_);
  for (int32_t t = 0; t < num_targets_; ++t) {
    s[t] = xgb ? base_values_[static_cast<size_t>(t)] : 0.0f;
    has[t] = 0;
  }
  const Node* nodes = nodes_.data();
  const bool one = num_targets_ == 1;
  for (uint32_t root : roots_) {
    const Node* leaf = WalkAny(nodes + root, row);
    if (one) {
      // ONNX Runtime's single-target path uses the leaf's first weight only.
      const float w = leaf->value;
      switch (aggregate_) {
        case Aggregate::kSum:
        case Aggregate::kAverage:
          s[0] += w;
          break;
        case Aggregate::kMin:
          s[0] = (!has[0] || w < s[0]) ? w : s[0];
          has[0] = 1;
          break;
        case Aggregate::kMax:
          s[0] = (!has[0] || w > s[0]) ? w : s[0];
          has[0] = 1;
          break;
      }
      continue;
    }
    const Weight* w = weights_.data() + leaf->left;
    for (uint32_t k = 0; k < leaf->feature; ++k, ++w) {
      float& v = s[w->target];
      switch (aggregate_) {
        case Aggregate::kSum:
        case Aggregate::kAverage:
          v += w->value;
          break;
        case Aggregate::kMin:
          v = (!has[w->target] || w->value < v) ? w->value : v;
          break;
        case Aggregate::kMax:
          v = (!has[w->target] || w->value > v) ? w->value : v;
          break;
      }
      has[w->target] = 1;
    }
  }
  Finalize(s, has, out, label);
}

void TreeEnsemble::Finalize(float* s, const unsigned char* has_in, float* out,
                            int64_t* label) const {
  const int n = num_targets_;
  switch (transform_) {
    case Transform::kXgbIdentity:
      for (int i = 0; i < n; ++i) out[i] = s[i];
      return;
    case Transform::kXgbSigmoid:
      for (int i = 0; i < n; ++i) out[i] = XgbSigmoid(s[i]);
      return;
    case Transform::kXgbExp:
      for (int i = 0; i < n; ++i) out[i] = std::exp(s[i]);
      return;
    case Transform::kXgbHinge:
      for (int i = 0; i < n; ++i) out[i] = s[i] > 0.0f ? 1.0f : 0.0f;
      return;
    case Transform::kXgbSoftmax: {
      // XGBoost common::Softmax: float max, float exps, double sum.
      float wmax = s[0];
      for (int i = 1; i < n; ++i) wmax = std::fmax(s[i], wmax);
      double wsum = 0.0;
      for (int i = 0; i < n; ++i) {
        out[i] = std::exp(s[i] - wmax);
        wsum += out[i];
      }
      for (int i = 0; i < n; ++i) out[i] /= static_cast<float>(wsum);
      return;
    }
    case Transform::kXgbArgmax: {
      int best = 0;
      for (int i = 1; i < n; ++i) {
        if (s[i] > s[best]) best = i;
      }
      out[0] = static_cast<float>(best);
      return;
    }
    default:
      break;
  }

  // ONNX Runtime semantics from here on. `has` may be updated (classifier base values).
  unsigned char has_local[kStackTargets];
  std::vector<unsigned char> has_heap;
  unsigned char* has = has_local;
  if (n > kStackTargets) {
    has_heap.assign(has_in, has_in + n);
    has = has_heap.data();
  } else {
    std::copy(has_in, has_in + n, has);
  }
  const auto& base = base_values_;
  const size_t n_trees = roots_.size();

  if (!classifier_) {
    if (n == 1) {
      float v = s[0];
      const float origin = base.size() == 1 ? base[0] : 0.0f;
      switch (aggregate_) {
        case Aggregate::kSum:
          v += origin;
          break;
        case Aggregate::kAverage:
          v /= n_trees;
          v += origin;
          break;
        default:
          v = has[0] ? v + origin : origin;
          break;
      }
      out[0] = transform_ == Transform::kOnnxProbit ? OrtProbit(v) : v;
      return;
    }
    const bool use_base = base.size() == static_cast<size_t>(n);
    switch (aggregate_) {
      case Aggregate::kSum:
        if (use_base) {
          for (int i = 0; i < n; ++i) s[i] = s[i] + base[i];
        }
        break;
      case Aggregate::kAverage:
        for (int i = 0; i < n; ++i) s[i] = use_base ? s[i] / n_trees + base[i] : s[i] / n_trees;
        break;
      default:
        for (int i = 0; i < n; ++i) {
          float val = use_base ? base[i] : 0.f;
          val += has[i] ? s[i] : 0;
          s[i] = val;
        }
        break;
    }
    // write_scores reads a score without a leaf contribution as 0.
    for (int i = 0; i < n; ++i) s[i] = has[i] ? s[i] : 0.0f;
    OrtWriteScores(s, n, transform_, out, -1);
    return;
  }

  // TreeAggregatorClassifier::FinalizeScores.
  int add_second_class = -1;
  int live = n;
  int64_t lab = 0;
  if (n > 2) {
    for (size_t k = 0; k < base.size() && k < static_cast<size_t>(n); ++k) {
      if (!has[k]) {
        has[k] = 1;
        s[k] = base[k];
      } else {
        s[k] += base[k];
      }
    }
    int64_t maxclass = -1;
    float maxweight = 0;
    for (int i = 0; i < n; ++i) {
      if (has[i] && (maxclass == -1 || s[i] > maxweight)) {
        maxclass = i;
        maxweight = s[i];
      }
    }
    lab = class_labels_[static_cast<size_t>(std::max<int64_t>(maxclass, 0))];
  } else {
    if (base.size() == 2) {
      if (has[1]) {
        s[1] = base[1] + s[0];
        s[0] = -s[1];
        has[1] = 1;
      } else {
        s[1] += base[1];
        s[0] += base[0];
      }
    } else if (base.size() == 1) {
      s[0] += base[0];
      if (!has[1]) live = 1;
    } else if (base.empty()) {
      add_second_class = 3;
      if (!has[1]) live = 1;
    }
    // _set_score_binary
    float pos_weight;
    if (live == 2 && has[1]) {
      pos_weight = s[1];
    } else {
      pos_weight = has[0] ? s[0] : 0;
    }
    if (binary_case_) {
      if (weights_all_positive_) {
        if (pos_weight > 0.5) {
          add_second_class = 0;
          lab = class_labels_[1];
        } else {
          add_second_class = 1;
          lab = class_labels_[0];
        }
      } else {
        if (pos_weight > 0) {
          add_second_class = 2;
          lab = class_labels_[1];
        } else {
          add_second_class = 3;
          lab = class_labels_[0];
        }
      }
    } else {
      lab = pos_weight > 0 ? 1 : 0;
    }
  }
  if (label) *label = lab;
  // ONNX Runtime reads a score without a leaf contribution as 0 (ScoreValue's operator T).
  for (int i = 0; i < live; ++i) s[i] = has[i] ? s[i] : 0.0f;
  if (live == 1) out[1] = 0.0f;  // PROBIT leaves the second column unwritten in ONNX Runtime
  OrtWriteScores(s, live, transform_, out, add_second_class);
}

std::vector<std::vector<float>> TreeEnsemble::ThresholdsByFeature() const {
  std::vector<std::vector<float>> out(static_cast<size_t>(num_features_));
  for (const Node& n : nodes_) {
    if (n.mode == kLeafMode || std::isnan(n.value)) continue;
    out[n.feature].push_back(n.value);
  }
  for (auto& v : out) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  return out;
}

}  // namespace studio::serving::trees
