#include "serving/trees/xgboost_runtime.h"

#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace studio::serving::trees {
namespace {

namespace fs = std::filesystem;

// Trains small models with Debian's python3-xgboost and writes, per model, xgboost's own
// predictions for a shared test matrix (with NaNs) as raw float32.
constexpr const char* kTrainScript = R"PY(
import sys, numpy as np, xgboost as xgb
out = sys.argv[1]
rng = np.random.default_rng(7)
X = rng.standard_normal((600, 8)).astype(np.float32)
X[rng.random(X.shape) < 0.15] = np.nan
lin = np.nan_to_num(X[:, 0]) - 0.7 * np.nan_to_num(X[:, 1], nan=2.0) + 0.3 * np.nan_to_num(X[:, 2])
T = rng.standard_normal((300, 8)).astype(np.float32)
T[rng.random(T.shape) < 0.2] = np.nan
T.tofile(out + "/test_x.f32")
specs = {
  "binary": ({"objective": "binary:logistic"}, (lin > 0).astype(int)),
  "reg": ({"objective": "reg:squarederror", "base_score": 0.3}, lin),
  "multi": ({"objective": "multi:softprob", "num_class": 3}, np.digitize(lin, [-0.5, 0.5])),
  "regl": ({"objective": "reg:logistic", "base_score": 0.3}, (lin > 0).astype(float)),
  "poisson": ({"objective": "count:poisson"}, np.abs(np.round(lin)).astype(float)),
  "softmax": ({"objective": "multi:softmax", "num_class": 3}, np.digitize(lin, [-0.5, 0.5])),
  "dart": ({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.2, "seed": 1}, (lin > 0).astype(int)),
  "linear": ({"objective": "reg:squarederror", "booster": "gblinear"}, lin),
}
for name, (params, y) in specs.items():
  p = {"max_depth": 4, "eta": 0.3, "nthread": 1, "seed": 0, "tree_method": "hist"}
  p.update(params)
  b = xgb.train(p, xgb.DMatrix(X, y, missing=np.nan), 12)
  b.save_model(out + "/" + name + ".json")
  b.save_model(out + "/" + name + ".ubj")
  if params.get("booster") == "gblinear":
    continue  # libxgboost 1.7 has no in-place prediction for gblinear
  b.set_param({"nthread": 1})
  pred = b.inplace_predict(T, missing=np.nan).astype(np.float32)
  pred.tofile(out + "/" + name + ".pred.f32")
)PY";

class XgboostRuntimeTest : public ::testing::Test {
 protected:
  // ctest runs each test in its own process: the models are trained once into a shared
  // directory (built in a private one, then renamed into place atomically) and reused.
  static void SetUpTestSuite() {
    const std::string shared = fs::temp_directory_path() / "studio_xgb_runtime_test_v1";
    if (fs::exists(shared + "/done")) {
      dir_ = shared;
      return;
    }
    char tmpl[] = "/tmp/xgb_runtime_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string work = tmpl;
    const std::string script = work + "/train.py";
    std::ofstream(script) << kTrainScript;
    const std::string cmd = "/usr/bin/python3 " + script + " " + work + " 2>" + work + "/train.err";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "training failed; see " << work << "/train.err";
    std::ofstream(work + "/done") << "ok";
    std::error_code ec;
    fs::rename(work, shared, ec);  // fails harmlessly if another process got there first
    dir_ = ec ? work : shared;
  }

  static std::vector<float> ReadF32(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
  }

  static std::string Path(const std::string& name) { return dir_ + "/" + name; }

  static void ExpectBitIdentical(const std::string& model, const char* want_engine) {
    SCOPED_TRACE(model);
    XgboostLoadReport report;
    auto rt = LoadXgboostRuntime(Path(model), RuntimeOptions{}, &report);
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    EXPECT_EQ((*rt)->Engine(), want_engine) << report.native_error;
    EXPECT_EQ(report.engine, want_engine);
    EXPECT_EQ(report.mismatched_rows, 0);
    const std::vector<float> x = ReadF32(Path("test_x.f32"));
    const int64_t rows = static_cast<int64_t>(x.size() / 8);
    const std::string stem = model.substr(0, model.rfind('.'));
    const std::vector<float> want = ReadF32(Path(stem + ".pred.f32"));
    std::vector<Tensor> out;
    ASSERT_TRUE((*rt)->PredictRows(x.data(), rows, 8, &out).ok());
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(static_cast<size_t>(out[0].size()), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(out[0].data<float>()[i]), std::bit_cast<uint32_t>(want[i]))
          << "element " << i << ": " << out[0].data<float>()[i] << " vs python " << want[i];
    }
    // Single rows through Run() give the same bits.
    for (int64_t r = 0; r < rows; r += 37) {
      Tensor t(DType::kFloat32, {1, 8});
      std::memcpy(t.data<float>(), x.data() + r * 8, 8 * sizeof(float));
      std::vector<Tensor> one;
      ASSERT_TRUE((*rt)->Run(std::span<const Tensor>(&t, 1), &one).ok());
      const int64_t w = one[0].size();
      for (int64_t k = 0; k < w; ++k) {
        EXPECT_EQ(std::bit_cast<uint32_t>(one[0].data<float>()[k]),
                  std::bit_cast<uint32_t>(want[static_cast<size_t>(r * w + k)]));
      }
    }
  }

  static std::string dir_;
};
std::string XgboostRuntimeTest::dir_;

