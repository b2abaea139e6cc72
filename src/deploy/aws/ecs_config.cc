#include "deploy/aws/ecs_config.h"

#include <set>

namespace studio::deploy::aws {
namespace {

using json = nlohmann::json;

Status CheckKeys(const json& j, const std::string& path, const std::set<std::string>& allowed) {
  if (!j.is_object()) return InvalidArgument(path + ": expected an object");
  for (const auto& [k, v] : j.items()) {
    if (!allowed.contains(k)) return InvalidArgument(path + "." + k + ": unknown key");
  }
  return Status::Ok();
}

Status GetString(const json& j, const std::string& path, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_string()) return InvalidArgument(path + "." + key + ": expected a string");
  out = it->get<std::string>();
  return Status::Ok();
}

Status GetStrings(const json& j, const std::string& path, const char* key,
                  std::vector<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(path + "." + key + ": expected a list of strings");
  out.clear();
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument(path + "." + key + ": expected a list of strings");
    out.push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status GetBool(const json& j, const std::string& path, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_boolean()) return InvalidArgument(path + "." + key + ": expected true or false");
  out = it->get<bool>();
  return Status::Ok();
}

Status GetInt(const json& j, const std::string& path, const char* key, int64_t lo, int64_t hi,
              int64_t& out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return InvalidArgument(path + "." + key + ": expected a whole number in " + std::to_string(lo) +
                           ".." + std::to_string(hi));
  }
  out = it->get<int64_t>();
  return Status::Ok();
}

Result<EcsSizing> SizingFromJson(const json& j, const std::string& path,
                                 const std::string& environment) {
  RETURN_IF_ERROR(
      CheckKeys(j, path, {"cpu", "memory", "replicas", "max_replicas", "cpu_target_percent"}));
  EcsSizing s;
  if (Result<EcsSizing> d = DefaultSizing(environment); d.ok()) s = *d;
  RETURN_IF_ERROR(GetString(j, path, "cpu", s.cpu));
  RETURN_IF_ERROR(GetString(j, path, "memory", s.memory));
  int64_t replicas = 0, max_replicas = 0;
  RETURN_IF_ERROR(GetInt(j, path, "replicas", 1, 1000, replicas));
  RETURN_IF_ERROR(GetInt(j, path, "max_replicas", 1, 1000, max_replicas));
  if (replicas > 0) {
    s.desired_count = s.min_count = static_cast<int>(replicas);
    if (s.max_count < s.desired_count) s.max_count = s.desired_count;
  }
  if (max_replicas > 0) s.max_count = static_cast<int>(max_replicas);
  if (auto it = j.find("cpu_target_percent"); it != j.end()) {
    if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > 100) {
      return InvalidArgument(path + ".cpu_target_percent: expected a number in (0, 100]");
    }
    s.cpu_target_percent = it->get<double>();
  }
  if (s.cpu.empty() || s.memory.empty()) {
    return InvalidArgument(path + ": cpu and memory are required for environment '" + environment +
                           "'");
  }
  return s;
}

}  // namespace

Result<EcsInfra> EcsInfraFromJson(const json& j, const std::string& path) {
  RETURN_IF_ERROR(
      CheckKeys(j, path,
                {"image", "cluster", "subnets", "security_groups", "assign_public_ip",
                 "execution_role_arn", "task_role_arn", "vpc_id", "listener_arn", "rule_arn",
                 "control_plane_url", "token_secret_arn", "log_group", "sizing"}));
  EcsInfra i;
  i.log_group = "/studio/serving";
  RETURN_IF_ERROR(GetString(j, path, "image", i.image));
  RETURN_IF_ERROR(GetString(j, path, "cluster", i.cluster));
  RETURN_IF_ERROR(GetStrings(j, path, "subnets", i.subnets));
  RETURN_IF_ERROR(GetStrings(j, path, "security_groups", i.security_groups));
  RETURN_IF_ERROR(GetBool(j, path, "assign_public_ip", i.assign_public_ip));
  RETURN_IF_ERROR(GetString(j, path, "execution_role_arn", i.execution_role_arn));
  RETURN_IF_ERROR(GetString(j, path, "task_role_arn", i.task_role_arn));
  RETURN_IF_ERROR(GetString(j, path, "vpc_id", i.vpc_id));
  RETURN_IF_ERROR(GetString(j, path, "listener_arn", i.listener_arn));
  RETURN_IF_ERROR(GetString(j, path, "rule_arn", i.rule_arn));
  RETURN_IF_ERROR(GetString(j, path, "control_plane_url", i.control_plane_url));
  RETURN_IF_ERROR(GetString(j, path, "token_secret_arn", i.token_secret_arn));
  RETURN_IF_ERROR(GetString(j, path, "log_group", i.log_group));
  if (auto it = j.find("sizing"); it != j.end()) {
    std::string env = path.substr(path.rfind('.') + 1);
    ASSIGN_OR_RETURN(EcsSizing s, SizingFromJson(*it, path + ".sizing", env));
    i.sizing = s;
  }
  return i;
}

Result<EcsTargetOptions> EcsTargetOptionsFromJson(const json& j) {
  RETURN_IF_ERROR(CheckKeys(
      j, "ecs", {"region", "endpoints", "poll_interval_ms", "ready_timeout_ms", "environments"}));
  EcsTargetOptions o;
  RETURN_IF_ERROR(GetString(j, "ecs", "region", o.region));
  if (o.region.empty()) return InvalidArgument("ecs.region: must not be empty");
  if (auto it = j.find("endpoints"); it != j.end()) {
    RETURN_IF_ERROR(CheckKeys(*it, "ecs.endpoints", {"ecs", "elbv2", "autoscaling", "monitoring"}));
    RETURN_IF_ERROR(GetString(*it, "ecs.endpoints", "ecs", o.ecs_endpoint));
    RETURN_IF_ERROR(GetString(*it, "ecs.endpoints", "elbv2", o.elbv2_endpoint));
    RETURN_IF_ERROR(GetString(*it, "ecs.endpoints", "autoscaling", o.autoscaling_endpoint));
    RETURN_IF_ERROR(GetString(*it, "ecs.endpoints", "monitoring", o.monitoring_endpoint));
  }
  int64_t poll = o.poll_interval.count(), ready = o.ready_timeout.count();
  RETURN_IF_ERROR(GetInt(j, "ecs", "poll_interval_ms", 1, 3'600'000, poll));
  RETURN_IF_ERROR(GetInt(j, "ecs", "ready_timeout_ms", 1, 24 * 3'600'000LL, ready));
  o.poll_interval = std::chrono::milliseconds(poll);
  o.ready_timeout = std::chrono::milliseconds(ready);
  auto envs = j.find("environments");
  if (envs == j.end() || !envs->is_object() || envs->empty()) {
    return InvalidArgument("ecs.environments: expected an object with at least one environment");
  }
  for (const auto& [name, infra] : envs->items()) {
    ASSIGN_OR_RETURN(o.environments[name], EcsInfraFromJson(infra, "ecs.environments." + name));
  }
  return o;
}

}  // namespace studio::deploy::aws
