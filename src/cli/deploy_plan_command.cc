#include "cli/deploy_plan_command.h"

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/strings.h"
#include "deploy/aws/ecs_config.h"
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

// The infrastructure of `env` from an ECS target configuration file, and its region.
Result<deploy::aws::EcsInfra> ReadInfra(const std::string& path, const std::string& env,
                                        std::string* region) {
  std::ifstream f(path);
  if (!f) return InvalidArgument("--infra: cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("--infra: " + path + " is not valid JSON");
  Result<deploy::aws::EcsTargetOptions> o = deploy::aws::EcsTargetOptionsFromJson(j);
  if (!o.ok()) return InvalidArgument("--infra: " + path + ": " + o.status().message());
  auto it = o->environments.find(env);
  if (it == o->environments.end()) {
    return InvalidArgument("--infra: " + path + " has no environment '" + env + "'");
  }
  *region = o->region;
  return it->second;
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
  deploy::aws::EcsInfra& infra = in.infra;
  infra.log_group = "/studio/serving";
  in.region = "us-east-1";
  if (!o.infra_file.empty()) {
    Result<deploy::aws::EcsInfra> file = ReadInfra(o.infra_file, o.env, &in.region);
    if (!file.ok()) {
      std::cerr << "error: " << file.status().message() << "\n";
      return kExitError;
    }
    infra = *file;
  }
  in.project = o.project;
  in.environment = o.env;
  in.deployment_id = o.deployment_id;
  in.model_name = o.model.substr(0, slash);
  in.model_version = o.model.substr(slash + 1);
  in.slot = o.slot;
  if (!o.region.empty()) in.region = o.region;
  in.replicas = o.replicas;
  in.max_replicas = o.max_replicas;
  in.cpu = o.cpu;
  in.memory = o.memory;
  in.weights = *weights;
  // Flags given override the file.
  auto set = [](std::string& dst, const std::string& v) {
    if (!v.empty()) dst = v;
  };
  set(infra.image, o.image);
  set(infra.cluster, o.cluster);
  if (!o.subnets.empty()) infra.subnets = o.subnets;
  if (!o.security_groups.empty()) infra.security_groups = o.security_groups;
  if (o.assign_public_ip) infra.assign_public_ip = true;
  set(infra.execution_role_arn, o.execution_role_arn);
  set(infra.task_role_arn, o.task_role_arn);
  set(infra.vpc_id, o.vpc);
  if (!o.listener_arn.empty() || !o.rule_arn.empty()) {
    infra.listener_arn = o.listener_arn;
    infra.rule_arn = o.rule_arn;
  }
  set(infra.control_plane_url, o.control_plane_url);
  set(infra.token_secret_arn, o.token_secret_arn);
  set(infra.log_group, o.log_group);
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
