// Cast between numeric types, bool and string.

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "serving/onnx/internal/tensor_proto.h"
#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

struct CastState {
  DType to = DType::kUndefined;
};

// Float → integer saturates (NaN → 0) rather than invoking undefined behaviour.
template <class To, class From>
inline To Convert(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) {
      return std::numeric_limits<To>::max();
    }
  }
  return static_cast<To>(v);
}

template <class F>
bool DispatchNumericOrBool(DType t, F&& f) {
  if (t == DType::kBool) {
    f(bool{});
    return true;
  }
  return DispatchNumeric(t, std::forward<F>(f));
}

template <class T>
std::string ToString(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "1" : "0";
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
    return std::string(buf, r.ptr);
  } else {
    return std::to_string(v);
  }
}

template <class T>
Status FromString(const std::string& s, T* out) {
  const char* begin = s.c_str();
  char* end = nullptr;
  if constexpr (std::is_floating_point_v<T>) {
    const double v = std::strtod(begin, &end);  // accepts NaN, INF, +INF, -INF, exponents
    *out = static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    const double v = std::strtod(begin, &end);
    *out = v != 0;
  } else if constexpr (std::is_signed_v<T>) {
    *out = static_cast<T>(std::strtoll(begin, &end, 10));
  } else {
    *out = static_cast<T>(std::strtoull(begin, &end, 10));
  }
  if (end == begin || *end != '\0') return InvalidArgument("cannot cast '" + s + "' to a number");
  return Status::Ok();
}

Status RunCast(const CastState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  Tensor& y = out[0];
  y.Resize(s.to, x.shape());
  const int64_t n = x.size();
  if (x.dtype() == DType::kString && s.to == DType::kString) {
    y.strings() = x.strings();
    return Status::Ok();
  }
  Status st = Status::Ok();
  bool ok = false;
  if (x.dtype() == DType::kString) {
    ok = DispatchNumericOrBool(s.to, [&](auto tag) {
      using To = decltype(tag);
      To* py = reinterpret_cast<To*>(y.raw());
      for (int64_t i = 0; i < n && st.ok(); ++i) st = FromString<To>(x.strings()[i], &py[i]);
    });
  } else if (s.to == DType::kString) {
    ok = DispatchNumericOrBool(x.dtype(), [&](auto tag) {
      using From = decltype(tag);
      const From* px = reinterpret_cast<const From*>(x.raw());
      for (int64_t i = 0; i < n; ++i) y.strings()[i] = ToString<From>(px[i]);
    });
  } else {
    ok = DispatchNumericOrBool(x.dtype(), [&](auto from_tag) {
      using From = decltype(from_tag);
      const From* px = reinterpret_cast<const From*>(x.raw());
      ok = DispatchNumericOrBool(s.to, [&](auto to_tag) {
        using To = decltype(to_tag);
        To* py = reinterpret_cast<To*>(y.raw());
        if constexpr (std::is_same_v<To, bool>) {
          for (int64_t i = 0; i < n; ++i) py[i] = px[i] != From(0);
        } else {
          for (int64_t i = 0; i < n; ++i) py[i] = Convert<To>(px[i]);
        }
      });
    });
  }
  if (!ok) {
    return InvalidArgument("cannot cast " + TypeName(x.dtype()) + " to " + TypeName(s.to));
  }
  return st;
}

Result<std::unique_ptr<Kernel>> MakeCast(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  if (node.opset < 6 && node.attributes.Has("to") &&
      std::holds_alternative<std::string>(node.attributes.values().find("to")->second)) {
    return NodeError(node, "string-valued 'to' (opset < 6) is not supported");
  }
  if (!node.attributes.Has("to")) return NodeError(node, "attribute 'to' is required");
  const int64_t to = node.attributes.Int("to");
  auto dtype = DTypeFromOnnx(static_cast<int>(to));
  if (!dtype) {
    return NodeError(node,
                     "casting to " + OnnxTypeName(static_cast<int>(to)) + " is not supported");
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FnKernel<CastState>>(CastState{*dtype}, &RunCast));
}

}  // namespace

void RegisterCast(KernelRegistry& r) { r.Register("", "Cast", &MakeCast); }

}  // namespace studio::serving::onnx::ops
