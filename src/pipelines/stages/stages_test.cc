// The stage bodies on a real local ArtifactStore with small CSV fixtures: the data chain
// (ingestion → preparation → feature store → monitoring) with exact rows, digests and
// statistics, and the errors users hit (bad CSV, missing columns, bad casts, traversal, URLs
// off the allow-list, missing upstream outputs, failing commands).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "artifacts/artifact_store.h"
#include "common/crypto.h"
#include "pipelines/stages/internal/features.h"
#include "pipelines/stages/internal/table.h"
#include "pipelines/stages/stage.h"

namespace studio::pipelines::stages {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class StagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stages-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "artifacts");
    auto store = artifacts::OpenArtifactStore("file://" + (dir_ / "artifacts").string());
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }

  std::string Read(const std::string& artifact) {
    std::string out;
    Status st = store_->Get(artifact, [&](std::string_view c) {
      out.append(c);
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << artifact << ": " << st.message();
    return out;
  }

  Result<json> Run(const std::string& type, const std::string& id, json with,
                   json upstream = json::object(), std::vector<std::string> needs = {}) {
    StageContext ctx;
    ctx.run_id = "run-1";
    ctx.project = "demo";
    ctx.pipeline = "churn";
    ctx.stage.id = id;
    ctx.stage.type = type;
    ctx.stage.with = std::move(with);
    ctx.stage.needs = std::move(needs);
    ctx.upstream = std::move(upstream);
    ctx.artifacts = store_.get();
    ctx.log = &log_;
    return RunStage(ctx);
  }

  // ingest → prepare on the standard fixture; returns the upstream map.
  json Chain(json prep_with) {
    auto in = Run("data-ingestion", "ingest", {{"source", Write("data.csv", kData)}});
    EXPECT_TRUE(in.ok()) << in.status().message();
    json up = {{"ingest", *in}};
    auto prep = Run("data-preparation", "prepare", prep_with, up);
    EXPECT_TRUE(prep.ok()) << prep.status().message();
    if (prep.ok()) up["prepare"] = *prep;
    return up;
  }

  static constexpr const char* kData =
      "id,amount,items,plan,ts\r\n"
      "1,10,2,basic,5\r\n"
      "2,20,4,pro,3\r\n"
      "3,,1,basic,1\r\n"
      "4,40,8,pro,2\r\n"
      "2,20,4,pro,3\r\n"
      "\r\n"
      "5,50,5,\"basic\",4\r\n"
      "6,60,0,pro,6\r\n"
      "7,70,7,basic,7\r\n"
      "8,80,8,pro,8\r\n";

  fs::path dir_;
  std::unique_ptr<artifacts::ArtifactStore> store_;
  std::ostringstream log_;
};

TEST_F(StagesTest, IngestionNormalizesCsvAndReportsSchemaRowsDigest) {
  auto out = Run("data-ingestion", "ingest", {{"source", Write("data.csv", kData)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::string expected =
      "id,amount,items,plan,ts\n1,10,2,basic,5\n2,20,4,pro,3\n3,,1,basic,1\n4,40,8,pro,2\n"
      "2,20,4,pro,3\n5,50,5,basic,4\n6,60,0,pro,6\n7,70,7,basic,7\n8,80,8,pro,8\n";
  EXPECT_EQ((*out)["rows"], 9);
  EXPECT_EQ((*out)["type"], "data-ingestion");
  EXPECT_EQ((*out)["stage"], "ingest");
  EXPECT_EQ((*out)["dataset"]["path"], "runs/run-1/ingest/dataset.csv");
  EXPECT_EQ(Read("runs/run-1/ingest/dataset.csv"), expected);
  EXPECT_EQ((*out)["sha256"], crypto::Sha256Hex(expected));
  EXPECT_EQ((*out)["schema"], json::parse(R"([{"name":"id","type":"integer"},
      {"name":"amount","type":"integer"},{"name":"items","type":"integer"},
      {"name":"plan","type":"string"},{"name":"ts","type":"integer"}])"));
  EXPECT_NE(log_.str().find("ingested 9 rows"), std::string::npos) << log_.str();
}

TEST_F(StagesTest, IngestionMaxRowsAndNdjson) {
  auto out =
      Run("data-ingestion", "ingest", {{"source", Write("data.csv", kData)}, {"max_rows", 2}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)["rows"], 2);
  EXPECT_EQ((*out)["max_rows_reached"], true);

  std::string nd = "{\"a\": 1, \"b\": \"x,y\"}\n\n{\"a\": 2.5, \"c\": true}\n{\"b\": null}\n";
  out = Run("data-ingestion", "nd", {{"source", Write("d.ndjson", nd)}, {"format", "ndjson"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::string expected = "a,b,c\n1,\"x,y\",\n2.5,,true\n,,\n";
  EXPECT_EQ(Read("runs/run-1/nd/dataset.csv"), expected);
  EXPECT_EQ((*out)["sha256"], crypto::Sha256Hex(expected));
  EXPECT_EQ((*out)["schema"][0]["type"], "float");
  EXPECT_EQ((*out)["schema"][2]["type"], "boolean");

  out = Run("data-ingestion", "nd2",
            {{"source", Write("bad.ndjson", "{\"a\":1}\n[1,2]\n")}, {"format", "ndjson"}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find(":2: each line must be a JSON object"), std::string::npos)
      << out.status().message();
}

TEST_F(StagesTest, IngestionRefusesMalformedCsv) {
  struct Case {
    std::string data, want;
  } cases[] = {
      {"a,b\n1,2\n3\n", "bad.csv:3: expected 2 fields, found 1"},
      {"a,b\n1,\"2\n", "bad.csv:2: unterminated quoted field"},
      {"a,a\n1,2\n", "bad.csv:1: duplicate column 'a'"},
      {"a,\n1,2\n", "bad.csv:1: column 2 of the header has no name"},
      {"a,b\n1,x\"y\n", "a quote inside an unquoted field"},
      {"", "no header row"},
      {"a,b\n", "has no rows"},
  };
  for (const auto& c : cases) {
    auto out = Run("data-ingestion", "ingest", {{"source", Write("bad.csv", c.data)}});
    ASSERT_FALSE(out.ok()) << c.data;
    EXPECT_NE(out.status().message().find(c.want), std::string::npos)
        << c.data << " → " << out.status().message();
    EXPECT_EQ(out.status().code(), ErrorCode::kInvalidParameterValue);
  }
}

TEST_F(StagesTest, IngestionRefusesTraversalMissingFilesAndUnlistedUrls) {
  auto out = Run("data-ingestion", "ingest", {{"source", "data/../../etc/passwd"}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'..'"), std::string::npos) << out.status().message();

  out = Run("data-ingestion", "ingest", {{"source", (dir_ / "nope.csv").string()}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kResourceDoesNotExist);

  unsetenv("STUDIO_ALLOWED_DATA_HOSTS");
  out = Run("data-ingestion", "ingest", {{"source", "https://data.example.com/x.csv"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(out.status().message().find("'data.example.com' is not in the data allow-list"),
            std::string::npos)
      << out.status().message();

  // Another host on the list does not let this one through.
  setenv("STUDIO_ALLOWED_DATA_HOSTS", "other.example.com", 1);
  out = Run("data-ingestion", "ingest", {{"source", "https://data.example.com/x.csv"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kPermissionDenied);
  unsetenv("STUDIO_ALLOWED_DATA_HOSTS");

  out = Run("data-ingestion", "ingest", {{"source", "http://data.example.com/x.csv"}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("https:// URLs only"), std::string::npos);
}

TEST_F(StagesTest, PreparationDropsDedupesAndSplitsInFileOrder) {
  json up = Chain({{"nulls", "drop"},
                   {"dedupe", true},
                   {"reference_fraction", 0.5},
                   {"required_columns", {"amount", "items"}}});
  const json& prep = up["prepare"];
  EXPECT_EQ(prep["input_rows"], 9);
  EXPECT_EQ(prep["dropped_null_rows"], 1);
  EXPECT_EQ(prep["duplicate_rows"], 1);
  EXPECT_EQ(prep["rows"], 7);
  const std::string ref = "id,amount,items,plan,ts\n1,10,2,basic,5\n2,20,4,pro,3\n4,40,8,pro,2\n";
  const std::string cur =
      "id,amount,items,plan,ts\n5,50,5,basic,4\n6,60,0,pro,6\n7,70,7,basic,7\n8,80,8,pro,8\n";
  EXPECT_EQ(prep["reference"]["rows"], 3);
  EXPECT_EQ(prep["current"]["rows"], 4);
  EXPECT_EQ(Read(prep["reference"]["path"]), ref);
  EXPECT_EQ(Read(prep["current"]["path"]), cur);
  EXPECT_EQ(prep["reference"]["sha256"], crypto::Sha256Hex(ref));
  EXPECT_EQ(prep["current"]["sha256"], crypto::Sha256Hex(cur));
  EXPECT_EQ(prep["datasets"]["reference"], crypto::Sha256Hex(ref));
}

TEST_F(StagesTest, PreparationCastsFillsAndSplitsByColumn) {
  json up = Chain({{"nulls", "fill"},
                   {"casts", {{"amount", "float"}, {"id", "string"}}},
                   {"reference_fraction", 0.25},
                   {"split_column", "ts"}});
  const json& prep = up["prepare"];
  EXPECT_EQ(prep["filled_values"], 1);
  EXPECT_EQ(prep["rows"], 9);
  // ts order: 1 (id 3), 2 (id 4) are the reference (floor(9 * 0.25) = 2).
  EXPECT_EQ(Read(prep["reference"]["path"]),
            "id,amount,items,plan,ts\n3,0,1,basic,1\n4,40,8,pro,2\n");
  EXPECT_EQ(prep["current"]["rows"], 7);
  EXPECT_EQ(Read(prep["current"]["path"]).substr(0, 50),
            "id,amount,items,plan,ts\n2,20,4,pro,3\n2,20,4,pro,3\n");
}

TEST_F(StagesTest, PreparationErrorsNameTheProblem) {
  auto in = Run("data-ingestion", "ingest", {{"source", Write("data.csv", kData)}});
  ASSERT_TRUE(in.ok());
  json up = {{"ingest", *in}};
  auto out =
      Run("data-preparation", "prepare", {{"required_columns", {"amount", "churned", "age"}}}, up);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("required columns missing from "
                                        "runs/run-1/ingest/dataset.csv: churned, age"),
            std::string::npos)
      << out.status().message();

  out = Run("data-preparation", "prepare", {{"casts", {{"plan", "int"}}}}, up);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cannot cast column 'plan' to int: row 1 has 'basic'"),
            std::string::npos)
      << out.status().message();

  out = Run("data-preparation", "prepare", {{"casts", {{"nope", "int"}}}}, up);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no column 'nope'"), std::string::npos);

  out = Run("data-preparation", "prepare", {{"split_column", "nope"}}, up);
  ASSERT_FALSE(out.ok());

  // No ingestion stage upstream, or one whose outputs lack the dataset.
  out = Run("data-preparation", "prepare", json::object(), json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("needs the outputs of a finished 'data-ingestion' stage"),
            std::string::npos)
      << out.status().message();
  out = Run("data-preparation", "prepare", json::object(),
            {{"ingest", {{"type", "data-ingestion"}, {"rows", 3}}}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("have no 'dataset'"), std::string::npos);
  // Two ingestion stages and neither is needed directly: ambiguous.
  out = Run("data-preparation", "prepare", json::object(), {{"a", *in}, {"b", *in}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("several finished 'data-ingestion' stages"),
            std::string::npos);
  out = Run("data-preparation", "prepare", json::object(), {{"a", *in}, {"b", *in}}, {"b"});
  EXPECT_TRUE(out.ok()) << out.status().message();
}

TEST_F(StagesTest, FeatureStoreWritesVersionedTableWithStatisticsAndProfile) {
  json up = Chain({{"nulls", "drop"}, {"dedupe", true}, {"reference_fraction", 0.5}});
  json with = {
      {"features", json::array({{{"name", "log_amount"}, {"expr", "log(amount)"}},
                                {{"name", "amount_per_item"}, {"expr", "amount / items"}},
                                {{"name", "plan"}, {"expr", "one_hot(plan)"}},
                                {{"name", "ts_bucket"}, {"expr", "bucketize(ts, [3, 6])"}}})}};
  auto fs1 = Run("feature-store", "features", with, up);
  ASSERT_TRUE(fs1.ok()) << fs1.status().message();
  EXPECT_EQ((*fs1)["table"], "churn");
  EXPECT_EQ((*fs1)["version"], 1);
  EXPECT_EQ((*fs1)["reference_path"], "features/churn/v1/reference.csv");
  const double l10 = std::log(10.0), l20 = std::log(20.0), l40 = std::log(40.0);
  std::string ref = Read("features/churn/v1/reference.csv");
  EXPECT_EQ(ref.substr(0, ref.find('\n')),
            "log_amount,amount_per_item,plan_basic,plan_pro,ts_bucket");
  EXPECT_NE(ref.find(",5,1,0,1\n"), std::string::npos) << ref;  // id 1: ts 5 → bucket 1
  EXPECT_NE(ref.find(",5,0,1,0\n"), std::string::npos) << ref;  // id 4: ts 2 → bucket 0
  EXPECT_EQ((*fs1)["reference"]["sha256"], crypto::Sha256Hex(ref));
  std::string cur = Read("features/churn/v1/current.csv");
  EXPECT_NE(cur.find(",,0,1,2\n"), std::string::npos) << cur;  // id 6: items 0 → missing ratio
  EXPECT_EQ((*fs1)["current"]["rows"], 4);

  const json& st = (*fs1)["statistics"];
  EXPECT_EQ(st["amount_per_item"]["reference"]["count"], 3);
  EXPECT_DOUBLE_EQ(st["amount_per_item"]["reference"]["mean"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(st["amount_per_item"]["reference"]["std"].get<double>(), 0.0);
  EXPECT_EQ(st["amount_per_item"]["current"]["missing"], 1);
  EXPECT_DOUBLE_EQ(st["amount_per_item"]["current"]["mean"].get<double>(), 10.0);
  EXPECT_NEAR(st["log_amount"]["reference"]["mean"].get<double>(), (l10 + l20 + l40) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(st["log_amount"]["reference"]["min"].get<double>(), l10);
  EXPECT_DOUBLE_EQ(st["ts_bucket"]["current"]["max"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(st["plan_pro"]["reference"]["mean"].get<double>(), 2.0 / 3);
  EXPECT_EQ((*fs1)["features"][1]["invalid_current"], 1);
  EXPECT_EQ(json::parse(Read("features/churn/v1/statistics.json")), st);
  auto manifest = json::parse(Read("features/churn/v1/manifest.json"));
  EXPECT_EQ(manifest["run_id"], "run-1");
  EXPECT_EQ(manifest["source"]["reference"], up["prepare"]["reference"]["sha256"]);

  // The profile is the monitoring reference profile of the reference features.
  auto profile = json::parse(Read((*fs1)["profile_path"]));
  EXPECT_EQ(profile["rows"], 3);
  EXPECT_EQ(profile["columns"].size(), 5u);

  // The next run of the same table gets the next version.
  auto fs2 = Run("feature-store", "features", with, up);
  ASSERT_TRUE(fs2.ok()) << fs2.status().message();
  EXPECT_EQ((*fs2)["version"], 2);
  EXPECT_EQ((*fs2)["reference"]["sha256"], (*fs1)["reference"]["sha256"]);
}

TEST_F(StagesTest, FeatureStoreRefusesBadExpressions) {
  json up = Chain({{"nulls", "drop"}});
  struct Case {
    std::string expr, want;
  } cases[] = {
      {"sqrt(amount)", "unknown function 'sqrt'"},
      {"log(nope)", "no column 'nope'"},
      {"log(plan)", "column 'plan' is not numeric"},
      {"bucketize(ts, [6, 3])", "edges must be strictly increasing"},
      {"bucketize(ts, [a])", "edge 'a' is not a number"},
      {"bucketize(ts)", "needs a column and a list of edges"},
      {"log(amount", "missing ')'"},
      {"amount / ", "a ratio is column / column"},
  };
  for (const auto& c : cases) {
    auto out = Run("feature-store", "features",
                   {{"features", json::array({{{"name", "f"}, {"expr", c.expr}}})}}, up);
    ASSERT_FALSE(out.ok()) << c.expr;
    EXPECT_NE(out.status().message().find(c.want), std::string::npos)
        << c.expr << " → " << out.status().message();
  }
  auto out = Run(
      "feature-store", "features",
      {{"features", json::array({{{"name", "f"}, {"expr", "amount"}}})}, {"table", "../x"}}, up);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("feature table name"), std::string::npos);
}

TEST_F(StagesTest, MonitoringReportsDriftAndFailsOnlyWhenAsked) {
  json up = Chain({{"nulls", "drop"}, {"dedupe", true}, {"reference_fraction", 0.5}});
  auto fs =
      Run("feature-store", "features",
          {{"features", json::array({{{"name", "amount_per_item"}, {"expr", "amount / items"}},
                                     {{"name", "amount"}, {"expr", "amount"}}})}},
          up);
  ASSERT_TRUE(fs.ok()) << fs.status().message();
  up["features"] = *fs;
  auto mon =
      Run("model-monitoring", "monitor", {{"method", "wasserstein"}, {"drift_share", 0.5}}, up);
  ASSERT_TRUE(mon.ok()) << mon.status().message();
  EXPECT_EQ((*mon)["dataset_drift"], true);
  EXPECT_EQ((*mon)["evaluated"], 2);
  EXPECT_EQ((*mon)["drifted"], 2);
  EXPECT_EQ((*mon)["features"][0]["method"], "wasserstein");
  // Reference amount/items is constant 5, current 10 (one missing): normed distance
  // |10 - 5| / max(std, 0.001) = 5000.
  EXPECT_EQ((*mon)["features"][0]["column"], "amount_per_item");
  EXPECT_NEAR((*mon)["features"][0]["score"].get<double>(), 5000.0, 1e-9);
  auto report = json::parse(Read((*mon)["report_path"]));
  EXPECT_EQ(report["dataset_drift"], true);
  EXPECT_EQ(report["current_rows"], 4);
  EXPECT_EQ((*mon)["report_sha256"], crypto::Sha256Hex(Read((*mon)["report_path"])));
  EXPECT_NE(Read((*mon)["html_report_path"]).find("<svg"), std::string::npos);
  // No model-registry stage in this run: no monitor to run, said so in the outputs.
  EXPECT_NE((*mon)["alarm"]["error"].get<std::string>().find("no model-registry stage"),
            std::string::npos);

  auto fail =
      Run("model-monitoring", "monitor", {{"method", "wasserstein"}, {"fail_on_drift", true}}, up);
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.status().message().find("data drift detected: 2 of 2 features drifted"),
            std::string::npos)
      << fail.status().message();

  auto none = Run("model-monitoring", "monitor", json::object(), json::object());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("'feature-store' stage"), std::string::npos);
}

TEST_F(StagesTest, CommandStreamsOutputAndFailsOnNonZeroExit) {
  auto out = Run("command", "cmd",
                 {{"command", {"/bin/sh", "-c", "echo hello $GREETING; echo err >&2"}},
                  {"env", {{"GREETING", "world"}}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)["exit_code"], 0);
  EXPECT_NE(log_.str().find("hello world\n"), std::string::npos) << log_.str();
  EXPECT_NE(log_.str().find("err\n"), std::string::npos);

  out = Run("command", "cmd", {{"command", {"/bin/sh", "-c", "exit 3"}}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("exited with status 3"), std::string::npos);

  out = Run("command", "cmd", {{"command", {"/nonexistent/tool", "x"}}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cannot run '/nonexistent/tool'"), std::string::npos)
      << out.status().message();

  // A background process holding the output pipe does not hold the stage.
  out = Run("command", "cmd", {{"command", {"/bin/sh", "-c", "sleep 3 & echo done"}}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NE(log_.str().find("done\n"), std::string::npos);

  out = Run("command", "cmd", {{"command", {"/bin/sh", "-c", "kill -9 $$"}}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("killed by signal 9"), std::string::npos);
}

TEST_F(StagesTest, ControlPlaneStagesNeedAServerAndTheirUpstream) {
  json reg = {{"register", {{"type", "model-registry"}, {"model_name", "m"}, {"version", "1"}}}};
  auto out = Run("model-deployment", "deploy", {{"environment", "dev"}}, reg);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("no server URL was given"), std::string::npos)
      << out.status().message();
  out = Run("model-deployment", "deploy", {{"environment", "dev"}}, json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'model-registry' stage"), std::string::npos);

  // Traversal in the predictions path is refused before anything else happens.
  out = Run("batch-inference", "batch", {{"output", "../../escape.csv"}}, reg);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("output '../../escape.csv'"), std::string::npos)
      << out.status().message();
  out = Run("model-registry", "register", {{"model_name", "m"}, {"package", "../pkg"}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("'..' is not allowed"), std::string::npos);
  out = Run("no-such-type", "x", json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("unknown stage type 'no-such-type'"), std::string::npos);
}

TEST_F(StagesTest, CommandIsKilledWhenTheRunIsCancelled) {
  StageContext ctx;
  ctx.run_id = "run-1";
  ctx.stage.id = "cmd";
  ctx.stage.type = "command";
  ctx.stage.with = {{"command", {"/bin/sh", "-c", "echo started; exec sleep 30"}}};
  ctx.artifacts = store_.get();
  ctx.log = &log_;
  // Cancelled once the command has printed its first line.
  ctx.cancelled = [&] { return log_.str().find("started") != std::string::npos; };
  auto out = RunStage(ctx);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kResourceConflict);
  EXPECT_NE(out.status().message().find("was cancelled"), std::string::npos);
}

// Random inputs over the characters that matter to CSV: the parser never crashes, and what it
// accepts survives normalization unchanged (parse(write(t)) == t, write is a fixed point).
TEST(TableTest, RandomCsvRoundTripsThroughNormalization) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab ,\"\r\n1.\t\xC3\xA9";
  int accepted = 0;
  auto show = [](const std::string& d) {
    return json(d).dump(-1, ' ', false, json::error_handler_t::replace);
  };
  for (int i = 0; i < 20000; ++i) {
    std::string data;
    size_t len = rng() % 40;
    for (size_t k = 0; k < len; ++k) data.push_back(alphabet[rng() % alphabet.size()]);
    auto t = internal::ParseCsvTable(data, "fuzz", 0);
    auto nd = internal::ParseNdjsonTable(data, "fuzz", 0);
    (void)nd;
    if (!t.ok()) continue;
    ++accepted;
    std::string csv = internal::WriteCsv(*t);
    auto back = internal::ParseCsvTable(csv, "normalized", 0);
    ASSERT_TRUE(back.ok()) << back.status().message() << " for " << show(data);
    EXPECT_EQ(back->columns, t->columns) << show(data);
    EXPECT_EQ(back->rows, t->rows) << show(data);
    EXPECT_EQ(internal::WriteCsv(*back), csv);
  }
  EXPECT_GT(accepted, 1000);
}

TEST(FeatureExprTest, ParsesTheDeclaredForms) {
  using internal::FeatureExpr;
  auto f = internal::ParseFeatureExpr("x", " amount / items ");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, FeatureExpr::kRatio);
  EXPECT_EQ(f->a, "amount");
  EXPECT_EQ(f->b, "items");
  f = internal::ParseFeatureExpr("x", "one-hot(plan)");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, FeatureExpr::kOneHot);
  f = internal::ParseFeatureExpr("x", "bucketize(age, [18, 30.5, 65])");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->edges, (std::vector<double>{18, 30.5, 65}));
  EXPECT_FALSE(internal::ParseFeatureExpr("a,b", "x").ok());
}

}  // namespace
}  // namespace studio::pipelines::stages
