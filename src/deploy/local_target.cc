#include "deploy/local_target.h"

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <thread>

#include "common/error_mapping.h"
#include "common/log.h"
#include "deploy/internal/process.h"

namespace studio::deploy {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

const std::vector<double>& LatencyBoundsMs() {
  static const std::vector<double> kBounds = {0.5, 1,   2,    5,    10,   25,    50,    100,
                                              250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
  return kBounds;
}

// Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank.
double Quantile(const metrics::Histogram& h, double q) {
  std::vector<uint64_t> cum;
  double sum = 0;
  uint64_t count = 0;
  h.Snapshot(&cum, &sum, &count);
  if (count == 0) return 0;
  const auto& b = h.bounds();
  double rank = q * static_cast<double>(count);
  for (size_t i = 0; i < cum.size(); ++i) {
    if (static_cast<double>(cum[i]) < rank) continue;
    if (i >= b.size()) return b.back();  // +Inf bucket: the highest finite bound
    double lower = i == 0 ? 0 : b[i - 1];
    double prev = i == 0 ? 0 : static_cast<double>(cum[i - 1]);
    double in_bucket = static_cast<double>(cum[i]) - prev;
    if (in_bucket <= 0) return b[i];
    return lower + (b[i] - lower) * (rank - prev) / in_bucket;
  }
  return b.back();
}

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

std::string Key(const std::string& project, const std::string& environment) {
  return project + "/" + environment;
}

ForwardResponse ErrorResponse(ErrorCode code, const std::string& message) {
  ForwardResponse r;
  r.status = HttpStatusFor(code);
  r.body = ErrorBody(Status(code, message));
  return r;
}

std::unique_ptr<httplib::Client> NewClient(int port, int read_timeout_s) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(2, 0);
  c->set_read_timeout(read_timeout_s, 0);
  c->set_write_timeout(read_timeout_s, 0);
  return c;
}

bool ProbeReady(int port, int timeout_ms) {
  if (port <= 0) return false;
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(0, timeout_ms * 1000);
  c.set_read_timeout(0, timeout_ms * 1000);
  auto res = c.Get("/ready");
  return res && res->status == 200;
}

}  // namespace

struct LocalTarget::Impl {
  Options o;
  std::mutex scopes_mu;
  std::map<std::string, std::shared_ptr<Scope>> scopes;

  std::mutex sup_mu;
  std::condition_variable sup_cv;
  std::deque<std::function<void()>> jobs;
  bool stop = false;
  std::thread supervisor;
  std::atomic<bool> shut_down{false};

  std::shared_ptr<Scope> GetScope(const std::string& key, bool create) {
    std::lock_guard lock(scopes_mu);
    auto it = scopes.find(key);
    if (it != scopes.end()) return it->second;
    if (!create) return nullptr;
    auto s = std::make_shared<Scope>();
    scopes[key] = s;
    return s;
  }

