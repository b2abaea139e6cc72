#include "serving/trees/xgboost_runtime.h"

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include <xgboost/c_api.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace studio::serving::trees {
namespace {

constexpr int64_t kValidationRows = 256;

std::vector<TensorSpec> InputSpecs(int32_t num_feature) {
  return {TensorSpec{"input", DType::kFloat32, {-1, num_feature}}};
}

std::vector<TensorSpec> OutputSpecs(int32_t num_outputs, bool softprob) {
  if (softprob) return {TensorSpec{"predictions", DType::kFloat32, {-1, num_outputs}}};
  return {TensorSpec{"predictions", DType::kFloat32, {-1}}};
}

// The rows of `t` as float32: a view when it already is FP32, else converted into `scratch`.
Status RowsOf(const Tensor& t, int32_t num_feature, std::vector<float>* scratch, const float** x,
              int64_t* rows) {
  int64_t cols = 0;
  if (t.rank() == 2) {
    *rows = t.dim(0);
    cols = t.dim(1);
  } else if (t.rank() == 1) {
    *rows = 1;
    cols = t.dim(0);
  } else {
    return InvalidArgument("input 'input' must be [rows, " + std::to_string(num_feature) +
                           "], got " + ShapeToString(t.shape()));
  }
  if (cols != num_feature) {
    return InvalidArgument("input 'input' has " + std::to_string(cols) +
                           " columns; the model expects " + std::to_string(num_feature));
  }
  if (t.dtype() == DType::kFloat32) {
    *x = t.data<float>();
    return Status::Ok();
  }
  switch (t.dtype()) {
    case DType::kFloat64:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kInt16:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
    case DType::kUInt64:
    case DType::kBool:
      break;
    default:
      return InvalidArgument("input 'input' has type " + std::string(DTypeOipName(t.dtype())) +
                             "; the model takes FP32");
  }
  scratch->resize(static_cast<size_t>(t.size()));
  for (int64_t i = 0; i < t.size(); ++i)
    (*scratch)[static_cast<size_t>(i)] = static_cast<float>(t.AsDouble(i));
  *x = scratch->data();
  return Status::Ok();
}

float* OutputBuffer(std::vector<Tensor>* outputs, int64_t rows, int32_t num_outputs, bool matrix) {
  std::vector<int64_t> shape =
      matrix ? std::vector<int64_t>{rows, num_outputs} : std::vector<int64_t>{rows};
  if (outputs->size() != 1) outputs->resize(1);
  Tensor& t = (*outputs)[0];
  if (t.dtype() != DType::kFloat32 || t.shape() != shape) t.Resize(DType::kFloat32, shape);
  return t.data<float>();
}

std::string LastXgbError() {
  const char* e = XGBGetLastError();
  return e ? std::string(e) : std::string("unknown error");
}

// splitmix64: small, deterministic, good enough to spread validation rows.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

}  // namespace

// ---- native ----

Result<std::unique_ptr<XgboostNativeRuntime>> XgboostNativeRuntime::Create(
    const EnsembleDef& def, const XgboostModelInfo& info) {
  ASSIGN_OR_RETURN(auto engine, TreeEnsemble::Create(def));
  std::unique_ptr<XgboostNativeRuntime> rt(new XgboostNativeRuntime());
  rt->engine_ = std::move(engine);
  rt->info_ = info;
  const int32_t nf = std::max(info.num_feature, rt->engine_->num_features());
  rt->info_.num_feature = nf;
  rt->inputs_ = InputSpecs(nf);
  rt->outputs_ = OutputSpecs(rt->engine_->num_outputs(), info.objective == "multi:softprob");
  return rt;
}

Status XgboostNativeRuntime::PredictRows(const float* x, int64_t rows, int64_t cols,
                                         std::vector<Tensor>* outputs) const {
  if (cols != info_.num_feature) {
    return InvalidArgument("input 'input' has " + std::to_string(cols) +
                           " columns; the model expects " + std::to_string(info_.num_feature));
  }
  if (rows < 0) return InvalidArgument("input 'input' has a negative row count");
  float* out = OutputBuffer(outputs, rows, engine_->num_outputs(), outputs_[0].shape.size() == 2);
  engine_->PredictBatch(x, rows, cols, out);
  return Status::Ok();
}

Status XgboostNativeRuntime::Run(std::span<const Tensor> inputs,
                                 std::vector<Tensor>* outputs) const {
  if (inputs.size() != 1) {
    return InvalidArgument("the model takes 1 input ('input'), got " +
                           std::to_string(inputs.size()));
  }
  std::vector<float> scratch;
  const float* x = nullptr;
  int64_t rows = 0;
  RETURN_IF_ERROR(RowsOf(inputs[0], info_.num_feature, &scratch, &x, &rows));
  return PredictRows(x, rows, info_.num_feature, outputs);
}

// ---- libxgboost ----

Result<std::unique_ptr<XgboostLibRuntime>> XgboostLibRuntime::Load(const std::string& model_path,
                                                                   const RuntimeOptions& options) {
  ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(model_path));
  ASSIGN_OR_RETURN(XgboostModelInfo info, ReadXgboostModelInfo(bytes));
  std::unique_ptr<XgboostLibRuntime> rt(new XgboostLibRuntime());
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(nullptr, 0, &h) != 0) return Internal("XGBoosterCreate: " + LastXgbError());
  rt->booster_ = h;
  // libxgboost picks the format from the file name; a copy with the right extension is used
  // when the name does not say what the content is.
  const bool ubj = bytes.size() > 1 && bytes[0] == '{' && bytes[1] != '"' &&
                   !std::isspace(static_cast<unsigned char>(bytes[1]));
  const std::string ext = ubj ? ".ubj" : ".json";
  std::string load_path = model_path;
  std::string temp;
  if (model_path.size() < ext.size() ||
      model_path.compare(model_path.size() - ext.size(), ext.size(), ext) != 0) {
    std::string tmpl = "/tmp/studio-xgb-XXXXXX" + ext;
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = mkstemps(buf.data(), static_cast<int>(ext.size()));
    if (fd < 0) return Internal("cannot create a temporary model file");
    const char* p = bytes.data();
    size_t left = bytes.size();
    while (left > 0) {
      ssize_t w = ::write(fd, p, left);
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
    ::close(fd);
    temp = load_path = buf.data();
  }
  int rc = XGBoosterLoadModel(h, load_path.c_str());
  if (!temp.empty()) ::unlink(temp.c_str());
  if (rc != 0) {
    return InvalidArgument("libxgboost cannot load model '" + model_path + "': " + LastXgbError());
  }
  const std::string nthread = std::to_string(std::max(1, options.intra_op_threads));
  if (XGBoosterSetParam(h, "nthread", nthread.c_str()) != 0) {
    return Internal("XGBoosterSetParam(nthread): " + LastXgbError());
  }
  bst_ulong nf = 0;
  if (XGBoosterGetNumFeature(h, &nf) != 0)
    return Internal("XGBoosterGetNumFeature: " + LastXgbError());
  rt->num_feature_ = static_cast<int32_t>(nf);
  rt->num_outputs_ = info.num_outputs;
  rt->needs_lock_ = !(info.booster == "gbtree" || info.booster == "dart");
  rt->inputs_ = InputSpecs(rt->num_feature_);
  rt->outputs_ = OutputSpecs(rt->num_outputs_, info.objective == "multi:softprob");
  // Warm-up: the first prediction configures the learner, which is not thread-safe.
  std::vector<float> row(static_cast<size_t>(std::max<int32_t>(rt->num_feature_, 1)), 0.0f);
  std::vector<float> out(static_cast<size_t>(rt->num_outputs_));
  RETURN_IF_ERROR(rt->Predict(row.data(), 1, rt->num_feature_, out.data()));
  return rt;
}

