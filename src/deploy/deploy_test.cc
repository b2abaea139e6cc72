// Policies, and the one-active-deployment rule of the store on SQLite and a real PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/ids.h"
#include "common/time_util.h"
#include "deploy/policy.h"
#include "store/deployments_repo.h"
#include "store/internal/test_stores.h"
#include "store/projects_repo.h"

namespace studio::deploy {
namespace {

TEST(PolicyTest, SeededPoliciesParseAndRoundTrip) {
  for (const char* text :
       {R"({"approvals_required":2,"strategy":"blue-green","allowed_strategies":["blue-green"],
            "canary_percent":10,"analysis":{"min_requests":100,"max_error_rate":0.01,
            "max_p99_ms":500,"window_seconds":300,"interval_seconds":30},"bake_seconds":600,
            "replicas":3,"max_replicas":10,"smoke_test":true})"}) {
    auto p = ParsePolicy(nlohmann::json::parse(text));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->approvals_required, 2);
    EXPECT_EQ(p->strategy, "blue-green");
    EXPECT_EQ(p->max_replicas, 10);
    auto again = ParsePolicy(PolicyJson(*p));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(PolicyJson(*again), PolicyJson(*p));
  }
}

TEST(PolicyTest, PartialUpdateKeepsTheRest) {
  EnvironmentPolicy base;
  base.bake_seconds = 600;
  auto p = ParsePolicy(
      nlohmann::json::parse(R"({"analysis":{"window_seconds":5,"interval_seconds":1}})"), base);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->bake_seconds, 600);
  EXPECT_EQ(p->analysis.window_seconds, 5);
}

TEST(PolicyTest, BadPoliciesNameTheField) {
  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"approvals_required":"2"})", "approvals_required"},
      {R"({"approvals_required":-1})", "approvals_required"},
      {R"({"strategy":"rolling"})", "strategy"},
      {R"({"allowed_strategies":[]})", "allowed_strategies"},
      {R"({"canary_percent":100})", "canary_percent"},
      {R"({"analysis":{"max_error_rate":1.5}})", "analysis.max_error_rate"},
      {R"({"analysis":{"bogus":1}})", "analysis.bogus"},
      {R"({"replicas":3,"max_replicas":2})", "max_replicas"},
      {R"({"smoke_test":"yes"})", "smoke_test"},
      {R"({"typo":1})", "typo"},
      {R"({"strategy":"canary","allowed_strategies":["direct"]})", "strategy"},
  };
  for (const auto& c : cases) {
    auto p = ParsePolicy(nlohmann::json::parse(c.json));
    ASSERT_FALSE(p.ok()) << c.json;
    EXPECT_EQ(p.status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_TRUE(p.status().details().count(c.field)) << c.json << " " << p.status().ToString();
  }
  EXPECT_TRUE(CanonicalStrategy("Blue-Green").ok());
  EXPECT_EQ(*CanonicalStrategy("bluegreen"), "blue-green");
  EXPECT_FALSE(CanonicalStrategy("rolling").ok());
}

class DeploymentsRepoTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL";
    t_ = store::testing::OpenTestStore(GetParam());
    store::ProjectRecord p;
    p.id = project_id_ = NewUuidV7();
    p.name = "demo";
    p.owner = p.created_by = "alice";
    p.created_at = p.updated_at = NowMillis();
    ASSERT_TRUE(
        t_->store->Write([&](store::Tx& tx) { return store::Projects(tx).Insert(p, {}); }).ok());
  }
  store::DeploymentRecord Make(const std::string& env) {
    store::DeploymentRecord d;
    d.id = NewUuidV7();
    d.project_id = project_id_;
    d.model_name = "churn";
    d.model_version = 1;
    d.environment = env;
    d.strategy = "direct";
    d.status = kDeploying;
    d.policy_json = "{}";
    d.requested_by = "alice";
    d.created_at = d.updated_at = NowMillis();
    return d;
  }
  Status Insert(const store::DeploymentRecord& d) {
    return t_->store->Write([&](store::Tx& tx) { return store::Deployments(tx).Insert(d); });
  }
  std::unique_ptr<store::testing::TestStore> t_;
  std::string project_id_;
};

TEST_P(DeploymentsRepoTest, EnvironmentsAreSeeded) {
  std::vector<store::EnvironmentRecord> envs;
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(envs, store::Deployments(tx).ListEnvironments());
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(envs.size(), 3u);
  for (const auto& e : envs) {
    auto p = ParsePolicy(nlohmann::json::parse(e.policy_json));
    ASSERT_TRUE(p.ok()) << e.name << ": " << p.status().ToString();
    if (e.name == "dev") {
      EXPECT_EQ(p->approvals_required, 0);
    } else if (e.name == "staging") {
      EXPECT_EQ(p->strategy, "canary");
    } else {
      EXPECT_EQ(p->approvals_required, 2);
    }
  }
}

TEST_P(DeploymentsRepoTest, OneActiveDeploymentPerProjectEnvironment) {
  auto first = Make("dev");
  ASSERT_TRUE(Insert(first).ok());
  EXPECT_EQ(Insert(Make("dev")).code(), ErrorCode::kResourceConflict);
  EXPECT_TRUE(Insert(Make("staging")).ok());  // another environment is independent
  // Once the first is terminal, the environment is free again.
  first.status = kLive;
  first.active = false;
  ASSERT_TRUE(t_->store
                  ->Write([&](store::Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(bool ok, store::Deployments(tx).Update(first, kDeploying));
                    EXPECT_TRUE(ok);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_TRUE(Insert(Make("dev")).ok());
}

TEST_P(DeploymentsRepoTest, ConcurrentInsertsExactlyOneWins) {
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&] {
      Status st = Insert(Make("prod"));
      if (st.ok())
        ++ok;
      else if (st.code() == ErrorCode::kResourceConflict)
        ++conflict;
      else
        ++other;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflict.load(), 5);
  EXPECT_EQ(other.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeploymentsRepoTest,
                         ::testing::ValuesIn(store::testing::Backends()));

}  // namespace
}  // namespace studio::deploy
