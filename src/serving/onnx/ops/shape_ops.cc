// Identity, Reshape, Flatten, Concat, Squeeze, Unsqueeze, Transpose: data movement only, so
// every dtype (strings included) is supported.

#include <algorithm>
#include <cstring>
#include <numeric>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

struct Empty {};

Status RunIdentity(const Empty&, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  CopyTensor(*in[0], out[0]);
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeIdentity(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<Empty>>(Empty{}, &RunIdentity));
}

// ---- Reshape ----

struct ReshapeState {
  bool shape_from_input = true;  // opset >= 5
  bool allow_zero = false;
  std::vector<int64_t> shape_attr;
};

Result<std::vector<int64_t>> ResolveShape(const std::vector<int64_t>& in,
                                          const std::vector<int64_t>& spec, bool allow_zero) {
  std::vector<int64_t> out(spec.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.size()) {
        return InvalidArgument("shape " + ShapeToString(spec) + " copies dimension " +
                               std::to_string(i) + " the input does not have");
      }
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) return InvalidArgument("shape " + ShapeToString(spec) + " has two -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (d < 0) return InvalidArgument("invalid shape " + ShapeToString(spec));
    out[i] = d;
    known *= d;
  }
  const int64_t total = ShapeSize(in);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      return InvalidArgument("cannot reshape " + ShapeToString(in) + " to " + ShapeToString(spec));
    }
    out[infer] = total / known;
  } else if (known != total) {
    return InvalidArgument("cannot reshape " + ShapeToString(in) + " to " + ShapeToString(spec));
  }
  return out;
}

Status RunReshape(const ReshapeState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  std::vector<int64_t> spec = s.shape_attr;
  if (s.shape_from_input) {
    if (in.size() < 2 || !in[1]) return MissingInput(1);
    ASSIGN_OR_RETURN(spec, ReadInts(*in[1], "shape"));
  }
  ASSIGN_OR_RETURN(auto shape, ResolveShape(in[0]->shape(), spec, s.allow_zero));
  CopyReshaped(*in[0], std::move(shape), out[0]);
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeReshape(const NodeInfo& node) {
  ReshapeState s;
  s.shape_from_input = node.opset >= 5;
  RETURN_IF_ERROR(CheckArity(node, s.shape_from_input ? 2 : 1, s.shape_from_input ? 2 : 1));
  s.allow_zero = node.attributes.Int("allowzero", 0) != 0;
  s.shape_attr = node.attributes.Ints("shape");
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<ReshapeState>>(s, &RunReshape));
}

// ---- Flatten ----

struct AxisState {
  int64_t axis = 0;
};

Status RunFlatten(const AxisState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const auto& shape = in[0]->shape();
  const int64_t rank = in[0]->rank();
  int64_t axis = s.axis < 0 ? s.axis + rank : s.axis;
  if (axis < 0 || axis > rank) {
    return InvalidArgument("axis " + std::to_string(s.axis) + " is out of range for rank " +
                           std::to_string(rank));
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
  int64_t inner = 1;
  for (int64_t i = axis; i < rank; ++i) inner *= shape[i];
  CopyReshaped(*in[0], {outer, inner}, out[0]);
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeFlatten(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<AxisState>>(
      AxisState{node.attributes.Int("axis", 1)}, &RunFlatten));
}

// ---- Concat ----

Status RunConcat(const AxisState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i]) return MissingInput(i);
  }
  const Tensor& first = *in[0];
  const int64_t rank = first.rank();
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(s.axis, rank, "axis"));
  std::vector<int64_t> shape = first.shape();
  shape[axis] = 0;
  for (const Tensor* t : in) {
    if (t->dtype() != first.dtype() || t->rank() != rank) {
      return InvalidArgument("inputs differ in type or rank");
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && t->dim(d) != first.dim(d)) {
        return InvalidArgument("input shapes " + ShapeToString(first.shape()) + " and " +
                               ShapeToString(t->shape()) + " differ outside axis " +
                               std::to_string(axis));
      }
    }
    shape[axis] += t->dim(axis);
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= shape[d];
  Tensor& y = out[0];
  y.Resize(first.dtype(), shape);
  const bool strings = first.dtype() == DType::kString;
  const size_t es = DTypeSize(first.dtype());
  int64_t offset = 0;  // elements into each output row
  const int64_t row = shape[axis] * inner;
  for (const Tensor* t : in) {
    const int64_t chunk = t->dim(axis) * inner;
    for (int64_t o = 0; o < outer; ++o) {
      if (strings) {
        std::copy_n(t->strings().begin() + o * chunk, chunk,
                    y.strings().begin() + o * row + offset);
      } else if (chunk > 0) {
        std::memcpy(static_cast<char*>(y.raw()) + (o * row + offset) * es,
                    static_cast<const char*>(t->raw()) + o * chunk * es, chunk * es);
      }
    }
    offset += chunk;
  }
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeConcat(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1 << 20));
  if (!node.attributes.Has("axis")) return NodeError(node, "attribute 'axis' is required");
  return std::unique_ptr<Kernel>(
      std::make_unique<FnKernel<AxisState>>(AxisState{node.attributes.Int("axis")}, &RunConcat));
}

