#include "serving/onnx/onnx_runtime.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace studio::serving {
namespace {

// ---- building models in C++ ----

::onnx::ValueInfoProto Value(const std::string& name, int elem_type,
                             const std::vector<int64_t>& shape) {
  ::onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* s = tt->mutable_shape();
  for (int64_t d : shape) {
    if (d < 0) {
      s->add_dim()->set_dim_param("N");
    } else {
      s->add_dim()->set_dim_value(d);
    }
  }
  return v;
}

::onnx::NodeProto Node(const std::string& op, std::vector<std::string> in,
                       std::vector<std::string> out, const std::string& name = "") {
  ::onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& s : in) n.add_input(s);
  for (auto& s : out) n.add_output(s);
  return n;
}

void IntAttr(::onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

void IntsAttr(::onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
}

void FloatAttr(::onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

::onnx::TensorProto FloatInit(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
  ::onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::FLOAT);
  for (auto d : dims) t.add_dims(d);
  for (auto v : values) t.add_float_data(v);
  return t;
}

struct ModelSpec {
  int opset = 13;
  std::vector<::onnx::NodeProto> nodes;
  std::vector<::onnx::ValueInfoProto> inputs, outputs;
  std::vector<::onnx::TensorProto> initializers;
};

std::string Serialize(const ModelSpec& m) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(m.opset);
  auto* g = model.mutable_graph();
  g->set_name("test");
  for (const auto& n : m.nodes) *g->add_node() = n;
  for (const auto& v : m.inputs) *g->add_input() = v;
  for (const auto& v : m.outputs) *g->add_output() = v;
  for (const auto& t : m.initializers) *g->add_initializer() = t;
  return model.SerializeAsString();
}

std::unique_ptr<ModelRuntime> MustLoad(const ModelSpec& m) {
  auto rt = LoadOnnxRuntimeFromBytes(Serialize(m));
  EXPECT_TRUE(rt.ok()) << rt.status().message();
  return rt.ok() ? std::move(rt).value() : nullptr;
}

Tensor FloatTensor(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t(DType::kFloat32, std::move(shape));
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.size());
}

// y = Relu(x + c)
ModelSpec AddReluModel() {
  ModelSpec m;
  m.inputs.push_back(Value("features", ::onnx::TensorProto::FLOAT, {-1, 3}));
  m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {-1, 3}));
  m.initializers.push_back(FloatInit("c", {3}, {1, -1, 0.5f}));
  m.nodes.push_back(Node("Add", {"features", "c"}, {"s"}, "add"));
  m.nodes.push_back(Node("Relu", {"s"}, {"y"}, "relu"));
  return m;
}

// ---- errors ----

TEST(OnnxRuntimeTest, UnsupportedOperatorNamesOpAndNode) {
  ModelSpec m = AddReluModel();
  m.nodes[1] = Node("Frobnicate", {"s"}, {"y"}, "my_frob_node");
  auto rt = LoadOnnxRuntimeFromBytes(Serialize(m));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(rt.status().message().find("ai.onnx:Frobnicate"), std::string::npos)
      << rt.status().message();
  EXPECT_NE(rt.status().message().find("my_frob_node"), std::string::npos);

  m.nodes[1].set_domain("com.example");
  rt = LoadOnnxRuntimeFromBytes(Serialize(m));
  ASSERT_FALSE(rt.ok());
  // No opset import for the domain is reported first; both name the node.
  EXPECT_NE(rt.status().message().find("my_frob_node"), std::string::npos) << rt.status().message();
}

TEST(OnnxRuntimeTest, MalformedBytesAreAClearError) {
  auto rt = LoadOnnxRuntimeFromBytes(std::string("\xff\xff\xff\xff garbage", 12));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(rt.status().message().find("not a valid ONNX model"), std::string::npos)
      << rt.status().message();

  rt = LoadOnnxRuntimeFromBytes("");
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("no graph"), std::string::npos);

  // A truncated but otherwise valid model.
  std::string bytes = Serialize(AddReluModel());
  rt = LoadOnnxRuntimeFromBytes(bytes.substr(0, bytes.size() / 2));
  EXPECT_FALSE(rt.ok());

  rt = LoadOnnxRuntime("/nonexistent/model.onnx");
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().code(), ErrorCode::kResourceDoesNotExist);
}

TEST(OnnxRuntimeTest, InitializerWithWrongElementCountIsRejected) {
  ModelSpec m = AddReluModel();
  m.initializers[0] = FloatInit("c", {4}, {1, 2, 3});
  auto rt = LoadOnnxRuntimeFromBytes(Serialize(m));
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find("initializer 'c'"), std::string::npos)
      << rt.status().message();
}

