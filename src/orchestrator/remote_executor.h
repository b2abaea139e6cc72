#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipelines/spec.h"

// An executor that runs a whole pipeline run elsewhere (AWS Step Functions → ECS Fargate) and
// reports stage progress back; the control plane's scheduler polls it and maps the updates to
// its stage runs. The local process executor is the other implementation of running a run.
namespace studio::orchestrator {

struct RemoteStageUpdate {
  std::string stage_id;
  std::string status;  // running | succeeded | failed | cancelled
  int attempt = 1;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  std::string error;
};

struct RemotePoll {
  std::vector<RemoteStageUpdate> updates;  // in event order, since the previous poll
  bool finished = false;
  std::string status;  // RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
  std::string error;
};

class RemoteExecutor {
 public:
  virtual ~RemoteExecutor() = default;
  // Starts the run; returns the execution handle (the execution ARN).
  virtual Result<std::string> Start(const std::string& run_id,
                                    const pipelines::PipelineSpec& spec) = 0;
  // Updates since the previous Poll of this handle.
  virtual Result<RemotePoll> Poll(const std::string& handle) = 0;
  virtual Status Cancel(const std::string& handle) = 0;
};

}  // namespace studio::orchestrator
