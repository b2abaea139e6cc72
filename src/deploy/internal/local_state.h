#pragma once

// LocalTarget's state, shared by local_target.cc (slot processes, supervision) and
// local_router.cc (weighted forwarding, per-slot metrics).
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "deploy/local_target.h"

namespace httplib {
class Client;
}

namespace studio::deploy::local {

using Clock = std::chrono::steady_clock;

int64_t NowMs();
std::string Key(const std::string& project, const std::string& environment);
// GET /ready on a slot's port answered 200 within `timeout_ms`.
bool ProbeReady(int port, int timeout_ms);
const std::vector<double>& LatencyBoundsMs();

struct Slot {
  TargetScope scope;
  SlotSpec spec;
  std::string log_path;
  std::string token;
  std::atomic<pid_t> pid{-1};
  std::atomic<int> port{0};
  std::atomic<bool> exited{false};
  std::atomic<bool> ready{false};
  std::atomic<bool> started{false};  // passed its first readiness check
  std::atomic<bool> stopping{false};
  // Supervisor-only state.
  int restarts = 0;
  int64_t restart_at = 0;
  bool restart_pending = false;
  bool awaiting_ready = false;
  // Traffic since the slot started.
  std::atomic<int64_t> inflight{0};
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> errors{0};
  metrics::Histogram latency{LatencyBoundsMs()};
  // Keep-alive connections to the slot's current port.
  std::mutex pool_mu;
  std::vector<std::unique_ptr<httplib::Client>> pool;
  int pool_port = 0;
  // The control plane's /metrics series.
  metrics::Counter* m_requests = nullptr;
  metrics::Counter* m_errors = nullptr;
  metrics::Histogram* m_latency = nullptr;
  metrics::Gauge* m_weight = nullptr;
};

struct Scope {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Slot>> slots;
  std::map<std::string, int> weights;
  std::map<std::string, int64_t> wrr;  // smooth weighted round-robin state
};

}  // namespace studio::deploy::local

namespace studio::deploy {

struct LocalTarget::Impl {
  using Slot = local::Slot;
  using Scope = local::Scope;
  Options o;
  std::mutex scopes_mu;
  std::map<std::string, std::shared_ptr<Scope>> scopes;

  std::mutex sup_mu;
  std::condition_variable sup_cv;
  std::deque<std::function<void()>> jobs;
  bool stop = false;
  std::thread supervisor;
  std::atomic<bool> shut_down{false};

  std::shared_ptr<Scope> GetScope(const std::string& key, bool create);
  std::vector<std::shared_ptr<Slot>> AllSlots();
  // Children are forked on the supervisor thread: PR_SET_PDEATHSIG fires when the forking
  // thread ends, and this one lives as long as the target.
  Status OnSupervisor(std::function<Status()> fn);
  Status Launch(Slot& s);
  // Reaps `s`'s process if it exited; true when it is gone.
  bool Reap(Slot& s);
  void Supervise();
  void SupervisorLoop();
  // SIGTERM (serve-model drains), then SIGKILL after `grace_ms`.
  void Terminate(Slot& s, int grace_ms);
  ForwardResponse Send(Slot& s, const ForwardRequest& req);
  void AttachMetrics(Slot& s);
};

}  // namespace studio::deploy
