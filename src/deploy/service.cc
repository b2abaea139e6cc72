#include "deploy/service.h"

#include <algorithm>

#include "audit/audit_log.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "deploy/internal/driver.h"
#include "store/models_repo.h"
#include "store/projects_repo.h"

namespace studio::deploy {
namespace {

nlohmann::json ParseOr(const std::string& text, nlohmann::json fallback) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

std::string Ts(int64_t ms) { return ms ? FormatRfc3339(ms) : ""; }

Status Forbidden(const std::string& msg) { return Status(ErrorCode::kPermissionDenied, msg); }
Status Conflict(const std::string& msg) { return Status(ErrorCode::kResourceConflict, msg); }

nlohmann::json EnvironmentJson(const store::EnvironmentRecord& e) {
  return {{"name", e.name},
          {"policy", ParseOr(e.policy_json, nlohmann::json::object())},
          {"updated_by", e.updated_by},
          {"updated_at", Ts(e.updated_at)}};
}

}  // namespace

DeployService::DeployService(Options o) : o_(std::move(o)) {}

Result<std::unique_ptr<DeployService>> DeployService::Create(Options options) {
  if (!options.store || !options.target)
    return InvalidArgument("DeployService needs a store and a target");
  return std::unique_ptr<DeployService>(new DeployService(std::move(options)));
}

DeployService::~DeployService() { Stop(); }

auth::Action DeployService::DeployAction(const std::string& environment) {
  if (environment == "dev") return auth::Action::kDeployDev;
  if (environment == "staging") return auth::Action::kDeployStaging;
  if (environment == "prod") return auth::Action::kDeployProd;
  return auth::Action::kAdmin;
}

// ---------------------------------------------------------------------------- environments

Result<nlohmann::json> DeployService::ListEnvironments() {
  nlohmann::json items = nlohmann::json::array();
  RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto envs, store::Deployments(tx).ListEnvironments());
    for (const auto& e : envs) items.push_back(EnvironmentJson(e));
    return Status::Ok();
  }));
  return nlohmann::json{{"items", items}};
}

Result<nlohmann::json> DeployService::GetEnvironment(const std::string& name) {
  nlohmann::json out;
  RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto e, store::Deployments(tx).GetEnvironment(name));
    out = EnvironmentJson(e);
    return Status::Ok();
  }));
  return out;
}

Result<nlohmann::json> DeployService::PutEnvironment(const Caller& c, const std::string& name,
                                                     const nlohmann::json& body) {
  // {"policy": {...}} or the policy object itself; fields not sent keep their values.
  const nlohmann::json& policy_in = body.contains("policy") ? body["policy"] : body;
  if (body.contains("policy") && body.size() != 1)
    return InvalidArgument("send {\"policy\": {...}} or the policy fields alone, not both");
  nlohmann::json out;
  RETURN_IF_ERROR(o_.store->Write([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(auto e, repo.GetEnvironment(name));
    auto before = ParseOr(e.policy_json, nlohmann::json::object());
    ASSIGN_OR_RETURN(EnvironmentPolicy base, ParsePolicy(before));
    ASSIGN_OR_RETURN(EnvironmentPolicy p, ParsePolicy(policy_in, base));
    e.policy_json = PolicyJson(p).dump();
    e.updated_by = c.principal.username;
    e.updated_at = NowMillis();
    RETURN_IF_ERROR(repo.UpdateEnvironment(e));
    nlohmann::json details = {{"environment", name}, {"before", before}, {"after", PolicyJson(p)}};
    RETURN_IF_ERROR(audit::Append(tx, {c.principal.username, "environment.update", "environment",
                                       name, c.request_id, details.dump()}));
    out = EnvironmentJson(e);
    return Status::Ok();
  }));
  return out;
}

// ----------------------------------------------------------------------------- deployments

