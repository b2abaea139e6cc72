// Checks, alarm rules and their notifications (the second half of MonitorService).
#include <cmath>
#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/time_util.h"
#include "monitoring/drift.h"
#include "monitors/internal/data_sources.h"
#include "monitors/internal/performance_eval.h"
#include "monitors/internal/spec.h"
#include "monitors/monitor_service.h"
#include "store/projects_repo.h"

namespace studio::monitors {

using internal::AlertToJson;
using internal::ReportToJson;
using internal::RuleToJson;

namespace {

MonitorLabels LabelsOf(const store::MonitorRecord& m) {
  return {m.id, m.name, m.model_name, m.model_version, m.deployment_id};
}

double Finite(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

Result<nlohmann::json> MonitorService::RunMonitor(const Actor& actor, const std::string& id,
                                                  const std::string& trigger) {
  store::MonitorRecord m;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(m, store::Monitors(tx).Get(id));
    return Status::Ok();
  }));
  int64_t started = NowMillis();
  store::DriftReportRecord rep;
  rep.id = NewUuidV7();
  rep.monitor_id = m.id;
  rep.trigger_kind = trigger;
  rep.created_by = actor.username;
  rep.created_at = started;
  std::vector<store::FeatureScoreRecord> scores;
  Observation obs;
  DriftPoint point;
  PerformancePoint perf_point;

  // The check itself: any failure is recorded as a failed report (and trips task_failure).
  Status check = [&]() -> Status {
    ASSIGN_OR_RETURN(auto profile, monitoring::ReferenceProfile::FromJson(m.profile_json));
    auto opts_json = nlohmann::json::parse(m.options_json, nullptr, false);
    if (!opts_json.is_object()) return Internal("stored monitor options are damaged");
    ASSIGN_OR_RETURN(auto opts, internal::DriftOptionsFromJson(opts_json));
    monitoring::Dataset current;
    if (m.current_kind == "csv") {
      std::map<std::string, monitoring::ColumnKind> kinds;
      for (const auto& c : profile.columns) kinds[c.name] = c.kind;
      auto loaded = internal::LoadCsvArtifact(*options_.artifacts, m.current_path, {});
      if (!loaded.ok()) {
        if (loaded.status().code() == ErrorCode::kResourceDoesNotExist)
          return NotFound("current data artifact '" + m.current_path + "' does not exist");
        return loaded.status();
      }
      current = std::move(loaded->data);
    } else {
      internal::LogFilter filter;
      filter.model = m.model_name;
      filter.version = m.model_version;
      filter.max_rows = opts_json.value("window_rows", int64_t{100000});
      ASSIGN_OR_RETURN(current,
                       internal::LoadPredictionLog(*options_.artifacts, m.current_path, filter));
      // Prediction drift: the log's scalar predictions under the reference's column name.
      if (auto p = opts_json.find("performance"); p != opts_json.end() && p->is_object()) {
        std::string name = p->value("prediction_column", "prediction");
        if (name != "prediction" && !current.Find(name))
          for (auto& c : current.columns)
            if (c.name == "prediction") c.name = name;
      }
    }
    rep.current_rows = current.rows;
    ASSIGN_OR_RETURN(auto report, monitoring::ComputeDrift(profile, current, opts));
    rep.dataset_drift = report.dataset_drift;
    rep.drift_share = Finite(report.share);
    rep.drifted_features = report.drifted;
    rep.total_features = report.evaluated;
    auto full = nlohmann::json::parse(monitoring::ReportToJson(report, true), nullptr, false);
    if (full.is_discarded()) full = nlohmann::json::parse(monitoring::ReportToJson(report, false));
    full["current_rows"] = current.rows;
    full["reference_rows"] = m.reference_rows;
    if (auto p = opts_json.find("performance"); p != opts_json.end() && p->is_object()) {
      auto perf = CheckPerformance(m, *p);
      auto baseline = perf.report.value("baseline", nlohmann::json::object());
      for (const auto& [metric, value] : perf.current) {
        bool degraded = perf.degraded.count(metric) && perf.degraded.at(metric);
        double ref = baseline.contains(metric) ? baseline[metric].get<double>() : 0.0;
        scores.push_back({rep.id, m.id, "performance." + metric, "performance", Finite(value), ref,
                          degraded, started});
        perf_point.metrics.push_back({metric, value, degraded});
      }
      obs.performance_degradation = perf.worst_degradation;
      obs.performance_reason = perf.reason;
      full["performance"] = std::move(perf.report);
    } else {
      obs.performance_reason = "the monitor has no performance config";
    }
    rep.report_json = full.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (const auto& f : report.features) {
      if (!f.error.empty()) continue;
      std::string method(monitoring::MethodName(f.method));
      scores.push_back(
          {rep.id, m.id, f.column, method, Finite(f.score), f.threshold, f.drift, started});
      point.features.push_back({f.column, method, f.score, f.drift});
    }
    if (report.evaluated > 0) obs.drift_share = report.share;
    return Status::Ok();
  }();
  rep.status = check.ok() ? "succeeded" : "failed";
  if (!check.ok()) {
    rep.error = check.message();
    obs.run_failed = true;
    obs.run_error = check.message();
  }
  Observation serving = ServingObservation(m);
  obs.latency_p99_s = serving.latency_p99_s;
  obs.error_rate = serving.error_rate;
  obs.metrics_error = serving.metrics_error;

