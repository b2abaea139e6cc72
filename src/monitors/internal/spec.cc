#include "monitors/internal/spec.h"

#include <cmath>
#include <map>

#include "common/time_util.h"
#include "monitors/internal/performance_eval.h"

namespace studio::monitors::internal {
namespace {

class Problems {
 public:
  void Add(const std::string& field, const std::string& problem) { p_[field] = problem; }
  bool empty() const { return p_.empty(); }
  Status ToStatus() const {
    std::string msg = "invalid monitor: ";
    bool first = true;
    for (const auto& [f, p] : p_) {
      msg += (first ? "" : "; ") + f + ": " + p;
      first = false;
    }
    Status st = InvalidArgument(msg);
    for (const auto& [f, p] : p_) st.WithDetail(f, p);
    return st;
  }

 private:
  std::map<std::string, std::string> p_;
};

std::optional<std::string> Str(const nlohmann::json& obj, const std::string& key,
                               const std::string& path, Problems& pr, size_t max_len,
                               bool allow_empty = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    pr.Add(path, std::string("must be a string, got ") + it->type_name());
    return std::nullopt;
  }
  std::string s = it->get<std::string>();
  if (s.size() > max_len) {
    pr.Add(path, "must be at most " + std::to_string(max_len) + " bytes");
    return std::nullopt;
  }
  if (!allow_empty && s.empty()) {
    pr.Add(path, "must not be empty");
    return std::nullopt;
  }
  return s;
}

void Unknown(const nlohmann::json& obj, const std::vector<std::string>& known,
             const std::string& prefix, Problems& pr) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      pr.Add(prefix + it.key(), "unknown field");
}

bool Threshold(const nlohmann::json& v, const std::string& path, Problems& pr) {
  if (!v.is_number()) {
    pr.Add(path, std::string("must be a number, got ") + v.type_name());
    return false;
  }
  double t = v.get<double>();
  if (!std::isfinite(t) || t < 0) {
    pr.Add(path, "must be a finite number >= 0");
    return false;
  }
  return true;
}

}  // namespace