Status DeployService::Transition(
    const std::string& id, const std::string& from, const std::string& to, const std::string& actor,
    const std::string& reason, const nlohmann::json& details,
    const std::function<Status(store::Tx&, store::DeploymentRecord&)>& mutate) {
  return o_.store->Write([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(store::DeploymentRecord d, repo.Get(id));
    if (d.status != from) return Conflict("deployment " + id + " is " + d.status + ", not " + from);
    int64_t now = NowMillis();
    d.status = to;
    d.updated_at = now;
    if (IsTerminal(to) && from != to) {
      d.active = false;
      d.finished_at = now;
    }
    if (mutate) RETURN_IF_ERROR(mutate(tx, d));
    ASSIGN_OR_RETURN(bool updated, repo.Update(d, from));
    if (!updated) return Conflict("deployment " + id + " changed concurrently");
    store::DeploymentEventRecord ev;
    ev.id = NewUuidV7();
    ev.deployment_id = id;
    ev.from_status = from;
    ev.to_status = to;
    ev.reason = reason;
    nlohmann::json full = details.is_object() ? details : nlohmann::json::object();
    full["weights"] = ParseOr(d.weights_json, nlohmann::json::object());
    ev.details_json = full.dump();
    ev.actor = actor;
    ev.created_at = now;
    RETURN_IF_ERROR(repo.InsertEvent(ev));
    nlohmann::json audit_details = {{"from", from},
                                    {"to", to},
                                    {"reason", reason},
                                    {"details", full},
                                    {"project", d.project_name},
                                    {"environment", d.environment},
                                    {"model", d.model_name},
                                    {"version", std::to_string(d.model_version)}};
    return audit::Append(tx, {actor, from == to ? "deployment.step" : "deployment.transition",
                              "deployment", id, "", audit_details.dump()});
  });
}

Result<nlohmann::json> DeployService::CreateDeployment(const Caller& c, const DeployRequest& r) {
  {
    Status bad = InvalidArgument("invalid deployment request");
    bool problems = false;
    if (r.model.empty()) problems = true, bad.WithDetail("model", "required");
    if (r.environment.empty()) problems = true, bad.WithDetail("environment", "required");
    if (r.version.empty() == r.alias.empty())
      problems = true, bad.WithDetail("version", "give exactly one of version and alias");
    if (problems) {
      Status st = InvalidArgument("invalid deployment request: " + bad.details().begin()->first +
                                  " " + bad.details().begin()->second);
      for (auto& [k, v] : bad.details()) st.WithDetail(k, v);
      return st;
    }
  }
  int64_t version = 0;
  if (!r.version.empty()) {
    bool digits =
        r.version.size() <= 18 && std::all_of(r.version.begin(), r.version.end(),
                                              [](char ch) { return ch >= '0' && ch <= '9'; });
    if (!digits || std::stoll(r.version) < 1)
      return InvalidArgument("version must be a positive integer, not '" + r.version + "'")
          .WithDetail("version", "a positive integer");
    version = std::stoll(r.version);
  }
  std::string strategy;
  if (!r.strategy.empty()) {
    ASSIGN_OR_RETURN(strategy, CanonicalStrategy(r.strategy));
  }

  store::DeploymentRecord d;
  nlohmann::json out;
  RETURN_IF_ERROR(o_.store->Write([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(auto env, repo.GetEnvironment(r.environment));
    RETURN_IF_ERROR(auth::Authorize(c.principal, DeployAction(env.name)));
    ASSIGN_OR_RETURN(EnvironmentPolicy policy, ParsePolicy(ParseOr(env.policy_json, {})));
    if (strategy.empty()) strategy = policy.strategy;
    if (!policy.Allows(strategy)) {
      std::string allowed;
      for (const auto& s : policy.allowed_strategies) allowed += (allowed.empty() ? "" : ", ") + s;
      return InvalidArgument("strategy '" + strategy + "' is not allowed in environment '" +
                             env.name + "' (allowed: " + allowed + ")")
          .WithDetail("strategy", "allowed: " + allowed);
    }
    if (r.canary_percent > 0) {
      if (strategy != kCanaryStrategy)
        return InvalidArgument("canary_percent needs strategy canary (got '" + strategy + "')")
            .WithDetail("canary_percent", "only with strategy canary");
      policy.canary_percent = r.canary_percent;
    }
    store::Models models(tx);
    auto model = models.GetModel(r.model);
    if (!model.ok()) return NotFound("no registered model named '" + r.model + "'");
    if (!r.alias.empty()) {
      auto v = models.GetAlias(model->id, r.alias);
      if (!v.ok() || *v == 0)
        return NotFound("model '" + r.model + "' has no alias '" + r.alias + "'");
      version = *v;
    }
    auto mv = models.GetVersion(*model, version);
    if (!mv.ok())
      return NotFound("model '" + r.model + "' has no version " + std::to_string(version));
    store::ProjectRecord project;
    if (r.project.empty()) {
      ASSIGN_OR_RETURN(project, store::Projects(tx).Get(model->project_id));
    } else {
      auto p = store::Projects(tx).Get(r.project);
      if (!p.ok()) return NotFound("no project named '" + r.project + "'");
      project = *p;
      if (model->project_id != project.id)
        return InvalidArgument("model '" + r.model + "' does not belong to project '" +
                               project.name + "'")
            .WithDetail("model", "not a model of project '" + project.name + "'");
    }
    int64_t now = NowMillis();
    d.id = NewUuidV7();
    d.project_id = project.id;
    d.project_name = project.name;
    d.model_name = model->name;
    d.model_version = version;
    d.alias = r.alias;
    d.environment = env.name;
    d.strategy = strategy;
    d.status = policy.approvals_required > 0 ? kPendingApproval : kDeploying;
    d.active = true;
    d.approvals_required = policy.approvals_required;
    d.policy_json = PolicyJson(policy).dump();
    d.requested_by = c.principal.username;
    d.created_at = d.updated_at = now;
    RETURN_IF_ERROR(repo.Insert(d));
    store::DeploymentEventRecord ev;
    ev.id = NewUuidV7();
    ev.deployment_id = d.id;
    ev.to_status = d.status;
    ev.reason = "requested by " + d.requested_by + ": " + d.model_name + " version " +
                std::to_string(version) + (r.alias.empty() ? "" : " (alias @" + r.alias + ")") +
                " to " + env.name + " with strategy " + strategy +
                (policy.approvals_required > 0
                     ? "; waiting for " + std::to_string(policy.approvals_required) + " approval(s)"
                     : "; no approval required");
    nlohmann::json details = {{"policy", PolicyJson(policy)}};
    if (!r.pipeline_run_id.empty()) details["pipeline_run_id"] = r.pipeline_run_id;
    ev.details_json = details.dump();
    ev.actor = d.requested_by;
    ev.created_at = now;
    RETURN_IF_ERROR(repo.InsertEvent(ev));
    nlohmann::json audit_details = {
        {"project", project.name}, {"model", d.model_name},   {"version", std::to_string(version)},
        {"alias", r.alias},        {"environment", env.name}, {"strategy", strategy},
        {"status", d.status}};
    if (!r.pipeline_run_id.empty()) audit_details["pipeline_run_id"] = r.pipeline_run_id;
    RETURN_IF_ERROR(audit::Append(tx, {c.principal.username, "deployment.create", "deployment",
                                       d.id, c.request_id, audit_details.dump()}));
    out = ToJson(d, {}, false, nullptr);
    return Status::Ok();
  }));
  cv_.notify_all();
  return out;
}

