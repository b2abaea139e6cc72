// Pipelines, first part (issue 6): spec validation against the control plane's node locks and
// project policy, stage lock/unlock, and the per-project policy (docs/api.md "Pipelines").
// The work is in pipelines::PipelineService.
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/router.h"
#include "pipelines/service.h"
#include "pipelines/spec.h"

namespace studio::api {
namespace {

Route Make(std::string method, std::string path, auth::Action action, std::string summary,
           bool body, std::string req_schema, std::string resp_schema, Handler h) {
  Route r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.action = action;
  r.tag = "pipelines";
  r.summary = std::move(summary);
  r.takes_body = body;
  r.success_status = 200;
  r.request_schema = std::move(req_schema);
  r.response_schema = std::move(resp_schema);
  r.handler = std::move(h);
  return r;
}

// {"spec": "<yaml text>"}: the file as it is in the repository.
Result<std::string> ReadSpec(const nlohmann::json& body) {
  BodyReader r(body);
  auto spec = r.String("spec", true, pipelines::kMaxSpecBytes);
  RETURN_IF_ERROR(r.Finish());
  return *spec;
}

}  // namespace

void AddPipelineRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  auto svc = std::make_shared<pipelines::PipelineService>(s.store);

  routes.push_back(Make(
      "POST", "/api/v1/pipelines/validate", Action::kRead,
      "Validate a studio-pipeline.yaml against the schema, the project's policy and the recorded "
      "node locks; 200 with valid=false and located errors when it does not validate",
      true, "PipelineValidateRequest", "PipelineValidation",
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(std::string spec, ReadSpec(*ctx.body));
        ASSIGN_OR_RETURN(auto out, svc->Validate(spec));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "GET", "/api/v1/pipelines/{project}/{name}/locks", Action::kRead,
      "The node locks recorded for a pipeline (project name or id, metadata.name)", false, "",
      "PipelineLockList", [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out, svc->ListLocks(ctx.req.Param("project"), ctx.req.Param("name")));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "POST", "/api/v1/pipelines/{project}/{name}/stages/{stage}/lock", Action::kLockPipelines,
      "Lock a stage at its definition in the given spec (which must validate); audit-logged", true,
      "PipelineLockRequest", "PipelineLock",
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(std::string spec, ReadSpec(*ctx.body));
        ASSIGN_OR_RETURN(auto out, svc->Lock(ctx.actor(), ctx.req.Param("project"),
                                             ctx.req.Param("name"), ctx.req.Param("stage"), spec));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "POST", "/api/v1/pipelines/{project}/{name}/stages/{stage}/unlock", Action::kLockPipelines,
      "Approve changing a locked stage until it is locked again; audit-logged", true,
      "PipelineUnlockRequest", "PipelineLock",
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        BodyReader r(*ctx.body);
        auto reason = r.String("reason", true, 1000);
        RETURN_IF_ERROR(r.Finish());
        ASSIGN_OR_RETURN(auto out,
                         svc->Unlock(ctx.actor(), ctx.req.Param("project"), ctx.req.Param("name"),
                                     ctx.req.Param("stage"), *reason));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(Make("GET", "/api/v1/projects/{id}/pipeline-policy", Action::kRead,
                        "A project's pipeline policy (whether command stages are allowed)", false,
                        "", "PipelinePolicy",
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->GetPolicy(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(
      Make("PUT", "/api/v1/projects/{id}/pipeline-policy", Action::kAdmin,
           "Set a project's pipeline policy; audit-logged", true, "PipelinePolicyUpdate",
           "PipelinePolicy", [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             BodyReader r(*ctx.body);
             auto allow = r.Bool("allow_command_stages", true);
             RETURN_IF_ERROR(r.Finish());
             ASSIGN_OR_RETURN(auto out, svc->SetPolicy(ctx.actor(), ctx.req.Param("id"), *allow));
             res.Json(200, out);
             return Status::Ok();
           }));
}

void AddPipelineSchemas(nlohmann::json& schemas) {
  using nlohmann::json;
  json str = {{"type", "string"}};
  json time = {{"type", "string"}, {"format", "date-time"}};
  json spec_body = {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "string"}, {"description", "the studio-pipeline.yaml text (at most 1 MiB)"}}}}},
      {"required", {"spec"}}};
  schemas["PipelineValidateRequest"] = spec_body;
  schemas["PipelineLockRequest"] = spec_body;
  schemas["PipelineUnlockRequest"] = {
      {"type", "object"}, {"properties", {{"reason", str}}}, {"required", {"reason"}}};
  json problem = {{"type", "object"},
                  {"properties",
                   {{"path", str},
                    {"line", {{"type", "integer"}}},
                    {"column", {{"type", "integer"}}},
                    {"message", str}}}};
  json stage = {{"type", "object"},
                {"properties",
                 {{"id", str},
                  {"type", str},
                  {"hash", str},
                  {"locked", {{"type", "boolean"}}},
                  {"lock", {{"type", "string"}, {"enum", {"none", "locked", "unlocked"}}}}}}};
  schemas["PipelineValidation"] = {{"type", "object"},
                                   {"properties",
                                    {{"valid", {{"type", "boolean"}}},
                                     {"pipeline", str},
                                     {"project", str},
                                     {"canonical", {{"type", "boolean"}}},
                                     {"errors", {{"type", "array"}, {"items", problem}}},
                                     {"warnings", {{"type", "array"}, {"items", str}}},
                                     {"stages", {{"type", "array"}, {"items", stage}}}}}};
  json lock = {
      {"type", "object"},
      {"properties",
       {{"project", str},
        {"pipeline", str},
        {"stage", str},
        {"hash", str},
        {"definition", {{"type", "object"}}},
        {"status", {{"type", "string"}, {"enum", {"locked", "unlocked"}}}},
        {"locked_by", str},
        {"locked_at", time},
        {"unlock",
         {{"type", {"object", "null"}},
          {"properties", {{"approved_by", str}, {"reason", str}, {"approved_at", time}}}}}}}};
  schemas["PipelineLock"] = lock;
  schemas["PipelineLockList"] = {{"type", "object"},
                                 {"properties", {{"items", {{"type", "array"}, {"items", lock}}}}}};
  schemas["PipelinePolicy"] = {{"type", "object"},
                               {"properties",
                                {{"project", str},
                                 {"allow_command_stages", {{"type", "boolean"}}},
                                 {"updated_by", str},
                                 {"updated_at", str}}}};
  schemas["PipelinePolicyUpdate"] = {
      {"type", "object"},
      {"properties", {{"allow_command_stages", {{"type", "boolean"}}}}},
      {"required", {"allow_command_stages"}}};
}

}  // namespace studio::api
