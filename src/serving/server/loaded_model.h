#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "registry/model_package.h"
#include "serving/core/model_runtime.h"
#include "serving/server/schema.h"

namespace studio::serving {

// What to load: a package directory plus the registry identity it came from.
struct ModelSource {
  std::string dir;      // a local MLflow model package
  std::string name;     // registered model name, or the directory's base name
  std::string version;  // registered version, or "1" for a plain directory
  std::string uri;      // what the user asked for (models:/NAME@ALIAS, a path); kept for reloads
};

struct LoadOptions {
  RuntimeOptions runtime;
  bool reject_missing = false;  // --reject-missing: null/NaN rejected in every column
};

// A model ready to serve: the servable handle that requests hold (shared_ptr) while a reload
// swaps in a new one.
struct LoadedModel {
  ModelSource source;
  registry::ModelPackage package;
  std::unique_ptr<ModelRuntime> runtime;
  InputSchema schema;
  double load_seconds = 0;
  std::string platform;  // OIP platform: "xgboost_json", "onnx_onnxv1"
  // XGBoost: rows on which the native engine was checked against libxgboost at load, and
  // how many differed (any difference → libxgboost serves).
  int64_t validation_rows = 0;
  int64_t mismatched_rows = 0;
};

// Reads the package, loads the runtime for its flavor, builds the input schema and runs one
// warm-up prediction (a zero row) so the first request does not pay for cold caches.
Result<std::shared_ptr<const LoadedModel>> LoadModel(const ModelSource& source,
                                                     const LoadOptions& options);

}  // namespace studio::serving
