// Scaler, Normalizer and Imputer: element-wise feature preprocessing, with ORT's arithmetic
// types (a double input is scaled in double, then rounded to the float output).

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "serving/onnx/ops/ml/ml_common.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx::ml {
namespace {

// ----------------------------------------------------------------------------------- Scaler

class Scaler final : public Kernel {
 public:
  Scaler(std::string where, std::vector<float> scale, std::vector<float> offset)
      : where_(std::move(where)), scale_(std::move(scale)), offset_(std::move(offset)) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    const Tensor& x = *inputs[0];
    int64_t rows, cols;
    RETURN_IF_ERROR(RowsCols(where_, x, &rows, &cols));
    const auto n = static_cast<int64_t>(scale_.size());
    if (n != 1 && n != cols) {
      return InvalidArgument(where_ + ": input has " + std::to_string(cols) +
                             " features but scale/offset have " + std::to_string(n) + " values");
    }
    Tensor& y = outputs[0];
    y.Resize(DType::kFloat32, x.shape());
    switch (x.dtype()) {
      case DType::kFloat32:
        Apply<float>(x, y, cols);
        break;
      case DType::kFloat64:
        Apply<double>(x, y, cols);
        break;
      case DType::kInt32:
        Apply<int32_t>(x, y, cols);
        break;
      case DType::kInt64:
        Apply<int64_t>(x, y, cols);
        break;
      default:
        return InvalidArgument(where_ + ": input X must be float, double, int32 or int64");
    }
    return Status::Ok();
  }

 private:
  template <class T>
  void Apply(const Tensor& x, Tensor& y, int64_t cols) const {
    const T* in = x.data<T>();
    float* out = y.data<float>();
    const bool per_feature = scale_.size() != 1;
    for (int64_t i = 0; i < x.size(); ++i) {
      size_t j = per_feature ? static_cast<size_t>(i % cols) : 0;
      out[i] = static_cast<float>((in[i] - offset_[j]) * scale_[j]);
    }
  }

  std::string where_;
  std::vector<float> scale_;
  std::vector<float> offset_;
};

// ------------------------------------------------------------------------------- Normalizer

enum class Norm { kMax, kL1, kL2 };

template <class T>
void NormalizeRow(Norm norm, const T* in, float* out, int64_t n) {
  switch (norm) {
    case Norm::kMax: {
      float max = std::numeric_limits<float>::lowest();
      for (int64_t i = 0; i < n; ++i) max = std::max(max, static_cast<float>(in[i]));
      for (int64_t i = 0; i < n; ++i) {
        out[i] = max != 0.f ? static_cast<float>(in[i]) / max : static_cast<float>(in[i]);
      }
      break;
    }
    case Norm::kL1: {
      float sum = 0.f;
      for (int64_t i = 0; i < n; ++i) sum += static_cast<float>(std::abs(in[i]));
      for (int64_t i = 0; i < n; ++i) {
        out[i] = sum != 0.f ? static_cast<float>(in[i]) / sum : static_cast<float>(in[i]);
      }
      break;
    }
    case Norm::kL2: {
      float sum = 0.f;
      for (int64_t i = 0; i < n; ++i) {
        out[i] = static_cast<float>(in[i] * in[i]);
        sum += out[i];
      }
      for (int64_t i = 0; i < n; ++i) {
        if (sum != 0.f) {
          float v = std::sqrt(out[i] / sum);
          out[i] = in[i] < 0 ? -v : v;
        } else {
          out[i] = static_cast<float>(in[i]);
        }
      }
      break;
    }
  }
}

class Normalizer final : public Kernel {
 public:
  Normalizer(std::string where, Norm norm) : where_(std::move(where)), norm_(norm) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    const Tensor& x = *inputs[0];
    int64_t rows, cols;
    RETURN_IF_ERROR(RowsCols(where_, x, &rows, &cols));
    Tensor& y = outputs[0];
    y.Resize(DType::kFloat32, x.shape());
    switch (x.dtype()) {
      case DType::kFloat32:
        Apply<float>(x, y, rows, cols);
        break;
      case DType::kFloat64:
        Apply<double>(x, y, rows, cols);
        break;
      case DType::kInt32:
        Apply<int32_t>(x, y, rows, cols);
        break;
      case DType::kInt64:
        Apply<int64_t>(x, y, rows, cols);
        break;
      default:
        return InvalidArgument(where_ + ": input X must be float, double, int32 or int64");
    }
    return Status::Ok();
  }

 private:
  template <class T>
  void Apply(const Tensor& x, Tensor& y, int64_t rows, int64_t cols) const {
    for (int64_t r = 0; r < rows; ++r) {
      NormalizeRow<T>(norm_, x.data<T>() + r * cols, y.data<float>() + r * cols, cols);
    }
  }

  std::string where_;
  Norm norm_;
};

