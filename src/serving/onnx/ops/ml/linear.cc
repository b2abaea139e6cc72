// LinearRegressor and LinearClassifier: scores = X · coefficientsᵀ + intercepts, then ONNX
// Runtime's post transforms, including its binary special cases.

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serving/onnx/ops/ml/ml_common.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx::ml {
namespace {

// out[r, t] = sum_f x[r, f] * coef[t, f] + intercept[t], the way ORT's MLAS GEMM rounds it: a
// float fused multiply-add chain over the features, then the intercept. Bit-identical scores
// matter downstream: PROBIT amplifies a one-ulp difference to ~1e-4 relative near 0.5.
void Gemm(const FloatMatrix& x, const std::vector<float>& coef,
          const std::vector<float>& intercepts, int64_t targets, float* out) {
  const float* xs = x.values();
  for (int64_t r = 0; r < x.rows; ++r) {
    const float* row = xs + r * x.cols;
    for (int64_t t = 0; t < targets; ++t) {
      const float* w = coef.data() + t * x.cols;
      float acc = 0.f;
      for (int64_t f = 0; f < x.cols; ++f) acc = std::fma(row[f], w[f], acc);
      if (!intercepts.empty()) acc += intercepts[static_cast<size_t>(t)];
      out[r * targets + t] = acc;
    }
  }
}

class LinearRegressor final : public Kernel {
 public:
  LinearRegressor(std::string where, std::vector<float> coef, std::vector<float> intercepts,
                  int64_t targets, PostTransform post)
      : where_(std::move(where)),
        coef_(std::move(coef)),
        intercepts_(std::move(intercepts)),
        targets_(targets),
        post_(post) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    ASSIGN_OR_RETURN(FloatMatrix x, AsFloatMatrix(where_, inputs.empty() ? nullptr : inputs[0]));
    if (x.cols * targets_ != static_cast<int64_t>(coef_.size())) {
      return InvalidArgument(where_ + ": input has " + std::to_string(x.cols) +
                             " features but the coefficients expect " +
                             std::to_string(coef_.size() / static_cast<size_t>(targets_)));
    }
    Tensor& y = outputs[0];
    y.Resize(DType::kFloat32, {x.rows, targets_});
    float* out = y.data<float>();
    Gemm(x, coef_, intercepts_, targets_, out);
    // ORT transforms only when there are several targets, except PROBIT which it applies to a
    // single target too (LOGISTIC on one target is left as is).
    if (targets_ > 1) {
      for (int64_t r = 0; r < x.rows; ++r) TransformRow(post_, out + r * targets_, targets_);
    } else if (post_ == PostTransform::kProbit) {
      for (int64_t r = 0; r < x.rows; ++r) out[r] = ComputeProbit(out[r]);
    }
    return Status::Ok();
  }

 private:
  std::string where_;
  std::vector<float> coef_;
  std::vector<float> intercepts_;
  int64_t targets_;
  PostTransform post_;
};

class LinearClassifier final : public Kernel {
 public:
  struct Config {
    std::string where;
    std::vector<float> coef;
    std::vector<float> intercepts;
    int64_t classes = 0;  // rows of coefficients == intercepts.size()
    PostTransform post = PostTransform::kNone;
    std::vector<std::string> labels_strings;
    std::vector<int64_t> labels_ints;
  };
  explicit LinearClassifier(Config c) : c_(std::move(c)) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    ASSIGN_OR_RETURN(FloatMatrix x, AsFloatMatrix(c_.where, inputs.empty() ? nullptr : inputs[0]));
    const int64_t k = c_.classes;
    if (x.cols * k != static_cast<int64_t>(c_.coef.size())) {
      return InvalidArgument(c_.where + ": input has " + std::to_string(x.cols) +
                             " features but the coefficients expect " +
                             std::to_string(c_.coef.size() / static_cast<size_t>(k)));
    }
    const bool strings = !c_.labels_strings.empty();
    // One coefficient row (two labels, checked at load): ORT reports both classes' scores.
    const bool binary = k == 1;
    const int64_t out_classes = binary ? 2 : k;

    std::vector<float> scores(static_cast<size_t>(x.rows * k));
    Gemm(x, c_.coef, c_.intercepts, k, scores.data());

    Tensor& labels = outputs[0];
    labels.Resize(strings ? DType::kString : DType::kInt64, {x.rows});
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = scores.data() + r * k;
      size_t cls = 0;
      if (binary) {
        cls = row[0] > 0 ? 1 : 0;  // the positive class needs a score > 0
      } else {
        float best = row[0];
        for (int64_t j = 1; j < k; ++j) {
          if (row[j] > best) {
            best = row[j];
            cls = static_cast<size_t>(j);
          }
        }
      }
      if (strings) {
        labels.strings()[static_cast<size_t>(r)] = c_.labels_strings[cls];
      } else {
        labels.data<int64_t>()[r] = c_.labels_ints[cls];
      }
    }

    if (outputs.size() < 2) return Status::Ok();
    Tensor& out = outputs[1];
    out.Resize(DType::kFloat32, {x.rows, out_classes});
    float* z = out.data<float>();
    if (!binary) {
      std::copy(scores.begin(), scores.end(), z);
      for (int64_t r = 0; r < x.rows; ++r) TransformRow(c_.post, z + r * k, k);
    } else {
      // ORT (1.30) writes [1 - p, p] with p = logistic(s) under LOGISTIC and the raw score s
      // under every other transform (PROBIT is refused at load: ORT's output is garbage).
      for (int64_t r = 0; r < x.rows; ++r) {
        float s = scores[static_cast<size_t>(r)];
        if (c_.post == PostTransform::kLogistic) {
          z[2 * r] = ComputeLogistic(-s);
          z[2 * r + 1] = ComputeLogistic(s);
        } else {
          z[2 * r] = 1.f - s;
          z[2 * r + 1] = s;
        }
      }
    }
    return Status::Ok();
  }

 private:
  Config c_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeLinearRegressor(const NodeInfo& node) {
  const Attributes& a = node.attributes;
  std::vector<float> coef = a.Floats("coefficients");
  std::vector<float> intercepts = a.Floats("intercepts");
  int64_t targets = a.Int("targets", 1);
  ASSIGN_OR_RETURN(PostTransform post, ParsePostTransform(node));
  if (coef.empty()) return NodeError(node, "attribute 'coefficients' is required");
  if (targets < 1) return NodeError(node, "attribute 'targets' must be >= 1");
  if (coef.size() % static_cast<size_t>(targets) != 0) {
    return NodeError(node, "'coefficients' has " + std::to_string(coef.size()) +
                               " values, not a multiple of targets=" + std::to_string(targets));
  }
  if (!intercepts.empty() && intercepts.size() != static_cast<size_t>(targets)) {
    return NodeError(node, "'intercepts' has " + std::to_string(intercepts.size()) +
                               " values but targets=" + std::to_string(targets));
  }
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  return std::unique_ptr<Kernel>(std::make_unique<LinearRegressor>(
      NodeLabel(node), std::move(coef), std::move(intercepts), targets, post));
}

