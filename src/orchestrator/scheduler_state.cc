// The scheduler's store side: planning a run (promote, skip, finish), claiming queued stages
// with a short-lived token per attempt, closing attempts and recovering orphaned ones. Every
// update is a compare-and-set on the stage's status, so concurrent schedulers and workers
// cannot both move a stage.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <soci/soci.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_util.h"
#include "orchestrator/dag.h"
#include "orchestrator/scheduler.h"
#include "store/runs_repo.h"
#include "store/users_repo.h"

namespace studio::orchestrator {
namespace {

// The last non-empty line of a log, as the attempt's error when the process said nothing else.
std::string LastLogLine(const std::string& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff from = std::max<std::streamoff>(0, size - 2048);
  in.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' '))
    tail.pop_back();
  size_t nl = tail.rfind('\n');
  std::string line = nl == std::string::npos ? tail : tail.substr(nl + 1);
  if (line.size() > 500) line = line.substr(0, 500);
  return line;
}

std::vector<std::string> NeedsOf(const std::string& needs_json) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(needs_json, nullptr, false);
  if (j.is_array())
    for (const auto& n : j)
      if (n.is_string()) out.push_back(n.get<std::string>());
  return out;
}

Status RevokeAttemptToken(store::Tx& tx, const std::string& token_id, int64_t now) {
  if (token_id.empty()) return Status::Ok();
  long long ts = now;
  // The run token is ours, not the user's: revoke it without the owner check.
  tx.session() << "UPDATE api_tokens SET revoked_at = :t WHERE id = :id AND revoked_at = 0",
      soci::use(ts), soci::use(token_id);
  return Status::Ok();
}

}  // namespace

const pipelines::StageSpec* Scheduler::SpecStage(const store::PipelineRunRecord& run,
                                                 const std::string& stage_id) {
  auto it = specs_.find(run.id);
  if (it == specs_.end()) {
    pipelines::ValidateOptions o;
    o.allow_command_stages = true;  // the policy was checked when the run started
    auto v = pipelines::ValidateSpec(run.spec_yaml, o);
    if (specs_.size() > 2000) specs_.clear();
    it = specs_.emplace(run.id, std::make_shared<pipelines::PipelineSpec>(std::move(v.spec))).first;
  }
  for (const auto& s : it->second->stages)
    if (s.id == stage_id) return &s;
  return nullptr;
}

Status Scheduler::PlanOne(store::Tx& tx, const std::string& run_id, int64_t now) {
  store::Runs runs(tx);
  RETURN_IF_ERROR(runs.LockRun(run_id, pg_));
  auto run = runs.GetRun(run_id);
  if (!run.ok() || run->terminal() || run->executor != "local") return Status::Ok();
  ASSIGN_OR_RETURN(auto stages, runs.ListStages(run_id));
  std::vector<StageState> states;
  for (const auto& s : stages) states.push_back({s.stage_id, NeedsOf(s.needs_json), s.status});
  Plan plan = PlanRun(states, run->cancel_requested);
  for (const Transition& t : plan.transitions) {
    for (auto& s : stages) {
      if (s.stage_id != t.stage_id) continue;
      s.status = t.to;
      if (t.to != "queued") {
        s.finished_at = now;
        s.error = t.reason;
      } else {
        s.next_attempt_at = now;
      }
      RETURN_IF_ERROR(runs.UpdateStage(s, t.from).status());
    }
  }
  if (!plan.finished) return Status::Ok();
  std::string error;
  for (const auto& s : stages)
    if (s.status == "failed") {
      error = "stage '" + s.stage_id + "' failed: " + s.error;
      break;
    }
  if (plan.run_status == "cancelled") error = "cancelled";
  ASSIGN_OR_RETURN(bool moved,
                   runs.SetRunStatus(run_id, {"queued", "running"}, plan.run_status, now, error));
  if (!moved) return Status::Ok();
  specs_.erase(run_id);
  nlohmann::json details = {{"pipeline", run->pipeline},
                            {"status", plan.run_status},
                            {"duration_ms", now - run->created_at}};
  RETURN_IF_ERROR(audit::Append(
      tx, {"system", "pipeline.run.finish", "pipeline_run", run_id, "", details.dump()}));
  if (options_.metrics)
    options_.metrics
        ->GetCounter("studio_pipeline_runs_finished_total", "Pipeline runs finished, by status.",
                     {{"status", plan.run_status}})
        .Inc();
  return Status::Ok();
}

