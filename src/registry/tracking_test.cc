#include "registry/tracking.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "store/internal/test_stores.h"

namespace studio::registry {
namespace {

const std::string kRoot = "file:///data/artifacts";

TEST(ArtifactLocationTest, OnlyInsideTheStoreOrTheProxy) {
  for (const char* ok :
       {"mlflow-artifacts:/5", "mlflow-artifacts:/team/models", "mlflow-artifacts:/",
        "file:///data/artifacts", "file:///data/artifacts/x/y", "file:///data/artifacts/"})
    EXPECT_TRUE(ValidateArtifactLocation(ok, kRoot).ok()) << ok;
  for (const char* bad :
       {"file:///etc", "file:///data/artifacts-other", "file:///data/artifacts/../x",
        "file:///data/artifacts/%2e%2e/x", "file:///data/artifacts/%252e%252e/x",
        "file:///data/artifacts/a?/../..", "file:///data/artifacts/a#/../..", "/data/artifacts",
        "//proc/self/root", "http:///?/../../etc/", "http:///#/../../etc/", "s3://other/x",
        "dbfs:/", "mlflow-artifacts://host/x", "mlflow-artifacts:/../x",
        "mlflow-artifacts:/a/..%2f..%2fx", "mlflow-artifacts:/a\\b", "file://./etc", ""})
    EXPECT_EQ(ValidateArtifactLocation(bad, kRoot).code(), ErrorCode::kInvalidParameterValue)
        << bad;
}

class TrackingServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL fixture";
    t_ = store::testing::OpenTestStore(GetParam());
    tracking_ = std::make_unique<Tracking>(*t_->store, kRoot);
  }
  std::unique_ptr<store::testing::TestStore> t_;
  std::unique_ptr<Tracking> tracking_;
  auth::Actor alice_{"alice", "req-1"};
};

TEST_P(TrackingServiceTest, ExperimentsAndRuns) {
  auto id = tracking_->CreateExperiment(alice_, {"exp", std::nullopt, {{"k", "v"}}});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "1");
  auto dup = tracking_->CreateExperiment(alice_, {"exp", std::nullopt, {}});
  EXPECT_EQ(dup.status().code(), ErrorCode::kAlreadyExists);
  auto e = tracking_->GetExperiment(*id);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->artifact_location, "mlflow-artifacts:/1");
  EXPECT_EQ(e->tags.at("k"), "v");
  EXPECT_EQ(tracking_->GetExperiment("42").status().code(), ErrorCode::kResourceDoesNotExist);

  RunInput in;
  in.experiment_id = *id;
  in.run_name = "r";
  auto run = tracking_->CreateRun(alice_, in);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string rid = run->run_uuid;
  EXPECT_EQ(run->artifact_uri, "mlflow-artifacts:/1/" + rid + "/artifacts");
  EXPECT_EQ(run->user_id, "alice");

  ASSERT_TRUE(tracking_
                  ->LogBatch(alice_, rid, {{"m", 1.0, 10, 1}, {"m", 3.0, 5, 2}, {"m", 2.0, 20, 0}},
                             {{"p", "1"}}, {{"t", "x"}})
                  .ok());
  EXPECT_TRUE(tracking_->LogBatch(alice_, rid, {}, {{"p", "1"}}, {}).ok());
  EXPECT_EQ(tracking_->LogBatch(alice_, rid, {}, {{"p", "2"}}, {}).code(),
            ErrorCode::kInvalidParameterValue);
  auto got = tracking_->GetRun(rid);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->latest_metrics.size(), 1u);
  EXPECT_EQ(got->latest_metrics[0].value, 3.0);  // highest step wins
  EXPECT_EQ(got->params.at("p"), "1");
  EXPECT_EQ(got->tags.at("t"), "x");
  EXPECT_EQ(got->tags.at("mlflow.runName"), "r");
  auto hist = tracking_->MetricHistory(rid, "m", 100, "");
  ASSERT_TRUE(hist.ok());
  ASSERT_EQ(hist->items.size(), 3u);
  EXPECT_EQ(hist->items[0].step, 0);

  SearchRequest req;
  req.experiment_ids = {*id};
  req.filter = "params.p = '1' and metrics.m > 2.5 and tags.t = 'x'";
  auto found = tracking_->SearchRuns(req);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->items.size(), 1u);
  req.filter = "metrics.m > 3";
  EXPECT_TRUE(tracking_->SearchRuns(req)->items.empty());

  // Every mutation is in the audit chain, and the chain verifies.
  auto report = audit::Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->count, 4);  // experiment, run, two batches; the refused one left none
}

INSTANTIATE_TEST_SUITE_P(Backends, TrackingServiceTest,
                         ::testing::ValuesIn(store::testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::registry
