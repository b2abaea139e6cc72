#include "deploy/aws/ecs_target.h"

#include <algorithm>
#include <thread>

namespace studio::deploy::aws {
namespace {

using Clock = std::chrono::steady_clock;
using Forward = std::vector<std::pair<std::string, int>>;

bool IsSlot(std::string_view s) { return s == "blue" || s == "green" || s == "canary"; }

// Replaces the plan's placeholders with the values known now.
void Substitute(ojson& j, const std::map<std::string, std::string>& values) {
  if (j.is_string()) {
    auto it = values.find(j.get<std::string>());
    if (it != values.end()) j = it->second;
  } else if (j.is_structured()) {
    for (auto& v : j) Substitute(v, values);
  }
}

// What a listener answers once no slot is left: a JSON 503 in the API's error shape.
ojson NoSlotAction() {
  return ojson::array(
      {{{"Type", "fixed-response"},
        {"FixedResponseConfig",
         {{"StatusCode", "503"},
          {"ContentType", "application/json"},
          {"MessageBody",
           R"({"error_code":"TEMPORARILY_UNAVAILABLE","message":"no model is deployed"})"}}}}});
}

std::string Where(const TargetScope& scope) { return scope.project + "/" + scope.environment; }

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<EcsTarget>> EcsTarget::Create(EcsTargetOptions options) {
  if (options.poll_interval.count() < 0 || options.ready_timeout.count() <= 0) {
    return InvalidArgument("ECS target: poll interval and ready timeout must be positive");
  }
  ApiOptions api;
  api.region = options.region;
  api.ecs_endpoint = options.ecs_endpoint;
  api.elbv2_endpoint = options.elbv2_endpoint;
  api.autoscaling_endpoint = options.autoscaling_endpoint;
  api.monitoring_endpoint = options.monitoring_endpoint;
  api.max_attempts = options.max_attempts;
  if (options.credentials) {
    api.credentials = *options.credentials;
  } else {
    ASSIGN_OR_RETURN(api.credentials, studio::aws::CredentialsFromEnv());
  }
  std::unique_ptr<EcsTarget> t(new EcsTarget(std::move(options)));
  ASSIGN_OR_RETURN(t->ecs_, EcsApi::Create(api));
  ASSIGN_OR_RETURN(t->elb_, Elbv2Api::Create(api));
  ASSIGN_OR_RETURN(t->scaling_, AutoScalingApi::Create(api));
  ASSIGN_OR_RETURN(t->cloudwatch_, CloudWatchApi::Create(api));
  return t;
}

Result<const EcsInfra*> EcsTarget::InfraFor(const TargetScope& scope) const {
  auto it = options_.environments.find(scope.environment);
  if (it == options_.environments.end()) {
    return InvalidArgument("ECS target: no infrastructure configured for environment '" +
                           scope.environment + "'");
  }
  return &it->second;
}

Result<EcsPlan> EcsTarget::PlanFor(const TargetScope& scope, const SlotSpec& slot,
                                   const std::map<std::string, int>& weights) const {
  ASSIGN_OR_RETURN(const EcsInfra* infra, InfraFor(scope));
  EcsPlanInput in;
  in.project = scope.project;
  in.environment = scope.environment;
  in.deployment_id = scope.deployment_id;
  in.model_name = slot.model_name;
  in.model_version = slot.model_version;
  in.model_uri = slot.model_uri;
  in.slot = slot.name;
  in.region = options_.region;
  in.infra = *infra;
  // SlotSpec's defaults (1, 1) mean "the environment's sizing"; anything else overrides it.
  if (slot.replicas != 1 || slot.max_replicas != 1) {
    in.replicas = slot.replicas;
    in.max_replicas = std::max(slot.max_replicas, slot.replicas);
  }
  in.weights = weights;
  return BuildEcsPlan(in);
}

void EcsTarget::Sleep() const { std::this_thread::sleep_for(options_.poll_interval); }

Result<std::optional<std::string>> EcsTarget::TargetGroupArn(const TargetScope& scope,
                                                             const std::string& slot) {
  const std::string name = TargetGroupName(scope.project, scope.environment, slot);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = tg_arns_.find(name); it != tg_arns_.end()) {
      return std::optional<std::string>(it->second);
    }
  }
  ASSIGN_OR_RETURN(std::optional<std::string> arn, elb_->FindTargetGroup(name));
  if (arn) {
    std::lock_guard<std::mutex> lock(mu_);
    tg_arns_[name] = *arn;
  }
  return arn;
}