// ---------------------------------------------------------------------------------- Imputer

class Imputer final : public Kernel {
 public:
  Imputer(std::string where, std::vector<float> floats, float replaced_float,
          std::vector<int64_t> ints, int64_t replaced_int)
      : where_(std::move(where)),
        floats_(std::move(floats)),
        replaced_float_(replaced_float),
        ints_(std::move(ints)),
        replaced_int_(replaced_int) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    const Tensor& x = *inputs[0];
    int64_t rows, cols;
    RETURN_IF_ERROR(RowsCols(where_, x, &rows, &cols));
    Tensor& y = outputs[0];
    if (x.dtype() == DType::kFloat32 && !floats_.empty()) {
      RETURN_IF_ERROR(CheckWidth(floats_.size(), cols));
      y.Resize(DType::kFloat32, x.shape());
      Apply<float>(x.data<float>(), y.data<float>(), x.size(), cols, floats_, replaced_float_);
    } else if (x.dtype() == DType::kInt64 && !ints_.empty()) {
      RETURN_IF_ERROR(CheckWidth(ints_.size(), cols));
      y.Resize(DType::kInt64, x.shape());
      Apply<int64_t>(x.data<int64_t>(), y.data<int64_t>(), x.size(), cols, ints_, replaced_int_);
    } else {
      return InvalidArgument(where_ + ": input X is " + std::string(DTypeOipName(x.dtype())) +
                             " but the imputed values are " + (floats_.empty() ? "INT64" : "FP32"));
    }
    return Status::Ok();
  }

 private:
  Status CheckWidth(size_t n, int64_t cols) const {
    if (n == 1 || static_cast<int64_t>(n) == cols) return Status::Ok();
    return InvalidArgument(where_ + ": input has " + std::to_string(cols) + " features but " +
                           std::to_string(n) + " imputed values");
  }

  template <class T>
  static void Apply(const T* in, T* out, int64_t size, int64_t cols, const std::vector<T>& values,
                    T replaced) {
    const bool per_feature = values.size() != 1;
    bool replaced_nan = false;
    if constexpr (std::is_floating_point_v<T>) replaced_nan = std::isnan(replaced);
    for (int64_t i = 0; i < size; ++i) {
      bool hit = in[i] == replaced;
      if constexpr (std::is_floating_point_v<T>) hit = hit || (replaced_nan && std::isnan(in[i]));
      out[i] = hit ? values[per_feature ? static_cast<size_t>(i % cols) : 0] : in[i];
    }
  }

  std::string where_;
  std::vector<float> floats_;
  float replaced_float_;
  std::vector<int64_t> ints_;
  int64_t replaced_int_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeScaler(const NodeInfo& node) {
  std::vector<float> scale = node.attributes.Floats("scale");
  std::vector<float> offset = node.attributes.Floats("offset");
  if (scale.empty()) return NodeError(node, "attribute 'scale' is required");
  if (offset.size() != scale.size()) {
    return NodeError(node, "'offset' has " + std::to_string(offset.size()) +
                               " values but 'scale' has " + std::to_string(scale.size()));
  }
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  return std::unique_ptr<Kernel>(
      std::make_unique<Scaler>(NodeLabel(node), std::move(scale), std::move(offset)));
}

Result<std::unique_ptr<Kernel>> MakeNormalizer(const NodeInfo& node) {
  std::string v = node.attributes.String("norm", "MAX");
  Norm norm;
  if (v == "MAX") {
    norm = Norm::kMax;
  } else if (v == "L1") {
    norm = Norm::kL1;
  } else if (v == "L2") {
    norm = Norm::kL2;
  } else {
    return NodeError(node, "unknown norm '" + v + "' (expected MAX, L1 or L2)");
  }
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  return std::unique_ptr<Kernel>(std::make_unique<Normalizer>(NodeLabel(node), norm));
}

Result<std::unique_ptr<Kernel>> MakeImputer(const NodeInfo& node) {
  const Attributes& a = node.attributes;
  std::vector<float> floats = a.Floats("imputed_value_floats");
  std::vector<int64_t> ints = a.Ints("imputed_value_int64s");
  if (floats.empty() == ints.empty()) {
    return NodeError(
        node, "exactly one of 'imputed_value_floats' and 'imputed_value_int64s' is required");
  }
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  return std::unique_ptr<Kernel>(std::make_unique<Imputer>(
      NodeLabel(node), std::move(floats), a.Float("replaced_value_float", 0.f), std::move(ints),
      a.Int("replaced_value_int64", 0)));
}

}  // namespace studio::serving::onnx::ml
