#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "deploy/aws/ecs_plan.h"
#include "deploy/aws/ecs_target.h"

// The ECS target's configuration as a JSON document (a file, or a section of the server's
// config), so `studio serve` and `studio deploy-plan --infra` read the same thing:
//
// {
//   "region": "us-east-1",
//   "endpoints": {"ecs": "…", "elbv2": "…", "autoscaling": "…", "monitoring": "…"},
//   "poll_interval_ms": 5000, "ready_timeout_ms": 600000,
//   "environments": {
//     "prod": {"image": "…", "cluster": "mlops", "subnets": ["subnet-…"],
//              "security_groups": ["sg-…"], "assign_public_ip": false,
//              "execution_role_arn": "…", "task_role_arn": "…", "vpc_id": "vpc-…",
//              "listener_arn": "…", "rule_arn": "…", "control_plane_url": "https://…",
//              "token_secret_arn": "…", "log_group": "/studio/serving",
//              "sizing": {"cpu": "1024", "memory": "2048", "replicas": 3,
//                         "max_replicas": 10, "cpu_target_percent": 60}}
//   }
// }
//
// Unknown keys and wrong types are refused with the field's path ("environments.prod.subnets:
// expected a list of strings"). Credentials are never read from it (environment only).
namespace studio::deploy::aws {

Result<EcsInfra> EcsInfraFromJson(const nlohmann::json& j, const std::string& path);
Result<EcsTargetOptions> EcsTargetOptionsFromJson(const nlohmann::json& j);

}  // namespace studio::deploy::aws
