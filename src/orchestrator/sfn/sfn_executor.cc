#include "orchestrator/sfn/sfn_executor.h"

#include <algorithm>

#include "orchestrator/sfn/asl_compiler.h"

namespace studio::orchestrator::sfn {
namespace {

bool IsTerminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

std::string ErrorText(const std::string& error, const std::string& cause) {
  if (error.empty()) return cause;
  if (cause.empty()) return error;
  return error + ": " + cause;
}

}  // namespace

HistoryMapper::HistoryMapper(std::set<std::string> stage_ids) : stage_ids_(std::move(stage_ids)) {}

bool HistoryMapper::IsStage(const std::string& name) const {
  if (!stage_ids_.empty()) return stage_ids_.count(name) > 0;
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

RemoteStageUpdate HistoryMapper::Update(const std::string& stage, const std::string& status,
                                        int64_t ts, std::string error) {
  StageState& s = stages_[stage];
  s.status = status;
  RemoteStageUpdate u;
  u.stage_id = stage;
  u.status = status;
  u.attempt = std::max(1, s.attempt);
  u.started_ms = s.started_ms;
  if (IsTerminal(status)) u.finished_ms = ts;
  u.error = std::move(error);
  return u;
}

std::vector<RemoteStageUpdate> HistoryMapper::Apply(std::vector<HistoryEvent> events) {
  std::sort(events.begin(), events.end(),
            [](const HistoryEvent& a, const HistoryEvent& b) { return a.id < b.id; });
  std::vector<RemoteStageUpdate> out;
  for (const HistoryEvent& e : events) {
    if (e.id <= last_) continue;
    last_ = e.id;
    const std::string& t = e.type;
    std::string stage;
    if (t.ends_with("StateEntered")) {
      // A state's first event names it; a non-stage state (Parallel, NotifyFailure) owns its
      // events itself, so nothing after it is charged to the stage before.
      if (t == "TaskStateEntered" && IsStage(e.name)) {
        stage = e.name;
        owner_[e.id] = stage;
        StageState& s = stages_[stage];
        // Entered again (a redriven execution): a new attempt, numbered after the old ones.
        if (IsTerminal(s.status)) s.status.clear();
      }
      continue;
    }
    if (auto it = owner_.find(e.previous_event_id); it != owner_.end()) stage = it->second;
    if (t == "TaskStateExited" && IsStage(e.name)) stage = e.name;
    if (stage.empty()) continue;
    owner_[e.id] = stage;
    StageState& s = stages_[stage];
    if (t == "TaskScheduled") {
      ++s.attempt;
      s.started_ms = e.timestamp_ms;
      out.push_back(Update(stage, "running", e.timestamp_ms));
    } else if (t == "TaskSucceeded") {
      out.push_back(Update(stage, "succeeded", e.timestamp_ms));
    } else if (t == "TaskFailed" || t == "TaskStartFailed" || t == "TaskSubmitFailed") {
      out.push_back(Update(stage, "failed", e.timestamp_ms, ErrorText(e.error, e.cause)));
    } else if (t == "TaskTimedOut") {
      out.push_back(Update(stage, "failed", e.timestamp_ms,
                           ErrorText(e.error.empty() ? "States.Timeout" : e.error, e.cause)));
    } else if (t == "TaskStateAborted") {
      if (!IsTerminal(s.status) || s.status == "failed") {
        // A failed attempt whose retry was pending is cancelled as a whole.
        out.push_back(Update(stage, "cancelled", e.timestamp_ms, ErrorText(e.error, e.cause)));
      }
    }
  }
  return out;
}

std::vector<RemoteStageUpdate> HistoryMapper::Finish(const std::string& status,
                                                     const std::string& error, int64_t stop_ms) {
  std::vector<RemoteStageUpdate> out;
  if (finished_) return out;
  finished_ = true;
  for (auto& [stage, s] : stages_) {
    if (s.status == "running") {
      if (status == "TIMED_OUT") {
        out.push_back(Update(stage, "failed", stop_ms, "the execution timed out"));
      } else if (status != "SUCCEEDED") {
        out.push_back(Update(stage, "cancelled", stop_ms, "the execution ended " + status));
      }
    } else if (s.status.empty() && status != "SUCCEEDED") {
      // Entered but never scheduled: the state itself failed (e.g. its Parameters).
      s.attempt = 1;
      s.started_ms = stop_ms;
      out.push_back(Update(stage, status == "FAILED" ? "failed" : "cancelled", stop_ms,
                           error.empty() ? "the execution ended " + status : error));
    }
  }
  return out;
}

Result<std::unique_ptr<SfnExecutor>> SfnExecutor::Create(SfnExecutorOptions options) {
  if (options.state_machine_arn.empty())
    return InvalidArgument("Step Functions: the state machine ARN is required");
  if (options.history_page_size < 1 || options.history_page_size > 1000)
    return InvalidArgument("Step Functions: the history page size must be 1..1000");
  ASSIGN_OR_RETURN(auto client, SfnClient::Create(options.client));
  return std::unique_ptr<SfnExecutor>(new SfnExecutor(std::move(options), std::move(client)));
}

std::shared_ptr<SfnExecutor::Tracked> SfnExecutor::Track(const std::string& handle,
                                                         std::set<std::string> ids) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = tracked_[handle];
  if (!slot) slot = std::make_shared<Tracked>(std::move(ids));
  return slot;
}

Result<std::string> SfnExecutor::Start(const std::string& run_id,
                                       const pipelines::PipelineSpec& spec) {
  if (!IsValidExecutionName(run_id))
    return InvalidArgument("run id '" + run_id +
                           "' is not a valid Step Functions execution name (1-80 characters, "
                           "no whitespace, brackets, wildcards or \"#%\\^|~`$&,;:/)");
  if (spec.stages.empty()) return InvalidArgument("the pipeline has no stages");
  StartExecutionRequest r;
  r.state_machine_arn = options_.state_machine_arn;
  r.name = run_id;
  r.input = nlohmann::json{{"run_id", run_id}}.dump();
  ASSIGN_OR_RETURN(StartExecutionResponse started, client_->StartExecution(r));
  std::set<std::string> ids;
  for (const auto& s : spec.stages) ids.insert(s.id);
  Track(started.execution_arn, std::move(ids));
  return started.execution_arn;
}

void SfnExecutor::Adopt(const std::string& handle, const pipelines::PipelineSpec& spec) {
  std::set<std::string> ids;
  for (const auto& s : spec.stages) ids.insert(s.id);
  Track(handle, std::move(ids));
}

Result<RemotePoll> SfnExecutor::Poll(const std::string& handle) {
  if (handle.empty()) return InvalidArgument("empty execution handle");
  std::shared_ptr<Tracked> tracked = Track(handle, {});
  std::lock_guard<std::mutex> lock(tracked->mu);
  // Describe first: when it reports an end, the history read after it holds every event.
  ASSIGN_OR_RETURN(DescribeExecutionResponse d, client_->DescribeExecution(handle));

  const int64_t seen = tracked->mapper.last_event_id();
  std::vector<HistoryEvent> fresh;
  GetExecutionHistoryRequest page;
  page.execution_arn = handle;
  page.max_results = options_.history_page_size;
  page.reverse_order = true;  // newest first: stop at what the previous poll saw
  for (;;) {
    ASSIGN_OR_RETURN(GetExecutionHistoryResponse r, client_->GetExecutionHistory(page));
    bool reached_seen = false;
    for (auto& e : r.events) {
      if (e.id <= seen) {
        reached_seen = true;
      } else {
        fresh.push_back(std::move(e));
      }
    }
    if (reached_seen || r.next_token.empty()) break;
    if (r.next_token == page.next_token)
      return Internal("Step Functions GetExecutionHistory: the same nextToken twice");
    page.next_token = std::move(r.next_token);
  }

  RemotePoll poll;
  poll.status = d.status;
  poll.updates = tracked->mapper.Apply(std::move(fresh));
  poll.finished = d.status != "RUNNING" && d.status != "PENDING_REDRIVE";
  if (poll.finished) {
    poll.error = ErrorText(d.error, d.cause);
    for (auto& u : tracked->mapper.Finish(d.status, poll.error, d.stop_ms))
      poll.updates.push_back(std::move(u));
  }
  return poll;
}

Status SfnExecutor::Cancel(const std::string& handle) {
  if (handle.empty()) return InvalidArgument("empty execution handle");
  return client_->StopExecution({handle, "studio.Cancelled", "cancelled from MLOps Studio"});
}

}  // namespace studio::orchestrator::sfn
