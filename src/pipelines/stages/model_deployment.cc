// model-deployment: requests a deployment of the version the run's model-registry stage
// registered through the deployments API (POST /api/v1/deployments) and follows it until it is
// LIVE (success) or ROLLED_BACK / FAILED / REJECTED (failure, with the reason). Waiting for
// approvals (PENDING_APPROVAL) is logged and waited out within the stage's timeout. A control
// plane without the deployments API fails the stage: never a silent success.
#include <chrono>
#include <cstdlib>
#include <thread>

#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

Status NoDeploymentsApi(const std::string& base, const HttpReply& r) {
  return Status(ErrorCode::kNotImplemented,
                "deployments API is not available on this control plane (" + base +
                    "/api/v1/deployments answered HTTP " + std::to_string(r.status) +
                    (r.error_code.empty() ? "" : " " + r.error_code) + ")");
}

// The route itself is missing: ENDPOINT_NOT_FOUND, or a 404 that is not our JSON error shape.
bool RouteMissing(const HttpReply& r) {
  return r.status == 404 && (r.error_code.empty() || r.error_code == "ENDPOINT_NOT_FOUND");
}

std::string Reason(const nlohmann::json& d) {
  for (const char* k : {"status_message", "reason", "message", "error"})
    if (d.contains(k) && d[k].is_string() && !d[k].get<std::string>().empty())
      return d[k].get<std::string>();
  return "no reason given";
}

}  // namespace

Result<nlohmann::json> RunModelDeployment(const StageContext& ctx) {
  ASSIGN_OR_RETURN(const nlohmann::json* reg, UpstreamOf(ctx, "model-registry"));
  ASSIGN_OR_RETURN(std::string model, OutputString(*reg, "model-registry", "model_name"));
  ASSIGN_OR_RETURN(std::string version, OutputString(*reg, "model-registry", "version"));
  ASSIGN_OR_RETURN(std::string environment, StringParam(ctx, "environment"));
  ASSIGN_OR_RETURN(std::string strategy, StringParam(ctx, "strategy", "direct"));
  ASSIGN_OR_RETURN(int64_t canary_percent, IntParam(ctx, "canary_percent", 0));
  if (environment.empty()) return InvalidArgument("model-deployment needs 'environment'");
  ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(ctx));

  nlohmann::json body = {{"project", ctx.project},
                         {"model", model},
                         {"version", version},
                         {"environment", environment},
                         {"strategy", strategy}};
  // Versions are numbers in the registry's native API.
  if (version.find_first_not_of("0123456789") == std::string::npos && version.size() < 18)
    body["version"] = std::stoll(version);
  if (canary_percent > 0) body["canary_percent"] = canary_percent;
  if (!ctx.run_id.empty()) body["pipeline_run_id"] = ctx.run_id;
  ASSIGN_OR_RETURN(HttpReply created, cp->Call("POST", "/api/v1/deployments", &body));
  if (RouteMissing(created) || created.status == 405) return NoDeploymentsApi(cp->base(), created);
  RETURN_IF_ERROR(ReplyStatus(created, "POST /api/v1/deployments"));
  if (!created.body.is_object() || !created.body.contains("id"))
    return Internal("POST /api/v1/deployments answered without a deployment id");
  std::string id = created.body["id"].is_string() ? created.body["id"].get<std::string>()
                                                  : created.body["id"].dump();
  Log(ctx, "deployment " + id + " of " + model + " version " + version + " to " + environment +
               " (" + strategy + ") requested");

  // Poll every STUDIO_DEPLOY_POLL_MS (default 1000) until a final status; the executor's
  // timeout bounds the wait.
  int64_t poll_ms = 1000;
  if (const char* e = std::getenv("STUDIO_DEPLOY_POLL_MS"); e && std::atoll(e) > 0)
    poll_ms = std::atoll(e);
  nlohmann::json d = created.body;
  std::string last;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(ctx.stage.timeout_seconds);
  while (true) {
    std::string status = d.value("status", "");
    if (status != last) {
      Log(ctx, "deployment " + id + ": " + (status.empty() ? "(no status)" : status) +
                   (status == "PENDING_APPROVAL" ? " — waiting for approvals" : ""));
      last = status;
    }
    if (status == "LIVE") break;
    if (status == "ROLLED_BACK" || status == "FAILED" || status == "REJECTED")
      return InvalidArgument("deployment " + id + " of " + model + " version " + version + " to " +
                             environment + " ended " + status + ": " + Reason(d));
    RETURN_IF_ERROR(CheckCancelled(ctx));
    if (std::chrono::steady_clock::now() > deadline)
      return Status(ErrorCode::kTemporarilyUnavailable,
                    "deployment " + id + " still " + status + " after the stage's timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
    ASSIGN_OR_RETURN(HttpReply got,
                     cp->Call("GET", "/api/v1/deployments/" + UrlEncode(id), nullptr));
    if (RouteMissing(got)) return NoDeploymentsApi(cp->base(), got);
    RETURN_IF_ERROR(ReplyStatus(got, "GET /api/v1/deployments/" + id));
    if (!got.body.is_object()) return Internal("GET /api/v1/deployments/" + id + ": not JSON");
    d = got.body;
  }
  return nlohmann::json{{"deployment_id", id}, {"status", "LIVE"},           {"model_name", model},
                        {"version", version},  {"environment", environment}, {"strategy", strategy},
                        {"deployment", d}};
}

}  // namespace studio::pipelines::stages::internal