TEST(OnnxRuntimeTest, WrongInputsNameTheInput) {
  auto rt = MustLoad(AddReluModel());
  ASSERT_TRUE(rt);
  ASSERT_EQ(rt->Inputs().size(), 1u);
  EXPECT_EQ(rt->Inputs()[0].name, "features");
  EXPECT_EQ(rt->Inputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_EQ(rt->Engine(), "onnx");
  std::vector<Tensor> out;

  Tensor wrong_type(DType::kFloat64, {2, 3});
  Status st = rt->Run(std::span<const Tensor>(&wrong_type, 1), &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("'features'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("FP32"), std::string::npos) << st.message();

  Tensor wrong_dim(DType::kFloat32, {2, 4});
  st = rt->Run(std::span<const Tensor>(&wrong_dim, 1), &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("'features'"), std::string::npos) << st.message();

  Tensor wrong_rank(DType::kFloat32, {6});
  st = rt->Run(std::span<const Tensor>(&wrong_rank, 1), &out);
  EXPECT_NE(st.message().find("'features'"), std::string::npos) << st.message();

  st = rt->Run({}, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("features"), std::string::npos) << st.message();

  float rows[4] = {1, 2, 3, 4};
  st = rt->PredictRows(rows, 1, 4, &out);
  EXPECT_NE(st.message().find("'features'"), std::string::npos) << st.message();

  Tensor ok = FloatTensor({2, 3}, {-2, 0, 1, 1, 1, -1});
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&ok, 1), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(out[0]), (std::vector<float>{0, 0, 1.5f, 2, 0, 0}));
}

TEST(OnnxRuntimeTest, UnorderedGraphIsSortedAndCyclesAreRejected) {
  ModelSpec m = AddReluModel();
  std::swap(m.nodes[0], m.nodes[1]);
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  Tensor x = FloatTensor({1, 3}, {1, 1, 1});
  std::vector<Tensor> out;
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&x, 1), &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{2, 0, 1.5f}));

  ModelSpec cyc;
  cyc.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {1}));
  cyc.outputs.push_back(Value("b", ::onnx::TensorProto::FLOAT, {1}));
  cyc.nodes.push_back(Node("Add", {"x", "b"}, {"a"}, "first"));
  cyc.nodes.push_back(Node("Relu", {"a"}, {"b"}, "second"));
  auto bad = LoadOnnxRuntimeFromBytes(Serialize(cyc));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cycle"), std::string::npos) << bad.status().message();

  ModelSpec dangling = AddReluModel();
  dangling.nodes[1] = Node("Relu", {"nowhere"}, {"y"}, "relu");
  bad = LoadOnnxRuntimeFromBytes(Serialize(dangling));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'nowhere'"), std::string::npos);
}

TEST(OnnxRuntimeTest, ConstantNodesAreFoldedAtLoad) {
  ModelSpec m;
  m.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {2, 2}));
  m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {4}));
  auto c = Node("Constant", {}, {"shape"}, "const");
  IntsAttr(c, "value_ints", {-1});
  m.nodes.push_back(c);
  auto two = Node("Constant", {}, {"two"});
  FloatAttr(two, "value_float", 2.0f);
  m.nodes.push_back(two);
  // Mul of two constants is folded too; the Reshape reads the folded shape.
  m.nodes.push_back(Node("Mul", {"two", "two"}, {"four"}, "mul_const"));
  m.nodes.push_back(Node("Mul", {"x", "four"}, {"x4"}, "mul"));
  m.nodes.push_back(Node("Reshape", {"x4", "shape"}, {"y"}, "reshape"));
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  Tensor x = FloatTensor({2, 2}, {1, 2, 3, 4});
  std::vector<Tensor> out;
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&x, 1), &out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{4}));
  EXPECT_EQ(Values(out[0]), (std::vector<float>{4, 8, 12, 16}));
}

TEST(OnnxRuntimeTest, RunTimeKernelErrorsNameTheNode) {
  ModelSpec m;
  m.inputs.push_back(Value("a", ::onnx::TensorProto::FLOAT, {-1}));
  m.inputs.push_back(Value("b", ::onnx::TensorProto::FLOAT, {-1}));
  m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {-1}));
  m.nodes.push_back(Node("Add", {"a", "b"}, {"y"}, "adder"));
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  std::vector<Tensor> in = {Tensor(DType::kFloat32, {2}), Tensor(DType::kFloat32, {3})};
  std::vector<Tensor> out;
  Status st = rt->Run(in, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("adder"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("broadcast"), std::string::npos) << st.message();
}

