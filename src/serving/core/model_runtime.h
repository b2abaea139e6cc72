#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/core/tensor.h"

namespace studio::serving {

// A model input or output as the runtime sees it; -1 marks a variable dimension (the batch).
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;
};

struct RuntimeOptions {
  // Threads a single prediction may use. Serving runs one prediction per worker thread, so 1.
  int intra_op_threads = 1;
};

// A loaded model, ready to predict. Implementations: XGBoost (native tree engine, checked
// against libxgboost) and ONNX (our own graph runtime). Immutable after load and safe to call
// from many threads at once; the server holds it through a shared_ptr so a hot reload can
// swap in a new version while in-flight requests finish on the old one.
class ModelRuntime {
 public:
  virtual ~ModelRuntime() = default;

  // "xgboost-native", "libxgboost", "onnx": what actually computes predictions.
  virtual std::string_view Engine() const = 0;
  virtual const std::vector<TensorSpec>& Inputs() const = 0;
  virtual const std::vector<TensorSpec>& Outputs() const = 0;

  // General path: one tensor per Inputs() entry, in that order (OIP, multi-input ONNX models).
  // Fills one tensor per Outputs() entry. Errors are kInvalidParameterValue naming the input.
  virtual Status Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const = 0;

  // Tabular fast path for models whose single input is a [rows, cols] numeric matrix:
  // `x` is row-major float32. The default wraps `x` into a Tensor of Inputs()[0]'s dtype and
  // calls Run(); runtimes override it to avoid the copy.
  virtual Status PredictRows(const float* x, int64_t rows, int64_t cols,
                             std::vector<Tensor>* outputs) const;
};

}  // namespace studio::serving
