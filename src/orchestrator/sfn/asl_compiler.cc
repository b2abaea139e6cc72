// Spec → ASL. The DAG becomes a chain of levels (StageLevels); a level of one stage is a Task
// state, a level of several is a Parallel state with one single-Task branch per stage. That is
// always valid but can serialize independent work: in a→b, c (c needs nothing) the chain
// [a, c] → [b] makes b wait for c although it only needs a. ASL has no DAG join, only nested
// Parallel states, and a faithful nesting exists only for series-parallel graphs; the
// canonical spec is one (its two inference stages are exactly one level), so it loses nothing.
#include "orchestrator/sfn/asl_compiler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace studio::orchestrator::sfn {
namespace {

using nlohmann::json;

constexpr size_t kMaxStateNameLength = 80;
// Retry/Catch match: a failed ECS task (non-zero exit, RunTask failures) is States.TaskFailed,
// which in a retrier matches every error but States.Timeout; a stage over its
// timeout_seconds is retried as well, as the local executor does.
const json kRetryErrors = json::array({"States.TaskFailed", "States.Timeout"});

// Intrinsic-function string literal: ' { } \ are escaped with a backslash.
std::string IntrinsicString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '{' || c == '}' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

json Catcher() {
  return json::array({{{"ErrorEquals", {"States.ALL"}},
                       {"ResultPath", "$.error"},
                       {"Next", kNotifyFailureState}}});
}

Result<json> StageTask(const pipelines::StageSpec& stage, const pipelines::PipelineSpec& spec,
                       const EcsRunOptions& o) {
  static const std::set<std::string> kReserved = {"STUDIO_RUN_ID", "STUDIO_STAGE", "STUDIO_ATTEMPT",
                                                  "STUDIO_PIPELINE", "STUDIO_PROJECT"};
  json env = json::array();
  env.push_back({{"Name", "STUDIO_RUN_ID"}, {"Value.$", "$.run_id"}});
  env.push_back({{"Name", "STUDIO_STAGE"}, {"Value", stage.id}});
  // Retries of a Task state run inside it: the context object counts them.
  env.push_back({{"Name", "STUDIO_ATTEMPT"},
                 {"Value.$", "States.Format('{}', States.MathAdd($$.State.RetryCount, 1))"}});
  env.push_back({{"Name", "STUDIO_PIPELINE"}, {"Value", spec.name}});
  env.push_back({{"Name", "STUDIO_PROJECT"}, {"Value", spec.project}});
  if (stage.with.is_object() && stage.with.contains("env") && stage.with["env"].is_object()) {
    for (const auto& [name, value] : stage.with["env"].items()) {
      if (kReserved.count(name))
        return InvalidArgument("stage '" + stage.id + "': with.env." + name +
                               " is set by the executor");
      env.push_back(
          {{"Name", name}, {"Value", value.is_string() ? value.get<std::string>() : value.dump()}});
    }
  }

  std::string command = "States.Array(";
  for (const auto& word : o.command_prefix) command += IntrinsicString(word) + ", ";
  command += "'run-stage', '--run', $.run_id, '--stage', " + IntrinsicString(stage.id) + ")";

  ASSIGN_OR_RETURN(FargateSize size, FargateSizeFor(stage.cpu, stage.memory_mib));
  json network = {{"Subnets", o.subnets},
                  {"AssignPublicIp", o.assign_public_ip ? "ENABLED" : "DISABLED"}};
  // None given: ECS applies the VPC's default security group.
  if (!o.security_groups.empty()) network["SecurityGroups"] = o.security_groups;
  json params = {
      {"Cluster", o.cluster},
      {"TaskDefinition", o.task_definition},
      {"LaunchType", "FARGATE"},
      {"NetworkConfiguration", {{"AwsvpcConfiguration", network}}},
      {"Overrides",
       {{"Cpu", std::to_string(size.cpu_units)},
        {"Memory", std::to_string(size.memory_mib)},
        {"ContainerOverrides",
         json::array({{{"Name", o.container}, {"Command.$", command}, {"Environment", env}}})}}}};
  if (!o.platform_version.empty()) params["PlatformVersion"] = o.platform_version;

  json task = {{"Type", "Task"},
               {"Comment", "stage " + stage.id + " (" + stage.type + ")"},
               {"Resource", kEcsRunTaskSync},
               {"Parameters", params},
               // The RunTask result is the ECS task description: stage outputs go to the
               // control plane, so the state passes its input on unchanged.
               {"ResultPath", nullptr},
               {"TimeoutSeconds", stage.timeout_seconds}};
  if (stage.retry.max_attempts > 1) {
    task["Retry"] =
        json::array({{{"ErrorEquals", kRetryErrors},
                      // ASL wants a positive interval; a spec's 0 ("retry at once") becomes 1 s.
                      {"IntervalSeconds", std::max<int64_t>(1, stage.retry.interval_seconds)},
                      {"MaxAttempts", stage.retry.max_attempts - 1},
                      {"BackoffRate", stage.retry.backoff_rate}}});
  }
  return task;
}

std::string ParallelName(const std::vector<std::string>& ids, size_t level) {
  std::string name = "Parallel";
  for (const auto& id : ids) name += "_" + id;
  if (name.size() > kMaxStateNameLength) name = "Parallel_L" + std::to_string(level);
  return name;
}

}  // namespace

