#include "monitors/monitor_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/time_util.h"
#include "monitoring/drift.h"
#include "monitors/internal/data_sources.h"
#include "monitors/internal/performance_eval.h"
#include "monitors/internal/spec.h"
#include "monitors/schedule.h"
#include "monitors/serving_metrics.h"
#include "store/models_repo.h"
#include "store/projects_repo.h"

namespace studio::monitors {

using internal::MonitorToJson;
using internal::ReportToJson;

Result<std::unique_ptr<MonitorService>> MonitorService::Create(ServiceOptions options) {
  if (!options.store || !options.artifacts)
    return InvalidArgument("MonitorService needs a store and an artifact store");
  ASSIGN_OR_RETURN(SecretBox box, SecretBox::Open(options.data_dir));
  std::unique_ptr<EmfSink> emf;
  if (!options.emf_output.empty()) {
    ASSIGN_OR_RETURN(emf, EmfSink::Create(options.emf_output, options.emf_namespace));
  }
  std::unique_ptr<MonitorService> svc(new MonitorService(std::move(options), std::move(box)));
  if (svc->options_.registry) {
    auto prom = std::make_unique<PrometheusSink>(*svc->options_.registry);
    svc->prometheus_ = prom.get();
    svc->sinks_.Add(std::move(prom));
    svc->sink_ = &svc->sinks_;
  }
  if (emf) {
    svc->sinks_.Add(std::move(emf));
    svc->sink_ = &svc->sinks_;
  }
  svc->RestoreMetrics();
  if (svc->options_.scheduler) {
    MonitorService* self = svc.get();
    svc->scheduler_ = std::jthread([self](std::stop_token stop) { self->SchedulerLoop(stop); });
  }
  return svc;
}

MonitorService::MonitorService(ServiceOptions options, SecretBox box)
    : options_(std::move(options)), box_(std::move(box)) {
  webhook_policy_.allowed_hosts = options_.allowed_webhook_hosts;
  metrics_policy_.allowed_hosts = options_.allowed_webhook_hosts;
  metrics_policy_.allow_private = true;
}

MonitorService::~MonitorService() {
  if (scheduler_.joinable()) {
    scheduler_.request_stop();
    cv_.notify_all();
    scheduler_.join();
  }
}

Result<std::string> MonitorService::ResolveProject(const std::string& id_or_name) {
  std::string id;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    auto p = store::Projects(tx).Get(id_or_name);
    if (!p.ok()) return p.status();
    id = p->id;
    return Status::Ok();
  }));
  return id;
}

Status MonitorService::ProfileReference(store::MonitorRecord& m) {
  ASSIGN_OR_RETURN(auto opts_json, Result<nlohmann::json>(nlohmann::json::parse(m.options_json)));
  ASSIGN_OR_RETURN(auto opts, internal::DriftOptionsFromJson(opts_json));
  std::map<std::string, monitoring::ColumnKind> kinds;
  for (const auto& [name, ov] : opts.overrides)
    if (ov.kind) kinds[name] = *ov.kind;
  auto loaded = internal::LoadCsvArtifact(*options_.artifacts, m.reference_path, kinds);
  if (!loaded.ok()) {
    std::string why = loaded.status().code() == ErrorCode::kResourceDoesNotExist
                          ? "reference artifact '" + m.reference_path + "' does not exist"
                          : loaded.status().message();
    return InvalidArgument(why).WithDetail("reference.path", why);
  }
  auto profile = monitoring::BuildProfile(loaded->data, opts);
  if (!profile.ok())
    return InvalidArgument("cannot profile the reference: " + profile.status().message())
        .WithDetail("reference.path", profile.status().message());
  RETURN_IF_ERROR(ReferenceBaseline(m, loaded->data));
  m.profile_json = profile->ToJson();
  m.reference_rows = loaded->data.rows;
  m.reference_sha256 = loaded->sha256;
  return Status::Ok();
}

