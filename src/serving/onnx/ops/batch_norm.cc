// BatchNormalization in inference mode: y = (x - mean) / sqrt(var + epsilon) * scale + B per
// channel (axis 1). Every opset's input set is X, scale, B, mean, var; training-mode outputs
// and statistics are refused at load.

#include <cmath>

#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx::ops {
namespace {

struct BatchNormState {
  float epsilon = 1e-5f;
  bool per_feature = false;  // opset < 9 with spatial=0: statistics of shape X[1:]
  // Folded y = x * mul + add when the four parameter tensors were constant at load.
  DType folded_type = DType::kUndefined;
  std::vector<double> mul, add;
};

template <class T>
Status BatchNormTyped(const BatchNormState& s, std::span<const Tensor* const> in, Tensor& y) {
  const Tensor& x = *in[0];
  if (x.rank() < 1) return InvalidArgument("X must have at least one dimension");
  const int64_t n = x.dim(0);
  const int64_t c = x.rank() > 1 ? x.dim(1) : 1;
  int64_t spatial = 1;
  for (int64_t d = 2; d < x.rank(); ++d) spatial *= x.dim(d);
  // Parameters index per channel, or per feature (c * spatial) in the legacy mode.
  const int64_t params = s.per_feature ? c * spatial : c;
  const int64_t inner = s.per_feature ? 1 : spatial;
  std::vector<T> mul(params), add(params);
  if (s.folded_type == x.dtype()) {
    if (static_cast<int64_t>(s.mul.size()) != params) {
      return InvalidArgument("scale has " + std::to_string(s.mul.size()) + " entries, X has " +
                             std::to_string(params) + " channels");
    }
    for (int64_t i = 0; i < params; ++i) {
      mul[i] = static_cast<T>(s.mul[i]);
      add[i] = static_cast<T>(s.add[i]);
    }
  } else {
    for (size_t k = 1; k < 5; ++k) {
      if (!in[k]) return MissingInput(k);
      if (in[k]->dtype() != x.dtype() || in[k]->size() != params) {
        return InvalidArgument("input " + std::to_string(k) + " must hold " +
                               std::to_string(params) + " values of X's type");
      }
    }
    const T* scale = in[1]->data<T>();
    const T* bias = in[2]->data<T>();
    const T* mean = in[3]->data<T>();
    const T* var = in[4]->data<T>();
    for (int64_t i = 0; i < params; ++i) {
      mul[i] = scale[i] / std::sqrt(var[i] + static_cast<T>(s.epsilon));
      add[i] = bias[i] - mean[i] * mul[i];
    }
  }
  y.Resize(x.dtype(), x.shape());
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t blocks = s.per_feature ? n : n * c;
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t base = b * (s.per_feature ? params : inner);
    if (s.per_feature) {
      for (int64_t i = 0; i < params; ++i) py[base + i] = px[base + i] * mul[i] + add[i];
    } else {
      const T m = mul[b % c], a = add[b % c];
      for (int64_t i = 0; i < inner; ++i) py[base + i] = px[base + i] * m + a;
    }
  }
  return Status::Ok();
}

Status RunBatchNorm(const BatchNormState& s, std::span<const Tensor* const> in,
                    std::span<Tensor> out) {
  if (!in[0]) return MissingInput(0);
  Status st = InvalidArgument("unsupported element type " + TypeName(in[0]->dtype()));
  DispatchFloat(in[0]->dtype(),
                [&](auto tag) { st = BatchNormTyped<decltype(tag)>(s, in, out[0]); });
  return st;
}

template <class T>
void Fold(BatchNormState& s, std::span<const Tensor* const> c) {
  const int64_t n = c[1]->size();
  for (size_t k = 2; k < 5; ++k) {
    if (c[k]->dtype() != c[1]->dtype() || c[k]->size() != n) return;
  }
  s.mul.resize(n);
  s.add.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const T m = c[1]->data<T>()[i] / std::sqrt(c[4]->data<T>()[i] + static_cast<T>(s.epsilon));
    s.mul[i] = m;
    s.add[i] = c[2]->data<T>()[i] - c[3]->data<T>()[i] * m;
  }
  s.folded_type = c[1]->dtype();
}

Result<std::unique_ptr<Kernel>> MakeBatchNorm(const NodeInfo& node) {
  RETURN_IF_ERROR(CheckArity(node, 5, 5, 1, 5));
  if (node.attributes.Int("training_mode", 0) != 0) {
    return NodeError(node, "training_mode=1 is not supported (inference only)");
  }
  if (node.num_outputs > 1) {
    // Opsets < 14 declare the running/saved statistics outputs only in training mode.
    return NodeError(node, "training outputs (running/saved statistics) are not supported");
  }
  BatchNormState s;
  s.epsilon = node.attributes.Float("epsilon", 1e-5f);
  s.per_feature = node.opset < 9 && node.attributes.Int("spatial", 1) == 0;
  const auto& c = node.constant_inputs;
  if (c[1] && c[2] && c[3] && c[4]) {
    DispatchFloat(c[1]->dtype(), [&](auto tag) { Fold<decltype(tag)>(s, c); });
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<FnKernel<BatchNormState>>(std::move(s), &RunBatchNorm));
}

}  // namespace

void RegisterBatchNorm(KernelRegistry& r) { r.Register("", "BatchNormalization", &MakeBatchNorm); }

}  // namespace studio::serving::onnx::ops