Result<std::vector<std::vector<std::string>>> StageLevels(const pipelines::PipelineSpec& spec) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    if (!index.emplace(spec.stages[i].id, i).second)
      return InvalidArgument("duplicate stage id '" + spec.stages[i].id + "'");
  }
  // Longest-path depth by repeated relaxation: at most n rounds on an acyclic graph.
  std::vector<int> depth(spec.stages.size(), 0);
  for (size_t round = 0;; ++round) {
    if (round > spec.stages.size()) return InvalidArgument("the stages' needs form a cycle");
    bool changed = false;
    for (size_t i = 0; i < spec.stages.size(); ++i) {
      for (const auto& need : spec.stages[i].needs) {
        auto it = index.find(need);
        if (it == index.end())
          return InvalidArgument("stage '" + spec.stages[i].id + "' needs unknown stage '" + need +
                                 "'");
        if (depth[i] < depth[it->second] + 1) {
          depth[i] = depth[it->second] + 1;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  std::vector<std::vector<std::string>> levels;
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    size_t d = static_cast<size_t>(depth[i]);
    if (levels.size() <= d) levels.resize(d + 1);
    levels[d].push_back(spec.stages[i].id);
  }
  return levels;
}

Result<FargateSize> FargateSizeFor(double cpu, int64_t memory_mib) {
  // Fargate's task sizes: CPU units → the memory range and step that go with them.
  struct Tier {
    int cpu, min_mib, max_mib, step;
  };
  static const Tier kTiers[] = {{256, 512, 2048, 512},       {512, 1024, 4096, 1024},
                                {1024, 2048, 8192, 1024},    {2048, 4096, 16384, 1024},
                                {4096, 8192, 30720, 1024},   {8192, 16384, 61440, 4096},
                                {16384, 32768, 122880, 8192}};
  if (!(cpu > 0) || memory_mib <= 0) return InvalidArgument("cpu and memory must be positive");
  const double units = std::ceil(cpu * 1024 - 1e-9);
  for (const Tier& t : kTiers) {
    if (t.cpu < units || t.max_mib < memory_mib) continue;
    int64_t mib = t.min_mib;
    if (t.cpu == 256) {
      // 256 units allow 512, 1024 and 2048 only.
      while (mib < memory_mib) mib *= 2;
    } else {
      while (mib < memory_mib) mib += t.step;
    }
    return FargateSize{t.cpu, static_cast<int>(mib)};
  }
  return InvalidArgument("no Fargate task size has " + std::to_string(cpu) + " vCPU and " +
                         std::to_string(memory_mib) + " MiB");
}

bool IsValidExecutionName(const std::string& name) {
  if (name.empty()) return false;
  size_t chars = 0;
  for (unsigned char c : name) {
    if ((c & 0xC0) != 0x80) ++chars;  // count code points, not UTF-8 continuation bytes
    if (c < 0x20 || c == 0x7F || c == ' ') return false;
    if (std::string_view("<>{}[]?*\"#%\\^|~`$&,;:/").find(static_cast<char>(c)) !=
        std::string_view::npos)
      return false;
  }
  return chars <= 80;
}

Result<json> CompileAsl(const pipelines::PipelineSpec& spec, const EcsRunOptions& o) {
  if (o.cluster.empty()) return InvalidArgument("the ECS cluster is required");
  if (o.task_definition.empty()) return InvalidArgument("the ECS task definition is required");
  if (o.container.empty()) return InvalidArgument("the container name is required");
  if (o.subnets.empty()) return InvalidArgument("at least one subnet is required");
  for (const auto& s : o.subnets)
    if (s.empty()) return InvalidArgument("empty subnet id");
  for (const auto& s : o.security_groups)
    if (s.empty()) return InvalidArgument("empty security group id");
  if (spec.stages.empty()) return InvalidArgument("the pipeline has no stages");
  ASSIGN_OR_RETURN(auto levels, StageLevels(spec));

  std::map<std::string, const pipelines::StageSpec*> by_id;
  for (const auto& s : spec.stages) by_id[s.id] = &s;

  json states = json::object();
  std::vector<std::string> chain;  // the top-level states in order
  for (size_t l = 0; l < levels.size(); ++l) {
    const auto& ids = levels[l];
    if (ids.size() == 1) {
      ASSIGN_OR_RETURN(json task, StageTask(*by_id[ids[0]], spec, o));
      task["Catch"] = Catcher();
      states[ids[0]] = std::move(task);
      chain.push_back(ids[0]);
      continue;
    }
    json branches = json::array();
    for (const auto& id : ids) {
      ASSIGN_OR_RETURN(json task, StageTask(*by_id[id], spec, o));
      task["End"] = true;
      // A branch cannot jump out of itself: the Parallel state catches for it, and a
      // failed branch stops its siblings.
      branches.push_back({{"StartAt", id}, {"States", {{id, std::move(task)}}}});
    }
    std::string name = ParallelName(ids, l);
    states[name] = {{"Type", "Parallel"},
                    {"Comment", "independent stages of level " + std::to_string(l)},
                    {"Branches", std::move(branches)},
                    {"ResultPath", nullptr},
                    {"Catch", Catcher()}};
    chain.push_back(name);
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i + 1 < chain.size()) {
      states[chain[i]]["Next"] = chain[i + 1];
    } else {
      states[chain[i]]["End"] = true;
    }
  }

  if (!o.failure_topic_arn.empty()) {
    // The whole state input (run_id and the caught error) is the message; a failed publish
    // must not hide the pipeline's failure, so it goes on to the Fail state either way.
    states[kNotifyFailureState] = {
        {"Type", "Task"},
        {"Comment", "publish the failure to SNS"},
        {"Resource", "arn:aws:states:::sns:publish"},
        {"Parameters", {{"TopicArn", o.failure_topic_arn}, {"Message.$", "$"}}},
        {"ResultPath", nullptr},
        {"Catch", json::array({{{"ErrorEquals", {"States.ALL"}},
                                {"ResultPath", "$.notify_error"},
                                {"Next", kFailState}}})},
        {"Next", kFailState}};
  } else {
    states[kNotifyFailureState] = {
        {"Type", "Pass"},
        {"Comment", "shape the failure notice (no SNS topic configured)"},
        {"Parameters", {{"run_id.$", "$.run_id"}, {"pipeline", spec.name}, {"error.$", "$.error"}}},
        {"ResultPath", "$.notice"},
        {"Next", kFailState}};
  }
  states[kFailState] = {{"Type", "Fail"},
                        {"Error", "PipelineFailed"},
                        {"Cause", "a stage of pipeline '" + spec.name +
                                      "' failed; see the execution history and the run's "
                                      "stage logs"}};

  std::string comment = o.comment.empty() ? "MLOps Studio pipeline '" + spec.name +
                                                "' of project '" + spec.project + "' (" +
                                                std::to_string(spec.stages.size()) + " stages)"
                                          : o.comment;
  return json{{"Comment", comment}, {"StartAt", chain.front()}, {"States", std::move(states)}};
}

}  // namespace studio::orchestrator::sfn
