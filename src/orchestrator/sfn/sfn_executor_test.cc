#include "orchestrator/sfn/sfn_executor.h"

#include <gtest/gtest.h>

namespace studio::orchestrator::sfn {
namespace {

using nlohmann::json;

// A history as Step Functions writes it: {id, previousEventId, timestamp, type, details}.
class History {
 public:
  int64_t Add(const std::string& type, int64_t prev, json details = nullptr,
              const std::string& details_key = "") {
    json e = {{"id", ++id_},
              {"previousEventId", prev},
              {"timestamp", 1767225600.0 + id_},
              {"type", type}};
    if (!details.is_null()) e[details_key] = std::move(details);
    auto parsed = ParseHistoryEvent(e);
    EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
    events_.push_back(*parsed);
    return id_;
  }
  int64_t Enter(const std::string& name, int64_t prev) {
    return Add("TaskStateEntered", prev, {{"name", name}, {"input", "{}"}},
               "stateEnteredEventDetails");
  }
  int64_t Exit(const std::string& name, int64_t prev) {
    return Add("TaskStateExited", prev, {{"name", name}, {"output", "{}"}},
               "stateExitedEventDetails");
  }
  int64_t Fail(int64_t prev, const std::string& error, const std::string& cause) {
    return Add(
        "TaskFailed", prev,
        {{"resourceType", "ecs"}, {"resource", "runTask.sync"}, {"error", error}, {"cause", cause}},
        "taskFailedEventDetails");
  }
  std::vector<HistoryEvent> Take() { return std::exchange(events_, {}); }

