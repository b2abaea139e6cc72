#include "orchestrator/remote_runner.h"

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/time_util.h"
#include "pipelines/spec.h"
#include "store/runs_repo.h"

namespace studio::orchestrator {
namespace {

constexpr const char* kClaimer = "aws";

std::string RunStatusFor(const std::string& remote) {
  if (remote == "SUCCEEDED") return "succeeded";
  if (remote == "ABORTED") return "cancelled";
  return "failed";  // FAILED, TIMED_OUT
}

}  // namespace

Result<std::unique_ptr<RemoteRunner>> RemoteRunner::Create(RemoteRunnerOptions o) {
  if (!o.store || !o.executor)
    return InvalidArgument("the remote runner needs a store and an executor");
  return std::unique_ptr<RemoteRunner>(new RemoteRunner(std::move(o)));
}

RemoteRunner::~RemoteRunner() {
  if (thread_.joinable()) {
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
  }
}

void RemoteRunner::Start() {
  if (!thread_.joinable()) thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void RemoteRunner::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void RemoteRunner::Loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    Pass();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, stop, std::chrono::milliseconds(options_.poll_ms), [&] { return wake_; });
    wake_ = false;
  }
}

void RemoteRunner::Pass() {
  std::vector<store::PipelineRunRecord> runs;
  Status st = options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(runs, store::Runs(tx).ListActiveRuns("aws"));
    return Status::Ok();
  });
  if (!st.ok()) return;
  for (const auto& run : runs) {
    if (run.execution_handle.empty()) {
      if (run.cancel_requested) {
        RemotePoll p;
        p.finished = true;
        p.status = "ABORTED";
        p.error = "cancelled before it started";
        (void)Apply(run.id, p);
        continue;
      }
      pipelines::ValidateOptions o;
      o.allow_command_stages = true;
      auto v = pipelines::ValidateSpec(run.spec_yaml, o);
      auto handle = options_.executor->Start(run.id, v.spec);
      Status w = options_.store->Write([&](store::Tx& tx) -> Status {
        store::Runs r(tx);
        if (!handle.ok())
          return r
              .SetRunStatus(run.id, {"queued"}, "failed", NowMillis(),
                            "cannot start the remote execution: " + handle.status().message())
              .status();
        RETURN_IF_ERROR(r.SetExecutionHandle(run.id, *handle));
        return r.SetRunStatus(run.id, {"queued"}, "running", NowMillis(), "").status();
      });
      if (!w.ok())
        log::Warn("cannot record the remote execution", {{"run", run.id}, {"error", w.message()}});
      continue;
    }
    if (run.cancel_requested && !cancel_sent_.count(run.id)) {
      Status c = options_.executor->Cancel(run.execution_handle);
      if (c.ok())
        cancel_sent_.insert(run.id);
      else
        log::Warn("cannot cancel the remote execution", {{"run", run.id}, {"error", c.message()}});
    }
    auto poll = options_.executor->Poll(run.execution_handle);
    if (!poll.ok()) {
      log::Warn("cannot poll the remote execution",
                {{"run", run.id}, {"error", poll.status().message()}});
      continue;
    }
    Status a = Apply(run.id, *poll);
    if (!a.ok())
      log::Warn("cannot record remote stage updates", {{"run", run.id}, {"error", a.message()}});
  }
}

Status RemoteRunner::Apply(const std::string& run_id, const RemotePoll& poll) {
  return options_.store->Write([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    int64_t now = NowMillis();
    for (const RemoteStageUpdate& u : poll.updates) {
      auto stage = runs.GetStage(run_id, u.stage_id);
      if (!stage.ok()) continue;  // not a stage of this run
      store::StageRunRecord s = *stage;
      std::string from = s.status;
      int64_t started = u.started_ms ? u.started_ms : now;
      int64_t finished = u.finished_ms ? u.finished_ms : now;
      auto attempt = runs.GetAttempt(run_id, u.stage_id, u.attempt);
      store::StageAttemptRecord a;
      if (attempt.ok()) {
        a = *attempt;
      } else {
        a.run_id = run_id;
        a.stage_id = u.stage_id;
        a.attempt = u.attempt;
        a.status = "running";
        a.claimed_by = kClaimer;
        a.started_at = started;
        RETURN_IF_ERROR(runs.InsertAttempt(a));
      }
      s.attempt = std::max(s.attempt, u.attempt);
      s.claimed_by = kClaimer;
      s.heartbeat_at = now;
      if (u.status == "running") {
        s.status = "running";
        if (s.started_at == 0) s.started_at = started;
        s.finished_at = 0;
        s.error.clear();
      } else {
        a.status = u.status;
        a.finished_at = finished;
        a.duration_ms = finished - a.started_at;
        a.error = u.error;
        RETURN_IF_ERROR(runs.UpdateAttempt(a));
        s.status = u.status;  // succeeded | failed | cancelled (a retry comes as running again)
        s.finished_at = finished;
        s.error = u.error;
        if (u.status == "succeeded") s.exit_code = 0;
        if (s.max_attempts < u.attempt) s.max_attempts = u.attempt;
      }
      RETURN_IF_ERROR(runs.UpdateStage(s, from).status());
    }
    if (!poll.finished) return Status::Ok();
    std::string status = RunStatusFor(poll.status);
    ASSIGN_OR_RETURN(auto stages, runs.ListStages(run_id));
    for (auto s : stages) {
      if (s.status == "succeeded" || s.status == "failed" || s.status == "cancelled" ||
          s.status == "skipped")
        continue;
      std::string from = s.status;
      s.status = s.status == "running"   ? (status == "cancelled" ? "cancelled" : "failed")
                 : status == "cancelled" ? "cancelled"
                                         : "skipped";
      s.finished_at = now;
      if (s.error.empty()) s.error = "the execution ended " + poll.status;
      RETURN_IF_ERROR(runs.UpdateStage(s, from).status());
    }
    std::string error = poll.error;
    if (status != "succeeded" && error.empty()) error = "the execution ended " + poll.status;
    return runs.SetRunStatus(run_id, {"queued", "running"}, status, now, error).status();
  });
}

}  // namespace studio::orchestrator
