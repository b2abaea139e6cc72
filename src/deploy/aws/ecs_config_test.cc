#include "deploy/aws/ecs_config.h"

#include <gtest/gtest.h>

namespace studio::deploy::aws {
namespace {

nlohmann::json Config() {
  return nlohmann::json::parse(R"({
    "region": "eu-west-1",
    "endpoints": {"ecs": "http://127.0.0.1:9"},
    "poll_interval_ms": 250,
    "ready_timeout_ms": 60000,
    "environments": {
      "dev": {"image": "i", "cluster": "c", "subnets": ["s1"], "security_groups": ["g1"],
              "execution_role_arn": "r", "vpc_id": "v", "listener_arn": "l",
              "control_plane_url": "u", "token_secret_arn": "t"},
      "prod": {"image": "i", "cluster": "c", "subnets": ["s1", "s2"], "security_groups": ["g1"],
               "assign_public_ip": true, "sizing": {"replicas": 4, "max_replicas": 12,
               "cpu": "2048", "memory": "4096", "cpu_target_percent": 50}}
    }
  })");
}

TEST(EcsConfig, ReadsEveryField) {
  auto o = EcsTargetOptionsFromJson(Config());
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_EQ(o->ecs_endpoint, "http://127.0.0.1:9");
  EXPECT_EQ(o->elbv2_endpoint, "");
  EXPECT_EQ(o->poll_interval.count(), 250);
  EXPECT_EQ(o->ready_timeout.count(), 60000);
  ASSERT_EQ(o->environments.size(), 2u);
  const EcsInfra& dev = o->environments.at("dev");
  EXPECT_EQ(dev.subnets, std::vector<std::string>{"s1"});
  EXPECT_EQ(dev.log_group, "/studio/serving");
  EXPECT_FALSE(dev.sizing.has_value());
  const EcsInfra& prod = o->environments.at("prod");
  EXPECT_TRUE(prod.assign_public_ip);
  ASSERT_TRUE(prod.sizing.has_value());
  EXPECT_EQ(prod.sizing->desired_count, 4);
  EXPECT_EQ(prod.sizing->max_count, 12);
  EXPECT_EQ(prod.sizing->cpu, "2048");
  EXPECT_DOUBLE_EQ(prod.sizing->cpu_target_percent, 50);
}

TEST(EcsConfig, RefusesBadDocumentsNamingTheField) {
  auto bad = [](auto mutate, const std::string& needle) {
    nlohmann::json j = Config();
    mutate(j);
    auto o = EcsTargetOptionsFromJson(j);
    ASSERT_FALSE(o.ok()) << needle;
    EXPECT_EQ(o.status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_NE(o.status().message().find(needle), std::string::npos) << o.status().message();
  };
  bad([](auto& j) { j["regoin"] = "x"; }, "ecs.regoin: unknown key");
  bad([](auto& j) { j["region"] = 5; }, "ecs.region: expected a string");
  bad([](auto& j) { j["region"] = ""; }, "ecs.region: must not be empty");
  bad([](auto& j) { j["endpoints"]["s3"] = "x"; }, "ecs.endpoints.s3: unknown key");
  bad([](auto& j) { j["poll_interval_ms"] = "fast"; }, "ecs.poll_interval_ms");
  bad([](auto& j) { j["ready_timeout_ms"] = -1; }, "ecs.ready_timeout_ms");
  bad([](auto& j) { j.erase("environments"); }, "ecs.environments");
  bad([](auto& j) { j["environments"] = nlohmann::json::object(); }, "ecs.environments");
  bad([](auto& j) { j["environments"]["dev"]["subnets"] = "s1"; },
      "ecs.environments.dev.subnets: expected a list of strings");
  bad([](auto& j) { j["environments"]["dev"]["subnets"] = {1}; },
      "ecs.environments.dev.subnets: expected a list of strings");
  bad([](auto& j) { j["environments"]["dev"]["assign_public_ip"] = "yes"; },
      "assign_public_ip: expected true or false");
  bad([](auto& j) { j["environments"]["prod"]["sizing"]["replicas"] = 0; },
      "ecs.environments.prod.sizing.replicas");
  bad([](auto& j) { j["environments"]["prod"]["sizing"]["cpu_target_percent"] = 150; },
      "cpu_target_percent");
  bad(
      [](auto& j) {
        j["environments"]["qa"] = {{"sizing", {{"replicas", 2}}}};
      },
      "cpu and memory are required for environment 'qa'");
  bad([](auto& j) { j["environments"]["dev"] = nlohmann::json::array(); },
      "ecs.environments.dev: expected an object");
}

}  // namespace
}  // namespace studio::deploy::aws