Status Scheduler::ClaimAndPrepare(store::Tx& tx, int free, int64_t now,
                                  std::vector<Prepared>* out) {
  store::Runs runs(tx);
  ASSIGN_OR_RETURN(auto claimed, runs.Claim(claimer_, now, free, pg_));
  for (auto& c : claimed) {
    const pipelines::StageSpec* spec = SpecStage(c.run, c.stage.stage_id);
    int64_t timeout = spec ? spec->timeout_seconds : 3600;
    Prepared p;
    p.run_id = c.run.id;
    p.stage_id = c.stage.stage_id;
    p.type = c.stage.type;
    p.attempt = c.stage.attempt;
    p.timeout_seconds = timeout;
    p.noop = c.run.noop;
    p.log_local = options_.data_dir + "/logs/runs/" + p.run_id + "/" + p.stage_id + "/attempt-" +
                  std::to_string(p.attempt) + ".log";
    // A token for the requester that lives as long as this attempt can.
    auto user = store::Users(tx).GetByUsername(c.run.requested_by);
    if (user.ok()) {
      store::ApiTokenRecord t;
      p.secret = "stu_" + crypto::RandomToken(32);
      t.id = NewUuidV7();
      t.user_id = user->id;
      t.name = "run " + p.run_id + " " + p.stage_id + " #" + std::to_string(p.attempt);
      t.token_hash = crypto::Sha256Hex(p.secret);
      t.prefix = p.secret.substr(0, 12);
      t.created_at = now;
      t.expires_at = now + (timeout + 600) * 1000 + options_.kill_grace_ms;
      RETURN_IF_ERROR(store::ApiTokens(tx).Insert(t));
      RETURN_IF_ERROR(store::ApiTokens(tx).Touch(t.id, now));  // no write on its first use
      p.user_id = user->id;
      p.token_id = t.id;
    }
    store::StageAttemptRecord a;
    a.run_id = p.run_id;
    a.stage_id = p.stage_id;
    a.attempt = p.attempt;
    a.status = "running";
    a.claimed_by = claimer_;
    a.token_id = p.token_id;
    a.started_at = now;
    a.log_local = p.log_local;
    RETURN_IF_ERROR(runs.InsertAttempt(a));
    RETURN_IF_ERROR(runs.SetRunStatus(p.run_id, {"queued"}, "running", now, "").status());
    out->push_back(std::move(p));
  }
  return Status::Ok();
}

Status Scheduler::FailStage(store::Tx& tx, const store::StageRunRecord& stage, int attempt,
                            const std::string& attempt_status, const std::string& error,
                            int64_t now, bool count_attempt) {
  store::Runs runs(tx);
  auto a = runs.GetAttempt(stage.run_id, stage.stage_id, attempt);
  if (a.ok() && a->status == "running") {
    a->status = attempt_status;
    a->finished_at = now;
    a->duration_ms = now - a->started_at;
    a->error = error;
    RETURN_IF_ERROR(runs.UpdateAttempt(*a));
    RETURN_IF_ERROR(RevokeAttemptToken(tx, a->token_id, now));
  }
  auto run = runs.GetRun(stage.run_id);
  store::StageRunRecord s = stage;
  s.pgid = 0;
  s.claimed_by.clear();
  s.error = error;
  if (!count_attempt) s.max_attempts += 1;
  pipelines::RetrySpec retry;
  if (run.ok())
    if (const auto* spec = SpecStage(*run, stage.stage_id)) retry = spec->retry;
  AfterFailure next = DecideAfterFailure(retry, s.attempt, s.max_attempts, now);
  if (!count_attempt) next = {true, now};
  if (run.ok() && run->cancel_requested) {
    s.status = "cancelled";
    s.finished_at = now;
  } else if (next.retry) {
    s.status = "queued";
    s.next_attempt_at = next.next_attempt_at;
  } else {
    s.status = "failed";
    s.finished_at = now;
  }
  RETURN_IF_ERROR(runs.UpdateStage(s, "running").status());
  return Status::Ok();
}

