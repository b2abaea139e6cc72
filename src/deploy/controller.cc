// The deployment controller: a loop that hands each approved deployment to a driver thread,
// and the drivers that run the strategies (direct, canary, blue-green) through the target.
#include <chrono>
#include <cstdio>

#include "common/ids.h"
#include "common/log.h"
#include "common/time_util.h"
#include "deploy/internal/driver.h"
#include "deploy/service.h"
#include "store/models_repo.h"

namespace studio::deploy {
namespace {

using Clock = std::chrono::steady_clock;

std::string Fmt(double v, int digits = 3) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s(buf);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

nlohmann::json MetricsJson(const SlotMetrics& m) {
  return {{"requests", m.requests},
          {"errors", m.errors},
          {"error_rate", m.error_rate()},
          {"p50_ms", m.p50_ms},
          {"p99_ms", m.p99_ms}};
}

nlohmann::json ThresholdsJson(const AnalysisPolicy& a) {
  return {{"min_requests", a.min_requests},
          {"max_error_rate", a.max_error_rate},
          {"max_p99_ms", a.max_p99_ms},
          {"window_seconds", a.window_seconds},
          {"interval_seconds", a.interval_seconds}};
}

// Why `m` fails the analysis ('' when it passes). Only judged over min_requests.
std::string Failure(const SlotMetrics& m, const AnalysisPolicy& a) {
  if (m.requests < a.min_requests) return "";
  if (m.error_rate() > a.max_error_rate)
    return "error rate " + Fmt(m.error_rate()) + " > " + Fmt(a.max_error_rate) + " (" +
           std::to_string(m.errors) + " errors in " + std::to_string(m.requests) + " requests)";
  if (m.p99_ms > a.max_p99_ms)
    return "p99 latency " + Fmt(m.p99_ms, 1) + " ms > " + Fmt(a.max_p99_ms, 1) + " ms over " +
           std::to_string(m.requests) + " requests";
  return "";
}

std::string Passed(const SlotMetrics& m, const AnalysisPolicy& a) {
  return "error rate " + Fmt(m.error_rate()) + " <= " + Fmt(a.max_error_rate) + " over " +
         std::to_string(m.requests) + " requests, p99 " + Fmt(m.p99_ms, 1) +
         " ms <= " + Fmt(a.max_p99_ms, 1) + " ms";
}

// The first slot name of `preference` not in use by the live deployment.
std::string ChooseSlot(const std::string& strategy, const std::string& live_slot) {
  std::vector<std::string> pref =
      strategy == kCanaryStrategy ? std::vector<std::string>{"canary", "blue", "green"}
      : strategy == kBlueGreen    ? std::vector<std::string>{"green", "blue", "canary"}
                                  : std::vector<std::string>{"blue", "green", "canary"};
  for (const auto& p : pref)
    if (p != live_slot) return p;
  return pref.front();
}

// One request the model accepts: a row of zeros (empty strings, false) in signature order.
// Without a column signature, a readiness probe through the same path.
std::pair<std::string, std::string> SmokeRequest(const std::string& signature_json) {
  auto sig = nlohmann::json::parse(signature_json.empty() ? "{}" : signature_json, nullptr, false);
  if (sig.is_object() && sig.contains("inputs")) {
    auto inputs = sig["inputs"].is_string()
                      ? nlohmann::json::parse(sig["inputs"].get<std::string>(), nullptr, false)
                      : sig["inputs"];
    if (inputs.is_array() && !inputs.empty() && inputs[0].is_object() &&
        inputs[0].contains("name")) {
      nlohmann::json row = nlohmann::json::array();
      for (const auto& col : inputs) {
        std::string type = col.value("type", "double");
        if (type == "string")
          row.push_back("");
        else if (type == "boolean")
          row.push_back(false);
        else
          row.push_back(0);
      }
      return {"/predict", nlohmann::json({{"instances", {row}}}).dump()};
    }
  }
  return {"/ready", ""};
}

}  // namespace

void DeployService::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  controller_ = std::thread([this] { ControllerLoop(); });
}

void DeployService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (o_.before_join) o_.before_join();
  if (controller_.joinable()) controller_.join();
  std::map<std::string, std::shared_ptr<Driver>> drivers;
  {
    std::lock_guard lock(mu_);
    drivers.swap(drivers_);
  }
  for (auto& [id, d] : drivers)
    if (d->thread.joinable()) d->thread.join();
}

bool DeployService::Wait(Driver& drv, int ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_ || drv.abort.load(); });
  return !stopping_ && !drv.abort;
}

