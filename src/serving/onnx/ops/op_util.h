#pragma once

// Helpers shared by the ai.onnx kernels (not a public header).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serving/onnx/kernel.h"

namespace studio::serving::onnx::ops {

// Calls f(T{}) with T the C++ type of a numeric dtype (bool excluded); false if unsupported.
template <class F>
bool DispatchNumeric(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      f(float{});
      return true;
    case DType::kFloat64:
      f(double{});
      return true;
    case DType::kInt8:
      f(int8_t{});
      return true;
    case DType::kUInt8:
      f(uint8_t{});
      return true;
    case DType::kInt16:
      f(int16_t{});
      return true;
    case DType::kUInt16:
      f(uint16_t{});
      return true;
    case DType::kInt32:
      f(int32_t{});
      return true;
    case DType::kUInt32:
      f(uint32_t{});
      return true;
    case DType::kInt64:
      f(int64_t{});
      return true;
    case DType::kUInt64:
      f(uint64_t{});
      return true;
    default:
      return false;
  }
}

template <class F>
bool DispatchFloat(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      f(float{});
      return true;
    case DType::kFloat64:
      f(double{});
      return true;
    default:
      return false;
  }
}

inline std::string TypeName(DType t) { return std::string(DTypeOipName(t)); }

// Maps a possibly negative axis into [0, rank).
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const std::string& what);

// Integer list input (shape, axes): int64 or int32 tensor.
Result<std::vector<int64_t>> ReadInts(const Tensor& t, const std::string& what);

// Deep copy, any dtype (Tensor owns its data).
void CopyTensor(const Tensor& from, Tensor& to);
// Copy with a new shape of the same element count.
void CopyReshaped(const Tensor& from, std::vector<int64_t> shape, Tensor& to);

// Numpy multidirectional broadcasting of two shapes, with per-input strides over the output
// shape (0 on broadcast dimensions).
struct BroadcastPlan {
  std::vector<int64_t> out_shape;
  std::vector<int64_t> a_strides;
  std::vector<int64_t> b_strides;
  int64_t size = 0;
  bool same_shape = false;
};
Result<BroadcastPlan> PlanBroadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// out[i] = op(a[ia], b[ib]) over the broadcast output. The innermost dimension is a plain
// loop (vectorizable); outer dimensions step with an index counter.
template <class TA, class TB, class TO, class Op>
void BroadcastBinary(const BroadcastPlan& p, const TA* a, const TB* b, TO* out, Op op) {
  if (p.size == 0) return;
  if (p.same_shape) {
    for (int64_t i = 0; i < p.size; ++i) out[i] = op(a[i], b[i]);
    return;
  }
  const size_t rank = p.out_shape.size();
  if (rank == 0) {
    out[0] = op(a[0], b[0]);
    return;
  }
  const int64_t inner = p.out_shape[rank - 1];
  const int64_t sa = p.a_strides[rank - 1];
  const int64_t sb = p.b_strides[rank - 1];
  const int64_t outer = p.size / inner;
  std::vector<int64_t> idx(rank, 0);
  int64_t ao = 0, bo = 0;
  for (int64_t o = 0; o < outer; ++o) {
    TO* y = out + o * inner;
    const TA* ap = a + ao;
    const TB* bp = b + bo;
    if (sa && sb) {
      for (int64_t i = 0; i < inner; ++i) y[i] = op(ap[i], bp[i]);
    } else if (sa) {
      const TB bv = bp[0];
      for (int64_t i = 0; i < inner; ++i) y[i] = op(ap[i], bv);
    } else if (sb) {
      const TA av = ap[0];
      for (int64_t i = 0; i < inner; ++i) y[i] = op(av, bp[i]);
    } else {
      const TO v = op(ap[0], bp[0]);
      for (int64_t i = 0; i < inner; ++i) y[i] = v;
    }
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      ++idx[d];
      ao += p.a_strides[d];
      bo += p.b_strides[d];
      if (idx[d] < p.out_shape[d]) break;
      ao -= p.a_strides[d] * p.out_shape[d];
      bo -= p.b_strides[d] * p.out_shape[d];
      idx[d] = 0;
    }
  }
}

// A kernel whose Run is a plain function object over the node's state.
template <class State>
class FnKernel : public Kernel {
 public:
  using Fn = Status (*)(const State&, std::span<const Tensor* const>, std::span<Tensor>);
  FnKernel(State state, Fn fn) : state_(std::move(state)), fn_(fn) {}
  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    return fn_(state_, inputs, outputs);
  }

 private:
  State state_;
  Fn fn_;
};

// Checks the node's input/output counts at load.
Status CheckArity(const NodeInfo& node, size_t min_in, size_t max_in, size_t min_out = 1,
                  size_t max_out = 1);
// A required input that is missing at run time (omitted by an empty name).
Status MissingInput(size_t index);

// Registration of each kernel family file.
void RegisterElementwise(KernelRegistry& r);
void RegisterGemm(KernelRegistry& r);
void RegisterShapeOps(KernelRegistry& r);
void RegisterSoftmax(KernelRegistry& r);
void RegisterCast(KernelRegistry& r);
void RegisterBatchNorm(KernelRegistry& r);

}  // namespace studio::serving::onnx::ops
