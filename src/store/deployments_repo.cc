#include "store/deployments_repo.h"

#include <soci/soci.h>

#include "store/internal/dialect.h"

namespace studio::store {
namespace {

constexpr const char* kColumns =
    "d.id, d.project_id, p.name, d.model_name, d.model_version, d.alias, d.environment, "
    "d.strategy, d.status, d.active, d.weights, d.slot, d.previous_slot, "
    "d.previous_deployment_id, d.superseded_by, d.approvals_required, d.policy, d.requested_by, "
    "d.created_at, d.updated_at, d.finished_at, d.error";

}  // namespace

Result<std::vector<EnvironmentRecord>> Deployments::ListEnvironments() {
  EnvironmentRecord r;
  long long at = 0;
  soci::statement st =
      (tx_.session().prepare << "SELECT name, policy, updated_by, updated_at FROM "
                                "environments ORDER BY name",
       soci::into(r.name), soci::into(r.policy_json), soci::into(r.updated_by), soci::into(at));
  st.execute();
  std::vector<EnvironmentRecord> out;
  while (st.fetch()) {
    r.updated_at = at;
    out.push_back(r);
  }
  return out;
}

Result<EnvironmentRecord> Deployments::GetEnvironment(const std::string& name) {
  EnvironmentRecord r;
  long long at = 0;
  tx_.session() << "SELECT name, policy, updated_by, updated_at FROM environments WHERE name = :n",
      soci::into(r.name), soci::into(r.policy_json), soci::into(r.updated_by), soci::into(at),
      soci::use(name);
  if (!tx_.session().got_data())
    return NotFound("no environment named '" + name + "' (see GET /api/v1/environments)");
  r.updated_at = at;
  return r;
}

Status Deployments::UpdateEnvironment(const EnvironmentRecord& e) {
  long long at = e.updated_at;
  soci::statement st =
      (tx_.session().prepare << "UPDATE environments SET policy = :p, "
                                "updated_by = :b, updated_at = :t WHERE name = :n",
       soci::use(e.policy_json), soci::use(e.updated_by), soci::use(at), soci::use(e.name));
  st.execute(true);
  if (st.get_affected_rows() == 0) return NotFound("no environment named '" + e.name + "'");
  return Status::Ok();
}

Status Deployments::Insert(const DeploymentRecord& d) {
  long long version = d.model_version, created = d.created_at, updated = d.updated_at,
            finished = d.finished_at;
  int active = d.active ? 1 : 0;
  int required = d.approvals_required;
  try {
    tx_.session() << "INSERT INTO deployments (id, project_id, model_name, model_version, alias, "
                     "environment, strategy, status, active, weights, slot, previous_slot, "
                     "previous_deployment_id, superseded_by, approvals_required, policy, "
                     "requested_by, created_at, updated_at, finished_at, error) VALUES (:id, :pr, "
                     ":mn, :mv, :al, :env, :st, :status, :act, :w, :slot, :ps, :pd, :sb, :ar, "
                     ":pol, :rb, :ca, :ua, :fa, :err)",
        soci::use(d.id), soci::use(d.project_id), soci::use(d.model_name), soci::use(version),
        soci::use(d.alias), soci::use(d.environment), soci::use(d.strategy), soci::use(d.status),
        soci::use(active), soci::use(d.weights_json), soci::use(d.slot), soci::use(d.previous_slot),
        soci::use(d.previous_deployment_id), soci::use(d.superseded_by), soci::use(required),
        soci::use(d.policy_json), soci::use(d.requested_by), soci::use(created), soci::use(updated),
        soci::use(finished), soci::use(d.error);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kResourceConflict,
                    "another deployment to environment '" + d.environment +
                        "' of this project is in progress; wait until it is LIVE, ROLLED_BACK, "
                        "FAILED or REJECTED (or reject or roll it back)");
    throw;
  }
  return Status::Ok();
}

Result<std::vector<DeploymentRecord>> Deployments::Query(const std::string& where,
                                                         const std::vector<std::string>& args,
                                                         const std::string& order, int limit) {
  DeploymentRecord r;
  long long version = 0, created = 0, updated = 0, finished = 0;
  int active = 0, required = 0;
  soci::statement st(tx_.session());
  st.alloc();
  for (size_t i = 0; i < args.size(); ++i) st.exchange(soci::use(args[i], "a" + std::to_string(i)));
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.project_id));
  st.exchange(soci::into(r.project_name));
  st.exchange(soci::into(r.model_name));
  st.exchange(soci::into(version));
  st.exchange(soci::into(r.alias));
  st.exchange(soci::into(r.environment));
  st.exchange(soci::into(r.strategy));
  st.exchange(soci::into(r.status));
  st.exchange(soci::into(active));
  st.exchange(soci::into(r.weights_json));
  st.exchange(soci::into(r.slot));
  st.exchange(soci::into(r.previous_slot));
  st.exchange(soci::into(r.previous_deployment_id));
  st.exchange(soci::into(r.superseded_by));
  st.exchange(soci::into(required));
  st.exchange(soci::into(r.policy_json));
  st.exchange(soci::into(r.requested_by));
  st.exchange(soci::into(created));
  st.exchange(soci::into(updated));
  st.exchange(soci::into(finished));
  st.exchange(soci::into(r.error));
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM deployments d JOIN projects p ON p.id = d.project_id WHERE " + where +
                    " ORDER BY " + order;
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<DeploymentRecord> out;
  while (st.fetch()) {
    DeploymentRecord copy = r;
    copy.model_version = version;
    copy.active = active != 0;
    copy.approvals_required = required;
    copy.created_at = created;
    copy.updated_at = updated;
    copy.finished_at = finished;
    out.push_back(std::move(copy));
  }
  return out;
}

