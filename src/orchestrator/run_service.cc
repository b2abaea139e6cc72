#include "orchestrator/run_service.h"

#include <soci/soci.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "orchestrator/dag.h"
#include "pipelines/service.h"
#include "pipelines/spec.h"
#include "store/projects_repo.h"
#include "store/runs_repo.h"
#include "store/users_repo.h"

namespace studio::orchestrator {
namespace {

using nlohmann::json;

std::string Ts(int64_t ms) { return ms ? FormatRfc3339(ms) : std::string(); }
json TsOrNull(int64_t ms) { return ms ? json(FormatRfc3339(ms)) : json(nullptr); }

json SpecJson(const store::PipelineSpecRecord& s, const std::string& project, bool with_yaml) {
  json j = {{"project", project},         {"name", s.name},
            {"version", s.version},       {"spec_hash", s.spec_hash},
            {"created_by", s.created_by}, {"created_at", Ts(s.created_at)}};
  if (with_yaml) j["spec_yaml"] = s.spec_yaml;
  return j;
}

json AttemptJson(const store::StageAttemptRecord& a) {
  return {{"attempt", a.attempt},
          {"status", a.status},
          {"claimed_by", a.claimed_by},
          {"started_at", TsOrNull(a.started_at)},
          {"finished_at", TsOrNull(a.finished_at)},
          {"duration_ms", a.finished_at ? json(a.duration_ms) : json(nullptr)},
          {"exit_code", a.finished_at && a.exit_code >= 0 ? json(a.exit_code) : json(nullptr)},
          {"error", a.error},
          {"log_path", a.log_path}};
}

json StageJson(const store::StageRunRecord& s, const std::vector<store::StageAttemptRecord>& all) {
  json attempts = json::array();
  for (const auto& a : all)
    if (a.stage_id == s.stage_id) attempts.push_back(AttemptJson(a));
  json outputs = json::parse(s.outputs_json, nullptr, false);
  if (outputs.is_discarded()) outputs = json::object();
  json needs = json::parse(s.needs_json, nullptr, false);
  if (!needs.is_array()) needs = json::array();
  int64_t duration = s.finished_at && s.started_at ? s.finished_at - s.started_at : 0;
  return {{"id", s.stage_id},
          {"type", s.type},
          {"needs", needs},
          {"status", s.status},
          {"attempt", s.attempt},
          {"max_attempts", s.max_attempts},
          {"next_attempt_at", s.status == "queued" ? TsOrNull(s.next_attempt_at) : json(nullptr)},
          {"claimed_by", s.claimed_by},
          {"started_at", TsOrNull(s.started_at)},
          {"finished_at", TsOrNull(s.finished_at)},
          {"duration_ms", s.finished_at && s.started_at ? json(duration) : json(nullptr)},
          {"exit_code", s.finished_at && s.exit_code >= 0 ? json(s.exit_code) : json(nullptr)},
          {"error", s.error},
          {"outputs", outputs},
          {"attempts", attempts}};
}

json RunJson(const store::PipelineRunRecord& r, const std::string& project) {
  int64_t end = r.finished_at ? r.finished_at : 0;
  return {{"id", r.id},
          {"project", project},
          {"project_id", r.project_id},
          {"pipeline", r.pipeline},
          {"version", r.pipeline_version},
          {"status", r.status},
          {"executor", r.executor},
          {"execution_handle", r.execution_handle},
          {"requested_by", r.requested_by},
          {"git_sha", r.git_sha},
          {"noop", r.noop},
          {"cancel_requested", r.cancel_requested},
          {"created_at", Ts(r.created_at)},
          {"started_at", TsOrNull(r.started_at)},
          {"finished_at", TsOrNull(r.finished_at)},
          {"duration_ms", end ? json(end - r.created_at) : json(nullptr)},
          {"error", r.error}};
}

// The spec must validate with the project's policy and its node locks.
Result<pipelines::PipelineSpec> CheckSpec(store::MetadataStore& store, const std::string& yaml) {
  pipelines::PipelineService svc(store);
  ASSIGN_OR_RETURN(json v, svc.Validate(yaml));
  if (!v.value("valid", false)) {
    const json& errors = v["errors"];
    std::string first = errors.empty() ? "invalid" : errors[0].value("message", "invalid");
    Status st = InvalidArgument("the spec does not validate: " + first);
    for (const auto& e : errors) {
      std::string where = e.value("line", 0) ? "line " + std::to_string(e.value("line", 0)) + ":" +
                                                   std::to_string(e.value("column", 0)) + ": "
                                             : "";
      st.WithDetail(e.value("path", "spec").empty() ? "spec" : "spec." + e.value("path", ""),
                    where + e.value("message", ""));
    }
    return st;
  }
  pipelines::ValidateOptions o;
  o.allow_command_stages = true;  // the policy was applied above
  return pipelines::ValidateSpec(yaml, o).spec;
}

// Registers `yaml` as the next version of its pipeline unless it equals the latest.
Result<store::PipelineSpecRecord> Register(store::Tx& tx, const auth::Actor& actor,
                                           const store::ProjectRecord& proj,
                                           const std::string& name, const std::string& yaml,
                                           bool* created) {
  store::Runs runs(tx);
  std::string hash = crypto::Sha256Hex(yaml);
  auto latest = runs.GetSpec(proj.id, name, 0);
  *created = false;
  if (latest.ok() && latest->spec_hash == hash) return *latest;
  store::PipelineSpecRecord s;
  s.project_id = proj.id;
  s.name = name;
  s.version = latest.ok() ? latest->version + 1 : 1;
  s.spec_yaml = yaml;
  s.spec_hash = hash;
  s.created_by = actor.username;
  s.created_at = NowMillis();
  RETURN_IF_ERROR(runs.InsertSpec(s));
  json details = {
      {"project", proj.name}, {"pipeline", name}, {"version", s.version}, {"spec_hash", hash}};
  RETURN_IF_ERROR(audit::Append(tx, {actor.username, "pipeline.register", "pipeline",
                                     proj.name + "/" + name, actor.request_id, details.dump()}));
  *created = true;
  return s;
}

}  // namespace

Result<json> RunService::RegisterSpec(const auth::Actor& actor, const std::string& project,
                                      const std::string& yaml) {
  ASSIGN_OR_RETURN(pipelines::PipelineSpec spec, CheckSpec(store_, yaml));
  json out;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    if (spec.project != proj.name && spec.project != proj.id)
      return InvalidArgument("the spec belongs to project '" + spec.project + "', not '" +
                             proj.name + "'")
          .WithDetail("spec.metadata.project", "must be " + proj.name);
    bool created = false;
    ASSIGN_OR_RETURN(auto rec, Register(tx, actor, proj, spec.name, yaml, &created));
    out = SpecJson(rec, proj.name, true);
    out["created"] = created;
    return Status::Ok();
  }));
  return out;
}

