// Pipeline registration and runs (issue 6, "Local executor"; docs/api.md "Pipeline runs"):
// registered specs with versions, start/list/get/cancel runs, the stage processes' report
// endpoint and attempt logs (followed while they grow). The scheduler that executes runs is
// created here and started once the server listens (it gives stage processes its URL).
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "api/internal/route_maker.h"
#include "api/json_body.h"
#include "api/router.h"
#include "integrations/aws/sigv4.h"
#include "orchestrator/remote_runner.h"
#include "orchestrator/run_service.h"
#include "orchestrator/scheduler.h"
#include "orchestrator/sfn/sfn_executor.h"
#include "pipelines/spec.h"

namespace studio::api {
namespace {

const RouteMaker Make([](const std::string& path) -> std::string {
  return path.rfind("/api/v1/runs", 0) == 0 ? "runs" : "pipelines";
});

Result<int> PositiveInt(const std::string& field, const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 1 || v > 1'000'000)
    return InvalidArgument(field + " must be a positive integer")
        .WithDetail(field, "a positive integer");
  return static_cast<int>(v);
}

std::string Bearer(const HttpRequest& req) {
  std::string h = req.Header("authorization");
  if (h.size() > 7 && (h.rfind("Bearer ", 0) == 0 || h.rfind("bearer ", 0) == 0))
    return h.substr(7);
  return "";
}

}  // namespace

