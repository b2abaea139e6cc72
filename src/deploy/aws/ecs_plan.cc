#include "deploy/aws/ecs_plan.h"

#include <cctype>

#include "common/crypto.h"

namespace studio::deploy::aws {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kHealthPath = "/ready";

bool IsSlot(std::string_view s) { return s == "blue" || s == "green" || s == "canary"; }

// Lowercase letters, digits and '-' (what ECS, ELBv2 and tag values all accept).
std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out.push_back(static_cast<char>(std::tolower(u)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Fargate's task size table: the memory (MiB) each CPU value accepts.
bool ValidFargateSize(int cpu, int memory) {
  auto range = [&](int lo, int hi, int step) {
    return memory >= lo && memory <= hi && (memory - lo) % step == 0;
  };
  switch (cpu) {
    case 256:
      return memory == 512 || memory == 1024 || memory == 2048;
    case 512:
      return range(1024, 4096, 1024);
    case 1024:
      return range(2048, 8192, 1024);
    case 2048:
      return range(4096, 16384, 1024);
    case 4096:
      return range(8192, 30720, 1024);
    case 8192:
      return range(16384, 61440, 4096);
    case 16384:
      return range(32768, 122880, 8192);
    default:
      return false;
  }
}

Result<int> ParsePositive(std::string_view field, std::string_view s) {
  if (s.empty() || s.size() > 7) return InvalidArgument(std::string(field) + " must be a number");
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return InvalidArgument(std::string(field) + " must be a number");
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string ClusterName(std::string_view cluster) {
  // arn:aws:ecs:REGION:ACCOUNT:cluster/NAME → NAME (Application Auto Scaling wants the name).
  if (size_t slash = cluster.rfind('/'); cluster.starts_with("arn:") && slash != cluster.npos) {
    return std::string(cluster.substr(slash + 1));
  }
  return std::string(cluster);
}

Status Require(std::string_view field, const std::string& value) {
  if (value.empty()) return InvalidArgument(std::string(field) + " is required");
  return Status::Ok();
}

ojson EcsTags(const EcsPlanInput& in) {
  return ojson::array({
      {{"key", "studio:project"}, {"value", in.project}},
      {{"key", "studio:environment"}, {"value", in.environment}},
      {{"key", "studio:slot"}, {"value", in.slot}},
      {{"key", "studio:model"}, {"value", in.model_name + "/" + in.model_version}},
      {{"key", "studio:deployment-id"}, {"value", in.deployment_id}},
  });
}

ojson ElbTags(const EcsPlanInput& in) {
  ojson out = ojson::array();
  for (const auto& t : EcsTags(in)) out.push_back({{"Key", t["key"]}, {"Value", t["value"]}});
  return out;
}

ojson NetworkConfiguration(const EcsInfra& infra) {
  return {{"awsvpcConfiguration",
           {{"subnets", infra.subnets},
            {"securityGroups", infra.security_groups},
            {"assignPublicIp", infra.assign_public_ip ? "ENABLED" : "DISABLED"}}}};
}

ojson ContainerDefinition(const EcsPlanInput& in, const EcsNames& names,
                          const std::string& model_uri) {
  const std::string port = std::to_string(in.container_port);
  ojson env = ojson::array({
      {{"name", "STUDIO_SERVER"}, {"value", in.infra.control_plane_url}},
      {{"name", "STUDIO_PROJECT"}, {"value", in.project}},
      {{"name", "STUDIO_ENVIRONMENT"}, {"value", in.environment}},
      {{"name", "STUDIO_DEPLOYMENT_ID"}, {"value", in.deployment_id}},
      {{"name", "STUDIO_SLOT"}, {"value", in.slot}},
  });
  ojson c = {
      {"name", names.container},
      {"image", in.infra.image},
      {"essential", true},
      // The registry download uses STUDIO_SERVER and STUDIO_TOKEN (serve-model's env names).
      {"command",
       {"studio", "serve-model", "--model", model_uri, "--host", "0.0.0.0", "--port", port,
        "--cache-dir", "/tmp/studio-model-cache", "--log-format", "json"}},
      {"portMappings",
       {{{"name", "http"},
         {"containerPort", in.container_port},
         {"hostPort", in.container_port},
         {"protocol", "tcp"}}}},
      {"environment", env},
      {"secrets", {{{"name", "STUDIO_TOKEN"}, {"valueFrom", in.infra.token_secret_arn}}}},
      {"logConfiguration",
       {{"logDriver", "awslogs"},
        {"options",
         {{"awslogs-group", in.infra.log_group},
          {"awslogs-region", in.region},
          {"awslogs-stream-prefix", names.service}}}}},
      // serve-model drains in-flight requests on SIGTERM; Fargate allows up to 120 s.
      {"stopTimeout", 30},
      {"healthCheck",
       {{"command", {"CMD-SHELL", "curl -fsS http://127.0.0.1:" + port + "/ready || exit 1"}},
        {"interval", 10},
        {"timeout", 5},
        {"retries", 3},
        {"startPeriod", 60}}},
  };
  return c;
}

}  // namespace

Result<EcsSizing> DefaultSizing(std::string_view environment) {
  if (environment == "dev") return EcsSizing{"512", "1024", 1, 1, 1, 60};
  if (environment == "staging") return EcsSizing{"1024", "2048", 2, 2, 2, 60};
  if (environment == "prod") return EcsSizing{"1024", "2048", 3, 3, 10, 60};
  return InvalidArgument("no default ECS sizing for environment '" + std::string(environment) +
                         "' (dev, staging, prod); give the sizing explicitly");
}

std::string TargetGroupName(std::string_view project, std::string_view environment,
                            std::string_view slot) {
  // ELBv2: at most 32 characters, alphanumerics and '-', not starting or ending with '-'.
  std::string full = Sanitize("st-" + std::string(project) + "-" + std::string(environment) + "-" +
                              std::string(slot));
  if (full.size() <= 32) return full;
  std::string hash = crypto::Sha256Hex(full).substr(0, 8);
  std::string head = full.substr(0, 32 - 1 - hash.size());
  while (!head.empty() && head.back() == '-') head.pop_back();
  return head + "-" + hash;
}

std::string TargetGroupPlaceholder(std::string_view target_group_name) {
  return "${TargetGroupArn:" + std::string(target_group_name) + "}";
}

Result<EcsNames> NamesFor(std::string_view project, std::string_view environment,
                          std::string_view slot, std::string_view cluster) {
  if (Sanitize(project).empty()) return InvalidArgument("project is required");
  if (Sanitize(environment).empty()) return InvalidArgument("environment is required");
  if (!IsSlot(slot)) {
    return InvalidArgument("slot must be blue, green or canary, not '" + std::string(slot) + "'");
  }
  EcsNames n;
  n.task_family =
      "studio-" + Sanitize(project) + "-" + Sanitize(environment) + "-" + std::string(slot);
  if (n.task_family.size() > 255) return InvalidArgument("project name is too long");
  n.service = n.task_family;
  n.target_group = TargetGroupName(project, environment, slot);
  n.scaling_resource_id = "service/" + ClusterName(cluster) + "/" + n.service;
  return n;
}

ojson ForwardActions(const std::vector<std::pair<std::string, int>>& target_group_weights) {
  ojson groups = ojson::array();
  for (const auto& [arn, weight] : target_group_weights) {
    groups.push_back({{"TargetGroupArn", arn}, {"Weight", weight}});
  }
  return ojson::array(
      {{{"Type", "forward"},
        {"ForwardConfig",
         {{"TargetGroups", groups}, {"TargetGroupStickinessConfig", {{"Enabled", false}}}}}}});
}

const EcsCall* EcsPlan::Find(std::string_view action) const {
  for (const auto& c : calls) {
    if (c.action == action) return &c;
  }
  return nullptr;
}

Result<EcsPlan> BuildEcsPlan(const EcsPlanInput& in) {
  RETURN_IF_ERROR(Require("project", in.project));
  RETURN_IF_ERROR(Require("environment", in.environment));
  RETURN_IF_ERROR(Require("deployment_id", in.deployment_id));
  RETURN_IF_ERROR(Require("model name", in.model_name));
  RETURN_IF_ERROR(Require("model version", in.model_version));
  RETURN_IF_ERROR(Require("region", in.region));
  RETURN_IF_ERROR(Require("image", in.infra.image));
  RETURN_IF_ERROR(Require("cluster", in.infra.cluster));
  RETURN_IF_ERROR(Require("vpc_id", in.infra.vpc_id));
  RETURN_IF_ERROR(Require("execution_role_arn", in.infra.execution_role_arn));
  RETURN_IF_ERROR(Require("control_plane_url", in.infra.control_plane_url));
  RETURN_IF_ERROR(Require("token_secret_arn", in.infra.token_secret_arn));
  RETURN_IF_ERROR(Require("log_group", in.infra.log_group));
  if (in.infra.listener_arn.empty() && in.infra.rule_arn.empty()) {
    return InvalidArgument("listener_arn (or rule_arn) is required");
  }
  if (in.infra.subnets.empty()) return InvalidArgument("at least one subnet is required");
  if (in.infra.security_groups.empty()) {
    return InvalidArgument("at least one security group is required");
  }
  if (in.container_port <= 0 || in.container_port > 65535) {
    return InvalidArgument("container_port must be 1..65535");
  }
  ASSIGN_OR_RETURN(EcsNames names, NamesFor(in.project, in.environment, in.slot, in.infra.cluster));

  EcsSizing sizing;
  if (in.infra.sizing) {
    sizing = *in.infra.sizing;
  } else {
    ASSIGN_OR_RETURN(sizing, DefaultSizing(in.environment));
  }
  if (!in.cpu.empty()) sizing.cpu = in.cpu;
  if (!in.memory.empty()) sizing.memory = in.memory;
  if (in.replicas < 0 || in.max_replicas < 0) return InvalidArgument("replicas must be >= 0");
  if (in.replicas > 0) {
    sizing.desired_count = in.replicas;
    sizing.min_count = in.replicas;
    if (sizing.max_count < in.replicas) sizing.max_count = in.replicas;
  }
  if (in.max_replicas > 0) sizing.max_count = in.max_replicas;
  if (sizing.desired_count < 1) return InvalidArgument("replicas must be at least 1");
  if (sizing.max_count < sizing.desired_count) {
    return InvalidArgument("max replicas (" + std::to_string(sizing.max_count) +
                           ") is below the replica count (" + std::to_string(sizing.desired_count) +
                           ")");
  }
  if (sizing.max_count > 1000) return InvalidArgument("max replicas must be <= 1000");
  ASSIGN_OR_RETURN(int cpu, ParsePositive("cpu", sizing.cpu));
  ASSIGN_OR_RETURN(int memory, ParsePositive("memory", sizing.memory));
  if (!ValidFargateSize(cpu, memory)) {
    return InvalidArgument("cpu " + sizing.cpu + " with memory " + sizing.memory +
                           " is not a Fargate task size");
  }
  const bool autoscaling = sizing.max_count > sizing.desired_count;

  // Weights: default all traffic to this slot; every named slot must be a slot name.
  std::map<std::string, int> weights = in.weights;
  if (weights.empty()) weights[in.slot] = 100;
  int sum = 0;
  for (const auto& [slot, w] : weights) {
    if (!IsSlot(slot)) return InvalidArgument("weights: unknown slot '" + slot + "'");
    if (w < 0 || w > 100) return InvalidArgument("weights: " + slot + " must be 0..100");
    sum += w;
  }
  if (sum != 100) return InvalidArgument("weights must sum to 100, not " + std::to_string(sum));
  if (!weights.contains(in.slot)) weights[in.slot] = 0;

  const std::string model_uri =
      in.model_uri.empty() ? "models:/" + in.model_name + "/" + in.model_version : in.model_uri;
  const std::string tg_arn = TargetGroupPlaceholder(names.target_group);

  EcsPlan plan;
  plan.names = names;
  plan.sizing = sizing;
  plan.autoscaling = autoscaling;

  ojson task = {
      {"family", names.task_family},
      {"executionRoleArn", in.infra.execution_role_arn},
  };
  if (!in.infra.task_role_arn.empty()) task["taskRoleArn"] = in.infra.task_role_arn;
  task["networkMode"] = "awsvpc";
  task["requiresCompatibilities"] = {"FARGATE"};
  task["cpu"] = sizing.cpu;
  task["memory"] = sizing.memory;
  task["containerDefinitions"] = ojson::array({ContainerDefinition(in, names, model_uri)});
  task["tags"] = EcsTags(in);
  plan.calls.push_back({"ecs", "RegisterTaskDefinition", "always", task});

  ojson tg = {
      {"Name", names.target_group},
      {"Protocol", "HTTP"},
      {"Port", in.container_port},
      {"VpcId", in.infra.vpc_id},
      {"TargetType", "ip"},
      {"HealthCheckEnabled", true},
      {"HealthCheckProtocol", "HTTP"},
      {"HealthCheckPort", "traffic-port"},
      {"HealthCheckPath", std::string(kHealthPath)},
      {"HealthCheckIntervalSeconds", 10},
      {"HealthCheckTimeoutSeconds", 5},
      {"HealthyThresholdCount", 2},
      {"UnhealthyThresholdCount", 3},
      {"Matcher", {{"HttpCode", "200"}}},
      {"Tags", ElbTags(in)},
  };
  plan.calls.push_back({"elbv2", "CreateTargetGroup", "always", tg});

  const ojson load_balancers = ojson::array({{{"targetGroupArn", tg_arn},
                                              {"containerName", names.container},
                                              {"containerPort", in.container_port}}});
  const ojson deployment_config = {
      {"maximumPercent", 200},
      {"minimumHealthyPercent", 100},
      {"deploymentCircuitBreaker", {{"enable", true}, {"rollback", true}}},
  };
  ojson create = {
      {"cluster", in.infra.cluster},
      {"serviceName", names.service},
      {"taskDefinition", kTaskDefinitionPlaceholder},
      {"desiredCount", sizing.desired_count},
      {"launchType", "FARGATE"},
      {"platformVersion", "LATEST"},
      {"networkConfiguration", NetworkConfiguration(in.infra)},
      {"loadBalancers", load_balancers},
      {"healthCheckGracePeriodSeconds", 60},
      {"deploymentController", {{"type", "ECS"}}},
      {"deploymentConfiguration", deployment_config},
      {"enableECSManagedTags", true},
      {"propagateTags", "SERVICE"},
      {"tags", EcsTags(in)},
  };
  plan.calls.push_back({"ecs", "CreateService", "service_missing", create});

  ojson update = {
      {"cluster", in.infra.cluster},
      {"service", names.service},
      {"taskDefinition", kTaskDefinitionPlaceholder},
      {"desiredCount", sizing.desired_count},
      {"networkConfiguration", NetworkConfiguration(in.infra)},
      {"loadBalancers", load_balancers},
      {"healthCheckGracePeriodSeconds", 60},
      {"deploymentConfiguration", deployment_config},
  };
  plan.calls.push_back({"ecs", "UpdateService", "service_exists", update});

  if (autoscaling) {
    ojson target = {
        {"ServiceNamespace", "ecs"},
        {"ResourceId", names.scaling_resource_id},
        {"ScalableDimension", "ecs:service:DesiredCount"},
        {"MinCapacity", sizing.min_count},
        {"MaxCapacity", sizing.max_count},
    };
    plan.calls.push_back({"application-autoscaling", "RegisterScalableTarget", "always", target});
    ojson policy = {
        {"PolicyName", names.service + "-cpu"},
        {"ServiceNamespace", "ecs"},
        {"ResourceId", names.scaling_resource_id},
        {"ScalableDimension", "ecs:service:DesiredCount"},
        {"PolicyType", "TargetTrackingScaling"},
        {"TargetTrackingScalingPolicyConfiguration",
         {{"TargetValue", sizing.cpu_target_percent},
          {"PredefinedMetricSpecification",
           {{"PredefinedMetricType", "ECSServiceAverageCPUUtilization"}}},
          {"ScaleOutCooldown", 60},
          {"ScaleInCooldown", 300}}},
    };
    plan.calls.push_back({"application-autoscaling", "PutScalingPolicy", "always", policy});
  }

  // Slots in a fixed order (blue, canary, green) so the listener body is deterministic.
  std::vector<std::pair<std::string, int>> tgw;
  for (const auto& [slot, w] : weights) {
    tgw.emplace_back(TargetGroupPlaceholder(TargetGroupName(in.project, in.environment, slot)), w);
  }
  if (!in.infra.rule_arn.empty()) {
    plan.calls.push_back({"elbv2",
                          "ModifyRule",
                          "always",
                          {{"RuleArn", in.infra.rule_arn}, {"Actions", ForwardActions(tgw)}}});
  } else {
    plan.calls.push_back(
        {"elbv2",
         "ModifyListener",
         "always",
         {{"ListenerArn", in.infra.listener_arn}, {"DefaultActions", ForwardActions(tgw)}}});
  }

  ojson j = {
      {"kind", "ecs"},
      {"project", in.project},
      {"environment", in.environment},
      {"deployment_id", in.deployment_id},
      {"slot", in.slot},
      {"region", in.region},
      {"model", {{"name", in.model_name}, {"version", in.model_version}, {"uri", model_uri}}},
      {"sizing",
       {{"cpu", sizing.cpu},
        {"memory", sizing.memory},
        {"desired_count", sizing.desired_count},
        {"min_count", sizing.min_count},
        {"max_count", sizing.max_count},
        {"autoscaling", autoscaling}}},
      {"names",
       {{"task_family", names.task_family},
        {"service", names.service},
        {"target_group", names.target_group},
        {"container", names.container}}},
      {"weights", weights},
  };
  ojson calls = ojson::array();
  for (const auto& c : plan.calls) {
    calls.push_back({{"api", c.api}, {"action", c.action}, {"when", c.when}, {"input", c.input}});
  }
  j["calls"] = calls;
  plan.json = std::move(j);
  return plan;
}

}  // namespace studio::deploy::aws
