#pragma once

// Helpers shared by the ai.onnx.ml kernels. The numerics follow ONNX Runtime's CPU provider
// (onnxruntime/core/providers/cpu/ml/ml_common.h) because ORT is what converted models are
// validated against: same logistic, the same erfinv approximation for PROBIT, float softmax.

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/core/tensor.h"
#include "serving/onnx/kernel.h"

namespace studio::serving::onnx::ml {

enum class PostTransform { kNone, kLogistic, kSoftmax, kSoftmaxZero, kProbit };

// "LinearClassifier node 'x'": the prefix of every run-time error of a kernel.
std::string NodeLabel(const NodeInfo& node);

// Parses the post_transform attribute (default NONE); anything else is a load error.
Result<PostTransform> ParsePostTransform(const NodeInfo& node);

// ORT's scalar logistic (binary and single-score cases).
inline float ComputeLogistic(float val) {
  float v = 1 / (1 + std::exp(-std::abs(val)));
  return (val < 0) ? (1 - v) : v;
}

// MLAS's vectorised logistic (Eigen's rational approximation, FMA3 kernel), which ORT uses for
// rows of several scores.
float MlasLogistic(float x);

// Winitzki's approximation, as ORT computes it: PROBIT outputs must match ORT, not the exact
// inverse error function.
inline float ErfInv(float x) {
  float sgn = x < 0 ? -1.0f : 1.0f;
  x = (1 - x) * (1 + x);
  float log = std::log(x);
  float v = 2 / (std::numbers::pi_v<float> * 0.147f) + 0.5f * log;
  float v2 = 1 / (0.147f) * log;
  float v3 = -v + std::sqrt(v * v - v2);
  return sgn * std::sqrt(v3);
}

inline float ComputeProbit(float val) { return std::numbers::sqrt2_v<float> * ErfInv(2 * val - 1); }

void Softmax(float* values, int64_t n);
// Softmax that leaves (near-)zero scores out of the sum: they stand for "no vote".
void SoftmaxZero(float* values, int64_t n);

// Applies a post transform to one row of `n` scores when n >= 2 (n == 1 is the caller's
// binary-case business).
void TransformRow(PostTransform t, float* row, int64_t n);

// A rank-1 or rank-2 numeric input seen as a [rows, cols] float matrix (rank 1 is one row),
// converted from float/double/int32/int64 exactly as ORT casts it.
struct FloatMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  const float* borrowed = nullptr;  // the input's own data when it is float
  std::vector<float> converted;     // owns the data when the input was not float
  const float* values() const { return borrowed ? borrowed : converted.data(); }
};
Result<FloatMatrix> AsFloatMatrix(const std::string& where, const Tensor* input);

// Rows and columns of a rank-1 or rank-2 tensor, or an error naming the kernel.
Status RowsCols(const std::string& where, const Tensor& t, int64_t* rows, int64_t* cols);

}  // namespace studio::serving::onnx::ml
