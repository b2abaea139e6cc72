// The scheduler loop and the local process executor: claims queued stage runs, starts
// `studio run-stage` for each in its own session, enforces timeouts and cancels by killing
// process groups, reaps children and hands them to Finalize (scheduler_state.cc).
#include "orchestrator/scheduler.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "artifacts/artifact_store.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_util.h"
#include "store/runs_repo.h"

extern char** environ;

namespace studio::orchestrator {

Result<std::unique_ptr<Scheduler>> Scheduler::Create(SchedulerOptions o) {
  if (!o.store) return InvalidArgument("the scheduler needs a store");
  if (o.max_parallel < 1 || o.max_parallel > 256)
    return InvalidArgument("max_parallel_stages must be 1-256");
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(o)));
}

Scheduler::Scheduler(SchedulerOptions o) : options_(std::move(o)) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  host_ = host;
  const char* kind = options_.mode == SchedulerMode::kWorker ? "worker" : "serve";
  claimer_ = std::string(kind) + "@" + host_ + ":" + std::to_string(getpid()) + ":" +
             NewUuidV7().substr(24);
  pg_ = options_.store->backend() == "postgresql";
  // Log paths are recorded for other processes (serve follows a worker's growing log).
  std::error_code ec;
  auto abs = std::filesystem::absolute(options_.data_dir, ec);
  if (!ec) options_.data_dir = abs.lexically_normal().string();
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // The children's environment: ours without the control plane's own settings.
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("STUDIO_", 0) == 0) continue;
    base_env_.push_back(kv);
  }
  if (options_.test_hooks) {
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      if (kv.rfind("STUDIO_STAGE_TEST_", 0) == 0) base_env_.push_back(kv);
    }
    base_env_.push_back("STUDIO_TEST_HOOKS=1");
  }
}

Scheduler::~Scheduler() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Scheduler::Start(const std::string& server_url) {
  if (thread_.joinable()) return;
  server_url_ = server_url;
  thread_ = std::jthread([this](std::stop_token stop) { Loop(stop); });
}

void Scheduler::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void Scheduler::Notify(const std::string& run_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.insert(run_id);
    check_cancels_ = true;
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void Scheduler::Loop(std::stop_token stop) {
  log::Info("scheduler started", {{"claimer", claimer_},
                                  {"max_parallel_stages", options_.max_parallel},
                                  {"server", server_url_}});
  const bool executes = options_.mode != SchedulerMode::kSchedulerOnly;
  const bool plans = options_.mode != SchedulerMode::kWorker;
  while (!stop.stop_requested()) {
    int64_t now = NowMillis();
    if (plans && now >= next_recovery_) {
      RecoverOrphans();
      next_recovery_ = now + std::max<int64_t>(options_.heartbeat_ms, 500);
    }
    if (executes) {
      CheckDeadlines(now);
      bool cancels = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        std::swap(cancels, check_cancels_);
      }
      if (cancels || now >= next_cancel_check_) {
        CheckCancels();
        next_cancel_check_ = now + 1000;
      }
      Reap();
    }
    again_ = false;
    Step();
    if (executes && now >= next_heartbeat_) {
      Heartbeat();
      next_heartbeat_ = now + options_.heartbeat_ms;
    }
    if (again_) continue;
    // Sleep until a child exits, someone calls Notify, or the next deadline.
    now = NowMillis();
    int64_t until = now + options_.tick_ms;
    if (options_.mode == SchedulerMode::kWorker) until = std::min(until, now + 100);
    if (next_due_ > 0 && static_cast<int>(children_.size()) < options_.max_parallel)
      until = std::min(until, std::max(next_due_, now));
    for (const Child& c : children_) {
      if (c.kill_sent_ms == 0)
        until = std::min(until, c.deadline_ms);
      else if (!c.killed_hard)
        until = std::min(until, c.kill_sent_ms + options_.kill_grace_ms);
    }
    if (!children_.empty()) until = std::min(until, next_heartbeat_);
    WaitForEvent(std::max<int64_t>(0, until - now));
  }
  Shutdown();
  log::Info("scheduler stopped", {{"claimer", claimer_}});
}

