// Unit tests of the monitoring control plane's parts: schedules, alarm evaluation, serving
// metrics parsing, the egress allow-list, HMAC, sealed secrets, EMF lines, and the repository
// on both store backends.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/time_util.h"
#include "monitors/alarm.h"
#include "monitors/egress.h"
#include "monitors/metric_sink.h"
#include "monitors/schedule.h"
#include "monitors/secret_box.h"
#include "monitors/serving_metrics.h"
#include "store/internal/test_stores.h"
#include "store/monitors_repo.h"
#include "store/projects_repo.h"

namespace studio::monitors {
namespace {

TEST(Schedule, Parses) {
  EXPECT_EQ(*ParseSchedule("manual"), 0);
  EXPECT_EQ(*ParseSchedule("15m"), 900);
  EXPECT_EQ(*ParseSchedule("1h"), 3600);
  EXPECT_EQ(*ParseSchedule("2d"), 172800);
  EXPECT_EQ(*ParseSchedule("30s"), 30);
  for (const char* bad : {"1", "m", "1x", "1s", "-5m", "1.5h", "99999999999999999999d", "1 h"})
    EXPECT_FALSE(ParseSchedule(bad).ok()) << bad;
}

TEST(Alarm, EvaluatesEachKind) {
  Observation obs;
  EXPECT_EQ(Evaluate(RuleKind::kDriftShare, 0.1, obs).state, AlarmState::kInsufficientData);
  EXPECT_EQ(Evaluate(RuleKind::kLatencyP99, 0.1, obs).state, AlarmState::kInsufficientData);
  EXPECT_EQ(Evaluate(RuleKind::kTaskFailure, 0, obs).state, AlarmState::kOk);
  obs.drift_share = 0.1;
  EXPECT_EQ(Evaluate(RuleKind::kDriftShare, 0.1, obs).state, AlarmState::kOk);  // strictly above
  obs.drift_share = 0.25;
  EXPECT_EQ(Evaluate(RuleKind::kDriftShare, 0.1, obs).state, AlarmState::kAlarm);
  obs.error_rate = 0.02;
  EXPECT_EQ(Evaluate(RuleKind::kErrorRate, 0.01, obs).state, AlarmState::kAlarm);
  obs.latency_p99_s = 0.05;
  EXPECT_EQ(Evaluate(RuleKind::kLatencyP99, 0.1, obs).state, AlarmState::kOk);
  obs.run_failed = true;
  obs.run_error = "boom";
  auto e = Evaluate(RuleKind::kTaskFailure, 0, obs);
  EXPECT_EQ(e.state, AlarmState::kAlarm);
  EXPECT_NE(e.reason.find("boom"), std::string::npos);
  EXPECT_EQ(DefaultRules().size(), 4u);
}

TEST(ServingMetrics, P99AndErrorRate) {
  const char* text =
      "# TYPE studio_serving_requests_total counter\n"
      "studio_serving_requests_total{route=\"/predict\",code=\"200\"} 980\n"
      "studio_serving_requests_total{route=\"/predict\",code=\"503\"} 20\n"
      "studio_serving_requests_total{route=\"other\",code=\"200\"} 5000\n"
      "studio_serving_request_duration_seconds_bucket{route=\"/predict\",le=\"0.01\"} 900\n"
      "studio_serving_request_duration_seconds_bucket{route=\"/predict\",le=\"0.1\"} 980\n"
      "studio_serving_request_duration_seconds_bucket{route=\"/predict\",le=\"0.5\"} 1000\n"
      "studio_serving_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 1000\n"
      "studio_serving_request_duration_seconds_bucket{route=\"other\",le=\"0.01\"} 0\n"
      "studio_serving_request_duration_seconds_bucket{route=\"other\",le=\"+Inf\"} 5000\n";
  auto st = ParseServingMetrics(text);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->requests, 1000);
  EXPECT_EQ(st->errors, 20);
  EXPECT_DOUBLE_EQ(*st->error_rate, 0.02);
  // rank 990 lies in (0.1, 0.5]: 0.1 + 0.4 * (990 - 980) / 20 = 0.3
  EXPECT_NEAR(*st->p99_seconds, 0.3, 1e-12);
  EXPECT_FALSE(ParseServingMetrics("foo 1\n").ok());
  auto empty =
      ParseServingMetrics("studio_serving_requests_total{route=\"/predict\",code=\"200\"} 0\n");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->error_rate.has_value());
}

