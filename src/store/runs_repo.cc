#include "store/runs_repo.h"

#include <soci/soci.h>

namespace studio::store {
namespace {

using Args = std::vector<std::string>;

// Binds `args` as :a0, :a1, ... so one helper serves every WHERE clause.
void BindArgs(soci::statement& st, const Args& args) {
  for (size_t i = 0; i < args.size(); ++i) st.exchange(soci::use(args[i], "a" + std::to_string(i)));
}

constexpr const char* kSpecColumns =
    "project_id, name, version, spec_yaml, spec_hash, created_by, created_at";

std::vector<PipelineSpecRecord> QuerySpecs(Tx& tx, const std::string& tail, const Args& args) {
  PipelineSpecRecord r;
  long long created = 0;
  soci::statement st(tx.session());
  st.alloc();
  BindArgs(st, args);
  st.exchange(soci::into(r.project_id));
  st.exchange(soci::into(r.name));
  st.exchange(soci::into(r.version));
  st.exchange(soci::into(r.spec_yaml));
  st.exchange(soci::into(r.spec_hash));
  st.exchange(soci::into(r.created_by));
  st.exchange(soci::into(created));
  st.prepare(std::string("SELECT ") + kSpecColumns + " FROM pipeline_specs " + tail);
  st.define_and_bind();
  st.execute();
  std::vector<PipelineSpecRecord> out;
  while (st.fetch()) {
    out.push_back(r);
    out.back().created_at = created;
  }
  return out;
}

constexpr const char* kRunColumns =
    "id, project_id, pipeline, pipeline_version, spec_yaml, status, executor, execution_handle, "
    "requested_by, git_sha, noop, cancel_requested, created_at, started_at, finished_at, error";

std::vector<PipelineRunRecord> QueryRuns(Tx& tx, const std::string& tail, const Args& args) {
  PipelineRunRecord r;
  int noop = 0, cancel = 0;
  long long created = 0, started = 0, finished = 0;
  soci::statement st(tx.session());
  st.alloc();
  BindArgs(st, args);
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.project_id));
  st.exchange(soci::into(r.pipeline));
  st.exchange(soci::into(r.pipeline_version));
  st.exchange(soci::into(r.spec_yaml));
  st.exchange(soci::into(r.status));
  st.exchange(soci::into(r.executor));
  st.exchange(soci::into(r.execution_handle));
  st.exchange(soci::into(r.requested_by));
  st.exchange(soci::into(r.git_sha));
  st.exchange(soci::into(noop));
  st.exchange(soci::into(cancel));
  st.exchange(soci::into(created));
  st.exchange(soci::into(started));
  st.exchange(soci::into(finished));
  st.exchange(soci::into(r.error));
  st.prepare(std::string("SELECT ") + kRunColumns + " FROM pipeline_runs " + tail);
  st.define_and_bind();
  st.execute();
  std::vector<PipelineRunRecord> out;
  while (st.fetch()) {
    out.push_back(r);
    auto& o = out.back();
    o.noop = noop != 0;
    o.cancel_requested = cancel != 0;
    o.created_at = created;
    o.started_at = started;
    o.finished_at = finished;
  }
  return out;
}

constexpr const char* kStageColumns =
    "run_id, stage_id, position, type, needs, status, attempt, max_attempts, next_attempt_at, "
    "claimed_by, pgid, heartbeat_at, started_at, finished_at, exit_code, error, outputs";