Result<json> RunService::ListSpecs(const std::string& project) {
  json items = json::array();
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(auto specs, store::Runs(tx).ListSpecs(proj.id, ""));
    for (const auto& s : specs) items.push_back(SpecJson(s, proj.name, false));
    return Status::Ok();
  }));
  return json{{"items", items}};
}

Result<json> RunService::ListSpecVersions(const std::string& project, const std::string& name) {
  json items = json::array();
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(auto specs, store::Runs(tx).ListSpecs(proj.id, name));
    if (specs.empty()) return NotFound("pipeline '" + name + "' is not registered in this project");
    for (const auto& s : specs) items.push_back(SpecJson(s, proj.name, false));
    return Status::Ok();
  }));
  return json{{"items", items}};
}

Result<json> RunService::GetSpec(const std::string& project, const std::string& name, int version) {
  json out;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(auto s, store::Runs(tx).GetSpec(proj.id, name, version));
    out = SpecJson(s, proj.name, true);
    return Status::Ok();
  }));
  return out;
}

Result<json> RunService::StartRun(const auth::Actor& actor, const StartRequest& req) {
  if (req.executor != "local" && req.executor != "aws")
    return InvalidArgument("executor must be local or aws").WithDetail("executor", "local | aws");
  if (req.executor == "aws" && !notify_remote_)
    return Status(ErrorCode::kNotImplemented,
                  "executor 'aws' (Step Functions) is not configured on this control plane "
                  "(STUDIO_SFN_STATE_MACHINE_ARN)");
  if (req.spec_yaml.empty() == req.pipeline.empty())
    return InvalidArgument("give either pipeline (a registered pipeline) or spec (YAML text)")
        .WithDetail(req.pipeline.empty() ? "pipeline" : "spec", "exactly one of pipeline, spec");
  if (req.git_sha.size() > 64)
    return InvalidArgument("git_sha is too long").WithDetail("git_sha", "at most 64 characters");

  std::string yaml = req.spec_yaml;
  if (yaml.empty()) {
    // A registered version: still checked against today's locks and policy.
    RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(req.project));
      ASSIGN_OR_RETURN(auto s, store::Runs(tx).GetSpec(proj.id, req.pipeline, req.version));
      yaml = s.spec_yaml;
      return Status::Ok();
    }));
  }
  ASSIGN_OR_RETURN(pipelines::PipelineSpec spec, CheckSpec(store_, yaml));

  store::PipelineRunRecord run;
  run.id = NewUuidV7();
  run.pipeline = spec.name;
  run.spec_yaml = yaml;
  run.status = "queued";
  run.executor = req.executor;
  run.requested_by = actor.username;
  run.git_sha = req.git_sha;
  run.noop = req.noop;
  run.created_at = NowMillis();
  std::vector<store::StageRunRecord> stages;
  std::vector<StageState> states;
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    const auto& s = spec.stages[i];
    store::StageRunRecord r;
    r.stage_id = s.id;
    r.position = static_cast<int>(i);
    r.type = s.type;
    r.needs_json = json(s.needs).dump();
    r.status = "pending";
    r.max_attempts = static_cast<int>(s.retry.max_attempts);
    stages.push_back(r);
    states.push_back({s.id, s.needs, "pending"});
  }
  // The stages without needs are ready at once: the scheduler claims them on its next pass.
  // (Remote runs: the execution decides; the stages wait for its updates.)
  Plan plan = req.executor == "local" ? PlanRun(states, false) : Plan{};
  for (const auto& t : plan.transitions)
    for (auto& r : stages)
      if (r.stage_id == t.stage_id && t.to == "queued") {
        r.status = "queued";
        r.next_attempt_at = run.created_at;
      }
  std::string project_name;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj,
                     store::Projects(tx).Get(req.project.empty() ? spec.project : req.project));
    if (spec.project != proj.name && spec.project != proj.id)
      return InvalidArgument("the spec belongs to project '" + spec.project + "', not '" +
                             proj.name + "'")
          .WithDetail("project", "must match the spec's metadata.project");
    project_name = proj.name;
    run.project_id = proj.id;
    if (!req.spec_yaml.empty()) {
      bool created = false;
      ASSIGN_OR_RETURN(auto rec, Register(tx, actor, proj, spec.name, yaml, &created));
      run.pipeline_version = rec.version;
    } else {
      ASSIGN_OR_RETURN(auto rec, store::Runs(tx).GetSpec(proj.id, req.pipeline, req.version));
      run.pipeline_version = rec.version;
    }
    RETURN_IF_ERROR(store::Runs(tx).InsertRun(run, stages));
    json details = {
        {"project", proj.name},     {"pipeline", run.pipeline}, {"version", run.pipeline_version},
        {"executor", run.executor}, {"git_sha", run.git_sha},   {"noop", run.noop}};
    return audit::Append(tx, {actor.username, "pipeline.run.start", "pipeline_run", run.id,
                              actor.request_id, details.dump()});
  }));
  if (run.executor == "aws") {
    if (notify_remote_) notify_remote_();
  } else if (notify_) {
    notify_(run.id);
  }
  return GetRun(run.id);
}

