#pragma once

#include <string>
#include <vector>

// `studio pipeline export-asl` and `studio pipeline run-aws` (plain values; CLI11 stays in
// main.cc). docs/pipelines.md "Running on AWS Step Functions".
namespace studio::cli {

struct PipelineAslOptions {
  std::string file;  // the spec ("-" = stdin)
  std::string cluster, task_definition, container = "studio";
  std::vector<std::string> subnets, security_groups, command_prefix;
  bool assign_public_ip = false;
  std::string platform_version, failure_topic_arn;
  std::string output_file;  // empty or "-" = stdout
};
// 0 written, 1 the spec is invalid, 2 usage or system error.
int RunPipelineExportAsl(const PipelineAslOptions& options);

struct PipelineRunAwsOptions {
  std::string file;  // the spec: its stage ids are what the history is mapped to
  std::string state_machine_arn, run_id;
  std::string execution_arn;  // follow (or --stop) this execution instead of starting one
  std::string region = "us-east-1", endpoint;
  bool follow = false, stop = false, json = false;
  double poll_interval_s = 5;
};
// Started (no --follow) or SUCCEEDED: 0; FAILED, TIMED_OUT or ABORTED: 1; errors: 2.
int RunPipelineRunAws(const PipelineRunAwsOptions& options);

}  // namespace studio::cli
