#pragma once

// Our ONNX runtime (Debian has no ONNX Runtime): libonnx parses the model, our kernels
// (serving/onnx/kernel.h) compute. Supported operators: KernelRegistry::Default().Names().

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/core/model_runtime.h"

namespace studio::serving {

// Larger model files are refused before parsing (protobuf's own limit is 2 GiB).
inline constexpr size_t kMaxOnnxModelBytes = size_t{1} << 30;

// Loads an .onnx file. Errors: kResourceDoesNotExist when the file is missing;
// kInvalidParameterValue for a malformed or too large model, an unsupported operator (the
// message names "domain:op_type" and the node) or a graph we cannot plan. Engine() is "onnx".
Result<std::unique_ptr<ModelRuntime>> LoadOnnxRuntime(const std::string& path,
                                                      const RuntimeOptions& options = {});
// The same from the serialized ModelProto.
Result<std::unique_ptr<ModelRuntime>> LoadOnnxRuntimeFromBytes(std::string_view bytes,
                                                               const RuntimeOptions& options = {});

// "ai.onnx:Gemm", "ai.onnx.ml:TreeEnsembleRegressor", ...: what this build can run.
std::vector<std::string> SupportedOnnxOperators();

}  // namespace studio::serving
