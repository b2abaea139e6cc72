#include "serving/server/loaded_model.h"

#include <chrono>
#include <filesystem>

#include "common/log.h"
#include "serving/onnx/onnx_runtime.h"
#include "serving/trees/xgboost_runtime.h"

namespace studio::serving {

Result<std::shared_ptr<const LoadedModel>> LoadModel(const ModelSource& source,
                                                     const LoadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto pkg = registry::ReadModelPackage(source.dir);
  if (!pkg.ok()) return pkg.status();
  auto model = std::make_shared<LoadedModel>();
  model->source = source;
  model->package = std::move(*pkg);
  const std::string file = (std::filesystem::path(source.dir) / model->package.model_file).string();
  Result<std::unique_ptr<ModelRuntime>> runtime = Internal("no runtime");
  if (model->package.flavor == "xgboost") {
    trees::XgboostLoadReport report;
    runtime = trees::LoadXgboostRuntime(file, options.runtime, &report);
    model->validation_rows = report.validation_rows;
    model->mismatched_rows = report.mismatched_rows;
    model->platform = "xgboost_json";
  } else if (model->package.flavor == "onnx") {
    runtime = LoadOnnxRuntime(file, options.runtime);
    model->platform = "onnx_onnxv1";
  } else {
    return InvalidArgument("flavor '" + model->package.flavor + "' cannot be served");
  }
  if (!runtime.ok()) return runtime.status();
  model->runtime = std::move(*runtime);
  auto schema = BuildInputSchema(model->package.signature_inputs, model->runtime->Inputs());
  if (!schema.ok()) return schema.status();
  model->schema = std::move(*schema);
  model->schema.reject_missing = options.reject_missing;

  // Warm-up: one zero row through the tabular path (models with several inputs are warmed by
  // their first request instead).
  if (model->runtime->Inputs().size() == 1 && model->schema.width > 0) {
    std::vector<float> zeros(static_cast<size_t>(model->schema.width), 0.0f);
    std::vector<Tensor> out;
    Status st = model->runtime->PredictRows(zeros.data(), 1, model->schema.width, &out);
    if (!st.ok()) return Status(st.code(), "warm-up prediction failed: " + st.message());
  }
  model->load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log::Info("model loaded", {{"model", source.name},
                             {"version", source.version},
                             {"flavor", model->package.flavor},
                             {"engine", std::string(model->runtime->Engine())},
                             {"load_seconds", model->load_seconds}});
  return std::shared_ptr<const LoadedModel>(std::move(model));
}

}  // namespace studio::serving
