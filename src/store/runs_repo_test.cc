// The runs repository on SQLite and a real PostgreSQL server: compare-and-set stage updates,
// claims that never hand one stage to two claimers, spec versions.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/ids.h"
#include "common/time_util.h"
#include "store/internal/test_stores.h"
#include "store/projects_repo.h"
#include "store/runs_repo.h"

namespace studio::store {
namespace {

class RunsRepoTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!testing::BackendAvailable(GetParam())) GTEST_SKIP() << "STUDIO_TEST_PG_URI_FILE not set";
    t_ = testing::OpenTestStore(GetParam());
    project_.id = NewUuidV7();
    project_.name = "p-" + project_.id.substr(24);
    project_.owner = project_.created_by = "alice";
    project_.created_at = project_.updated_at = NowMillis();
    ASSERT_TRUE(store().Write([&](Tx& tx) { return Projects(tx).Insert(project_, {}); }).ok());
  }
  MetadataStore& store() { return *t_->store; }
  bool pg() const { return GetParam() == "postgresql"; }

  // A run of `n` independent stages, all queued.
  std::string AddRun(int n, const std::string& executor = "local") {
    PipelineRunRecord r;
    r.id = NewUuidV7();
    r.project_id = project_.id;
    r.pipeline = "p";
    r.spec_yaml = "x";
    r.status = "queued";
    r.executor = executor;
    r.requested_by = "alice";
    r.created_at = NowMillis();
    std::vector<StageRunRecord> stages;
    for (int i = 0; i < n; ++i) {
      StageRunRecord s;
      s.stage_id = "s" + std::to_string(i);
      s.position = i;
      s.type = "command";
      s.status = "queued";
      stages.push_back(s);
    }
    EXPECT_TRUE(store().Write([&](Tx& tx) { return Runs(tx).InsertRun(r, stages); }).ok());
    return r.id;
  }

  std::unique_ptr<testing::TestStore> t_;
  ProjectRecord project_;
};

TEST_P(RunsRepoTest, UpdateStageIsACompareAndSet) {
  std::string id = AddRun(1);
  ASSERT_TRUE(
      store()
          .Write([&](Tx& tx) -> Status {
            Runs runs(tx);
            ASSIGN_OR_RETURN(auto s, runs.GetStage(id, "s0"));
            s.status = "running";
            ASSIGN_OR_RETURN(bool first, runs.UpdateStage(s, "queued"));
            EXPECT_TRUE(first);
            s.status = "failed";
            ASSIGN_OR_RETURN(bool second, runs.UpdateStage(s, "queued"));  // no longer queued
            EXPECT_FALSE(second);
            ASSIGN_OR_RETURN(auto now, runs.GetStage(id, "s0"));
            EXPECT_EQ(now.status, "running");
            ASSIGN_OR_RETURN(bool moved, runs.SetRunStatus(id, {"queued"}, "running", 5, ""));
            EXPECT_TRUE(moved);
            ASSIGN_OR_RETURN(bool again, runs.SetRunStatus(id, {"queued"}, "running", 6, ""));
            EXPECT_FALSE(again);
            ASSIGN_OR_RETURN(auto run, runs.GetRun(id));
            EXPECT_EQ(run.started_at, 5);
            EXPECT_EQ(run.finished_at, 0);
            return Status::Ok();
          })
          .ok());
  EXPECT_EQ(store().Read([&](Tx& tx) { return Runs(tx).GetRun("nope").status(); }).code(),
            ErrorCode::kResourceDoesNotExist);
}

TEST_P(RunsRepoTest, ClaimRespectsDueTimeCancelAndExecutor) {
  std::string due = AddRun(1), later = AddRun(1), cancelled = AddRun(1), remote = AddRun(1, "aws");
  int64_t now = NowMillis();
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    Runs runs(tx);
                    ASSIGN_OR_RETURN(auto s, runs.GetStage(later, "s0"));
                    s.next_attempt_at = now + 60'000;
                    RETURN_IF_ERROR(runs.UpdateStage(s, "queued").status());
                    return runs.SetCancelRequested(cancelled);
                  })
                  .ok());
  std::vector<ClaimedStage> claimed;
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(claimed, Runs(tx).Claim("me", now, 10, pg()));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].run.id, due);
  EXPECT_EQ(claimed[0].stage.status, "running");
  EXPECT_EQ(claimed[0].stage.attempt, 1);
  EXPECT_EQ(claimed[0].stage.claimed_by, "me");
  int64_t next = 0;
  ASSERT_TRUE(store()
                  .Read([&](Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(next, Runs(tx).NextDueAt());
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(next, now + 60'000);  // not the cancelled run's, not the remote one's
  (void)remote;
}

// Claimers racing on one store: every stage is claimed exactly once.
TEST_P(RunsRepoTest, ConcurrentClaimersNeverShareAStage) {
  for (int i = 0; i < 6; ++i) AddRun(5);
  std::mutex mu;
  std::map<std::string, int> seen;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      for (int round = 0; round < 40; ++round) {
        std::vector<ClaimedStage> got;
        Status st = store().Write([&](Tx& tx) -> Status {
          ASSIGN_OR_RETURN(got, Runs(tx).Claim("c" + std::to_string(c), NowMillis(), 2, pg()));
          return Status::Ok();
        });
        if (!st.ok()) ++errors;
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& g : got) ++seen[g.run.id + "/" + g.stage.stage_id];
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(seen.size(), 30u);
  for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << key;
}

TEST_P(RunsRepoTest, SpecVersionsAndLatest) {
  ASSERT_TRUE(store()
                  .Write([&](Tx& tx) -> Status {
                    Runs runs(tx);
                    for (int v = 1; v <= 3; ++v)
                      RETURN_IF_ERROR(runs.InsertSpec(
                          {project_.id, "a", v, "y" + std::to_string(v), "h", "me", v}));
                    RETURN_IF_ERROR(runs.InsertSpec({project_.id, "b", 1, "b1", "h", "me", 1}));
                    return Status::Ok();
                  })
                  .ok());
  Status dup = store().Write([&](Tx& tx) {
    return Runs(tx).InsertSpec({project_.id, "a", 2, "z", "h", "me", 9});
  });
  EXPECT_EQ(dup.code(), ErrorCode::kAlreadyExists);
  ASSERT_TRUE(store()
                  .Read([&](Tx& tx) -> Status {
                    Runs runs(tx);
                    ASSIGN_OR_RETURN(auto latest, runs.GetSpec(project_.id, "a", 0));
                    EXPECT_EQ(latest.version, 3);
                    ASSIGN_OR_RETURN(auto v2, runs.GetSpec(project_.id, "a", 2));
                    EXPECT_EQ(v2.spec_yaml, "y2");
                    EXPECT_FALSE(runs.GetSpec(project_.id, "a", 7).ok());
                    ASSIGN_OR_RETURN(auto names, runs.ListSpecs(project_.id, ""));
                    EXPECT_EQ(names.size(), 2u);
                    EXPECT_EQ(names[0].name, "a");
                    EXPECT_EQ(names[0].version, 3);
                    ASSIGN_OR_RETURN(auto versions, runs.ListSpecs(project_.id, "a"));
                    EXPECT_EQ(versions.size(), 3u);
                    EXPECT_EQ(versions.empty() ? 0 : versions[0].version, 3);
                    return Status::Ok();
                  })
                  .ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, RunsRepoTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::store
