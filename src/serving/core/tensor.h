#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studio::serving {

// Element types: the ONNX TensorProto set that our runtimes and the wire protocols use.
enum class DType : uint8_t {
  kUndefined = 0,
  kFloat32,
  kFloat64,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kBool,  // one byte per element, 0 or 1
  kString,
};

size_t DTypeSize(DType t);  // bytes per element; 0 for kString / kUndefined
// Open Inference Protocol names: "FP32", "FP64", "INT32", "INT64", "BOOL", "BYTES", ...
std::string_view DTypeOipName(DType t);
std::optional<DType> DTypeFromOipName(std::string_view name);
// MLflow signature type names: "float", "double", "integer", "long", "boolean", "string".
std::string_view DTypeMlflowName(DType t);
std::optional<DType> DTypeFromMlflowName(std::string_view name);

template <class T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() {
  return DType::kFloat32;
}
template <>
constexpr DType DTypeOf<double>() {
  return DType::kFloat64;
}
template <>
constexpr DType DTypeOf<int8_t>() {
  return DType::kInt8;
}
template <>
constexpr DType DTypeOf<uint8_t>() {
  return DType::kUInt8;
}
template <>
constexpr DType DTypeOf<int16_t>() {
  return DType::kInt16;
}
template <>
constexpr DType DTypeOf<uint16_t>() {
  return DType::kUInt16;
}
template <>
constexpr DType DTypeOf<int32_t>() {
  return DType::kInt32;
}
template <>
constexpr DType DTypeOf<uint32_t>() {
  return DType::kUInt32;
}
template <>
constexpr DType DTypeOf<int64_t>() {
  return DType::kInt64;
}
template <>
constexpr DType DTypeOf<uint64_t>() {
  return DType::kUInt64;
}
template <>
constexpr DType DTypeOf<bool>() {
  return DType::kBool;
}

// Keys of a ZipMap output (a sequence of maps, one map per row, keyed by class label).
struct MapKeys {
  std::vector<std::string> strings;  // string labels, or
  std::vector<int64_t> ints;         // integer labels
};

// A dense, row-major tensor that owns its data. Numeric data lives in an 8-byte aligned
// buffer; strings in `strings()`. A tensor with `map_keys` set is a ZipMap output: float
// values of shape [rows, keys] meant to be read as one map per row.
class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, std::vector<int64_t> shape);  // zero-filled (empty strings)

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t size() const { return size_; }  // number of elements
  size_t byte_size() const { return static_cast<size_t>(size_) * DTypeSize(dtype_); }

  // Typed access; T must match dtype() (bool tensors are read as uint8_t or bool).
  template <class T>
  T* data() {
    return reinterpret_cast<T*>(words_.data());
  }
  template <class T>
  const T* data() const {
    return reinterpret_cast<const T*>(words_.data());
  }
  void* raw() { return words_.data(); }
  const void* raw() const { return words_.data(); }
  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Same element count required.
  void Reshape(std::vector<int64_t> shape);
  // Reallocates (contents unspecified afterwards, zero for new elements).
  void Resize(DType dtype, std::vector<int64_t> shape);

  std::optional<MapKeys> map_keys;

  // Element i converted to double (numeric and bool tensors).
  double AsDouble(int64_t i) const;

 private:
  DType dtype_ = DType::kUndefined;
  std::vector<int64_t> shape_;
  int64_t size_ = 0;
  std::vector<uint64_t> words_;
  std::vector<std::string> strings_;
};

int64_t ShapeSize(const std::vector<int64_t>& shape);
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace studio::serving