Status AddRunRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  if (s.config.executor == "workers" && s.store.backend() != "postgresql")
    return InvalidArgument(
               "executor: workers needs a PostgreSQL store (studio worker claims from it); with "
               "SQLite use executor: embedded")
        .WithDetail("executor", "workers needs PostgreSQL");
  orchestrator::SchedulerOptions o;
  o.store = &s.store;
  o.artifacts = s.artifacts;
  o.metrics = &s.metrics;
  o.data_dir = s.config.data_dir;
  o.artifacts_uri = s.config.ArtifactsUri();
  o.mode = s.config.executor == "workers" ? orchestrator::SchedulerMode::kSchedulerOnly
                                          : orchestrator::SchedulerMode::kEmbedded;
  o.max_parallel = s.config.max_parallel_stages;
  // The test suite's hooks (sleeps, forced failures) reach stage processes only when asked.
  const char* hooks = std::getenv("STUDIO_TEST_HOOKS");
  o.test_hooks = hooks && std::string(hooks) == "1";
  if (const char* stale = std::getenv("STUDIO_TEST_STALE_AFTER_MS"); stale && o.test_hooks)
    o.stale_after_ms = std::atoll(stale);
  ASSIGN_OR_RETURN(std::shared_ptr<orchestrator::Scheduler> sched,
                   orchestrator::Scheduler::Create(std::move(o)));
  s.on_listening.push_back([sched](const std::string& base_url) { sched->Start(base_url); });
  auto svc = std::make_shared<orchestrator::RunService>(
      s.store, s.artifacts, [sched](const std::string& run_id) { sched->Notify(run_id); });

  // `executor: aws` runs go to Step Functions when a state machine is configured (one made by
  // `studio pipeline export-asl` for this pipeline shape).
  if (const char* arn = std::getenv("STUDIO_SFN_STATE_MACHINE_ARN"); arn && *arn) {
    orchestrator::sfn::SfnExecutorOptions eo;
    eo.state_machine_arn = arn;
    if (const char* region = std::getenv("AWS_REGION"); region && *region)
      eo.client.region = region;
    if (const char* endpoint = std::getenv("STUDIO_SFN_ENDPOINT"); endpoint && *endpoint)
      eo.client.endpoint = endpoint;
    ASSIGN_OR_RETURN(eo.client.credentials, aws::CredentialsFromEnv());
    ASSIGN_OR_RETURN(auto executor, orchestrator::sfn::SfnExecutor::Create(std::move(eo)));
    orchestrator::RemoteRunnerOptions ro;
    ro.store = &s.store;
    ro.executor = std::move(executor);
    if (const char* poll = std::getenv("STUDIO_SFN_POLL_MS"); poll && *poll)
      ro.poll_ms = std::max<int64_t>(50, std::atoll(poll));
    ASSIGN_OR_RETURN(std::shared_ptr<orchestrator::RemoteRunner> remote,
                     orchestrator::RemoteRunner::Create(std::move(ro)));
    s.on_listening.push_back([remote](const std::string&) { remote->Start(); });
    svc->EnableRemote([remote] { remote->Notify(); });
  }

  // -- registered pipelines
  routes.push_back(Make(
      "POST", "/api/v1/projects/{id}/pipelines", Action::kCreate,
      "Register a pipeline spec (it must validate, node locks included) as the next version of "
      "its pipeline; an unchanged spec returns the latest version (created=false)",
      true, 201, "PipelineRegisterRequest", "PipelineSpecVersion", {},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        BodyReader r(*ctx.body);
        auto spec = r.String("spec", true, pipelines::kMaxSpecBytes);
        RETURN_IF_ERROR(r.Finish());
        ASSIGN_OR_RETURN(auto out, svc->RegisterSpec(ctx.actor(), ctx.req.Param("id"), *spec));
        res.Json(out.value("created", false) ? 201 : 200, out);
        return Status::Ok();
      }));
  routes.push_back(Make("GET", "/api/v1/projects/{id}/pipelines", Action::kRead,
                        "Registered pipelines of a project (the latest version of each)", false,
                        200, "", "PipelineSpecList", {},
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->ListSpecs(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "GET", "/api/v1/projects/{id}/pipelines/{name}", Action::kRead,
      "A registered pipeline's latest version, with its spec", false, 200, "",
      "PipelineSpecVersion", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out, svc->GetSpec(ctx.req.Param("id"), ctx.req.Param("name"), 0));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(
      Make("GET", "/api/v1/projects/{id}/pipelines/{name}/versions", Action::kRead,
           "Every version of a registered pipeline, newest first", false, 200, "",
           "PipelineSpecList", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(auto out,
                              svc->ListSpecVersions(ctx.req.Param("id"), ctx.req.Param("name")));
             res.Json(200, out);
             return Status::Ok();
           }));
  routes.push_back(Make(
      "GET", "/api/v1/projects/{id}/pipelines/{name}/versions/{version}", Action::kRead,
      "One version of a registered pipeline, with its spec", false, 200, "", "PipelineSpecVersion",
      {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(int v, PositiveInt("version", ctx.req.Param("version")));
        ASSIGN_OR_RETURN(auto out, svc->GetSpec(ctx.req.Param("id"), ctx.req.Param("name"), v));
        res.Json(200, out);
        return Status::Ok();
      }));

  // -- runs
  routes.push_back(Make(
      "POST", "/api/v1/runs", Action::kCreate,
      "Start a pipeline run: a registered pipeline (and version) or a spec (registered as a new "
      "version when it changed); 202 with the run, which clients poll",
      true, 202, "RunCreate", "Run", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        BodyReader r(*ctx.body);
        orchestrator::RunService::StartRequest req;
        auto project = r.String("project", false, 200);
        auto pipeline = r.String("pipeline", false, 63);
        auto version = r.Int("version", false, 1, 1'000'000);
        auto spec = r.String("spec", false, pipelines::kMaxSpecBytes);
        auto git_sha = r.String("git_sha", false, 64);
        auto executor = r.String("executor", false, 16);
        auto noop = r.Bool("noop", false);
        RETURN_IF_ERROR(r.Finish());
        req.project = project.value_or("");
        req.pipeline = pipeline.value_or("");
        req.version = static_cast<int>(version.value_or(0));
        req.spec_yaml = spec.value_or("");
        req.git_sha = git_sha.value_or("");
        req.executor = executor.value_or("local");
        req.noop = noop.value_or(false);
        if (!req.pipeline.empty() && req.project.empty())
          return InvalidArgument("project is required with pipeline")
              .WithDetail("project", "required with pipeline");
        if (version && req.pipeline.empty())
          return InvalidArgument("version needs pipeline").WithDetail("version", "needs pipeline");
        ASSIGN_OR_RETURN(auto out, svc->StartRun(ctx.actor(), req));
        res.Json(202, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "GET", "/api/v1/runs", Action::kRead, "List pipeline runs, newest first", false, 200, "",
      "RunList", {"project", "status", "max_results", "page_token"},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
        ASSIGN_OR_RETURN(auto out, svc->ListRuns(ctx.req.Query("project"), ctx.req.Query("status"),
                                                 page.after, page.max_results));
        res.Json(200, ListResponse(std::move(out["items"]), out.value("last", "")));
        return Status::Ok();
      }));
  routes.push_back(Make("GET", "/api/v1/runs/{id}", Action::kRead,
                        "A run with its spec snapshot and stages (attempts, outputs, durations)",
                        false, 200, "", "Run", {},
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->GetRun(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "POST", "/api/v1/runs/{id}/cancel", Action::kCreate,
      "Cancel a run: waiting stages are cancelled, running stage processes killed (their whole "
      "process group); 409 when the run already finished",
      true, 202, "", "Run", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        BodyReader r(*ctx.body);
        RETURN_IF_ERROR(r.Finish());
        ASSIGN_OR_RETURN(auto out, svc->Cancel(ctx.actor(), ctx.req.Param("id")));
        res.Json(202, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "POST", "/api/v1/runs/{id}/stages/{stage}/report", Action::kRead,
      "For `studio run-stage`: the outcome and outputs of the running attempt; only that "
      "attempt's own short-lived token may call it",
      true, 204, "StageReport", "", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        // outputs is free-form JSON; the other fields are typed and unknown ones refused.
        nlohmann::json rest = *ctx.body;
        rest.erase("outputs");
        BodyReader r(rest);
        auto attempt = r.Int("attempt", true, 1, 1000);
        auto status = r.String("status", true, 16);
        auto error = r.String("error", false, 8192);
        const nlohmann::json* outputs = nullptr;
        if (ctx.body->contains("outputs")) {
          outputs = &(*ctx.body)["outputs"];
          if (!outputs->is_object()) r.Problem("outputs", "must be an object");
        }
        RETURN_IF_ERROR(r.Finish());
        orchestrator::RunService::Report rep;
        rep.attempt = static_cast<int>(*attempt);
        rep.status = *status;
        rep.error = error.value_or("");
        if (outputs) rep.outputs = *outputs;
        RETURN_IF_ERROR(
            svc->ReportStage(ctx.req.Param("id"), ctx.req.Param("stage"), Bearer(ctx.req), rep));
        res.NoContent();
        return Status::Ok();
      }));
  routes.push_back(Make(
      "GET", "/api/v1/runs/{id}/stages/{stage}/logs", Action::kRead,
      "An attempt's log (text/plain; the latest attempt unless attempt=N); follow=1 streams the "
      "growing log until the attempt ends (chunked)",
      false, 200, "", "", {"attempt", "follow"},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        int attempt = 0;
        if (ctx.req.HasQuery("attempt")) {
          ASSIGN_OR_RETURN(attempt, PositiveInt("attempt", ctx.req.Query("attempt")));
        }
        std::string follow = ctx.req.Query("follow");
        if (!follow.empty() && follow != "0" && follow != "1" && follow != "true" &&
            follow != "false")
          return InvalidArgument("follow must be 0 or 1").WithDetail("follow", "0 | 1");
        bool f = follow == "1" || follow == "true";
        std::string run = ctx.req.Param("id"), stage = ctx.req.Param("stage");
        RETURN_IF_ERROR(svc->CheckLog(run, stage, attempt));
        res.status = 200;
        res.content_type = "text/plain; charset=utf-8";
        res.stream = [svc, run, stage, attempt,
                      f](const std::function<bool(std::string_view)>& write) -> Status {
          return svc->StreamLog(run, stage, attempt, f, write);
        };
        return Status::Ok();
      }));
  return Status::Ok();
}

