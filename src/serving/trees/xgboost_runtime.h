#pragma once

// XGBoost model runtimes. LoadXgboostRuntime() loads a model.json / model.ubj with both the
// native tree engine and libxgboost, predicts a deterministic validation sample (256 rows
// around the model's split thresholds, NaNs included) with both and serves the native engine
// only when every output is bit-identical; otherwise it serves libxgboost and logs a warning
// naming the first differing row. `XgboostLoadReport` carries the decision for /metrics.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "serving/core/model_runtime.h"
#include "serving/trees/tree_ensemble.h"
#include "serving/trees/xgboost_model.h"

namespace studio::serving::trees {

// What LoadXgboostRuntime decided and why. Suggested metrics:
//   studio_model_engine_info{engine="xgboost-native"|"libxgboost"} 1
//   studio_model_validation_mismatched_rows <mismatched_rows>
struct XgboostLoadReport {
  std::string engine;             // Engine() of the returned runtime
  bool native_supported = false;  // the native engine could load the model
  std::string native_error;       // why not, when it could not
  int64_t validation_rows = 0;    // rows predicted by both engines
  int64_t mismatched_rows = 0;    // rows whose outputs differ in at least one float bit
  int64_t first_mismatch_row = -1;
  float first_mismatch_native = 0;  // first differing value, native engine
  float first_mismatch_lib = 0;     // and libxgboost
};

// ModelRuntime over the native engine. Input: "input" FP32 [-1, num_feature] (FP64, INT32 and
// INT64 tensors are converted); output: "predictions" FP32 [-1] or [-1, num_class].
class XgboostNativeRuntime final : public ModelRuntime {
 public:
  static Result<std::unique_ptr<XgboostNativeRuntime>> Create(const EnsembleDef& def,
                                                              const XgboostModelInfo& info);

  std::string_view Engine() const override { return "xgboost-native"; }
  const std::vector<TensorSpec>& Inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& Outputs() const override { return outputs_; }
  Status Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const override;
  // Zero-copy: reuses (*outputs)[0] when it already has the right dtype and shape.
  Status PredictRows(const float* x, int64_t rows, int64_t cols,
                     std::vector<Tensor>* outputs) const override;

  const TreeEnsemble& engine() const { return *engine_; }

 private:
  XgboostNativeRuntime() = default;
  std::unique_ptr<TreeEnsemble> engine_;
  XgboostModelInfo info_;
  std::vector<TensorSpec> inputs_, outputs_;
};

// ModelRuntime over libxgboost's C API: XGBoosterPredictFromDense (in-place, nthread=1).
// XGBoost ≥ 1.4 documents in-place prediction as thread-safe for gbtree/dart boosters (the
// result buffer is thread-local, copied out at once); a first prediction at load finishes the
// booster's lazy configuration before it is shared. Other boosters are guarded by a mutex.
class XgboostLibRuntime final : public ModelRuntime {
 public:
  static Result<std::unique_ptr<XgboostLibRuntime>> Load(const std::string& model_path,
                                                         const RuntimeOptions& options);
  ~XgboostLibRuntime() override;

  std::string_view Engine() const override { return "libxgboost"; }
  const std::vector<TensorSpec>& Inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& Outputs() const override { return outputs_; }
  Status Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const override;
  Status PredictRows(const float* x, int64_t rows, int64_t cols,
                     std::vector<Tensor>* outputs) const override;

  int32_t num_feature() const { return num_feature_; }
  // Raw call: rows × num_outputs floats into `out`.
  Status Predict(const float* x, int64_t rows, int64_t cols, float* out) const;

 private:
  XgboostLibRuntime() = default;
  void* booster_ = nullptr;  // BoosterHandle
  bool needs_lock_ = false;
  mutable std::mutex mu_;
  int32_t num_feature_ = 0;
  int32_t num_outputs_ = 1;
  std::vector<TensorSpec> inputs_, outputs_;
};

// Loads `model_path` (.json or .ubj, detected from the content). The report (optional) says
// which engine serves and why. Errors: kResourceDoesNotExist for a missing file,
// kInvalidParameterValue for a model neither engine can load.
Result<std::unique_ptr<ModelRuntime>> LoadXgboostRuntime(const std::string& model_path,
                                                         const RuntimeOptions& options,
                                                         XgboostLoadReport* report = nullptr);

// The validation sample LoadXgboostRuntime uses: `rows` × `num_feature` floats drawn around the
// ensemble's split thresholds (exactly on them, one ulp either side, between them, beyond the
// extremes) with ~10% NaN. Deterministic.
std::vector<float> MakeValidationRows(const TreeEnsemble& engine, int64_t rows,
                                      int32_t num_feature);

}  // namespace studio::serving::trees