  std::vector<std::shared_ptr<Slot>> AllSlots() {
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
  Status OnSupervisor(std::function<Status()> fn) {
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

  Status Launch(Slot& s) {
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
  bool Reap(Slot& s) {
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

  void Supervise() {
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

  void SupervisorLoop() {
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
      sup_cv.wait_for(lock, std::chrono::milliseconds(100),
                      [this] { return stop || !jobs.empty(); });
    }
    // Jobs queued while stopping fail instead of hanging their callers.
    for (auto& job : jobs) job();
    jobs.clear();
  }

  // SIGTERM (serve-model drains), then SIGKILL after `grace_ms`.
  void Terminate(Slot& s, int grace_ms) {
    pid_t pid = s.pid;
    if (pid <= 0) return;
    if (!Reap(s)) internal::SignalGroup(pid, SIGTERM);
    int64_t deadline = NowMs() + grace_ms;
    while (!Reap(s) && NowMs() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!Reap(s)) {
      internal::SignalGroup(pid, SIGKILL);
      while (!Reap(s)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    s.ready = false;
  }

  ForwardResponse Send(Slot& s, const ForwardRequest& req) {
    auto start = Clock::now();
    ForwardResponse out;
    out.slot = s.spec.name;
    out.version = s.spec.model_version;
    std::string failure;
    bool answered = false;
    for (int attempt = 0; attempt < 2 && !answered; ++attempt) {
      int port = s.port;
      std::unique_ptr<httplib::Client> cli;
      bool reused = false;
      {
        std::lock_guard lock(s.pool_mu);
        if (s.pool_port == port && !s.pool.empty()) {
          cli = std::move(s.pool.back());
          s.pool.pop_back();
          reused = true;
        }
      }
      if (!cli) cli = NewClient(port, 60);
      httplib::Headers headers;
      if (!req.request_id.empty()) headers.emplace("X-Request-Id", req.request_id);
      if (!req.accept.empty()) headers.emplace("Accept", req.accept);
      httplib::Result res =
          req.method == "GET"
              ? cli->Get(req.path, headers)
              : cli->Post(req.path, headers, req.body,
                          req.content_type.empty() ? "application/json" : req.content_type);
      if (res) {
        answered = true;
        out.status = res->status;
        out.body = std::move(res->body);
        out.content_type = res->get_header_value("Content-Type");
        std::lock_guard lock(s.pool_mu);
        if (s.pool_port == port && s.pool.size() < 64) s.pool.push_back(std::move(cli));
      } else {
        failure = httplib::to_string(res.error());
        // A kept-alive connection the slot closed while idle: retry once on a fresh one.
        if (!reused) break;
      }
    }
    if (!answered) {
      out = ErrorResponse(ErrorCode::kTemporarilyUnavailable,
                          "slot '" + s.spec.name + "' did not answer: " + failure);
      out.status = 502;
      out.slot = s.spec.name;
      out.version = s.spec.model_version;
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    bool error = out.status >= 500;
    s.requests.fetch_add(1);
    if (error) s.errors.fetch_add(1);
    s.latency.Observe(ms);
    if (s.m_requests) s.m_requests->Inc();
    if (error && s.m_errors) s.m_errors->Inc();
    if (s.m_latency) s.m_latency->Observe(ms / 1000.0);
    return out;
  }

  void AttachMetrics(Slot& s) {
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
    s.m_weight = &o.metrics->GetGauge("studio_deploy_slot_weight",
                                      "Traffic weight of a slot in percent.", l);
  }
};

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

Status LocalTarget::SetWeights(const TargetScope& scope,
                               const std::map<std::string, int>& weights) {
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), true);
  int sum = 0;
  for (const auto& [n, w] : weights) {
    if (w < 0 || w > 100) return InvalidArgument("weight of slot '" + n + "' must be 0-100");
    sum += w;
  }
  if (sum != 100) return InvalidArgument("weights must add up to 100, not " + std::to_string(sum));
  std::lock_guard lock(sc->mu);
  for (const auto& [n, w] : weights)
    if (w > 0 && !sc->slots.count(n))
      return InvalidArgument("slot '" + n + "' is not running in " + scope.project + "/" +
                             scope.environment);
  sc->weights.clear();
  for (const auto& [n, w] : weights)
    if (w > 0) sc->weights[n] = w;
  sc->wrr.clear();
  for (auto& [n, s] : sc->slots)
    if (s->m_weight) s->m_weight->Set(sc->weights.count(n) ? sc->weights[n] : 0);
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

Result<SlotMetrics> LocalTarget::Metrics(const TargetScope& scope, const std::string& name) {
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), false);
  std::shared_ptr<Slot> slot;
  if (sc) {
    std::lock_guard lock(sc->mu);
    auto it = sc->slots.find(name);
    if (it != sc->slots.end()) slot = it->second;
  }
  if (!slot) return NotFound("slot '" + name + "' is not running");
  SlotMetrics m;
  m.requests = slot->requests.load();
  m.errors = slot->errors.load();
  m.p50_ms = Quantile(slot->latency, 0.5);
  m.p99_ms = Quantile(slot->latency, 0.99);
  return m;
}

std::map<std::string, int> LocalTarget::Weights(const std::string& project,
                                                const std::string& environment) {
  auto sc = impl_->GetScope(Key(project, environment), false);
  if (!sc) return {};
  std::lock_guard lock(sc->mu);
  return sc->weights;
}

ForwardResponse LocalTarget::Forward(const std::string& project, const std::string& environment,
                                     const ForwardRequest& req) {
  auto sc = impl_->GetScope(Key(project, environment), false);
  std::shared_ptr<Slot> chosen;
  if (sc) {
    std::lock_guard lock(sc->mu);
    // Smooth weighted round-robin: each slot gains its weight, the leader is picked and pays
    // the total back.
    int64_t total = 0;
    std::string best;
    for (const auto& [name, w] : sc->weights) {
      if (w <= 0 || !sc->slots.count(name)) continue;
      sc->wrr[name] += w;
      total += w;
      if (best.empty() || sc->wrr[name] > sc->wrr[best]) best = name;
    }
    if (!best.empty()) {
      sc->wrr[best] -= total;
      chosen = sc->slots[best];
      chosen->inflight.fetch_add(1);
    }
  }
  if (!chosen)
    return ErrorResponse(
        ErrorCode::kTemporarilyUnavailable,
        "no model is live in environment '" + environment + "' of project '" + project + "'");
  ForwardResponse out = impl_->Send(*chosen, req);
  chosen->inflight.fetch_sub(1);
  return out;
}

ForwardResponse LocalTarget::ForwardToSlot(const TargetScope& scope, const std::string& name,
                                           const ForwardRequest& req) {
  auto sc = impl_->GetScope(Key(scope.project, scope.environment), false);
  std::shared_ptr<Slot> slot;
  if (sc) {
    std::lock_guard lock(sc->mu);
    auto it = sc->slots.find(name);
    if (it != sc->slots.end()) {
      slot = it->second;
      slot->inflight.fetch_add(1);
    }
  }
  if (!slot)
    return ErrorResponse(ErrorCode::kResourceDoesNotExist, "slot '" + name + "' is not running");
  ForwardResponse out = impl_->Send(*slot, req);
  slot->inflight.fetch_sub(1);
  return out;
}

Result<int> LocalTarget::SendToSlot(const TargetScope& scope, const std::string& slot,
                                    const std::string& method, const std::string& path,
                                    const std::string& body) {
  ForwardRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.content_type = "application/json";
  req.request_id = "deploy-" + scope.deployment_id;
  ForwardResponse res = ForwardToSlot(scope, slot, req);
  if (res.slot.empty()) return NotFound("slot '" + slot + "' is not running");
  return res.status;
}

}  // namespace studio::deploy