TEST(Egress, BlockedRanges) {
  EXPECT_EQ(BlockedRange("169.254.169.254"), "cloud metadata");
  EXPECT_EQ(BlockedRange("169.254.1.1"), "link-local");
  EXPECT_EQ(BlockedRange("127.0.0.1"), "loopback");
  EXPECT_EQ(BlockedRange("10.1.2.3"), "private");
  EXPECT_EQ(BlockedRange("172.31.0.1"), "private");
  EXPECT_EQ(BlockedRange("192.168.0.1"), "private");
  EXPECT_EQ(BlockedRange("0.0.0.0"), "unspecified");
  EXPECT_EQ(BlockedRange("::1"), "loopback");
  EXPECT_EQ(BlockedRange("fe80::1"), "link-local");
  EXPECT_EQ(BlockedRange("fd00:ec2::254"), "cloud metadata");
  EXPECT_EQ(BlockedRange("::ffff:169.254.169.254"), "cloud metadata");
  EXPECT_EQ(BlockedRange("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(BlockedRange("8.8.8.8"), "");
  EXPECT_EQ(BlockedRange("2606:4700::1111"), "");
}

TEST(Egress, CheckUrl) {
  EgressPolicy strict;
  for (const char* bad :
       {"ftp://example.com/", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:9/", "http://[::1]/", "http://localhost/", "http://0x7f000001/",
        "http://2130706433/", "http://user:pw@8.8.8.8/", "gopher://8.8.8.8/", "http://10.0.0.1/",
        "http://[::ffff:a9fe:a9fe]/", "not a url", ""})
    EXPECT_FALSE(CheckUrl(bad, strict).ok()) << bad;
  auto pub = CheckUrl("https://8.8.8.8:8443/hook", strict);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(pub->ip, "8.8.8.8");
  EXPECT_EQ(pub->port, 8443);
  EgressPolicy allow;
  allow.allowed_hosts = {"127.0.0.1"};
  EXPECT_TRUE(CheckUrl("http://127.0.0.1:1234/x", allow).ok());
  EXPECT_FALSE(CheckUrl("http://169.254.169.254/", allow).ok());
  EgressPolicy priv;
  priv.allow_private = true;
  EXPECT_TRUE(CheckUrl("http://10.0.0.1:8081/metrics", priv).ok());
  EXPECT_FALSE(CheckUrl("http://169.254.169.254/", priv).ok());
}

TEST(Egress, HmacRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SecretBox, RoundTripAndBinding) {
  auto dir = std::filesystem::temp_directory_path() / ("sb-" + NewUuidV7());
  auto box = SecretBox::Open(dir.string());
  ASSERT_TRUE(box.ok()) << box.status().ToString();
  auto sealed = box->Seal("s3cret-value-123456", "rule-1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("s3cret"), std::string::npos);
  EXPECT_EQ(*box->Unseal(*sealed, "rule-1"), "s3cret-value-123456");
  EXPECT_FALSE(box->Unseal(*sealed, "rule-2").ok());
  auto again = SecretBox::Open(dir.string());  // same key from the file
  EXPECT_EQ(*again->Unseal(*sealed, "rule-1"), "s3cret-value-123456");
  auto perms = std::filesystem::status(dir / "secrets" / "monitoring.key").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::group_all, std::filesystem::perms::none);
  std::filesystem::remove_all(dir);
}

TEST(Emf, EnvelopeShape) {
  auto path = std::filesystem::temp_directory_path() / ("emf-" + NewUuidV7() + ".log");
  auto sink = EmfSink::Create(path.string(), "MLOps/Monitoring");
  ASSERT_TRUE(sink.ok());
  DriftPoint p;
  p.labels = {"m1", "churn-monitor", "churn", "3", ""};
  p.ts_ms = 1767225600000;
  p.features = {{"age", "ks", 0.001, true}, {"bad", "psi", std::nan(""), false}};
  p.share = 0.5;
  auto ev = nlohmann::json::parse((*sink)->FeatureEvent(p, p.features[0]));
  const auto& aws = ev["_aws"];
  EXPECT_EQ(aws["Timestamp"], 1767225600000);
  const auto& d = aws["CloudWatchMetrics"][0];
  EXPECT_EQ(d["Namespace"], "MLOps/Monitoring");
  EXPECT_EQ(d["Dimensions"], nlohmann::json::parse(R"([["Monitor","Model","Version","Feature"]])"));
  // Every dimension and metric named is a top-level member.
  for (const auto& k : d["Dimensions"][0]) EXPECT_TRUE(ev.contains(k.get<std::string>())) << k;
  for (const auto& m : d["Metrics"]) EXPECT_TRUE(ev[m["Name"].get<std::string>()].is_number());
  EXPECT_EQ(ev["FeatureDriftScore"], 0.001);
  (*sink)->RecordDrift(p);  // the NaN feature is left out
  (*sink)->RecordAlarm({"r1", "drift", "drift_share", "m1", "ALARM", p.ts_ms});
  sink->reset();
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("_aws"));
    ++n;
  }
  EXPECT_EQ(n, 3);  // one feature, the dataset, the alarm
  std::filesystem::remove(path);
}

