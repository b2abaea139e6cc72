#include "deploy/aws/cloudwatch_metrics.h"

#include <gtest/gtest.h>

namespace studio::deploy::aws {
namespace {

TEST(CloudWatchDimensions, FromArns) {
  auto tg = TargetGroupDimension(
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/st-churn-prod-blue/"
      "73e2d6bc24d8a067");
  ASSERT_TRUE(tg.ok());
  EXPECT_EQ(*tg, "targetgroup/st-churn-prod-blue/73e2d6bc24d8a067");
  auto lb = LoadBalancerDimension(
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/studio-prod/"
      "50dc6c495c0c9188/f2f7dc8efc522ab2");
  ASSERT_TRUE(lb.ok());
  EXPECT_EQ(*lb, "app/studio-prod/50dc6c495c0c9188");
  auto rule = LoadBalancerDimension(
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/studio-prod/"
      "50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee");
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(*rule, "app/studio-prod/50dc6c495c0c9188");
  auto alb = LoadBalancerDimension(
      "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/studio-prod/"
      "50dc6c495c0c9188");
  ASSERT_TRUE(alb.ok());
  EXPECT_EQ(*alb, "app/studio-prod/50dc6c495c0c9188");
}

TEST(CloudWatchDimensions, RejectsOtherArns) {
  EXPECT_FALSE(TargetGroupDimension("st-churn-prod-blue").ok());
  EXPECT_FALSE(TargetGroupDimension("arn:aws:ecs:us-east-1:1:service/x").ok());
  EXPECT_FALSE(LoadBalancerDimension("arn:aws:elasticloadbalancing:us-east-1:1:listener/app").ok());
  EXPECT_FALSE(LoadBalancerDimension("").ok());
}

}  // namespace
}  // namespace studio::deploy::aws