Status EcsTarget::StartSlot(const TargetScope& scope, const SlotSpec& slot) {
  ASSIGN_OR_RETURN(EcsPlan plan, PlanFor(scope, slot));
  ASSIGN_OR_RETURN(const EcsInfra* infra, InfraFor(scope));

  ASSIGN_OR_RETURN(std::string td_arn,
                   ecs_->RegisterTaskDefinition(plan.Find("RegisterTaskDefinition")->input));
  ASSIGN_OR_RETURN(std::string tg_arn,
                   elb_->CreateTargetGroup(plan.Find("CreateTargetGroup")->input));
  {
    std::lock_guard<std::mutex> lock(mu_);
    tg_arns_[plan.names.target_group] = tg_arn;
  }

  // ECS only accepts a target group that belongs to a load balancer: attach it at weight 0.
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    ASSIGN_OR_RETURN(Forward fwd, elb_->GetForward(infra->listener_arn, infra->rule_arn));
    bool attached =
        std::any_of(fwd.begin(), fwd.end(), [&](const auto& p) { return p.first == tg_arn; });
    if (!attached) {
      fwd.emplace_back(tg_arn, 0);
      RETURN_IF_ERROR(elb_->SetActions(infra->listener_arn, infra->rule_arn, ForwardActions(fwd)));
    }
  }

  const std::map<std::string, std::string> values = {
      {std::string(kTaskDefinitionPlaceholder), td_arn},
      {TargetGroupPlaceholder(plan.names.target_group), tg_arn}};
  ASSIGN_OR_RETURN(std::optional<EcsServiceState> existing,
                   ecs_->DescribeService(infra->cluster, plan.names.service));
  if (existing && existing->status == "DRAINING") {
    // A service of this name is still being deleted; ECS refuses to create it again until then.
    RETURN_IF_ERROR(WaitInactive(infra->cluster, plan.names.service));
    existing.reset();
  }
  if (existing && existing->status == "ACTIVE") {
    ojson update = plan.Find("UpdateService")->input;
    Substitute(update, values);
    // Under auto-scaling the current count is the scaler's: resetting it to the minimum in the
    // middle of a load peak would shed capacity. RegisterScalableTarget below sets the bounds.
    if (plan.autoscaling) update.erase("desiredCount");
    RETURN_IF_ERROR(ecs_->UpdateService(update).status());
  } else {
    ojson create = plan.Find("CreateService")->input;
    Substitute(create, values);
    RETURN_IF_ERROR(ecs_->CreateService(create).status());
  }
  if (plan.autoscaling) {
    RETURN_IF_ERROR(scaling_->RegisterScalableTarget(plan.Find("RegisterScalableTarget")->input));
    RETURN_IF_ERROR(scaling_->PutScalingPolicy(plan.Find("PutScalingPolicy")->input));
  }
  RETURN_IF_ERROR(WaitReady(scope, infra->cluster, plan, tg_arn));
  std::lock_guard<std::mutex> lock(mu_);
  started_at_[plan.names.target_group] = NowSeconds();
  return Status::Ok();
}