void DeployService::ControllerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_ && o_.ready && !o_.ready()) cv_.wait_for(lock, std::chrono::milliseconds(50));
  if (stopping_) return;
  lock.unlock();
  Recover();
  lock.lock();
  while (!stopping_) {
    for (auto it = drivers_.begin(); it != drivers_.end();) {
      if (it->second->done) {
        if (it->second->thread.joinable()) it->second->thread.join();
        it = drivers_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    std::vector<store::DeploymentRecord> ready;
    Status st = o_.store->Read([&](store::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(ready, store::Deployments(tx).WithStatus({kDeploying}));
      return Status::Ok();
    });
    if (!st.ok())
      log::Warn("deploy controller: cannot read deployments", {{"error", st.message()}});
    lock.lock();
    for (const auto& d : ready) {
      if (stopping_ || drivers_.count(d.id)) continue;
      auto drv = std::make_shared<Driver>();
      drivers_[d.id] = drv;
      std::string id = d.id;
      drv->thread = std::thread([this, id, drv] {
        Drive(id, *drv);
        drv->done = true;
        cv_.notify_all();
      });
    }
    cv_.wait_for(lock, std::chrono::milliseconds(o_.poll_ms));
  }
}

void DeployService::Drive(const std::string& id, Driver& drv) {
  store::DeploymentRecord d;
  std::vector<store::DeploymentRecord> current;
  std::string signature;
  Status st = o_.store->Read([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(d, repo.Get(id));
    ASSIGN_OR_RETURN(current, repo.Current(d.project_id, d.environment));
    store::Models models(tx);
    auto m = models.GetModel(d.model_name);
    if (m.ok()) {
      auto v = models.GetVersion(*m, d.model_version);
      if (v.ok()) signature = v->signature_json;
    }
    return Status::Ok();
  });
  if (!st.ok() || d.status != kDeploying) return;
  auto stopping = [&] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  auto policy_r = ParsePolicy(nlohmann::json::parse(d.policy_json, nullptr, false));
  if (!policy_r.ok()) {
    (void)Transition(id, kDeploying, kFailed, "system",
                     "the recorded policy is invalid: " + policy_r.status().message(), {});
    return;
  }
  const EnvironmentPolicy policy = *policy_r;
  const AnalysisPolicy& a = policy.analysis;
  TargetScope scope{d.project_name, d.environment, d.id};

  // The version serving now, if its slot is really up.
  std::string prev_slot, prev_id, prev_note;
  if (!current.empty() && !current[0].slot.empty()) {
    auto healthy = o_.target->SlotHealthy(scope, current[0].slot);
    if (healthy.ok() && *healthy) {
      prev_slot = current[0].slot;
      prev_id = current[0].id;
    } else {
      prev_note = "; the live slot " + current[0].slot + " is not healthy, so it is replaced";
      prev_id = current[0].id;
    }
  }
  std::string strategy = d.strategy;
  std::string note;
  if (strategy == kCanaryStrategy && prev_slot.empty()) {
    strategy = kDirect;
    note = "; no live version to compare a canary with, so deployed directly";
  }
  const std::string slot = ChooseSlot(strategy, prev_slot);
  const std::string v = std::to_string(d.model_version);
  Status claimed = Transition(
      id, kDeploying, kDeploying, "system",
      "starting slot " + slot + " (" + d.model_name + " version " + v + ")" +
          (prev_slot.empty() ? "" : " next to live slot " + prev_slot) + note + prev_note,
      {{"slot", slot}, {"previous_slot", prev_slot}, {"strategy", strategy}},
      [&](store::Tx&, store::DeploymentRecord& r) {
        r.slot = slot;
        r.previous_slot = prev_slot;
        r.previous_deployment_id = prev_id;
        r.weights_json = prev_slot.empty() ? "{}" : WeightsJson({{prev_slot, 100}}).dump();
        return Status::Ok();
      });
  if (!claimed.ok()) return;

  const std::map<std::string, int> back = prev_slot.empty()
                                              ? std::map<std::string, int>{}
                                              : std::map<std::string, int>{{prev_slot, 100}};
  auto fail = [&](const std::string& from, const std::string& reason, nlohmann::json details) {
    (void)o_.target->StopSlot(scope, slot);
    (void)Transition(id, from, kFailed, "system", reason, details,
                     [&](store::Tx&, store::DeploymentRecord& r) {
                       r.error = reason;
                       r.weights_json = WeightsJson(back).dump();
                       return Status::Ok();
                     });
  };
  // Traffic back to the previous version, the new slot stopped (drained), ROLLED_BACK.
  auto roll_back = [&](const std::string& from, const std::string& reason, nlohmann::json details) {
    if (!back.empty()) (void)o_.target->SetWeights(scope, back);
    (void)o_.target->StopSlot(scope, slot);
    details["thresholds"] = ThresholdsJson(a);
    details["weights_after"] = WeightsJson(back);
    std::string actor = "system";
    if (drv.abort) {
      std::lock_guard lock(drv.mu);
      actor = drv.abort_actor;
    }
    (void)Transition(id, from, kRolledBack, actor, reason, details,
                     [&](store::Tx&, store::DeploymentRecord& r) {
                       r.error = reason;
                       r.weights_json = WeightsJson(back).dump();
                       return Status::Ok();
                     });
  };
  auto manual = [&]() {
    std::lock_guard lock(drv.mu);
    return drv.abort_reason;
  };
  // 100% to the new slot, LIVE, the previous LIVE deployment superseded, its slot drained.
  auto promote = [&](const std::string& from, const std::string& reason, nlohmann::json details) {
    Status s = o_.target->SetWeights(scope, {{slot, 100}});
    if (!s.ok()) return fail(from, "cannot shift traffic to slot " + slot + ": " + s.message(), {});
    Status t = Transition(id, from, kLive, "system", reason, details,
                          [&](store::Tx& tx, store::DeploymentRecord& r) -> Status {
                            r.weights_json = WeightsJson({{slot, 100}}).dump();
                            if (prev_id.empty()) return Status::Ok();
                            store::Deployments repo(tx);
                            ASSIGN_OR_RETURN(auto p, repo.Get(prev_id));
                            p.superseded_by = id;
                            p.weights_json = "{}";
                            p.updated_at = NowMillis();
                            ASSIGN_OR_RETURN(bool ok, repo.Update(p, kLive));
                            (void)ok;
                            return Status::Ok();
                          });
    if (!t.ok())
      log::Error("deploy: cannot record LIVE", {{"deployment", id}, {"error", t.message()}});
    if (!prev_slot.empty()) (void)o_.target->StopSlot(scope, prev_slot);
  };

  // 1. Start the new slot: it must pass its readiness check before any traffic.
  SlotSpec spec{slot,
                d.model_name,
                v,
                "models:/" + d.model_name + "/" + v,
                policy.replicas,
                policy.max_replicas};
  Status started = o_.target->StartSlot(scope, spec);
  if (stopping()) return;
  if (!started.ok())
    return fail(kDeploying,
                "slot " + slot +
                    " failed to start or failed its health check and received no "
                    "traffic" +
                    (prev_slot.empty() ? "" : "; slot " + prev_slot + " keeps serving") + ": " +
                    started.message(),
                {{"health_check", "failed"}, {"error", started.message()}});
  if (drv.abort) return roll_back(kDeploying, manual(), {});

  // 2. Smoke test: one real request through the router's path to the new slot.
  auto [smoke_path, smoke_body] = SmokeRequest(signature);
  auto send = [&](int n) {
    int sent = 0;
    for (int i = 0; i < n && !stopping() && !drv.abort; ++i) {
      auto r = o_.target->SendToSlot(scope, slot, smoke_body.empty() ? "GET" : "POST", smoke_path,
                                     smoke_body);
      if (!r.ok()) break;
      ++sent;
    }
    return sent;
  };
  if (policy.smoke_test) {
    auto r = o_.target->SendToSlot(scope, slot, smoke_body.empty() ? "GET" : "POST", smoke_path,
                                   smoke_body);
    if (r.ok() && *r != 200)
      return fail(kDeploying,
                  "smoke test failed: " + smoke_path + " on slot " + slot + " answered " +
                      std::to_string(*r),
                  {{"smoke_test", {{"path", smoke_path}, {"status", *r}}}});
  }

  if (strategy == kDirect)
    return promote(kDeploying,
                   "deployed directly: slot " + slot + " ready" +
                       (policy.smoke_test ? ", smoke test passed" : "") + ", 100% of traffic",
                   {});

  if (strategy == kCanaryStrategy) {
    std::map<std::string, int> w = {{prev_slot, 100 - policy.canary_percent},
                                    {slot, policy.canary_percent}};
    Status s = o_.target->SetWeights(scope, w);
    if (!s.ok()) return fail(kDeploying, "cannot set canary weights: " + s.message(), {});
    if (!Transition(id, kDeploying, kCanary, "system",
                    "canary at " + std::to_string(policy.canary_percent) + "%: analysis over " +
                        std::to_string(a.window_seconds) + " s",
                    {{"thresholds", ThresholdsJson(a)}},
                    [&](store::Tx&, store::DeploymentRecord& r) {
                      r.weights_json = WeightsJson(w).dump();
                      return Status::Ok();
                    })
             .ok())
      return;
    auto start = Clock::now();
    SlotMetrics m;
    while (true) {
      int left_ms =
          a.window_seconds * 1000 -
          static_cast<int>(
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
      if (left_ms <= 0) break;
      if (!Wait(drv, std::min(left_ms, a.interval_seconds * 1000))) {
        if (stopping()) return;
        auto mm = o_.target->Metrics(scope, slot);
        return roll_back(kCanary, manual(), {{"metrics", mm.ok() ? MetricsJson(*mm) : nullptr}});
      }
      auto mm = o_.target->Metrics(scope, slot);
      if (!mm.ok()) continue;
      m = *mm;
      std::string why = Failure(m, a);
      if (!why.empty())
        return roll_back(kCanary,
                         "canary failed analysis: " + why + "; traffic back to " + prev_slot,
                         {{"metrics", MetricsJson(m)}});
    }
    if (m.requests < a.min_requests) {
      // Too little live traffic in the window: top it up with validation requests.
      send(static_cast<int>(a.min_requests - m.requests));
      if (stopping()) return;
      auto mm = o_.target->Metrics(scope, slot);
      if (mm.ok()) m = *mm;
    }
    if (m.requests < a.min_requests)
      return roll_back(kCanary,
                       "canary analysis inconclusive: " + std::to_string(m.requests) +
                           " requests, fewer than min_requests " + std::to_string(a.min_requests),
                       {{"metrics", MetricsJson(m)}});
    std::string why = Failure(m, a);
    if (!why.empty())
      return roll_back(kCanary, "canary failed analysis: " + why + "; traffic back to " + prev_slot,
                       {{"metrics", MetricsJson(m)}});
    return promote(kCanary, "canary passed analysis (" + Passed(m, a) + "); promoted to 100%",
                   {{"metrics", MetricsJson(m)}, {"thresholds", ThresholdsJson(a)}});
  }

  // Blue-green: validate the idle green, shift all traffic, bake, then retire blue.
  if (!Transition(id, kDeploying, kGreenValidating, "system",
                  "green slot " + slot + " started and passed its health check; validating",
                  {{"thresholds", ThresholdsJson(a)}})
           .ok())
    return;
  auto healthy = o_.target->SlotHealthy(scope, slot);
  if (!healthy.ok() || !*healthy)
    return fail(kGreenValidating,
                "green slot " + slot + " failed its health check and received no traffic", {});
  int sent = send(a.min_requests);
  if (drv.abort) return roll_back(kGreenValidating, manual(), {});
  if (stopping()) return;
  auto vm = o_.target->Metrics(scope, slot);
  SlotMetrics m0 = vm.ok() ? *vm : SlotMetrics{};
  std::string why = Failure(m0, a);
  if (!why.empty())
    return fail(kGreenValidating, "green failed validation before any traffic shift: " + why,
                {{"metrics", MetricsJson(m0)},
                 {"thresholds", ThresholdsJson(a)},
                 {"validation_requests", sent}});
  Status s = o_.target->SetWeights(scope, {{slot, 100}});
  if (!s.ok()) return fail(kGreenValidating, "cannot shift traffic to green: " + s.message(), {});
  (void)Transition(id, kGreenValidating, kGreenValidating, "system",
                   "green validated (" + Passed(m0, a) + "); 100% of traffic shifted to " + slot +
                       ", baking " + std::to_string(policy.bake_seconds) + " s",
                   {{"metrics", MetricsJson(m0)}}, [&](store::Tx&, store::DeploymentRecord& r) {
                     r.weights_json = WeightsJson({{slot, 100}}).dump();
                     return Status::Ok();
                   });
  auto bake_start = Clock::now();
  SlotMetrics m = m0;
  while (true) {
    int left_ms = policy.bake_seconds * 1000 -
                  static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       Clock::now() - bake_start)
                                       .count());
    if (left_ms <= 0) break;
    if (!Wait(drv, std::min(left_ms, a.interval_seconds * 1000))) {
      if (stopping()) return;
      return roll_back(kGreenValidating, manual() + "; traffic back to " + prev_slot, {});
    }
    auto mm = o_.target->Metrics(scope, slot);
    if (!mm.ok()) continue;
    m = *mm;
    SlotMetrics delta = m;  // traffic since the shift
    delta.requests -= m0.requests;
    delta.errors -= m0.errors;
    std::string bad = Failure(delta, a);
    if (!bad.empty())
      return roll_back(kGreenValidating,
                       "green failed during the bake period: " + bad +
                           "; traffic shifted back to " +
                           (prev_slot.empty() ? std::string("nothing (no blue)") : prev_slot),
                       {{"metrics", MetricsJson(delta)}});
  }
  promote(kGreenValidating,
          "green passed validation and the " + std::to_string(policy.bake_seconds) +
              " s bake; live" + (prev_slot.empty() ? "" : ", blue slot " + prev_slot + " stopped"),
          {{"metrics", MetricsJson(m)}});
}

}  // namespace studio::deploy
