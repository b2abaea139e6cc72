#include "orchestrator/sfn/sfn_client.h"

#include <cmath>

namespace studio::orchestrator::sfn {
namespace {

using nlohmann::json;

constexpr const char* kContentType = "application/x-amz-json-1.0";
constexpr const char* kTargetPrefix = "AWSStepFunctions.";

std::string Str(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Step Functions timestamps are epoch seconds as JSON numbers (with a fraction).
int64_t EpochMs(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number()) return 0;
  return static_cast<int64_t>(std::llround(it->get<double>() * 1000.0));
}

Status Malformed(const std::string& operation, const std::string& what) {
  return Internal("Step Functions " + operation + ": malformed response: " + what);
}

}  // namespace

Result<HistoryEvent> ParseHistoryEvent(const json& e) {
  if (!e.is_object()) return Malformed("GetExecutionHistory", "an event is not an object");
  auto id = e.find("id");
  auto type = e.find("type");
  if (id == e.end() || !id->is_number_integer() || type == e.end() || !type->is_string())
    return Malformed("GetExecutionHistory", "an event without an integer id and a type");
  HistoryEvent ev;
  ev.id = id->get<int64_t>();
  ev.type = type->get<std::string>();
  if (auto p = e.find("previousEventId"); p != e.end() && p->is_number_integer())
    ev.previous_event_id = p->get<int64_t>();
  ev.timestamp_ms = EpochMs(e, "timestamp");
  for (const auto& [key, value] : e.items()) {
    if (key.size() > 12 && key.ends_with("EventDetails") && value.is_object()) {
      ev.details = value;
      ev.name = Str(value, "name");
      ev.error = Str(value, "error");
      ev.cause = Str(value, "cause");
      break;
    }
  }
  return ev;
}

Result<std::unique_ptr<SfnClient>> SfnClient::Create(SfnClientOptions options) {
  if (options.region.empty()) return InvalidArgument("Step Functions: the region is required");
  aws::ClientOptions http;
  http.endpoint = options.endpoint.empty() ? "https://states." + options.region + ".amazonaws.com"
                                           : options.endpoint;
  http.region = options.region;
  http.service = "states";
  http.credentials = std::move(options.credentials);
  http.max_attempts = options.max_attempts;
  ASSIGN_OR_RETURN(auto client, aws::Client::Create(std::move(http)));
  return std::unique_ptr<SfnClient>(new SfnClient(std::move(client)));
}

Result<json> SfnClient::Call(const std::string& operation, const json& body) {
  ASSIGN_OR_RETURN(std::string text,
                   aws::JsonProtocolCall(*http_, kContentType, kTargetPrefix + operation,
                                         body.dump(), "Step Functions", operation));
  json doc = json::parse(text.empty() ? "{}" : text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Malformed(operation, "not a JSON object");
  return doc;
}

Result<StartExecutionResponse> SfnClient::StartExecution(const StartExecutionRequest& request) {
  if (request.state_machine_arn.empty())
    return InvalidArgument("StartExecution: the state machine ARN is required");
  json body = {{"stateMachineArn", request.state_machine_arn}};
  if (!request.name.empty()) body["name"] = request.name;
  if (!request.input.empty()) body["input"] = request.input;
  ASSIGN_OR_RETURN(json doc, Call("StartExecution", body));
  StartExecutionResponse out;
  out.execution_arn = Str(doc, "executionArn");
  out.start_ms = EpochMs(doc, "startDate");
  if (out.execution_arn.empty()) return Malformed("StartExecution", "no executionArn");
  return out;
}

Result<DescribeExecutionResponse> SfnClient::DescribeExecution(const std::string& arn) {
  if (arn.empty()) return InvalidArgument("DescribeExecution: the execution ARN is required");
  ASSIGN_OR_RETURN(json doc, Call("DescribeExecution", {{"executionArn", arn}}));
  DescribeExecutionResponse out;
  out.execution_arn = Str(doc, "executionArn");
  out.state_machine_arn = Str(doc, "stateMachineArn");
  out.name = Str(doc, "name");
  out.status = Str(doc, "status");
  out.start_ms = EpochMs(doc, "startDate");
  out.stop_ms = EpochMs(doc, "stopDate");
  out.input = Str(doc, "input");
  out.output = Str(doc, "output");
  out.error = Str(doc, "error");
  out.cause = Str(doc, "cause");
  if (out.status.empty()) return Malformed("DescribeExecution", "no status");
  return out;
}

Result<GetExecutionHistoryResponse> SfnClient::GetExecutionHistory(
    const GetExecutionHistoryRequest& r) {
  if (r.execution_arn.empty())
    return InvalidArgument("GetExecutionHistory: the execution ARN is required");
  if (r.max_results < 1 || r.max_results > 1000)
    return InvalidArgument("GetExecutionHistory: maxResults must be 1..1000");
  json body = {{"executionArn", r.execution_arn},
               {"maxResults", r.max_results},
               {"reverseOrder", r.reverse_order},
               {"includeExecutionData", r.include_execution_data}};
  if (!r.next_token.empty()) body["nextToken"] = r.next_token;
  ASSIGN_OR_RETURN(json doc, Call("GetExecutionHistory", body));
  auto events = doc.find("events");
  if (events == doc.end() || !events->is_array())
    return Malformed("GetExecutionHistory", "no events array");
  GetExecutionHistoryResponse out;
  for (const auto& e : *events) {
    ASSIGN_OR_RETURN(HistoryEvent ev, ParseHistoryEvent(e));
    out.events.push_back(std::move(ev));
  }
  out.next_token = Str(doc, "nextToken");
  return out;
}

Status SfnClient::StopExecution(const StopExecutionRequest& request) {
  if (request.execution_arn.empty())
    return InvalidArgument("StopExecution: the execution ARN is required");
  json body = {{"executionArn", request.execution_arn}};
  if (!request.error.empty()) body["error"] = request.error;
  if (!request.cause.empty()) body["cause"] = request.cause;
  return Call("StopExecution", body).status();
}

}  // namespace studio::orchestrator::sfn
