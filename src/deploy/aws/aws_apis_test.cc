#include "deploy/aws/aws_apis.h"

#include <gtest/gtest.h>

#include "deploy/aws/ecs_plan.h"

namespace studio::deploy::aws {
namespace {

TEST(QueryProtocol, FlattensTheWeightedForwardActionLikeBotocore) {
  ojson in = {{"ListenerArn", "arn:l"},
              {"DefaultActions", ForwardActions({{"arn:blue", 0}, {"arn:green", 100}})}};
  studio::aws::QueryList q = {{"Action", "ModifyListener"}, {"Version", "2015-12-01"}};
  FlattenQuery(in, "", q);
  // botocore's QuerySerializer gives these pairs for the same parameters.
  studio::aws::QueryList want = {
      {"Action", "ModifyListener"},
      {"Version", "2015-12-01"},
      {"ListenerArn", "arn:l"},
      {"DefaultActions.member.1.Type", "forward"},
      {"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn", "arn:blue"},
      {"DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight", "0"},
      {"DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn", "arn:green"},
      {"DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight", "100"},
      {"DefaultActions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled", "false"},
  };
  EXPECT_EQ(q, want);
  EXPECT_EQ(FormEncode({{"ListenerArn", "arn:aws:x/a b+c"}, {"Names.member.1", "n~_.-"}}),
            "ListenerArn=arn%3Aaws%3Ax%2Fa%20b%2Bc&Names.member.1=n~_.-");
}

TEST(QueryProtocol, ScalarsNestedStructsAndEmptyLists) {
  ojson in = {{"Matcher", {{"HttpCode", "200"}}},
              {"Port", 8080},
              {"HealthCheckEnabled", true},
              {"Ratio", 0.5},
              {"Skip", nullptr},
              {"Names", ojson::array()}};
  studio::aws::QueryList q;
  FlattenQuery(in, "", q);
  studio::aws::QueryList want = {{"Matcher.HttpCode", "200"},
                                 {"Port", "8080"},
                                 {"HealthCheckEnabled", "true"},
                                 {"Ratio", "0.5"},
                                 {"Names", ""}};
  EXPECT_EQ(q, want);
}

TEST(AwsErrorCode, ReadsTheCodeOfClientErrors) {
  EXPECT_EQ(AwsErrorCode(Status(ErrorCode::kBadRequest,
                                "ELBv2 DeleteTargetGroup: HTTP 400 ResourceInUse: in use (request "
                                "id 1)")),
            "ResourceInUse");
  EXPECT_EQ(
      AwsErrorCode(Status(ErrorCode::kBadRequest, "ECS CreateService: HTTP 400 ClientException")),
      "ClientException");
  EXPECT_EQ(AwsErrorCode(Status(ErrorCode::kBadRequest, "ECS CreateService: HTTP 400")), "");
  EXPECT_EQ(AwsErrorCode(Status(ErrorCode::kTemporarilyUnavailable, "connection refused")), "");
  EXPECT_EQ(AwsErrorCode(Status::Ok()), "");
}

TEST(Apis, RejectBadEndpoints) {
  ApiOptions o;
  o.ecs_endpoint = "ftp://x";
  EXPECT_FALSE(EcsApi::Create(o).ok());
  o.ecs_endpoint = "http://127.0.0.1:1/path";
  EXPECT_FALSE(EcsApi::Create(o).ok());
  o.region.clear();
  EXPECT_FALSE(Elbv2Api::Create(o).ok());
}

}  // namespace
}  // namespace studio::deploy::aws
