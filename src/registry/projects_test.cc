#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "auth/identity.h"
#include "registry/projects.h"
#include "store/audit_repo.h"
#include "store/internal/test_stores.h"

namespace studio::registry {
namespace {

TEST(ProjectValidationTest, Names) {
  for (const char* ok : {"ab", "fraud-model", "m1", "a-b-c-0"})
    EXPECT_TRUE(ValidateProjectName(ok).ok()) << ok;
  for (const char* bad : {"", "a", "Fraud", "1abc", "-ab", "ab-", "a_b", "a b", "../x", "a;DROP",
                          "caf\xc3\xa9", "' OR 1=1 --"}) {
    Status st = ValidateProjectName(bad);
    EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue) << bad;
    EXPECT_TRUE(st.details().count("name")) << bad;
  }
  EXPECT_FALSE(ValidateProjectName(std::string(64, 'a')).ok());
  EXPECT_TRUE(ValidateProjectName(std::string(63, 'a')).ok());
}

TEST(ProjectValidationTest, GithubRepos) {
  EXPECT_TRUE(ValidateGithubRepo("").ok());
  EXPECT_TRUE(ValidateGithubRepo("https://github.com/acme/fraud-model").ok());
  EXPECT_TRUE(ValidateGithubRepo("https://github.com/acme/fraud.model.git").ok());
  for (const char* bad :
       {"http://github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a",
        "https://github.com/a/b/c", "https://github.com//b", "https://github.com/a/../b",
        "https://github.com/a/b?x=1", "javascript:alert(1)"}) {
    EXPECT_FALSE(ValidateGithubRepo(bad).ok()) << bad;
  }
}

TEST(ProjectValidationTest, Tags) {
  EXPECT_TRUE(ValidateTags({{"team", "risk"}}).ok());
  EXPECT_FALSE(ValidateTags({{"", "x"}}).ok());
  EXPECT_FALSE(ValidateTags({{std::string(251, 'k'), "x"}}).ok());
  EXPECT_FALSE(ValidateTags({{"k", std::string(5001, 'v')}}).ok());
  std::map<std::string, std::string> many;
  for (int i = 0; i < 51; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_FALSE(ValidateTags(many).ok());
}

class ProjectsServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL fixture";
    t_ = store::testing::OpenTestStore(GetParam());
    auth::Identity id(*t_->store);
    ASSERT_TRUE(id.CreateUser({"system", "t"}, "alice", "alicepassword", {"ml_engineer"}).ok());
  }
  std::unique_ptr<store::testing::TestStore> t_;
};

TEST_P(ProjectsServiceTest, CrudIsAuditedInTheSameTransaction) {
  Projects projects(*t_->store);
  auth::Actor alice{"alice", "req-1"};
  ProjectInput in;
  in.name = "fraud";
  in.tags = std::map<std::string, std::string>{{"team", "risk"}};
  auto p = projects.Create(alice, in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->owner, "alice");
  EXPECT_EQ(projects.Create(alice, in).status().code(), ErrorCode::kAlreadyExists);

  ProjectInput bad_owner;
  bad_owner.owner = "nobody";
  EXPECT_EQ(projects.Update(alice, "fraud", bad_owner).status().code(),
            ErrorCode::kInvalidParameterValue);
  ProjectInput patch;
  patch.description = "Card fraud";
  auto updated = projects.Update(alice, p->id, patch);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->description, "Card fraud");
  EXPECT_EQ(updated->tags_json, "{\"team\":\"risk\"}");
  ASSERT_TRUE(projects.Delete(alice, "fraud").ok());
  EXPECT_EQ(projects.Get("fraud").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(projects.Delete(alice, "fraud").code(), ErrorCode::kResourceDoesNotExist);

  std::vector<store::AuditEventRecord> events;
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    store::AuditFilter f;
                    f.resource_type = "project";
                    ASSIGN_OR_RETURN(events, store::AuditEvents(tx).List(f, 0, 100));
                    return Status::Ok();
                  })
                  .ok());
  std::vector<std::string> actions;
  for (auto& e : events) actions.push_back(e.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"project.delete", "project.update", "project.create"}));
  EXPECT_EQ(events.back().request_id, "req-1");
  EXPECT_TRUE(audit::Verify(*t_->store)->ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectsServiceTest,
                         ::testing::ValuesIn(store::testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::registry
