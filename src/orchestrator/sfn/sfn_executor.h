#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "orchestrator/remote_executor.h"
#include "orchestrator/sfn/sfn_client.h"

// Runs a pipeline run as one Step Functions execution of a state machine made by CompileAsl,
// and maps the execution history back to stage updates (docs/pipelines.md "Running on AWS
// Step Functions", "State → stage mapping").
namespace studio::orchestrator::sfn {

// Turns the history of one execution into stage updates. State names are stage ids (the
// compiler's own states — Parallel_*, NotifyFailure, PipelineFailed — are not lowercase, so
// they never match). Task events carry no state name: they are attributed by following
// previousEventId back to the TaskStateEntered event, which also holds within interleaved
// Parallel branches and across retries.
//   TaskScheduled                          → running, attempt = nth TaskScheduled of the stage
//   TaskSucceeded                          → succeeded
//   TaskFailed, TaskTimedOut,
//   TaskStartFailed, TaskSubmitFailed      → failed (a later TaskScheduled is the retry)
//   TaskStateAborted                       → cancelled (a sibling branch failed, or a stop)
// When the execution ends, a stage still running is cancelled (FAILED, ABORTED) or failed
// (TIMED_OUT); a stage entered but never scheduled in a FAILED execution failed with the
// execution's error (e.g. a Parameters error).
class HistoryMapper {
 public:
  // Empty `stage_ids`: any state name made of [a-z0-9-] is a stage.
  explicit HistoryMapper(std::set<std::string> stage_ids = {});

  // Events in any order; those at or below last_event_id() are skipped as already seen.
  std::vector<RemoteStageUpdate> Apply(std::vector<HistoryEvent> events);
  // Once, when the execution has ended with `status`.
  std::vector<RemoteStageUpdate> Finish(const std::string& status, const std::string& error,
                                        int64_t stop_ms);
  int64_t last_event_id() const { return last_; }

 private:
  struct StageState {
    int attempt = 0;
    std::string status;  // "" (entered, not scheduled) | running | succeeded | failed | cancelled
    int64_t started_ms = 0;
  };
  bool IsStage(const std::string& name) const;
  RemoteStageUpdate Update(const std::string& stage, const std::string& status, int64_t ts,
                           std::string error = "");

  std::set<std::string> stage_ids_;
  std::map<int64_t, std::string> owner_;  // event id → stage id
  std::map<std::string, StageState> stages_;
  int64_t last_ = 0;
  bool finished_ = false;
};

struct SfnExecutorOptions {
  std::string state_machine_arn;
  SfnClientOptions client;
  int history_page_size = 100;  // GetExecutionHistory maxResults
};

class SfnExecutor : public RemoteExecutor {
 public:
  static Result<std::unique_ptr<SfnExecutor>> Create(SfnExecutorOptions options);

  // StartExecution {stateMachineArn, name: run_id, input: {"run_id": run_id}}. The run id must
  // be a valid execution name (IsValidExecutionName). Returns the execution ARN.
  Result<std::string> Start(const std::string& run_id,
                            const pipelines::PipelineSpec& spec) override;
  // DescribeExecution, then GetExecutionHistory newest first until the last event seen by
  // the previous Poll of this handle. A handle this executor did not start (e.g. after a
  // restart) is read from the first event, so its updates are reported again.
  Result<RemotePoll> Poll(const std::string& handle) override;
  // StopExecution with error "studio.Cancelled".
  Status Cancel(const std::string& handle) override;
  // Follows an execution started elsewhere (another process, or before a restart) with the
  // spec's stage ids; without it, Poll treats every lowercase state name as a stage.
  void Adopt(const std::string& handle, const pipelines::PipelineSpec& spec);

 private:
  SfnExecutor(SfnExecutorOptions options, std::unique_ptr<SfnClient> client)
      : options_(std::move(options)), client_(std::move(client)) {}
  struct Tracked {
    std::mutex mu;  // one Poll of an execution at a time
    HistoryMapper mapper;
    explicit Tracked(std::set<std::string> ids) : mapper(std::move(ids)) {}
  };
  std::shared_ptr<Tracked> Track(const std::string& handle, std::set<std::string> ids);

  SfnExecutorOptions options_;
  std::unique_ptr<SfnClient> client_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Tracked>> tracked_;
};

}  // namespace studio::orchestrator::sfn
