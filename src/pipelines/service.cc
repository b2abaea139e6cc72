#include "pipelines/service.h"

#include <map>

#include "audit/audit_log.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "store/projects_repo.h"

namespace studio::pipelines {
namespace {

std::string LockPath(const std::string& project, const std::string& pipeline,
                     const std::string& stage) {
  return "/api/v1/pipelines/" + project + "/" + pipeline + "/stages/" + stage;
}

Status BadSpec(const Validation& v) {
  Status st = InvalidArgument("the spec does not validate: " + FormatProblem("spec", v.errors[0]));
  for (const auto& p : v.errors)
    st.WithDetail(p.path.empty() ? "spec" : p.path,
                  (p.line ? "line " + std::to_string(p.line) + ":" + std::to_string(p.column) + ": "
                          : std::string()) +
                      p.message);
  return st;
}

Status CheckName(const std::string& field, const std::string& value) {
  if (value.empty() || value.size() > 63)
    return InvalidArgument(field + " must be 1-63 characters");
  return Status::Ok();
}

}  // namespace

void ApplyLocks(Validation& v, const std::vector<store::PipelineLockRecord>& locks) {
  std::map<std::string, const StageSpec*> stages;
  for (const auto& s : v.spec.stages)
    if (!s.id.empty()) stages.emplace(s.id, &s);
  std::map<std::string, const store::PipelineLockRecord*> by_stage;
  for (const auto& l : locks) by_stage[l.stage_id] = &l;
  for (const auto& l : locks) {
    auto it = stages.find(l.stage_id);
    std::string unlock = "unlock approved by " + l.unlock_approved_by;
    if (it == stages.end()) {
      if (l.unlocked())
        v.warnings.push_back("locked stage '" + l.stage_id + "' was removed (" + unlock + ")");
      else
        v.errors.push_back({"spec.stages", 0, 0,
                            "locked stage '" + l.stage_id + "' (locked by " + l.locked_by +
                                ") was removed; removing it needs an approved unlock"});
      continue;
    }
    const StageSpec& s = *it->second;
    if (s.hash == l.hash) continue;
    auto before = nlohmann::json::parse(l.definition_json, nullptr, false);
    std::vector<std::string> changed = ChangedFields(before, s.definition);
    std::string fields = changed.empty() ? "definition" : Join(changed, ", ");
    if (l.unlocked()) {
      v.warnings.push_back("stage '" + s.id + "' changed (" + fields + ") under an " + unlock);
    } else {
      v.errors.push_back({s.path, s.line, s.column,
                          "stage '" + s.id + "' is locked (by " + l.locked_by +
                              ") and its definition changed: " + fields +
                              "; changing it needs an approved unlock (POST " +
                              LockPath(v.spec.project, v.spec.name, s.id) + "/unlock)"});
    }
  }
  for (const auto& s : v.spec.stages)
    if (s.locked && !s.id.empty() && !by_stage.count(s.id))
      v.errors.push_back({s.path + ".locked", s.line, s.column,
                          "stage '" + s.id +
                              "' is marked locked but the control plane has no lock for it "
                              "(admin or production_team: POST " +
                              LockPath(v.spec.project, v.spec.name, s.id) + "/lock)"});
}

nlohmann::json ValidationJson(const Validation& v,
                              const std::vector<store::PipelineLockRecord>& locks) {
  std::map<std::string, const store::PipelineLockRecord*> by_stage;
  for (const auto& l : locks) by_stage[l.stage_id] = &l;
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : v.spec.stages) {
    auto it = by_stage.find(s.id);
    std::string lock = it == by_stage.end()     ? "none"
                       : it->second->unlocked() ? "unlocked"
                                                : "locked";
    stages.push_back({{"id", s.id},
                      {"type", s.type},
                      {"hash", s.hash},
                      {"locked", s.locked || lock == "locked"},
                      {"lock", lock}});
  }
  nlohmann::json warnings = v.warnings;
  return {{"valid", v.valid()},
          {"pipeline", v.spec.name},
          {"project", v.spec.project},
          {"canonical", v.spec.canonical},
          {"errors", ProblemsJson(v.errors)},
          {"warnings", warnings},
          {"stages", stages}};
}

