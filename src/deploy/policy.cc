#include "deploy/policy.h"

#include <algorithm>
#include <map>

#include "common/strings.h"

namespace studio::deploy {

const std::vector<std::string>& AllStatuses() {
  static const std::vector<std::string> kAll = {kPendingApproval, kDeploying, kCanary,
                                                kGreenValidating, kLive,      kRolledBack,
                                                kFailed,          kRejected};
  return kAll;
}

bool IsTerminal(const std::string& s) {
  return s == kLive || s == kRolledBack || s == kFailed || s == kRejected;
}

bool IsKnownStatus(const std::string& s) {
  const auto& all = AllStatuses();
  return std::find(all.begin(), all.end(), s) != all.end();
}

bool EnvironmentPolicy::Allows(const std::string& s) const {
  return std::find(allowed_strategies.begin(), allowed_strategies.end(), s) !=
         allowed_strategies.end();
}

Result<std::string> CanonicalStrategy(const std::string& s) {
  std::string l = ToLower(s);
  if (l == "direct") return std::string(kDirect);
  if (l == "canary") return std::string(kCanaryStrategy);
  if (l == "blue-green" || l == "bluegreen" || l == "blue_green") return std::string(kBlueGreen);
  return InvalidArgument("unknown strategy '" + s + "' (valid: direct, canary, blue-green)")
      .WithDetail("strategy", "must be direct, canary or blue-green");
}

namespace {

class Reader {
 public:
  Reader(const nlohmann::json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}
  void Int(const char* key, int* out, int lo, int hi) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    const auto& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
      Problem(key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return;
    }
    *out = v.get<int>();
  }
  void Double(const char* key, double* out, double lo, double hi) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    const auto& v = j_[key];
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi) {
      Problem(key, "must be a number from " + FormatNumber(lo) + " to " + FormatNumber(hi));
      return;
    }
    *out = v.get<double>();
  }
  void Bool(const char* key, bool* out) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    if (!j_[key].is_boolean()) return Problem(key, "must be true or false");
    *out = j_[key].get<bool>();
  }
  void Strategy(const char* key, std::string* out) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    if (!j_[key].is_string()) return Problem(key, "must be direct, canary or blue-green");
    auto s = CanonicalStrategy(j_[key].get<std::string>());
    if (!s.ok()) return Problem(key, "must be direct, canary or blue-green");
    *out = *s;
  }
  void Strategies(const char* key, std::vector<std::string>* out) {
    known_.push_back(key);
    if (!j_.contains(key)) return;
    const auto& v = j_[key];
    if (!v.is_array() || v.empty())
      return Problem(key, "must be a non-empty list of direct, canary, blue-green");
    std::vector<std::string> list;
    for (const auto& e : v) {
      auto s = e.is_string() ? CanonicalStrategy(e.get<std::string>())
                             : Result<std::string>(InvalidArgument("x"));
      if (!s.ok()) return Problem(key, "must be a non-empty list of direct, canary, blue-green");
      if (std::find(list.begin(), list.end(), *s) == list.end()) list.push_back(*s);
    }
    *out = list;
  }
  const nlohmann::json* Object(const char* key) {
    known_.push_back(key);
    if (!j_.contains(key)) return nullptr;
    if (!j_[key].is_object()) {
      Problem(key, "must be an object");
      return nullptr;
    }
    return &j_[key];
  }
  void Problem(const std::string& key, const std::string& what) { problems_[prefix_ + key] = what; }
  void Unknown() {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (std::find(known_.begin(), known_.end(), it.key()) == known_.end())
        problems_[prefix_ + it.key()] = "unknown field";
  }
  std::map<std::string, std::string>& problems() { return problems_; }

 private:
  static std::string FormatNumber(double v) {
    std::string s = std::to_string(v);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const nlohmann::json& j_;
  std::string prefix_;
  std::vector<std::string> known_;
  std::map<std::string, std::string> problems_;
};

}  // namespace

Result<EnvironmentPolicy> ParsePolicy(const nlohmann::json& j, const EnvironmentPolicy& base) {
  if (!j.is_object()) return InvalidArgument("the policy must be a JSON object");
  EnvironmentPolicy p = base;
  Reader r(j, "");
  r.Int("approvals_required", &p.approvals_required, 0, 10);
  r.Strategy("strategy", &p.strategy);
  r.Strategies("allowed_strategies", &p.allowed_strategies);
  r.Int("canary_percent", &p.canary_percent, 1, 99);
  r.Int("bake_seconds", &p.bake_seconds, 0, 86400);
  r.Int("replicas", &p.replicas, 1, 100);
  r.Int("max_replicas", &p.max_replicas, 1, 100);
  r.Bool("smoke_test", &p.smoke_test);
  std::map<std::string, std::string> problems;
  if (const nlohmann::json* a = r.Object("analysis")) {
    Reader ar(*a, "analysis.");
    ar.Int("min_requests", &p.analysis.min_requests, 1, 1000000);
    ar.Double("max_error_rate", &p.analysis.max_error_rate, 0, 1);
    ar.Double("max_p99_ms", &p.analysis.max_p99_ms, 1, 600000);
    ar.Int("window_seconds", &p.analysis.window_seconds, 1, 86400);
    ar.Int("interval_seconds", &p.analysis.interval_seconds, 1, 3600);
    ar.Unknown();
    problems = ar.problems();
  }
  r.Unknown();
  problems.insert(r.problems().begin(), r.problems().end());
  if (problems.empty()) {
    if (!p.Allows(p.strategy))
      problems["strategy"] = "the default strategy must be one of allowed_strategies";
    if (p.max_replicas < p.replicas) problems["max_replicas"] = "must be at least replicas";
    if (p.analysis.interval_seconds > p.analysis.window_seconds)
      problems["analysis.interval_seconds"] = "must not exceed analysis.window_seconds";
  }
  if (!problems.empty()) {
    Status st = InvalidArgument("invalid environment policy: " + problems.begin()->first + " " +
                                problems.begin()->second);
    for (auto& [k, v] : problems) st.WithDetail(k, v);
    return st;
  }
  return p;
}

nlohmann::json PolicyJson(const EnvironmentPolicy& p) {
  return {{"approvals_required", p.approvals_required},
          {"strategy", p.strategy},
          {"allowed_strategies", p.allowed_strategies},
          {"canary_percent", p.canary_percent},
          {"analysis",
           {{"min_requests", p.analysis.min_requests},
            {"max_error_rate", p.analysis.max_error_rate},
            {"max_p99_ms", p.analysis.max_p99_ms},
            {"window_seconds", p.analysis.window_seconds},
            {"interval_seconds", p.analysis.interval_seconds}}},
          {"bake_seconds", p.bake_seconds},
          {"replicas", p.replicas},
          {"max_replicas", p.max_replicas},
          {"smoke_test", p.smoke_test}};
}

}  // namespace studio::deploy