Result<nlohmann::json> DeployService::Decide(const Caller& c, const std::string& id, bool approve,
                                             const std::string& comment) {
  if (Status st = auth::Authorize(c.principal, auth::Action::kApprove); !st.ok())
    return Forbidden("user '" + c.principal.username + "' cannot " +
                     (approve ? "approve" : "reject") + " deployments: " + st.message());
  if (comment.size() > 2000) return InvalidArgument("comment is longer than 2000 characters");
  const std::string user = c.principal.username;
  RETURN_IF_ERROR(o_.store->Write([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(store::DeploymentRecord d, repo.Get(id));
    ASSIGN_OR_RETURN(auto approvals, repo.Approvals(id));
    for (const auto& a : approvals)
      if (a.username == user)
        return Forbidden("user '" + user + "' already " +
                         (a.decision == "approve" ? "approved" : "rejected") + " deployment " + id +
                         "; approvals must come from distinct people");
    if (d.requested_by == user)
      return Forbidden("user '" + user + "' requested deployment " + id + " and cannot " +
                       (approve ? "approve" : "reject") +
                       " it: approvals must come from people other than the requester");
    if (d.status != kPendingApproval)
      return Conflict("deployment " + id + " is " + d.status + ", not waiting for approval");
    int64_t now = NowMillis();
    RETURN_IF_ERROR(repo.InsertApproval({id, user, approve ? "approve" : "reject", comment, now}));
    int count = 1;
    std::string names = user;
    for (const auto& a : approvals)
      if (a.decision == "approve") ++count, names = a.username + ", " + names;
    nlohmann::json audit_details = {{"decision", approve ? "approve" : "reject"},
                                    {"comment", comment},
                                    {"approvals", count},
                                    {"required", d.approvals_required}};
    RETURN_IF_ERROR(audit::Append(tx, {user, approve ? "deployment.approve" : "deployment.reject",
                                       "deployment", id, c.request_id, audit_details.dump()}));
    std::string next;
    std::string reason;
    if (!approve) {
      next = kRejected;
      reason = "rejected by " + user + (comment.empty() ? "" : ": " + comment);
    } else if (count >= d.approvals_required) {
      next = kDeploying;
      reason = "approved by " + names + " (" + std::to_string(count) + " of " +
               std::to_string(d.approvals_required) + ")";
    } else {
      store::DeploymentEventRecord ev{NewUuidV7(),
                                      id,
                                      d.status,
                                      d.status,
                                      "approved by " + user + " (" + std::to_string(count) +
                                          " of " + std::to_string(d.approvals_required) + ")",
                                      nlohmann::json({{"comment", comment}}).dump(),
                                      user,
                                      now};
      return repo.InsertEvent(ev);
    }
    std::string from = d.status;
    d.status = next;
    d.updated_at = now;
    if (next == kRejected) {
      d.active = false;
      d.finished_at = now;
      d.error = reason;
    }
    ASSIGN_OR_RETURN(bool ok, repo.Update(d, from));
    if (!ok) return Conflict("deployment " + id + " changed concurrently; retry");
    store::DeploymentEventRecord ev{
        NewUuidV7(), id, from, next, reason, nlohmann::json({{"comment", comment}}).dump(),
        user,        now};
    RETURN_IF_ERROR(repo.InsertEvent(ev));
    nlohmann::json t = {{"from", from}, {"to", next}, {"reason", reason}};
    return audit::Append(tx,
                         {user, "deployment.transition", "deployment", id, c.request_id, t.dump()});
  }));
  cv_.notify_all();
  return Get(id);
}