std::vector<StageRunRecord> QueryStages(Tx& tx, const std::string& tail, const Args& args) {
  StageRunRecord r;
  long long next = 0, pgid = 0, hb = 0, started = 0, finished = 0;
  soci::statement st(tx.session());
  st.alloc();
  BindArgs(st, args);
  st.exchange(soci::into(r.run_id));
  st.exchange(soci::into(r.stage_id));
  st.exchange(soci::into(r.position));
  st.exchange(soci::into(r.type));
  st.exchange(soci::into(r.needs_json));
  st.exchange(soci::into(r.status));
  st.exchange(soci::into(r.attempt));
  st.exchange(soci::into(r.max_attempts));
  st.exchange(soci::into(next));
  st.exchange(soci::into(r.claimed_by));
  st.exchange(soci::into(pgid));
  st.exchange(soci::into(hb));
  st.exchange(soci::into(started));
  st.exchange(soci::into(finished));
  st.exchange(soci::into(r.exit_code));
  st.exchange(soci::into(r.error));
  st.exchange(soci::into(r.outputs_json));
  st.prepare(std::string("SELECT ") + kStageColumns + " FROM stage_runs " + tail);
  st.define_and_bind();
  st.execute();
  std::vector<StageRunRecord> out;
  while (st.fetch()) {
    out.push_back(r);
    auto& o = out.back();
    o.next_attempt_at = next;
    o.pgid = pgid;
    o.heartbeat_at = hb;
    o.started_at = started;
    o.finished_at = finished;
  }
  return out;
}

constexpr const char* kAttemptColumns =
    "run_id, stage_id, attempt, status, claimed_by, token_id, started_at, finished_at, "
    "duration_ms, exit_code, error, reported, outputs, log_local, log_path";

std::vector<StageAttemptRecord> QueryAttempts(Tx& tx, const std::string& tail, const Args& args) {
  StageAttemptRecord r;
  long long started = 0, finished = 0, duration = 0;
  int reported = 0;
  soci::statement st(tx.session());
  st.alloc();
  BindArgs(st, args);
  st.exchange(soci::into(r.run_id));
  st.exchange(soci::into(r.stage_id));
  st.exchange(soci::into(r.attempt));
  st.exchange(soci::into(r.status));
  st.exchange(soci::into(r.claimed_by));
  st.exchange(soci::into(r.token_id));
  st.exchange(soci::into(started));
  st.exchange(soci::into(finished));
  st.exchange(soci::into(duration));
  st.exchange(soci::into(r.exit_code));
  st.exchange(soci::into(r.error));
  st.exchange(soci::into(reported));
  st.exchange(soci::into(r.outputs_json));
  st.exchange(soci::into(r.log_local));
  st.exchange(soci::into(r.log_path));
  st.prepare(std::string("SELECT ") + kAttemptColumns + " FROM stage_attempts " + tail);
  st.define_and_bind();
  st.execute();
  std::vector<StageAttemptRecord> out;
  while (st.fetch()) {
    out.push_back(r);
    auto& o = out.back();
    o.started_at = started;
    o.finished_at = finished;
    o.duration_ms = duration;
    o.reported = reported != 0;
  }
  return out;
}

}  // namespace

// -- specs --------------------------------------------------------------------------------

Status Runs::InsertSpec(const PipelineSpecRecord& s) {
  long long created = s.created_at;
  tx_.session() << "INSERT INTO pipeline_specs (project_id, name, version, spec_yaml, spec_hash, "
                   "created_by, created_at) VALUES (:p, :n, :v, :y, :h, :b, :t)",
      soci::use(s.project_id), soci::use(s.name), soci::use(s.version), soci::use(s.spec_yaml),
      soci::use(s.spec_hash), soci::use(s.created_by), soci::use(created);
  return Status::Ok();
}

Result<PipelineSpecRecord> Runs::GetSpec(const std::string& project_id, const std::string& name,
                                         int version) {
  std::vector<PipelineSpecRecord> rows;
  if (version > 0) {
    rows = QuerySpecs(tx_, "WHERE project_id = :a0 AND name = :a1 AND version = :a2",
                      {project_id, name, std::to_string(version)});
  } else {
    rows = QuerySpecs(tx_, "WHERE project_id = :a0 AND name = :a1 ORDER BY version DESC LIMIT 1",
                      {project_id, name});
  }
  if (rows.empty())
    return NotFound("pipeline '" + name + "'" +
                    (version > 0 ? " has no version " + std::to_string(version)
                                 : " is not registered in this project"));
  return rows.front();
}