Result<json> RunService::ListRuns(const std::string& project, const std::string& status,
                                  const std::string& after, int limit) {
  static const std::vector<std::string> kStatuses = {"queued", "running", "succeeded", "failed",
                                                     "cancelled"};
  if (!status.empty() && std::find(kStatuses.begin(), kStatuses.end(), status) == kStatuses.end())
    return InvalidArgument("status must be one of queued, running, succeeded, failed, cancelled")
        .WithDetail("status", "queued | running | succeeded | failed | cancelled");
  json items = json::array();
  std::string last;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::RunFilter f;
    f.status = status;
    std::map<std::string, std::string> names;
    if (!project.empty()) {
      ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
      f.project_id = proj.id;
      names[proj.id] = proj.name;
    }
    ASSIGN_OR_RETURN(auto rows, store::Runs(tx).ListRuns(f, after, limit));
    for (const auto& r : rows) {
      if (!names.count(r.project_id)) {
        auto p = store::Projects(tx).Get(r.project_id);
        names[r.project_id] = p.ok() ? p->name : "";
      }
      items.push_back(RunJson(r, names[r.project_id]));
    }
    if (static_cast<int>(rows.size()) == limit) last = rows.back().id;
    return Status::Ok();
  }));
  return json{{"items", items}, {"last", last}};
}