XgboostLibRuntime::~XgboostLibRuntime() {
  if (booster_) XGBoosterFree(static_cast<BoosterHandle>(booster_));
}

Status XgboostLibRuntime::Predict(const float* x, int64_t rows, int64_t cols, float* out) const {
  if (rows == 0) return Status::Ok();
  // The array interface carries the buffer address; config is the calibration.md §A one.
  char iface[192];
  std::snprintf(iface, sizeof(iface),
                "{\"data\":[%llu,true],\"shape\":[%lld,%lld],\"typestr\":\"<f4\",\"version\":3}",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(x)),
                static_cast<long long>(rows), static_cast<long long>(cols));
  static constexpr const char* kConfig =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
      "\"strict_shape\":false,\"cache_id\":0,\"missing\":NaN}";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  int rc;
  if (needs_lock_) {
    std::lock_guard<std::mutex> lock(mu_);
    rc = XGBoosterPredictFromDense(static_cast<BoosterHandle>(booster_), iface, kConfig, nullptr,
                                   &shape, &dim, &result);
    if (rc == 0) std::memcpy(out, result, static_cast<size_t>(rows * num_outputs_) * sizeof(float));
  } else {
    rc = XGBoosterPredictFromDense(static_cast<BoosterHandle>(booster_), iface, kConfig, nullptr,
                                   &shape, &dim, &result);
    // `result` is thread-local to this thread; copy before anything else predicts here.
    if (rc == 0) std::memcpy(out, result, static_cast<size_t>(rows * num_outputs_) * sizeof(float));
  }
  if (rc != 0) return InvalidArgument("libxgboost prediction failed: " + LastXgbError());
  return Status::Ok();
}

