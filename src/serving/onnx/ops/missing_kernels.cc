// Empty registrations for kernel families whose library is not part of this build yet, so
// the ONNX runtime links and loads models that do not use them.

#include "serving/onnx/kernel.h"

namespace studio::serving::onnx {

#ifdef STUDIO_ONNX_MISSING_ml
void RegisterMlKernels(KernelRegistry&) {}
#endif

#ifdef STUDIO_ONNX_MISSING_tree
void RegisterTreeEnsembleKernels(KernelRegistry&) {}
#endif

}  // namespace studio::serving::onnx