Result<std::vector<PipelineSpecRecord>> Runs::ListSpecs(const std::string& project_id,
                                                        const std::string& name) {
  if (!name.empty())
    return QuerySpecs(tx_, "WHERE project_id = :a0 AND name = :a1 ORDER BY version DESC",
                      {project_id, name});
  return QuerySpecs(tx_,
                    "s WHERE project_id = :a0 AND version = (SELECT MAX(version) FROM "
                    "pipeline_specs m WHERE m.project_id = s.project_id AND m.name = s.name) "
                    "ORDER BY name",
                    {project_id});
}

// -- runs ---------------------------------------------------------------------------------

Status Runs::InsertRun(const PipelineRunRecord& r, const std::vector<StageRunRecord>& stages) {
  int noop = r.noop ? 1 : 0;
  long long created = r.created_at;
  tx_.session() << "INSERT INTO pipeline_runs (id, project_id, pipeline, pipeline_version, "
                   "spec_yaml, status, executor, execution_handle, requested_by, git_sha, noop, "
                   "cancel_requested, created_at, started_at, finished_at, error) VALUES (:id, "
                   ":p, :n, :v, :y, :s, :e, :h, :b, :g, :noop, 0, :t, 0, 0, '')",
      soci::use(r.id), soci::use(r.project_id), soci::use(r.pipeline),
      soci::use(r.pipeline_version), soci::use(r.spec_yaml), soci::use(r.status),
      soci::use(r.executor), soci::use(r.execution_handle), soci::use(r.requested_by),
      soci::use(r.git_sha), soci::use(noop), soci::use(created);
  for (const auto& s : stages) {
    long long next = s.next_attempt_at;
    tx_.session() << "INSERT INTO stage_runs (run_id, stage_id, position, type, needs, status, "
                     "attempt, max_attempts, next_attempt_at) VALUES (:r, :s, :p, :t, :n, :st, 0, "
                     ":m, :na)",
        soci::use(r.id), soci::use(s.stage_id), soci::use(s.position), soci::use(s.type),
        soci::use(s.needs_json), soci::use(s.status), soci::use(s.max_attempts), soci::use(next);
  }
  return Status::Ok();
}

Result<PipelineRunRecord> Runs::GetRun(const std::string& id) {
  auto rows = QueryRuns(tx_, "WHERE id = :a0", {id});
  if (rows.empty()) return NotFound("run '" + id + "' does not exist");
  return rows.front();
}

Result<std::vector<PipelineRunRecord>> Runs::ListRuns(const RunFilter& f,
                                                      const std::string& before_id, int limit) {
  std::string where = "WHERE 1 = 1";
  Args args;
  auto add = [&](const std::string& clause, const std::string& v) {
    where += " AND " + clause + " :a" + std::to_string(args.size());
    args.push_back(v);
  };
  if (!f.project_id.empty()) add("project_id =", f.project_id);
  if (!f.status.empty()) add("status =", f.status);
  if (!before_id.empty()) add("id <", before_id);
  return QueryRuns(tx_, where + " ORDER BY id DESC LIMIT " + std::to_string(limit), args);
}

Result<std::vector<PipelineRunRecord>> Runs::ListActiveRuns(const std::string& executor) {
  return QueryRuns(tx_, "WHERE status IN ('queued', 'running') AND executor = :a0 ORDER BY id",
                   {executor});
}

