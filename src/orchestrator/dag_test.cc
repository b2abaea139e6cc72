#include "orchestrator/dag.h"

#include <gtest/gtest.h>

#include <map>

namespace studio::orchestrator {
namespace {

// The canonical shape: a chain, a fork into two inference stages, a join.
std::vector<StageState> Canonical() {
  return {{"ingest", {}, "pending"},          {"prepare", {"ingest"}, "pending"},
          {"deploy", {"prepare"}, "pending"}, {"realtime", {"deploy"}, "pending"},
          {"batch", {"deploy"}, "pending"},   {"monitor", {"realtime", "batch"}, "pending"}};
}

std::map<std::string, std::string> Apply(std::vector<StageState>& stages, const Plan& p) {
  std::map<std::string, std::string> moved;
  for (const auto& t : p.transitions) {
    moved[t.stage_id] = t.to;
    for (auto& s : stages)
      if (s.id == t.stage_id) {
        EXPECT_EQ(s.status, t.from) << s.id;
        s.status = t.to;
      }
  }
  return moved;
}

void Set(std::vector<StageState>& stages, const std::string& id, const std::string& status) {
  for (auto& s : stages)
    if (s.id == id) s.status = status;
}

TEST(PlanRun, RootsBecomeQueuedAndNothingElse) {
  auto stages = Canonical();
  Plan p = PlanRun(stages, false);
  auto moved = Apply(stages, p);
  EXPECT_EQ(moved, (std::map<std::string, std::string>{{"ingest", "queued"}}));
  EXPECT_FALSE(p.finished);
}

TEST(PlanRun, ForkQueuesBothBranchesAndJoinWaitsForBoth) {
  auto stages = Canonical();
  for (const char* id : {"ingest", "prepare", "deploy"}) Set(stages, id, "succeeded");
  auto moved = Apply(stages, PlanRun(stages, false));
  EXPECT_EQ(moved,
            (std::map<std::string, std::string>{{"realtime", "queued"}, {"batch", "queued"}}));
  Set(stages, "realtime", "succeeded");
  Set(stages, "batch", "running");
  EXPECT_TRUE(PlanRun(stages, false).transitions.empty());
  Set(stages, "batch", "succeeded");
  moved = Apply(stages, PlanRun(stages, false));
  EXPECT_EQ(moved, (std::map<std::string, std::string>{{"monitor", "queued"}}));
}

TEST(PlanRun, FailureSkipsEverythingDownstreamTransitivelyAndFailsTheRun) {
  auto stages = Canonical();
  Set(stages, "ingest", "succeeded");
  Set(stages, "prepare", "failed");
  Plan p = PlanRun(stages, false);
  auto moved = Apply(stages, p);
  EXPECT_EQ(moved, (std::map<std::string, std::string>{{"deploy", "skipped"},
                                                       {"realtime", "skipped"},
                                                       {"batch", "skipped"},
                                                       {"monitor", "skipped"}}));
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "failed");
  for (const auto& t : p.transitions)
    if (t.stage_id == "deploy") {
      EXPECT_NE(t.reason.find("prepare"), std::string::npos);
    }
}

TEST(PlanRun, FailedBranchWaitsForTheOtherBranchBeforeFinishing) {
  auto stages = Canonical();
  for (const char* id : {"ingest", "prepare", "deploy"}) Set(stages, id, "succeeded");
  Set(stages, "realtime", "failed");
  Set(stages, "batch", "running");
  Plan p = PlanRun(stages, false);
  auto moved = Apply(stages, p);
  EXPECT_EQ(moved, (std::map<std::string, std::string>{{"monitor", "skipped"}}));
  EXPECT_FALSE(p.finished);  // batch still runs
  Set(stages, "batch", "succeeded");
  p = PlanRun(stages, false);
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "failed");
}

TEST(PlanRun, AllSucceededFinishesSucceeded) {
  auto stages = Canonical();
  for (auto& s : stages) s.status = "succeeded";
  Plan p = PlanRun(stages, false);
  EXPECT_TRUE(p.transitions.empty());
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "succeeded");
}

TEST(PlanRun, CancelCancelsWaitingStagesButWaitsForRunningOnes) {
  auto stages = Canonical();
  Set(stages, "ingest", "succeeded");
  Set(stages, "prepare", "running");
  Plan p = PlanRun(stages, true);
  auto moved = Apply(stages, p);
  EXPECT_EQ(moved.size(), 4u);
  for (const auto& [id, to] : moved) EXPECT_EQ(to, "cancelled") << id;
  EXPECT_FALSE(p.finished);
  Set(stages, "prepare", "cancelled");
  p = PlanRun(stages, true);
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "cancelled");
}

TEST(PlanRun, UnknownNeedCountsAsFailed) {
  std::vector<StageState> stages = {{"a", {"ghost"}, "pending"}};
  Plan p = PlanRun(stages, false);
  ASSERT_EQ(p.transitions.size(), 1u);
  EXPECT_EQ(p.transitions[0].to, "skipped");
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "failed");
}

TEST(PlanRun, EmptyRunSucceeds) {
  Plan p = PlanRun({}, false);
  EXPECT_TRUE(p.finished);
  EXPECT_EQ(p.run_status, "succeeded");
}

TEST(Retry, ExponentialBackoffPerSpec) {
  pipelines::RetrySpec r{5, 10, 2.0};
  // After the first failure: interval; then interval * rate^(n-1).
  EXPECT_EQ(RetryDelayMs(r, 2), 10'000);
  EXPECT_EQ(RetryDelayMs(r, 3), 20'000);
  EXPECT_EQ(RetryDelayMs(r, 4), 40'000);
  EXPECT_EQ(RetryDelayMs(r, 5), 80'000);
  pipelines::RetrySpec flat{3, 7, 1.0};
  EXPECT_EQ(RetryDelayMs(flat, 2), 7'000);
  EXPECT_EQ(RetryDelayMs(flat, 3), 7'000);
  pipelines::RetrySpec frac{3, 1, 1.5};
  EXPECT_EQ(RetryDelayMs(frac, 3), 1'500);
}

TEST(Retry, ZeroIntervalRetriesAtOnceAndHugeBackoffIsCapped) {
  EXPECT_EQ(RetryDelayMs({3, 0, 2.0}, 2), 0);
  EXPECT_EQ(RetryDelayMs({10, 3600, 10.0}, 10), 86'400'000);
}

TEST(Retry, DecideAfterFailureStopsAtMaxAttempts) {
  pipelines::RetrySpec r{3, 2, 3.0};
  AfterFailure a = DecideAfterFailure(r, 1, 3, 1000);
  EXPECT_TRUE(a.retry);
  EXPECT_EQ(a.next_attempt_at, 1000 + 2000);
  a = DecideAfterFailure(r, 2, 3, 1000);
  EXPECT_TRUE(a.retry);
  EXPECT_EQ(a.next_attempt_at, 1000 + 6000);
  EXPECT_FALSE(DecideAfterFailure(r, 3, 3, 1000).retry);
  EXPECT_FALSE(DecideAfterFailure(r, 1, 1, 1000).retry);  // no retry spec: one attempt
  EXPECT_FALSE(DecideAfterFailure(r, 7, 3, 1000).retry);  // never more than allowed
}

}  // namespace
}  // namespace studio::orchestrator
