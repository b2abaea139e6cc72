// The hash chain on both backends: append, verify, and detect tampering.
#include <gtest/gtest.h>

#include <thread>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "store/audit_repo.h"
#include "store/internal/test_stores.h"

namespace studio::audit {
namespace {

class AuditTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL fixture";
    t_ = store::testing::OpenTestStore(GetParam());
  }
  Status AppendOne(int i) {
    return t_->store->Write([&](store::Tx& tx) {
      return Append(tx, {"alice", "project.create", "project", "p" + std::to_string(i), "req",
                         R"({"name":"p)" + std::to_string(i) + R"(","z":1,"a":[1,2]})"});
    });
  }
  std::unique_ptr<store::testing::TestStore> t_;
};

TEST_P(AuditTest, ChainLinksEachEventToThePrevious) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendOne(i).ok());
  std::vector<store::AuditEventRecord> events;
  ASSERT_TRUE(t_->store
                  ->Read([&](store::Tx& tx) -> Status {
                    ASSIGN_OR_RETURN(events, store::AuditEvents(tx).List({}, 0, 100));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(events.size(), 5u);
  std::reverse(events.begin(), events.end());
  std::string prev(64, '0');
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    EXPECT_EQ(e.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(e.prev_hash, prev);
    EXPECT_EQ(e.hash, crypto::Sha256Hex(prev + CanonicalJson(e)));
    EXPECT_EQ(e.details_json, R"({"a":[1,2],"name":"p)" + std::to_string(i) + R"(","z":1})");
    prev = e.hash;
  }
  auto report = Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->count, 5);
}

TEST_P(AuditTest, ConcurrentAppendsKeepOneChain) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) EXPECT_TRUE(AppendOne(t * 100 + i).ok());
    });
  for (auto& th : threads) th.join();
  auto report = Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->count, 40);
}

TEST_P(AuditTest, VerifyNamesTheFirstTamperedEvent) {
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(AppendOne(i).ok());
  if (GetParam() == "sqlite") {
    t_->Exec("DROP TRIGGER audit_events_no_update");
  } else {
    t_->Exec("ALTER TABLE audit_events DISABLE TRIGGER USER");
  }
  t_->Exec("UPDATE audit_events SET details = '{\"name\":\"forged\"}' WHERE seq = 4");
  auto report = Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_broken_seq, 4);
  EXPECT_EQ(report->count, 3);
  EXPECT_NE(report->problem.find("hash"), std::string::npos);
}

TEST_P(AuditTest, VerifyDetectsDeletedTail) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(AppendOne(i).ok());
  if (GetParam() == "sqlite") {
    t_->Exec("DROP TRIGGER audit_events_no_delete");
  } else {
    t_->Exec("ALTER TABLE audit_events DISABLE TRIGGER USER");
  }
  t_->Exec("DELETE FROM audit_events WHERE seq = 3");
  auto report = Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_broken_seq, 3);
}

TEST_P(AuditTest, RejectsNonObjectDetails) {
  Status st = t_->store->Write([&](store::Tx& tx) {
    return Append(tx, {"a", "x.y", "x", "1", "r", "[1]"});
  });
  EXPECT_FALSE(st.ok());
  auto report = Verify(*t_->store);
  EXPECT_EQ(report->count, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditTest, ::testing::ValuesIn(store::testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::audit