 private:
  int64_t id_ = 0;
  std::vector<HistoryEvent> events_;
};

std::string Line(const RemoteStageUpdate& u) {
  std::string s = u.stage_id + " " + u.status + " #" + std::to_string(u.attempt);
  if (!u.error.empty()) s += " (" + u.error + ")";
  return s;
}
std::vector<std::string> Lines(const std::vector<RemoteStageUpdate>& us) {
  std::vector<std::string> out;
  for (const auto& u : us) out.push_back(Line(u));
  return out;
}

TEST(HistoryMapper, RetriesBecomeAttemptsAcrossPolls) {
  History h;
  int64_t s = h.Add("ExecutionStarted", 0);
  int64_t e = h.Enter("ingest", s);
  int64_t t = h.Add("TaskScheduled", e);
  t = h.Add("TaskStarted", t);
  t = h.Add("TaskSubmitted", t);
  t = h.Fail(t, "States.TaskFailed", "exit 3");
  HistoryMapper m({"ingest", "prepare"});
  auto first = h.Take();
  EXPECT_EQ(Lines(m.Apply(first)),
            (std::vector<std::string>{"ingest running #1",
                                      "ingest failed #1 (States.TaskFailed: exit 3)"}));
  // The same events again (a page overlapping the previous poll) change nothing.
  EXPECT_TRUE(m.Apply(first).empty());
  EXPECT_EQ(m.last_event_id(), t);

  t = h.Add("TaskScheduled", t);
  t = h.Add("TaskStarted", t);
  t = h.Add("TaskSucceeded", t, {{"output", "{}"}}, "taskSucceededEventDetails");
  t = h.Exit("ingest", t);
  e = h.Enter("prepare", t);
  t = h.Add("TaskScheduled", e);
  auto second = m.Apply(h.Take());
  EXPECT_EQ(Lines(second), (std::vector<std::string>{"ingest running #2", "ingest succeeded #2",
                                                     "prepare running #1"}));
  EXPECT_EQ(second[1].started_ms, (1767225600LL + 7) * 1000);
  EXPECT_EQ(second[1].finished_ms, (1767225600LL + 9) * 1000);
  t = h.Add("TaskTimedOut", t, {{"error", "States.Timeout"}}, "taskTimedOutEventDetails");
  h.Add("ExecutionFailed", t, {{"error", "PipelineFailed"}}, "executionFailedEventDetails");
  EXPECT_EQ(Lines(m.Apply(h.Take())),
            (std::vector<std::string>{"prepare failed #1 (States.Timeout)"}));
  EXPECT_TRUE(m.Finish("FAILED", "PipelineFailed", 0).empty());
}

TEST(HistoryMapper, InterleavedParallelBranchesAndAbortedSibling) {
  History h;
  int64_t p = h.Add("ParallelStateEntered", 1, {{"name", "Parallel_realtime_batch"}},
                    "stateEnteredEventDetails");
  p = h.Add("ParallelStateStarted", p);
  int64_t r = h.Enter("realtime", p);
  int64_t b = h.Enter("batch", p);
  r = h.Add("TaskScheduled", r);
  b = h.Add("TaskScheduled", b);
  b = h.Fail(b, "States.TaskFailed", "oom");
  r = h.Add("TaskStarted", r);
  b = h.Add("TaskScheduled", b);  // batch's retry
  b = h.Fail(b, "States.TaskFailed", "oom again");
  r = h.Add("TaskStateAborted", r);
  p = h.Add("ParallelStateFailed", b);
  // The Catch goes to NotifyFailure: its events are not a stage's.
  int64_t n = h.Add("TaskStateEntered", p, {{"name", "NotifyFailure"}}, "stateEnteredEventDetails");
  h.Add("TaskScheduled", n);
  HistoryMapper m;  // no ids: lowercase state names are stages
  EXPECT_EQ(Lines(m.Apply(h.Take())),
            (std::vector<std::string>{
                "realtime running #1", "batch running #1",
                "batch failed #1 (States.TaskFailed: oom)", "batch running #2",
                "batch failed #2 (States.TaskFailed: oom again)", "realtime cancelled #1"}));
  EXPECT_TRUE(m.Finish("FAILED", "PipelineFailed: x", 5000).empty());
}

TEST(HistoryMapper, FinishClosesWhatIsStillOpen) {
  History h;
  int64_t a = h.Enter("train", 1);
  h.Add("TaskScheduled", a);
  h.Enter("never-scheduled", 1);
  HistoryMapper m({"train", "never-scheduled"});
  EXPECT_EQ(m.Apply(h.Take()).size(), 1u);
  EXPECT_EQ(Lines(m.Finish("ABORTED", "", 9000)),
            (std::vector<std::string>{"never-scheduled cancelled #1 (the execution ended ABORTED)",
                                      "train cancelled #1 (the execution ended ABORTED)"}));
  EXPECT_TRUE(m.Finish("ABORTED", "", 9000).empty());  // once

  HistoryMapper timed_out({"train"});
  History h2;
  h2.Add("TaskScheduled", h2.Enter("train", 1));
  timed_out.Apply(h2.Take());
  auto u = timed_out.Finish("TIMED_OUT", "", 9000);
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(Line(u[0]), "train failed #1 (the execution timed out)");
  EXPECT_EQ(u[0].finished_ms, 9000);

  HistoryMapper failed({"train"});
  History h3;
  h3.Enter("train", 1);
  failed.Apply(h3.Take());
  EXPECT_EQ(Lines(failed.Finish("FAILED", "States.Runtime: bad path", 1)),
            (std::vector<std::string>{"train failed #1 (States.Runtime: bad path)"}));
}

TEST(HistoryMapper, RedriveContinuesAttemptNumbers) {
  History h;
  int64_t t = h.Add("TaskScheduled", h.Enter("train", 1));
  t = h.Fail(t, "States.TaskFailed", "exit 1");
  t = h.Add("ExecutionFailed", t);
  t = h.Add("ExecutionRedriven", t);
  h.Add("TaskScheduled", h.Enter("train", t));
  HistoryMapper m({"train"});
  EXPECT_EQ(
      Lines(m.Apply(h.Take())),
      (std::vector<std::string>{"train running #1", "train failed #1 (States.TaskFailed: exit 1)",
                                "train running #2"}));
}

TEST(HistoryMapper, UnknownStatesAreIgnored) {
  History h;
  h.Add("TaskScheduled", h.Enter("other", 1));
  h.Add("TaskScheduled", h.Enter("Capitalized", 1));
  EXPECT_TRUE(HistoryMapper({"train"}).Apply(h.Take()).empty());
}

TEST(ParseHistoryEvent, RefusesMalformedEvents) {
  EXPECT_FALSE(ParseHistoryEvent(json::array()).ok());
  EXPECT_FALSE(ParseHistoryEvent(json{{"type", "TaskScheduled"}}).ok());
  EXPECT_FALSE(ParseHistoryEvent(json{{"id", "1"}, {"type", "TaskScheduled"}}).ok());
  EXPECT_FALSE(ParseHistoryEvent(json{{"id", 1}, {"type", 5}}).ok());
  auto ok = ParseHistoryEvent(json{{"id", 3}, {"type", "ExecutionStarted"}, {"timestamp", 1.5}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->timestamp_ms, 1500);
  EXPECT_EQ(ok->previous_event_id, 0);
}

TEST(SfnExecutor, RefusesBadOptionsAndRunIdsBeforeCallingAws) {
  SfnExecutorOptions o;
  EXPECT_EQ(SfnExecutor::Create(o).status().code(), ErrorCode::kInvalidParameterValue);
  o.state_machine_arn = "arn:aws:states:us-east-1:111122223333:stateMachine:p";
  o.history_page_size = 0;
  EXPECT_FALSE(SfnExecutor::Create(o).ok());
  o.history_page_size = 100;
  // Nothing listens here: a call that reached the network would fail differently.
  o.client.endpoint = "http://127.0.0.1:9";
  o.client.max_attempts = 1;
  o.client.credentials = {"AKIDEXAMPLE", "secret", ""};
  auto ex = SfnExecutor::Create(o);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  pipelines::PipelineSpec spec;
  spec.stages.resize(1);
  spec.stages[0].id = "a";
  EXPECT_EQ((*ex)->Start("run 1", spec).status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_EQ((*ex)->Start("run-1", pipelines::PipelineSpec{}).status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ((*ex)->Poll("").status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_EQ((*ex)->Start("run-1", spec).status().code(), ErrorCode::kTemporarilyUnavailable);
}

}  // namespace
}  // namespace studio::orchestrator::sfn