Result<json> RunService::GetRun(const std::string& id) {
  json out;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    ASSIGN_OR_RETURN(auto r, runs.GetRun(id));
    auto p = store::Projects(tx).Get(r.project_id);
    out = RunJson(r, p.ok() ? p->name : "");
    out["spec_yaml"] = r.spec_yaml;
    ASSIGN_OR_RETURN(auto stages, runs.ListStages(id));
    ASSIGN_OR_RETURN(auto attempts, runs.ListAttempts(id));
    json js = json::array();
    for (const auto& s : stages) js.push_back(StageJson(s, attempts));
    out["stages"] = js;
    return Status::Ok();
  }));
  return out;
}

Result<json> RunService::Cancel(const auth::Actor& actor, const std::string& id) {
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    ASSIGN_OR_RETURN(auto r, runs.GetRun(id));
    if (r.terminal())
      return Status(ErrorCode::kResourceConflict, "run '" + id + "' already " + r.status);
    if (r.cancel_requested) return Status::Ok();
    RETURN_IF_ERROR(runs.SetCancelRequested(id));
    // Stages not started are cancelled now; running ones when the executor killed them.
    int64_t now = NowMillis();
    bool any_running = false;
    ASSIGN_OR_RETURN(auto stages, runs.ListStages(id));
    for (auto s : stages) {
      if (s.status == "running") any_running = true;
      if (s.status != "pending" && s.status != "queued") continue;
      std::string from = s.status;
      s.status = "cancelled";
      s.finished_at = now;
      s.error = "the run was cancelled";
      RETURN_IF_ERROR(runs.UpdateStage(s, from).status());
    }
    if (!any_running)
      RETURN_IF_ERROR(
          runs.SetRunStatus(id, {"queued", "running"}, "cancelled", now, "cancelled").status());
    json details = {{"pipeline", r.pipeline}, {"status_before", r.status}};
    return audit::Append(tx, {actor.username, "pipeline.run.cancel", "pipeline_run", id,
                              actor.request_id, details.dump()});
  }));
  if (notify_) notify_(id);
  if (notify_remote_) notify_remote_();
  return GetRun(id);
}

