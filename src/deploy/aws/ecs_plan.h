#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

// The ECS Fargate + ALB plan of one deployment slot (issue 7, "AWS target"): every AWS request
// the EcsTarget sends to start the slot and route traffic to it, as JSON in the exact request
// shapes of the ECS (JSON 1.1), Elastic Load Balancing v2 (Query) and Application Auto Scaling
// (JSON 1.1) APIs. Values only known at apply time are placeholders:
//   "${TaskDefinitionArn}"        the ARN RegisterTaskDefinition returns
//   "${TargetGroupArn:NAME}"      the ARN of the target group named NAME
namespace studio::deploy::aws {

// Replicas and Fargate size of one environment.
struct EcsSizing {
  std::string cpu;     // Fargate CPU units as a string: "256", "512", "1024", …
  std::string memory;  // MiB as a string, a valid combination with `cpu`
  int desired_count = 1;
  int min_count = 1;
  int max_count = 1;               // > min_count: Application Auto Scaling target tracking
  double cpu_target_percent = 60;  // the target-tracking policy's average CPU
};

// dev: 1 replica (512/1024); staging: 2 (1024/2048); prod: 3 scaling to 10 (1024/2048).
// InvalidArgument for any other environment name (give EcsInfra::sizing then).
Result<EcsSizing> DefaultSizing(std::string_view environment);

// Where and how slots run in one environment: the account's infrastructure, made by Terraform.
struct EcsInfra {
  std::string
      image;  // ECR image with the studio binary: ACCOUNT.dkr.ecr.REGION.amazonaws.com/studio:TAG
  std::string cluster;  // ECS cluster name or ARN
  std::vector<std::string> subnets;
  std::vector<std::string> security_groups;
  bool assign_public_ip = false;
  std::string execution_role_arn;  // pulls the image, reads the token secret, writes logs
  std::string task_role_arn;       // what the model server itself may call (optional)
  std::string vpc_id;              // of the target groups
  std::string listener_arn;        // the ALB listener whose default action this project owns
  std::string rule_arn;            // or a listener rule (then ModifyRule instead of ModifyListener)
  std::string control_plane_url;   // STUDIO_SERVER: where serve-model downloads models:/ URIs
  std::string token_secret_arn;    // Secrets Manager secret holding the API token (STUDIO_TOKEN)
  std::string log_group;           // CloudWatch Logs group for the awslogs driver
  std::optional<EcsSizing> sizing;  // else DefaultSizing(environment)
};

struct EcsPlanInput {
  std::string project;
  std::string environment;  // dev | staging | prod (others need infra.sizing)
  std::string deployment_id;
  std::string model_name;
  std::string model_version;
  std::string model_uri;  // default models:/NAME/VERSION
  std::string slot;       // blue | green | canary
  std::string region = "us-east-1";
  EcsInfra infra;
  // Overrides of the environment's sizing (0 or empty: keep it).
  int replicas = 0;
  int max_replicas = 0;
  std::string cpu, memory;
  // Listener weights (percent, sum 100) after this slot is live; default {slot: 100}.
  std::map<std::string, int> weights;
  int container_port = 8080;
};

// The names every call uses, derived from (project, environment, slot).
struct EcsNames {
  std::string task_family;   // studio-PROJECT-ENV-SLOT
  std::string service;       // same as the family
  std::string target_group;  // ≤ 32 characters: letters, digits, '-'
  std::string container = "model";
  std::string scaling_resource_id;  // service/CLUSTER/SERVICE
};

Result<EcsNames> NamesFor(std::string_view project, std::string_view environment,
                          std::string_view slot, std::string_view cluster);
// The target group name of a slot (what NamesFor(...).target_group returns).
std::string TargetGroupName(std::string_view project, std::string_view environment,
                            std::string_view slot);
// "${TargetGroupArn:NAME}"
std::string TargetGroupPlaceholder(std::string_view target_group_name);
inline constexpr std::string_view kTaskDefinitionPlaceholder = "${TaskDefinitionArn}";

// One AWS call of the plan. `api` is "ecs", "elbv2" or "application-autoscaling"; `when` says
// when it applies ("always", "service_missing", "service_exists").
struct EcsCall {
  std::string api;
  std::string action;
  std::string when = "always";
  nlohmann::ordered_json input;
};

struct EcsPlan {
  EcsNames names;
  EcsSizing sizing;
  bool autoscaling = false;
  std::vector<EcsCall> calls;   // in the order they are sent
  nlohmann::ordered_json json;  // the whole plan, what `studio deploy-plan` prints

  // The first call with that action, or nullptr.
  const EcsCall* Find(std::string_view action) const;
};

// Validates the input (names, ARNs present, Fargate cpu/memory combination, weights) and builds
// the plan. InvalidArgument names the offending field.
Result<EcsPlan> BuildEcsPlan(const EcsPlanInput& input);

// The weighted forward action: [{Type: forward, ForwardConfig: {TargetGroups: [...]}}], target
// groups in the order given (ARNs or placeholders) with their weights.
nlohmann::ordered_json ForwardActions(
    const std::vector<std::pair<std::string, int>>& target_group_weights);

}  // namespace studio::deploy::aws