Result<DeploymentRecord> Deployments::Get(const std::string& id) {
  ASSIGN_OR_RETURN(auto rows, Query("d.id = :a0", {id}, "d.id", 1));
  if (rows.empty()) return NotFound("no deployment with id '" + id + "'");
  return rows.front();
}

Result<bool> Deployments::Update(const DeploymentRecord& d, const std::string& expected_status) {
  long long updated = d.updated_at, finished = d.finished_at;
  int active = d.active ? 1 : 0;
  soci::statement st =
      (tx_.session().prepare << "UPDATE deployments SET status = :s, active = :a, weights = :w, "
                                "slot = :slot, previous_slot = :ps, previous_deployment_id = :pd, "
                                "superseded_by = :sb, updated_at = :u, finished_at = :f, "
                                "error = :e WHERE id = :id AND status = :x",
       soci::use(d.status), soci::use(active), soci::use(d.weights_json), soci::use(d.slot),
       soci::use(d.previous_slot), soci::use(d.previous_deployment_id), soci::use(d.superseded_by),
       soci::use(updated), soci::use(finished), soci::use(d.error), soci::use(d.id),
       soci::use(expected_status));
  try {
    st.execute(true);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kResourceConflict,
                    "another deployment to environment '" + d.environment +
                        "' of this project is in progress; wait until it finishes");
    throw;
  }
  return st.get_affected_rows() > 0;
}

Result<std::vector<DeploymentRecord>> Deployments::List(const DeploymentFilter& f) {
  std::string where = "1 = 1";
  std::vector<std::string> args;
  auto add = [&](const std::string& column, const std::string& op, const std::string& value) {
    where += " AND " + column + " " + op + " :a" + std::to_string(args.size());
    args.push_back(value);
  };
  if (!f.project_id.empty()) add("d.project_id", "=", f.project_id);
  if (!f.environment.empty()) add("d.environment", "=", f.environment);
  if (!f.status.empty()) add("d.status", "=", f.status);
  if (!f.after_id.empty()) add("d.id", "<", f.after_id);
  return Query(where, args, "d.id DESC", f.limit);
}

Result<std::vector<DeploymentRecord>> Deployments::WithStatus(
    const std::vector<std::string>& statuses) {
  std::string in;
  for (size_t i = 0; i < statuses.size(); ++i) in += (i ? ", :a" : ":a") + std::to_string(i);
  return Query("d.status IN (" + in + ")", statuses, "d.id", 0);
}

Result<std::vector<DeploymentRecord>> Deployments::Current(const std::string& project_id,
                                                           const std::string& environment) {
  return Query(
      "d.project_id = :a0 AND d.environment = :a1 AND d.status = 'LIVE' AND d.superseded_by = ''",
      {project_id, environment}, "d.id DESC", 1);
}

Status Deployments::InsertApproval(const ApprovalRecord& a) {
  long long at = a.created_at;
  try {
    tx_.session() << "INSERT INTO deployment_approvals (deployment_id, username, decision, "
                     "comment, created_at) VALUES (:d, :u, :dec, :c, :t)",
        soci::use(a.deployment_id), soci::use(a.username), soci::use(a.decision),
        soci::use(a.comment), soci::use(at);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kAlreadyExists,
                    "user '" + a.username + "' already decided on deployment " + a.deployment_id);
    throw;
  }
  return Status::Ok();
}

Result<std::vector<ApprovalRecord>> Deployments::Approvals(const std::string& deployment_id) {
  ApprovalRecord r;
  long long at = 0;
  soci::statement st =
      (tx_.session().prepare << "SELECT deployment_id, username, decision, comment, created_at "
                                "FROM deployment_approvals WHERE deployment_id = :d ORDER BY "
                                "created_at, username",
       soci::into(r.deployment_id), soci::into(r.username), soci::into(r.decision),
       soci::into(r.comment), soci::into(at), soci::use(deployment_id));
  st.execute();
  std::vector<ApprovalRecord> out;
  while (st.fetch()) {
    r.created_at = at;
    out.push_back(r);
  }
  return out;
}

Status Deployments::InsertEvent(const DeploymentEventRecord& e) {
  long long at = e.created_at;
  tx_.session() << "INSERT INTO deployment_events (id, deployment_id, from_status, to_status, "
                   "reason, details, actor, created_at) VALUES (:id, :d, :f, :t, :r, :x, :a, :c)",
      soci::use(e.id), soci::use(e.deployment_id), soci::use(e.from_status), soci::use(e.to_status),
      soci::use(e.reason), soci::use(e.details_json), soci::use(e.actor), soci::use(at);
  return Status::Ok();
}

Result<std::vector<DeploymentEventRecord>> Deployments::Events(const std::string& deployment_id) {
  DeploymentEventRecord r;
  long long at = 0;
  soci::statement st =
      (tx_.session().prepare << "SELECT id, deployment_id, from_status, to_status, reason, "
                                "details, actor, created_at FROM deployment_events WHERE "
                                "deployment_id = :d ORDER BY id",
       soci::into(r.id), soci::into(r.deployment_id), soci::into(r.from_status),
       soci::into(r.to_status), soci::into(r.reason), soci::into(r.details_json),
       soci::into(r.actor), soci::into(at), soci::use(deployment_id));
  st.execute();
  std::vector<DeploymentEventRecord> out;
  while (st.fetch()) {
    r.created_at = at;
    out.push_back(r);
  }
  return out;
}

}  // namespace studio::store