  std::vector<Transition> transitions;
  std::vector<store::AlarmRuleRecord> evaluated;
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    store::Monitors monitors(tx);
    RETURN_IF_ERROR(monitors.Get(m.id).status());  // deleted meanwhile: 404
    RETURN_IF_ERROR(monitors.InsertReport(rep, scores));
    RETURN_IF_ERROR(monitors.MarkRun(m.id, started, rep.status));
    RETURN_IF_ERROR(
        audit::Append(tx, {actor.username, "monitor.run", "monitor", m.id, actor.request_id,
                           nlohmann::json{{"report_id", rep.id},
                                          {"trigger", trigger},
                                          {"status", rep.status},
                                          {"dataset_drift", rep.dataset_drift},
                                          {"drift_share", rep.drift_share}}
                               .dump()}));
    store::AlarmRules rules(tx);
    ASSIGN_OR_RETURN(auto list, rules.ForMonitor(m.project_id, m.id));
    for (auto& r : list) {
      if (!r.enabled) continue;
      auto kind = ParseRuleKind(r.kind);
      if (!kind) continue;
      Evaluation e = Evaluate(*kind, r.threshold, obs);
      std::string to(AlarmStateName(e.state));
      std::string from = r.state;
      r.state_value = Finite(e.value);
      r.state_reason = e.reason;
      if (to != from) {
        r.state = to;
        r.state_changed_at = started;
        // A new ALARM needs a new acknowledgement.
        if (to == "ALARM") {
          r.acknowledged_by.clear();
          r.acknowledged_at = 0;
        }
        store::AlertRecord a{NewUuidV7(),   r.id,     m.id, from,   to,
                             r.state_value, e.reason, "",   started};
        bool notify = !r.webhook_url.empty() && (to == "ALARM" || from == "ALARM");
        a.notification = notify ? "pending" : "none";
        RETURN_IF_ERROR(rules.InsertAlert(a));
        RETURN_IF_ERROR(audit::Append(
            tx, {actor.username, "alarm.state_change", "alarm_rule", r.id, actor.request_id,
                 nlohmann::json{{"from", from},
                                {"to", to},
                                {"value", r.state_value},
                                {"reason", e.reason},
                                {"kind", r.kind},
                                {"monitor_id", m.id},
                                {"report_id", rep.id},
                                {"alert_id", a.id}}
                     .dump()}));
        if (notify) transitions.push_back({r, from, a.id, e.reason});
      }
      RETURN_IF_ERROR(rules.UpdateState(r));
      evaluated.push_back(r);
    }
    return Status::Ok();
  }));

  if (sink_ && check.ok()) {
    point.labels = LabelsOf(m);
    point.ts_ms = started;
    point.share = rep.drift_share;
    point.dataset_drift = rep.dataset_drift;
    sink_->RecordDrift(point);
    if (!perf_point.metrics.empty()) {
      perf_point.labels = point.labels;
      perf_point.ts_ms = started;
      sink_->RecordPerformance(perf_point);
    }
  }
  for (const auto& r : evaluated) PublishRule(r);
  for (const auto& t : transitions) Notify(t, &m, rep.id);
  nlohmann::json alarms = nlohmann::json::array();
  for (const auto& r : evaluated) {
    nlohmann::json a = {{"rule_id", r.id},  {"name", r.name},         {"kind", r.kind},
                        {"state", r.state}, {"value", r.state_value}, {"reason", r.state_reason}};
    for (const auto& t : transitions)
      if (t.rule.id == r.id) a["alert_id"] = t.alert_id;
    alarms.push_back(a);
  }
  nlohmann::json out = ReportToJson(rep, true);
  out["alarms"] = alarms;
  return out;
}

