// In-process prediction, no HTTP. XGBoost models: native tree engine vs libxgboost
// (XGBoosterPredictFromDense, nthread=1); ONNX models: our runtime's PredictRows.
//   bench_predict --model /path/model.json|model.ubj|model.onnx   (or STUDIO_BENCH_MODEL=...)
// XGBoost rows are drawn around the model's split thresholds (like the load-time validation
// sample); ONNX rows are deterministic pseudo-random values.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "serving/onnx/onnx_runtime.h"
#include "serving/trees/xgboost_runtime.h"

namespace {

using namespace studio::serving;
using namespace studio::serving::trees;

std::string g_model;

struct Fixture {
  std::unique_ptr<XgboostNativeRuntime> native;
  std::unique_ptr<XgboostLibRuntime> lib;
  std::vector<float> rows;  // 64 rows
  int32_t nf = 0;
};

// Never destroyed: libxgboost's own thread-local state may be gone by the time static
// destructors run, and freeing the booster then crashes the process at exit.
Fixture& Get() {
  static Fixture& f = *[] {
    auto* fp = new Fixture;
    Fixture& f = *fp;
    XgboostModelInfo info;
    auto def = LoadXgboostModelFile(g_model, &info);
    if (!def.ok()) {
      std::cerr << def.status().ToString() << "\n";
      std::exit(2);
    }
    f.native = std::move(XgboostNativeRuntime::Create(*def, info)).value();
    auto lib = XgboostLibRuntime::Load(g_model, RuntimeOptions{});
    if (!lib.ok()) {
      std::cerr << lib.status().ToString() << "\n";
      std::exit(2);
    }
    f.lib = std::move(lib).value();
    f.nf = f.lib->num_feature();
    f.rows = MakeValidationRows(f.native->engine(), 64, f.nf);
    return fp;
  }();
  return f;
}

void BM_NativeEngineRow(benchmark::State& state) {
  Fixture& f = Get();
  float out[64];
  size_t i = 0;
  for (auto _ : state) {
    f.native->engine().PredictRow(f.rows.data() + (i++ % 64) * f.nf, out);
    benchmark::DoNotOptimize(out[0]);
  }
}

void BM_NativeRuntimePredictRows(benchmark::State& state) {
  Fixture& f = Get();
  std::vector<Tensor> out;
  size_t i = 0;
  for (auto _ : state) {
    auto st = f.native->PredictRows(f.rows.data() + (i++ % 64) * f.nf, 1, f.nf, &out);
    benchmark::DoNotOptimize(st);
  }
}

void BM_LibxgboostRow(benchmark::State& state) {
  Fixture& f = Get();
  float out[64];
  size_t i = 0;
  for (auto _ : state) {
    auto st = f.lib->Predict(f.rows.data() + (i++ % 64) * f.nf, 1, f.nf, out);
    benchmark::DoNotOptimize(st);
  }
}

void BM_NativeBatch1000(benchmark::State& state) {
  Fixture& f = Get();
  std::vector<float> x;
  for (int k = 0; k < 16; ++k) x.insert(x.end(), f.rows.begin(), f.rows.end());
  const int64_t n = static_cast<int64_t>(x.size()) / f.nf;
  std::vector<float> out(static_cast<size_t>(n) * 64);
  for (auto _ : state) {
    f.native->engine().PredictBatch(x.data(), n, f.nf, out.data());
    benchmark::DoNotOptimize(out[0]);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

struct OnnxFixture {
  std::unique_ptr<ModelRuntime> runtime;
  std::vector<float> rows;  // 1024 rows
  int64_t nf = 0;
};

OnnxFixture& GetOnnx() {
  static OnnxFixture& f = *[] {
    auto* f = new OnnxFixture;
    auto rt = LoadOnnxRuntime(g_model, RuntimeOptions{});
    if (!rt.ok()) {
      std::cerr << rt.status().ToString() << "\n";
      std::exit(2);
    }
    f->runtime = std::move(*rt);
    const auto& shape = f->runtime->Inputs().at(0).shape;
    f->nf = shape.size() == 2 && shape[1] > 0 ? shape[1] : 1;
    uint32_t state = 12345;
    f->rows.resize(static_cast<size_t>(1024 * f->nf));
    for (auto& v : f->rows) {
      state = state * 1664525u + 1013904223u;
      v = static_cast<float>(state >> 8) / 16777216.0f * 4.0f - 2.0f;
    }
    return f;
  }();
  return f;
}

void BM_OnnxRow(benchmark::State& state) {
  OnnxFixture& f = GetOnnx();
  std::vector<Tensor> out;
  size_t i = 0;
  for (auto _ : state) {
    auto st = f.runtime->PredictRows(f.rows.data() + (i++ % 1024) * f.nf, 1, f.nf, &out);
    benchmark::DoNotOptimize(st);
  }
}

void BM_OnnxBatch1000(benchmark::State& state) {
  OnnxFixture& f = GetOnnx();
  std::vector<Tensor> out;
  for (auto _ : state) {
    auto st = f.runtime->PredictRows(f.rows.data(), 1024, f.nf, &out);
    benchmark::DoNotOptimize(st);
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
      g_model = argv[++i];
      continue;
    }
    args.push_back(argv[i]);
  }
  if (g_model.empty()) {
    if (const char* env = std::getenv("STUDIO_BENCH_MODEL")) g_model = env;
  }
  if (g_model.empty()) {
    std::cerr
        << "usage: bench_predict --model PATH (or STUDIO_BENCH_MODEL=PATH) [benchmark flags]\n";
    return 2;
  }
  if (g_model.size() > 5 && g_model.compare(g_model.size() - 5, 5, ".onnx") == 0) {
    benchmark::RegisterBenchmark("BM_OnnxRow", BM_OnnxRow);
    benchmark::RegisterBenchmark("BM_OnnxBatch1000", BM_OnnxBatch1000);
  } else {
    benchmark::RegisterBenchmark("BM_NativeEngineRow", BM_NativeEngineRow);
    benchmark::RegisterBenchmark("BM_NativeRuntimePredictRows", BM_NativeRuntimePredictRows);
    benchmark::RegisterBenchmark("BM_LibxgboostRow", BM_LibxgboostRow);
    benchmark::RegisterBenchmark("BM_NativeBatch1000", BM_NativeBatch1000);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