namespace {

// Applies the spec's fields to `m`; checks the references that need the store.
Status Apply(const internal::MonitorSpec& s, store::MonitorRecord& m, store::Tx& tx) {
  if (s.name) m.name = *s.name;
  if (s.description) m.description = *s.description;
  if (s.target_given) {
    m.model_name = s.model;
    m.model_version = s.version;
    m.deployment_id = s.deployment_id;
    if (!s.model.empty()) {
      store::Models models(tx);
      auto model = models.GetModel(s.model);
      if (!model.ok())
        return InvalidArgument("registered model '" + s.model + "' does not exist")
            .WithDetail("target.model", "no such registered model");
      char* end = nullptr;
      long long v = std::strtoll(s.version.c_str(), &end, 10);
      if (!end || *end != '\0' || v <= 0 || !models.GetVersion(*model, v).ok())
        return InvalidArgument("model '" + s.model + "' has no version '" + s.version + "'")
            .WithDetail("target.version", "no such version");
    }
  }
  if (s.reference_path) {
    auto norm = artifacts::NormalizeArtifactPath(*s.reference_path);
    if (!norm.ok()) return Status(norm.status()).WithDetail("reference.path", "invalid path");
    m.reference_path = *norm;
  }
  if (s.current_kind) m.current_kind = *s.current_kind;
  if (s.current_path) {
    auto norm = artifacts::NormalizeArtifactPath(*s.current_path);
    if (!norm.ok()) return Status(norm.status()).WithDetail("current.path", "invalid path");
    m.current_path = *norm;
  }
  if (s.schedule) {
    ASSIGN_OR_RETURN(int64_t secs, ParseSchedule(*s.schedule));
    m.schedule = secs ? *s.schedule : "manual";
    m.interval_seconds = secs;
    m.next_run_at = secs ? NowMillis() + secs * 1000 : 0;
  }
  if (!s.options.empty()) {
    nlohmann::json opts = nlohmann::json::parse(m.options_json, nullptr, false);
    if (!opts.is_object()) opts = nlohmann::json::object();
    for (auto it = s.options.begin(); it != s.options.end(); ++it) opts[it.key()] = it.value();
    m.options_json = opts.dump();
  }
  return Status::Ok();
}

// The "performance degradation" rule when the monitor has a performance config.
std::optional<DefaultRule> PerformanceDefault(const store::MonitorRecord& m) {
  auto opts = nlohmann::json::parse(m.options_json, nullptr, false);
  if (!opts.is_object() || !opts.contains("performance")) return std::nullopt;
  return PerformanceRule(internal::PerformanceConfigFromJson(opts["performance"]).degradation);
}

}  // namespace

Result<nlohmann::json> MonitorService::CreateMonitor(const Actor& actor,
                                                     const nlohmann::json& body) {
  ASSIGN_OR_RETURN(auto spec, internal::ParseMonitorBody(body, true));
  if (spec.metrics_url && !spec.metrics_url->empty()) {
    auto checked = CheckUrl(*spec.metrics_url, metrics_policy_);
    if (!checked.ok())
      return Status(checked.status()).WithDetail("metrics_url", checked.status().message());
  }
  auto project = ResolveProject(*spec.project);
  if (!project.ok())
    return InvalidArgument("project '" + *spec.project + "' does not exist")
        .WithDetail("project", "no such project");
  store::MonitorRecord m;
  m.id = NewUuidV7();
  m.project_id = *project;
  m.metrics_url = spec.metrics_url.value_or("");
  m.created_by = actor.username;
  m.created_at = m.updated_at = NowMillis();
  // Validate the references first (cheap), then profile the reference outside the write lock.
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) { return Apply(spec, m, tx); }));
  RETURN_IF_ERROR(ProfileReference(m));
  const std::string profiled_options = m.options_json;  // with the reference's baseline
  std::vector<store::AlarmRuleRecord> rules;
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(Apply(spec, m, tx));  // again: the model may have gone meanwhile
    m.options_json = profiled_options;
    RETURN_IF_ERROR(store::Monitors(tx).Insert(m));
    auto defaults = DefaultRules();
    if (auto perf = PerformanceDefault(m)) defaults.push_back(*perf);
    for (const auto& d : defaults) {
      store::AlarmRuleRecord r;
      r.id = NewUuidV7();
      r.project_id = m.project_id;
      r.monitor_id = m.id;
      r.name = d.name;
      r.kind = std::string(RuleKindName(d.kind));
      r.threshold = d.threshold;
      r.created_by = actor.username;
      r.created_at = r.updated_at = m.created_at;
      RETURN_IF_ERROR(store::AlarmRules(tx).Insert(r));
      rules.push_back(r);
    }
    nlohmann::json details = {{"name", m.name},
                              {"project_id", m.project_id},
                              {"reference", m.reference_path},
                              {"reference_sha256", m.reference_sha256},
                              {"current", m.current_kind + ":" + m.current_path},
                              {"schedule", m.schedule},
                              {"default_rules", rules.size()}};
    return audit::Append(
        tx, {actor.username, "monitor.create", "monitor", m.id, actor.request_id, details.dump()});
  }));
  for (const auto& r : rules) PublishRule(r);
  cv_.notify_all();
  return MonitorToJson(m);
}