Result<MonitorSpec> ParseMonitorBody(const nlohmann::json& body, bool create) {
  Problems pr;
  MonitorSpec s;
  Unknown(body,
          {"project", "name", "description", "target", "reference", "current", "metrics_url",
           "schedule", "method", "threshold", "drift_share", "correction", "columns", "features",
           "window_rows", "performance"},
          "", pr);
  s.project = Str(body, "project", "project", pr, 256, false);
  s.name = Str(body, "name", "name", pr, 128, false);
  s.description = Str(body, "description", "description", pr, 5000);
  if (create && !s.project && !body.contains("project")) pr.Add("project", "required");
  if (create && !s.name && !body.contains("name")) pr.Add("name", "required");
  if (!create && body.contains("project")) pr.Add("project", "cannot be changed");

  if (auto it = body.find("target"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      pr.Add("target", "must be an object: {\"model\",\"version\"} or {\"deployment_id\"}");
    } else {
      Unknown(*it, {"model", "version", "deployment_id"}, "target.", pr);
      s.target_given = true;
      auto model = Str(*it, "model", "target.model", pr, 256, false);
      auto dep = Str(*it, "deployment_id", "target.deployment_id", pr, 128, false);
      if (auto v = it->find("version"); v != it->end() && !v->is_null()) {
        if (v->is_number_integer() && v->get<int64_t>() > 0)
          s.version = std::to_string(v->get<int64_t>());
        else if (v->is_string() && !v->get<std::string>().empty() &&
                 v->get<std::string>().size() <= 64)
          s.version = v->get<std::string>();
        else
          pr.Add("target.version", "must be a positive integer or a version string");
      }
      if (model) s.model = *model;
      if (dep) s.deployment_id = *dep;
      if (model && dep)
        pr.Add("target", "give either model and version or deployment_id, not both");
      else if (model && s.version.empty() && !it->contains("version"))
        pr.Add("target.version", "required with target.model");
      else if (!model && !dep && !it->contains("model") && !it->contains("deployment_id"))
        pr.Add("target", "give model and version, or deployment_id");
    }
  } else if (create) {
    pr.Add("target", "required");
  }

  if (auto it = body.find("reference"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      pr.Add("reference", "must be an object: {\"path\": \"<artifact path of a CSV>\"}");
    } else {
      Unknown(*it, {"path"}, "reference.", pr);
      s.reference_path = Str(*it, "path", "reference.path", pr, 1024, false);
      if (!s.reference_path && !it->contains("path")) pr.Add("reference.path", "required");
    }
  } else if (create) {
    pr.Add("reference", "required");
  }

  if (auto it = body.find("current"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      pr.Add("current", "must be an object: {\"kind\": \"prediction_log\"|\"csv\", \"path\"}");
    } else {
      Unknown(*it, {"kind", "path"}, "current.", pr);
      s.current_kind = Str(*it, "kind", "current.kind", pr, 32, false);
      s.current_path = Str(*it, "path", "current.path", pr, 1024, false);
      if (s.current_kind && *s.current_kind != "prediction_log" && *s.current_kind != "csv")
        pr.Add("current.kind", "must be prediction_log or csv");
      if (!s.current_kind && !it->contains("kind")) pr.Add("current.kind", "required");
      if (!s.current_path && !it->contains("path")) pr.Add("current.path", "required");
    }
  } else if (create) {
    pr.Add("current", "required");
  }

  s.metrics_url = Str(body, "metrics_url", "metrics_url", pr, 2048);
  s.schedule = Str(body, "schedule", "schedule", pr, 32, false);

  // Drift options: validated here, stored as given.
  if (auto it = body.find("method"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !monitoring::ParseMethod(it->get<std::string>()))
      pr.Add("method",
             "must be one of auto, ks, chisquare, z, wasserstein, psi, jensenshannon, kl_div, "
             "hellinger");
    else
      s.options["method"] = *it;
  }
  if (auto it = body.find("threshold"); it != body.end() && !it->is_null()) {
    if (Threshold(*it, "threshold", pr)) s.options["threshold"] = *it;
  }
  if (auto it = body.find("drift_share"); it != body.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > 1)
      pr.Add("drift_share", "must be a number in (0, 1]");
    else
      s.options["drift_share"] = *it;
  }
  if (auto it = body.find("correction"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || !monitoring::ParseCorrection(it->get<std::string>()))
      pr.Add("correction", "must be none, bonferroni or bh");
    else
      s.options["correction"] = *it;
  }
  if (auto it = body.find("window_rows"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 10000000)
      pr.Add("window_rows", "must be an integer between 1 and 10000000");
    else
      s.options["window_rows"] = *it;
  }
  if (auto it = body.find("columns"); it != body.end() && !it->is_null()) {
    bool ok = it->is_array() && it->size() <= 10000;
    if (ok)
      for (const auto& c : *it) ok = ok && c.is_string() && !c.get<std::string>().empty();
    if (!ok)
      pr.Add("columns", "must be an array of column names");
    else
      s.options["columns"] = *it;
  }
  if (auto it = body.find("features"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) {
      pr.Add("features", "must be an object: feature name → {method, threshold, kind}");
    } else {
      for (auto f = it->begin(); f != it->end(); ++f) {
        std::string path = "features." + f.key();
        if (!f->is_object()) {
          pr.Add(path, "must be an object with method, threshold and/or kind");
          continue;
        }
        Unknown(*f, {"method", "threshold", "kind"}, path + ".", pr);
        if (auto m = f->find("method");
            m != f->end() && !m->is_null() &&
            (!m->is_string() || !monitoring::ParseMethod(m->get<std::string>())))
          pr.Add(path + ".method", "unknown method");
        if (auto t = f->find("threshold"); t != f->end() && !t->is_null())
          Threshold(*t, path + ".threshold", pr);
        if (auto k = f->find("kind");
            k != f->end() && !k->is_null() &&
            (!k->is_string() || !monitoring::ParseColumnKind(k->get<std::string>())))
          pr.Add(path + ".kind", "must be numeric or categorical");
      }
      s.options["features"] = *it;
    }
  }
  if (auto it = body.find("performance"); it != body.end() && !it->is_null()) {
    std::map<std::string, std::string> problems;
    ValidatePerformance(*it, problems);
    for (const auto& [f, p] : problems) pr.Add(f, p);
    if (problems.empty()) s.options["performance"] = *it;
  }
  if (!pr.empty()) return pr.ToStatus();
  return s;
}

Result<monitoring::DriftOptions> DriftOptionsFromJson(const nlohmann::json& o) {
  monitoring::DriftOptions d;
  d.ecdf_points = 100;
  if (o.contains("method")) d.method = *monitoring::ParseMethod(o["method"].get<std::string>());
  if (o.contains("threshold")) d.threshold = o["threshold"].get<double>();
  if (o.contains("drift_share")) d.drift_share = o["drift_share"].get<double>();
  if (o.contains("correction"))
    d.correction = *monitoring::ParseCorrection(o["correction"].get<std::string>());
  if (o.contains("columns")) d.columns = o["columns"].get<std::vector<std::string>>();
  if (o.contains("features")) {
    for (auto f = o["features"].begin(); f != o["features"].end(); ++f) {
      monitoring::FeatureOverride ov;
      if (f->contains("method") && !(*f)["method"].is_null())
        ov.method = monitoring::ParseMethod((*f)["method"].get<std::string>());
      if (f->contains("threshold") && !(*f)["threshold"].is_null())
        ov.threshold = (*f)["threshold"].get<double>();
      if (f->contains("kind") && !(*f)["kind"].is_null())
        ov.kind = monitoring::ParseColumnKind((*f)["kind"].get<std::string>());
      d.overrides[f.key()] = ov;
    }
  }
  return d;
}

