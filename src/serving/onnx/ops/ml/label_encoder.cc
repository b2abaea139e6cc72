// LabelEncoder, in both attribute forms: opset 1 (classes_strings: string <-> index) and
// opsets 2+ (keys_* -> values_* over strings, int64s and floats).

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "serving/onnx/ops/ml/ml_common.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx::ml {
namespace {

template <class T>
constexpr DType DTypeFor() {
  if constexpr (std::is_same_v<T, std::string>) {
    return DType::kString;
  } else {
    return DTypeOf<T>();
  }
}

template <class T>
const T& Get(const Tensor& t, int64_t i) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings()[static_cast<size_t>(i)];
  } else {
    return t.data<T>()[i];
  }
}

template <class T>
void Put(Tensor& t, int64_t i, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    t.strings()[static_cast<size_t>(i)] = v;
  } else {
    t.data<T>()[i] = v;
  }
}

template <class K, class V>
class Encoder final : public Kernel {
 public:
  // `nan_is_key`: from opset 4 a NaN key matches NaN inputs; before, NaN never matches (ORT).
  Encoder(std::string where, const std::vector<K>& keys, const std::vector<V>& values, V fallback,
          bool nan_is_key)
      : where_(std::move(where)), default_(std::move(fallback)) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if constexpr (std::is_floating_point_v<K>) {
        if (std::isnan(keys[i])) {
          if (nan_is_key && !nan_value_) nan_value_ = values[i];
          continue;
        }
      }
      map_.emplace(keys[i], values[i]);  // the first of duplicate keys wins, as in ORT
    }
  }

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    return Encode(*inputs[0], outputs[0]);
  }

  Status Encode(const Tensor& x, Tensor& y) const {
    if (x.dtype() != DTypeFor<K>()) {
      return InvalidArgument(where_ + ": input X is " + std::string(DTypeOipName(x.dtype())) +
                             " but the keys are " + std::string(DTypeOipName(DTypeFor<K>())));
    }
    y.Resize(DTypeFor<V>(), x.shape());
    for (int64_t i = 0; i < x.size(); ++i) {
      const K& key = Get<K>(x, i);
      if constexpr (std::is_floating_point_v<K>) {
        if (std::isnan(key)) {
          Put<V>(y, i, nan_value_ ? *nan_value_ : default_);
          continue;
        }
      }
      auto it = map_.find(key);
      Put<V>(y, i, it == map_.end() ? default_ : it->second);
    }
    return Status::Ok();
  }

 private:
  std::string where_;
  std::unordered_map<K, V> map_;
  V default_;
  std::optional<V> nan_value_;
};

// Opset 1: a string input maps to its index in classes_strings, an int64 input to the string
// at that index.
class EncoderV1 final : public Kernel {
 public:
  EncoderV1(const std::string& where, const std::vector<std::string>& classes, int64_t default_int,
            std::string default_string)
      : where_(where),
        to_index_(where, classes, Indices(classes.size()), default_int, false),
        to_string_(where, Indices(classes.size()), classes, std::move(default_string), false) {}

  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || inputs[0] == nullptr) {
      return InvalidArgument(where_ + ": missing input X");
    }
    const Tensor& x = *inputs[0];
    if (x.dtype() == DType::kString) return to_index_.Encode(x, outputs[0]);
    return to_string_.Encode(x, outputs[0]);
  }

 private:
  static std::vector<int64_t> Indices(size_t n) {
    std::vector<int64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<int64_t>(i);
    return v;
  }

  std::string where_;
  Encoder<std::string, int64_t> to_index_;
  Encoder<int64_t, std::string> to_string_;
};

template <class T>
std::vector<T> Values(const Attributes& a, std::string_view name) {
  if constexpr (std::is_same_v<T, std::string>) {
    return a.Strings(name);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return a.Ints(name);
  } else {
    return a.Floats(name);
  }
}

