#include "deploy/aws/ecs_plan.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace studio::deploy::aws {
namespace {

EcsPlanInput Input(const std::string& env) {
  EcsPlanInput in;
  in.project = "churn";
  in.environment = env;
  in.deployment_id = "dep-0192";
  in.model_name = "churn";
  in.model_version = "3";
  in.slot = "green";
  in.region = "us-east-1";
  EcsInfra& i = in.infra;
  i.image = "111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0";
  i.cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/mlops";
  i.subnets = {"subnet-0a1b2c3d", "subnet-4e5f6a7b"};
  i.security_groups = {"sg-0123456789abcdef0"};
  i.execution_role_arn = "arn:aws:iam::111122223333:role/studio-task-execution";
  i.task_role_arn = "arn:aws:iam::111122223333:role/studio-model-server";
  i.vpc_id = "vpc-0abc";
  i.listener_arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/studio-" +
                   env + "/50dc6c495c0c9188/f2f7dc8efc522ab2";
  i.control_plane_url = "https://studio.internal.example.com";
  i.token_secret_arn = "arn:aws:secretsmanager:us-east-1:111122223333:secret:studio/serving-token";
  i.log_group = "/studio/serving";
  in.weights = {{"blue", 90}, {"green", 10}};
  return in;
}

std::string Golden(const std::string& name) {
  return std::string(STUDIO_DEPLOY_AWS_TESTDATA) + "/" + name;
}

// Compares with testdata/NAME (STUDIO_UPDATE_GOLDEN=1 rewrites it; review the diff).
void ExpectGolden(const nlohmann::ordered_json& got, const std::string& name) {
  if (const char* u = std::getenv("STUDIO_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::ofstream(Golden(name)) << got.dump(2) << "\n";
  }
  std::ifstream f(Golden(name));
  ASSERT_TRUE(f) << Golden(name);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::ordered_json want = nlohmann::ordered_json::parse(ss.str());
  EXPECT_EQ(got.dump(2), want.dump(2)) << name;
}

TEST(EcsPlan, DevIsOneReplicaWithoutAutoScaling) {
  auto plan = BuildEcsPlan(Input("dev"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ExpectGolden(plan->json, "plan_dev.json");
  EXPECT_EQ(plan->Find("CreateService")->input["desiredCount"], 1);
  EXPECT_EQ(plan->Find("RegisterScalableTarget"), nullptr);
  EXPECT_EQ(plan->Find("PutScalingPolicy"), nullptr);
  EXPECT_EQ(plan->Find("RegisterTaskDefinition")->input["cpu"], "512");
  EXPECT_EQ(plan->Find("RegisterTaskDefinition")->input["memory"], "1024");
}

TEST(EcsPlan, StagingIsTwoReplicas) {
  auto plan = BuildEcsPlan(Input("staging"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ExpectGolden(plan->json, "plan_staging.json");
  EXPECT_EQ(plan->Find("CreateService")->input["desiredCount"], 2);
  EXPECT_EQ(plan->Find("UpdateService")->input["desiredCount"], 2);
  EXPECT_EQ(plan->Find("RegisterScalableTarget"), nullptr);
}

TEST(EcsPlan, ProdIsThreeReplicasScalingToTen) {
  auto plan = BuildEcsPlan(Input("prod"));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ExpectGolden(plan->json, "plan_prod.json");
  EXPECT_EQ(plan->Find("CreateService")->input["desiredCount"], 3);
  const EcsCall* target = plan->Find("RegisterScalableTarget");
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->api, "application-autoscaling");
  EXPECT_EQ(target->input["MinCapacity"], 3);
  EXPECT_EQ(target->input["MaxCapacity"], 10);
  // Application Auto Scaling names the cluster, not its ARN.
  EXPECT_EQ(target->input["ResourceId"], "service/mlops/studio-churn-prod-green");
  ASSERT_NE(plan->Find("PutScalingPolicy"), nullptr);
  // The calls in the order they are sent.
  std::vector<std::string> order;
  for (const auto& c : plan->calls) order.push_back(c.action);
  EXPECT_EQ(order,
            (std::vector<std::string>{"RegisterTaskDefinition", "CreateTargetGroup",
                                      "CreateService", "UpdateService", "RegisterScalableTarget",
                                      "PutScalingPolicy", "ModifyListener"}));
}

TEST(EcsPlan, ContainerRunsServeModelWithTheRegistryUri) {
  auto plan = BuildEcsPlan(Input("dev"));
  ASSERT_TRUE(plan.ok());
  const auto& c = plan->Find("RegisterTaskDefinition")->input["containerDefinitions"][0];
  EXPECT_EQ(c["command"][0], "studio");
  EXPECT_EQ(c["command"][1], "serve-model");
  EXPECT_EQ(c["command"][3], "models:/churn/3");
  EXPECT_EQ(c["secrets"][0]["name"], "STUDIO_TOKEN");
  EXPECT_EQ(c["logConfiguration"]["logDriver"], "awslogs");
}

TEST(EcsPlan, WeightsAndRuleMode) {
  EcsPlanInput in = Input("staging");
  in.infra.rule_arn =
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/x/1/2/3";
  auto plan = BuildEcsPlan(in);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Find("ModifyListener"), nullptr);
  const EcsCall* rule = plan->Find("ModifyRule");
  ASSERT_NE(rule, nullptr);
  const auto& groups = rule->input["Actions"][0]["ForwardConfig"]["TargetGroups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["TargetGroupArn"], "${TargetGroupArn:st-churn-staging-blue}");
  EXPECT_EQ(groups[0]["Weight"], 90);
  EXPECT_EQ(groups[1]["Weight"], 10);
}

TEST(EcsPlan, OverridesAndDefaults) {
  EcsPlanInput in = Input("prod");
  in.replicas = 4;
  in.max_replicas = 6;
  in.cpu = "2048";
  in.memory = "4096";
  in.weights.clear();
  auto plan = BuildEcsPlan(in);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->sizing.desired_count, 4);
  EXPECT_EQ(plan->Find("RegisterScalableTarget")->input["MaxCapacity"], 6);
  EXPECT_EQ(plan->Find("RegisterTaskDefinition")->input["cpu"], "2048");
  // No weights given: all the traffic to the slot.
  const auto& groups =
      plan->Find("ModifyListener")->input["DefaultActions"][0]["ForwardConfig"]["TargetGroups"];
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["Weight"], 100);
  // A fixed count (max == replicas) drops auto-scaling even in prod.
  in.replicas = 2;
  in.max_replicas = 2;
  plan = BuildEcsPlan(in);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->autoscaling);
  EXPECT_EQ(plan->Find("PutScalingPolicy"), nullptr);
}

TEST(EcsPlan, RejectsBadInput) {
  auto bad = [](auto mutate, const std::string& needle) {
    EcsPlanInput in = Input("prod");
    mutate(in);
    auto plan = BuildEcsPlan(in);
    ASSERT_FALSE(plan.ok()) << needle;
    EXPECT_EQ(plan.status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_NE(plan.status().message().find(needle), std::string::npos) << plan.status().message();
  };
  bad([](EcsPlanInput& in) { in.slot = "purple"; }, "slot must be blue, green or canary");
  bad([](EcsPlanInput& in) { in.infra.image.clear(); }, "image is required");
  bad([](EcsPlanInput& in) { in.infra.subnets.clear(); }, "subnet");
  bad([](EcsPlanInput& in) { in.infra.listener_arn.clear(); }, "listener_arn");
  bad([](EcsPlanInput& in) { in.environment = "qa"; }, "no default ECS sizing");
  bad(
      [](EcsPlanInput& in) {
        in.cpu = "256";
        in.memory = "4096";
      },
      "not a Fargate task size");
  bad([](EcsPlanInput& in) { in.cpu = "1k"; }, "cpu must be a number");
  bad(
      [](EcsPlanInput& in) {
        in.replicas = 5;
        in.max_replicas = 2;
      },
      "below the replica count");
  bad([](EcsPlanInput& in) { in.weights = {{"blue", 50}, {"green", 40}}; }, "sum to 100");
  bad([](EcsPlanInput& in) { in.weights = {{"blue", 150}, {"green", -50}}; }, "0..100");
  bad([](EcsPlanInput& in) { in.weights = {{"red", 100}}; }, "unknown slot 'red'");
  bad([](EcsPlanInput& in) { in.container_port = 70000; }, "container_port");
  bad([](EcsPlanInput& in) { in.model_version.clear(); }, "model version is required");
}

TEST(EcsPlan, TargetGroupNamesFitElbLimits) {
  EXPECT_EQ(TargetGroupName("churn", "prod", "green"), "st-churn-prod-green");
  std::string long_name =
      TargetGroupName("A very_long Project name for fraud", "staging", "canary");
  EXPECT_LE(long_name.size(), 32u);
  EXPECT_EQ(long_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"),
            std::string::npos);
  EXPECT_NE(long_name.front(), '-');
  EXPECT_NE(long_name.back(), '-');
  // Distinct slots and projects that share a long prefix still get distinct names.
  EXPECT_NE(long_name, TargetGroupName("A very_long Project name for fraud", "staging", "green"));
  EXPECT_NE(TargetGroupName("a-very-long-project-name-for-fraud-1", "prod", "blue"),
            TargetGroupName("a-very-long-project-name-for-fraud-2", "prod", "blue"));
  // Punctuation never reaches the name (traversal-looking input included).
  EXPECT_EQ(TargetGroupName("../x", "dev", "blue"), "st-x-dev-blue");
}

}  // namespace
}  // namespace studio::deploy::aws