TEST_F(XgboostRuntimeTest, BinaryLogisticJsonAndUbj) {
  ExpectBitIdentical("binary.json", "xgboost-native");
  ExpectBitIdentical("binary.ubj", "xgboost-native");
}

TEST_F(XgboostRuntimeTest, RegressionWithBaseScore) {
  ExpectBitIdentical("reg.json", "xgboost-native");
  ExpectBitIdentical("reg.ubj", "xgboost-native");
  ExpectBitIdentical("regl.json", "xgboost-native");
  ExpectBitIdentical("poisson.ubj", "xgboost-native");
}

TEST_F(XgboostRuntimeTest, MulticlassSoftprobAndSoftmax) {
  ExpectBitIdentical("multi.json", "xgboost-native");
  ExpectBitIdentical("multi.ubj", "xgboost-native");
  ExpectBitIdentical("softmax.json", "xgboost-native");
  auto rt = LoadXgboostRuntime(Path("multi.json"), RuntimeOptions{});
  ASSERT_TRUE(rt.ok());
  EXPECT_EQ((*rt)->Outputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ((*rt)->Inputs()[0].shape, (std::vector<int64_t>{-1, 8}));
}

TEST_F(XgboostRuntimeTest, DartMatchesOrFallsBack) {
  // DART leaves are scaled by weight_drop; whatever engine serves must match xgboost.
  XgboostLoadReport report;
  auto rt = LoadXgboostRuntime(Path("dart.json"), RuntimeOptions{}, &report);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  ExpectBitIdentical("dart.json", report.engine.c_str());
}

TEST_F(XgboostRuntimeTest, GblinearIsAClearLoadError) {
  // Neither engine serves gblinear: the native engine reads trees only and libxgboost 1.7
  // has no in-place prediction for it.
  auto rt = LoadXgboostRuntime(Path("linear.json"), RuntimeOptions{});
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(rt.status().message().find("gblinear"), std::string::npos) << rt.status().message();
}

TEST_F(XgboostRuntimeTest, NativeEqualsLibxgboostDirectly) {
  auto lib = XgboostLibRuntime::Load(Path("binary.ubj"), RuntimeOptions{});
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  XgboostModelInfo info;
  auto def = LoadXgboostModelFile(Path("binary.ubj"), &info);
  ASSERT_TRUE(def.ok());
  auto native = XgboostNativeRuntime::Create(*def, info);
  ASSERT_TRUE(native.ok());
  auto x = MakeValidationRows((*native)->engine(), 1000, 8);
  std::vector<float> a(1000), b(1000);
  (*native)->engine().PredictBatch(x.data(), 1000, 8, a.data());
  ASSERT_TRUE((*lib)->Predict(x.data(), 1000, 8, b.data()).ok());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(a[i]), std::bit_cast<uint32_t>(b[i])) << i;
  }
}

TEST_F(XgboostRuntimeTest, WrongInputIsAnError) {
  auto rt = LoadXgboostRuntime(Path("binary.json"), RuntimeOptions{});
  ASSERT_TRUE(rt.ok());
  std::vector<float> x(7, 0.0f);
  std::vector<Tensor> out;
  Status st = (*rt)->PredictRows(x.data(), 1, 7, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("input"), std::string::npos);
  Tensor t(DType::kString, {1, 8});
  EXPECT_FALSE((*rt)->Run(std::span<const Tensor>(&t, 1), &out).ok());
}

TEST_F(XgboostRuntimeTest, CorruptAndTruncatedFilesFailCleanly) {
  for (const char* name : {"binary.json", "binary.ubj", "multi.ubj"}) {
    std::ifstream in(Path(name), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Truncations at many points, and byte flips.
    for (size_t cut :
         {size_t{0}, size_t{1}, size_t{7}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 2}) {
      const std::string p = Path(std::string("cut_") + name);
      std::ofstream(p, std::ios::binary) << bytes.substr(0, cut);
      auto def = LoadXgboostModelFile(p);
      EXPECT_FALSE(def.ok()) << name << " cut at " << cut;
      auto rt = LoadXgboostRuntime(p, RuntimeOptions{});
      EXPECT_FALSE(rt.ok()) << name << " cut at " << cut;
    }
    for (size_t pos = 5; pos < bytes.size(); pos += bytes.size() / 40 + 1) {
      std::string b = bytes;
      b[pos] = static_cast<char>(b[pos] ^ 0x5a);
      auto def = ParseXgboostModel(b);  // may succeed (a changed digit); must not crash
      (void)def;
    }
  }
  auto missing = LoadXgboostRuntime(Path("nope.json"), RuntimeOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kResourceDoesNotExist);
}

TEST_F(XgboostRuntimeTest, UnknownObjectiveIsNamed) {
  std::ifstream in(Path("binary.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string from = "\"binary:logistic\"";
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "\"reg:madeup\"");
  auto def = ParseXgboostModel(text);
  ASSERT_FALSE(def.ok());
  EXPECT_NE(def.status().message().find("reg:madeup"), std::string::npos);
}

}  // namespace
}  // namespace studio::serving::trees
