#include "registry/model_package.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/ids.h"

namespace studio::registry {
namespace {
namespace fs = std::filesystem;

const char* kXgbMlmodel = R"(artifact_path: model
flavors:
  python_function:
    data: model.xgb
    loader_module: mlflow.xgboost
  xgboost:
    code: null
    data: model.xgb
    model_class: xgboost.sklearn.XGBClassifier
    model_format: xgb
    xgb_version: 1.7.4
mlflow_version: 2.9.2
signature:
  inputs: '[{"type": "double", "name": "f1"}, {"type": "long", "name": "f2"}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}]'
)";

class ModelPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pkg-" + NewUuidV7());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(ModelPackageTest, ReadsAnXgboostPackageWithDigests) {
  Write("MLmodel", kXgbMlmodel);
  Write("model.xgb", "abc");
  Write("extra/requirements.txt", "xgboost==1.7.4\n");
  auto pkg = ReadModelPackage(dir_.string());
  ASSERT_TRUE(pkg.ok()) << pkg.status().ToString();
  EXPECT_EQ(pkg->flavor, "xgboost");
  EXPECT_EQ(pkg->model_file, "model.xgb");
  EXPECT_EQ(pkg->flavor_version, "1.7.4");
  EXPECT_NE(pkg->signature_inputs.find("\"f1\""), std::string::npos);
  ASSERT_EQ(pkg->files.size(), 3u);
  EXPECT_EQ(pkg->files[0].path, "MLmodel");
  EXPECT_EQ(pkg->files[1].path, "extra/requirements.txt");
  EXPECT_EQ(pkg->files[2].path, "model.xgb");
  EXPECT_EQ(pkg->files[2].size, 3);
  EXPECT_EQ(pkg->files[2].sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ModelPackageTest, ReadsAnOnnxPackage) {
  Write("MLmodel", "flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.12.0\n");
  Write("model.onnx", "\x08\x07");
  auto pkg = ReadModelPackage(dir_.string());
  ASSERT_TRUE(pkg.ok()) << pkg.status().ToString();
  EXPECT_EQ(pkg->flavor, "onnx");
  EXPECT_EQ(pkg->flavor_version, "1.12.0");
  EXPECT_TRUE(pkg->signature_inputs.empty());
}

TEST_F(ModelPackageTest, RefusesWhatCannotBeServedOrEscapes) {
  struct Case {
    const char* mlmodel;
    const char* expect;
  };
  const Case cases[] = {
      {"flavors:\n  sklearn:\n    pickled_model: m.pkl\n", "xgboost or onnx"},
      {"flavors:\n  xgboost:\n    data: missing.xgb\n", "not a file in the package"},
      {"flavors:\n  xgboost:\n    data: ../../etc/passwd\n", "'..'"},
      {"flavors:\n  xgboost:\n    data: /etc/passwd\n", "relative path"},
      {"flavors: [1, 2\n", "YAML"},
      {"- just a list\n", "mapping"},
      {"flavors:\n  xgboost:\n    data: model.xgb\nsignature:\n  inputs: 'not json'\n",
       "JSON array"},
      {"flavors:\n  xgboost:\n    data: model.xgb\nsignature:\n  inputs: '[{\"type\": "
       "\"complex128\"}]'\n",
       "unknown column type"},
  };
  Write("model.xgb", "x");
  for (const auto& c : cases) {
    Write("MLmodel", c.mlmodel);
    auto pkg = ReadModelPackage(dir_.string());
    ASSERT_FALSE(pkg.ok()) << c.mlmodel;
    EXPECT_EQ(pkg.status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_NE(pkg.status().message().find(c.expect), std::string::npos)
        << c.mlmodel << " → " << pkg.status().message();
  }
}

TEST_F(ModelPackageTest, RefusesSymlinksInsideThePackage) {
  Write("MLmodel", kXgbMlmodel);
  Write("model.xgb", "abc");
  fs::create_symlink("/etc/passwd", dir_ / "passwd");
  auto pkg = ReadModelPackage(dir_.string());
  ASSERT_FALSE(pkg.ok());
  EXPECT_NE(pkg.status().message().find("symlinks"), std::string::npos);
}

TEST_F(ModelPackageTest, MissingDirectoryOrMlmodel) {
  EXPECT_FALSE(ReadModelPackage((dir_ / "nope").string()).ok());
  Write("model.xgb", "abc");
  auto pkg = ReadModelPackage(dir_.string());
  ASSERT_FALSE(pkg.ok());
  EXPECT_NE(pkg.status().message().find("MLmodel"), std::string::npos);
}

}  // namespace
}  // namespace studio::registry
