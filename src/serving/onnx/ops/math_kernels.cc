#include "serving/onnx/ops/op_util.h"

namespace studio::serving::onnx {

void RegisterMathKernels(KernelRegistry& r) {
  ops::RegisterElementwise(r);
  ops::RegisterGemm(r);
  ops::RegisterShapeOps(r);
  ops::RegisterSoftmax(r);
  ops::RegisterCast(r);
  ops::RegisterBatchNorm(r);
}

}  // namespace studio::serving::onnx
