// Add, Sub, Mul, Div (numpy broadcasting), Relu, LeakyRelu, Sigmoid, Tanh, Clip.

#include <cmath>
#include <limits>
#include <type_traits>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

enum class BinOp { kAdd, kSub, kMul, kDiv };

// Integer add/sub/mul wrap around like numpy (and ONNX Runtime) instead of overflowing into
// undefined behaviour.
template <class T>
T Wrap(BinOp op, T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    const U ua = static_cast<U>(a), ub = static_cast<U>(b);
    switch (op) {
      case BinOp::kAdd:
        return static_cast<T>(static_cast<U>(ua + ub));
      case BinOp::kSub:
        return static_cast<T>(static_cast<U>(ua - ub));
      default:
        return static_cast<T>(static_cast<U>(ua * ub));
    }
  } else {
    return op == BinOp::kAdd ? a + b : op == BinOp::kSub ? a - b : a * b;
  }
}

template <class T>
Status RunBinaryTyped(BinOp op, const BroadcastPlan& p, const Tensor& a, const Tensor& b,
                      Tensor& y) {
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = y.data<T>();
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case BinOp::kAdd:
        BroadcastBinary(p, pa, pb, py, [](T x, T z) { return x + z; });
        break;
      case BinOp::kSub:
        BroadcastBinary(p, pa, pb, py, [](T x, T z) { return x - z; });
        break;
      case BinOp::kMul:
        BroadcastBinary(p, pa, pb, py, [](T x, T z) { return x * z; });
        break;
      case BinOp::kDiv:
        BroadcastBinary(p, pa, pb, py, [](T x, T z) { return x / z; });
        break;
    }
  } else {
    if (op == BinOp::kDiv) {
      for (int64_t i = 0; i < b.size(); ++i) {
        if (pb[i] == 0) return InvalidArgument("integer division by zero");
        if constexpr (std::is_signed_v<T>) {
          if (pb[i] == -1) {
            for (int64_t j = 0; j < a.size(); ++j) {
              if (pa[j] == std::numeric_limits<T>::min()) {
                return InvalidArgument("integer division overflow");
              }
            }
          }
        }
      }
      BroadcastBinary(p, pa, pb, py, [](T x, T z) { return static_cast<T>(x / z); });
    } else {
      BroadcastBinary(p, pa, pb, py, [op](T x, T z) { return Wrap(op, x, z); });
    }
  }
  return Status::Ok();
}

struct BinaryState {
  BinOp op;
};

Status RunBinary(const BinaryState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0] || !in[1]) return MissingInput(in[0] ? 1 : 0);
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  if (a.dtype() != b.dtype()) {
    return InvalidArgument("input types differ: " + TypeName(a.dtype()) + " and " +
                           TypeName(b.dtype()));
  }
  ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast(a.shape(), b.shape()));
  out[0].Resize(a.dtype(), plan.out_shape);
  Status st = InvalidArgument("unsupported element type " + TypeName(a.dtype()));
  DispatchNumeric(a.dtype(),
                  [&](auto tag) { st = RunBinaryTyped<decltype(tag)>(s.op, plan, a, b, out[0]); });
  return st;
}

template <BinOp kOp>
Result<std::unique_ptr<Kernel>> MakeBinary(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 2, 2));
  if (node.opset < 7 && node.attributes.Int("broadcast", 0) != 0 && node.attributes.Has("axis")) {
    return NodeError(node, "legacy broadcast with 'axis' (opset < 7) is not supported");
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FnKernel<BinaryState>>(BinaryState{kOp}, &RunBinary));
}

// ---- unary ----

enum class UnOp { kRelu, kLeakyRelu, kSigmoid, kTanh };

struct UnaryState {
  UnOp op;
  float alpha = 0.01f;
};

template <class T>
void RunUnaryTyped(const UnaryState& s, const T* x, T* y, int64_t n) {
  switch (s.op) {
    case UnOp::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];  // NaN stays NaN
      break;
    case UnOp::kLeakyRelu: {
      const T alpha = static_cast<T>(s.alpha);
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= T(0) ? x[i] : x[i] * alpha;
      break;
    }
    case UnOp::kSigmoid:
      if constexpr (std::is_floating_point_v<T>) {
        // Stable on both tails: exp() only of non-positive arguments.
        for (int64_t i = 0; i < n; ++i) {
          if (x[i] >= T(0)) {
            y[i] = T(1) / (T(1) + std::exp(-x[i]));
          } else {
            const T e = std::exp(x[i]);
            y[i] = e / (T(1) + e);
          }
        }
      }
      break;
    case UnOp::kTanh:
      if constexpr (std::is_floating_point_v<T>) {
        for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      }
      break;
  }
}