Status EcsTarget::WaitReady(const TargetScope& scope, const std::string& cluster,
                            const EcsPlan& plan, const std::string& tg_arn) {
  const auto deadline = Clock::now() + options_.ready_timeout;
  std::string last;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<EcsServiceState> svc,
                     ecs_->DescribeService(cluster, plan.names.service));
    if (!svc) return Internal("ECS service " + plan.names.service + " disappeared while starting");
    if (svc->rollout_state == "FAILED") {
      return Status(ErrorCode::kInternalError,
                    "slot " + std::string(plan.json["slot"]) + " of " + Where(scope) +
                        " failed to start: ECS deployment FAILED: " + svc->rollout_reason);
    }
    ASSIGN_OR_RETURN(std::vector<TargetHealth> targets, elb_->DescribeTargetHealth(tg_arn));
    int healthy = 0;
    std::string states;
    for (const auto& t : targets) {
      if (t.state == "healthy") ++healthy;
      states += (states.empty() ? "" : ",") + t.state;
    }
    const bool rolled_out = svc->rollout_state.empty() || svc->rollout_state == "COMPLETED";
    if (svc->desired_count > 0 && svc->running_count == svc->desired_count &&
        healthy >= svc->desired_count && rolled_out) {
      return Status::Ok();
    }
    last = "running " + std::to_string(svc->running_count) + "/" +
           std::to_string(svc->desired_count) + ", healthy targets " + std::to_string(healthy) +
           (states.empty() ? "" : " (" + states + ")") +
           (svc->rollout_state.empty() ? "" : ", rollout " + svc->rollout_state);
    if (Clock::now() >= deadline) {
      return Status(ErrorCode::kTemporarilyUnavailable,
                    "slot " + std::string(plan.json["slot"]) + " of " + Where(scope) +
                        " not ready within " + std::to_string(options_.ready_timeout.count()) +
                        " ms: " + last);
    }
    Sleep();
  }
}

Status EcsTarget::WaitInactive(const std::string& cluster, const std::string& service) {
  const auto deadline = Clock::now() + options_.ready_timeout;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<EcsServiceState> svc, ecs_->DescribeService(cluster, service));
    if (!svc || svc->status == "INACTIVE") return Status::Ok();
    if (Clock::now() >= deadline) {
      return Status(ErrorCode::kTemporarilyUnavailable,
                    "ECS service " + service + " still " + svc->status + " (running " +
                        std::to_string(svc->running_count) + ") after " +
                        std::to_string(options_.ready_timeout.count()) + " ms");
    }
    Sleep();
  }
}

Status EcsTarget::DeleteTargetGroupWhenFree(const std::string& arn) {
  const auto deadline = Clock::now() + options_.ready_timeout;
  while (true) {
    Status st = elb_->DeleteTargetGroup(arn);
    const std::string code = AwsErrorCode(st);
    if (st.ok() || code == "TargetGroupNotFound") return Status::Ok();
    // The group stays in use until ELB has deregistered the service's last target.
    if (code != "ResourceInUse" || Clock::now() >= deadline) return st;
    Sleep();
  }
}

Status EcsTarget::StopSlot(const TargetScope& scope, const std::string& slot) {
  ASSIGN_OR_RETURN(const EcsInfra* infra, InfraFor(scope));
  ASSIGN_OR_RETURN(EcsNames names,
                   NamesFor(scope.project, scope.environment, slot, infra->cluster));
  ASSIGN_OR_RETURN(std::optional<std::string> tg, TargetGroupArn(scope, slot));

  if (tg) {
    std::lock_guard<std::mutex> lock(listener_mu_);
    ASSIGN_OR_RETURN(Forward fwd, elb_->GetForward(infra->listener_arn, infra->rule_arn));
    auto it = std::find_if(fwd.begin(), fwd.end(), [&](const auto& p) { return p.first == *tg; });
    if (it != fwd.end()) {
      int others = 0;
      for (const auto& p : fwd) others += p.first == *tg ? 0 : p.second;
      if (it->second > 0 && others == 0) {
        return Status(ErrorCode::kResourceConflict,
                      "slot " + slot + " of " + Where(scope) +
                          " receives all the traffic; shift the weights to another slot first");
      }
      fwd.erase(it);
      RETURN_IF_ERROR(elb_->SetActions(infra->listener_arn, infra->rule_arn,
                                       fwd.empty() ? NoSlotAction() : ForwardActions(fwd)));
    }
  }

  ASSIGN_OR_RETURN(std::optional<EcsServiceState> svc,
                   ecs_->DescribeService(infra->cluster, names.service));
  if (svc && svc->status == "ACTIVE") {
    // Auto-scaling would raise the count again; OK when none was registered (dev, staging).
    RETURN_IF_ERROR(scaling_->DeregisterEcsService(names.scaling_resource_id));
    ojson scale_down = {
        {"cluster", infra->cluster}, {"service", names.service}, {"desiredCount", 0}};
    RETURN_IF_ERROR(ecs_->UpdateService(scale_down).status());
    RETURN_IF_ERROR(ecs_->DeleteService(infra->cluster, names.service, /*force=*/false));
  }
  if (svc && svc->status != "INACTIVE") {
    RETURN_IF_ERROR(WaitInactive(infra->cluster, names.service));
  }
  if (tg) {
    RETURN_IF_ERROR(DeleteTargetGroupWhenFree(*tg));
    std::lock_guard<std::mutex> lock(mu_);
    tg_arns_.erase(names.target_group);
    started_at_.erase(names.target_group);
  }
  return Status::Ok();
}

