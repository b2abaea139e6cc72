// The ai.onnx.ml kernels through the Kernel interface: attribute validation at load, shape
// checks at run time, and the ORT-specific behaviours the conformance test relies on.

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "serving/onnx/kernel.h"
#include "serving/onnx/ops/ml/ml_kernels.h"

namespace studio::serving::onnx::ml {
namespace {

// Owns what a NodeInfo points at.
struct Node {
  explicit Node(std::string op_type) : op(std::move(op_type)) {}
  std::string op;
  std::string name = "n1";
  int64_t opset = 1;
  size_t num_inputs = 1;
  size_t num_outputs = 1;
  Attributes attrs;
  std::vector<const Tensor*> constants;

  Result<std::unique_ptr<Kernel>> Make(KernelFactory f) {
    constants.assign(num_inputs, nullptr);
    NodeInfo info{"ai.onnx.ml", op, name, opset, attrs, constants, num_outputs};
    return f(info);
  }
};

Tensor Floats(std::vector<int64_t> shape, std::vector<float> v) {
  Tensor t(DType::kFloat32, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

Tensor Ints(std::vector<int64_t> shape, std::vector<int64_t> v) {
  Tensor t(DType::kInt64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

Tensor Strings(std::vector<int64_t> shape, std::vector<std::string> v) {
  Tensor t(DType::kString, std::move(shape));
  t.strings() = std::move(v);
  return t;
}

Status RunKernel(const Kernel& k, std::vector<const Tensor*> in, std::vector<Tensor>& out) {
  return k.Run(in, out);
}

void ExpectLoadError(Node& n, KernelFactory f, const std::string& fragment) {
  auto r = n.Make(f);
  ASSERT_FALSE(r.ok()) << n.op << " loaded";
  EXPECT_NE(r.status().message().find("'" + n.name + "'"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(LinearRegressor, ComputesAndChecksWidth) {
  Node n{"LinearRegressor"};
  n.attrs.Set("coefficients", std::vector<float>{1, 2, 3, 4, 5, 6});
  n.attrs.Set("intercepts", std::vector<float>{0.5f, -1});
  n.attrs.Set("targets", int64_t{2});
  auto k = n.Make(&MakeLinearRegressor);
  ASSERT_TRUE(k.ok()) << k.status().message();
  Tensor x = Floats({2, 3}, {1, 1, 1, 0, 1, 2});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 6.5f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 14.f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[2], 8.5f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[3], 16.f);

  Tensor narrow = Floats({1, 2}, {1, 2});
  Status s = RunKernel(**k, {&narrow}, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'n1'"), std::string::npos) << s.message();
  Tensor rank3 = Floats({1, 1, 3}, {1, 2, 3});
  EXPECT_FALSE(RunKernel(**k, {&rank3}, out).ok());
}

TEST(LinearRegressor, BadAttributes) {
  Node n{"LinearRegressor"};
  ExpectLoadError(n, &MakeLinearRegressor, "coefficients");
  n.attrs.Set("coefficients", std::vector<float>{1, 2, 3});
  n.attrs.Set("targets", int64_t{2});
  ExpectLoadError(n, &MakeLinearRegressor, "multiple");
  n.attrs.Set("targets", int64_t{1});
  n.attrs.Set("intercepts", std::vector<float>{1, 2});
  ExpectLoadError(n, &MakeLinearRegressor, "intercepts");
  n.attrs.Set("intercepts", std::vector<float>{1});
  n.attrs.Set("post_transform", std::string("SIGMOID"));
  ExpectLoadError(n, &MakeLinearRegressor, "post_transform");
}

TEST(LinearClassifier, MulticlassSoftmaxAndLabels) {
  Node n{"LinearClassifier"};
  n.num_outputs = 2;
  n.attrs.Set("coefficients", std::vector<float>{1, 0, 0, 1, -1, -1});
  n.attrs.Set("intercepts", std::vector<float>{0, 0, 0});
  n.attrs.Set("classlabels_strings", std::vector<std::string>{"a", "b", "c"});
  n.attrs.Set("post_transform", std::string("SOFTMAX"));
  auto k = n.Make(&MakeLinearClassifier);
  ASSERT_TRUE(k.ok()) << k.status().message();
  Tensor x = Floats({2, 2}, {2, 1, -3, -2});
  std::vector<Tensor> out(2);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_EQ(out[0].strings(), (std::vector<std::string>{"a", "c"}));
  ASSERT_EQ(out[1].shape(), (std::vector<int64_t>{2, 3}));
  float sum = out[1].data<float>()[0] + out[1].data<float>()[1] + out[1].data<float>()[2];
  EXPECT_NEAR(sum, 1.f, 1e-6);
  Tensor wide = Floats({1, 3}, {1, 2, 3});
  EXPECT_FALSE(RunKernel(**k, {&wide}, out).ok());
}

TEST(LinearClassifier, BinaryOneRowAddsSecondClass) {
  Node n{"LinearClassifier"};
  n.num_outputs = 2;
  n.attrs.Set("coefficients", std::vector<float>{1, -1});
  n.attrs.Set("intercepts", std::vector<float>{0.25f});
  n.attrs.Set("classlabels_ints", std::vector<int64_t>{7, 9});
  n.attrs.Set("post_transform", std::string("LOGISTIC"));
  auto k = n.Make(&MakeLinearClassifier);
  ASSERT_TRUE(k.ok()) << k.status().message();
  Tensor x = Floats({2, 2}, {1, 0, 0, 1});
  std::vector<Tensor> out(2);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_EQ(out[0].data<int64_t>()[0], 9);
  EXPECT_EQ(out[0].data<int64_t>()[1], 7);
  ASSERT_EQ(out[1].shape(), (std::vector<int64_t>{2, 2}));
  // LOGISTIC: [1 - p, p] with p = logistic(1.25).
  const float p = 1.f / (1.f + std::exp(-1.25f));
  EXPECT_NEAR(out[1].data<float>()[0], 1 - p, 1e-6);
  EXPECT_NEAR(out[1].data<float>()[1], p, 1e-6);
  EXPECT_NEAR(out[1].data<float>()[2], 1.f / (1.f + std::exp(-0.75f)), 1e-6);  // score -0.75

  n.attrs.Set("post_transform", std::string("NONE"));
  k = n.Make(&MakeLinearClassifier);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_FLOAT_EQ(out[1].data<float>()[0], 1 - 1.25f);
  EXPECT_FLOAT_EQ(out[1].data<float>()[1], 1.25f);

  n.attrs.Set("classlabels_ints", std::vector<int64_t>{7, 8, 9});
  ExpectLoadError(n, &MakeLinearClassifier, "exactly 2");
}

TEST(LinearClassifier, BadAttributes) {
  Node n{"LinearClassifier"};
  n.num_outputs = 2;
  n.attrs.Set("coefficients", std::vector<float>{1, 2, 3, 4});
  n.attrs.Set("intercepts", std::vector<float>{0, 0});
  ExpectLoadError(n, &MakeLinearClassifier, "classlabels");
  n.attrs.Set("classlabels_ints", std::vector<int64_t>{0, 1, 2});
  ExpectLoadError(n, &MakeLinearClassifier, "class labels");
  n.attrs.Set("classlabels_ints", std::vector<int64_t>{0, 1});
  n.attrs.Set("intercepts", std::vector<float>{0, 0, 0});
  ExpectLoadError(n, &MakeLinearClassifier, "multiple");
}

TEST(Scaler, PerFeatureAndBroadcast) {
  Node n{"Scaler"};
  n.attrs.Set("scale", std::vector<float>{2, 0.5f});
  n.attrs.Set("offset", std::vector<float>{1, -1});
  auto k = n.Make(&MakeScaler);
  ASSERT_TRUE(k.ok());
  Tensor x = Floats({1, 2}, {3, 3});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 4.f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], 2.f);
  Tensor wide = Floats({1, 3}, {1, 2, 3});
  EXPECT_FALSE(RunKernel(**k, {&wide}, out).ok());

  Node bad{"Scaler"};
  bad.attrs.Set("scale", std::vector<float>{1, 2});
  bad.attrs.Set("offset", std::vector<float>{1});
  ExpectLoadError(bad, &MakeScaler, "offset");
  Node empty{"Scaler"};
  ExpectLoadError(empty, &MakeScaler, "scale");
}

TEST(Normalizer, Norms) {
  Tensor x = Floats({1, 3}, {3, -4, 0});
  std::vector<Tensor> out(1);
  Node n{"Normalizer"};
  n.attrs.Set("norm", std::string("L2"));
  auto k = n.Make(&MakeNormalizer);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 0.6f);
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], -0.8f);
  n.attrs.Set("norm", std::string("L1"));
  k = n.Make(&MakeNormalizer);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], -4.f / 7);
  n.attrs.Set("norm", std::string("MAX"));
  k = n.Make(&MakeNormalizer);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[1], -4.f / 3);
  n.attrs.Set("norm", std::string("L3"));
  ExpectLoadError(n, &MakeNormalizer, "norm");
  Tensor rank3 = Floats({1, 1, 1}, {1});
  n.attrs.Set("norm", std::string("L1"));
  k = n.Make(&MakeNormalizer);
  EXPECT_FALSE(RunKernel(**k, {&rank3}, out).ok());
}

TEST(Imputer, NanAndIntReplacement) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Node n{"Imputer"};
  n.attrs.Set("imputed_value_floats", std::vector<float>{10, 20});
  n.attrs.Set("replaced_value_float", nan);
  auto k = n.Make(&MakeImputer);
  ASSERT_TRUE(k.ok());
  Tensor x = Floats({2, 2}, {nan, 1, 2, nan});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_EQ(out[0].data<float>()[0], 10.f);
  EXPECT_EQ(out[0].data<float>()[1], 1.f);
  EXPECT_EQ(out[0].data<float>()[3], 20.f);
  Tensor wide = Floats({1, 3}, {1, 2, 3});
  EXPECT_FALSE(RunKernel(**k, {&wide}, out).ok());
  Tensor ints = Ints({1, 2}, {1, 2});
  EXPECT_FALSE(RunKernel(**k, {&ints}, out).ok());