Status XgboostLibRuntime::PredictRows(const float* x, int64_t rows, int64_t cols,
                                      std::vector<Tensor>* outputs) const {
  if (cols != num_feature_) {
    return InvalidArgument("input 'input' has " + std::to_string(cols) +
                           " columns; the model expects " + std::to_string(num_feature_));
  }
  if (rows < 0) return InvalidArgument("input 'input' has a negative row count");
  float* out = OutputBuffer(outputs, rows, num_outputs_, outputs_[0].shape.size() == 2);
  return Predict(x, rows, cols, out);
}

Status XgboostLibRuntime::Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const {
  if (inputs.size() != 1) {
    return InvalidArgument("the model takes 1 input ('input'), got " +
                           std::to_string(inputs.size()));
  }
  std::vector<float> scratch;
  const float* x = nullptr;
  int64_t rows = 0;
  RETURN_IF_ERROR(RowsOf(inputs[0], num_feature_, &scratch, &x, &rows));
  return PredictRows(x, rows, num_feature_, outputs);
}

// ---- validation and selection ----

std::vector<float> MakeValidationRows(const TreeEnsemble& engine, int64_t rows,
                                      int32_t num_feature) {
  const auto thresholds = engine.ThresholdsByFeature();
  Rng rng{0x5eed5eedULL};
  std::vector<float> x(static_cast<size_t>(rows * num_feature));
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    for (int32_t f = 0; f < num_feature; ++f) {
      float v;
      const std::vector<float>* th =
          static_cast<size_t>(f) < thresholds.size() && !thresholds[f].empty() ? &thresholds[f]
                                                                               : nullptr;
      const double u = rng.Uniform();
      if (u < 0.10) {
        v = std::numeric_limits<float>::quiet_NaN();
      } else if (!th) {
        v = static_cast<float>(rng.Uniform() * 8.0 - 4.0);
      } else {
        const float t = (*th)[rng.Next() % th->size()];
        if (u < 0.35) {
          v = t;
        } else if (u < 0.50) {
          v = std::nextafter(t, -inf);
        } else if (u < 0.65) {
          v = std::nextafter(t, inf);
        } else if (u < 0.95) {
          // Between the extremes, and a little beyond them.
          const float lo = th->front(), hi = th->back();
          const float span = std::max(hi - lo, 1.0f);
          v = static_cast<float>(lo - 0.1 * span + rng.Uniform() * 1.2 * span);
        } else {
          v = rng.Uniform() < 0.5 ? th->front() - 1000.0f : th->back() + 1000.0f;
        }
      }
      x[static_cast<size_t>(r * num_feature + f)] = v;
    }
  }
  return x;
}