TEST(Prometheus, Gauges) {
  metrics::Registry reg;
  PrometheusSink sink(reg);
  DriftPoint p;
  p.labels = {"m1", "mon", "churn", "3", ""};
  p.features = {{"age", "ks", 0.25, false}};
  p.share = 0.0;
  sink.RecordDrift(p);
  sink.RecordAlarm({"r1", "drift rule", "drift_share", "m1", "ALARM", 0});
  std::string text = reg.Render();
  EXPECT_NE(text.find("studio_feature_drift_score{monitor=\"mon\",model=\"churn\",version=\"3\","
                      "deployment=\"\",feature=\"age\",method=\"ks\"} 0.25"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("studio_dataset_drift_share{"), std::string::npos);
  EXPECT_NE(text.find("state=\"ALARM\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("state=\"OK\"} 0"), std::string::npos) << text;
}

// -- repository, both backends ------------------------------------------------------------------

class MonitorsRepoTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam()))
      GTEST_SKIP() << "STUDIO_TEST_PG_URI_FILE not set";
    t_ = store::testing::OpenTestStore(GetParam());
  }
  std::unique_ptr<store::testing::TestStore> t_;
};

TEST_P(MonitorsRepoTest, CrudReportsRulesAlerts) {
  auto& st = *t_->store;
  store::ProjectRecord p;
  p.id = NewUuidV7();
  p.name = "proj";
  p.owner = p.created_by = "alice";
  p.created_at = p.updated_at = NowMillis();
  ASSERT_TRUE(st.Write([&](store::Tx& tx) { return store::Projects(tx).Insert(p, {}); }).ok());
  store::MonitorRecord m;
  m.id = NewUuidV7();
  m.project_id = p.id;
  m.name = "mon";
  m.reference_path = "ref.csv";
  m.profile_json = "{}";
  m.current_kind = "csv";
  m.current_path = "cur.csv";
  m.interval_seconds = 60;
  m.next_run_at = 1000;
  m.created_by = "alice";
  m.created_at = m.updated_at = 1;
  ASSERT_TRUE(st.Write([&](store::Tx& tx) { return store::Monitors(tx).Insert(m); }).ok());
  Status dup = st.Write([&](store::Tx& tx) {
    auto copy = m;
    copy.id = NewUuidV7();
    return store::Monitors(tx).Insert(copy);
  });
  EXPECT_EQ(dup.code(), ErrorCode::kAlreadyExists);

  ASSERT_TRUE(st.Write([&](store::Tx& tx) -> Status {
                  store::Monitors mons(tx);
                  auto due = mons.Due(2000, 10);
                  EXPECT_EQ(due->size(), 1u);
                  EXPECT_TRUE(*mons.ClaimRun(m.id, 1000, 61000));
                  EXPECT_FALSE(*mons.ClaimRun(m.id, 1000, 61000));  // already claimed
                  EXPECT_TRUE(mons.Due(2000, 10)->empty());
                  for (int i = 0; i < 3; ++i) {
                    store::DriftReportRecord r;
                    r.id = NewUuidV7();
                    r.monitor_id = m.id;
                    r.status = "succeeded";
                    r.trigger_kind = "manual";
                    r.drift_share = 0.5 * i;
                    r.report_json = "{\"i\":" + std::to_string(i) + "}";
                    r.created_by = "alice";
                    r.created_at = 100 + i;
                    RETURN_IF_ERROR(mons.InsertReport(
                        r, {{r.id, m.id, "age", "ks", 0.01 * i, 0.05, i > 0, r.created_at}}));
                  }
                  return Status::Ok();
                }).ok());
  ASSERT_TRUE(st.Read([&](store::Tx& tx) -> Status {
                  store::Monitors mons(tx);
                  auto list = mons.ListReports(m.id, "", 2);
                  EXPECT_EQ(list->size(), 2u);
                  EXPECT_TRUE(list->front().report_json.empty());  // summaries only
                  auto rest = mons.ListReports(m.id, list->back().id, 2);
                  EXPECT_EQ(rest->size(), 1u);
                  auto latest = mons.LatestReport(m.id);
                  EXPECT_EQ(latest->report_json, "{\"i\":2}");
                  auto scores = mons.Scores(m.id, "age", 0, 100);
                  EXPECT_EQ(scores->size(), 3u);
                  EXPECT_EQ(scores->front().created_at, 100);
                  EXPECT_EQ(mons.GetReport("other", latest->id).status().code(),
                            ErrorCode::kResourceDoesNotExist);
                  return Status::Ok();
                }).ok());

  store::AlarmRuleRecord r;
  r.id = NewUuidV7();
  r.project_id = p.id;
  r.monitor_id = m.id;
  r.name = "drift";
  r.kind = "drift_share";
  r.threshold = 0.1;
  r.created_by = "alice";
  r.created_at = r.updated_at = 1;
  store::AlarmRuleRecord wide = r;
  wide.id = NewUuidV7();
  wide.monitor_id = "";
  ASSERT_TRUE(st.Write([&](store::Tx& tx) -> Status {
                  store::AlarmRules rules(tx);
                  RETURN_IF_ERROR(rules.Insert(r));
                  RETURN_IF_ERROR(rules.Insert(wide));
                  r.state = "ALARM";
                  r.acknowledged_by = "bob";
                  r.acknowledged_at = 5;
                  RETURN_IF_ERROR(rules.UpdateState(r));
                  return rules.InsertAlert(
                      {NewUuidV7(), r.id, m.id, "OK", "ALARM", 0.5, "x", "pending", 5});
                }).ok());
  ASSERT_TRUE(st.Read([&](store::Tx& tx) -> Status {
                  store::AlarmRules rules(tx);
                  EXPECT_EQ(rules.ForMonitor(p.id, m.id)->size(), 2u);
                  EXPECT_EQ(rules.List("", m.id, "", 10)->size(), 1u);
                  auto got = rules.Get(r.id);
                  EXPECT_EQ(got->state, "ALARM");
                  EXPECT_EQ(got->acknowledged_by, "bob");
                  EXPECT_EQ(rules.ListAlerts(r.id, "", 10)->size(), 1u);
                  return Status::Ok();
                }).ok());
  // Labels: upsert by (monitor, request id), last write wins; deleted with the monitor.
  ASSERT_TRUE(st.Write([&](store::Tx& tx) -> Status {
                  store::Monitors mons(tx);
                  RETURN_IF_ERROR(mons.UpsertLabel({m.id, "r1", "1", 10, "alice", 10}));
                  RETURN_IF_ERROR(mons.UpsertLabel({m.id, "r2", "\"cat\"", 20, "alice", 20}));
                  return mons.UpsertLabel({m.id, "r1", "0", 30, "bob", 30});
                }).ok());
  ASSERT_TRUE(st.Read([&](store::Tx& tx) -> Status {
                  auto labels = store::Monitors(tx).Labels(m.id, 10);
                  EXPECT_EQ(labels->size(), 2u);
                  EXPECT_EQ(labels->front().request_id, "r1");  // newest ts first
                  EXPECT_EQ(labels->front().label_json, "0");
                  EXPECT_EQ(labels->front().created_by, "bob");
                  EXPECT_EQ(labels->back().label_json, "\"cat\"");
                  EXPECT_EQ(store::Monitors(tx).Labels(m.id, 1)->size(), 1u);
                  return Status::Ok();
                }).ok());
  ASSERT_TRUE(st.Write([&](store::Tx& tx) { return store::Monitors(tx).Delete(m.id); }).ok());
  ASSERT_TRUE(st.Read([&](store::Tx& tx) -> Status {
                  EXPECT_TRUE(store::Monitors(tx).Labels(m.id, 10)->empty());
                  return Status::Ok();
                }).ok());
  ASSERT_TRUE(st.Read([&](store::Tx& tx) -> Status {
                  EXPECT_FALSE(store::Monitors(tx).Get(m.id).ok());
                  EXPECT_FALSE(store::AlarmRules(tx).Get(r.id).ok());
                  EXPECT_TRUE(store::AlarmRules(tx).Get(wide.id).ok());  // project-wide stays
                  return Status::Ok();
                }).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, MonitorsRepoTest,
                         ::testing::ValuesIn(store::testing::Backends()));

}  // namespace
}  // namespace studio::monitors
