#include "serving/core/model_runtime.h"

#include <cstring>

namespace studio::serving {

Status ModelRuntime::PredictRows(const float* x, int64_t rows, int64_t cols,
                                 std::vector<Tensor>* outputs) const {
  const auto& specs = Inputs();
  if (specs.size() != 1) {
    return InvalidArgument("the model has " + std::to_string(specs.size()) +
                           " inputs; send them as named tensors");
  }
  Tensor t(specs[0].dtype, {rows, cols});
  const int64_t n = rows * cols;
  switch (specs[0].dtype) {
    case DType::kFloat32:
      std::memcpy(t.data<float>(), x, n * sizeof(float));
      break;
    case DType::kFloat64:
      for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = x[i];
      break;
    case DType::kInt64:
      for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(x[i]);
      break;
    case DType::kInt32:
      for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(x[i]);
      break;
    default:
      return InvalidArgument("input '" + specs[0].name + "' of type " +
                             std::string(DTypeOipName(specs[0].dtype)) +
                             " cannot be fed from numeric rows");
  }
  std::span<const Tensor> in(&t, 1);
  return Run(in, outputs);
}

}  // namespace studio::serving
