// Single-row prediction: native tree engine vs libxgboost (XGBoosterPredictFromDense, nthread=1).
//   bench_predict --model /path/model.json   (or STUDIO_BENCH_MODEL=/path/model.json)
// The row is drawn around the model's split thresholds (like the load-time validation sample).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

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

Fixture& Get() {
  static Fixture f = [] {
    Fixture f;
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
    return f;
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
BENCHMARK(BM_NativeEngineRow);

void BM_NativeRuntimePredictRows(benchmark::State& state) {
  Fixture& f = Get();
  std::vector<Tensor> out;
  size_t i = 0;
  for (auto _ : state) {
    auto st = f.native->PredictRows(f.rows.data() + (i++ % 64) * f.nf, 1, f.nf, &out);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_NativeRuntimePredictRows);

void BM_LibxgboostRow(benchmark::State& state) {
  Fixture& f = Get();
  float out[64];
  size_t i = 0;
  for (auto _ : state) {
    auto st = f.lib->Predict(f.rows.data() + (i++ % 64) * f.nf, 1, f.nf, out);
    benchmark::DoNotOptimize(st);
  }
}
BENCHMARK(BM_LibxgboostRow);

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
BENCHMARK(BM_NativeBatch1000);

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
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
