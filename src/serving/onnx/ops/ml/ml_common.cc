#include "serving/onnx/ops/ml/ml_common.h"

#include <algorithm>
#include <utility>

namespace studio::serving::onnx::ml {

std::string NodeLabel(const NodeInfo& node) {
  std::string where(node.op_type);
  if (!node.name.empty()) where += " node '" + std::string(node.name) + "'";
  return where;
}

Result<PostTransform> ParsePostTransform(const NodeInfo& node) {
  std::string v = node.attributes.String("post_transform", "NONE");
  if (v == "NONE") return PostTransform::kNone;
  if (v == "LOGISTIC") return PostTransform::kLogistic;
  if (v == "SOFTMAX") return PostTransform::kSoftmax;
  if (v == "SOFTMAX_ZERO") return PostTransform::kSoftmaxZero;
  if (v == "PROBIT") return PostTransform::kProbit;
  return NodeError(node, "unknown post_transform '" + v +
                             "' (expected NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO or PROBIT)");
}

float MlasLogistic(float x) {
  if (std::isnan(x)) return x;
  x = std::clamp(x, -18.0f, 18.0f);
  const float x2 = x * x;
  float p = std::fma(x2, 4.37031012579801e-11f, 1.15627324459942e-07f);
  p = std::fma(p, x2, 6.08574864600143e-05f);
  p = std::fma(p, x2, 8.51377133304701e-03f);
  p = std::fma(p, x2, 2.48287947061529e-01f);
  p = p * x;
  float q = std::fma(x2, 6.10247389755681e-13f, 5.76102136993427e-09f);
  q = std::fma(q, x2, 6.29106785017040e-06f);
  q = std::fma(q, x2, 1.70198817374094e-03f);
  q = std::fma(q, x2, 1.16817656904453e-01f);
  q = std::fma(q, x2, 9.93151921023180e-01f);
  return std::clamp(p / q + 0.5f, 0.0f, 1.0f);
}

void Softmax(float* values, int64_t n) {
  float v_max = -std::numeric_limits<float>::max();
  for (int64_t i = 0; i < n; ++i) {
    if (values[i] > v_max) v_max = values[i];
  }
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    values[i] = std::exp(values[i] - v_max);
    sum += values[i];
  }
  for (int64_t i = 0; i < n; ++i) values[i] /= sum;
}

void SoftmaxZero(float* values, int64_t n) {
  float v_max = -std::numeric_limits<float>::max();
  for (int64_t i = 0; i < n; ++i) {
    if (values[i] > v_max) v_max = values[i];
  }
  float exp_neg_v_max = std::exp(-v_max);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    if (values[i] > 0.0000001f || values[i] < -0.0000001f) {
      values[i] = std::exp(values[i] - v_max);
      sum += values[i];
    } else {
      values[i] *= exp_neg_v_max;
    }
  }
  for (int64_t i = 0; i < n; ++i) values[i] /= sum;
}

void TransformRow(PostTransform t, float* row, int64_t n) {
  switch (t) {
    case PostTransform::kNone:
      break;
    case PostTransform::kLogistic:
      for (int64_t i = 0; i < n; ++i) row[i] = MlasLogistic(row[i]);
      break;
    case PostTransform::kSoftmax:
      Softmax(row, n);
      break;
    case PostTransform::kSoftmaxZero:
      SoftmaxZero(row, n);
      break;
    case PostTransform::kProbit:
      for (int64_t i = 0; i < n; ++i) row[i] = ComputeProbit(row[i]);
      break;
  }
}

Status RowsCols(const std::string& where, const Tensor& t, int64_t* rows, int64_t* cols) {
  if (t.rank() == 1) {
    *rows = 1;
    *cols = t.dim(0);
  } else if (t.rank() == 2) {
    *rows = t.dim(0);
    *cols = t.dim(1);
  } else {
    return InvalidArgument(where + ": input must have rank 1 or 2, got shape " +
                           ShapeToString(t.shape()));
  }
  return Status::Ok();
}

namespace {
template <class T>
void Convert(const Tensor& t, std::vector<float>& out) {
  const T* p = t.data<T>();
  out.resize(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i) out[static_cast<size_t>(i)] = static_cast<float>(p[i]);
}
}  // namespace

Result<FloatMatrix> AsFloatMatrix(const std::string& where, const Tensor* input) {
  if (input == nullptr) return InvalidArgument(where + ": missing input X");
  FloatMatrix m;
  RETURN_IF_ERROR(RowsCols(where, *input, &m.rows, &m.cols));
  switch (input->dtype()) {
    case DType::kFloat32:
      m.borrowed = input->data<float>();
      return m;
    case DType::kFloat64:
      Convert<double>(*input, m.converted);
      break;
    case DType::kInt32:
      Convert<int32_t>(*input, m.converted);
      break;
    case DType::kInt64:
      Convert<int64_t>(*input, m.converted);
      break;
    default:
      return InvalidArgument(where + ": input X must be float, double, int32 or int64, got " +
                             std::string(DTypeOipName(input->dtype())));
  }
  return m;
}

}  // namespace studio::serving::onnx::ml