Status Scheduler::Finalize(store::Tx& tx, const Finished& f, int64_t now) {
  const Child& c = f.child;
  store::Runs runs(tx);
  RETURN_IF_ERROR(runs.LockRun(c.run_id, pg_));
  auto stage = runs.GetStage(c.run_id, c.stage_id);
  auto attempt = runs.GetAttempt(c.run_id, c.stage_id, c.attempt);
  if (!stage.ok() || !attempt.ok()) return Status::Ok();
  // A process whose claim never committed (the attempt row is another process's now).
  if (attempt->token_id != c.token_id) return Status::Ok();
  int64_t duration = now - c.started_ms;
  int ws = f.wait_status;
  bool exited_ok = WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && f.spawn_error.empty();
  store::StageAttemptRecord a = *attempt;
  a.finished_at = now;
  a.duration_ms = duration;
  a.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
  a.log_path = f.log_path;
  std::string status, error;
  if (c.reason == "cancelled") {
    status = "cancelled";
    error = "cancelled";
  } else if (c.reason == "shutdown") {
    status = "interrupted";
    error = "the control plane shut down; the stage runs again";
  } else if (c.reason == "timed_out") {
    status = "timed_out";
    error =
        "timed out after " + std::to_string(c.timeout_seconds) + "s; the process group was killed";
  } else if (exited_ok && a.reported && a.error.empty()) {
    status = "succeeded";
  } else {
    status = "failed";
    if (!f.spawn_error.empty())
      error = f.spawn_error;
    else if (!a.error.empty())
      error = a.error;
    else if (exited_ok)
      error = "the stage process exited 0 without reporting its outputs";
    else {
      error = "the stage process " + DescribeWaitStatus(ws);
      std::string last = LastLogLine(c.log_local);
      if (!last.empty()) error += ": " + last;
    }
  }
  bool still_ours =
      stage->status == "running" && stage->attempt == c.attempt && stage->claimed_by == claimer_;
  Observe(c.type, status, duration);
  if (!still_ours) {
    // Recovery closed it already (this process was presumed dead): keep the record as is.
    if (a.status == "running") {
      a.status = status;
      a.error = error;
      RETURN_IF_ERROR(runs.UpdateAttempt(a));
    }
    return RevokeAttemptToken(tx, a.token_id, now);
  }
  if (status == "succeeded") {
    a.status = status;
    RETURN_IF_ERROR(runs.UpdateAttempt(a));
    RETURN_IF_ERROR(RevokeAttemptToken(tx, a.token_id, now));
    store::StageRunRecord s = *stage;
    s.status = "succeeded";
    s.finished_at = now;
    s.exit_code = a.exit_code;
    s.error.clear();
    s.outputs_json = a.outputs_json;
    s.pgid = 0;
    return runs.UpdateStage(s, "running").status();
  }
  a.status = "running";  // FailStage closes it
  RETURN_IF_ERROR(runs.UpdateAttempt(a));
  store::StageRunRecord s = *stage;
  s.exit_code = a.exit_code;
  if (status == "cancelled") {
    a.status = status;
    a.error = error;
    RETURN_IF_ERROR(runs.UpdateAttempt(a));
    RETURN_IF_ERROR(RevokeAttemptToken(tx, a.token_id, now));
    s.status = "cancelled";
    s.finished_at = now;
    s.error = error;
    s.pgid = 0;
    return runs.UpdateStage(s, "running").status();
  }
  return FailStage(tx, s, c.attempt, status, error, now, status != "interrupted");
}

bool Scheduler::ClaimerDead(const std::string& claimed_by) const {
  // kind@host:pid:instance
  size_t at = claimed_by.find('@');
  size_t c1 = claimed_by.find(':', at == std::string::npos ? 0 : at);
  size_t c2 = claimed_by.find(':', c1 == std::string::npos ? 0 : c1 + 1);
  if (at == std::string::npos || c1 == std::string::npos || c2 == std::string::npos) return false;
  if (claimed_by.substr(at + 1, c1 - at - 1) != host_) return false;  // not ours to judge
  pid_t pid = static_cast<pid_t>(std::atol(claimed_by.substr(c1 + 1, c2 - c1 - 1).c_str()));
  std::string kind = claimed_by.substr(0, at);
  if (pid == getpid()) return true;  // a predecessor with our pid (containers restart at 1)
  return !ProcessMatches(pid, {kind == "worker" ? "worker" : "serve"});
}

void Scheduler::RecoverOrphans() {
  int64_t now = NowMillis();
  std::vector<std::string> recovered;
  Status st = options_.store->Write([&](store::Tx& tx) -> Status {
    recovered.clear();
    store::Runs runs(tx);
    ASSIGN_OR_RETURN(auto running, runs.ListRunningStages(""));
    for (const auto& s : running) {
      if (s.claimed_by == claimer_ || s.claimed_by == "aws") continue;  // remote: RemoteRunner
      bool stale = s.heartbeat_at < now - options_.stale_after_ms;
      if (!stale && !ClaimerDead(s.claimed_by)) continue;
      // Its process may still run (a control plane killed with -9 leaves its children):
      // kill it before the stage runs again.
      std::vector<std::string> needles = {"run-stage", "--run", s.run_id, "--stage", s.stage_id};
      if (s.pgid > 1 && ProcessMatches(static_cast<pid_t>(s.pgid), needles))
        SignalGroup(static_cast<pid_t>(s.pgid), SIGKILL);
      for (pid_t pid : FindProcesses(needles)) {
        pid_t pgid = getpgid(pid);
        SignalGroup(pgid > 1 ? pgid : pid, SIGKILL);
        kill(pid, SIGKILL);
      }
      std::string error = "orphaned: " + s.claimed_by + " stopped while the stage ran";
      RETURN_IF_ERROR(FailStage(tx, s, s.attempt, "interrupted", error, now, true));
      recovered.push_back(s.run_id + "/" + s.stage_id);
      std::lock_guard<std::mutex> lock(mu_);
      dirty_.insert(s.run_id);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    log::Warn("recovery pass failed", {{"error", st.message()}});
    return;
  }
  for (const auto& r : recovered) log::Warn("recovered an orphaned stage run", {{"stage", r}});
}

}  // namespace studio::orchestrator
