// Softmax (both the opset < 13 "coerce to 2-D at axis" and the opset >= 13 per-axis
// semantics) and ArgMax.

#include <cmath>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

struct SoftmaxState {
  int64_t axis = -1;
  bool coerce_2d = false;  // opset < 13
};

// Softmax over `dim` elements spaced `inner` apart, for each (outer, inner) position.
template <class T>
void SoftmaxTyped(const T* x, T* y, int64_t outer, int64_t dim, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* xs = x + o * dim * inner + i;
      T* ys = y + o * dim * inner + i;
      T mx = xs[0];
      for (int64_t k = 1; k < dim; ++k) mx = xs[k * inner] > mx ? xs[k * inner] : mx;
      T sum = 0;
      for (int64_t k = 0; k < dim; ++k) {
        const T e = std::exp(xs[k * inner] - mx);
        ys[k * inner] = e;
        sum += e;
      }
      const T inv = T(1) / sum;
      for (int64_t k = 0; k < dim; ++k) ys[k * inner] *= inv;
    }
  }
}

Status RunSoftmax(const SoftmaxState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  const int64_t rank = x.rank();
  out[0].Resize(x.dtype(), x.shape());
  if (x.size() == 0) return Status::Ok();
  int64_t axis = 0;
  if (rank == 0) {
    axis = 0;
  } else {
    ASSIGN_OR_RETURN(axis, NormalizeAxis(s.axis, rank, "axis"));
  }
  int64_t outer = 1, dim = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  if (s.coerce_2d) {
    for (int64_t d = axis; d < rank; ++d) dim *= x.dim(d);
  } else if (rank > 0) {
    dim = x.dim(axis);
    for (int64_t d = axis + 1; d < rank; ++d) inner *= x.dim(d);
  }
  bool ok = DispatchFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    SoftmaxTyped<T>(x.data<T>(), out[0].data<T>(), outer, dim, inner);
  });
  if (!ok) return InvalidArgument("unsupported element type " + TypeName(x.dtype()));
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeSoftmax(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  SoftmaxState s;
  s.coerce_2d = node.opset < 13;
  s.axis = node.attributes.Int("axis", s.coerce_2d ? 1 : -1);
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<SoftmaxState>>(s, &RunSoftmax));
}

// ---- ArgMax ----

struct ArgMaxState {
  int64_t axis = 0;
  bool keepdims = true;
  bool select_last = false;
};

template <class T>
void ArgMaxTyped(const ArgMaxState& s, const T* x, int64_t* y, int64_t outer, int64_t dim,
                 int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const T* xs = x + o * dim * inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < dim; ++k) {
        const T v = xs[k * inner];
        if (s.select_last ? !(v < xs[best * inner]) : v > xs[best * inner]) best = k;
      }
      y[o * inner + i] = best;
    }
  }
}

Status RunArgMax(const ArgMaxState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  const int64_t rank = x.rank();
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(s.axis, rank, "axis"));
  if (x.dim(axis) == 0) return InvalidArgument("ArgMax over an empty axis");
  std::vector<int64_t> shape;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) outer *= x.dim(d);
    if (d > axis) inner *= x.dim(d);
    if (d != axis) {
      shape.push_back(x.dim(d));
    } else if (s.keepdims) {
      shape.push_back(1);
    }
  }
  out[0].Resize(DType::kInt64, shape);
  bool ok = DispatchNumeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    ArgMaxTyped<T>(s, x.data<T>(), out[0].data<int64_t>(), outer, x.dim(axis), inner);
  });
  if (!ok) return InvalidArgument("unsupported element type " + TypeName(x.dtype()));
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeArgMax(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  ArgMaxState s;
  s.axis = node.attributes.Int("axis", 0);
  s.keepdims = node.attributes.Int("keepdims", 1) != 0;
  s.select_last = node.attributes.Int("select_last_index", 0) != 0;
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<ArgMaxState>>(s, &RunArgMax));
}

}  // namespace

void RegisterSoftmax(KernelRegistry& r) {
  r.Register("", "Softmax", &MakeSoftmax);
  r.Register("", "ArgMax", &MakeArgMax);
}

}  // namespace studio::serving::onnx::ops
