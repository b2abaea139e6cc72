#include <onnx/onnx_pb.h>

#include <cstring>

#include "serving/onnx/internal/tensor_proto.h"

namespace studio::serving::onnx {
namespace {

using ::onnx::TensorProto;

template <class To, class Field>
void CopyField(const Field& field, Tensor& t) {
  To* out = t.data<To>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<To>(field.Get(i));
}

}  // namespace

std::optional<DType> DTypeFromOnnx(int onnx_type) {
  switch (onnx_type) {
    case TensorProto::FLOAT:
      return DType::kFloat32;
    case TensorProto::DOUBLE:
      return DType::kFloat64;
    case TensorProto::INT8:
      return DType::kInt8;
    case TensorProto::UINT8:
      return DType::kUInt8;
    case TensorProto::INT16:
      return DType::kInt16;
    case TensorProto::UINT16:
      return DType::kUInt16;
    case TensorProto::INT32:
      return DType::kInt32;
    case TensorProto::UINT32:
      return DType::kUInt32;
    case TensorProto::INT64:
      return DType::kInt64;
    case TensorProto::UINT64:
      return DType::kUInt64;
    case TensorProto::BOOL:
      return DType::kBool;
    case TensorProto::STRING:
      return DType::kString;
    default:
      return std::nullopt;
  }
}

std::string OnnxTypeName(int onnx_type) {
  if (TensorProto::DataType_IsValid(onnx_type)) {
    return TensorProto::DataType_Name(static_cast<TensorProto::DataType>(onnx_type));
  }
  return "type " + std::to_string(onnx_type);
}

Result<Tensor> TensorFromProto(const TensorProto& proto, const std::string& what) {
  auto dtype = DTypeFromOnnx(proto.data_type());
  if (!dtype) {
    return InvalidArgument(what + ": element type " + OnnxTypeName(proto.data_type()) +
                           " is not supported");
  }
  if (proto.data_location() == TensorProto::EXTERNAL) {
    return InvalidArgument(what + ": external tensor data is not supported");
  }
  if (proto.has_segment()) return InvalidArgument(what + ": segmented tensors are not supported");
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument(what + ": negative dimension in " + ShapeToString(shape));
  }
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d != 0 && count > (int64_t{1} << 40) / d) {
      return InvalidArgument(what + ": tensor too large " + ShapeToString(shape));
    }
    count *= d;
  }
  // Check the stored element count before allocating: a corrupt header must not make us
  // allocate more than the file holds.
  int64_t stored = 0;
  if (*dtype == DType::kString) {
    stored = proto.string_data_size();
  } else if (proto.has_raw_data()) {
    stored = static_cast<int64_t>(proto.raw_data().size() / DTypeSize(*dtype));
    if (proto.raw_data().size() % DTypeSize(*dtype) != 0) stored = -1;
  } else {
    switch (*dtype) {
      case DType::kFloat32:
        stored = proto.float_data_size();
        break;
      case DType::kFloat64:
        stored = proto.double_data_size();
        break;
      case DType::kInt64:
        stored = proto.int64_data_size();
        break;
      case DType::kUInt32:
      case DType::kUInt64:
        stored = proto.uint64_data_size();
        break;
      default:
        stored = proto.int32_data_size();
        break;
    }
  }
  if (stored != count) {
    return InvalidArgument(what + ": shape " + ShapeToString(shape) + " needs " +
                           std::to_string(count) + " elements, the tensor holds " +
                           std::to_string(stored));
  }
  Tensor t(*dtype, shape);
  const auto n = static_cast<int>(count);
  if (*dtype == DType::kString) {
    for (int i = 0; i < n; ++i) t.strings()[i] = proto.string_data(i);
    return t;
  }
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    if (!raw.empty()) std::memcpy(t.raw(), raw.data(), raw.size());  // little-endian host
    if (*dtype == DType::kBool) {
      for (int64_t i = 0; i < count; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
    }
    return t;
  }
  switch (*dtype) {
    case DType::kFloat32:
      CopyField<float>(proto.float_data(), t);
      break;
    case DType::kFloat64:
      CopyField<double>(proto.double_data(), t);
      break;
    case DType::kInt64:
      CopyField<int64_t>(proto.int64_data(), t);
      break;
    case DType::kUInt32:
      CopyField<uint32_t>(proto.uint64_data(), t);
      break;
    case DType::kUInt64:
      CopyField<uint64_t>(proto.uint64_data(), t);
      break;
    case DType::kInt32:
      CopyField<int32_t>(proto.int32_data(), t);
      break;
    case DType::kInt16:
      CopyField<int16_t>(proto.int32_data(), t);
      break;
    case DType::kUInt16:
      CopyField<uint16_t>(proto.int32_data(), t);
      break;
    case DType::kInt8:
      CopyField<int8_t>(proto.int32_data(), t);
      break;
    case DType::kUInt8:
      CopyField<uint8_t>(proto.int32_data(), t);
      break;
    case DType::kBool: {
      auto* out = t.data<uint8_t>();
      for (int i = 0; i < n; ++i) out[i] = proto.int32_data(i) != 0;
      break;
    }
    default:
      return InvalidArgument(what + ": unsupported element type");
  }
  return t;
}

Result<Tensor> TensorFromProtoBytes(const void* data, size_t size, const std::string& what) {
  TensorProto proto;
  if (size > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(data, static_cast<int>(size))) {
    return InvalidArgument(what + ": not a valid TensorProto");
  }
  return TensorFromProto(proto, what);
}

}  // namespace studio::serving::onnx
