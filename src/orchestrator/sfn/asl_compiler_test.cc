#include "orchestrator/sfn/asl_compiler.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace studio::orchestrator::sfn {
namespace {

using nlohmann::json;

const char* kTinySpec = R"(apiVersion: mlops-studio/v1
kind: Pipeline
metadata: {name: tiny, project: demo}
spec:
  stages:
    - id: ingest
      type: data-ingestion
      with: {source: data/x.csv}
      retry: {max_attempts: 3, interval_seconds: 5, backoff_rate: 1.5}
      timeout_seconds: 600
      resources: {cpu: 0.5, memory: 1024}
    - id: score
      type: command
      needs: [ingest]
      with: {command: [echo, hi], env: {MODE: fast}}
    - id: report
      type: command
      needs: [ingest]
      with: {command: [echo, report]}
      retry: {max_attempts: 2, interval_seconds: 0}
)";

pipelines::PipelineSpec Parse(const std::string& yaml) {
  pipelines::ValidateOptions vo;
  vo.allow_command_stages = true;
  pipelines::Validation v = pipelines::ValidateSpec(yaml, vo);
  EXPECT_TRUE(v.valid()) << (v.errors.empty() ? "" : v.errors[0].message);
  return v.spec;
}

EcsRunOptions Options() {
  EcsRunOptions o;
  o.cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/mlops";
  o.task_definition = "studio-stage:3";
  o.subnets = {"subnet-0aaa1111", "subnet-0bbb2222"};
  o.security_groups = {"sg-0ccc3333"};
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whole document for a small spec; STUDIO_UPDATE_GOLDEN=1 rewrites the file (review the
// diff before committing it).
TEST(AslCompiler, GoldenTinySpec) {
  auto asl = CompileAsl(Parse(kTinySpec), Options());
  ASSERT_TRUE(asl.ok()) << asl.status().ToString();
  const std::string path = std::string(STUDIO_SFN_TESTDATA) + "/tiny.asl.json";
  if (const char* u = std::getenv("STUDIO_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(path) << asl->dump(2) << "\n";
  }
  json golden = json::parse(ReadFile(path), nullptr, false);
  ASSERT_FALSE(golden.is_discarded()) << path;
  EXPECT_EQ(*asl, golden) << json::diff(golden, *asl).dump(2);
}

TEST(AslCompiler, TaskStateCarriesSpecValues) {
  auto asl = CompileAsl(Parse(kTinySpec), Options());
  ASSERT_TRUE(asl.ok());
  const json& s = (*asl)["States"];
  EXPECT_EQ((*asl)["StartAt"], "ingest");
  const json& ingest = s["ingest"];
  EXPECT_EQ(ingest["Resource"], kEcsRunTaskSync);
  EXPECT_EQ(ingest["TimeoutSeconds"], 600);
  EXPECT_EQ(ingest["Retry"][0]["MaxAttempts"], 2);  // 3 attempts = 2 retries
  EXPECT_EQ(ingest["Retry"][0]["IntervalSeconds"], 5);
  EXPECT_EQ(ingest["Retry"][0]["BackoffRate"], 1.5);
  EXPECT_EQ(ingest["Parameters"]["Overrides"]["Cpu"], "512");
  EXPECT_EQ(ingest["Parameters"]["Overrides"]["Memory"], "1024");
  EXPECT_EQ(ingest["Catch"][0]["Next"], kNotifyFailureState);
  EXPECT_TRUE(ingest["ResultPath"].is_null());
  EXPECT_EQ(ingest["Next"], "Parallel_score_report");
  const json& par = s["Parallel_score_report"];
  ASSERT_EQ(par["Branches"].size(), 2u);
  EXPECT_EQ(par["Branches"][0]["StartAt"], "score");
  EXPECT_EQ(par["Branches"][1]["StartAt"], "report");
  EXPECT_TRUE(par["End"].get<bool>());
  // Retry lives on the branch's task; its interval 0 becomes ASL's minimum of 1 s.
  const json& report = par["Branches"][1]["States"]["report"];
  EXPECT_EQ(report["Retry"][0]["IntervalSeconds"], 1);
  EXPECT_EQ(report["Retry"][0]["MaxAttempts"], 1);
  EXPECT_FALSE(report.contains("Catch"));
  // max_attempts 1 (the default): no retrier at all.
  EXPECT_FALSE(par["Branches"][0]["States"]["score"].contains("Retry"));
  const json& env = par["Branches"][0]["States"]["score"]["Parameters"]["Overrides"]
                       ["ContainerOverrides"][0]["Environment"];
  EXPECT_EQ(env.back(), (json{{"Name", "MODE"}, {"Value", "fast"}}));
  EXPECT_EQ(s[kNotifyFailureState]["Type"], "Pass");
  EXPECT_EQ(s[kFailState]["Type"], "Fail");
}

TEST(AslCompiler, OptionsShapeTheTask) {
  EcsRunOptions o = Options();
  o.assign_public_ip = true;
  o.platform_version = "1.4.0";
  o.container = "runner";
  o.command_prefix = {"studio", "it's{x}"};
  o.failure_topic_arn = "arn:aws:sns:us-east-1:111122223333:pipeline-failures";
  o.security_groups.clear();
  auto asl = CompileAsl(Parse(kTinySpec), o);
  ASSERT_TRUE(asl.ok());
  const json& p = (*asl)["States"]["ingest"]["Parameters"];
  EXPECT_FALSE(p["NetworkConfiguration"]["AwsvpcConfiguration"].contains("SecurityGroups"));
  EXPECT_EQ(p["PlatformVersion"], "1.4.0");
  EXPECT_EQ(p["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"], "ENABLED");
  const json& c = p["Overrides"]["ContainerOverrides"][0];
  EXPECT_EQ(c["Name"], "runner");
  EXPECT_EQ(c["Command.$"],
            "States.Array('studio', 'it\\'s\\{x\\}', 'run-stage', '--run', $.run_id, '--stage', "
            "'ingest')");
  const json& n = (*asl)["States"][kNotifyFailureState];
  EXPECT_EQ(n["Resource"], "arn:aws:states:::sns:publish");
  EXPECT_EQ(n["Parameters"]["TopicArn"], o.failure_topic_arn);
  EXPECT_EQ(n["Next"], kFailState);
  EXPECT_EQ(n["Catch"][0]["Next"], kFailState);
}

TEST(AslCompiler, RefusesMissingOptionsAndReservedEnv) {
  auto spec = Parse(kTinySpec);
  for (int i = 0; i < 5; ++i) {
    EcsRunOptions o = Options();
    if (i == 0) o.cluster.clear();
    if (i == 1) o.task_definition.clear();
    if (i == 2) o.subnets.clear();
    if (i == 3) o.container.clear();
    if (i == 4) o.security_groups = {""};
    auto r = CompileAsl(spec, o);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterValue) << i;
  }
  EXPECT_FALSE(CompileAsl(pipelines::PipelineSpec{}, Options()).ok());
  std::string bad = kTinySpec;
  bad.replace(bad.find("MODE: fast"), 10, "STUDIO_RUN_ID: x");
  auto r = CompileAsl(Parse(bad), Options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("STUDIO_RUN_ID"), std::string::npos);
}

TEST(AslCompiler, LevelsFollowLongestPath) {
  pipelines::PipelineSpec spec;
  auto add = [&](std::string id, std::vector<std::string> needs) {
    pipelines::StageSpec s;
    s.id = std::move(id);
    s.needs = std::move(needs);
    spec.stages.push_back(std::move(s));
  };
  add("d", {"b", "c"});
  add("a", {});
  add("b", {"a"});
  add("c", {});
  add("e", {"a"});
  auto levels = StageLevels(spec);
  ASSERT_TRUE(levels.ok());
  EXPECT_EQ(*levels, (std::vector<std::vector<std::string>>{{"a", "c"}, {"b", "e"}, {"d"}}));

  spec.stages[1].needs = {"d"};  // a → d → b → a
  EXPECT_EQ(StageLevels(spec).status().code(), ErrorCode::kInvalidParameterValue);
  spec.stages[1].needs = {"zzz"};
  EXPECT_FALSE(StageLevels(spec).ok());
}

TEST(AslCompiler, LongParallelNamesFallBack) {
  pipelines::PipelineSpec spec;
  spec.name = "wide";
  for (int i = 0; i < 12; ++i) {
    pipelines::StageSpec s;
    s.id = "stage-number-" + std::to_string(i);
    spec.stages.push_back(std::move(s));
  }
  auto asl = CompileAsl(spec, Options());
  ASSERT_TRUE(asl.ok());
  EXPECT_EQ((*asl)["StartAt"], "Parallel_L0");
  EXPECT_EQ((*asl)["States"]["Parallel_L0"]["Branches"].size(), 12u);
}

TEST(AslCompiler, FargateSizes) {
  auto size = [](double cpu, int64_t mib) {
    auto r = FargateSizeFor(cpu, mib);
    return r.ok() ? std::to_string(r->cpu_units) + "/" + std::to_string(r->memory_mib)
                  : std::string("error");
  };
  EXPECT_EQ(size(0.25, 512), "256/512");
  EXPECT_EQ(size(0.25, 1500), "256/2048");
  EXPECT_EQ(size(0.25, 3000), "512/3072");  // over 256's 2 GiB: the next tier
  EXPECT_EQ(size(1, 2048), "1024/2048");
  EXPECT_EQ(size(1, 512), "1024/2048");  // the tier's minimum
  EXPECT_EQ(size(2, 4097), "2048/5120");
  EXPECT_EQ(size(8, 16385), "8192/20480");
  EXPECT_EQ(size(16, 122880), "16384/122880");
  EXPECT_EQ(size(16, 122881), "error");
  EXPECT_EQ(size(0, 512), "error");
}

TEST(AslCompiler, ExecutionNames) {
  EXPECT_TRUE(IsValidExecutionName("0190f3a2-7b1c-7d4e-9f00-0123456789ab"));
  EXPECT_TRUE(IsValidExecutionName(std::string(80, 'a')));
  EXPECT_FALSE(IsValidExecutionName(std::string(81, 'a')));
  EXPECT_FALSE(IsValidExecutionName(""));
  for (const char* bad : {"a b", "a/b", "a:b", "a$b", "a\tb", "a*b", "a{b", "a\"b", "a\\b"})
    EXPECT_FALSE(IsValidExecutionName(bad)) << bad;
}

}  // namespace
}  // namespace studio::orchestrator::sfn
