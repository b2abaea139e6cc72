// ONNX backend node tests (Debian's libonnx-testdata) for every ai.onnx operator we support:
// each test directory holds a one-node model.onnx and test_data_set_*/{input,output}_*.pb.
// Prints a per-operator "passed/total" table; fails on any non-skipped failure. Skips are only
// for what the runtime does not aim to support (float16/bfloat16/complex element types,
// sequence/optional values, BatchNormalization training mode), each with its reason.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "serving/onnx/internal/tensor_proto.h"
#include "serving/onnx/kernel.h"
#include "serving/onnx/onnx_runtime.h"

namespace studio::serving::onnx {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";
// onnx/backend/test/runner defaults.
constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct OpStats {
  int passed = 0, failed = 0, skipped = 0;
};

// Why a test is out of scope, or "" when it must pass.
std::string SkipReason(const ::onnx::ModelProto& model) {
  const auto& g = model.graph();
  auto check = [](const ::onnx::ValueInfoProto& v) -> std::string {
    if (!v.type().has_tensor_type()) return "non-tensor value (sequence/optional/map)";
    const int t = v.type().tensor_type().elem_type();
    if (!DTypeFromOnnx(t)) return "element type " + OnnxTypeName(t);
    return "";
  };
  for (const auto& v : g.input()) {
    if (auto r = check(v); !r.empty()) return r;
  }
  for (const auto& v : g.output()) {
    if (auto r = check(v); !r.empty()) return r;
  }
  for (const auto& n : g.node()) {
    if (n.op_type() != "BatchNormalization") continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == "training_mode" && a.i() != 0) return "training_mode=1 (inference only)";
    }
  }
  return "";
}

std::string Compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype()) {
    return "dtype " + std::string(DTypeOipName(got.dtype())) +
           " != " + std::string(DTypeOipName(want.dtype()));
  }
  if (got.shape() != want.shape()) {
    return "shape " + ShapeToString(got.shape()) + " != " + ShapeToString(want.shape());
  }
  if (want.dtype() == DType::kString) {
    for (int64_t i = 0; i < want.size(); ++i) {
      if (got.strings()[i] != want.strings()[i]) {
        return "element " + std::to_string(i) + ": '" + got.strings()[i] + "' != '" +
               want.strings()[i] + "'";
      }
    }
    return "";
  }
  const bool floating = want.dtype() == DType::kFloat32 || want.dtype() == DType::kFloat64;
  for (int64_t i = 0; i < want.size(); ++i) {
    const double g = got.AsDouble(i), w = want.AsDouble(i);
    bool ok;
    if (floating) {
      ok = (std::isnan(g) && std::isnan(w)) || g == w ||
           std::abs(g - w) <= kAtol + kRtol * std::abs(w);
    } else if (want.dtype() == DType::kInt64 || want.dtype() == DType::kUInt64) {
      ok = std::memcmp(static_cast<const char*>(got.raw()) + i * 8,
                       static_cast<const char*>(want.raw()) + i * 8, 8) == 0;
    } else {
      ok = g == w;
    }
    if (!ok) {
      return "element " + std::to_string(i) + ": " + std::to_string(g) + " != " + std::to_string(w);
    }
  }
  return "";
}

// Runs one test directory; returns "" on success, else the failure.
std::string RunCase(const fs::path& dir) {
  auto rt = LoadOnnxRuntime((dir / "model.onnx").string());
  if (!rt.ok()) return "load: " + rt.status().message();
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test data sets";
  for (const auto& set : sets) {
    std::vector<Tensor> inputs, expected;
    for (size_t i = 0;; ++i) {
      fs::path p = set / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      std::string bytes = ReadFile(p);
      auto t = TensorFromProtoBytes(bytes.data(), bytes.size(), p.filename().string());
      if (!t.ok()) return t.status().message();
      inputs.push_back(std::move(t).value());
    }
    for (size_t i = 0;; ++i) {
      fs::path p = set / ("output_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) break;
      std::string bytes = ReadFile(p);
      auto t = TensorFromProtoBytes(bytes.data(), bytes.size(), p.filename().string());
      if (!t.ok()) return t.status().message();
      expected.push_back(std::move(t).value());
    }
    std::vector<Tensor> outputs;
    Status st = (*rt)->Run(inputs, &outputs);
    if (!st.ok()) return set.filename().string() + ": run: " + st.message();
    if (outputs.size() != expected.size()) {
      return set.filename().string() + ": " + std::to_string(outputs.size()) +
             " outputs, expected " + std::to_string(expected.size());
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string diff = Compare(outputs[i], expected[i]);
      if (!diff.empty()) {
        return set.filename().string() + " output " + std::to_string(i) + ": " + diff;
      }
    }
  }
  return "";
}

TEST(OnnxConformanceTest, BackendNodeTestsPerOperator) {
  if (!fs::is_directory(kNodeTests)) GTEST_SKIP() << kNodeTests << " missing (libonnx-testdata)";
  std::set<std::string> supported;  // ai.onnx op types
  for (const auto& name : KernelRegistry::Default().Names()) {
    if (name.rfind("ai.onnx:", 0) == 0) supported.insert(name.substr(8));
  }
  std::map<std::string, OpStats> stats;
  for (const auto& op : supported) stats[op];
  std::vector<std::string> failures, skips;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeTests)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    ::onnx::ModelProto model;
    std::string bytes = ReadFile(dir / "model.onnx");
    if (!model.ParseFromString(bytes)) continue;
    // Which operator the test belongs to: its one node's op_type (Constant nodes aside);
    // models made only of supported ops are run, the rest belong to operators we lack.
    std::set<std::string> ops;
    bool all_supported = true;
    for (const auto& n : model.graph().node()) {
      const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
      if (default_domain && n.op_type() == "Constant") continue;
      ops.insert(n.op_type());
      all_supported = all_supported && default_domain && supported.count(n.op_type());
    }
    if (ops.empty() || !all_supported) continue;
    const std::string op = ops.size() == 1 ? *ops.begin() : "(multi-op graphs)";
    OpStats& s = stats[op];
    const std::string name = dir.filename().string();
    if (std::string reason = SkipReason(model); !reason.empty()) {
      ++s.skipped;
      skips.push_back(name + ": " + reason);
      continue;
    }
    std::string err = RunCase(dir);
    if (err.empty()) {
      ++s.passed;
    } else {
      ++s.failed;
      failures.push_back(name + ": " + err);
    }
  }
  int passed = 0, total = 0, skipped = 0;
  std::printf("\nONNX backend node tests (%s), rtol %g atol %g\n", kNodeTests, kRtol, kAtol);
  std::printf("%-20s %8s %8s\n", "operator", "passed", "skipped");
  for (const auto& [op, s] : stats) {
    const int run = s.passed + s.failed;
    std::printf("%-20s %4d/%-4d %4d\n", op.c_str(), s.passed, run, s.skipped);
    passed += s.passed;
    total += run;
    skipped += s.skipped;
  }
  std::printf("%-20s %4d/%-4d %4d\n", "TOTAL", passed, total, skipped);
  for (const auto& s : skips) std::printf("skipped  %s\n", s.c_str());
  for (const auto& f : failures) std::printf("FAILED   %s\n", f.c_str());
  std::fflush(stdout);
  EXPECT_TRUE(failures.empty()) << failures.size() << " backend node tests failed";
  for (const auto& [op, s] : stats) {
    EXPECT_GT(s.passed + s.failed + s.skipped, 0) << "no backend node test for " << op;
  }
}

}  // namespace
}  // namespace studio::serving::onnx