Status EcsTarget::SetWeights(const TargetScope& scope, const std::map<std::string, int>& weights) {
  ASSIGN_OR_RETURN(const EcsInfra* infra, InfraFor(scope));
  if (weights.empty()) return InvalidArgument("weights: at least one slot is required");
  int sum = 0;
  for (const auto& [slot, w] : weights) {
    if (!IsSlot(slot)) return InvalidArgument("weights: unknown slot '" + slot + "'");
    if (w < 0 || w > 100) return InvalidArgument("weights: " + slot + " must be 0..100");
    sum += w;
  }
  if (sum != 100) return InvalidArgument("weights must sum to 100, not " + std::to_string(sum));

  std::map<std::string, int> by_arn;
  for (const auto& [slot, w] : weights) {
    ASSIGN_OR_RETURN(std::optional<std::string> arn, TargetGroupArn(scope, slot));
    if (!arn) {
      return NotFound("slot " + slot + " of " + Where(scope) +
                      " has no target group; start the slot first");
    }
    by_arn[*arn] = w;
  }
  std::lock_guard<std::mutex> lock(listener_mu_);
  ASSIGN_OR_RETURN(Forward fwd, elb_->GetForward(infra->listener_arn, infra->rule_arn));
  Forward next;
  for (const auto& [arn, w] : fwd) {
    auto it = by_arn.find(arn);
    next.emplace_back(arn, it == by_arn.end() ? 0 : it->second);
    if (it != by_arn.end()) by_arn.erase(it);
  }
  // Slots not yet attached, in slot-name order (the map's).
  for (const auto& [slot, w] : weights) {
    auto arn = TargetGroupArn(scope, slot);
    if (arn.ok() && *arn && by_arn.contains(**arn)) next.emplace_back(**arn, w);
  }
  return elb_->SetActions(infra->listener_arn, infra->rule_arn, ForwardActions(next));
}

Result<bool> EcsTarget::SlotHealthy(const TargetScope& scope, const std::string& slot) {
  RETURN_IF_ERROR(InfraFor(scope).status());
  if (!IsSlot(slot)) return InvalidArgument("slot must be blue, green or canary");
  ASSIGN_OR_RETURN(std::optional<std::string> tg, TargetGroupArn(scope, slot));
  if (!tg) return NotFound("slot " + slot + " of " + Where(scope) + " is not running");
  ASSIGN_OR_RETURN(std::vector<TargetHealth> targets, elb_->DescribeTargetHealth(*tg));
  int healthy = 0, unhealthy = 0;
  for (const auto& t : targets) {
    if (t.state == "healthy") ++healthy;
    if (t.state == "unhealthy") ++unhealthy;
  }
  return healthy > 0 && unhealthy == 0;
}

Result<SlotMetrics> EcsTarget::Metrics(const TargetScope& scope, const std::string& slot) {
  ASSIGN_OR_RETURN(const EcsInfra* infra, InfraFor(scope));
  if (!IsSlot(slot)) return InvalidArgument("slot must be blue, green or canary");
  ASSIGN_OR_RETURN(std::optional<std::string> tg, TargetGroupArn(scope, slot));
  if (!tg) return NotFound("slot " + slot + " of " + Where(scope) + " is not running");
  const int64_t now = NowSeconds();
  int64_t start = now - 600;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = started_at_.find(TargetGroupName(scope.project, scope.environment, slot));
    if (it != started_at_.end()) start = it->second;
  }
  return cloudwatch_->TargetGroupMetrics(
      *tg, infra->rule_arn.empty() ? infra->listener_arn : infra->rule_arn, start, now);
}

}  // namespace studio::deploy::aws