void MonitorService::Notify(const Transition& t, const store::MonitorRecord* m,
                            const std::string& report_id) {
  const auto& r = t.rule;
  nlohmann::json body = {{"event", "alarm.state_change"},
                         {"alert_id", t.alert_id},
                         {"ts", FormatRfc3339(NowMillis())},
                         {"rule",
                          {{"id", r.id},
                           {"name", r.name},
                           {"kind", r.kind},
                           {"threshold", r.threshold},
                           {"project_id", r.project_id},
                           {"monitor_id", r.monitor_id}}},
                         {"from", t.from},
                         {"to", r.state},
                         {"value", r.state_value},
                         {"reason", t.reason},
                         {"report_id", report_id}};
  if (m) body["monitor"] = {{"id", m->id}, {"name", m->name}};
  std::string payload = body.dump();
  std::string outcome;
  // Checked again at send time: the name may resolve elsewhere now (DNS rebinding).
  auto target = CheckUrl(r.webhook_url, webhook_policy_);
  if (!target.ok()) {
    outcome = "refused: " + target.status().message();
  } else {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"},
        {"X-Studio-Event", "alarm.state_change"},
        {"X-Studio-Delivery", t.alert_id}};
    if (!r.webhook_secret_sealed.empty()) {
      auto secret = box_.Unseal(r.webhook_secret_sealed, r.id);
      if (secret.ok())
        headers.push_back({"X-Studio-Signature", "sha256=" + HmacSha256Hex(*secret, payload)});
      else
        outcome = "failed: " + secret.status().message();
    }
    if (outcome.empty()) {
      auto res = HttpPost(*target, payload, headers, options_.webhook_timeout_ms);
      if (!res.ok())
        outcome = "failed: " + res.status().message();
      else if (res->status >= 300 && res->status < 400)
        outcome = "failed: HTTP " + std::to_string(res->status) + " (redirects are not followed)";
      else if (res->status >= 200 && res->status < 300)
        outcome = "delivered: HTTP " + std::to_string(res->status);
      else
        outcome = "failed: HTTP " + std::to_string(res->status);
    }
  }
  if (outcome.rfind("delivered", 0) != 0)
    log::Warn("alarm notification not delivered",
              {{"rule", r.id}, {"alert", t.alert_id}, {"outcome", outcome}});
  Status st = options_.store->Write([&](store::Tx& tx) {
    return store::AlarmRules(tx).SetAlertNotification(t.alert_id, outcome);
  });
  if (!st.ok()) log::Warn("cannot record a notification outcome", {{"error", st.message()}});
}

void MonitorService::PublishRule(const store::AlarmRuleRecord& r) {
  if (!sink_) return;
  sink_->RecordAlarm({r.id, r.name, r.kind, r.monitor_id, r.state, NowMillis()});
}