nlohmann::json TimeOrNull(int64_t ms) {
  return ms ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json();
}

nlohmann::json MonitorToJson(const store::MonitorRecord& m) {
  nlohmann::json target;
  if (!m.deployment_id.empty())
    target = {{"type", "deployment"}, {"deployment_id", m.deployment_id}};
  else
    target = {{"type", "model_version"}, {"model", m.model_name}, {"version", m.model_version}};
  nlohmann::json columns = nlohmann::json::array();
  auto profile = monitoring::ReferenceProfile::FromJson(m.profile_json);
  if (profile.ok())
    for (const auto& c : profile->columns)
      columns.push_back({{"name", c.name},
                         {"kind", std::string(monitoring::ColumnKindName(c.kind))},
                         {"count", c.count()},
                         {"dropped", c.dropped}});
  nlohmann::json options = nlohmann::json::parse(m.options_json, nullptr, false);
  if (options.is_discarded()) options = nlohmann::json::object();
  return {{"id", m.id},
          {"project_id", m.project_id},
          {"name", m.name},
          {"description", m.description},
          {"target", target},
          {"reference",
           {{"path", m.reference_path},
            {"sha256", m.reference_sha256},
            {"rows", m.reference_rows},
            {"columns", columns}}},
          {"current", {{"kind", m.current_kind}, {"path", m.current_path}}},
          {"metrics_url", m.metrics_url},
          {"schedule", m.schedule},
          {"interval_seconds", m.interval_seconds},
          {"options", options},
          {"next_run_at", m.interval_seconds ? TimeOrNull(m.next_run_at) : nlohmann::json()},
          {"last_run_at", TimeOrNull(m.last_run_at)},
          {"last_status", m.last_status},
          {"created_by", m.created_by},
          {"created_at", FormatRfc3339(m.created_at)},
          {"updated_at", FormatRfc3339(m.updated_at)}};
}

nlohmann::json ReportToJson(const store::DriftReportRecord& r, bool full) {
  nlohmann::json j = {{"id", r.id},
                      {"monitor_id", r.monitor_id},
                      {"status", r.status},
                      {"trigger", r.trigger_kind},
                      {"dataset_drift", r.dataset_drift},
                      {"drift_share", r.drift_share},
                      {"drifted_features", r.drifted_features},
                      {"total_features", r.total_features},
                      {"current_rows", r.current_rows},
                      {"error", r.error},
                      {"created_by", r.created_by},
                      {"created_at", FormatRfc3339(r.created_at)}};
  if (full) {
    auto rep = nlohmann::json::parse(r.report_json, nullptr, false);
    j["report"] = rep.is_discarded() ? nlohmann::json() : rep;
  }
  return j;
}

nlohmann::json RuleToJson(const store::AlarmRuleRecord& r) {
  return {{"id", r.id},
          {"project_id", r.project_id},
          {"monitor_id", r.monitor_id},
          {"name", r.name},
          {"kind", r.kind},
          {"threshold", r.threshold},
          {"enabled", r.enabled},
          {"webhook_url", r.webhook_url},
          {"webhook_secret_set", !r.webhook_secret_sealed.empty()},
          {"state", r.state},
          {"state_value", r.state_value},
          {"state_reason", r.state_reason},
          {"state_changed_at", TimeOrNull(r.state_changed_at)},
          {"acknowledged", !r.acknowledged_by.empty()},
          {"acknowledged_by", r.acknowledged_by},
          {"acknowledged_at", TimeOrNull(r.acknowledged_at)},
          {"created_by", r.created_by},
          {"created_at", FormatRfc3339(r.created_at)},
          {"updated_at", FormatRfc3339(r.updated_at)}};
}

nlohmann::json AlertToJson(const store::AlertRecord& a) {
  return {{"id", a.id},
          {"rule_id", a.rule_id},
          {"monitor_id", a.monitor_id},
          {"from_state", a.from_state},
          {"to_state", a.to_state},
          {"value", a.value},
          {"reason", a.reason},
          {"notification", a.notification},
          {"created_at", FormatRfc3339(a.created_at)}};
}

}  // namespace studio::monitors::internal
