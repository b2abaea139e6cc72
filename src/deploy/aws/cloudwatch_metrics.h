#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "deploy/aws/aws_apis.h"
#include "deploy/target.h"

// Per-slot traffic figures on ECS: the ALB's target group metrics in CloudWatch
// (namespace AWS/ApplicationELB), read with GetMetricData (Query protocol, Version 2010-08-01,
// signing name "monitoring").
namespace studio::deploy::aws {

// "targetgroup/NAME/ID" from a target group ARN (CloudWatch's TargetGroup dimension).
Result<std::string> TargetGroupDimension(const std::string& target_group_arn);
// "app/NAME/ID" from a listener, listener rule or load balancer ARN (the LoadBalancer dimension).
Result<std::string> LoadBalancerDimension(const std::string& arn);

class CloudWatchApi {
 public:
  static Result<std::unique_ptr<CloudWatchApi>> Create(const ApiOptions& options);
  Result<std::string> Call(std::string_view action, const ojson& input);

  // One GetMetricData over [start, end) (whole minutes, one period): RequestCount,
  // HTTPCode_Target_5XX_Count and TargetConnectionErrorCount (sums; errors = the last two) and
  // TargetResponseTime p50 / p99 (seconds → ms).
  Result<SlotMetrics> TargetGroupMetrics(const std::string& target_group_arn,
                                         const std::string& listener_arn, int64_t start_epoch_s,
                                         int64_t end_epoch_s);

 private:
  explicit CloudWatchApi(std::unique_ptr<studio::aws::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<studio::aws::Client> client_;
};

}  // namespace studio::deploy::aws
