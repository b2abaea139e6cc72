#include "serving/onnx/kernel.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx {

void RegisterMlKernels(KernelRegistry& r) {
  constexpr const char* kMl = "ai.onnx.ml";
  r.Register(kMl, "LinearRegressor", &ml::MakeLinearRegressor);
  r.Register(kMl, "LinearClassifier", &ml::MakeLinearClassifier);
  r.Register(kMl, "Scaler", &ml::MakeScaler);
  r.Register(kMl, "Normalizer", &ml::MakeNormalizer);
  r.Register(kMl, "Imputer", &ml::MakeImputer);
  r.Register(kMl, "ZipMap", &ml::MakeZipMap);
  r.Register(kMl, "ArrayFeatureExtractor", &ml::MakeArrayFeatureExtractor);
  r.Register(kMl, "LabelEncoder", &ml::MakeLabelEncoder);
}

}  // namespace studio::serving::onnx
