#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "integrations/aws/aws_client.h"

// The four AWS Step Functions calls the executor needs, over the JSON 1.0 protocol
// (reference deploy_cicd_aws.md §3): POST / with Content-Type application/x-amz-json-1.0,
// X-Amz-Target AWSStepFunctions.<Op>, SigV4 for the service "states". Errors come back through
// aws::ErrorFromResponse with the operation's name in front.
namespace studio::orchestrator::sfn {

struct StartExecutionRequest {
  std::string state_machine_arn;
  std::string name;   // optional; unique per state machine for 90 days
  std::string input;  // a JSON document, sent as a string
};
struct StartExecutionResponse {
  std::string execution_arn;
  int64_t start_ms = 0;
};

struct DescribeExecutionResponse {
  std::string execution_arn;
  std::string state_machine_arn;
  std::string name;
  std::string status;  // RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE
  int64_t start_ms = 0;
  int64_t stop_ms = 0;  // 0 while running
  std::string input, output;
  std::string error, cause;
};

struct GetExecutionHistoryRequest {
  std::string execution_arn;
  int max_results = 100;  // 1..1000
  bool reverse_order = false;
  bool include_execution_data = false;
  std::string next_token;
};

struct HistoryEvent {
  int64_t id = 0;
  int64_t previous_event_id = 0;
  int64_t timestamp_ms = 0;
  std::string type;  // TaskStateEntered, TaskScheduled, TaskFailed, …
  // From the event's details object, whichever it has: the state name (…StateEntered,
  // …StateExited), error and cause (…Failed, …TimedOut, …Aborted).
  std::string name;
  std::string error;
  std::string cause;
  nlohmann::json details;  // the raw "<type>EventDetails" object, or null
};

struct GetExecutionHistoryResponse {
  std::vector<HistoryEvent> events;
  std::string next_token;  // empty on the last page
};

struct StopExecutionRequest {
  std::string execution_arn;
  std::string error;  // optional, up to 256 characters
  std::string cause;  // optional, up to 32768 characters
};

struct SfnClientOptions {
  std::string region = "us-east-1";
  std::string endpoint;  // default https://states.<region>.amazonaws.com
  aws::Credentials credentials;
  int max_attempts = 3;  // for transport errors, 5xx and throttling
};

// Parses one history event ({"id", "previousEventId", "timestamp", "type", "…EventDetails"}).
Result<HistoryEvent> ParseHistoryEvent(const nlohmann::json& event);

class SfnClient {
 public:
  static Result<std::unique_ptr<SfnClient>> Create(SfnClientOptions options);

  Result<StartExecutionResponse> StartExecution(const StartExecutionRequest& request);
  Result<DescribeExecutionResponse> DescribeExecution(const std::string& execution_arn);
  // One page.
  Result<GetExecutionHistoryResponse> GetExecutionHistory(const GetExecutionHistoryRequest& r);
  Status StopExecution(const StopExecutionRequest& request);

  // The JSON 1.0 call itself: the response document of a 2xx.
  Result<nlohmann::json> Call(const std::string& operation, const nlohmann::json& body);

  const std::string& endpoint() const { return http_->options().endpoint; }

 private:
  explicit SfnClient(std::unique_ptr<aws::Client> http) : http_(std::move(http)) {}
  std::unique_ptr<aws::Client> http_;
};

}  // namespace studio::orchestrator::sfn