Result<std::unique_ptr<ModelRuntime>> LoadXgboostRuntime(const std::string& model_path,
                                                         const RuntimeOptions& options,
                                                         XgboostLoadReport* report) {
  XgboostLoadReport local;
  XgboostLoadReport& rep = report ? *report : local;
  rep = XgboostLoadReport{};
  ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(model_path));
  // JSON and UBJSON documents both start with '{'; anything else is the deprecated binary format.
  if (bytes.empty() || bytes[0] != '{')
    return InvalidArgument("'" + model_path +
                           "' is not an XGBoost JSON or UBJSON model (the legacy binary format is "
                           "not supported: re-save it with Booster.save_model(\"model.json\"))");

  XgboostModelInfo info;
  std::unique_ptr<XgboostNativeRuntime> native;
  auto def = ParseXgboostModel(bytes, &info);
  if (def.ok()) {
    auto rt = XgboostNativeRuntime::Create(*def, info);
    if (rt.ok()) {
      native = std::move(rt).value();
    } else {
      rep.native_error = rt.status().message();
    }
  } else {
    rep.native_error = def.status().message();
  }
  rep.native_supported = native != nullptr;

  auto lib = XgboostLibRuntime::Load(model_path, options);
  if (!lib.ok()) {
    // libxgboost is the reference: without it the native engine is not trusted either, and a
    // model it rejects is a bad model. Report the native parser's reason when it has one.
    const std::string why = rep.native_error.empty() ? lib.status().message() : rep.native_error;
    return Status(lib.status().code() == ErrorCode::kResourceDoesNotExist
                      ? ErrorCode::kResourceDoesNotExist
                      : ErrorCode::kInvalidParameterValue,
                  "cannot load XGBoost model '" + model_path + "': " + why);
  }
  std::unique_ptr<XgboostLibRuntime> libxgb = std::move(lib).value();

  if (native && native->engine().num_features() > libxgb->num_feature()) {
    rep.native_error = "trees use more features than libxgboost reports";
    native.reset();
  }
  if (native) {
    const int32_t nf = libxgb->num_feature();
    const int32_t no = native->engine().num_outputs();
    std::vector<float> x = MakeValidationRows(native->engine(), kValidationRows, nf);
    std::vector<float> a(static_cast<size_t>(kValidationRows * no));
    std::vector<float> b(a.size());
    native->engine().PredictBatch(x.data(), kValidationRows, nf, a.data());
    Status st = libxgb->Predict(x.data(), kValidationRows, nf, b.data());
    if (!st.ok()) return st;
    // And one row at a time: the single-row path must agree with the batch path too.
    std::vector<float> one(static_cast<size_t>(no));
    rep.validation_rows = kValidationRows;
    for (int64_t r = 0; r < kValidationRows; ++r) {
      native->engine().PredictRow(x.data() + r * nf, one.data());
      bool differs = false;
      for (int32_t k = 0; k < no; ++k) {
        const size_t i = static_cast<size_t>(r * no + k);
        if (std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i]) ||
            std::bit_cast<uint32_t>(one[static_cast<size_t>(k)]) != std::bit_cast<uint32_t>(b[i])) {
          if (!differs && rep.first_mismatch_row < 0) {
            rep.first_mismatch_row = r;
            rep.first_mismatch_native = a[i];
            rep.first_mismatch_lib = b[i];
          }
          differs = true;
        }
      }
      if (differs) ++rep.mismatched_rows;
    }
    if (rep.mismatched_rows == 0) {
      rep.engine = "xgboost-native";
      log::Info("xgboost model loaded with the native engine",
                {{"model", model_path},
                 {"trees", static_cast<long long>(native->engine().num_trees())},
                 {"validation_rows", static_cast<long long>(rep.validation_rows)}});
      return std::unique_ptr<ModelRuntime>(std::move(native));
    }
    log::Warn("native tree engine disagrees with libxgboost; serving with libxgboost",
              {{"model", model_path},
               {"mismatched_rows", static_cast<long long>(rep.mismatched_rows)},
               {"first_mismatch_row", static_cast<long long>(rep.first_mismatch_row)},
               {"native", static_cast<double>(rep.first_mismatch_native)},
               {"libxgboost", static_cast<double>(rep.first_mismatch_lib)}});
  } else {
    log::Warn("native tree engine cannot load the model; serving with libxgboost",
              {{"model", model_path}, {"reason", rep.native_error}});
  }
  rep.engine = "libxgboost";
  return std::unique_ptr<ModelRuntime>(std::move(libxgb));
}

}  // namespace studio::serving::trees