void MonitorService::RestoreMetrics() {
  // Only the Prometheus gauges need restoring: EMF already has the points it was sent.
  if (!prometheus_) return;
  // Gauges survive a restart: the latest report per monitor and every rule's state.
  std::vector<store::AlarmRuleRecord> rules;
  std::vector<std::pair<store::MonitorRecord, store::DriftReportRecord>> latest;
  Status st = options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(rules, store::AlarmRules(tx).List("", "", "", 10000));
    ASSIGN_OR_RETURN(auto monitors, store::Monitors(tx).List("", "", 10000));
    for (const auto& m : monitors) {
      auto r = store::Monitors(tx).LatestReport(m.id);
      if (r.ok() && r->status == "succeeded") latest.emplace_back(m, *r);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    log::Warn("cannot restore monitoring metrics", {{"error", st.message()}});
    return;
  }
  for (const auto& r : rules)
    prometheus_->RecordAlarm({r.id, r.name, r.kind, r.monitor_id, r.state, r.state_changed_at});
  for (const auto& [m, r] : latest) {
    DriftPoint p;
    p.labels = LabelsOf(m);
    p.ts_ms = r.created_at;
    p.share = r.drift_share;
    p.dataset_drift = r.dataset_drift;
    auto rep = nlohmann::json::parse(r.report_json, nullptr, false);
    if (rep.is_object() && rep.contains("features"))
      for (const auto& f : rep["features"])
        if (!f.contains("error") && f.contains("score") && f["score"].is_number())
          p.features.push_back({f.value("column", ""), f.value("method", ""),
                                f["score"].get<double>(), f.value("drift", false)});
    prometheus_->RecordDrift(p);
    if (rep.is_object() && rep.contains("performance") && rep["performance"].is_object()) {
      const auto& perf = rep["performance"];
      PerformancePoint pp{p.labels, r.created_at, {}};
      if (perf.contains("metrics") && perf["metrics"].is_object())
        for (auto it = perf["metrics"].begin(); it != perf["metrics"].end(); ++it)
          if (it->is_number())
            pp.metrics.push_back(
                {it.key(), it->get<double>(),
                 perf.contains("degraded") && perf["degraded"].value(it.key(), false)});
      if (!pp.metrics.empty()) prometheus_->RecordPerformance(pp);
    }
  }
}

// -- rules -------------------------------------------------------------------------------------

namespace {

struct RuleSpec {
  std::optional<std::string> project, monitor_id, name, kind, webhook_url, webhook_secret;
  std::optional<double> threshold;
  std::optional<bool> enabled;
};

Result<RuleSpec> ParseRule(const nlohmann::json& body, bool create) {
  RuleSpec s;
  std::map<std::string, std::string> problems;
  static const std::vector<std::string> kKnown = {"project",     "monitor_id",    "name",
                                                  "kind",        "threshold",     "enabled",
                                                  "webhook_url", "webhook_secret"};
  for (auto it = body.begin(); it != body.end(); ++it)
    if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end())
      problems[it.key()] = "unknown field";
  auto str = [&](const char* key, size_t max, std::optional<std::string>& out) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return;
    if (!it->is_string())
      problems[key] = std::string("must be a string, got ") + it->type_name();
    else if (it->get<std::string>().size() > max)
      problems[key] = "must be at most " + std::to_string(max) + " bytes";
    else
      out = it->get<std::string>();
  };
  str("project", 256, s.project);
  str("monitor_id", 64, s.monitor_id);
  str("name", 200, s.name);
  str("kind", 32, s.kind);
  str("webhook_url", 2048, s.webhook_url);
  str("webhook_secret", 256, s.webhook_secret);
  if (auto it = body.find("threshold"); it != body.end() && !it->is_null()) {
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0)
      problems["threshold"] = "must be a finite number >= 0";
    else
      s.threshold = it->get<double>();
  }
  if (auto it = body.find("enabled"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean())
      problems["enabled"] = std::string("must be a boolean, got ") + it->type_name();
    else
      s.enabled = it->get<bool>();
  }
  if (s.kind && !ParseRuleKind(*s.kind))
    problems["kind"] = "must be drift_share, latency_p99, error_rate, task_failure or performance";
  if (s.name && s.name->empty()) problems["name"] = "must not be empty";
  if (s.webhook_secret && !s.webhook_secret->empty() && s.webhook_secret->size() < 16)
    problems["webhook_secret"] = "must be at least 16 characters";
  if (create) {
    if (!s.kind && !problems.count("kind")) problems["kind"] = "required";
    if (!s.project && !s.monitor_id && !problems.count("project"))
      problems["project"] = "give project (a project-wide rule) or monitor_id";
  } else {
    if (body.contains("kind")) problems["kind"] = "cannot be changed";
    if (body.contains("project")) problems["project"] = "cannot be changed";
    if (body.contains("monitor_id")) problems["monitor_id"] = "cannot be changed";
  }
  if (s.kind && s.threshold && (*s.kind == "drift_share" || *s.kind == "error_rate") &&
      *s.threshold > 1)
    problems["threshold"] = "a share: must be between 0 and 1";
  if (!problems.empty()) {
    std::string msg = "invalid alarm rule:";
    for (const auto& [f, p] : problems) msg += " " + f + ": " + p + ";";
    msg.pop_back();
    Status st = InvalidArgument(msg);
    for (const auto& [f, p] : problems) st.WithDetail(f, p);
    return st;
  }
  return s;
}

}  // namespace

