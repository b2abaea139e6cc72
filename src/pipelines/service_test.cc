// Locks and policy against SQLite and a real PostgreSQL (ctest fixture).
#include <gtest/gtest.h>

#include <algorithm>

#include "common/ids.h"
#include "common/time_util.h"
#include "pipelines/service.h"
#include "store/audit_repo.h"
#include "store/internal/test_stores.h"
#include "store/projects_repo.h"

namespace studio::pipelines {
namespace {

class PipelineServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL";
    t_ = store::testing::OpenTestStore(GetParam());
    store::ProjectRecord p;
    p.id = NewUuidV7();
    p.name = "demo";
    p.owner = p.created_by = "alice";
    p.created_at = p.updated_at = NowMillis();
    ASSERT_TRUE(
        t_->store->Write([&](store::Tx& tx) { return store::Projects(tx).Insert(p, {}); }).ok());
    svc_ = std::make_unique<PipelineService>(*t_->store);
  }
  std::unique_ptr<store::testing::TestStore> t_;
  std::unique_ptr<PipelineService> svc_;
};

TEST_P(PipelineServiceTest, LockChangeUnlockRelock) {
  const std::string spec = CanonicalSpecYaml("churn", "demo");
  std::string changed = spec;
  changed.replace(changed.find("format: csv"), 11, "format: ndjson");
  auth::Actor prod{"pat", "req-1"};

  auto ok = svc_->Validate(spec);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)["valid"].get<bool>()) << ok->dump();

  auto lock = svc_->Lock(prod, "demo", "churn", "ingest", spec);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ((*lock)["status"], "locked");
  // Locking again at the same definition changes nothing.
  ASSERT_TRUE(svc_->Lock(prod, "demo", "churn", "ingest", spec).ok());
  // ... at another one is a conflict.
  EXPECT_EQ(svc_->Lock(prod, "demo", "churn", "ingest", changed).status().code(),
            ErrorCode::kResourceConflict);

  auto bad = svc_->Validate(changed);
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE((*bad)["valid"].get<bool>());
  std::string msg = (*bad)["errors"][0]["message"];
  EXPECT_NE(msg.find("stage 'ingest' is locked"), std::string::npos) << msg;
  EXPECT_NE(msg.find("with.format"), std::string::npos) << msg;
  EXPECT_GT((*bad)["errors"][0]["line"].get<int>(), 0);

  EXPECT_EQ(svc_->Unlock(prod, "demo", "churn", "ingest", "").status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(svc_->Unlock(prod, "demo", "churn", "nope", "r").status().code(),
            ErrorCode::kResourceDoesNotExist);
  auto un = svc_->Unlock(prod, "demo", "churn", "ingest", "new data format");
  ASSERT_TRUE(un.ok()) << un.status().ToString();
  EXPECT_EQ((*un)["status"], "unlocked");
  auto now_ok = svc_->Validate(changed);
  EXPECT_TRUE((*now_ok)["valid"].get<bool>()) << now_ok->dump();
  EXPECT_EQ((*now_ok)["warnings"].size(), 1u);

  ASSERT_TRUE(svc_->Lock(prod, "demo", "churn", "ingest", changed).ok());
  EXPECT_TRUE((*svc_->Validate(changed))["valid"].get<bool>());
  EXPECT_FALSE((*svc_->Validate(spec))["valid"].get<bool>());

  // Every change is in the audit log.
  std::vector<std::string> actions;
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(auto events, store::AuditEvents(tx).List({}, 0, 100));
                    for (const auto& e : events) actions.push_back(e.action);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "pipeline.stage.lock"), 2);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "pipeline.stage.unlock"), 1);
}

TEST_P(PipelineServiceTest, PolicyGatesCommandStages) {
  std::string spec = CanonicalSpecYaml("churn", "demo") +
                     "    - id: notify\n      type: command\n      needs: [enforce]\n"
                     "      with:\n        command: [echo, done]\n";
  EXPECT_FALSE((*svc_->Validate(spec))["valid"].get<bool>());
  ASSERT_TRUE(svc_->SetPolicy({"root", "r"}, "demo", true).ok());
  EXPECT_TRUE((*svc_->Validate(spec))["valid"].get<bool>());
  EXPECT_TRUE((*svc_->GetPolicy("demo"))["allow_command_stages"].get<bool>());
  // An unknown project is a validation error, not a crash.
  std::string other = CanonicalSpecYaml("churn", "nowhere");
  auto v = svc_->Validate(other);
  EXPECT_FALSE((*v)["valid"].get<bool>());
  EXPECT_EQ((*v)["errors"][0]["path"], "metadata.project");
}

INSTANTIATE_TEST_SUITE_P(Backends, PipelineServiceTest,
                         ::testing::ValuesIn(store::testing::Backends()));

}  // namespace
}  // namespace studio::pipelines