TEST(OnnxRuntimeTest, IntegerPathsAndDivisionByZero) {
  ModelSpec m;
  m.inputs.push_back(Value("a", ::onnx::TensorProto::INT64, {2, 2}));
  m.inputs.push_back(Value("b", ::onnx::TensorProto::INT64, {2, 2}));
  m.outputs.push_back(Value("q", ::onnx::TensorProto::INT64, {2, 2}));
  m.nodes.push_back(Node("MatMul", {"a", "b"}, {"p"}, "mm"));
  m.nodes.push_back(Node("Div", {"p", "b"}, {"q"}, "div"));
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  std::vector<Tensor> in = {Tensor(DType::kInt64, {2, 2}), Tensor(DType::kInt64, {2, 2})};
  const int64_t a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  std::copy(a, a + 4, in[0].data<int64_t>());
  std::copy(b, b + 4, in[1].data<int64_t>());
  std::vector<Tensor> out;
  ASSERT_TRUE(rt->Run(in, &out).ok());
  // [[19, 22], [43, 50]] / b
  EXPECT_EQ(std::vector<int64_t>(out[0].data<int64_t>(), out[0].data<int64_t>() + 4),
            (std::vector<int64_t>{3, 3, 6, 6}));
  in[1].data<int64_t>()[3] = 0;
  Status st = rt->Run(in, &out);
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(st.message().find("division by zero"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'div'"), std::string::npos) << st.message();
}

// ---- opset-dependent semantics ----

TEST(OnnxRuntimeTest, SoftmaxCoercesTo2DBeforeOpset13) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  for (int opset : {11, 13}) {
    ModelSpec m;
    m.opset = opset;
    m.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {2, 2, 2}));
    m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {2, 2, 2}));
    auto n = Node("Softmax", {"x"}, {"y"}, "sm");
    IntAttr(n, "axis", 1);
    m.nodes.push_back(n);
    auto rt = MustLoad(m);
    ASSERT_TRUE(rt);
    Tensor in = FloatTensor({2, 2, 2}, x);
    std::vector<Tensor> out;
    ASSERT_TRUE(rt->Run(std::span<const Tensor>(&in, 1), &out).ok());
    const float* y = out[0].data<float>();
    if (opset == 11) {
      // One softmax over the 4 trailing values of each batch entry.
      double sum = 0;
      for (int i = 0; i < 4; ++i) sum += std::exp(x[i] - 4.0);
      EXPECT_NEAR(y[0], std::exp(1.0 - 4.0) / sum, 1e-6);
      EXPECT_NEAR(y[0] + y[1] + y[2] + y[3], 1.0, 1e-6);
    } else {
      // Softmax along axis 1 only: pairs (x[0], x[2]), (x[1], x[3]).
      EXPECT_NEAR(y[0] + y[2], 1.0, 1e-6);
      EXPECT_NEAR(y[0], 1.0 / (1.0 + std::exp(2.0)), 1e-6);
    }
  }
}

TEST(OnnxRuntimeTest, LegacyAttributeForms) {
  // Unsqueeze (axes attribute, opset 11) → Clip (min/max attributes, opset 6 semantics are
  // tested separately below) → Squeeze (axes attribute).
  ModelSpec m;
  m.opset = 11;
  m.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {3}));
  m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {3}));
  auto u = Node("Unsqueeze", {"x"}, {"u"}, "unsq");
  IntsAttr(u, "axes", {0, -1});
  m.nodes.push_back(u);
  auto s = Node("Squeeze", {"u"}, {"y"}, "sq");
  IntsAttr(s, "axes", {0, 2});
  m.nodes.push_back(s);
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  Tensor in = FloatTensor({3}, {1, 2, 3});
  std::vector<Tensor> out;
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&in, 1), &out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3}));

  ModelSpec clip;
  clip.opset = 6;
  clip.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {3}));
  clip.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {3}));
  auto c = Node("Clip", {"x"}, {"y"}, "clip");
  FloatAttr(c, "min", -1.0f);
  FloatAttr(c, "max", 1.5f);
  clip.nodes.push_back(c);
  rt = MustLoad(clip);
  ASSERT_TRUE(rt);
  in = FloatTensor({3}, {-3, 0.5f, 7});
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&in, 1), &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{-1, 0.5f, 1.5f}));
}

