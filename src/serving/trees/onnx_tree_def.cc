#include "serving/trees/onnx_tree_def.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace studio::serving::trees {
namespace {

Result<NodeMode> ParseMode(const std::string& s) {
  if (s == "BRANCH_LEQ") return NodeMode::kLeq;
  if (s == "BRANCH_LT") return NodeMode::kLt;
  if (s == "BRANCH_GTE") return NodeMode::kGte;
  if (s == "BRANCH_GT") return NodeMode::kGt;
  if (s == "BRANCH_EQ") return NodeMode::kEq;
  if (s == "BRANCH_NEQ") return NodeMode::kNeq;
  if (s == "LEAF") return NodeMode::kLeaf;
  return InvalidArgument("nodes_modes: unknown mode '" + s + "'");
}

Result<Transform> ParseTransform(const std::string& s) {
  if (s == "NONE") return Transform::kOnnxNone;
  if (s == "LOGISTIC") return Transform::kOnnxLogistic;
  if (s == "SOFTMAX") return Transform::kOnnxSoftmax;
  if (s == "SOFTMAX_ZERO") return Transform::kOnnxSoftmaxZero;
  if (s == "PROBIT") return Transform::kOnnxProbit;
  return InvalidArgument("post_transform: unknown value '" + s + "'");
}

Result<Aggregate> ParseAggregate(const std::string& s) {
  if (s == "SUM") return Aggregate::kSum;
  if (s == "AVERAGE") return Aggregate::kAverage;
  if (s == "MIN") return Aggregate::kMin;
  if (s == "MAX") return Aggregate::kMax;
  return InvalidArgument("aggregate_function: unknown value '" + s + "'");
}

}  // namespace

