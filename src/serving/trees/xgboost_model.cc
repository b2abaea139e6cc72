#include "serving/trees/xgboost_model.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "serving/trees/internal/model_dom.h"

namespace studio::serving::trees {
namespace {

using internal::DomValue;

bool LooksLikeUbjson(std::string_view b) {
  if (b.size() < 2 || b[0] != '{') return false;
  const char c = b[1];
  return c == 'i' || c == 'U' || c == 'I' || c == 'l' || c == 'L' || c == '}' || c == '#' ||
         c == '$';
}

Result<DomValue> ParseDocument(std::string_view bytes) {
  if (LooksLikeUbjson(bytes)) return internal::ParseUbjson(bytes);
  return internal::ParseJson(bytes);
}

Status Missing(const std::string& path) {
  return InvalidArgument("not an XGBoost model: missing '" + path + "'");
}

const DomValue* Path(const DomValue& root, std::initializer_list<std::string_view> keys) {
  const DomValue* v = &root;
  for (auto k : keys) {
    v = v->Find(k);
    if (!v) return nullptr;
  }
  return v;
}

// XGBoost stores scalar parameters as strings ("5E-1"); accept numbers too.
bool ScalarFloat(const DomValue* v, float* out) {
  if (!v) return false;
  if (v->is_number()) {
    *out = v->f32;
    return true;
  }
  if (v->kind != DomValue::Kind::kString) return false;
  const std::string& s = v->str;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ScalarInt(const DomValue* v, int64_t* out) {
  if (!v) return false;
  if (v->kind == DomValue::Kind::kInt) {
    *out = v->i;
    return true;
  }
  if (v->kind != DomValue::Kind::kString) return false;
  const std::string& s = v->str;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

Status NumberArray(const DomValue& tree, std::string_view key, size_t n, const std::string& where,
                   const DomValue** out) {
  const DomValue* v = tree.Find(key);
  if (!v || v->kind != DomValue::Kind::kArray) {
    return InvalidArgument(where + ": missing array '" + std::string(key) + "'");
  }
  if (v->items.size() != n) {
    return InvalidArgument(where + ": '" + std::string(key) + "' has " +
                           std::to_string(v->items.size()) + " entries, expected " +
                           std::to_string(n));
  }
  for (const auto& item : v->items) {
    if (!item.is_number() && item.kind != DomValue::Kind::kBool) {
      return InvalidArgument(where + ": '" + std::string(key) + "' holds a non-number");
    }
  }
  *out = v;
  return Status::Ok();
}

int64_t AsInt(const DomValue& v) { return v.kind == DomValue::Kind::kBool ? (v.b ? 1 : 0) : v.i; }

struct Objective {
  Transform transform;
  enum class Margin { kIdentity, kLogit, kLog } margin;
};

Result<Objective> ObjectiveFor(const std::string& name) {
  using M = Objective::Margin;
  if (name == "reg:squarederror" || name == "reg:linear" || name == "reg:squaredlogerror" ||
      name == "reg:pseudohubererror" || name == "reg:absoluteerror" || name == "rank:pairwise" ||
      name == "rank:ndcg" || name == "rank:map") {
    return Objective{Transform::kXgbIdentity, M::kIdentity};
  }
  if (name == "binary:logistic" || name == "reg:logistic") {
    return Objective{Transform::kXgbSigmoid, M::kLogit};
  }
  if (name == "binary:logitraw") return Objective{Transform::kXgbIdentity, M::kLogit};
  if (name == "binary:hinge") return Objective{Transform::kXgbHinge, M::kIdentity};
  if (name == "count:poisson" || name == "reg:gamma" || name == "reg:tweedie" ||
      name == "survival:cox") {
    return Objective{Transform::kXgbExp, M::kLog};
  }
  if (name == "multi:softprob") return Objective{Transform::kXgbSoftmax, M::kIdentity};
  if (name == "multi:softmax") return Objective{Transform::kXgbArgmax, M::kIdentity};
  return InvalidArgument("unsupported XGBoost objective '" + name + "'");
}

Status ReadInfo(const DomValue& root, XgboostModelInfo* info) {
  const DomValue* learner = root.Find("learner");
  if (!learner || learner->kind != DomValue::Kind::kObject) return Missing("learner");
  const DomValue* obj = Path(*learner, {"objective", "name"});
  if (!obj || obj->kind != DomValue::Kind::kString) return Missing("learner.objective.name");
  info->objective = obj->str;
  const DomValue* gb = Path(*learner, {"gradient_booster", "name"});
  if (!gb || gb->kind != DomValue::Kind::kString) return Missing("learner.gradient_booster.name");
  info->booster = gb->str;
  const DomValue* mp = learner->Find("learner_model_param");
  if (!mp) return Missing("learner.learner_model_param");
  int64_t num_feature = 0, num_class = 0;
  if (!ScalarInt(mp->Find("num_feature"), &num_feature) || num_feature < 0 ||
      num_feature > (1 << 24)) {
    return InvalidArgument("invalid learner_model_param.num_feature");
  }
  if (mp->Find("num_class") &&
      (!ScalarInt(mp->Find("num_class"), &num_class) || num_class < 0 || num_class > (1 << 20))) {
    return InvalidArgument("invalid learner_model_param.num_class");
  }
  int64_t num_target = 1;
  if (mp->Find("num_target") && ScalarInt(mp->Find("num_target"), &num_target) && num_target > 1) {
    return InvalidArgument("multi-target XGBoost models (num_target=" + std::to_string(num_target) +
                           ") are not supported");
  }
  if (!ScalarFloat(mp->Find("base_score"), &info->base_score)) {
    return InvalidArgument("invalid learner_model_param.base_score");
  }
  info->num_feature = static_cast<int32_t>(num_feature);
  info->num_class = static_cast<int32_t>(num_class);
  info->num_outputs =
      info->objective == "multi:softprob" ? std::max<int32_t>(info->num_class, 1) : 1;
  return Status::Ok();
}

}  // namespace

Result<XgboostModelInfo> ReadXgboostModelInfo(std::string_view bytes) {
  ASSIGN_OR_RETURN(DomValue root, ParseDocument(bytes));
  XgboostModelInfo info;
  RETURN_IF_ERROR(ReadInfo(root, &info));
  return info;
}

Result<EnsembleDef> ParseXgboostModel(std::string_view bytes, XgboostModelInfo* info_out) {
  ASSIGN_OR_RETURN(DomValue root, ParseDocument(bytes));
  XgboostModelInfo info;
  RETURN_IF_ERROR(ReadInfo(root, &info));
  ASSIGN_OR_RETURN(Objective objective, ObjectiveFor(info.objective));

  const DomValue& gbooster = *Path(root, {"learner", "gradient_booster"});
  const DomValue* model = nullptr;
  const DomValue* weight_drop = nullptr;
  if (info.booster == "gbtree") {
    model = gbooster.Find("model");
  } else if (info.booster == "dart") {
    model = Path(gbooster, {"gbtree", "model"});
    weight_drop = gbooster.Find("weight_drop");
    if (!weight_drop || weight_drop->kind != DomValue::Kind::kArray) {
      return Missing("learner.gradient_booster.weight_drop");
    }
  } else {
    return InvalidArgument("XGBoost booster '" + info.booster +
                           "' is not supported by the native engine (gbtree and dart are)");
  }
  if (!model) return Missing("learner.gradient_booster.model");
  const DomValue* trees = model->Find("trees");
  const DomValue* tree_info = model->Find("tree_info");
  if (!trees || trees->kind != DomValue::Kind::kArray)
    return Missing("gradient_booster.model.trees");
  if (!tree_info || tree_info->kind != DomValue::Kind::kArray) {
    return Missing("gradient_booster.model.tree_info");
  }
  if (tree_info->items.size() != trees->items.size()) {
    return InvalidArgument("tree_info has " + std::to_string(tree_info->items.size()) +
                           " entries for " + std::to_string(trees->items.size()) + " trees");
  }
  if (weight_drop && weight_drop->items.size() != trees->items.size()) {
    return InvalidArgument("weight_drop has " + std::to_string(weight_drop->items.size()) +
                           " entries for " + std::to_string(trees->items.size()) + " trees");
  }
  const bool multi = info.objective.rfind("multi:", 0) == 0;
  const int32_t num_groups = multi ? info.num_class : 1;
  if (multi && num_groups < 2) {
    return InvalidArgument("objective " + info.objective + " needs num_class >= 2");
  }

  EnsembleDef def;
  def.num_targets = num_groups;
  def.num_features = info.num_feature;
  def.transform = objective.transform;
  float margin = info.base_score;
  switch (objective.margin) {
    case Objective::Margin::kLogit:
      if (!(info.base_score > 0.0f && info.base_score < 1.0f)) {
        return InvalidArgument("base_score must be in (0, 1) for " + info.objective);
      }
      margin = -std::log(1.0f / info.base_score - 1.0f);
      break;
    case Objective::Margin::kLog:
      if (!(info.base_score > 0.0f)) {
        return InvalidArgument("base_score must be positive for " + info.objective);
      }
      margin = std::log(info.base_score);
      break;
    case Objective::Margin::kIdentity:
      break;
  }
  def.base_values.assign(static_cast<size_t>(num_groups), margin);
  def.trees.reserve(trees->items.size());

  for (size_t t = 0; t < trees->items.size(); ++t) {
    const DomValue& tree = trees->items[t];
    const std::string where = "tree " + std::to_string(t);
    if (tree.kind != DomValue::Kind::kObject) return InvalidArgument(where + " is not an object");
    const DomValue& group_v = tree_info->items[t];
    if (!group_v.is_number() || group_v.i < 0 || group_v.i >= num_groups) {
      return InvalidArgument(where + ": tree_info group out of range");
    }
    const DomValue* left = tree.Find("left_children");
    if (!left || left->kind != DomValue::Kind::kArray || left->items.empty()) {
      return InvalidArgument(where + ": missing array 'left_children'");
    }
    const size_t n = left->items.size();
    const DomValue *right, *split_idx, *cond, *dleft;
    RETURN_IF_ERROR(NumberArray(tree, "left_children", n, where, &left));
    RETURN_IF_ERROR(NumberArray(tree, "right_children", n, where, &right));
    RETURN_IF_ERROR(NumberArray(tree, "split_indices", n, where, &split_idx));
    RETURN_IF_ERROR(NumberArray(tree, "split_conditions", n, where, &cond));
    RETURN_IF_ERROR(NumberArray(tree, "default_left", n, where, &dleft));
    if (const DomValue* st = tree.Find("split_type"); st && st->kind == DomValue::Kind::kArray) {
      for (const auto& v : st->items) {
        if (v.is_number() && v.i != 0) {
          return InvalidArgument(
              where + " has categorical splits, which the native engine does not support");
        }
      }
    }
    if (const DomValue* tp = Path(tree, {"tree_param", "size_leaf_vector"})) {
      int64_t slv = 0;
      if (ScalarInt(tp, &slv) && slv > 1) {
        return InvalidArgument(where + " has vector leaves, which are not supported");
      }
    }
    float drop = 1.0f;
    if (weight_drop) {
      const DomValue& w = weight_drop->items[t];
      if (!w.is_number()) return InvalidArgument("weight_drop holds a non-number");
      drop = w.f32;
    }
    std::vector<NodeDef> nodes(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t l = AsInt(left->items[i]);
      NodeDef& d = nodes[i];
      if (l == -1) {
        d.mode = NodeMode::kLeaf;
        float v = cond->items[i].f32;
        if (weight_drop) v *= drop;
        d.weights.emplace_back(static_cast<int32_t>(group_v.i), v);
        continue;
      }
      const int64_t r = AsInt(right->items[i]);
      const int64_t f = AsInt(split_idx->items[i]);
      if (l < 0 || r < 0 || static_cast<size_t>(l) >= n || static_cast<size_t>(r) >= n) {
        return InvalidArgument(where + ": node " + std::to_string(i) + " has a child out of range");
      }
      if (f < 0 || f >= (1 << 24)) {
        return InvalidArgument(where + ": node " + std::to_string(i) +
                               " has an invalid feature index");
      }
      if (info.num_feature > 0 && f >= info.num_feature) {
        return InvalidArgument(where + ": node " + std::to_string(i) + " splits on feature " +
                               std::to_string(f) + " but num_feature is " +
                               std::to_string(info.num_feature));
      }
      d.mode = NodeMode::kLt;  // XGBoost: x < split_condition goes left
      d.feature = static_cast<int32_t>(f);
      d.threshold = cond->items[i].f32;
      d.true_child = static_cast<int32_t>(l);
      d.false_child = static_cast<int32_t>(r);
      d.missing_true = AsInt(dleft->items[i]) != 0;
    }
    def.trees.push_back(std::move(nodes));
  }
  info.num_trees = def.trees.size();
  if (info_out) *info_out = info;
  return def;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open model file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Internal("error reading model file '" + path + "'");
  return ss.str();
}

Result<EnsembleDef> LoadXgboostModelFile(const std::string& path, XgboostModelInfo* info) {
  ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  auto def = ParseXgboostModel(bytes, info);
  if (!def.ok()) {
    return Status(def.status().code(), "model '" + path + "': " + def.status().message());
  }
  return def;
}

}  // namespace studio::serving::trees
