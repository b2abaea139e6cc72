#include "cli/deploy_plan_command.h"

#include <charconv>
#include <iostream>

#include "cli/commands.h"
#include "common/strings.h"
#include "deploy/aws/ecs_plan.h"

namespace studio::cli {
namespace {

Result<std::map<std::string, int>> ParseWeights(const std::string& text) {
  std::map<std::string, int> out;
  if (text.empty()) return out;
  for (const std::string& part : SplitAndTrim(text, ',')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("--weights: expected SLOT=PERCENT, got '" + part + "'");
    }
    std::string slot = part.substr(0, eq);
    std::string num = part.substr(eq + 1);
    int w = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), w);
    if (ec != std::errc() || p != num.data() + num.size() || num.empty()) {
      return InvalidArgument("--weights: '" + num + "' is not a whole number");
    }
    if (out.contains(slot)) return InvalidArgument("--weights: slot '" + slot + "' given twice");
    out[slot] = w;
  }
  return out;
}

void PrintTable(const deploy::aws::EcsPlan& plan) {
  const auto& j = plan.json;
  std::cout << "ECS plan for " << j["project"].get<std::string>() << "/"
            << j["environment"].get<std::string>() << ", slot " << j["slot"].get<std::string>()
            << " (deployment " << j["deployment_id"].get<std::string>() << ")\n";
  std::cout << "  model         " << j["model"]["uri"].get<std::string>() << "\n";
  std::cout << "  task size     cpu " << plan.sizing.cpu << ", memory " << plan.sizing.memory
            << " MiB (Fargate)\n";
  std::cout << "  replicas      " << plan.sizing.desired_count;
  if (plan.autoscaling) {
    std::cout << ", auto-scaling " << plan.sizing.min_count << ".." << plan.sizing.max_count
              << " on average CPU " << plan.sizing.cpu_target_percent << "%";
  }
  std::cout << "\n  service       " << plan.names.service << "\n";
  std::cout << "  target group  " << plan.names.target_group << "\n  weights      ";
  for (const auto& [slot, w] : j["weights"].items()) std::cout << " " << slot << "=" << w;
  std::cout << "\n  calls\n";
  int i = 1;
  for (const auto& c : plan.calls) {
    std::cout << "    " << i++ << ". " << c.api << " " << c.action;
    if (c.when == "service_missing") std::cout << "  (when the service does not exist)";
    if (c.when == "service_exists") std::cout << "  (when the service exists)";
    std::cout << "\n";
  }
  std::cout << "Use --output json for the request bodies.\n";
}

}  // namespace

int RunDeployPlan(const DeployPlanOptions& o) {
  size_t slash = o.model.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == o.model.size() ||
      o.model.find('/', slash + 1) != std::string::npos) {
    std::cerr << "error: --model must be NAME/VERSION, got '" << o.model << "'\n";
    return kExitError;
  }
  Result<std::map<std::string, int>> weights = ParseWeights(o.weights);
  if (!weights.ok()) {
    std::cerr << "error: " << weights.status().message() << "\n";
    return kExitError;
  }
  deploy::aws::EcsPlanInput in;
  in.project = o.project;
  in.environment = o.env;
  in.deployment_id = o.deployment_id;
  in.model_name = o.model.substr(0, slash);
  in.model_version = o.model.substr(slash + 1);
  in.slot = o.slot;
  in.region = o.region;
  in.replicas = o.replicas;
  in.max_replicas = o.max_replicas;
  in.cpu = o.cpu;
  in.memory = o.memory;
  in.weights = *weights;
  deploy::aws::EcsInfra& infra = in.infra;
  infra.image = o.image;
  infra.cluster = o.cluster;
  infra.subnets = o.subnets;
  infra.security_groups = o.security_groups;
  infra.assign_public_ip = o.assign_public_ip;
  infra.execution_role_arn = o.execution_role_arn;
  infra.task_role_arn = o.task_role_arn;
  infra.vpc_id = o.vpc;
  infra.listener_arn = o.listener_arn;
  infra.rule_arn = o.rule_arn;
  infra.control_plane_url = o.control_plane_url;
  infra.token_secret_arn = o.token_secret_arn;
  infra.log_group = o.log_group;
  Result<deploy::aws::EcsPlan> plan = deploy::aws::BuildEcsPlan(in);
  if (!plan.ok()) {
    std::cerr << "error: " << plan.status().message() << "\n";
    return kExitError;
  }
  if (o.json) {
    std::cout << plan->json.dump(2) << "\n";
  } else {
    PrintTable(*plan);
  }
  return kExitOk;
}

}  // namespace studio::cli
