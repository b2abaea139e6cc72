// ai.onnx.ml TreeEnsembleRegressor and TreeEnsembleClassifier on the native tree engine
// (src/serving/trees), with ONNX Runtime's numerics: float accumulation in tree order, its
// base_values / post_transform rules and its two-column output for binary classifiers.

#include <memory>
#include <string>
#include <vector>

#include "serving/onnx/kernel.h"
#include "serving/trees/onnx_tree_def.h"
#include "serving/trees/tree_ensemble.h"

namespace studio::serving::onnx {
namespace {

using trees::OnnxTreeAttributes;
using trees::TreeEnsemble;

// `name` as doubles, from `name_as_tensor` (opset 3) when present, else from the float list.
Result<std::vector<double>> Doubles(const NodeInfo& node, const std::string& name) {
  const Attributes& a = node.attributes;
  std::vector<double> out;
  if (const Tensor* t = a.TensorValue(name + "_as_tensor")) {
    if (a.Has(name)) {
      return NodeError(node, "both " + name + " and " + name + "_as_tensor are set");
    }
    if (t->dtype() != DType::kFloat64 && t->dtype() != DType::kFloat32) {
      return NodeError(node, name + "_as_tensor must be a float or double tensor");
    }
    out.reserve(static_cast<size_t>(t->size()));
    for (int64_t i = 0; i < t->size(); ++i) out.push_back(t->AsDouble(i));
    return out;
  }
  for (float f : a.Floats(name)) out.push_back(f);
  return out;
}

Result<OnnxTreeAttributes> ReadAttributes(const NodeInfo& node, bool classifier) {
  const Attributes& a = node.attributes;
  OnnxTreeAttributes t;
  t.nodes_treeids = a.Ints("nodes_treeids");
  t.nodes_nodeids = a.Ints("nodes_nodeids");
  t.nodes_featureids = a.Ints("nodes_featureids");
  t.nodes_modes = a.Strings("nodes_modes");
  ASSIGN_OR_RETURN(t.nodes_values, Doubles(node, "nodes_values"));
  t.nodes_truenodeids = a.Ints("nodes_truenodeids");
  t.nodes_falsenodeids = a.Ints("nodes_falsenodeids");
  t.nodes_missing_value_tracks_true = a.Ints("nodes_missing_value_tracks_true");
  const std::string p = classifier ? "class_" : "target_";
  t.leaf_treeids = a.Ints(p + "treeids");
  t.leaf_nodeids = a.Ints(p + "nodeids");
  t.leaf_ids = a.Ints(p + "ids");
  ASSIGN_OR_RETURN(t.leaf_weights, Doubles(node, p + "weights"));
  ASSIGN_OR_RETURN(t.base_values, Doubles(node, "base_values"));
  t.post_transform = a.String("post_transform", "NONE");
  if (classifier) {
    t.classlabels_int64s = a.Ints("classlabels_int64s");
    t.classlabels_strings = a.Strings("classlabels_strings");
    if (!t.classlabels_int64s.empty() && !t.classlabels_strings.empty()) {
      return NodeError(node, "only one of classlabels_int64s and classlabels_strings may be set");
    }
  } else {
    t.aggregate_function = a.String("aggregate_function", "SUM");
    t.n_targets = a.Int("n_targets", 1);
  }
  return t;
}

// X as float rows: [N, C] or [C] (one row). Double and integer inputs are converted.
Status InputRows(const Tensor& x, int32_t needed, std::vector<float>* scratch, const float** rows,
                 int64_t* n, int64_t* c) {
  if (x.rank() == 2) {
    *n = x.dim(0);
    *c = x.dim(1);
  } else if (x.rank() == 1) {
    *n = 1;
    *c = x.dim(0);
  } else {
    return InvalidArgument("input 'X' must be 1-D or 2-D, got " + ShapeToString(x.shape()));
  }
  if (*c < needed) {
    return InvalidArgument("input 'X' has " + std::to_string(*c) + " features; the trees use " +
                           std::to_string(needed));
  }
  if (x.dtype() == DType::kFloat32) {
    *rows = x.data<float>();
    return Status::Ok();
  }
  if (x.dtype() != DType::kFloat64 && x.dtype() != DType::kInt64 && x.dtype() != DType::kInt32) {
    return InvalidArgument("input 'X' has unsupported type " +
                           std::string(DTypeOipName(x.dtype())));
  }
  scratch->resize(static_cast<size_t>(x.size()));
  for (int64_t i = 0; i < x.size(); ++i)
    (*scratch)[static_cast<size_t>(i)] = static_cast<float>(x.AsDouble(i));
  *rows = scratch->data();
  return Status::Ok();
}

class TreeRegressorKernel final : public Kernel {
 public:
  explicit TreeRegressorKernel(std::unique_ptr<TreeEnsemble> e) : e_(std::move(e)) {}
  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || !inputs[0])
      return InvalidArgument("TreeEnsembleRegressor: missing input 'X'");
    if (outputs.empty()) return Status::Ok();
    std::vector<float> scratch;
    const float* x = nullptr;
    int64_t n = 0, c = 0;
    RETURN_IF_ERROR(InputRows(*inputs[0], e_->num_features(), &scratch, &x, &n, &c));
    Tensor& y = outputs[0];
    y.Resize(DType::kFloat32, {n, e_->num_outputs()});
    e_->PredictBatch(x, n, c, y.data<float>());
    return Status::Ok();
  }

