// ai.onnx.ml conformance: runs every fixture of make_fixtures.py through our ONNX runtime and
// compares with ONNX Runtime's outputs (ort_reference.js). Prints passed/total per operator.
//
//   studio_onnx_ml_conformance FIXTURE_DIR REFERENCE_JSON
//
// Floats agree when |ours - ort| <= 1e-5 * max(|ours|, |ort|) + 1e-6 (the absolute floor is
// for scores that come out near zero from cancelling float sums); NaN matches NaN. Labels,
// integers and strings must be identical. Exit status 0 only when every case passes.
// STUDIO_CONFORMANCE_VERBOSE=1 prints every float pair that differs by more than 1e-6 relative.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serving/core/tensor.h"
#include "serving/onnx/onnx_runtime.h"

namespace {

using nlohmann::json;
using studio::serving::DType;
using studio::serving::Tensor;

constexpr double kRelTol = 1e-5;
constexpr double kAbsTol = 1e-6;

double Number(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
    return std::stod(s);
  }
  return v.get<double>();
}

// The largest relative error seen in the current case (reported per operator).
double g_max_rel = 0;

bool Close(double ours, double ref) {
  if (std::isnan(ours) || std::isnan(ref)) return std::isnan(ours) && std::isnan(ref);
  if (std::isinf(ours) || std::isinf(ref)) return ours == ref;
  const double scale = std::max(std::fabs(ours), std::fabs(ref));
  if (scale > 0 && std::getenv("STUDIO_CONFORMANCE_VERBOSE") &&
      std::fabs(ours - ref) / scale > 1e-6) {
    std::printf("  differs: ours %.9g, ORT %.9g\n", ours, ref);
  }
  if (scale > 0) g_max_rel = std::max(g_max_rel, std::fabs(ours - ref) / scale);
  return std::fabs(ours - ref) <= kRelTol * std::max(std::fabs(ours), std::fabs(ref)) + kAbsTol;
}

std::optional<DType> DTypeOf(const std::string& name) {
  if (name == "float32") return DType::kFloat32;
  if (name == "float64") return DType::kFloat64;
  if (name == "int64") return DType::kInt64;
  if (name == "int32") return DType::kInt32;
  if (name == "string") return DType::kString;
  if (name == "bool") return DType::kBool;
  return std::nullopt;
}

Tensor MakeTensor(const json& spec) {
  auto dtype = DTypeOf(spec.at("dtype").get<std::string>());
  if (!dtype) throw std::runtime_error("unsupported input dtype " + spec.at("dtype").dump());
  Tensor t(*dtype, spec.at("shape").get<std::vector<int64_t>>());
  const json& data = spec.at("data");
  for (size_t i = 0; i < data.size(); ++i) {
    switch (*dtype) {
      case DType::kFloat32:
        t.data<float>()[i] = static_cast<float>(Number(data[i]));
        break;
      case DType::kFloat64:
        t.data<double>()[i] = Number(data[i]);
        break;
      case DType::kInt64:
        t.data<int64_t>()[i] = data[i].get<int64_t>();
        break;
      case DType::kInt32:
        t.data<int32_t>()[i] = data[i].get<int32_t>();
        break;
      case DType::kString:
        t.strings()[i] = data[i].get<std::string>();
        break;
      default:
        break;
    }
  }
  return t;
}

std::string Str(const json& j) { return j.dump(); }

// Returns "" when `ours` matches the reference output, else what differs first.
std::string CompareTensor(const Tensor& ours, const json& ref) {
  auto dtype = DTypeOf(ref.at("dtype").get<std::string>());
  if (!dtype) return "reference has unsupported dtype " + Str(ref.at("dtype"));
  if (ours.dtype() != *dtype) {
    return "dtype " + std::string(studio::serving::DTypeOipName(ours.dtype())) + ", ORT " +
           std::string(studio::serving::DTypeOipName(*dtype));
  }
  auto shape = ref.at("shape").get<std::vector<int64_t>>();
  if (ours.shape() != shape) {
    return "shape " + studio::serving::ShapeToString(ours.shape()) + ", ORT " +
           studio::serving::ShapeToString(shape);
  }
  const json& data = ref.at("data");
  for (int64_t i = 0; i < ours.size(); ++i) {
    const json& r = data[static_cast<size_t>(i)];
    std::ostringstream diff;
    diff.precision(9);
    if (*dtype == DType::kString) {
      if (ours.strings()[static_cast<size_t>(i)] != r.get<std::string>()) {
        diff << "element " << i << ": '" << ours.strings()[static_cast<size_t>(i)] << "', ORT "
             << Str(r);
      }
    } else if (*dtype == DType::kFloat32 || *dtype == DType::kFloat64) {
      double a = ours.AsDouble(i), b = Number(r);
      if (!Close(a, b)) diff << "element " << i << ": " << a << ", ORT " << b;
    } else if (ours.AsDouble(i) != Number(r)) {
      diff << "element " << i << ": " << ours.AsDouble(i) << ", ORT " << Str(r);
    }
    if (!diff.str().empty()) return diff.str();
  }
  return "";
}