// ---- Squeeze / Unsqueeze ----

struct AxesState {
  bool axes_from_input = true;  // opset >= 13
  std::vector<int64_t> axes;
};

Result<std::vector<int64_t>> Axes(const AxesState& s, std::span<const Tensor* const> in) {
  if (s.axes_from_input && in.size() > 1 && in[1]) return ReadInts(*in[1], "axes");
  return s.axes;
}

Status RunSqueeze(const AxesState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const auto& shape = in[0]->shape();
  const int64_t rank = in[0]->rank();
  ASSIGN_OR_RETURN(auto axes, Axes(s, in));
  std::vector<bool> drop(rank, false);
  if (axes.empty()) {
    for (int64_t d = 0; d < rank; ++d) drop[d] = shape[d] == 1;
  }
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, rank, "axis"));
    if (shape[axis] != 1) {
      return InvalidArgument("cannot squeeze axis " + std::to_string(a) + " of shape " +
                             ShapeToString(shape));
    }
    drop[axis] = true;
  }
  std::vector<int64_t> out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!drop[d]) out_shape.push_back(shape[d]);
  }
  CopyReshaped(*in[0], std::move(out_shape), out[0]);
  return Status::Ok();
}

Status RunUnsqueeze(const AxesState& s, std::span<const Tensor* const> in, std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  if (s.axes_from_input && (in.size() < 2 || !in[1])) return MissingInput(1);
  ASSIGN_OR_RETURN(auto axes, Axes(s, in));
  const int64_t out_rank = in[0]->rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, out_rank, "axis"));
    if (inserted[axis]) return InvalidArgument("axis " + std::to_string(a) + " repeats");
    inserted[axis] = true;
  }
  std::vector<int64_t> out_shape;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) {
    out_shape.push_back(inserted[d] ? 1 : in[0]->shape()[next++]);
  }
  CopyReshaped(*in[0], std::move(out_shape), out[0]);
  return Status::Ok();
}

template <bool kSqueeze>
Result<std::unique_ptr<Kernel>> MakeAxesOp(const NodeInfo& node) {
  AxesState s;
  s.axes_from_input = node.opset >= 13;
  RETURN_IF_ERROR(CheckArity(node, 1, s.axes_from_input ? 2 : 1));
  s.axes = node.attributes.Ints("axes");
  if (!kSqueeze && !s.axes_from_input && !node.attributes.Has("axes")) {
    return NodeError(node, "attribute 'axes' is required");
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FnKernel<AxesState>>(s, kSqueeze ? &RunSqueeze : &RunUnsqueeze));
}

// ---- Transpose ----

struct TransposeState {
  std::vector<int64_t> perm;  // empty: reverse
};