Result<EnsembleDef> BuildOnnxEnsemble(const OnnxTreeAttributes& a, bool classifier) {
  const size_t n = a.nodes_treeids.size();
  if (n == 0) return InvalidArgument("nodes_treeids is empty");
  auto same = [&](size_t m, const char* name) -> Status {
    if (m != n) {
      return InvalidArgument(std::string(name) + " has " + std::to_string(m) +
                             " entries, nodes_treeids has " + std::to_string(n));
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(same(a.nodes_nodeids.size(), "nodes_nodeids"));
  RETURN_IF_ERROR(same(a.nodes_featureids.size(), "nodes_featureids"));
  RETURN_IF_ERROR(same(a.nodes_modes.size(), "nodes_modes"));
  RETURN_IF_ERROR(same(a.nodes_values.size(), "nodes_values"));
  RETURN_IF_ERROR(same(a.nodes_truenodeids.size(), "nodes_truenodeids"));
  RETURN_IF_ERROR(same(a.nodes_falsenodeids.size(), "nodes_falsenodeids"));
  const char* prefix = classifier ? "class_" : "target_";
  const size_t nw = a.leaf_ids.size();
  if (a.leaf_treeids.size() != nw || a.leaf_nodeids.size() != nw || a.leaf_weights.size() != nw) {
    return InvalidArgument(std::string(prefix) + "ids, " + prefix + "nodeids, " + prefix +
                           "treeids and " + prefix + "weights must have the same length");
  }

  EnsembleDef def;
  if (classifier) {
    const size_t nc =
        a.classlabels_strings.empty() ? a.classlabels_int64s.size() : a.classlabels_strings.size();
    if (nc == 0) return InvalidArgument("classlabels_int64s or classlabels_strings is required");
    def.num_targets = static_cast<int32_t>(nc);
    def.classifier = true;
    if (a.classlabels_strings.empty()) {
      def.class_labels = a.classlabels_int64s;
    } else {
      for (size_t i = 0; i < nc; ++i) def.class_labels.push_back(static_cast<int64_t>(i));
    }
    def.aggregate = Aggregate::kSum;
  } else {
    if (a.n_targets < 1 || a.n_targets > (1 << 20)) {
      return InvalidArgument("n_targets must be positive");
    }
    def.num_targets = static_cast<int32_t>(a.n_targets);
    ASSIGN_OR_RETURN(def.aggregate, ParseAggregate(a.aggregate_function));
  }
  ASSIGN_OR_RETURN(def.transform, ParseTransform(a.post_transform));
  for (double b : a.base_values) def.base_values.push_back(static_cast<float>(b));

  // Trees in order of first appearance; within a tree, nodes by node id. The root is the first
  // node listed for the tree (what ONNX Runtime uses).
  std::map<int64_t, size_t> tree_index;
  std::vector<std::unordered_map<int64_t, int32_t>> node_index;
  std::vector<std::vector<size_t>> rows;  // tree → attribute rows
  for (size_t i = 0; i < n; ++i) {
    auto [it, fresh] = tree_index.emplace(a.nodes_treeids[i], rows.size());
    if (fresh) {
      rows.emplace_back();
      node_index.emplace_back();
    }
    const size_t t = it->second;
    auto [nit, nfresh] =
        node_index[t].emplace(a.nodes_nodeids[i], static_cast<int32_t>(rows[t].size()));
    if (!nfresh) {
      return InvalidArgument("node " + std::to_string(a.nodes_nodeids[i]) + " in tree " +
                             std::to_string(a.nodes_treeids[i]) + " is listed twice");
    }
    rows[t].push_back(i);
  }
  def.trees.resize(rows.size());
  for (size_t t = 0; t < rows.size(); ++t) {
    auto& tree = def.trees[t];
    tree.resize(rows[t].size());
    for (size_t k = 0; k < rows[t].size(); ++k) {
      const size_t i = rows[t][k];
      NodeDef& d = tree[k];
      ASSIGN_OR_RETURN(d.mode, ParseMode(a.nodes_modes[i]));
      if (d.mode == NodeMode::kLeaf) continue;
      const int64_t f = a.nodes_featureids[i];
      if (f < 0 || f >= (1 << 24)) {
        return InvalidArgument("nodes_featureids: invalid feature " + std::to_string(f));
      }
      d.feature = static_cast<int32_t>(f);
      d.threshold = a.nodes_values[i];
      d.missing_true =
          i < a.nodes_missing_value_tracks_true.size() && a.nodes_missing_value_tracks_true[i] == 1;
      if (d.mode == NodeMode::kNeq) d.missing_true = true;  // NaN != x holds
      auto child = [&](int64_t id, const char* which) -> Result<int32_t> {
        auto c = node_index[t].find(id);
        if (c == node_index[t].end()) {
          return InvalidArgument(std::string(which) + ": node " + std::to_string(id) +
                                 " not found in tree " + std::to_string(a.nodes_treeids[i]));
        }
        return c->second;
      };
      ASSIGN_OR_RETURN(d.true_child, child(a.nodes_truenodeids[i], "nodes_truenodeids"));
      ASSIGN_OR_RETURN(d.false_child, child(a.nodes_falsenodeids[i], "nodes_falsenodeids"));
    }
  }
  // Leaf weights in (tree id, node id) order, as ONNX Runtime sorts them.
  std::vector<size_t> order(nw);
  for (size_t i = 0; i < nw; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    if (a.leaf_treeids[x] != a.leaf_treeids[y]) return a.leaf_treeids[x] < a.leaf_treeids[y];
    return a.leaf_nodeids[x] < a.leaf_nodeids[y];
  });
  for (size_t i : order) {
    auto t = tree_index.find(a.leaf_treeids[i]);
    if (t == tree_index.end()) {
      return InvalidArgument(std::string(prefix) + "treeids: tree " +
                             std::to_string(a.leaf_treeids[i]) + " has no nodes");
    }
    auto nd = node_index[t->second].find(a.leaf_nodeids[i]);
    if (nd == node_index[t->second].end()) {
      return InvalidArgument(std::string(prefix) + "nodeids: node " +
                             std::to_string(a.leaf_nodeids[i]) + " not found");
    }
    NodeDef& d = def.trees[t->second][static_cast<size_t>(nd->second)];
    if (d.mode != NodeMode::kLeaf) continue;  // ONNX Runtime ignores weights on split nodes
    const int64_t target = a.leaf_ids[i];
    if (target < 0 || target >= def.num_targets) {
      return InvalidArgument(std::string(prefix) + "ids: " + std::to_string(target) +
                             " is out of range for " + std::to_string(def.num_targets) +
                             (classifier ? " classes" : " targets"));
    }
    d.weights.emplace_back(static_cast<int32_t>(target), static_cast<float>(a.leaf_weights[i]));
  }
  return def;
}

}  // namespace studio::serving::trees