Result<nlohmann::json> MonitorService::GetMonitor(const std::string& id) {
  store::MonitorRecord m;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(m, store::Monitors(tx).Get(id));
    return Status::Ok();
  }));
  return MonitorToJson(m);
}

Result<nlohmann::json> MonitorService::ListMonitors(const std::string& project,
                                                    const std::string& after, int limit) {
  std::string project_id;
  if (!project.empty()) {
    ASSIGN_OR_RETURN(project_id, ResolveProject(project));
  }
  std::vector<store::MonitorRecord> list;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(list, store::Monitors(tx).List(project_id, after, limit));
    return Status::Ok();
  }));
  nlohmann::json items = nlohmann::json::array();
  for (const auto& m : list) items.push_back(MonitorToJson(m));
  return nlohmann::json{
      {"items", items},
      {"last", static_cast<int>(list.size()) == limit ? list.back().id : std::string()}};
}

Result<nlohmann::json> MonitorService::UpdateMonitor(const Actor& actor, const std::string& id,
                                                     const nlohmann::json& body) {
  ASSIGN_OR_RETURN(auto spec, internal::ParseMonitorBody(body, false));
  if (spec.metrics_url && !spec.metrics_url->empty()) {
    auto checked = CheckUrl(*spec.metrics_url, metrics_policy_);
    if (!checked.ok())
      return Status(checked.status()).WithDetail("metrics_url", checked.status().message());
  }
  store::MonitorRecord m;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(m, store::Monitors(tx).Get(id));
    return Apply(spec, m, tx);
  }));
  if (spec.metrics_url) m.metrics_url = *spec.metrics_url;
  // A new reference, or options that change how it is read, mean a new profile.
  bool reprofile = spec.reference_path || spec.options.contains("features") ||
                   spec.options.contains("columns") || spec.options.contains("method") ||
                   spec.options.contains("performance");
  if (reprofile) RETURN_IF_ERROR(ProfileReference(m));
  m.updated_at = NowMillis();
  std::vector<store::AlarmRuleRecord> added_rules;
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto current, store::Monitors(tx).Get(id));
    (void)current;
    RETURN_IF_ERROR(store::Monitors(tx).Update(m));
    // A performance config given later brings its default rule (once).
    if (auto perf = PerformanceDefault(m)) {
      ASSIGN_OR_RETURN(auto existing, store::AlarmRules(tx).List("", m.id, "", 1000));
      bool has = std::any_of(existing.begin(), existing.end(),
                             [](const auto& r) { return r.kind == "performance"; });
      if (!has) {
        store::AlarmRuleRecord r;
        r.id = NewUuidV7();
        r.project_id = m.project_id;
        r.monitor_id = m.id;
        r.name = perf->name;
        r.kind = std::string(RuleKindName(perf->kind));
        r.threshold = perf->threshold;
        r.created_by = actor.username;
        r.created_at = r.updated_at = m.updated_at;
        RETURN_IF_ERROR(store::AlarmRules(tx).Insert(r));
        added_rules.push_back(r);
      }
    }
    nlohmann::json changed = nlohmann::json::array();
    for (auto it = body.begin(); it != body.end(); ++it) changed.push_back(it.key());
    nlohmann::json details = {{"changed", changed}, {"reprofiled", reprofile}};
    if (reprofile) details["reference_sha256"] = m.reference_sha256;
    return audit::Append(
        tx, {actor.username, "monitor.update", "monitor", m.id, actor.request_id, details.dump()});
  }));
  for (const auto& r : added_rules) PublishRule(r);
  cv_.notify_all();
  return MonitorToJson(m);
}

Status MonitorService::DeleteMonitor(const Actor& actor, const std::string& id) {
  return options_.store->Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto m, store::Monitors(tx).Get(id));
    RETURN_IF_ERROR(store::Monitors(tx).Delete(id));
    return audit::Append(tx, {actor.username, "monitor.delete", "monitor", id, actor.request_id,
                              nlohmann::json{{"name", m.name}}.dump()});
  });
}

