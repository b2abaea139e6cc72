// The controller's recovery after a restart and the rollback of a LIVE deployment to the one
// it replaced (docs/deployments.md "Restarts", "Manual rollback").
#include "common/ids.h"
#include "common/log.h"
#include "common/time_util.h"
#include "deploy/internal/driver.h"
#include "deploy/service.h"

namespace studio::deploy {

// After a restart: the local target's slots died with the previous process, so LIVE versions
// are started again; deployments that were mid-flight are failed with a clear reason (their
// traffic stays on, or returns to, the previous version).
void DeployService::Recover() {
  std::vector<store::DeploymentRecord> live, inflight;
  Status st = o_.store->Read([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(live, repo.WithStatus({kLive}));
    ASSIGN_OR_RETURN(inflight, repo.WithStatus({kDeploying, kCanary, kGreenValidating}));
    return Status::Ok();
  });
  if (!st.ok()) {
    log::Error("deploy controller: recovery failed", {{"error", st.message()}});
    return;
  }
  for (const auto& d : live) {
    if (d.active)
      (void)Transition(d.id, kLive, kLive, "system",
                       "the control plane restarted during a rollback; this version stays live",
                       nlohmann::json::object(), [](store::Tx&, store::DeploymentRecord& r) {
                         r.active = false;
                         return Status::Ok();
                       });
    if (!d.superseded_by.empty() || d.slot.empty() || !o_.target->SlotsEndWithControlPlane())
      continue;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    TargetScope scope{d.project_name, d.environment, d.id};
    std::string v = std::to_string(d.model_version);
    auto policy = ParsePolicy(nlohmann::json::parse(d.policy_json, nullptr, false));
    SlotSpec spec{d.slot,
                  d.model_name,
                  v,
                  "models:/" + d.model_name + "/" + v,
                  policy.ok() ? policy->replicas : 1,
                  policy.ok() ? policy->max_replicas : 1};
    Status s = o_.target->StartSlot(scope, spec);
    if (s.ok()) s = o_.target->SetWeights(scope, {{d.slot, 100}});
    if (s.ok()) {
      log::Info("deploy: restored live slot", {{"deployment", d.id}, {"slot", d.slot}});
    } else {
      log::Error("deploy: cannot restore live slot",
                 {{"deployment", d.id}, {"error", s.message()}});
      (void)Transition(
          d.id, kLive, kLive, "system",
          "could not restart the live slot after a control-plane restart: " + s.message(),
          nlohmann::json::object());
    }
  }
  for (const auto& d : inflight) {
    if (d.status == kDeploying && d.slot.empty()) continue;  // never started: driven as usual
    TargetScope scope{d.project_name, d.environment, d.id};
    if (!o_.target->SlotsEndWithControlPlane()) {
      if (!d.previous_slot.empty()) (void)o_.target->SetWeights(scope, {{d.previous_slot, 100}});
      (void)o_.target->StopSlot(scope, d.slot);
    }
    std::string reason = "the control plane stopped while this deployment was " + d.status +
                         "; traffic stays on the previous version" +
                         (d.previous_slot.empty() ? "" : " (slot " + d.previous_slot + ")") +
                         "; deploy again to retry";
    (void)Transition(d.id, d.status, kFailed, "system", reason, nlohmann::json::object(),
                     [&](store::Tx&, store::DeploymentRecord& r) {
                       r.error = reason;
                       r.weights_json = d.previous_slot.empty()
                                            ? "{}"
                                            : WeightsJson({{d.previous_slot, 100}}).dump();
                       return Status::Ok();
                     });
  }
}

void DeployService::DriveRollbackOfLive(const std::string& id, Driver& drv) {
  store::DeploymentRecord d, prev;
  Status st = o_.store->Read([&](store::Tx& tx) -> Status {
    store::Deployments repo(tx);
    ASSIGN_OR_RETURN(d, repo.Get(id));
    ASSIGN_OR_RETURN(prev, repo.Get(d.previous_deployment_id));
    return Status::Ok();
  });
  std::string actor, reason;
  {
    std::lock_guard lock(drv.mu);
    actor = drv.abort_actor;
    reason = drv.abort_reason;
  }
  auto give_up = [&](const std::string& why) {
    (void)Transition(id, kLive, kLive, actor, "rollback failed, this version stays live: " + why,
                     {}, [](store::Tx&, store::DeploymentRecord& r) {
                       r.active = false;
                       return Status::Ok();
                     });
  };
  if (!st.ok()) return give_up(st.message());
  TargetScope scope{d.project_name, d.environment, d.id};
  std::string slot = d.slot == "blue" ? "green" : "blue";
  std::string v = std::to_string(prev.model_version);
  auto policy = ParsePolicy(nlohmann::json::parse(prev.policy_json, nullptr, false));
  SlotSpec spec{slot,
                prev.model_name,
                v,
                "models:/" + prev.model_name + "/" + v,
                policy.ok() ? policy->replicas : 1,
                policy.ok() ? policy->max_replicas : 1};
  Status s = o_.target->StartSlot(scope, spec);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  if (s.ok()) s = o_.target->SetWeights(scope, {{slot, 100}});
  if (!s.ok()) {
    (void)o_.target->StopSlot(scope, slot);
    return give_up("version " + v + " could not start: " + s.message());
  }
  std::string full = reason + "; traffic back to " + prev.model_name + " version " + v +
                     " (deployment " + prev.id + ") on slot " + slot;
  Status t = Transition(id, kLive, kRolledBack, actor, full, {{"restored_deployment", prev.id}},
                        [&](store::Tx& tx, store::DeploymentRecord& r) -> Status {
                          r.weights_json = "{}";
                          r.error = full;
                          store::Deployments repo(tx);
                          ASSIGN_OR_RETURN(auto p, repo.Get(prev.id));
                          p.superseded_by = "";
                          p.slot = slot;
                          p.weights_json = WeightsJson({{slot, 100}}).dump();
                          p.updated_at = NowMillis();
                          ASSIGN_OR_RETURN(bool ok, repo.Update(p, kLive));
                          (void)ok;
                          store::DeploymentEventRecord ev{
                              NewUuidV7(),
                              p.id,
                              kLive,
                              kLive,
                              "live again: deployment " + id + " was rolled back",
                              nlohmann::json({{"slot", slot}}).dump(),
                              actor,
                              NowMillis()};
                          return repo.InsertEvent(ev);
                        });
  if (!t.ok())
    log::Error("deploy: cannot record rollback", {{"deployment", id}, {"error", t.message()}});
  (void)o_.target->StopSlot(scope, d.slot);
}

}  // namespace studio::deploy
