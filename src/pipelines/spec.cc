// Reading and validating studio-pipeline.yaml. Every problem is collected (not just the first)
// with the line and column yaml-cpp recorded, so an editor or CI log points at the spot.
#include "pipelines/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "common/strings.h"
#include "pipelines/internal/stage_types.h"

namespace studio::pipelines {
namespace {

using internal::ParamSpec;
using internal::ParamType;

constexpr int kMaxWalkDepth = 100;
constexpr size_t kMaxScalarBytes = 64 * 1024;

YAML::Mark At(const StageSpec& s) {
  YAML::Mark m;
  m.line = s.line - 1;
  m.column = s.column - 1;
  return m;
}

// Error messages and the definition JSON quote the input; nlohmann refuses invalid UTF-8.
bool ValidUtf8(std::string_view s) {
  auto at = [&](size_t i) -> unsigned {
    return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u;
  };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return at(i) >= lo && at(i) <= hi;
  };
  for (size_t i = 0; i < s.size();) {
    unsigned c = at(i);
    if (c < 0x80) {
      i += 1;
    } else if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF &&
               cont(i + 1, c == 0xE0 ? 0xA0 : 0x80, c == 0xED ? 0x9F : 0xBF) && cont(i + 2)) {
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4 &&
               cont(i + 1, c == 0xF0 ? 0x90 : 0x80, c == 0xF4 ? 0x8F : 0xBF) && cont(i + 2) &&
               cont(i + 3)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

bool ValidName(const std::string& s, size_t min_len) {
  if (s.size() < min_len || s.size() > 63) return false;
  if (s[0] < 'a' || s[0] > 'z' || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

// Counts nodes as a walk sees them (an alias once per use); false past the caps. Also bounds
// depth, since an alias to an enclosing anchor makes the graph cyclic.
bool WithinCaps(const YAML::Node& n, int depth, int64_t* count) {
  if (++*count > kMaxSpecNodes || depth > kMaxWalkDepth) return false;
  if (n.IsSequence()) {
    for (const auto& child : n)
      if (!WithinCaps(child, depth + 1, count)) return false;
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      if (!WithinCaps(kv.first, depth + 1, count)) return false;
      if (!WithinCaps(kv.second, depth + 1, count)) return false;
    }
  }
  return true;
}

class Checker {
 public:
  Checker(Validation& v, const ValidateOptions& o) : v_(v), options_(o) {}

  void Error(const std::string& path, const YAML::Mark& m, std::string message) {
    Problem p;
    p.path = path;
    if (m.line >= 0) {
      p.line = m.line + 1;
      p.column = m.column + 1;
    }
    p.message = std::move(message);
    v_.errors.push_back(std::move(p));
  }
  void Error(const std::string& path, const YAML::Node& n, std::string message) {
    Error(path, n.Mark(), std::move(message));
  }

  // A mapping whose keys are all known and unique: key → (value, key mark).
  bool Map(const std::string& path, const YAML::Node& n, const std::set<std::string>& known,
           std::map<std::string, YAML::Node>* out, bool any_key = false) {
    if (!n.IsMap()) {
      Error(path, n, std::string("must be a mapping") + (n.IsNull() ? " (it is empty)" : ""));
      return false;
    }
    bool ok = true;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        Error(path, kv.first, "keys must be plain strings");
        ok = false;
        continue;
      }
      const std::string key = kv.first.Scalar();
      std::string child = path.empty() ? key : path + "." + key;
      if (!any_key && !known.count(key)) {
        Error(child, kv.first,
              "unknown field '" + key + "' (valid: " +
                  Join(std::vector<std::string>(known.begin(), known.end()), ", ") + ")");
        ok = false;
        continue;
      }
      if (out->count(key)) {
        Error(child, kv.first, "duplicate key '" + key + "'");
        ok = false;
        continue;
      }
      (*out)[key] = kv.second;
    }
    return ok;
  }

  std::optional<std::string> String(const std::string& path, const YAML::Node& n) {
    if (!n.IsScalar() || n.Tag() == "tag:yaml.org,2002:null") {
      Error(path, n, "must be a string");
      return std::nullopt;
    }
    if (n.Scalar().size() > kMaxScalarBytes) {
      Error(path, n, "longer than " + std::to_string(kMaxScalarBytes) + " bytes");
      return std::nullopt;
    }
    if (n.Tag() == "?" && n.Scalar().empty()) {
      Error(path, n, "must be a string (it is empty)");
      return std::nullopt;
    }
    return n.Scalar();
  }

  // Plain (unquoted) scalars only: "3" in quotes is a string, and a string where a number
  // belongs is the kind of mistake the schema exists to catch.
  std::optional<int64_t> Int(const std::string& path, const YAML::Node& n, int64_t min,
                             int64_t max) {
    int64_t v = 0;
    bool ok = n.IsScalar() && n.Tag() == "?";
    if (ok) {
      const std::string& s = n.Scalar();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      ok = ec == std::errc() && end == s.data() + s.size() && !s.empty();
    }
    if (!ok) {
      Error(path, n, "must be an integer");
      return std::nullopt;
    }
    if (v < min || v > max) {
      Error(path, n,
            "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                std::to_string(v) + ")");
      return std::nullopt;
    }
    return v;
  }

  std::optional<double> Number(const std::string& path, const YAML::Node& n, double min,
                               double max) {
    double v = 0;
    bool ok = n.IsScalar() && n.Tag() == "?" && !n.Scalar().empty();
    if (ok) {
      const std::string& s = n.Scalar();
      char* end = nullptr;
      v = std::strtod(s.c_str(), &end);
      ok = end == s.c_str() + s.size() && std::isfinite(v) &&
           s.find_first_of("xXnNiI") == std::string::npos;  // no hex floats, nan or inf
    }
    if (!ok) {
      Error(path, n, "must be a number");
      return std::nullopt;
    }
    if (v < min || v > max) {
      Error(path, n,
            "must be between " + FormatNumber(min) + " and " + FormatNumber(max) + " (got " +
                FormatNumber(v) + ")");
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> Bool(const std::string& path, const YAML::Node& n) {
    if (n.IsScalar() && n.Tag() == "?") {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    Error(path, n, "must be true or false");
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> StringList(const std::string& path, const YAML::Node& n,
                                                     size_t max_items) {
    if (!n.IsSequence()) {
      Error(path, n, "must be a list of strings");
      return std::nullopt;
    }
    if (n.size() > max_items) {
      Error(path, n, "at most " + std::to_string(max_items) + " items");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      auto s = String(path + "[" + std::to_string(i) + "]", n[i]);
      if (s)
        out.push_back(*s);
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  static std::string FormatNumber(double d) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%g", d);
    return buf;
  }

  void Source(const std::string& path, const YAML::Node& n, nlohmann::json* out) {
    auto s = String(path, n);
    if (!s) return;
    const std::string& v = *s;
    std::string problem;
    if (v.rfind("s3://", 0) == 0) {
      if (v.size() <= 5 || v[5] == '/') problem = "s3:// URIs need a bucket: s3://bucket/prefix";
    } else if (v.rfind("https://", 0) == 0) {
      if (v.size() <= 8 || v[8] == '/') problem = "https:// URLs need a host";
    } else if (v.find("://") != std::string::npos || v.rfind("file:", 0) == 0) {
      problem = "only paths, https:// URLs and s3:// URIs are accepted";
    }
    for (const auto& seg : SplitAndTrim(v, '/'))
      if (seg == "..") problem = "'..' segments are not allowed";
    for (char c : v)
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\')
        problem = "control characters and backslashes are not allowed";
    if (!problem.empty()) {
      Error(path, n, problem);
      return;
    }
    *out = v;
  }

  // `with`: the parameters of one stage type, typed into JSON.
  nlohmann::json Params(const std::string& path, const YAML::Node& n, const YAML::Mark& stage_mark,
                        const std::string& type) {
    nlohmann::json out = nlohmann::json::object();
    const std::vector<ParamSpec>* table = internal::ParamsFor(type);
    if (!table) return out;
    std::map<std::string, YAML::Node> fields;
    // `with:` left empty reads as no parameters.
    if (n.IsDefined() && !n.IsNull() && !Map(path, n, {}, &fields, true)) return out;
    std::vector<std::string> names;
    for (const auto& p : *table) names.push_back(p.name);
    for (const auto& [key, value] : fields) {
      auto it = std::find_if(table->begin(), table->end(),
                             [&](const ParamSpec& p) { return p.name == key; });
      if (it == table->end()) {
        Error(path + "." + key, value,
              "unknown parameter '" + key + "' for stage type '" + type +
                  "' (valid: " + Join(names, ", ") + ")");
        continue;
      }
      Param(path + "." + key, value, *it, &out);
    }
    for (const auto& p : *table)
      if (p.required && !fields.count(p.name))
        Error(path + "." + p.name, n.IsDefined() ? n.Mark() : stage_mark,
              "missing required parameter '" + p.name + "' (" + p.doc + ") for stage type '" +
                  type + "'");
    return out;
  }

  void Param(const std::string& path, const YAML::Node& n, const ParamSpec& p,
             nlohmann::json* out) {
    nlohmann::json& slot = (*out)[p.name];
    switch (p.type) {
      case ParamType::kString:
        if (auto s = String(path, n)) slot = *s;
        break;
      case ParamType::kSource:
        Source(path, n, &slot);
        break;
      case ParamType::kInt:
        if (auto i = Int(path, n, static_cast<int64_t>(p.min), static_cast<int64_t>(p.max)))
          slot = *i;
        break;
      case ParamType::kNumber:
        if (auto d = Number(path, n, p.min, p.max)) slot = *d;
        break;
      case ParamType::kBool:
        if (auto b = Bool(path, n)) slot = *b;
        break;
      case ParamType::kEnum: {
        auto s = String(path, n);
        if (!s) break;
        if (std::find(p.values.begin(), p.values.end(), *s) == p.values.end()) {
          Error(path, n, "must be one of " + Join(p.values, ", ") + " (got '" + *s + "')");
          break;
        }
        slot = *s;
        break;
      }
      case ParamType::kStringList:
        if (auto l = StringList(path, n, static_cast<size_t>(p.max))) {
          if (l->size() < static_cast<size_t>(p.min))
            Error(path, n, "needs at least " + std::to_string(static_cast<int>(p.min)) + " item");
          else
            slot = *l;
        }
        break;
      case ParamType::kStringMap: {
        std::map<std::string, YAML::Node> fields;
        if (!Map(path, n, {}, &fields, true)) break;
        nlohmann::json m = nlohmann::json::object();
        for (const auto& [k, v] : fields) {
          auto s = String(path + "." + k, v);
          if (!s) continue;
          if (!p.values.empty() &&
              std::find(p.values.begin(), p.values.end(), *s) == p.values.end())
            Error(path + "." + k, v, "must be one of " + Join(p.values, ", "));
          else
            m[k] = *s;
        }
        slot = m;
        break;
      }
      case ParamType::kFeatureList: {
        if (!n.IsSequence() || n.size() == 0) {
          Error(path, n, "must be a non-empty list of {name, expr}");
          break;
        }
        nlohmann::json list = nlohmann::json::array();
        std::set<std::string> seen;
        for (size_t i = 0; i < n.size(); ++i) {
          std::string item = path + "[" + std::to_string(i) + "]";
          std::map<std::string, YAML::Node> f;
          if (!Map(item, n[i], {"name", "expr"}, &f)) continue;
          if (!f.count("name") || !f.count("expr")) {
            Error(item, n[i], "each feature needs 'name' and 'expr'");
            continue;
          }
          auto name = String(item + ".name", f["name"]);
          auto expr = String(item + ".expr", f["expr"]);
          if (name && !seen.insert(*name).second)
            Error(item + ".name", f["name"], "duplicate feature '" + *name + "'");
          if (name && expr) list.push_back({{"name", *name}, {"expr", *expr}});
        }
        slot = list;
        break;
      }
    }
    if (slot.is_null()) out->erase(p.name);
  }

  void Stage(const std::string& path, const YAML::Node& n) {
    std::map<std::string, YAML::Node> f;
    bool shaped =
        Map(path, n,
            {"id", "type", "needs", "with", "retry", "timeout_seconds", "resources", "locked"}, &f);
    if (!shaped && !n.IsMap()) return;
    StageSpec s;
    s.line = n.Mark().line + 1;
    s.column = n.Mark().column + 1;
    nlohmann::json& def = s.definition;
    if (!f.count("id")) {
      Error(path + ".id", n, "missing required field 'id'");
    } else if (auto id = String(path + ".id", f["id"])) {
      if (!ValidName(*id, 1))
        Error(path + ".id", f["id"],
              "stage ids are 1-63 lowercase letters, digits and '-', starting with a letter");
      s.id = *id;
      def["id"] = *id;
    }
    if (!f.count("type")) {
      Error(path + ".type", n, "missing required field 'type'");
    } else if (auto type = String(path + ".type", f["type"])) {
      s.type = *type;
      def["type"] = *type;
      if (!IsKnownStageType(*type)) {
        std::vector<std::string> types = CanonicalStageTypes();
        types.push_back("command");
        Error(path + ".type", f["type"],
              "unknown stage type '" + *type + "' (valid: " + Join(types, ", ") + ")");
      } else if (*type == "command" && !options_.allow_command_stages) {
        Error(path + ".type", f["type"],
              "command stages are not allowed in this project (an admin can allow them: PUT "
              "/api/v1/projects/{id}/pipeline-policy)");
      } else if (*type == "command" && !options_.command_policy_known) {
        v_.warnings.push_back("stage '" + s.id +
                              "' is a command stage: allowed only where the project's policy "
                              "permits (checked with --server)");
      }
    }
    if (f.count("needs")) {
      const YAML::Node& needs = f["needs"];
      if (auto list = StringList(path + ".needs", needs, kMaxStages)) {
        s.needs = *list;
        def["needs"] = *list;
        needs_marks_[path] = needs;
      }
    }
    if (!s.type.empty()) {
      nlohmann::json with =
          Params(path + ".with", f.count("with") ? f["with"] : YAML::Node(), n.Mark(), s.type);
      s.with = with;
      if (f.count("with")) def["with"] = with;
    }
    if (f.count("retry")) {
      std::map<std::string, YAML::Node> r;
      nlohmann::json rj = nlohmann::json::object();
      if (Map(path + ".retry", f["retry"], {"max_attempts", "interval_seconds", "backoff_rate"},
              &r)) {
        if (r.count("max_attempts"))
          if (auto v = Int(path + ".retry.max_attempts", r["max_attempts"], 1, 10))
            rj["max_attempts"] = s.retry.max_attempts = *v;
        if (r.count("interval_seconds"))
          if (auto v = Int(path + ".retry.interval_seconds", r["interval_seconds"], 0, 3600))
            rj["interval_seconds"] = s.retry.interval_seconds = *v;
        if (r.count("backoff_rate"))
          if (auto v = Number(path + ".retry.backoff_rate", r["backoff_rate"], 1.0, 10.0))
            rj["backoff_rate"] = s.retry.backoff_rate = *v;
      }
      def["retry"] = rj;
    }
    if (f.count("timeout_seconds"))
      if (auto v = Int(path + ".timeout_seconds", f["timeout_seconds"], 1, 86400))
        def["timeout_seconds"] = s.timeout_seconds = *v;
    if (f.count("resources")) {
      std::map<std::string, YAML::Node> r;
      nlohmann::json rj = nlohmann::json::object();
      if (Map(path + ".resources", f["resources"], {"cpu", "memory"}, &r)) {
        if (r.count("cpu"))
          if (auto v = Number(path + ".resources.cpu", r["cpu"], 0.25, 16)) {
            // Fargate's task sizes: the ASL export must be able to run what validates.
            static const double kCpus[] = {0.25, 0.5, 1, 2, 4, 8, 16};
            if (std::find(std::begin(kCpus), std::end(kCpus), *v) == std::end(kCpus))
              Error(path + ".resources.cpu", r["cpu"],
                    "must be one of 0.25, 0.5, 1, 2, 4, 8, 16 (vCPU)");
            else
              rj["cpu"] = s.cpu = *v;
          }
        if (r.count("memory"))
          if (auto v = Int(path + ".resources.memory", r["memory"], 512, 122880))
            rj["memory"] = s.memory_mib = *v;
      }
      def["resources"] = rj;
    }
    if (f.count("locked"))
      if (auto b = Bool(path + ".locked", f["locked"])) s.locked = *b;
    s.hash = DefinitionHash(def);
    s.path = path;
    stage_paths_.push_back(path);
    v_.spec.stages.push_back(std::move(s));
  }

  void Graph(const YAML::Node& stages_node) {
    auto& stages = v_.spec.stages;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < stages.size(); ++i) {
      const auto& s = stages[i];
      if (s.id.empty()) continue;
      auto [it, inserted] = index.emplace(s.id, i);
      if (!inserted)
        Error(stage_paths_[i] + ".id", At(s),
              "duplicate stage id '" + s.id + "' (first defined at line " +
                  std::to_string(stages[it->second].line) + ")");
    }
    std::vector<std::vector<size_t>> edges(stages.size());  // stage → the stages it needs
    bool resolved = true;
    for (size_t i = 0; i < stages.size(); ++i) {
      std::set<std::string> seen;
      const YAML::Node* needs =
          needs_marks_.count(stage_paths_[i]) ? &needs_marks_[stage_paths_[i]] : nullptr;
      for (size_t j = 0; j < stages[i].needs.size(); ++j) {
        const std::string& need = stages[i].needs[j];
        std::string p = stage_paths_[i] + ".needs[" + std::to_string(j) + "]";
        YAML::Mark m = needs ? (*needs)[j].Mark() : YAML::Mark::null_mark();
        if (!seen.insert(need).second) {
          Error(p, m, "'" + need + "' is listed twice");
          continue;
        }
        if (need == stages[i].id) {
          Error(p, m, "stage '" + need + "' cannot need itself");
          resolved = false;
          continue;
        }
        auto it = index.find(need);
        if (it == index.end()) {
          Error(p, m, "needs '" + need + "', but no stage has that id");
          resolved = false;
          continue;
        }
        edges[i].push_back(it->second);
      }
    }
    std::vector<std::string> cycle = FindCycle(edges);
    if (!cycle.empty()) {
      Error("spec.stages", stages_node, "the stages form a cycle: " + Join(cycle, " -> "));
      return;
    }
    if (v_.spec.canonical && resolved) Canonical(edges, stages_node);
  }

  std::vector<std::string> FindCycle(const std::vector<std::vector<size_t>>& edges) {
    const auto& stages = v_.spec.stages;
    std::vector<int> color(stages.size(), 0);  // 0 new, 1 on the stack, 2 done
    std::vector<size_t> stack;
    std::vector<std::string> cycle;
    std::function<bool(size_t)> dfs = [&](size_t u) {
      color[u] = 1;
      stack.push_back(u);
      for (size_t w : edges[u]) {
        if (color[w] == 1) {
          auto from = std::find(stack.begin(), stack.end(), w);
          for (auto it = from; it != stack.end(); ++it) cycle.push_back(stages[*it].id);
          cycle.push_back(stages[w].id);
          return true;
        }
        if (color[w] == 0 && dfs(w)) return true;
      }
      stack.pop_back();
      color[u] = 2;
      return false;
    };
    for (size_t i = 0; i < stages.size(); ++i)
      if (color[i] == 0 && dfs(i)) break;
    return cycle;
  }

  void Canonical(const std::vector<std::vector<size_t>>& edges, const YAML::Node& stages_node) {
    const auto& stages = v_.spec.stages;
    const auto& types = CanonicalStageTypes();
    std::map<std::string, std::vector<size_t>> by_type;
    for (size_t i = 0; i < stages.size(); ++i) by_type[stages[i].type].push_back(i);
    bool complete = true;
    for (const auto& t : types) {
      size_t n = by_type[t].size();
      if (n == 1) continue;
      complete = false;
      if (n == 0)
        Error("spec.stages", stages_node,
              "canonical pipeline is missing its '" + t +
                  "' stage (canonical order: " + Join(types, " -> ") + ")");
      else
        Error("spec.stages", stages_node,
              "canonical pipeline has " + std::to_string(n) + " '" + t +
                  "' stages; exactly one is expected");
    }
    if (!complete) return;
    // ancestors[i]: every stage i runs after.
    std::vector<std::set<size_t>> ancestors(stages.size());
    std::function<const std::set<size_t>&(size_t)> anc = [&](size_t u) -> const std::set<size_t>& {
      if (!ancestors[u].empty() || edges[u].empty()) return ancestors[u];
      std::set<size_t> out;
      for (size_t w : edges[u]) {
        out.insert(w);
        const auto& a = anc(w);
        out.insert(a.begin(), a.end());
      }
      ancestors[u] = std::move(out);
      return ancestors[u];
    };
    // Levels: the two inference types share one (they run in parallel).
    auto level = [&](const std::string& t) {
      size_t i = std::find(types.begin(), types.end(), t) - types.begin();
      return i >= 6 ? i - 1 : i;
    };
    for (const auto& t : types) {
      size_t s = by_type[t][0];
      size_t lv = level(t);
      if (lv == 0) continue;
      for (const auto& before : types) {
        if (level(before) != lv - 1) continue;
        size_t b = by_type[before][0];
        if (!anc(s).count(b))
          Error(stage_paths_[s] + ".needs", At(stages[s]),
                "canonical order: stage '" + stages[s].id + "' (" + t + ") must run after '" +
                    stages[b].id + "' (" + before + "); add it to needs");
      }
    }
    size_t rt = by_type["realtime-inference"][0], bt = by_type["batch-inference"][0];
    for (auto [a, b] : {std::pair{rt, bt}, std::pair{bt, rt}})
      if (anc(a).count(b))
        Error(stage_paths_[a] + ".needs", At(stages[a]),
              "canonical order: realtime-inference and batch-inference run in parallel; '" +
                  stages[a].id + "' must not run after '" + stages[b].id + "'");
  }

  void Document(const YAML::Node& root) {
    std::map<std::string, YAML::Node> top;
    bool shaped = Map("", root, {"apiVersion", "kind", "metadata", "spec"}, &top);
    if (!shaped && !root.IsMap()) return;
    for (const char* k : {"apiVersion", "kind", "metadata", "spec"})
      if (!top.count(k)) Error(k, root, std::string("missing required field '") + k + "'");
    if (top.count("apiVersion"))
      if (auto s = String("apiVersion", top["apiVersion"]); s && *s != kApiVersion)
        Error("apiVersion", top["apiVersion"],
              "unsupported apiVersion '" + *s + "' (expected " + std::string(kApiVersion) + ")");
    if (top.count("kind"))
      if (auto s = String("kind", top["kind"]); s && *s != kKind)
        Error("kind", top["kind"], "kind must be " + std::string(kKind));
    if (top.count("metadata")) {
      std::map<std::string, YAML::Node> m;
      if (Map("metadata", top["metadata"], {"name", "project", "description"}, &m)) {
        for (const char* k : {"name", "project"}) {
          std::string p = std::string("metadata.") + k;
          if (!m.count(k)) {
            Error(p, top["metadata"], std::string("missing required field '") + k + "'");
            continue;
          }
          auto s = String(p, m[k]);
          if (!s) continue;
          if (!ValidName(*s, 2))
            Error(p, m[k],
                  "must be 2-63 lowercase letters, digits and '-', starting with a letter");
          (k[0] == 'n' ? v_.spec.name : v_.spec.project) = *s;
        }
        if (m.count("description"))
          if (auto s = String("metadata.description", m["description"])) v_.spec.description = *s;
      }
    }
    if (!top.count("spec")) return;
    std::map<std::string, YAML::Node> spec;
    bool spec_shaped = Map("spec", top["spec"], {"canonical", "stages"}, &spec);
    if (!spec_shaped && !top["spec"].IsMap()) return;
    if (spec.count("canonical"))
      if (auto b = Bool("spec.canonical", spec["canonical"])) v_.spec.canonical = *b;
    if (!spec.count("stages")) {
      Error("spec.stages", top["spec"], "missing required field 'stages'");
      return;
    }
    const YAML::Node& stages = spec["stages"];
    if (!stages.IsSequence() || stages.size() == 0) {
      Error("spec.stages", stages, "must be a non-empty list of stages");
      return;
    }
    if (stages.size() > kMaxStages) {
      Error("spec.stages", stages, "at most " + std::to_string(kMaxStages) + " stages");
      return;
    }
    for (size_t i = 0; i < stages.size(); ++i)
      Stage("spec.stages[" + std::to_string(i) + "]", stages[i]);
    v_.parsed = true;
    Graph(stages);
  }

 private:
  Validation& v_;
  const ValidateOptions& options_;
  std::vector<std::string> stage_paths_;
  std::map<std::string, YAML::Node> needs_marks_;
};

}  // namespace

Validation ValidateSpec(std::string_view text, const ValidateOptions& options) {
  Validation v;
  auto fail = [&](std::string msg, int line = 0, int column = 0) {
    v.errors.push_back({"", line, column, std::move(msg)});
    return v;
  };
  if (text.size() > kMaxSpecBytes)
    return fail("the spec is " + std::to_string(text.size()) + " bytes; the limit is " +
                std::to_string(kMaxSpecBytes));
  if (text.find('\0') != std::string_view::npos) return fail("the spec contains NUL bytes");
  if (!ValidUtf8(text)) return fail("the spec is not valid UTF-8");
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1)
      return fail("the spec must be one YAML document (found " + std::to_string(docs.size()) + ")");
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::Exception& e) {
    return fail("YAML syntax error: " + e.msg, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                e.mark.column >= 0 ? e.mark.column + 1 : 0);
  } catch (const std::exception& e) {
    return fail(std::string("YAML could not be read: ") + e.what());
  }
  int64_t count = 0;
  if (!WithinCaps(root, 0, &count))
    return fail("the document expands to more than " + std::to_string(kMaxSpecNodes) +
                " nodes or " + std::to_string(kMaxWalkDepth) +
                " levels (aliases count each time they are used)");
  if (root.IsNull() || !root.IsDefined()) return fail("the spec is empty");
  try {
    Checker(v, options).Document(root);
  } catch (const YAML::Exception& e) {
    // yaml-cpp throws on some malformed node accesses; report it, never crash.
    v.errors.push_back({"", e.mark.line >= 0 ? e.mark.line + 1 : 0,
                        e.mark.column >= 0 ? e.mark.column + 1 : 0, "invalid spec: " + e.msg});
  } catch (const std::exception& e) {
    v.errors.push_back({"", 0, 0, std::string("invalid spec: ") + e.what()});
  }
  return v;
}

}  // namespace studio::pipelines
