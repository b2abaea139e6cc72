#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "pipelines/spec.h"

// Compiles a validated pipeline spec to an Amazon States Language state machine that runs each
// stage as an ECS Fargate task (`arn:aws:states:::ecs:runTask.sync`), reference
// deploy_cicd_aws.md §3. The shape is documented in docs/pipelines.md "Running on AWS Step
// Functions"; the state names are the stage ids, which is what SfnExecutor maps back.
namespace studio::orchestrator::sfn {

struct EcsRunOptions {
  std::string cluster;                       // cluster ARN or name
  std::string task_definition;               // family[:revision] or ARN
  std::string container = "studio";          // the container that runs `studio run-stage`
  std::vector<std::string> subnets;          // at least one
  std::vector<std::string> security_groups;  // may be empty (the VPC's default group)
  bool assign_public_ip = false;             // ENABLED | DISABLED
  std::string platform_version;              // e.g. "1.4.0"; empty = LATEST
  // Words put before `run-stage …` in the container command, for an image whose entrypoint
  // is not `studio` (e.g. {"studio"} or {"/usr/local/bin/studio"}).
  std::vector<std::string> command_prefix;
  // Where a failure is reported before the execution fails: an SNS topic (sns:publish of the
  // state input with the error under "error"); empty = a Pass state that shapes the same
  // notice into the execution output.
  std::string failure_topic_arn;
  std::string comment;  // the state machine's Comment; empty = generated from the spec
};

// Names of the states that are not stages. Stage ids are lowercase ([a-z0-9-]), these are
// not, so they never collide; Parallel states are "Parallel_<id>_<id>…" (or "Parallel_L<n>"
// when that would pass the 80-character limit on state names).
inline constexpr const char* kNotifyFailureState = "NotifyFailure";
inline constexpr const char* kFailState = "PipelineFailed";
inline constexpr const char* kEcsRunTaskSync = "arn:aws:states:::ecs:runTask.sync";

// The stages in levels: level k holds the stages whose longest chain of `needs` from a root
// has k edges, in spec order. Every stage's needs are in earlier levels. Requires an acyclic
// spec whose needs resolve (ValidateSpec guarantees both); otherwise INVALID_PARAMETER_VALUE.
Result<std::vector<std::vector<std::string>>> StageLevels(const pipelines::PipelineSpec& spec);

// A Fargate task size (CPU units, MiB) that covers the stage's resources: the smallest valid
// Fargate combination with at least ceil(cpu * 1024) units and memory_mib MiB.
struct FargateSize {
  int cpu_units = 0;
  int memory_mib = 0;
};
Result<FargateSize> FargateSizeFor(double cpu, int64_t memory_mib);

// The state machine definition. INVALID_PARAMETER_VALUE for missing options (cluster, task
// definition, container, subnets), an empty spec, or a spec the layering refuses.
Result<nlohmann::json> CompileAsl(const pipelines::PipelineSpec& spec,
                                  const EcsRunOptions& options);

// A valid Step Functions execution name: 1–80 characters, none of whitespace, brackets,
// wildcards, control characters or  " # % \ ^ | ~ ` $ & , ; : /  (run ids are UUIDs).
bool IsValidExecutionName(const std::string& name);

}  // namespace studio::orchestrator::sfn