template <size_t kSize>
void Permute(const char* src, char* dst, const std::vector<int64_t>& out_shape,
             const std::vector<int64_t>& src_strides) {
  struct Elem {
    char b[kSize];
  };
  const auto* s = reinterpret_cast<const Elem*>(src);
  auto* d = reinterpret_cast<Elem*>(dst);
  const size_t rank = out_shape.size();
  const int64_t total = ShapeSize(out_shape);
  if (total == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  const int64_t inner = rank ? out_shape[rank - 1] : 1;
  const int64_t inner_stride = rank ? src_strides[rank - 1] : 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t i = 0; i < inner; ++i) d[o + i] = s[off + i * inner_stride];
    for (int64_t k = static_cast<int64_t>(rank) - 2; k >= 0; --k) {
      ++idx[k];
      off += src_strides[k];
      if (idx[k] < out_shape[k]) break;
      off -= src_strides[k] * out_shape[k];
      idx[k] = 0;
    }
  }
}

Status RunTranspose(const TransposeState& s, std::span<const Tensor* const> in,
                    std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  const Tensor& x = *in[0];
  const int64_t rank = x.rank();
  std::vector<int64_t> perm = s.perm;
  if (perm.empty()) {
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return InvalidArgument("perm has " + std::to_string(perm.size()) + " entries for rank " +
                           std::to_string(rank));
  }
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t d = rank - 2; d >= 0; --d) in_strides[d] = in_strides[d + 1] * x.dim(d + 1);
  std::vector<int64_t> out_shape(rank), src_strides(rank);
  std::vector<bool> seen(rank, false);
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t p = perm[d];
    if (p < 0 || p >= rank || seen[p]) return InvalidArgument("invalid perm");
    seen[p] = true;
    out_shape[d] = x.dim(p);
    src_strides[d] = in_strides[p];
  }
  Tensor& y = out[0];
  y.Resize(x.dtype(), out_shape);
  if (x.dtype() == DType::kString) {
    // Permute indices, then copy strings.
    Tensor idx(DType::kInt64, x.shape());
    std::iota(idx.data<int64_t>(), idx.data<int64_t>() + x.size(), 0);
    Tensor pidx(DType::kInt64, out_shape);
    Permute<8>(static_cast<const char*>(idx.raw()), static_cast<char*>(pidx.raw()), out_shape,
               src_strides);
    for (int64_t i = 0; i < x.size(); ++i) y.strings()[i] = x.strings()[pidx.data<int64_t>()[i]];
    return Status::Ok();
  }
  const auto* src = static_cast<const char*>(x.raw());
  auto* dst = static_cast<char*>(y.raw());
  switch (DTypeSize(x.dtype())) {
    case 1:
      Permute<1>(src, dst, out_shape, src_strides);
      break;
    case 2:
      Permute<2>(src, dst, out_shape, src_strides);
      break;
    case 4:
      Permute<4>(src, dst, out_shape, src_strides);
      break;
    case 8:
      Permute<8>(src, dst, out_shape, src_strides);
      break;
    default:
      return InvalidArgument("unsupported element type " + TypeName(x.dtype()));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeTranspose(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 1, 1));
  return std::unique_ptr<Kernel>(std::make_unique<FnKernel<TransposeState>>(
      TransposeState{node.attributes.Ints("perm")}, &RunTranspose));
}

}  // namespace

void RegisterShapeOps(KernelRegistry& r) {
  r.Register("", "Identity", &MakeIdentity);
  r.Register("", "Reshape", &MakeReshape);
  r.Register("", "Flatten", &MakeFlatten);
  r.Register("", "Concat", &MakeConcat);
  r.Register("", "Squeeze", &MakeAxesOp<true>);
  r.Register("", "Unsqueeze", &MakeAxesOp<false>);
  r.Register("", "Transpose", &MakeTranspose);
}

}  // namespace studio::serving::onnx::ops
