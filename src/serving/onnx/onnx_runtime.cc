#include "serving/onnx/onnx_runtime.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "serving/onnx/internal/graph.h"

namespace studio::serving {
namespace {

class OnnxRuntime : public ModelRuntime {
 public:
  explicit OnnxRuntime(std::unique_ptr<onnx::Graph> graph) : graph_(std::move(graph)) {}

  std::string_view Engine() const override { return "onnx"; }
  const std::vector<TensorSpec>& Inputs() const override { return graph_->inputs(); }
  const std::vector<TensorSpec>& Outputs() const override { return graph_->outputs(); }

  Status Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const override {
    return graph_->Run(inputs, outputs);
  }

  // The rows go straight into the input tensor of the graph's dtype (one conversion pass, no
  // intermediate copy), then the graph runs without re-validating what we built.
  Status PredictRows(const float* x, int64_t rows, int64_t cols,
                     std::vector<Tensor>* outputs) const override {
    const auto& specs = graph_->inputs();
    if (specs.size() != 1 || specs[0].dtype != DType::kFloat32) {
      return ModelRuntime::PredictRows(x, rows, cols, outputs);
    }
    Tensor t(DType::kFloat32, {rows, cols});
    if (rows * cols > 0) std::memcpy(t.data<float>(), x, rows * cols * sizeof(float));
    RETURN_IF_ERROR(graph_->ValidateInput(0, t));
    const Tensor* in = &t;
    return graph_->RunUnchecked(std::span<const Tensor* const>(&in, 1), outputs);
  }

 private:
  std::unique_ptr<onnx::Graph> graph_;
};

}  // namespace

Result<std::unique_ptr<ModelRuntime>> LoadOnnxRuntimeFromBytes(std::string_view bytes,
                                                               const RuntimeOptions&) {
  if (bytes.size() > kMaxOnnxModelBytes) {
    return InvalidArgument("the ONNX model is " + std::to_string(bytes.size()) +
                           " bytes; the limit is " + std::to_string(kMaxOnnxModelBytes));
  }
  ASSIGN_OR_RETURN(auto graph, onnx::LoadGraph(bytes.data(), bytes.size()));
  return std::unique_ptr<ModelRuntime>(std::make_unique<OnnxRuntime>(std::move(graph)));
}

Result<std::unique_ptr<ModelRuntime>> LoadOnnxRuntime(const std::string& path,
                                                      const RuntimeOptions& options) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return NotFound("cannot read ONNX model " + path + ": " + ec.message());
  if (size > kMaxOnnxModelBytes) {
    return InvalidArgument("the ONNX model " + path + " is " + std::to_string(size) +
                           " bytes; the limit is " + std::to_string(kMaxOnnxModelBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return NotFound("cannot read ONNX model " + path);
  }
  auto rt = LoadOnnxRuntimeFromBytes(bytes, options);
  if (!rt.ok()) return Status(rt.status().code(), path + ": " + rt.status().message());
  return rt;
}

std::vector<std::string> SupportedOnnxOperators() {
  return onnx::KernelRegistry::Default().Names();
}

}  // namespace studio::serving
