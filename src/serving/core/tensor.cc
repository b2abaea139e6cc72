#include "serving/core/tensor.h"

#include <array>
#include <stdexcept>
#include <utility>

namespace studio::serving {
namespace {

struct DTypeNames {
  DType type;
  size_t size;
  std::string_view oip;
  std::string_view mlflow;
};

constexpr std::array<DTypeNames, 12> kNames = {{
    {DType::kFloat32, 4, "FP32", "float"},
    {DType::kFloat64, 8, "FP64", "double"},
    {DType::kInt8, 1, "INT8", ""},
    {DType::kUInt8, 1, "UINT8", ""},
    {DType::kInt16, 2, "INT16", ""},
    {DType::kUInt16, 2, "UINT16", ""},
    {DType::kInt32, 4, "INT32", "integer"},
    {DType::kUInt32, 4, "UINT32", ""},
    {DType::kInt64, 8, "INT64", "long"},
    {DType::kUInt64, 8, "UINT64", ""},
    {DType::kBool, 1, "BOOL", "boolean"},
    {DType::kString, 0, "BYTES", "string"},
}};

const DTypeNames* Find(DType t) {
  for (const auto& n : kNames) {
    if (n.type == t) return &n;
  }
  return nullptr;
}

}  // namespace

size_t DTypeSize(DType t) {
  const auto* n = Find(t);
  return n ? n->size : 0;
}

std::string_view DTypeOipName(DType t) {
  const auto* n = Find(t);
  return n ? n->oip : "UNDEFINED";
}

std::optional<DType> DTypeFromOipName(std::string_view name) {
  for (const auto& n : kNames) {
    if (n.oip == name) return n.type;
  }
  return std::nullopt;
}

std::string_view DTypeMlflowName(DType t) {
  const auto* n = Find(t);
  return n && !n->mlflow.empty() ? n->mlflow : DTypeOipName(t);
}

std::optional<DType> DTypeFromMlflowName(std::string_view name) {
  for (const auto& n : kNames) {
    if (!n.mlflow.empty() && n.mlflow == name) return n.type;
  }
  return std::nullopt;
}

int64_t ShapeSize(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) { Resize(dtype, std::move(shape)); }

void Tensor::Resize(DType dtype, std::vector<int64_t> shape) {
  dtype_ = dtype;
  shape_ = std::move(shape);
  size_ = ShapeSize(shape_);
  if (dtype_ == DType::kString) {
    words_.clear();
    strings_.assign(static_cast<size_t>(size_), std::string());
  } else {
    strings_.clear();
    words_.assign((static_cast<size_t>(size_) * DTypeSize(dtype_) + 7) / 8, 0);
  }
}

void Tensor::Reshape(std::vector<int64_t> shape) {
  if (ShapeSize(shape) != size_) {
    throw std::invalid_argument("Tensor::Reshape: element count changes from " +
                                ShapeToString(shape_) + " to " + ShapeToString(shape));
  }
  shape_ = std::move(shape);
}

double Tensor::AsDouble(int64_t i) const {
  switch (dtype_) {
    case DType::kFloat32:
      return data<float>()[i];
    case DType::kFloat64:
      return data<double>()[i];
    case DType::kInt8:
      return data<int8_t>()[i];
    case DType::kUInt8:
      return data<uint8_t>()[i];
    case DType::kInt16:
      return data<int16_t>()[i];
    case DType::kUInt16:
      return data<uint16_t>()[i];
    case DType::kInt32:
      return data<int32_t>()[i];
    case DType::kUInt32:
      return data<uint32_t>()[i];
    case DType::kInt64:
      return static_cast<double>(data<int64_t>()[i]);
    case DType::kUInt64:
      return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool:
      return data<uint8_t>()[i] ? 1.0 : 0.0;
    default:
      return 0.0;
  }
}

}  // namespace studio::serving
