// The router half of LocalTarget: weighted choice, forwarding over per-slot keep-alive pools,
// and the per-slot figures (requests, errors, latency histogram) the canary analysis reads.
#include <httplib.h>

#include "common/error_mapping.h"
#include "deploy/internal/local_state.h"
#include "deploy/local_target.h"

namespace studio::deploy {
namespace {

using local::Clock;
using local::Key;
using local::Slot;

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

}  // namespace

ForwardResponse LocalTarget::Impl::Send(Slot& s, const ForwardRequest& req) {
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