  Node ni{"Imputer"};
  ni.attrs.Set("imputed_value_int64s", std::vector<int64_t>{-5});
  ni.attrs.Set("replaced_value_int64", int64_t{0});
  k = ni.Make(&MakeImputer);
  ASSERT_TRUE(k.ok());
  Tensor xi = Ints({3}, {0, 1, 0});
  ASSERT_TRUE(RunKernel(**k, {&xi}, out).ok());
  EXPECT_EQ(out[0].data<int64_t>()[0], -5);
  EXPECT_EQ(out[0].data<int64_t>()[1], 1);

  Node both{"Imputer"};
  both.attrs.Set("imputed_value_int64s", std::vector<int64_t>{1});
  both.attrs.Set("imputed_value_floats", std::vector<float>{1});
  ExpectLoadError(both, &MakeImputer, "exactly one");
}

TEST(ZipMap, KeysAndWidth) {
  Node n{"ZipMap"};
  n.attrs.Set("classlabels_int64s", std::vector<int64_t>{3, 5});
  auto k = n.Make(&MakeZipMap);
  ASSERT_TRUE(k.ok());
  Tensor x = Floats({2, 2}, {0.25f, 0.75f, 1, 0});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  ASSERT_TRUE(out[0].map_keys.has_value());
  EXPECT_EQ(out[0].map_keys->ints, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(out[0].data<float>()[1], 0.75f);
  Tensor wide = Floats({1, 3}, {1, 2, 3});
  EXPECT_FALSE(RunKernel(**k, {&wide}, out).ok());
  Node none{"ZipMap"};
  ExpectLoadError(none, &MakeZipMap, "classlabels");
}

TEST(ArrayFeatureExtractor, SelectsAndChecksRange) {
  Node n{"ArrayFeatureExtractor"};
  n.num_inputs = 2;
  auto k = n.Make(&MakeArrayFeatureExtractor);
  ASSERT_TRUE(k.ok());
  Tensor x = Strings({2, 3}, {"a", "b", "c", "d", "e", "f"});
  Tensor idx = Ints({2}, {2, 0});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x, &idx}, out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(out[0].strings(), (std::vector<std::string>{"c", "a", "f", "d"}));
  Tensor bad = Ints({1}, {3});
  Status s = RunKernel(**k, {&x, &bad}, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("out of range"), std::string::npos);
  Tensor neg = Ints({1}, {-1});
  EXPECT_FALSE(RunKernel(**k, {&x, &neg}, out).ok());
  Tensor f = Floats({3}, {1, 2, 3});
  Tensor one = Ints({1}, {1});
  ASSERT_TRUE(RunKernel(**k, {&f, &one}, out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(out[0].data<float>()[0], 2.f);
}

TEST(LabelEncoder, Opset1BothDirections) {
  Node n{"LabelEncoder"};
  n.attrs.Set("classes_strings", std::vector<std::string>{"x", "y"});
  auto k = n.Make(&MakeLabelEncoder);
  ASSERT_TRUE(k.ok());
  Tensor s = Strings({3}, {"y", "x", "z"});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&s}, out).ok());
  EXPECT_EQ(out[0].data<int64_t>()[0], 1);
  EXPECT_EQ(out[0].data<int64_t>()[2], -1);
  Tensor i = Ints({2}, {0, 7});
  ASSERT_TRUE(RunKernel(**k, {&i}, out).ok());
  EXPECT_EQ(out[0].strings(), (std::vector<std::string>{"x", "_Unused"}));
}