nlohmann::json LockJson(const store::PipelineLockRecord& l, const std::string& project_name) {
  nlohmann::json j = {{"project", project_name},
                      {"pipeline", l.pipeline},
                      {"stage", l.stage_id},
                      {"hash", l.hash},
                      {"definition", nlohmann::json::parse(l.definition_json, nullptr, false)},
                      {"status", l.unlocked() ? "unlocked" : "locked"},
                      {"locked_by", l.locked_by},
                      {"locked_at", FormatRfc3339(l.locked_at)},
                      {"unlock", nullptr}};
  if (l.unlocked())
    j["unlock"] = {{"approved_by", l.unlock_approved_by},
                   {"reason", l.unlock_reason},
                   {"approved_at", FormatRfc3339(l.unlocked_at)}};
  return j;
}

Result<nlohmann::json> PipelineService::Validate(const std::string& yaml_text) {
  ValidateOptions first;
  first.allow_command_stages = true;
  first.command_policy_known = false;
  Validation v = ValidateSpec(yaml_text, first);
  std::vector<store::PipelineLockRecord> locks;
  if (!v.parsed || v.spec.project.empty() || v.spec.name.empty()) return ValidationJson(v, locks);
  bool project_found = false;
  store::PipelinePolicyRecord policy;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    auto p = store::Projects(tx).Get(v.spec.project);
    if (!p.ok()) return Status::Ok();
    project_found = true;
    ASSIGN_OR_RETURN(policy, store::Pipelines(tx).GetPolicy(p->id));
    ASSIGN_OR_RETURN(locks, store::Pipelines(tx).ListLocks(p->id, v.spec.name));
    return Status::Ok();
  }));
  ValidateOptions o;
  o.allow_command_stages = project_found && policy.allow_command_stages;
  v = ValidateSpec(yaml_text, o);
  if (!project_found)
    v.errors.push_back(
        {"metadata.project", 0, 0, "no project named '" + v.spec.project + "' on this server"});
  ApplyLocks(v, locks);
  return ValidationJson(v, locks);
}

Result<nlohmann::json> PipelineService::Lock(const auth::Actor& actor, const std::string& project,
                                             const std::string& pipeline, const std::string& stage,
                                             const std::string& yaml_text) {
  RETURN_IF_ERROR(CheckName("pipeline", pipeline));
  RETURN_IF_ERROR(CheckName("stage", stage));
  store::ProjectRecord proj;
  store::PipelinePolicyRecord policy;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(policy, store::Pipelines(tx).GetPolicy(proj.id));
    return Status::Ok();
  }));
  ValidateOptions o;
  o.allow_command_stages = policy.allow_command_stages;
  Validation v = ValidateSpec(yaml_text, o);
  if (!v.valid()) return BadSpec(v);
  if (v.spec.project != proj.name || v.spec.name != pipeline)
    return InvalidArgument("the spec is pipeline '" + v.spec.project + "/" + v.spec.name +
                           "', not '" + proj.name + "/" + pipeline + "'")
        .WithDetail("spec", "metadata.project and metadata.name must match the URL");
  const StageSpec* target = nullptr;
  for (const auto& s : v.spec.stages)
    if (s.id == stage) target = &s;
  if (!target) return NotFound("the spec has no stage '" + stage + "'");

  store::PipelineLockRecord out;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Pipelines repo(tx);
    auto existing = repo.GetLock(proj.id, pipeline, stage);
    if (existing.ok() && !existing->unlocked()) {
      if (existing->hash == target->hash) {
        out = *existing;  // already locked at this definition: nothing changes
        return Status::Ok();
      }
      auto before = nlohmann::json::parse(existing->definition_json, nullptr, false);
      return Status(ErrorCode::kResourceConflict,
                    "stage '" + stage + "' is locked at a different definition (changed: " +
                        Join(ChangedFields(before, target->definition), ", ") +
                        "); unlock it first");
    }
    out.project_id = proj.id;
    out.pipeline = pipeline;
    out.stage_id = stage;
    out.hash = target->hash;
    out.definition_json = target->definition.dump();
    out.locked_by = actor.username;
    out.locked_at = NowMillis();
    RETURN_IF_ERROR(repo.PutLock(out));
    nlohmann::json details = {{"project", proj.name},
                              {"pipeline", pipeline},
                              {"stage", stage},
                              {"hash", out.hash},
                              {"previous_hash", existing.ok() ? existing->hash : ""}};
    return audit::Append(
        tx, {actor.username, "pipeline.stage.lock", "pipeline_stage",
             proj.name + "/" + pipeline + "/" + stage, actor.request_id, details.dump()});
  }));
  return LockJson(out, proj.name);
}

