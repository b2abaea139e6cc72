#pragma once

#include <string>
#include <vector>

// `studio deploy-plan`: prints the ECS/ALB plan of one deployment slot (deploy/aws/ecs_plan.h)
// without calling AWS. Plain values here; CLI11 stays in main.cc.
namespace studio::cli {

struct DeployPlanOptions {
  std::string model;  // NAME/VERSION
  std::string env;    // dev | staging | prod
  std::string project = "default";
  std::string slot = "blue";
  std::string deployment_id = "plan";
  std::string infra_file;  // JSON (deploy/aws/ecs_config.h); flags override it
  std::string region;      // else the file's, else us-east-1
  std::string image, cluster, vpc, listener_arn, rule_arn;
  std::vector<std::string> subnets, security_groups;
  bool assign_public_ip = false;
  std::string execution_role_arn, task_role_arn, token_secret_arn;
  std::string control_plane_url;
  std::string log_group;  // else the file's, else /studio/serving
  int replicas = 0, max_replicas = 0;
  std::string cpu, memory;
  std::string weights;  // "blue=90,green=10"
  bool json = true;     // --output json | table
};

// 0 printed; 2 invalid input (message on stderr).
int RunDeployPlan(const DeployPlanOptions& options);

}  // namespace studio::cli
