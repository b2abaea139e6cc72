#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "orchestrator/process.h"
#include "pipelines/spec.h"
#include "store/metadata_store.h"

namespace studio::artifacts {
class ArtifactStore;
}
namespace studio::metrics {
class Registry;
}
namespace studio::store {
class Tx;
struct PipelineRunRecord;
struct StageRunRecord;
}  // namespace studio::store

namespace studio::orchestrator {

// kEmbedded: `studio serve` plans runs and runs their stages as child processes (the default).
// kSchedulerOnly: `studio serve` with `executor: workers` plans runs and recovers stale claims;
// `studio worker` processes (kWorker) claim and run the stages.
enum class SchedulerMode { kEmbedded, kSchedulerOnly, kWorker };

struct SchedulerOptions {
  store::MetadataStore* store = nullptr;
  artifacts::ArtifactStore* artifacts = nullptr;  // where attempt logs are kept
  metrics::Registry* metrics = nullptr;           // optional
  std::string data_dir = ".studio";               // growing logs: DATA_DIR/logs/runs/...
  std::string artifacts_uri;                      // STUDIO_ARTIFACTS for the children
  SchedulerMode mode = SchedulerMode::kEmbedded;
  int max_parallel = 4;  // stage processes at once (per serve or per worker)
  // Passes STUDIO_TEST_HOOKS and STUDIO_STAGE_TEST_* to children (the test suite only).
  bool test_hooks = false;
  int64_t heartbeat_ms = 2000;
  int64_t stale_after_ms = 30000;  // a running claim without a heartbeat this long is orphaned
  int64_t kill_grace_ms = 5000;    // SIGTERM → SIGKILL
  int64_t tick_ms = 1000;          // the longest sleep between passes
  std::string binary = SelfExecutable();
};

// The control plane's scheduler and the local process executor (docs/pipelines.md "Runs").
// One background thread with a stop token; every state change goes through the metadata store
// with compare-and-set updates, so a serve process and any number of workers can share it.
class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> Create(SchedulerOptions options);
  ~Scheduler();

  // Starts the loop; stage processes reach the control plane at `server_url`.
  void Start(const std::string& server_url);
  // Stops the loop: running attempts are killed and requeued without using their retry
  // budget, then the thread is joined. Idempotent.
  void Stop();
  // A run was started or cancelled: plan it now.
  void Notify(const std::string& run_id);
  const std::string& claimer() const { return claimer_; }

 private:
  struct Child {
    std::string run_id, stage_id, type, user_id, token_id, log_local;
    int attempt = 0;
    ChildProcess proc;
    int64_t started_ms = 0;
    int64_t deadline_ms = 0;
    int64_t kill_sent_ms = 0;
    bool killed_hard = false;
    std::string reason;  // "" | timed_out | cancelled | shutdown
    int64_t timeout_seconds = 0;
    bool pgid_recorded = false;
  };
  struct Finished {
    Child child;
    int wait_status = 0;
    std::string spawn_error;
    std::string log_path;  // where the log artifact goes (stored after the next launches)
  };
  struct Prepared {
    std::string run_id, stage_id, type, user_id, token_id, secret, log_local;
    int attempt = 0;
    int64_t timeout_seconds = 0;
    bool noop = false;
  };

  explicit Scheduler(SchedulerOptions o);
  void Loop(std::stop_token stop);
  void Step();
  void Reap();
  void CheckDeadlines(int64_t now);
  void CheckCancels();
  void Heartbeat();
  void RecoverOrphans();
  void Shutdown();
  void WaitForEvent(int64_t timeout_ms);
  void Launch(const Prepared& p);
  void StoreLogs(std::vector<Finished>& done);

  Status Finalize(store::Tx& tx, const Finished& f, int64_t now);
  Status PlanOne(store::Tx& tx, const std::string& run_id, int64_t now);
  Status ClaimAndPrepare(store::Tx& tx, int free, int64_t now, std::vector<Prepared>* out);
  // The stage's spec from the run's snapshot (parsed once per run).
  const pipelines::StageSpec* SpecStage(const store::PipelineRunRecord& run,
                                        const std::string& stage_id);
  // Closes an attempt whose process is gone, and retries or fails its stage.
  Status FailStage(store::Tx& tx, const store::StageRunRecord& stage, int attempt,
                   const std::string& attempt_status, const std::string& error, int64_t now,
                   bool count_attempt);
  bool ClaimerDead(const std::string& claimed_by) const;
  void Observe(const std::string& type, const std::string& status, int64_t duration_ms);

  SchedulerOptions options_;
  std::string claimer_;
  std::string host_;
  std::string server_url_;
  std::vector<std::string> base_env_;
  int wake_fd_ = -1;
  bool pg_ = false;

  std::mutex mu_;  // guards the two below (Notify comes from request threads)
  std::set<std::string> dirty_;
  bool check_cancels_ = false;

  // Loop-thread state.
  std::vector<Child> children_;
  std::vector<Finished> finished_;
  std::map<std::string, std::shared_ptr<pipelines::PipelineSpec>> specs_;
  int64_t next_full_scan_ = 0, next_recovery_ = 0, next_heartbeat_ = 0, next_cancel_check_ = 0;
  int64_t next_due_ = 0;
  bool again_ = false;

  std::jthread thread_;
};

}  // namespace studio::orchestrator