Result<nlohmann::json> PipelineService::Unlock(const auth::Actor& actor, const std::string& project,
                                               const std::string& pipeline,
                                               const std::string& stage,
                                               const std::string& reason) {
  if (reason.empty() || reason.size() > 1000)
    return InvalidArgument("reason must be 1-1000 characters")
        .WithDetail("reason", "required: why this locked stage may change");
  store::PipelineLockRecord out;
  std::string project_name;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    project_name = proj.name;
    store::Pipelines repo(tx);
    ASSIGN_OR_RETURN(out, repo.GetLock(proj.id, pipeline, stage));
    if (out.unlocked()) return Status::Ok();
    int64_t now = NowMillis();
    RETURN_IF_ERROR(repo.MarkUnlocked(proj.id, pipeline, stage, actor.username, reason, now));
    out.unlock_approved_by = actor.username;
    out.unlock_reason = reason;
    out.unlocked_at = now;
    nlohmann::json details = {{"project", proj.name},
                              {"pipeline", pipeline},
                              {"stage", stage},
                              {"hash", out.hash},
                              {"reason", reason}};
    return audit::Append(
        tx, {actor.username, "pipeline.stage.unlock", "pipeline_stage",
             proj.name + "/" + pipeline + "/" + stage, actor.request_id, details.dump()});
  }));
  return LockJson(out, project_name);
}

Result<nlohmann::json> PipelineService::ListLocks(const std::string& project,
                                                  const std::string& pipeline) {
  nlohmann::json items = nlohmann::json::array();
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(auto locks, store::Pipelines(tx).ListLocks(proj.id, pipeline));
    for (const auto& l : locks) items.push_back(LockJson(l, proj.name));
    return Status::Ok();
  }));
  return nlohmann::json{{"items", items}};
}

Result<nlohmann::json> PipelineService::GetPolicy(const std::string& project) {
  nlohmann::json out;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    ASSIGN_OR_RETURN(auto p, store::Pipelines(tx).GetPolicy(proj.id));
    out = {{"project", proj.name},
           {"allow_command_stages", p.allow_command_stages},
           {"updated_by", p.updated_by},
           {"updated_at", p.updated_at ? FormatRfc3339(p.updated_at) : ""}};
    return Status::Ok();
  }));
  return out;
}

Result<nlohmann::json> PipelineService::SetPolicy(const auth::Actor& actor,
                                                  const std::string& project,
                                                  bool allow_command_stages) {
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(store::ProjectRecord proj, store::Projects(tx).Get(project));
    store::PipelinePolicyRecord p{proj.id, allow_command_stages, actor.username, NowMillis()};
    RETURN_IF_ERROR(store::Pipelines(tx).PutPolicy(p));
    nlohmann::json details = {{"project", proj.name},
                              {"allow_command_stages", allow_command_stages}};
    return audit::Append(tx, {actor.username, "pipeline.policy.update", "project", proj.id,
                              actor.request_id, details.dump()});
  }));
  return GetPolicy(project);
}

}  // namespace studio::pipelines
