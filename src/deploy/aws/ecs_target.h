#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "deploy/aws/aws_apis.h"
#include "deploy/aws/cloudwatch_metrics.h"
#include "deploy/aws/ecs_plan.h"
#include "deploy/target.h"
#include "integrations/aws/sigv4.h"

// DeployTarget on ECS Fargate behind an Application Load Balancer (issue 7, "AWS target").
// Each slot is one ECS service with its own target group; traffic weights are the weights of
// the listener's (or rule's) forward action over those target groups. Every call is signed
// with SigV4; docs/aws-deploy.md lists the calls in order and the IAM permissions they need.
namespace studio::deploy::aws {

struct EcsTargetOptions {
  std::string region = "us-east-1";
  // scheme://host[:port] per API; empty: the public regional endpoint.
  std::string ecs_endpoint;
  std::string elbv2_endpoint;
  std::string autoscaling_endpoint;
  std::string monitoring_endpoint;  // CloudWatch, for Metrics
  // Else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  std::optional<studio::aws::Credentials> credentials;
  int max_attempts = 3;
  // Infrastructure per environment name ("dev", "staging", "prod").
  std::map<std::string, EcsInfra> environments;
  // StartSlot polls DescribeServices + DescribeTargetHealth until the slot is ready; StopSlot
  // polls until the service is INACTIVE and its target group can be deleted.
  std::chrono::milliseconds poll_interval{5000};
  std::chrono::milliseconds ready_timeout{std::chrono::minutes(10)};
};

class EcsTarget : public DeployTarget {
 public:
  static Result<std::unique_ptr<EcsTarget>> Create(EcsTargetOptions options);

  std::string kind() const override { return "ecs"; }
  // RegisterTaskDefinition, CreateTargetGroup, attach the group to the listener at weight 0,
  // CreateService or UpdateService, (auto-scaling: RegisterScalableTarget + PutScalingPolicy),
  // then waits for runningCount == desiredCount and that many healthy targets.
  Status StartSlot(const TargetScope& scope, const SlotSpec& slot) override;
  // Detaches the slot's target group from the listener, scales the service to 0, deletes it,
  // waits until it is INACTIVE and deletes the target group. Refused while the slot is the only
  // one receiving traffic.
  Status StopSlot(const TargetScope& scope, const std::string& slot) override;
  // One ModifyListener (or ModifyRule) with the weights of every slot's target group; slots
  // attached but not named get weight 0.
  Status SetWeights(const TargetScope& scope, const std::map<std::string, int>& weights) override;
  // True when the slot's target group has a healthy target and none unhealthy.
  Result<bool> SlotHealthy(const TargetScope& scope, const std::string& slot) override;
  // The slot's ALB target group metrics in CloudWatch since the slot started (this process's
  // StartSlot; else the last 10 minutes): requests, target 5xx + connection errors, p50/p99.
  // CloudWatch publishes them with about a minute of delay.
  Result<SlotMetrics> Metrics(const TargetScope& scope, const std::string& slot) override;

  // The plan StartSlot applies (what `studio deploy-plan` prints for the same input).
  Result<EcsPlan> PlanFor(const TargetScope& scope, const SlotSpec& slot,
                          const std::map<std::string, int>& weights = {}) const;

 private:
  explicit EcsTarget(EcsTargetOptions options) : options_(std::move(options)) {}
  Result<const EcsInfra*> InfraFor(const TargetScope& scope) const;
  // The ARN of a slot's target group (cached), or nullopt when it does not exist.
  Result<std::optional<std::string>> TargetGroupArn(const TargetScope& scope,
                                                    const std::string& slot);
  Status WaitReady(const TargetScope& scope, const std::string& cluster, const EcsPlan& plan,
                   const std::string& tg_arn);
  Status WaitInactive(const std::string& cluster, const std::string& service);
  Status DeleteTargetGroupWhenFree(const std::string& arn);
  void Sleep() const;

  EcsTargetOptions options_;
  std::unique_ptr<EcsApi> ecs_;
  std::unique_ptr<Elbv2Api> elb_;
  std::unique_ptr<AutoScalingApi> scaling_;
  std::unique_ptr<CloudWatchApi> cloudwatch_;
  std::mutex mu_;
  std::map<std::string, std::string> tg_arns_;  // target group name → ARN
  std::map<std::string, int64_t> started_at_;   // target group name → epoch seconds
  // One listener change at a time: each is read-modify-write of the forward action.
  std::mutex listener_mu_;
};

}  // namespace studio::deploy::aws
