#include "deploy/local_target.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <future>

#include "common/log.h"
#include "deploy/internal/local_state.h"
#include "deploy/internal/process.h"

namespace studio::deploy {
namespace local {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

std::string Key(const std::string& project, const std::string& environment) {
  return project + "/" + environment;
}

bool ProbeReady(int port, int timeout_ms) {
  if (port <= 0) return false;
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(0, timeout_ms * 1000);
  c.set_read_timeout(0, timeout_ms * 1000);
  auto res = c.Get("/ready");
  return res && res->status == 200;
}

const std::vector<double>& LatencyBoundsMs() {
  static const std::vector<double> kBounds = {0.5, 1,   2,    5,    10,   25,    50,    100,
                                              250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
  return kBounds;
}

}  // namespace local

using local::Key;
using local::NowMs;
using local::ProbeReady;
using local::Scope;
using local::Slot;

std::shared_ptr<Scope> LocalTarget::Impl::GetScope(const std::string& key, bool create) {
  std::lock_guard lock(scopes_mu);
  auto it = scopes.find(key);
  if (it != scopes.end()) return it->second;
  if (!create) return nullptr;
  auto s = std::make_shared<Scope>();
  scopes[key] = s;
  return s;
}

std::vector<std::shared_ptr<Slot>> LocalTarget::Impl::AllSlots() {
  std::vector<std::shared_ptr<Scope>> list;
  {
    std::lock_guard lock(scopes_mu);
    for (auto& [k, s] : scopes) list.push_back(s);
  }
  std::vector<std::shared_ptr<Slot>> out;
  for (auto& s : list) {
    std::lock_guard lock(s->mu);
    for (auto& [n, slot] : s->slots) out.push_back(slot);
  }
  return out;
}

// Children are forked on the supervisor thread: PR_SET_PDEATHSIG fires when the forking
// thread ends, and this one lives as long as the target.
Status LocalTarget::Impl::OnSupervisor(std::function<Status()> fn) {
  auto done = std::make_shared<std::promise<Status>>();
  auto result = done->get_future();
  {
    std::lock_guard lock(sup_mu);
    if (stop) return Status(ErrorCode::kTemporarilyUnavailable, "the control plane is stopping");
    jobs.push_back([fn = std::move(fn), done] { done->set_value(fn()); });
  }
  sup_cv.notify_all();
  return result.get();
}

Status LocalTarget::Impl::Launch(Slot& s) {
  ASSIGN_OR_RETURN(int port, internal::FreeLoopbackPort());
  std::string registry = o.registry_url ? o.registry_url() : "";
  std::vector<std::string> argv = {o.studio_bin,   "serve-model",
                                   "--model",      s.spec.model_uri,
                                   "--registry",   registry,
                                   "--host",       "127.0.0.1",
                                   "--port",       std::to_string(port),
                                   "--cache-dir",  o.cache_dir,
                                   "--workers",    "2",
                                   "--log-format", "json"};
  if (o.extra_args)
    for (auto& a : o.extra_args(s.scope, s.spec)) argv.push_back(a);
  // The token travels in the environment, not on the command line (ps would show it).
  std::vector<std::string> env = {"STUDIO_TOKEN=" + s.token};
  ASSIGN_OR_RETURN(pid_t pid, internal::Spawn(argv, env, s.log_path, true));
  {
    std::lock_guard lock(s.pool_mu);
    s.pool.clear();
    s.pool_port = port;
  }
  s.exited = false;
  s.ready = false;
  s.port = port;
  s.pid = pid;
  log::Info("deploy slot process started", {{"project", s.scope.project},
                                            {"environment", s.scope.environment},
                                            {"slot", s.spec.name},
                                            {"model", s.spec.model_uri},
                                            {"pid", static_cast<long long>(pid)},
                                            {"port", port}});
  return Status::Ok();
}

// Reaps `s`'s process if it exited; true when it is gone.
bool LocalTarget::Impl::Reap(Slot& s) {
  pid_t pid = s.pid;
  if (pid <= 0 || s.exited) return true;
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    s.exited = true;
    s.ready = false;
    return true;
  }
  return false;
}

void LocalTarget::Impl::Supervise() {
  int64_t now = NowMs();
  for (auto& sp : AllSlots()) {
    Slot& s = *sp;
    if (s.stopping) continue;
    if (!s.exited && Reap(s) && s.started) {
      int delay = std::min(30000, 1000 << std::min(s.restarts, 5));
      log::Warn("deploy slot process died; restarting",
                {{"project", s.scope.project},
                 {"environment", s.scope.environment},
                 {"slot", s.spec.name},
                 {"restart_in_ms", delay},
                 {"log_tail", internal::LogTail(s.log_path, 300)}});
      s.restart_pending = true;
      s.restart_at = now + delay;
      ++s.restarts;
    }
    if (s.restart_pending && now >= s.restart_at) {
      s.restart_pending = false;
      Status st = Launch(s);
      if (!st.ok()) {
        s.restart_pending = true;
        s.restart_at = now + 5000;
      } else {
        s.awaiting_ready = true;
      }
    }
    if (s.awaiting_ready && !s.exited && ProbeReady(s.port, 200)) {
      s.awaiting_ready = false;
      s.ready = true;
    }
  }
}

void LocalTarget::Impl::SupervisorLoop() {
  std::unique_lock lock(sup_mu);
  while (!stop) {
    while (!jobs.empty()) {
      auto job = std::move(jobs.front());
      jobs.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
    lock.unlock();
    Supervise();
    lock.lock();
    sup_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop || !jobs.empty(); });
  }
  // Jobs queued while stopping fail instead of hanging their callers.
  for (auto& job : jobs) job();
  jobs.clear();
}