Result<nlohmann::json> MonitorService::CreateRule(const Actor& actor, const nlohmann::json& body) {
  ASSIGN_OR_RETURN(RuleSpec s, ParseRule(body, true));
  if (s.webhook_url && !s.webhook_url->empty()) {
    auto checked = CheckUrl(*s.webhook_url, webhook_policy_);
    if (!checked.ok())
      return Status(checked.status()).WithDetail("webhook_url", checked.status().message());
  }
  store::AlarmRuleRecord r;
  r.id = NewUuidV7();
  r.kind = *s.kind;
  r.name = s.name.value_or(r.kind + " rule");
  r.threshold = s.threshold.value_or(0);
  if (!s.threshold)
    for (const auto& d : DefaultRules())
      if (RuleKindName(d.kind) == r.kind) r.threshold = d.threshold;
  if (!s.threshold && r.kind == RuleKindName(RuleKind::kPerformance))
    r.threshold = PerformanceRule(0.1).threshold;  // the config's default degradation
  r.enabled = s.enabled.value_or(true);
  r.webhook_url = s.webhook_url.value_or("");
  std::string shown_secret;
  if (!r.webhook_url.empty()) {
    shown_secret = s.webhook_secret && !s.webhook_secret->empty() ? *s.webhook_secret
                                                                  : crypto::RandomToken(32);
    ASSIGN_OR_RETURN(r.webhook_secret_sealed, box_.Seal(shown_secret, r.id));
  }
  r.created_by = actor.username;
  r.created_at = r.updated_at = NowMillis();
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    if (s.monitor_id) {
      auto m = store::Monitors(tx).Get(*s.monitor_id);
      if (!m.ok())
        return InvalidArgument("monitor '" + *s.monitor_id + "' does not exist")
            .WithDetail("monitor_id", "no such monitor");
      r.monitor_id = m->id;
      r.project_id = m->project_id;
    }
    if (s.project) {
      auto p = store::Projects(tx).Get(*s.project);
      if (!p.ok())
        return InvalidArgument("project '" + *s.project + "' does not exist")
            .WithDetail("project", "no such project");
      if (!r.project_id.empty() && r.project_id != p->id)
        return InvalidArgument("the monitor belongs to another project")
            .WithDetail("project", "does not match the monitor's project");
      r.project_id = p->id;
    }
    RETURN_IF_ERROR(store::AlarmRules(tx).Insert(r));
    return audit::Append(tx,
                         {actor.username, "alarm_rule.create", "alarm_rule", r.id, actor.request_id,
                          nlohmann::json{{"name", r.name},
                                         {"kind", r.kind},
                                         {"threshold", r.threshold},
                                         {"monitor_id", r.monitor_id},
                                         {"project_id", r.project_id},
                                         {"webhook_url", r.webhook_url}}
                              .dump()});
  }));
  PublishRule(r);
  nlohmann::json out = RuleToJson(r);
  // Shown once, like an API token; stored sealed.
  if (!shown_secret.empty()) out["webhook_secret"] = shown_secret;
  return out;
}

Result<nlohmann::json> MonitorService::GetRule(const std::string& id) {
  store::AlarmRuleRecord r;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(r, store::AlarmRules(tx).Get(id));
    return Status::Ok();
  }));
  return RuleToJson(r);
}

Result<nlohmann::json> MonitorService::ListRules(const std::string& project,
                                                 const std::string& monitor_id,
                                                 const std::string& after, int limit) {
  std::string project_id;
  if (!project.empty()) {
    ASSIGN_OR_RETURN(project_id, ResolveProject(project));
  }
  std::vector<store::AlarmRuleRecord> list;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(list, store::AlarmRules(tx).List(project_id, monitor_id, after, limit));
    return Status::Ok();
  }));
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : list) items.push_back(RuleToJson(r));
  return nlohmann::json{
      {"items", items},
      {"last", static_cast<int>(list.size()) == limit ? list.back().id : std::string()}};
}