Observation MonitorService::ServingObservation(const store::MonitorRecord& m) {
  Observation obs;
  if (m.metrics_url.empty()) {
    obs.metrics_error = "no serving metrics endpoint configured (metrics_url)";
    return obs;
  }
  auto target = CheckUrl(m.metrics_url, metrics_policy_);
  if (!target.ok()) {
    obs.metrics_error = target.status().message();
    return obs;
  }
  auto res = HttpGet(*target, options_.metrics_timeout_ms, 8u << 20);
  if (!res.ok()) {
    obs.metrics_error = res.status().message();
    return obs;
  }
  if (res->status != 200) {
    obs.metrics_error = "metrics endpoint answered HTTP " + std::to_string(res->status);
    return obs;
  }
  auto stats = ParseServingMetrics(res->body);
  if (!stats.ok()) {
    obs.metrics_error = stats.status().message();
    return obs;
  }
  obs.latency_p99_s = stats->p99_seconds;
  obs.error_rate = stats->error_rate;
  if (!stats->p99_seconds || !stats->error_rate) obs.metrics_error = "no requests served yet";
  return obs;
}

Result<nlohmann::json> MonitorService::ListReports(const std::string& monitor_id,
                                                   const std::string& before, int limit) {
  std::vector<store::DriftReportRecord> list;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::Monitors(tx).Get(monitor_id).status());
    ASSIGN_OR_RETURN(list, store::Monitors(tx).ListReports(monitor_id, before, limit));
    return Status::Ok();
  }));
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : list) items.push_back(ReportToJson(r, false));
  return nlohmann::json{
      {"items", items},
      {"last", static_cast<int>(list.size()) == limit ? list.back().id : std::string()}};
}

Result<nlohmann::json> MonitorService::GetReport(const std::string& monitor_id,
                                                 const std::string& report_id) {
  store::DriftReportRecord r;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::Monitors(tx).Get(monitor_id).status());
    ASSIGN_OR_RETURN(r, store::Monitors(tx).GetReport(monitor_id, report_id));
    return Status::Ok();
  }));
  return ReportToJson(r, true);
}

Result<nlohmann::json> MonitorService::FeatureSeries(const std::string& monitor_id,
                                                     const std::string& feature, int64_t since,
                                                     int limit) {
  std::vector<store::FeatureScoreRecord> scores;
  RETURN_IF_ERROR(options_.store->Read([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::Monitors(tx).Get(monitor_id).status());
    ASSIGN_OR_RETURN(scores, store::Monitors(tx).Scores(monitor_id, feature, since, limit));
    return Status::Ok();
  }));
  std::map<std::string, nlohmann::json> by_feature;
  for (const auto& s : scores) {
    auto& f = by_feature[s.feature];
    if (f.is_null()) f = {{"feature", s.feature}, {"points", nlohmann::json::array()}};
    f["method"] = s.method;  // the latest method used
    f["points"].push_back({{"report_id", s.report_id},
                           {"ts", FormatRfc3339(s.created_at)},
                           {"method", s.method},
                           {"score", s.score},
                           {"threshold", s.threshold},
                           {"drift", s.drifted}});
  }
  nlohmann::json items = nlohmann::json::array();
  for (auto& [_, f] : by_feature) items.push_back(std::move(f));
  return nlohmann::json{{"items", items}};
}

int MonitorService::RunDue() {
  std::vector<store::MonitorRecord> due;
  int64_t now = NowMillis();
  Status st = options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(due, store::Monitors(tx).Due(now, 16));
    return Status::Ok();
  });
  if (!st.ok()) {
    log::Warn("monitor scheduler: cannot list due monitors", {{"error", st.message()}});
    return 0;
  }
  int ran = 0;
  for (const auto& m : due) {
    if (scheduler_.get_stop_token().stop_requested()) break;
    // Claim the slot first, so replicas sharing a PostgreSQL store run each check once.
    bool claimed = false;
    st = options_.store->Write([&](store::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(claimed, store::Monitors(tx).ClaimRun(m.id, m.next_run_at,
                                                             now + m.interval_seconds * 1000));
      return Status::Ok();
    });
    if (!st.ok() || !claimed) continue;
    auto res = RunMonitor({"system", "scheduler-" + NewUuidV7()}, m.id, "schedule");
    if (!res.ok())
      log::Warn("scheduled monitor check failed",
                {{"monitor", m.id}, {"error", res.status().message()}});
    ++ran;
  }
  return ran;
}

void MonitorService::SchedulerLoop(std::stop_token stop) {
  log::Info("monitor scheduler started", {{"tick_ms", options_.scheduler_tick_ms}});
  while (!stop.stop_requested()) {
    RunDue();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, stop, std::chrono::milliseconds(options_.scheduler_tick_ms),
                 [] { return false; });
  }
}

}  // namespace studio::monitors