void Scheduler::WaitForEvent(int64_t timeout_ms) {
  std::vector<pollfd> fds;
  fds.push_back({wake_fd_, POLLIN, 0});
  bool have_all_pidfds = true;
  for (const Child& c : children_) {
    if (c.proc.pidfd >= 0)
      fds.push_back({c.proc.pidfd, POLLIN, 0});
    else
      have_all_pidfds = false;
  }
  // Without pidfds (old kernels) children are polled.
  if (!have_all_pidfds) timeout_ms = std::min<int64_t>(timeout_ms, 20);
  int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(timeout_ms, 60'000)));
  if (n > 0 && (fds[0].revents & POLLIN)) {
    uint64_t v;
    (void)!read(wake_fd_, &v, sizeof(v));
  }
}

void Scheduler::CheckDeadlines(int64_t now) {
  for (Child& c : children_) {
    if (c.kill_sent_ms == 0 && now >= c.deadline_ms) {
      log::Warn("stage timed out; killing its process group",
                {{"run", c.run_id}, {"stage", c.stage_id}, {"attempt", c.attempt}});
      c.reason = "timed_out";
      c.kill_sent_ms = now;
      SignalGroup(c.proc.pid, SIGTERM);
    } else if (c.kill_sent_ms > 0 && !c.killed_hard &&
               now >= c.kill_sent_ms + options_.kill_grace_ms) {
      c.killed_hard = true;
      SignalGroup(c.proc.pid, SIGKILL);
    }
  }
}

void Scheduler::CheckCancels() {
  if (children_.empty()) return;
  std::set<std::string> run_ids;
  for (const Child& c : children_) run_ids.insert(c.run_id);
  std::set<std::string> cancelled;
  Status st = options_.store->Read([&](store::Tx& tx) -> Status {
    store::Runs runs(tx);
    for (const auto& id : run_ids) {
      auto r = runs.GetRun(id);
      if (r.ok() && r->cancel_requested) cancelled.insert(id);
    }
    return Status::Ok();
  });
  if (!st.ok()) return;
  int64_t now = NowMillis();
  for (Child& c : children_) {
    if (!cancelled.count(c.run_id) || c.kill_sent_ms > 0) continue;
    c.reason = "cancelled";
    c.kill_sent_ms = now;
    SignalGroup(c.proc.pid, SIGTERM);
  }
}

void Scheduler::Reap() {
  for (size_t i = 0; i < children_.size();) {
    int status = 0;
    if (!TryReap(children_[i].proc, &status)) {
      ++i;
      continue;
    }
    // Whatever the stage left behind in its group goes with it.
    SignalGroup(children_[i].proc.pid, SIGKILL);
    Finished f;
    f.child = std::move(children_[i]);
    f.wait_status = status;
    // Where the log will be stored: recorded now, uploaded once the next stages are started.
    if (options_.artifacts)
      f.log_path = "runs/" + f.child.run_id + "/" + f.child.stage_id + "/attempt-" +
                   std::to_string(f.child.attempt) + ".log";
    finished_.push_back(std::move(f));
    children_.erase(children_.begin() + static_cast<long>(i));
  }
  if (options_.metrics)
    options_.metrics
        ->GetGauge("studio_pipeline_stages_running", "Stage processes running in this process.")
        .Set(static_cast<double>(children_.size()));
}

void Scheduler::StoreLogs(std::vector<Finished>& done) {
  for (const Finished& f : done) {
    if (f.log_path.empty() || f.child.log_local.empty()) continue;
    std::ifstream in(f.child.log_local, std::ios::binary);
    if (!in) continue;
    auto put = options_.artifacts->Put(f.log_path, [&](char* buf, size_t cap) -> Result<size_t> {
      in.read(buf, static_cast<std::streamsize>(cap));
      if (in.bad()) return Internal("cannot read " + f.child.log_local);
      return static_cast<size_t>(in.gcount());
    });
    if (!put.ok()) {
      // The local file stays: the logs endpoint falls back to it.
      log::Warn("cannot store the attempt log", {{"run", f.child.run_id},
                                                 {"stage", f.child.stage_id},
                                                 {"error", put.status().message()}});
      continue;
    }
    // The stored artifact is the log now; drop the local copy and its emptied directories.
    std::error_code ec;
    std::filesystem::path local(f.child.log_local);
    std::filesystem::remove(local, ec);
    std::filesystem::remove(local.parent_path(), ec);
    std::filesystem::remove(local.parent_path().parent_path(), ec);
  }
}

void Scheduler::Step() {
  const bool executes = options_.mode != SchedulerMode::kSchedulerOnly;
  const bool plans = options_.mode != SchedulerMode::kWorker;
  int64_t now = NowMillis();
  std::set<std::string> to_plan;
  {
    std::lock_guard<std::mutex> lock(mu_);
    to_plan.swap(dirty_);
  }
  for (const Finished& f : finished_) to_plan.insert(f.child.run_id);
  bool full_scan = plans && now >= next_full_scan_;
  int free = executes ? options_.max_parallel - static_cast<int>(children_.size()) : 0;
  // Process group ids ride along with the next pass; only a long-running child forces one
  // (recovery after a crash also finds orphans by their command line).
  bool pgids = std::any_of(children_.begin(), children_.end(), [&](const Child& c) {
    return !c.pgid_recorded && c.started_ms < now - 1000;
  });
  bool due = next_due_ > 0 && next_due_ <= now;
  // Workers learn of queued stages only by looking; the embedded scheduler queues them itself.
  bool want_claim = free > 0 && (options_.mode == SchedulerMode::kWorker || due ||
                                 !to_plan.empty() || !finished_.empty() || full_scan);
  if (finished_.empty() && to_plan.empty() && !full_scan && !pgids && !want_claim) return;

  std::vector<Prepared> prepared;
  size_t launched = children_.size();
  const size_t finalized = finished_.size();  // spawn failures added below wait for the next pass
  Status st = options_.store->Write([&](store::Tx& tx) -> Status {
    prepared.clear();
    store::Runs runs(tx);
    for (const Finished& f : finished_) RETURN_IF_ERROR(Finalize(tx, f, now));
    for (Child& c : children_) {
      if (c.pgid_recorded) continue;
      auto s = runs.GetStage(c.run_id, c.stage_id);
      if (!s.ok() || s->status != "running" || s->attempt != c.attempt) continue;
      s->pgid = c.proc.pid;
      RETURN_IF_ERROR(runs.UpdateStage(*s, "running").status());
    }
    if (full_scan) {
      ASSIGN_OR_RETURN(auto active, runs.ListActiveRuns("local"));
      for (const auto& r : active) to_plan.insert(r.id);
    }
    for (const auto& id : to_plan) RETURN_IF_ERROR(PlanOne(tx, id, now));
    if (want_claim) RETURN_IF_ERROR(ClaimAndPrepare(tx, free, now, &prepared));
    ASSIGN_OR_RETURN(next_due_, runs.NextDueAt());
    // Started before the commit, which then overlaps the process's own start-up (exec and
    // dynamic loading take far longer than a commit). A process whose claim does not commit
    // cannot act: its token is not in the store; it is killed below and reaped as a stranger.
    launched = children_.size();
    for (const Prepared& p : prepared) Launch(p);
    return Status::Ok();
  });
  if (!st.ok()) {
    for (size_t i = launched; i < children_.size(); ++i) {
      children_[i].reason = "cancelled";
      SignalGroup(children_[i].proc.pid, SIGKILL);
    }
    log::Warn("scheduler pass failed; retrying", {{"error", st.message()}});
    std::lock_guard<std::mutex> lock(mu_);
    dirty_.insert(to_plan.begin(), to_plan.end());
    return;
  }
  if (full_scan)
    next_full_scan_ = now + (options_.mode == SchedulerMode::kSchedulerOnly ? 250 : 2000);
  for (Child& c : children_) c.pgid_recorded = true;
  std::vector<Finished> done(
      std::make_move_iterator(finished_.begin()),
      std::make_move_iterator(finished_.begin() + static_cast<long>(finalized)));
  finished_.erase(finished_.begin(), finished_.begin() + static_cast<long>(finalized));
  // Off the critical path: the next stages already run while the logs are stored.
  StoreLogs(done);
}

void Scheduler::Launch(const Prepared& p) {
  LaunchSpec spec;
  spec.binary = options_.binary;
  spec.argv = {"studio", "run-stage", "--run", p.run_id, "--stage", p.stage_id};
  spec.env = base_env_;
  spec.env.push_back("STUDIO_SERVER=" + server_url_);
  spec.env.push_back("STUDIO_TOKEN=" + p.secret);
  spec.env.push_back("STUDIO_ARTIFACTS=" + options_.artifacts_uri);
  spec.env.push_back("STUDIO_STAGE_ATTEMPT=" + std::to_string(p.attempt));
  if (p.noop) spec.env.push_back("STUDIO_STAGE_NOOP=1");
  spec.log_file = p.log_local;
  Child c;
  c.run_id = p.run_id;
  c.stage_id = p.stage_id;
  c.type = p.type;
  c.user_id = p.user_id;
  c.token_id = p.token_id;
  c.log_local = p.log_local;
  c.attempt = p.attempt;
  c.timeout_seconds = p.timeout_seconds;
  c.started_ms = NowMillis();
  c.deadline_ms = c.started_ms + p.timeout_seconds * 1000;
  auto child = Spawn(spec);
  if (!child.ok()) {
    Finished f;
    f.child = std::move(c);
    f.wait_status = 2 << 8;
    f.spawn_error = child.status().message();
    finished_.push_back(std::move(f));
    again_ = true;
    return;
  }
  c.proc = *child;
  children_.push_back(std::move(c));
}

void Scheduler::Heartbeat() {
  if (children_.empty()) return;
  int64_t now = NowMillis();
  Status st = options_.store->Write(
      [&](store::Tx& tx) { return store::Runs(tx).Heartbeat(claimer_, now); });
  if (!st.ok()) log::Warn("heartbeat failed", {{"error", st.message()}});
}

void Scheduler::Shutdown() {
  if (children_.empty()) return;
  int64_t now = NowMillis();
  for (Child& c : children_) {
    c.reason = "shutdown";
    SignalGroup(c.proc.pid, SIGTERM);
  }
  int64_t deadline = now + std::min<int64_t>(options_.kill_grace_ms, 3000);
  while (!children_.empty() && NowMillis() < deadline) {
    Reap();
    if (!children_.empty()) usleep(20'000);
  }
  for (Child& c : children_) SignalGroup(c.proc.pid, SIGKILL);
  while (!children_.empty()) {
    Reap();
    if (!children_.empty()) usleep(5'000);
  }
  Status st = options_.store->Write([&](store::Tx& tx) -> Status {
    for (const Finished& f : finished_) RETURN_IF_ERROR(Finalize(tx, f, NowMillis()));
    return Status::Ok();
  });
  if (!st.ok()) log::Warn("cannot record interrupted attempts", {{"error", st.message()}});
  StoreLogs(finished_);
  finished_.clear();
}

void Scheduler::Observe(const std::string& type, const std::string& status, int64_t duration_ms) {
  if (!options_.metrics) return;
  static const std::vector<double> kBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                               5,    10,    30,   60,  300,  900, 3600};
  options_.metrics
      ->GetHistogram("studio_pipeline_stage_duration_seconds",
                     "Stage attempt wall time in seconds, by stage type and outcome.", kBuckets,
                     {{"type", type}, {"status", status}})
      .Observe(static_cast<double>(duration_ms) / 1000.0);
  options_.metrics
      ->GetCounter("studio_pipeline_stage_attempts_total",
                   "Stage attempts finished, by stage type and outcome.",
                   {{"type", type}, {"status", status}})
      .Inc();
}

}  // namespace studio::orchestrator
