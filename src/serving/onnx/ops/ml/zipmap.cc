// ZipMap and ArrayFeatureExtractor.

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serving/onnx/ops/ml/ml_common.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx::ml {
namespace {

// The output is the probabilities themselves, [N, C], with map_keys set: the wire protocols
// render each row as one {label: probability} map.
class ZipMap final : public Kernel {
 public:
  ZipMap(std::string where, MapKeys keys) : where_(std::move(where)), keys_(std::move(keys)) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    const Tensor& x = *inputs[0];
    if (x.dtype() != DType::kFloat32) return InvalidArgument(where_ + ": input X must be float");
    int64_t rows, cols;
    RETURN_IF_ERROR(RowsCols(where_, x, &rows, &cols));
    const size_t n = keys_.strings.empty() ? keys_.ints.size() : keys_.strings.size();
    if (cols != static_cast<int64_t>(n)) {
      return InvalidArgument(where_ + ": input has " + std::to_string(cols) + " columns but " +
                             std::to_string(n) + " class labels");
    }
    Tensor& y = outputs[0];
    y.Resize(DType::kFloat32, {rows, cols});
    std::copy(x.data<float>(), x.data<float>() + x.size(), y.data<float>());
    y.map_keys = keys_;
    return Status::Ok();
  }

 private:
  std::string where_;
  MapKeys keys_;
};

class ArrayFeatureExtractor final : public Kernel {
 public:
  explicit ArrayFeatureExtractor(std::string where) : where_(std::move(where)) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.size() < 2 || inputs[0] == nullptr || inputs[1] == nullptr) {
      return InvalidArgument(where_ + ": expects inputs X and Y");
    }
    const Tensor& x = *inputs[0];
    const Tensor& y = *inputs[1];
    if (x.rank() == 0) return InvalidArgument(where_ + ": input X must have rank >= 1");
    if (y.dtype() != DType::kInt64 && y.dtype() != DType::kInt32) {
      return InvalidArgument(where_ + ": indices Y must be int64");
    }
    const int64_t stride = x.dim(static_cast<size_t>(x.rank() - 1));
    const int64_t k = y.size();
    if (k == 0) return InvalidArgument(where_ + ": indices Y are empty");
    std::vector<int64_t> idx(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) {
      int64_t v = y.dtype() == DType::kInt64 ? y.data<int64_t>()[j] : y.data<int32_t>()[j];
      if (v < 0 || v >= stride) {
        return InvalidArgument(where_ + ": index Y[" + std::to_string(j) +
                               "] = " + std::to_string(v) + " is out of range for " +
                               std::to_string(stride) + " features");
      }
      idx[static_cast<size_t>(j)] = v;
    }
    std::vector<int64_t> shape = x.shape();
    if (x.rank() == 1) {
      shape = {1, k};  // ORT's backwards-compatible shape for a 1-D input
    } else {
      shape.back() = k;
    }
    const int64_t outer = stride == 0 ? 0 : x.size() / stride;
    Tensor& z = outputs[0];
    z.Resize(x.dtype(), shape);
    if (x.dtype() == DType::kString) {
      for (int64_t r = 0; r < outer; ++r) {
        for (int64_t j = 0; j < k; ++j) {
          z.strings()[static_cast<size_t>(r * k + j)] =
              x.strings()[static_cast<size_t>(r * stride + idx[static_cast<size_t>(j)])];
        }
      }
      return Status::Ok();
    }
    const size_t es = DTypeSize(x.dtype());
    if (es == 0) return InvalidArgument(where_ + ": unsupported input type");
    const auto* in = static_cast<const unsigned char*>(x.raw());
    auto* out = static_cast<unsigned char*>(z.raw());
    for (int64_t r = 0; r < outer; ++r) {
      for (int64_t j = 0; j < k; ++j) {
        std::memcpy(out + static_cast<size_t>(r * k + j) * es,
                    in + static_cast<size_t>(r * stride + idx[static_cast<size_t>(j)]) * es, es);
      }
    }
    return Status::Ok();
  }

 private:
  std::string where_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeZipMap(const NodeInfo& node) {
  MapKeys keys;
  keys.strings = node.attributes.Strings("classlabels_strings");
  keys.ints = node.attributes.Ints("classlabels_int64s");
  if (keys.strings.empty() == keys.ints.empty()) {
    return NodeError(node,
                     "exactly one of 'classlabels_strings' and 'classlabels_int64s' is required");
  }
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  return std::unique_ptr<Kernel>(std::make_unique<ZipMap>(NodeLabel(node), std::move(keys)));
}

Result<std::unique_ptr<Kernel>> MakeArrayFeatureExtractor(const NodeInfo& node) {
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  if (node.constant_inputs.size() != 2) return NodeError(node, "expects inputs X and Y");
  return std::unique_ptr<Kernel>(std::make_unique<ArrayFeatureExtractor>(NodeLabel(node)));
}

}  // namespace studio::serving::onnx::ml