Result<std::unique_ptr<Kernel>> MakeLinearClassifier(const NodeInfo& node) {
  const Attributes& a = node.attributes;
  LinearClassifier::Config c;
  c.where = NodeLabel(node);
  c.coef = a.Floats("coefficients");
  c.intercepts = a.Floats("intercepts");
  c.labels_strings = a.Strings("classlabels_strings");
  c.labels_ints = a.Ints("classlabels_ints");
  ASSIGN_OR_RETURN(c.post, ParsePostTransform(node));
  int64_t multi_class = a.Int("multi_class", 0);
  if (multi_class != 0 && multi_class != 1) {
    return NodeError(node, "attribute 'multi_class' must be 0 or 1");
  }
  if (c.coef.empty()) return NodeError(node, "attribute 'coefficients' is required");
  if (c.labels_strings.empty() == c.labels_ints.empty()) {
    return NodeError(node,
                     "exactly one of 'classlabels_strings' and 'classlabels_ints' is required");
  }
  const size_t num_labels =
      c.labels_strings.empty() ? c.labels_ints.size() : c.labels_strings.size();
  // ORT sizes the classes by the intercepts; without them, by the labels.
  c.classes = static_cast<int64_t>(c.intercepts.empty() ? num_labels : c.intercepts.size());
  if (c.coef.size() % static_cast<size_t>(c.classes) != 0) {
    return NodeError(node, "'coefficients' has " + std::to_string(c.coef.size()) +
                               " values, not a multiple of the " + std::to_string(c.classes) +
                               " classes");
  }
  if (c.classes == 1 && num_labels != 2) {
    return NodeError(node,
                     "one coefficient row (binary classification) needs exactly 2 class "
                     "labels, got " +
                         std::to_string(num_labels));
  }
  if (c.classes > 1 && num_labels != static_cast<size_t>(c.classes)) {
    return NodeError(node, std::to_string(c.classes) + " intercepts but " +
                               std::to_string(num_labels) + " class labels");
  }
  if (c.classes == 1 && c.post == PostTransform::kProbit) {
    return NodeError(node,
                     "post_transform PROBIT is not supported with one coefficient row and "
                     "two class labels");
  }
  if (node.num_outputs < 1 || node.num_outputs > 2) {
    return NodeError(node, "expects outputs Y and (optionally) Z");
  }
  return std::unique_ptr<Kernel>(std::make_unique<LinearClassifier>(std::move(c)));
}

}  // namespace studio::serving::onnx::ml