TEST(OnnxRuntimeTest, BatchNormalizationLegacyOpsetAndTrainingModeRefused) {
  ModelSpec m;
  m.opset = 7;
  m.inputs.push_back(Value("x", ::onnx::TensorProto::FLOAT, {1, 2, 2}));
  m.outputs.push_back(Value("y", ::onnx::TensorProto::FLOAT, {1, 2, 2}));
  m.initializers = {FloatInit("s", {2}, {1, 2}), FloatInit("b", {2}, {0, 1}),
                    FloatInit("mean", {2}, {1, 0}), FloatInit("var", {2}, {4, 1})};
  auto n = Node("BatchNormalization", {"x", "s", "b", "mean", "var"}, {"y"}, "bn");
  FloatAttr(n, "epsilon", 0.0f);
  m.nodes.push_back(n);
  auto rt = MustLoad(m);
  ASSERT_TRUE(rt);
  Tensor in = FloatTensor({1, 2, 2}, {3, 5, 1, 2});
  std::vector<Tensor> out;
  ASSERT_TRUE(rt->Run(std::span<const Tensor>(&in, 1), &out).ok());
  EXPECT_EQ(Values(out[0]), (std::vector<float>{1, 2, 3, 5}));

  m.opset = 15;
  IntAttr(m.nodes[0], "training_mode", 1);
  auto bad = LoadOnnxRuntimeFromBytes(Serialize(m));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("training_mode"), std::string::npos);
  EXPECT_NE(bad.status().message().find("bn"), std::string::npos);
}

// ---- the MLP against numpy ----

// Builds MLP models with /usr/bin/python3 (onnx.helper) and numpy reference outputs.
constexpr const char* kMlpScript = R"PY(
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
out = sys.argv[1]
rng = np.random.default_rng(7)
def lin(i, o):
    return (rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32), \
           (rng.standard_normal(o) * 0.1).astype(np.float32)
W1, b1 = lin(30, 64); W2, b2 = lin(64, 64); W3, b3 = lin(64, 1)
X = rng.standard_normal((17, 30)).astype(np.float32)
def save(name, nodes, inits, opset, out_dim):
    g = helper.make_graph(nodes, name,
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 30])],
        [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', out_dim])],
        [numpy_helper.from_array(a, n) for n, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, f'{out}/{name}.onnx')
# Gemm+Relu x2, Gemm (the benchmark MLP), weights [K, N].
save('mlp', [helper.make_node('Gemm', ['input', 'W1', 'b1'], ['h1'], name='fc1'),
             helper.make_node('Relu', ['h1'], ['r1'], name='relu1'),
             helper.make_node('Gemm', ['r1', 'W2', 'b2'], ['h2'], name='fc2'),
             helper.make_node('Relu', ['h2'], ['r2'], name='relu2'),
             helper.make_node('Gemm', ['r2', 'W3', 'b3'], ['output'], name='fc3')],
     [('W1', W1), ('b1', b1), ('W2', W2), ('b2', b2), ('W3', W3), ('b3', b3)], 13, 1)
# PyTorch style: transB=1 weights, Tanh/Sigmoid; plus MatMul+Add+Softmax (opset 11).
save('mlp_t', [helper.make_node('Gemm', ['input', 'W1t', 'b1'], ['h1'], transB=1),
               helper.make_node('Tanh', ['h1'], ['r1']),
               helper.make_node('MatMul', ['r1', 'W2'], ['m2']),
               helper.make_node('Add', ['m2', 'b2'], ['h2']),
               helper.make_node('Sigmoid', ['h2'], ['r2']),
               helper.make_node('Softmax', ['r2'], ['output'], axis=1)],
     [('W1t', W1.T.copy()), ('b1', b1), ('W2', W2), ('b2', b2)], 11, 64)
x = X.astype(np.float64)
h = np.maximum(x @ W1 + b1, 0); h = np.maximum(h @ W2 + b2, 0); y = h @ W3 + b3
t = np.tanh(x @ W1 + b1); t = 1 / (1 + np.exp(-(t @ W2 + b2)))
t = np.exp(t - t.max(axis=1, keepdims=True)); t = t / t.sum(axis=1, keepdims=True)
X.tofile(f'{out}/x.bin'); y.astype(np.float64).tofile(f'{out}/mlp.bin')
t.astype(np.float64).tofile(f'{out}/mlp_t.bin')
)PY";

class MlpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("studio_onnx_mlp_" + std::to_string(::getpid())));
    std::filesystem::create_directories(*dir_);
    std::ofstream(*dir_ / "make.py") << kMlpScript;
    const std::string cmd =
        "/usr/bin/python3 " + (*dir_ / "make.py").string() + " " + dir_->string() + " 2>&1";
    ok_ = std::filesystem::exists("/usr/bin/python3") && std::system(cmd.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    if (!ok_) GTEST_SKIP() << "/usr/bin/python3 with onnx and numpy is needed to build the MLP";
  }
  static std::vector<char> Read(const std::string& name) {
    std::ifstream in(*dir_ / name, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
  }
  static std::vector<float> X() {
    auto b = Read("x.bin");
    std::vector<float> x(b.size() / 4);
    std::memcpy(x.data(), b.data(), b.size());
    return x;
  }
  static std::vector<double> Expected(const std::string& name) {
    auto b = Read(name);
    std::vector<double> y(b.size() / 8);
    std::memcpy(y.data(), b.data(), b.size());
    return y;
  }
  static std::unique_ptr<ModelRuntime> Load(const std::string& name) {
    auto rt = LoadOnnxRuntime((*dir_ / name).string());
    EXPECT_TRUE(rt.ok()) << rt.status().message();
    return rt.ok() ? std::move(rt).value() : nullptr;
  }

  static std::filesystem::path* dir_;
  static bool ok_;
};
std::filesystem::path* MlpTest::dir_ = nullptr;
bool MlpTest::ok_ = false;

void ExpectClose(const Tensor& got, const std::vector<double>& want, int64_t offset = 0) {
  for (int64_t i = 0; i < got.size(); ++i) {
    const double w = want[offset + i];
    ASSERT_NEAR(got.data<float>()[i], w, 1e-5 + 1e-4 * std::abs(w)) << "element " << i;
  }
}

TEST_F(MlpTest, MatchesNumpyBatchAndSingleRows) {
  const auto x = X();
  for (const char* name : {"mlp", "mlp_t"}) {
    SCOPED_TRACE(name);
    auto rt = Load(std::string(name) + ".onnx");
    ASSERT_TRUE(rt);
    const auto want = Expected(std::string(name) + ".bin");
    const int64_t rows = 17, cols = 30;
    const int64_t out_dim = static_cast<int64_t>(want.size()) / rows;
    EXPECT_EQ(rt->Inputs()[0].shape, (std::vector<int64_t>{-1, 30}));
    std::vector<Tensor> out;
    ASSERT_TRUE(rt->PredictRows(x.data(), rows, cols, &out).ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{rows, out_dim}));
    ExpectClose(out[0], want);
    // Single rows through the general path.
    for (int64_t r = 0; r < rows; ++r) {
      Tensor in(DType::kFloat32, {1, cols});
      std::memcpy(in.data<float>(), x.data() + r * cols, cols * sizeof(float));
      ASSERT_TRUE(rt->Run(std::span<const Tensor>(&in, 1), &out).ok());
      ExpectClose(out[0], want, r * out_dim);
    }
  }
}

TEST_F(MlpTest, ConcurrentRunsAgree) {
  auto rt = Load("mlp.onnx");
  ASSERT_TRUE(rt);
  const auto x = X();
  std::vector<Tensor> ref;
  ASSERT_TRUE(rt->PredictRows(x.data(), 17, 30, &ref).ok());
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tensor> out;
      for (int i = 0; i < 1000; ++i) {
        const int64_t row = (t + i) % 17;
        const int64_t rows = i % 2 ? 1 : 17 - row;
        if (!rt->PredictRows(x.data() + row * 30, rows, 30, &out).ok()) {
          ++failures;
          continue;
        }
        if (std::memcmp(out[0].data<float>(), ref[0].data<float>() + row, rows * sizeof(float)) !=
            0) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

double ThreadCpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Not a benchmark (bench/ has those): prints the in-process latency for the report. Thread CPU
// time, so other processes on a busy machine do not inflate it.
TEST_F(MlpTest, PrintsSingleRowLatency) {
  auto rt = Load("mlp.onnx");
  ASSERT_TRUE(rt);
  const auto x = X();
  std::vector<Tensor> out;
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(rt->PredictRows(x.data(), 1, 30, &out).ok());
  constexpr int kIters = 20000;
  double t0 = ThreadCpuMicros();
  for (int i = 0; i < kIters; ++i) (void)rt->PredictRows(x.data() + (i % 17) * 30, 1, 30, &out);
  const double us = (ThreadCpuMicros() - t0) / kIters;
  constexpr int kBatchIters = 2000;
  t0 = ThreadCpuMicros();
  for (int i = 0; i < kBatchIters; ++i) (void)rt->PredictRows(x.data(), 17, 30, &out);
  const double batch_us = (ThreadCpuMicros() - t0) / kBatchIters;
  std::printf(
      "MLP 30-64-64-1 in-process (thread CPU time): %.2f us/single row, %.2f us per "
      "17-row batch (%.2f us/row)\n",
      us, batch_us, batch_us / 17);
}

}  // namespace
}  // namespace studio::serving