TEST(LabelEncoder, Opset2FloatKeys) {
  Node n{"LabelEncoder"};
  n.opset = 2;
  n.attrs.Set("keys_floats", std::vector<float>{0.5f, std::numeric_limits<float>::quiet_NaN()});
  n.attrs.Set("values_strings", std::vector<std::string>{"half", "nan"});
  n.attrs.Set("default_string", std::string("?"));
  auto k = n.Make(&MakeLabelEncoder);
  ASSERT_TRUE(k.ok());
  Tensor x = Floats({3}, {0.5f, std::numeric_limits<float>::quiet_NaN(), 1});
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunKernel(**k, {&x}, out).ok());
  EXPECT_EQ(out[0].strings(), (std::vector<std::string>{"half", "?", "?"}));
  Tensor wrong = Ints({1}, {1});
  EXPECT_FALSE(RunKernel(**k, {&wrong}, out).ok());

  Node bad{"LabelEncoder"};
  bad.opset = 2;
  bad.attrs.Set("keys_int64s", std::vector<int64_t>{1, 2});
  bad.attrs.Set("values_floats", std::vector<float>{1});
  ExpectLoadError(bad, &MakeLabelEncoder, "entries");
  bad.attrs.Set("keys_strings", std::vector<std::string>{"a"});
  ExpectLoadError(bad, &MakeLabelEncoder, "exactly one");
}

}  // namespace
}  // namespace studio::serving::onnx::ml