Result<bool> Runs::SetRunStatus(const std::string& id, const std::vector<std::string>& from,
                                const std::string& to, int64_t now, const std::string& error) {
  std::string in;
  for (size_t i = 0; i < from.size(); ++i) in += (i ? ", '" : "'") + from[i] + "'";
  long long ts = now;
  // started_at is set on the first move to running, finished_at on a terminal status.
  std::string sql =
      "UPDATE pipeline_runs SET status = :s, error = :e, started_at = CASE WHEN "
      ":s2 = 'running' AND started_at = 0 THEN :t ELSE started_at END, finished_at "
      "= CASE WHEN :s3 IN ('succeeded', 'failed', 'cancelled') THEN :t2 ELSE "
      "finished_at END WHERE id = :id AND status IN (" +
      in + ")";
  soci::statement st =
      (tx_.session().prepare << sql, soci::use(to, "s"), soci::use(error, "e"), soci::use(to, "s2"),
       soci::use(ts, "t"), soci::use(to, "s3"), soci::use(ts, "t2"), soci::use(id, "id"));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

Status Runs::SetCancelRequested(const std::string& id) {
  tx_.session() << "UPDATE pipeline_runs SET cancel_requested = 1 WHERE id = :id", soci::use(id);
  return Status::Ok();
}

Status Runs::LockRun(const std::string& id, bool for_update) {
  if (!for_update) return Status::Ok();
  std::string got;
  soci::indicator ind = soci::i_ok;
  tx_.session() << "SELECT id FROM pipeline_runs WHERE id = :id FOR UPDATE", soci::into(got, ind),
      soci::use(id);
  return Status::Ok();
}

Status Runs::SetExecutionHandle(const std::string& id, const std::string& handle) {
  tx_.session() << "UPDATE pipeline_runs SET execution_handle = :h WHERE id = :id",
      soci::use(handle), soci::use(id);
  return Status::Ok();
}

// -- stage runs ---------------------------------------------------------------------------

Result<std::vector<StageRunRecord>> Runs::ListStages(const std::string& run_id) {
  return QueryStages(tx_, "WHERE run_id = :a0 ORDER BY position", {run_id});
}

Result<StageRunRecord> Runs::GetStage(const std::string& run_id, const std::string& stage_id) {
  auto rows = QueryStages(tx_, "WHERE run_id = :a0 AND stage_id = :a1", {run_id, stage_id});
  if (rows.empty()) return NotFound("run '" + run_id + "' has no stage '" + stage_id + "'");
  return rows.front();
}

Result<bool> Runs::UpdateStage(const StageRunRecord& s, const std::string& expected_status) {
  long long next = s.next_attempt_at, pgid = s.pgid, hb = s.heartbeat_at, started = s.started_at,
            finished = s.finished_at;
  soci::statement st =
      (tx_.session().prepare
           << "UPDATE stage_runs SET status = :st, attempt = :a, max_attempts = :m, "
              "next_attempt_at = :na, claimed_by = :c, pgid = :pg, heartbeat_at = :hb, "
              "started_at = :sa, finished_at = :fa, exit_code = :ec, error = :er, outputs = :o "
              "WHERE run_id = :r AND stage_id = :s AND status = :exp",
       soci::use(s.status), soci::use(s.attempt), soci::use(s.max_attempts), soci::use(next),
       soci::use(s.claimed_by), soci::use(pgid), soci::use(hb), soci::use(started),
       soci::use(finished), soci::use(s.exit_code), soci::use(s.error), soci::use(s.outputs_json),
       soci::use(s.run_id), soci::use(s.stage_id), soci::use(expected_status));
  st.execute(true);
  return st.get_affected_rows() > 0;
}

Result<std::vector<ClaimedStage>> Runs::Claim(const std::string& claimer, int64_t now, int limit,
                                              bool skip_locked) {
  std::vector<ClaimedStage> out;
  if (limit <= 0) return out;
  // Cancelled runs' queued stages are the scheduler's to cancel, never to start.
  std::string tail =
      "WHERE status = 'queued' AND next_attempt_at <= :a0 AND run_id IN (SELECT id FROM "
      "pipeline_runs WHERE cancel_requested = 0 AND executor = 'local') ORDER BY run_id, "
      "position LIMIT " +
      std::to_string(limit);
  if (skip_locked) tail += " FOR UPDATE SKIP LOCKED";
  auto rows = QueryStages(tx_, tail, {std::to_string(now)});
  for (auto& s : rows) {
    StageRunRecord next = s;
    next.status = "running";
    next.attempt = s.attempt + 1;
    next.claimed_by = claimer;
    next.pgid = 0;
    next.heartbeat_at = now;
    if (next.started_at == 0) next.started_at = now;
    next.finished_at = 0;
    next.exit_code = -1;
    next.error.clear();
    ASSIGN_OR_RETURN(bool ok, UpdateStage(next, "queued"));
    if (!ok) continue;
    ASSIGN_OR_RETURN(PipelineRunRecord run, GetRun(s.run_id));
    out.push_back({std::move(run), std::move(next)});
  }
  return out;
}

Result<std::vector<StageRunRecord>> Runs::ListRunningStages(const std::string& claimer) {
  if (claimer.empty()) return QueryStages(tx_, "WHERE status = 'running' ORDER BY run_id", {});
  return QueryStages(tx_, "WHERE status = 'running' AND claimed_by = :a0 ORDER BY run_id",
                     {claimer});
}

Status Runs::Heartbeat(const std::string& claimer, int64_t now) {
  long long ts = now;
  tx_.session() << "UPDATE stage_runs SET heartbeat_at = :t WHERE status = 'running' AND "
                   "claimed_by = :c",
      soci::use(ts), soci::use(claimer);
  return Status::Ok();
}

Result<int64_t> Runs::NextDueAt() {
  long long next = 0;
  soci::indicator ind = soci::i_ok;
  // The same rows Claim would take (a queued stage of a cancelled run is never due).
  tx_.session() << "SELECT MIN(next_attempt_at) FROM stage_runs WHERE status = 'queued' AND "
                   "run_id IN (SELECT id FROM pipeline_runs WHERE cancel_requested = 0 AND "
                   "executor = 'local')",
      soci::into(next, ind);
  if (ind != soci::i_ok) return int64_t{0};
  return static_cast<int64_t>(next);
}

// -- attempts -----------------------------------------------------------------------------

Status Runs::InsertAttempt(const StageAttemptRecord& a) {
  long long started = a.started_at;
  tx_.session() << "INSERT INTO stage_attempts (run_id, stage_id, attempt, status, claimed_by, "
                   "token_id, started_at, log_local) VALUES (:r, :s, :a, :st, :c, :t, :sa, :l)",
      soci::use(a.run_id), soci::use(a.stage_id), soci::use(a.attempt), soci::use(a.status),
      soci::use(a.claimed_by), soci::use(a.token_id), soci::use(started), soci::use(a.log_local);
  return Status::Ok();
}

Status Runs::UpdateAttempt(const StageAttemptRecord& a) {
  long long finished = a.finished_at, duration = a.duration_ms;
  int reported = a.reported ? 1 : 0;
  tx_.session() << "UPDATE stage_attempts SET status = :st, finished_at = :f, duration_ms = :d, "
                   "exit_code = :ec, error = :e, reported = :rep, outputs = :o, log_local = :ll, "
                   "log_path = :lp WHERE run_id = :r AND stage_id = :s AND attempt = :a",
      soci::use(a.status), soci::use(finished), soci::use(duration), soci::use(a.exit_code),
      soci::use(a.error), soci::use(reported), soci::use(a.outputs_json), soci::use(a.log_local),
      soci::use(a.log_path), soci::use(a.run_id), soci::use(a.stage_id), soci::use(a.attempt);
  return Status::Ok();
}

Result<StageAttemptRecord> Runs::GetAttempt(const std::string& run_id, const std::string& stage_id,
                                            int attempt) {
  auto rows = QueryAttempts(tx_, "WHERE run_id = :a0 AND stage_id = :a1 AND attempt = :a2",
                            {run_id, stage_id, std::to_string(attempt)});
  if (rows.empty())
    return NotFound("stage '" + stage_id + "' of run '" + run_id + "' has no attempt " +
                    std::to_string(attempt));
  return rows.front();
}

Result<std::vector<StageAttemptRecord>> Runs::ListAttempts(const std::string& run_id) {
  return QueryAttempts(tx_, "WHERE run_id = :a0 ORDER BY stage_id, attempt", {run_id});
}

}  // namespace studio::store