Status RunService::ReportStage(const std::string& run_id, const std::string& stage_id,
                               const std::string& bearer, const Report& rep) {
  if (rep.status != "succeeded" && rep.status != "failed")
    return InvalidArgument("status must be succeeded or failed")
        .WithDetail("status", "succeeded | failed");
  if (!rep.outputs.is_object())
    return InvalidArgument("outputs must be an object").WithDetail("outputs", "must be an object");
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    ASSIGN_OR_RETURN(auto a, runs.GetAttempt(run_id, stage_id, rep.attempt));
    auto token = store::ApiTokens(tx).GetByHash(crypto::Sha256Hex(bearer));
    if (a.token_id.empty() || !token.ok() || token->id != a.token_id)
      return Status(ErrorCode::kPermissionDenied,
                    "only the stage attempt's own process may report its outcome");
    if (a.status != "running" || a.reported)
      return Status(ErrorCode::kResourceConflict,
                    "attempt " + std::to_string(rep.attempt) + " is no longer running");
    a.reported = true;
    a.outputs_json = rep.outputs.dump();
    a.error = rep.status == "failed" ? (rep.error.empty() ? "the stage failed" : rep.error) : "";
    return runs.UpdateAttempt(a);
  });
}

Status RunService::CheckLog(const std::string& run_id, const std::string& stage_id, int attempt) {
  return store_.Read([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    RETURN_IF_ERROR(runs.GetRun(run_id).status());
    ASSIGN_OR_RETURN(auto s, runs.GetStage(run_id, stage_id));
    int n = attempt > 0 ? attempt : s.attempt;
    if (n == 0) return NotFound("stage '" + stage_id + "' has not started yet");
    return runs.GetAttempt(run_id, stage_id, n).status();
  });
}

Status RunService::StreamLog(const std::string& run_id, const std::string& stage_id, int attempt,
                             bool follow, const std::function<bool(std::string_view)>& write) {
  int n = attempt;
  store::StageAttemptRecord a;
  auto load = [&]() -> Status {
    return store_.Read([&](store::Tx& tx) -> Status {
      store::Runs runs(tx);
      if (n == 0) {
        ASSIGN_OR_RETURN(auto s, runs.GetStage(run_id, stage_id));
        n = s.attempt;
      }
      ASSIGN_OR_RETURN(a, runs.GetAttempt(run_id, stage_id, n));
      return Status::Ok();
    });
  };
  RETURN_IF_ERROR(load());
  int64_t sent = 0;
  bool client_gone = false;
  // The stored artifact from byte `sent` on; the local file while it is not stored (yet).
  auto from_local = [&]() -> bool {
    if (a.log_local.empty()) return true;
    std::ifstream in(a.log_local, std::ios::binary);
    if (!in) return true;
    in.seekg(sent);
    char buf[16384];
    while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
      std::string_view chunk(buf, static_cast<size_t>(in.gcount()));
      sent += static_cast<int64_t>(chunk.size());
      if (!write(chunk)) return false;
    }
    return true;
  };
  auto from_artifact = [&]() -> Status {
    // The scheduler stores the log just after the attempt ends, then drops the local file.
    for (int i = 0; i < 20; ++i) {
      if (artifacts_ && !a.log_path.empty() && artifacts_->Stat(a.log_path).ok()) break;
      if (!a.log_local.empty() && std::ifstream(a.log_local).good()) {
        from_local();
        return Status::Ok();
      }
      if (!artifacts_ || a.log_path.empty()) return Status::Ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    int64_t skip = sent;
    return artifacts_->Get(a.log_path, [&](std::string_view chunk) -> Status {
      if (skip >= static_cast<int64_t>(chunk.size())) {
        skip -= static_cast<int64_t>(chunk.size());
        return Status::Ok();
      }
      chunk.remove_prefix(static_cast<size_t>(skip));
      skip = 0;
      sent += static_cast<int64_t>(chunk.size());
      if (!write(chunk)) {
        client_gone = true;
        return Status(ErrorCode::kBadRequest, "client went away");
      }
      return Status::Ok();
    });
  };
  if (a.status != "running") {
    Status st = from_artifact();
    return client_gone ? Status::Ok() : st;
  }
  auto last_check = std::chrono::steady_clock::now();
  for (;;) {
    if (!from_local()) return Status::Ok();
    if (!follow) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - last_check < std::chrono::milliseconds(300)) continue;
    last_check = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(load());
    if (a.status == "running") continue;
    // Ended: whatever is left, from the artifact when it was stored, else the local file.
    Status st = from_artifact();
    return client_gone ? Status::Ok() : st;
  }
}

}  // namespace studio::orchestrator