// SIGTERM (serve-model drains), then SIGKILL after `grace_ms`.
void LocalTarget::Impl::Terminate(Slot& s, int grace_ms) {
  pid_t pid = s.pid;
  if (pid <= 0) return;
  if (!Reap(s)) internal::SignalGroup(pid, SIGTERM);
  int64_t deadline = NowMs() + grace_ms;
  while (!Reap(s) && NowMs() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!Reap(s)) {
    internal::SignalGroup(pid, SIGKILL);
    while (!Reap(s)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  s.ready = false;
}

void LocalTarget::Impl::AttachMetrics(Slot& s) {
  if (!o.metrics) return;
  metrics::Labels l = {{"project", s.scope.project},
                       {"environment", s.scope.environment},
                       {"slot", s.spec.name},
                       {"model", s.spec.model_name},
                       {"version", s.spec.model_version}};
  s.m_requests = &o.metrics->GetCounter("studio_deploy_slot_requests_total",
                                        "Requests the deployment router sent to a slot.", l);
  s.m_errors =
      &o.metrics->GetCounter("studio_deploy_slot_errors_total",
                             "Router requests a slot answered with 5xx or did not answer.", l);
  s.m_latency = &o.metrics->GetHistogram("studio_deploy_slot_request_duration_seconds",
                                         "Router-to-slot request latency in seconds.",
                                         metrics::DefaultLatencyBuckets(), l);
  s.m_weight =
      &o.metrics->GetGauge("studio_deploy_slot_weight", "Traffic weight of a slot in percent.", l);
}

LocalTarget::LocalTarget(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<LocalTarget>> LocalTarget::Create(Options options) {
  if (options.studio_bin.empty()) options.studio_bin = internal::SelfExe();
  std::error_code ec;
  if (options.log_dir.empty())
    options.log_dir = (std::filesystem::temp_directory_path() / "studio-deploy-logs").string();
  std::filesystem::create_directories(options.log_dir, ec);
  if (ec) return Internal("cannot create " + options.log_dir + ": " + ec.message());
  if (options.cache_dir.empty())
    options.cache_dir = (std::filesystem::temp_directory_path() /
                         ("studio-deploy-cache-" + std::to_string(getpid())))
                            .string();
  std::filesystem::create_directories(options.cache_dir, ec);
  auto impl = std::make_unique<Impl>();
  impl->o = std::move(options);
  Impl* raw = impl.get();
  impl->supervisor = std::thread([raw] { raw->SupervisorLoop(); });
  return std::unique_ptr<LocalTarget>(new LocalTarget(std::move(impl)));
}

LocalTarget::~LocalTarget() { Shutdown(); }

void LocalTarget::Shutdown() {
  if (impl_->shut_down.exchange(true)) return;
  auto slots = impl_->AllSlots();
  {
    std::lock_guard lock(impl_->scopes_mu);
    for (auto& [k, scope] : impl_->scopes) {
      std::lock_guard l(scope->mu);
      scope->weights.clear();
    }
  }
  for (auto& s : slots) {
    s->stopping = true;
    if (s->pid > 0 && !impl_->Reap(*s)) internal::SignalGroup(s->pid, SIGTERM);
  }
  for (auto& s : slots) impl_->Terminate(*s, 10000);
  {
    std::lock_guard lock(impl_->sup_mu);
    impl_->stop = true;
  }
  impl_->sup_cv.notify_all();
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  std::error_code ec;
  if (impl_->o.cache_dir.find("studio-deploy-cache-") != std::string::npos)
    std::filesystem::remove_all(impl_->o.cache_dir, ec);
}

Status LocalTarget::StartSlot(const TargetScope& scope, const SlotSpec& spec) {
  if (impl_->shut_down) return Status(ErrorCode::kTemporarilyUnavailable, "target stopped");
  if (spec.name.empty() || spec.model_uri.empty())
    return InvalidArgument("a slot needs a name and a model URI");
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), true);
  bool exists = false;
  {
    std::lock_guard lock(sc->mu);
    exists = sc->slots.count(spec.name) > 0;
  }
  if (exists) RETURN_IF_ERROR(StopSlot(scope, spec.name));  // replace

  auto slot = std::make_shared<Slot>();
  slot->scope = scope;
  slot->spec = spec;
  std::string safe = scope.project + "-" + scope.environment + "-" + spec.name;
  for (char& c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  slot->log_path = (std::filesystem::path(impl_->o.log_dir) / (safe + ".log")).string();
  if (impl_->o.token) {
    ASSIGN_OR_RETURN(slot->token, impl_->o.token(scope, spec));
  }
  impl_->AttachMetrics(*slot);
  {
    std::lock_guard lock(sc->mu);
    sc->slots[spec.name] = slot;  // weight 0 until SetWeights routes to it
  }
  Slot* s = slot.get();
  Status launched = impl_->OnSupervisor([this, s] { return impl_->Launch(*s); });
  auto fail = [&](const std::string& why) {
    {
      std::lock_guard lock(sc->mu);
      auto it = sc->slots.find(spec.name);
      if (it != sc->slots.end() && it->second == slot) sc->slots.erase(it);
    }
    slot->stopping = true;
    impl_->Terminate(*slot, 2000);
    return Status(ErrorCode::kInternalError, why);
  };
  if (!launched.ok()) return fail("cannot start slot '" + spec.name + "': " + launched.message());
  int64_t deadline = NowMs() + impl_->o.ready_timeout_ms;
  while (true) {
    if (impl_->shut_down) return fail("the control plane is stopping");
    if (impl_->Reap(*slot)) {
      return fail("slot '" + spec.name + "' (" + spec.model_uri +
                  ") exited before it was ready: " + internal::LogTail(slot->log_path));
    }
    if (ProbeReady(slot->port, 500)) break;
    if (NowMs() > deadline)
      return fail("slot '" + spec.name + "' was not ready within " +
                  std::to_string(impl_->o.ready_timeout_ms / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  slot->ready = true;
  slot->started = true;
  return Status::Ok();
}

Status LocalTarget::StopSlot(const TargetScope& scope, const std::string& name) {
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), false);
  if (!sc) return Status::Ok();
  std::shared_ptr<Slot> slot;
  {
    std::lock_guard lock(sc->mu);
    auto it = sc->slots.find(name);
    if (it == sc->slots.end()) return Status::Ok();
    slot = it->second;
    sc->slots.erase(it);
    sc->weights.erase(name);
    sc->wrr.erase(name);
  }
  slot->stopping = true;
  if (slot->m_weight) slot->m_weight->Set(0);
  // Out of rotation now; requests already forwarded finish on it before it stops.
  int64_t deadline = NowMs() + impl_->o.drain_timeout_ms;
  while (slot->inflight.load() > 0 && NowMs() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->Terminate(*slot, 10000);
  log::Info("deploy slot stopped", {{"project", scope.project},
                                    {"environment", scope.environment},
                                    {"slot", name},
                                    {"requests", static_cast<long long>(slot->requests.load())},
                                    {"errors", static_cast<long long>(slot->errors.load())}});
  return Status::Ok();
}

Result<bool> LocalTarget::SlotHealthy(const TargetScope& scope, const std::string& name) {
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), false);
  std::shared_ptr<Slot> slot;
  if (sc) {
    std::lock_guard lock(sc->mu);
    auto it = sc->slots.find(name);
    if (it != sc->slots.end()) slot = it->second;
  }
  if (!slot) return NotFound("slot '" + name + "' is not running");
  if (slot->exited) return false;
  return ProbeReady(slot->port, 1000);
}
}  // namespace studio::deploy
