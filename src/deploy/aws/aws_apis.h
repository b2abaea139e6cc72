#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "integrations/aws/aws_client.h"

// Small typed clients for the three AWS APIs the ECS deploy target calls, over aws::Client
// (SigV4, retries of 5xx/429 and transport errors):
//   ECS                     JSON 1.1: POST /, X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>
//   Elastic Load Balancing  Query:    POST / form body Action=<Op>&Version=2015-12-01, XML answers
//   Application Auto Scaling JSON 1.1: X-Amz-Target AnyScaleFrontendService.<Op>
// Inputs are the request shapes of ecs_plan.h (nlohmann::ordered_json); AWS errors come back as
// a Status whose message starts "<API> <Op>: HTTP <status> <AWS code>: <message>".
namespace studio::deploy::aws {

using ojson = nlohmann::ordered_json;

struct ApiOptions {
  std::string region = "us-east-1";
  // scheme://host[:port]; empty: the public regional endpoint.
  std::string ecs_endpoint;
  std::string elbv2_endpoint;
  std::string autoscaling_endpoint;
  std::string monitoring_endpoint;  // CloudWatch (cloudwatch_metrics.h)
  studio::aws::Credentials credentials;
  int max_attempts = 3;
};

// The AWS error code a Status from these clients carries ("ClientException",
// "TargetGroupNotFound"), or "" when it is not an AWS error answer.
std::string AwsErrorCode(const Status& status);

// The Query protocol's member encoding of a request shape: nested structures as "A.B",
// lists as "A.member.N" (from 1), booleans as true/false. Appended to `out` in input order.
void FlattenQuery(const ojson& input, std::string_view prefix, studio::aws::QueryList& out);
// name=value&… with RFC 3986 percent-encoding (what the client sends as the form body).
std::string FormEncode(const studio::aws::QueryList& params);

struct EcsServiceState {
  std::string arn;
  std::string status;  // ACTIVE | DRAINING | INACTIVE
  int desired_count = 0;
  int running_count = 0;
  int pending_count = 0;
  std::string task_definition;
  std::string rollout_state;  // of the PRIMARY deployment: IN_PROGRESS | COMPLETED | FAILED
  std::string rollout_reason;
};

class EcsApi {
 public:
  static Result<std::unique_ptr<EcsApi>> Create(const ApiOptions& options);
  // The raw JSON 1.1 call: returns the parsed response body.
  Result<nlohmann::json> Call(std::string_view action, const ojson& input);

  Result<std::string> RegisterTaskDefinition(const ojson& input);  // → taskDefinitionArn
  Result<EcsServiceState> CreateService(const ojson& input);
  Result<EcsServiceState> UpdateService(const ojson& input);
  // nullopt when ECS reports the service MISSING.
  Result<std::optional<EcsServiceState>> DescribeService(const std::string& cluster,
                                                         const std::string& service);
  Status DeleteService(const std::string& cluster, const std::string& service, bool force);

 private:
  explicit EcsApi(std::unique_ptr<studio::aws::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<studio::aws::Client> client_;
};

struct TargetHealth {
  std::string id;
  std::string port;
  std::string state;  // initial | healthy | unhealthy | unused | draining | unavailable
  std::string reason;
};

class Elbv2Api {
 public:
  static Result<std::unique_ptr<Elbv2Api>> Create(const ApiOptions& options);
  // The raw Query call: returns the XML response body.
  Result<std::string> Call(std::string_view action, const ojson& input);

  Result<std::string> CreateTargetGroup(const ojson& input);  // → TargetGroupArn
  // nullopt when there is no target group of that name.
  Result<std::optional<std::string>> FindTargetGroup(const std::string& name);
  Result<std::vector<TargetHealth>> DescribeTargetHealth(const std::string& target_group_arn);
  // The weighted forward action of a listener's default actions (or of a rule's actions when
  // `rule_arn` is set): (target group ARN, weight) in order; empty when it forwards nowhere.
  Result<std::vector<std::pair<std::string, int>>> GetForward(const std::string& listener_arn,
                                                              const std::string& rule_arn);
  // ModifyRule when `rule_arn` is set, else ModifyListener.
  Status SetActions(const std::string& listener_arn, const std::string& rule_arn,
                    const ojson& actions);
  Status DeleteTargetGroup(const std::string& target_group_arn);

 private:
  explicit Elbv2Api(std::unique_ptr<studio::aws::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<studio::aws::Client> client_;
};

class AutoScalingApi {
 public:
  static Result<std::unique_ptr<AutoScalingApi>> Create(const ApiOptions& options);
  Result<nlohmann::json> Call(std::string_view action, const ojson& input);
  Status RegisterScalableTarget(const ojson& input);
  Status PutScalingPolicy(const ojson& input);
  // OK when no scalable target was registered.
  Status DeregisterEcsService(const std::string& resource_id);

 private:
  explicit AutoScalingApi(std::unique_ptr<studio::aws::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<studio::aws::Client> client_;
};

}  // namespace studio::deploy::aws