 private:
  std::unique_ptr<TreeEnsemble> e_;
};

class TreeClassifierKernel final : public Kernel {
 public:
  TreeClassifierKernel(std::unique_ptr<TreeEnsemble> e, std::vector<std::string> string_labels)
      : e_(std::move(e)), string_labels_(std::move(string_labels)) {}
  Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const override {
    if (inputs.empty() || !inputs[0])
      return InvalidArgument("TreeEnsembleClassifier: missing input 'X'");
    std::vector<float> scratch;
    const float* x = nullptr;
    int64_t n = 0, c = 0;
    RETURN_IF_ERROR(InputRows(*inputs[0], e_->num_features(), &scratch, &x, &n, &c));
    std::vector<int64_t> labels(static_cast<size_t>(n));
    Tensor scores(DType::kFloat32, {n, e_->num_outputs()});
    e_->PredictBatch(x, n, c, scores.data<float>(), labels.data());
    if (!outputs.empty()) {
      Tensor& y = outputs[0];
      if (string_labels_.empty()) {
        y.Resize(DType::kInt64, {n});
        for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = labels[static_cast<size_t>(i)];
      } else {
        y.Resize(DType::kString, {n});
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = labels[static_cast<size_t>(i)];
          y.strings()[static_cast<size_t>(i)] =
              k >= 0 && static_cast<size_t>(k) < string_labels_.size()
                  ? string_labels_[static_cast<size_t>(k)]
                  : std::string();
        }
      }
    }
    if (outputs.size() > 1) outputs[1] = std::move(scores);
    return Status::Ok();
  }

 private:
  std::unique_ptr<TreeEnsemble> e_;
  std::vector<std::string> string_labels_;
};

Result<std::unique_ptr<Kernel>> MakeRegressor(const NodeInfo& node) {
  ASSIGN_OR_RETURN(OnnxTreeAttributes a, ReadAttributes(node, false));
  auto def = trees::BuildOnnxEnsemble(a, false);
  if (!def.ok()) return NodeError(node, def.status().message());
  auto e = TreeEnsemble::Create(*def);
  if (!e.ok()) return NodeError(node, e.status().message());
  return std::unique_ptr<Kernel>(new TreeRegressorKernel(std::move(e).value()));
}

Result<std::unique_ptr<Kernel>> MakeClassifier(const NodeInfo& node) {
  ASSIGN_OR_RETURN(OnnxTreeAttributes a, ReadAttributes(node, true));
  auto def = trees::BuildOnnxEnsemble(a, true);
  if (!def.ok()) return NodeError(node, def.status().message());
  auto e = TreeEnsemble::Create(*def);
  if (!e.ok()) return NodeError(node, e.status().message());
  return std::unique_ptr<Kernel>(
      new TreeClassifierKernel(std::move(e).value(), std::move(a.classlabels_strings)));
}

}  // namespace

void RegisterTreeEnsembleKernels(KernelRegistry& r) {
  r.Register("ai.onnx.ml", "TreeEnsembleRegressor", &MakeRegressor);
  r.Register("ai.onnx.ml", "TreeEnsembleClassifier", &MakeClassifier);
}

}  // namespace studio::serving::onnx