Result<nlohmann::json> DeployService::Rollback(const Caller& c, const std::string& id,
                                               const std::string& reason_in) {
  store::DeploymentRecord d;
  RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(d, store::Deployments(tx).Get(id));
    return Status::Ok();
  }));
  RETURN_IF_ERROR(auth::Authorize(c.principal, DeployAction(d.environment)));
  const std::string user = c.principal.username;
  std::string reason = "manual rollback by " + user + (reason_in.empty() ? "" : ": " + reason_in);
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (d.status == kDeploying || d.status == kCanary || d.status == kGreenValidating) {
      {
        std::lock_guard lock(mu_);
        auto it = drivers_.find(id);
        if (it != drivers_.end() && !it->second->rollback_live) {
          std::lock_guard l(it->second->mu);
          it->second->abort_actor = user;
          it->second->abort_reason = reason;
          it->second->abort = true;
          cv_.notify_all();
          return Get(id);
        }
      }
      // Not picked up by the controller yet: nothing runs, so it ends here.
      Status st =
          Transition(id, kDeploying, kRolledBack, user, reason + " (before any slot started)",
                     nlohmann::json::object(), [&](store::Tx&, store::DeploymentRecord& r) {
                       r.error = reason;
                       return Status::Ok();
                     });
      if (st.ok()) return Get(id);
      if (st.code() != ErrorCode::kResourceConflict) return st;
      RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
        ASSIGN_OR_RETURN(d, store::Deployments(tx).Get(id));
        return Status::Ok();
      }));
      continue;
    }
    break;
  }
  if (d.status == kPendingApproval)
    return Conflict("deployment " + id +
                    " is waiting for approval and has not been deployed; "
                    "reject it instead");
  if (d.status != kLive)
    return Conflict("deployment " + id + " is " + d.status + "; nothing to roll back");
  if (!d.superseded_by.empty())
    return Conflict("deployment " + id + " was replaced by deployment " + d.superseded_by +
                    "; roll that one back");
  if (d.previous_deployment_id.empty())
    return Conflict("deployment " + id + " was the first to " + d.environment +
                    "; there is no earlier version to roll back to");
  // Holding the environment's active slot (the partial unique index) serializes the rollback
  // with new deployments.
  RETURN_IF_ERROR(Transition(id, kLive, kLive, user, reason + " (starting the previous version)",
                             {{"rollback_to", d.previous_deployment_id}},
                             [](store::Tx&, store::DeploymentRecord& r) {
                               r.active = true;
                               return Status::Ok();
                             }));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status(ErrorCode::kTemporarilyUnavailable, "the server is stopping");
    auto drv = std::make_shared<Driver>();
    drv->rollback_live = true;
    drv->abort_actor = user;
    drv->abort_reason = reason;
    drivers_[id] = drv;
    drv->thread = std::thread([this, id, drv] {
      DriveRollbackOfLive(id, *drv);
      drv->done = true;
      cv_.notify_all();
    });
  }
  return Get(id);
}

// ------------------------------------------------------------------------------- reading