Result<nlohmann::json> MonitorService::UpdateRule(const Actor& actor, const std::string& id,
                                                  const nlohmann::json& body) {
  ASSIGN_OR_RETURN(RuleSpec s, ParseRule(body, false));
  if (s.webhook_url && !s.webhook_url->empty()) {
    auto checked = CheckUrl(*s.webhook_url, webhook_policy_);
    if (!checked.ok())
      return Status(checked.status()).WithDetail("webhook_url", checked.status().message());
  }
  store::AlarmRuleRecord r;
  std::string shown_secret;
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(r, store::AlarmRules(tx).Get(id));
    if (s.name) r.name = *s.name;
    if (s.threshold) {
      if ((r.kind == "drift_share" || r.kind == "error_rate") && *s.threshold > 1)
        return InvalidArgument("threshold is a share: must be between 0 and 1")
            .WithDetail("threshold", "must be between 0 and 1");
      r.threshold = *s.threshold;
    }
    if (s.enabled) r.enabled = *s.enabled;
    if (s.webhook_url) r.webhook_url = *s.webhook_url;
    if (r.webhook_url.empty()) {
      r.webhook_secret_sealed.clear();
    } else if (s.webhook_secret && !s.webhook_secret->empty()) {
      shown_secret = *s.webhook_secret;
    } else if (r.webhook_secret_sealed.empty()) {
      shown_secret = crypto::RandomToken(32);
    }
    if (!shown_secret.empty()) {
      ASSIGN_OR_RETURN(r.webhook_secret_sealed, box_.Seal(shown_secret, r.id));
    }
    r.updated_at = NowMillis();
    RETURN_IF_ERROR(store::AlarmRules(tx).Update(r));
    nlohmann::json changed = nlohmann::json::array();
    for (auto it = body.begin(); it != body.end(); ++it) changed.push_back(it.key());
    return audit::Append(tx, {actor.username, "alarm_rule.update", "alarm_rule", r.id,
                              actor.request_id, nlohmann::json{{"changed", changed}}.dump()});
  }));
  PublishRule(r);
  nlohmann::json out = RuleToJson(r);
  if (!shown_secret.empty()) out["webhook_secret"] = shown_secret;
  return out;
}

Status MonitorService::DeleteRule(const Actor& actor, const std::string& id) {
  return options_.store->Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto r, store::AlarmRules(tx).Get(id));
    RETURN_IF_ERROR(store::AlarmRules(tx).Delete(id));
    return audit::Append(tx,
                         {actor.username, "alarm_rule.delete", "alarm_rule", id, actor.request_id,
                          nlohmann::json{{"name", r.name}, {"kind", r.kind}}.dump()});
  });
}

Result<nlohmann::json> MonitorService::AckRule(const Actor& actor, const std::string& id,
                                               const nlohmann::json& body) {
  std::string comment;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() != "comment")
      return InvalidArgument("unknown field '" + it.key() + "'")
          .WithDetail(it.key(), "unknown field");
    if (!it->is_string() || it->get<std::string>().size() > 2000)
      return InvalidArgument("comment must be a string of at most 2000 bytes")
          .WithDetail("comment", "must be a string of at most 2000 bytes");
    comment = it->get<std::string>();
  }
  store::AlarmRuleRecord r;
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(r, store::AlarmRules(tx).Get(id));
    if (r.state != "ALARM")
      return Status(ErrorCode::kResourceConflict, "alarm rule '" + id + "' is " + r.state +
                                                      ": only an ALARM can be acknowledged");
    r.acknowledged_by = actor.username;
    r.acknowledged_at = NowMillis();
    RETURN_IF_ERROR(store::AlarmRules(tx).UpdateState(r));
    return audit::Append(tx, {actor.username, "alarm.ack", "alarm_rule", id, actor.request_id,
                              nlohmann::json{{"comment", comment}, {"state", r.state}}.dump()});
  }));
  return RuleToJson(r);
}

Result<nlohmann::json> MonitorService::ListAlerts(const std::string& rule_id,
                                                  const std::string& before, int limit) {
  std::vector<store::AlertRecord> list;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::AlarmRules(tx).Get(rule_id).status());
    ASSIGN_OR_RETURN(list, store::AlarmRules(tx).ListAlerts(rule_id, before, limit));
    return Status::Ok();
  }));
  nlohmann::json items = nlohmann::json::array();
  for (const auto& a : list) items.push_back(AlertToJson(a));
  return nlohmann::json{
      {"items", items},
      {"last", static_cast<int>(list.size()) == limit ? list.back().id : std::string()}};
}

}  // namespace studio::monitors