template <class V>
V DefaultValue(const Attributes& a) {
  // Schema defaults: "_Unused", -1, -0.0.
  if constexpr (std::is_same_v<V, std::string>) {
    return a.String("default_string", "_Unused");
  } else if constexpr (std::is_same_v<V, int64_t>) {
    return a.Int("default_int64", -1);
  } else {
    return a.Float("default_float", -0.0f);
  }
}

enum class Kind { kString, kInt64, kFloat };

template <class K, class V>
Result<std::unique_ptr<Kernel>> MakeEncoder(const NodeInfo& node, std::string_view keys_attr,
                                            std::string_view values_attr) {
  const Attributes& a = node.attributes;
  std::vector<K> keys = Values<K>(a, keys_attr);
  std::vector<V> values = Values<V>(a, values_attr);
  if (keys.size() != values.size()) {
    return NodeError(node, "'" + std::string(keys_attr) + "' has " + std::to_string(keys.size()) +
                               " entries but '" + std::string(values_attr) + "' has " +
                               std::to_string(values.size()));
  }
  return std::unique_ptr<Kernel>(std::make_unique<Encoder<K, V>>(
      NodeLabel(node), keys, values, DefaultValue<V>(a), node.opset >= 4));
}

template <class K>
Result<std::unique_ptr<Kernel>> MakeForKey(const NodeInfo& node, Kind v, std::string_view keys_attr,
                                           std::string_view values_attr) {
  switch (v) {
    case Kind::kString:
      return MakeEncoder<K, std::string>(node, keys_attr, values_attr);
    case Kind::kInt64:
      return MakeEncoder<K, int64_t>(node, keys_attr, values_attr);
    case Kind::kFloat:
      break;
  }
  return MakeEncoder<K, float>(node, keys_attr, values_attr);
}

// Which one of `<prefix>strings`, `<prefix>int64s`, `<prefix>floats` is set.
Result<Kind> OneOf(const NodeInfo& node, const std::string& prefix, std::string* attr) {
  const Attributes& a = node.attributes;
  int found = 0;
  Kind kind = Kind::kString;
  for (auto [suffix, k] : {std::pair{"strings", Kind::kString}, std::pair{"int64s", Kind::kInt64},
                           std::pair{"floats", Kind::kFloat}}) {
    std::string name = prefix + suffix;
    if (a.Has(name)) {
      ++found;
      kind = k;
      *attr = name;
    }
  }
  if (found != 1) {
    return NodeError(node, "exactly one of '" + prefix + "strings', '" + prefix + "int64s' and '" +
                               prefix + "floats' is required");
  }
  return kind;
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakeLabelEncoder(const NodeInfo& node) {
  const Attributes& a = node.attributes;
  if (node.num_outputs != 1) return NodeError(node, "expects exactly one output");
  if (node.opset <= 1) {
    if (!a.Has("classes_strings")) {
      return NodeError(node, "attribute 'classes_strings' is required");
    }
    return std::unique_ptr<Kernel>(std::make_unique<EncoderV1>(
        NodeLabel(node), a.Strings("classes_strings"), a.Int("default_int64", -1),
        a.String("default_string", "_Unused")));
  }
  for (const char* name : {"keys_tensor", "values_tensor", "default_tensor"}) {
    if (a.Has(name)) {
      return NodeError(node, std::string("attribute '") + name + "' is not supported");
    }
  }
  std::string keys_attr, values_attr;
  ASSIGN_OR_RETURN(Kind k, OneOf(node, "keys_", &keys_attr));
  ASSIGN_OR_RETURN(Kind v, OneOf(node, "values_", &values_attr));
  switch (k) {
    case Kind::kString:
      return MakeForKey<std::string>(node, v, keys_attr, values_attr);
    case Kind::kInt64:
      return MakeForKey<int64_t>(node, v, keys_attr, values_attr);
    case Kind::kFloat:
      break;
  }
  return MakeForKey<float>(node, v, keys_attr, values_attr);
}

}  // namespace studio::serving::onnx::ml