std::string CompareMaps(const Tensor& ours, const json& ref) {
  if (!ours.map_keys) return "not a ZipMap output (map_keys unset)";
  const auto& keys = *ours.map_keys;
  std::vector<std::string> names;
  for (const auto& s : keys.strings) names.push_back(s);
  for (int64_t k : keys.ints) names.push_back(std::to_string(k));
  const bool ref_strings = ref.at("key_type") == "string";
  if (ref_strings != !keys.strings.empty()) return "map key type differs";
  const json& maps = ref.at("maps");
  if (ours.rank() != 2 || ours.dim(0) != static_cast<int64_t>(maps.size()) ||
      ours.dim(1) != static_cast<int64_t>(names.size())) {
    return "shape " + studio::serving::ShapeToString(ours.shape()) + " for " +
           std::to_string(maps.size()) + " maps";
  }
  for (size_t r = 0; r < maps.size(); ++r) {
    if (maps[r].size() != names.size()) return "row " + std::to_string(r) + ": key count differs";
    for (size_t j = 0; j < names.size(); ++j) {
      if (!maps[r].contains(names[j]))
        return "row " + std::to_string(r) + ": ORT has no key " + names[j];
      double a = ours.data<float>()[r * names.size() + j];
      double b = Number(maps[r][names[j]]);
      if (!Close(a, b)) {
        std::ostringstream diff;
        diff.precision(9);
        diff << "row " << r << " key " << names[j] << ": " << a << ", ORT " << b;
        return diff.str();
      }
    }
  }
  return "";
}

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

// "" when the case passes.
std::string RunCase(const std::string& dir, const json& c, const json& ref) {
  if (ref.contains("error")) return "ONNX Runtime failed: " + ref["error"].get<std::string>();
  auto rt = studio::serving::LoadOnnxRuntime(dir + "/" + c.at("model").get<std::string>());
  if (!rt.ok()) return "load: " + rt.status().message();
  const auto& model = **rt;
  std::vector<Tensor> inputs;
  for (const auto& spec : model.Inputs()) {
    if (!c.at("inputs").contains(spec.name)) return "no fixture data for input " + spec.name;
    inputs.push_back(MakeTensor(c["inputs"][spec.name]));
  }
  std::vector<Tensor> outputs;
  studio::Status st = model.Run(inputs, &outputs);
  if (!st.ok()) return "run: " + st.message();
  for (const auto& name : c.at("outputs")) {
    const std::string n = name.get<std::string>();
    size_t idx = 0;
    while (idx < model.Outputs().size() && model.Outputs()[idx].name != n) ++idx;
    if (idx >= model.Outputs().size() || idx >= outputs.size()) return "no output " + n;
    const json& r = ref.at("outputs").at(n);
    std::string diff =
        r.contains("maps") ? CompareMaps(outputs[idx], r) : CompareTensor(outputs[idx], r);
    if (!diff.empty()) return "output " + n + ": " + diff;
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FIXTURE_DIR REFERENCE_JSON\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  json manifest, reference;
  try {
    manifest = ReadJson(dir + "/manifest.json");
    reference = ReadJson(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  struct Counts {
    int passed = 0;
    int total = 0;
    double max_rel = 0;
  };
  std::map<std::string, Counts> per_op;
  int failed = 0;
  for (const auto& c : manifest.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    std::string problem;
    g_max_rel = 0;
    try {
      problem = reference.at("cases").contains(name) ? RunCase(dir, c, reference["cases"][name])
                                                     : "no ONNX Runtime reference";
    } catch (const std::exception& e) {
      problem = std::string("exception: ") + e.what();
    }
    Counts& counts = per_op[c.at("op").get<std::string>()];
    ++counts.total;
    counts.max_rel = std::max(counts.max_rel, g_max_rel);
    if (problem.empty()) {
      ++counts.passed;
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", name.c_str(), problem.c_str());
    }
  }
  std::printf("\nai.onnx.ml conformance against onnxruntime-node %s (rel. error <= 1e-5)\n",
              reference.value("onnxruntime", std::string("?")).c_str());
  std::printf("%-26s %-14s %s\n", "operator", "passed/total", "max rel. error");
  Counts all;
  for (const auto& [op, counts] : per_op) {
    std::printf("%-26s %-14s %.2e\n", op.c_str(),
                (std::to_string(counts.passed) + "/" + std::to_string(counts.total)).c_str(),
                counts.max_rel);
    all.passed += counts.passed;
    all.total += counts.total;
    all.max_rel = std::max(all.max_rel, counts.max_rel);
  }
  std::printf("%-26s %-14s %.2e\n", "all",
              (std::to_string(all.passed) + "/" + std::to_string(all.total)).c_str(), all.max_rel);
  return failed == 0 ? 0 : 1;
}
