#pragma once

// Factories of the ai.onnx.ml kernels (except the tree ensembles), for RegisterMlKernels and
// the unit tests.

#include <memory>

#include "common/status.h"
#include "serving/onnx/kernel.h"

namespace studio::serving::onnx::ml {

Result<std::unique_ptr<Kernel>> MakeLinearRegressor(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeLinearClassifier(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeScaler(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeNormalizer(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeImputer(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeZipMap(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeArrayFeatureExtractor(const NodeInfo& node);
Result<std::unique_ptr<Kernel>> MakeLabelEncoder(const NodeInfo& node);

}  // namespace studio::serving::onnx::ml