void AddRunSchemas(nlohmann::json& schemas) {
  using nlohmann::json;
  json str = {{"type", "string"}};
  json time = {{"type", {"string", "null"}}, {"format", "date-time"}};
  json integer = {{"type", "integer"}};
  json nint = {{"type", {"integer", "null"}}};
  schemas["PipelineRegisterRequest"] = {
      {"type", "object"},
      {"properties",
       {{"spec",
         {{"type", "string"}, {"description", "the studio-pipeline.yaml text (at most 1 MiB)"}}}}},
      {"required", {"spec"}}};
  json version = {{"type", "object"},
                  {"properties",
                   {{"project", str},
                    {"name", str},
                    {"version", integer},
                    {"spec_hash", str},
                    {"created_by", str},
                    {"created_at", str},
                    {"spec_yaml", str},
                    {"created", {{"type", "boolean"}}}}}};
  schemas["PipelineSpecVersion"] = version;
  schemas["PipelineSpecList"] = {
      {"type", "object"}, {"properties", {{"items", {{"type", "array"}, {"items", version}}}}}};
  schemas["RunCreate"] = {
      {"type", "object"},
      {"properties",
       {{"project", {{"type", "string"}, {"description", "project name or id"}}},
        {"pipeline", {{"type", "string"}, {"description", "a registered pipeline"}}},
        {"version", {{"type", "integer"}, {"description", "default: the latest"}}},
        {"spec", {{"type", "string"}, {"description", "YAML text instead of pipeline"}}},
        {"git_sha", str},
        {"executor", {{"type", "string"}, {"enum", {"local", "aws"}}}},
        {"noop", {{"type", "boolean"}, {"description", "skip stage bodies"}}}}}};
  json attempt = {
      {"type", "object"},
      {"properties",
       {{"attempt", integer},
        {"status",
         {{"type", "string"},
          {"enum", {"running", "succeeded", "failed", "timed_out", "cancelled", "interrupted"}}}},
        {"claimed_by", str},
        {"started_at", time},
        {"finished_at", time},
        {"duration_ms", nint},
        {"exit_code", nint},
        {"error", str},
        {"log_path", str}}}};
  json stage = {
      {"type", "object"},
      {"properties",
       {{"id", str},
        {"type", str},
        {"needs", {{"type", "array"}, {"items", str}}},
        {"status",
         {{"type", "string"},
          {"enum",
           {"pending", "queued", "running", "succeeded", "failed", "cancelled", "skipped"}}}},
        {"attempt", integer},
        {"max_attempts", integer},
        {"next_attempt_at", time},
        {"claimed_by", str},
        {"started_at", time},
        {"finished_at", time},
        {"duration_ms", nint},
        {"exit_code", nint},
        {"error", str},
        {"outputs", {{"type", "object"}}},
        {"attempts", {{"type", "array"}, {"items", attempt}}}}}};
  json run = {
      {"type", "object"},
      {"properties",
       {{"id", str},
        {"project", str},
        {"project_id", str},
        {"pipeline", str},
        {"version", integer},
        {"status",
         {{"type", "string"}, {"enum", {"queued", "running", "succeeded", "failed", "cancelled"}}}},
        {"executor", str},
        {"execution_handle", str},
        {"requested_by", str},
        {"git_sha", str},
        {"noop", {{"type", "boolean"}}},
        {"cancel_requested", {{"type", "boolean"}}},
        {"created_at", str},
        {"started_at", time},
        {"finished_at", time},
        {"duration_ms", nint},
        {"error", str},
        {"spec_yaml", {{"type", "string"}, {"description", "GET /runs/{id} only"}}},
        {"stages",
         {{"type", "array"}, {"items", stage}, {"description", "GET /runs/{id} only"}}}}}};
  schemas["Run"] = run;
  schemas["RunList"] = {
      {"type", "object"},
      {"properties", {{"items", {{"type", "array"}, {"items", run}}}, {"next_page_token", str}}}};
  schemas["StageReport"] = {{"type", "object"},
                            {"properties",
                             {{"attempt", integer},
                              {"status", {{"type", "string"}, {"enum", {"succeeded", "failed"}}}},
                              {"outputs", {{"type", "object"}}},
                              {"error", str}}},
                            {"required", {"attempt", "status"}}};
}

}  // namespace studio::api