nlohmann::json DeployService::ToJson(const store::DeploymentRecord& d,
                                     const std::vector<store::ApprovalRecord>& approvals,
                                     bool detail,
                                     const std::vector<store::DeploymentEventRecord>* events) {
  nlohmann::json a = nlohmann::json::array();
  int approved = 0;
  for (const auto& x : approvals) {
    if (x.decision == "approve") ++approved;
    a.push_back({{"user", x.username},
                 {"decision", x.decision},
                 {"comment", x.comment},
                 {"created_at", Ts(x.created_at)}});
  }
  nlohmann::json j = {{"id", d.id},
                      {"project", d.project_name},
                      {"model", d.model_name},
                      {"version", std::to_string(d.model_version)},
                      {"alias", d.alias},
                      {"environment", d.environment},
                      {"strategy", d.strategy},
                      {"status", d.status},
                      {"weights", ParseOr(d.weights_json, nlohmann::json::object())},
                      {"slot", d.slot},
                      {"previous_slot", d.previous_slot},
                      {"previous_deployment_id", d.previous_deployment_id},
                      {"superseded_by", d.superseded_by},
                      {"approvals_required", d.approvals_required},
                      {"approvals_received", approved},
                      {"approvals", a},
                      {"requested_by", d.requested_by},
                      {"created_at", Ts(d.created_at)},
                      {"updated_at", Ts(d.updated_at)},
                      {"finished_at", Ts(d.finished_at)},
                      {"error", d.error},
                      {"rollback_in_progress", d.status == kLive && d.active}};
  if (!detail) return j;
  j["policy"] = ParseOr(d.policy_json, nlohmann::json::object());
  // Live per-slot figures while the deployment's slots run.
  nlohmann::json slots = nlohmann::json::object();
  bool running = (!IsTerminal(d.status) && d.status != kPendingApproval) ||
                 (d.status == kLive && d.superseded_by.empty());
  if (running) {
    TargetScope scope{d.project_name, d.environment, d.id};
    for (const std::string& name : {d.slot, d.previous_slot}) {
      if (name.empty()) continue;
      auto m = o_.target->Metrics(scope, name);
      if (!m.ok()) continue;
      slots[name] = {{"requests", m->requests},
                     {"errors", m->errors},
                     {"error_rate", m->error_rate()},
                     {"p50_ms", m->p50_ms},
                     {"p99_ms", m->p99_ms}};
    }
  }
  j["live"] = {{"target", o_.target->kind()}, {"slots", slots}};
  nlohmann::json ev = nlohmann::json::array();
  if (events)
    for (const auto& e : *events)
      ev.push_back({{"from", e.from_status},
                    {"to", e.to_status},
                    {"reason", e.reason},
                    {"details", ParseOr(e.details_json, nlohmann::json::object())},
                    {"actor", e.actor},
                    {"created_at", Ts(e.created_at)}});
  j["events"] = ev;
  return j;
}

Result<nlohmann::json> DeployService::Get(const std::string& id) {
  store::DeploymentRecord d;
  std::vector<store::ApprovalRecord> approvals;
  std::vector<store::DeploymentEventRecord> events;
  RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(d, repo.Get(id));
    ASSIGN_OR_RETURN(approvals, repo.Approvals(id));
    ASSIGN_OR_RETURN(events, repo.Events(id));
    return Status::Ok();
  }));
  return ToJson(d, approvals, true, &events);
}

Result<nlohmann::json> DeployService::List(const ListRequest& r) {
  if (!r.status.empty() && !IsKnownStatus(r.status))
    return InvalidArgument("unknown status '" + r.status + "'")
        .WithDetail("status",
                    "one of PENDING_APPROVAL, DEPLOYING, CANARY, GREEN_VALIDATING, "
                    "LIVE, ROLLED_BACK, FAILED, REJECTED");
  nlohmann::json items = nlohmann::json::array();
  std::string last;
  RETURN_IF_ERROR(o_.store->Read([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    store::DeploymentFilter f;
    if (!r.project.empty()) {
      auto p = store::Projects(tx).Get(r.project);
      if (!p.ok()) return NotFound("no project named '" + r.project + "'");
      f.project_id = p->id;
    }
    if (!r.environment.empty()) RETURN_IF_ERROR(repo.GetEnvironment(r.environment).status());
    f.environment = r.environment;
    f.status = r.status;
    f.after_id = r.after;
    f.limit = r.max_results;
    ASSIGN_OR_RETURN(auto rows, repo.List(f));
    for (const auto& d : rows) {
      ASSIGN_OR_RETURN(auto approvals, repo.Approvals(d.id));
      items.push_back(ToJson(d, approvals, false, nullptr));
    }
    if (static_cast<int>(rows.size()) == r.max_results && !rows.empty()) last = rows.back().id;
    return Status::Ok();
  }));
  return nlohmann::json{{"items", items}, {"last", last}};
}

}  // namespace studio::deploy
