#pragma once

#include <string>

#include "cli/commands.h"

namespace CLI {
class App;
}

// `studio run-stage`, `studio worker` and `studio pipeline run|runs|logs|cancel` (issue 6,
// local executor). Plain option structs here; run_commands_cli.cc wires them to CLI11.
namespace studio::cli {

struct RunStageOptions {
  std::string run, stage;
  bool noop = false;          // also STUDIO_STAGE_NOOP=1
  std::string server, token;  // default STUDIO_SERVER / STUDIO_TOKEN
  int attempt = 0;            // default STUDIO_STAGE_ATTEMPT, else the stage's latest
};
// 0 the stage succeeded, 1 it failed, 2 usage or system error.
int RunRunStage(const RunStageOptions& options);

struct WorkerOptions {
  CommonFlags flags;
  std::string server;  // where stage processes reach the control plane
  int concurrency = 4;
};
int RunWorker(const WorkerOptions& options);

struct PipelineRunOptions {
  std::string server, token;
  bool json = false;
  std::string file;  // run: the spec
  std::string project, pipeline, git_sha, executor = "local";
  int version = 0;
  bool wait = false, noop = false;
  // runs
  std::string status;
  int max_results = 50;
  // logs / cancel
  std::string run_id, stage;
  int attempt = 0;
  bool follow = false;
};
// run: 0 started (or, with --wait, succeeded), 1 failed or cancelled, 2 error.
int RunPipelineRun(const PipelineRunOptions& options);
int RunPipelineRuns(const PipelineRunOptions& options);
int RunPipelineLogs(const PipelineRunOptions& options);
int RunPipelineCancel(const PipelineRunOptions& options);

// Adds run-stage and worker to `app` and run|runs|logs|cancel to `pipeline`; callbacks set *rc.
void AddRunCommands(CLI::App* app, CLI::App* pipeline, int* rc);

}  // namespace studio::cli
