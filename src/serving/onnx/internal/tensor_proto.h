#pragma once

// TensorProto ↔ Tensor conversion. Only .cc files inside src/serving/onnx include protobuf;
// this header forward-declares the message.

#include <cstddef>
#include <optional>
#include <string>

#include "common/status.h"
#include "serving/core/tensor.h"

namespace onnx {
class TensorProto;
}  // namespace onnx

namespace studio::serving::onnx {

// TensorProto.DataType → DType; nullopt for types we do not compute with (float16, bfloat16,
// complex).
std::optional<DType> DTypeFromOnnx(int onnx_type);
// "FLOAT16", "BFLOAT16", ...: for error messages.
std::string OnnxTypeName(int onnx_type);

// Reads raw_data or the typed repeated fields. `what` names the tensor in errors.
Result<Tensor> TensorFromProto(const ::onnx::TensorProto& proto, const std::string& what);
// Parses a serialized TensorProto (the backend test data files).
Result<Tensor> TensorFromProtoBytes(const void* data, size_t size, const std::string& what);

}  // namespace studio::serving::onnx