Status RunUnary(const UnaryState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  out[0].Resize(x.dtype(), x.shape());
  bool ok = false;
  auto body = [&](auto tag) {
    using T = decltype(tag);
    RunUnaryTyped<T>(s, x.data<T>(), out[0].data<T>(), x.size());
  };
  if (s.op == UnOp::kRelu) {
    if (x.dtype() == DType::kFloat32 || x.dtype() == DType::kFloat64 || x.dtype() == DType::kInt8 ||
        x.dtype() == DType::kInt16 || x.dtype() == DType::kInt32 || x.dtype() == DType::kInt64) {
      ok = DispatchNumeric(x.dtype(), body);
    }
  } else {
    ok = DispatchFloat(x.dtype(), body);
  }
  if (!ok) return InvalidArgument("unsupported element type " + TypeName(x.dtype()));
  return Status::Ok();
}

template <UnOp kOp>
Result<std::unique_ptr<Kernel>> MakeUnary(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  UnaryState s{kOp};
  if (kOp == UnOp::kLeakyRelu) s.alpha = node.attributes.Float("alpha", 0.01f);
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<UnaryState>>(s, &RunUnary));
}

// ---- Clip ----

struct ClipState {
  bool bounds_from_inputs = true;  // opset >= 11
  float min_attr = -std::numeric_limits<float>::infinity();
  float max_attr = std::numeric_limits<float>::infinity();
};

Status RunClip(const ClipState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  out[0].Resize(x.dtype(), x.shape());
  Status st = Status::Ok();
  bool ok = DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest();
    T hi = std::numeric_limits<T>::max();
    if (s.bounds_from_inputs) {
      for (size_t k = 1; k < 3 && k < in.size(); ++k) {
        if (!in[k]) continue;
        if (in[k]->dtype() != x.dtype() || in[k]->size() != 1) {
          st = InvalidArgument(std::string(k == 1 ? "min" : "max") +
                               " must be a scalar of the input's type");
          return;
        }
        (k == 1 ? lo : hi) = in[k]->data<T>()[0];
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      lo = static_cast<T>(s.min_attr);
      hi = static_cast<T>(s.max_attr);
    }
    const T* px = x.data<T>();
    T* py = out[0].data<T>();
    // min(max(x, lo), hi) like the ONNX reference, so lo > hi yields hi.
    for (int64_t i = 0; i < x.size(); ++i) {
      const T v = px[i] < lo ? lo : px[i];
      py[i] = v > hi ? hi : v;
    }
  });
  if (!ok) return InvalidArgument("unsupported element type " + TypeName(x.dtype()));
  return st;
}

Result<std::unique_ptr<Kernel>> MakeClip(const NodeInfo& node) {
  ClipState s;
  s.bounds_from_inputs = node.opset >= 11;
  if (s.bounds_from_inputs) {
    RETURN_IF_ERROR(CheckArity(node, 1, 3));
  } else {
    RETURN_IF_ERROR(CheckArity(node, 1, 1));
    s.min_attr = node.attributes.Float("min", s.min_attr);
    s.max_attr = node.attributes.Float("max", s.max_attr);
  }
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<ClipState>>(s, &RunClip));
}

}  // namespace

void RegisterElementwise(KernelRegistry& r) {
  r.Register("", "Add", &MakeBinary<BinOp::kAdd>);
  r.Register("", "Sub", &MakeBinary<BinOp::kSub>);
  r.Register("", "Mul", &MakeBinary<BinOp::kMul>);
  r.Register("", "Div", &MakeBinary<BinOp::kDiv>);
  r.Register("", "Relu", &MakeUnary<UnOp::kRelu>);
  r.Register("", "LeakyRelu", &MakeUnary<UnOp::kLeakyRelu>);
  r.Register("", "Sigmoid", &MakeUnary<UnOp::kSigmoid>);
  r.Register("", "Tanh", &MakeUnary<UnOp::kTanh>);
  r.Register("", "Clip", &MakeClip);
}

}  // namespace studio::serving::onnx::ops
