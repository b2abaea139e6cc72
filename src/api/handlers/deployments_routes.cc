// Deployments (issue 7): environments and their policies, deployments with approvals and
// rollback, and the traffic router at /serve/{project}/{environment}/... (docs/deployments.md).
// The work is in deploy::DeployService (state machine, controller) and deploy::LocalTarget.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/internal/route_maker.h"
#include "api/json_body.h"
#include "api/router.h"
#include "auth/identity.h"
#include "common/log.h"
#include "deploy/aws/ecs_config.h"
#include "deploy/aws/ecs_target.h"
#include "deploy/local_target.h"
#include "deploy/service.h"
#include "store/deployments_repo.h"
#include "store/models_repo.h"
#include "store/users_repo.h"

namespace studio::api {
namespace {

constexpr size_t kMaxServeBody = 64u << 20;  // what serve-model accepts by default

// Owns the target and the service; Stop() order: controller flag, slots, drivers.
struct Deployments {
  std::unique_ptr<deploy::LocalTarget> target;   // the embedded default (and the router)
  std::unique_ptr<deploy::DeployTarget> remote;  // STUDIO_DEPLOY_TARGET=ecs
  std::unique_ptr<deploy::DeployService> service;
  ~Deployments() {
    if (service) service->Stop();
    service.reset();
    target.reset();
    remote.reset();
  }
};

// STUDIO_DEPLOY_TARGET=ecs with STUDIO_DEPLOY_ECS_CONFIG naming the ECS target's JSON document
// (deploy/aws/ecs_config.h, the same one `studio deploy-plan --infra` reads). Credentials:
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (docs/aws-deploy.md).
Result<std::unique_ptr<deploy::DeployTarget>> EcsTargetFromConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read STUDIO_DEPLOY_ECS_CONFIG '" + path + "'");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return InvalidArgument(path + ": not valid JSON");
  auto options = deploy::aws::EcsTargetOptionsFromJson(j);
  if (!options.ok()) return InvalidArgument(path + ": " + options.status().message());
  ASSIGN_OR_RETURN(auto t, deploy::aws::EcsTarget::Create(std::move(*options)));
  return std::unique_ptr<deploy::DeployTarget>(std::move(t));
}

const RouteMaker Make([](const std::string& path) -> std::string {
  if (path.rfind("/api/v1/environments", 0) == 0) return "environments";
  if (path.rfind("/serve/", 0) == 0) return "serving router";
  return "deployments";
});

deploy::Caller CallerOf(const RequestContext& ctx) { return {ctx.principal, ctx.request_id}; }

Result<deploy::DeployRequest> ReadDeployRequest(const nlohmann::json& body) {
  nlohmann::json b = body;
  // Versions travel as strings (MLflow), but pipeline specs may write a number.
  if (b.contains("version") && b["version"].is_number_integer())
    b["version"] = std::to_string(b["version"].get<int64_t>());
  BodyReader r(b);
  deploy::DeployRequest out;
  out.project = r.String("project", false, 256).value_or("");
  out.model = r.String("model", true, 256).value_or("");
  out.version = r.String("version", false, 32).value_or("");
  out.alias = r.String("alias", false, 256).value_or("");
  out.environment = r.String("environment", true, 64).value_or("");
  out.strategy = r.String("strategy", false, 32).value_or("");
  out.pipeline_run_id = r.String("pipeline_run_id", false, 128).value_or("");
  out.canary_percent = static_cast<int>(r.Int("canary_percent", false, 1, 99).value_or(0));
  if (b.contains("version") && b.contains("alias"))
    r.Problem("version", "give exactly one of version and alias");
  else if (!b.contains("version") && !b.contains("alias"))
    r.Problem("version", "required (or alias)");
  RETURN_IF_ERROR(r.Finish());
  return out;
}

Status ReadComment(const nlohmann::json& body, const std::string& field, std::string* out) {
  BodyReader r(body);
  *out = r.String(field, false, 2000).value_or("");
  return r.Finish();
}

std::string RegistryHost(const std::string& host) {
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "localhost") return "127.0.0.1";
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

}  // namespace

void AddDeploymentRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  auto holder = std::make_shared<Deployments>();
  store::MetadataStore* store = &s.store;
  auth::Identity* identity = &s.identity;
  Services* services = &s;

  deploy::LocalTarget::Options to;
  to.registry_url = [services]() -> std::string {
    int port = services->bound_port.load();
    return port ? "http://" + RegistryHost(services->config.host) + ":" + std::to_string(port)
                : std::string();
  };
  // serve-model downloads the version with a token of the deployment's requester (1 day).
  to.token = [store, identity](const deploy::TargetScope& scope,
                               const deploy::SlotSpec& slot) -> Result<std::string> {
    std::string requester;
    RETURN_IF_ERROR(store->Read([&](store::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(auto d, store::Deployments(tx).Get(scope.deployment_id));
      requester = d.requested_by;
      return Status::Ok();
    }));
    ASSIGN_OR_RETURN(auto user, identity->GetUser(requester));
    ASSIGN_OR_RETURN(auto issued,
                     identity->IssueToken(
                         {"system", "deploy-" + scope.deployment_id}, auth::ToPrincipal(user),
                         "deploy " + scope.project + "/" + scope.environment + " " + slot.name, 1));
    return issued.secret;
  };
  // Test-only fault injection (docs/deployments.md): with STUDIO_DEPLOY_TEST_FAULTS=1 in the
  // control plane's environment, a version tagged studio.test.fail_ratio=R is served with
  // `serve-model --fail-ratio R` (that share of predictions answers 500).
  const char* faults = std::getenv("STUDIO_DEPLOY_TEST_FAULTS");
  if (faults && std::string(faults) == "1") {
    log::Warn("deployment fault injection is on (STUDIO_DEPLOY_TEST_FAULTS=1): for tests only");
    to.extra_args = [store](const deploy::TargetScope&,
                            const deploy::SlotSpec& slot) -> std::vector<std::string> {
      std::vector<std::string> args;
      (void)store->Read([&](store::Tx& tx) -> Status {
        store::Models models(tx);
        ASSIGN_OR_RETURN(auto m, models.GetModel(slot.model_name));
        ASSIGN_OR_RETURN(auto v, models.GetVersion(m, std::stoll(slot.model_version)));
        std::vector<store::ModelVersionRecord> list{v};
        RETURN_IF_ERROR(models.LoadVersionExtras(list));
        auto it = list[0].tags.find("studio.test.fail_ratio");
        if (it != list[0].tags.end()) args = {"--fail-ratio", it->second};
        return Status::Ok();
      });
      return args;
    };
  }
  if (!s.config.data_dir.empty())
    to.log_dir = (std::filesystem::path(s.config.data_dir) / "logs" / "deploy").string();
  to.metrics = &s.metrics;
  auto target = deploy::LocalTarget::Create(std::move(to));
  if (!target.ok()) {
    log::Error("deployments are unavailable: cannot create the local target",
               {{"error", target.status().message()}});
    return;
  }
  holder->target = std::move(*target);
  deploy::DeployService::Options so;
  so.store = store;
  so.target = holder->target.get();
  const char* kind = std::getenv("STUDIO_DEPLOY_TARGET");
  if (kind && std::string(kind) == "ecs") {
    const char* cfg = std::getenv("STUDIO_DEPLOY_ECS_CONFIG");
    auto ecs = EcsTargetFromConfig(cfg ? cfg : "");
    if (!ecs.ok()) {
      log::Error("deployments are unavailable: the ECS target cannot be configured",
                 {{"error", ecs.status().message()}});
      return;
    }
    holder->remote = std::move(*ecs);
    so.target = holder->remote.get();
    log::Info("deployments drive the ECS target (STUDIO_DEPLOY_TARGET=ecs)");
  }
  so.ready = [services] { return services->bound_port.load() != 0; };
  deploy::LocalTarget* raw_target = holder->target.get();
  so.before_join = [raw_target] { raw_target->Shutdown(); };
  auto svc = deploy::DeployService::Create(std::move(so));
  if (!svc.ok()) {
    log::Error("deployments are unavailable", {{"error", svc.status().message()}});
    return;
  }
  holder->service = std::move(*svc);
  holder->service->Start();
  deploy::DeployService* dep = holder->service.get();

  // -- environments
  routes.push_back(Make("GET", "/api/v1/environments", Action::kRead,
                        "Environments (dev, staging, prod) with their promotion policies", false,
                        200, "", "EnvironmentList", {},
                        [holder, dep](RequestContext&, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, dep->ListEnvironments());
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make("GET", "/api/v1/environments/{name}", Action::kRead,
                        "One environment and its policy", false, 200, "", "Environment", {},
                        [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, dep->GetEnvironment(ctx.req.Param("name")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "PUT", "/api/v1/environments/{name}", Action::kAdmin,
      "Change an environment's policy (admin; fields not sent keep their values; audit-logged). "
      "Applies to deployments requested afterwards",
      true, 200, "EnvironmentPolicy", "Environment", {},
      [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out,
                         dep->PutEnvironment(CallerOf(ctx), ctx.req.Param("name"), *ctx.body));
        res.Json(200, out);
        return Status::Ok();
      }));

  // -- deployments
  routes.push_back(Make(
      "POST", "/api/v1/deployments", Action::kRead,
      "Deploy a model version (or alias) to an environment; 202 with status PENDING_APPROVAL or "
      "DEPLOYING. Needs deploy_<environment>; 409 while another deployment of the project's "
      "environment is in progress",
      true, 202, "DeploymentCreate", "Deployment", {},
      [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto req, ReadDeployRequest(*ctx.body));
        ASSIGN_OR_RETURN(auto out, dep->CreateDeployment(CallerOf(ctx), req));
        res.Json(202, out);
        res.headers.emplace_back("Location", "/api/v1/deployments/" + out["id"].get<std::string>());
        return Status::Ok();
      }));
  routes.push_back(Make(
      "GET", "/api/v1/deployments", Action::kRead, "List deployments, newest first", false, 200, "",
      "DeploymentList", {"project", "environment", "status", "max_results", "page_token"},
      [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
        deploy::ListRequest r;
        r.project = ctx.req.Query("project");
        r.environment = ctx.req.Query("environment");
        r.status = ctx.req.Query("status");
        r.after = page.after;
        r.max_results = page.max_results;
        ASSIGN_OR_RETURN(auto out, dep->List(r));
        res.Json(200, ListResponse(std::move(out["items"]), out.value("last", "")));
        return Status::Ok();
      }));
  routes.push_back(Make("GET", "/api/v1/deployments/{id}", Action::kRead,
                        "A deployment with its approvals, weights, live per-slot metrics and "
                        "full event history",
                        false, 200, "", "Deployment", {},
                        [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, dep->Get(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  for (bool approve : {true, false}) {
    routes.push_back(
        Make("POST", std::string("/api/v1/deployments/{id}/") + (approve ? "approve" : "reject"),
             Action::kRead,
             approve ? "Approve a deployment waiting for approval (permission approve; not the "
                       "requester; once per person). The last required approval starts it"
                     : "Reject a deployment waiting for approval (permission approve; not the "
                       "requester); it ends REJECTED",
             true, 200, "DeploymentDecision", "Deployment", {},
             [holder, dep, approve](RequestContext& ctx, HttpResponse& res) -> Status {
               std::string comment;
               RETURN_IF_ERROR(ReadComment(*ctx.body, "comment", &comment));
               ASSIGN_OR_RETURN(auto out,
                                dep->Decide(CallerOf(ctx), ctx.req.Param("id"), approve, comment));
               res.Json(200, out);
               return Status::Ok();
             }));
  }
  routes.push_back(Make(
      "POST", "/api/v1/deployments/{id}/rollback", Action::kRead,
      "Roll back: an in-flight deployment returns traffic to the previous version (ROLLED_BACK); "
      "a LIVE one is replaced by the version it replaced. Needs deploy_<environment>",
      true, 202, "DeploymentRollback", "Deployment", {},
      [holder, dep](RequestContext& ctx, HttpResponse& res) -> Status {
        std::string reason;
        RETURN_IF_ERROR(ReadComment(*ctx.body, "reason", &reason));
        ASSIGN_OR_RETURN(auto out, dep->Rollback(CallerOf(ctx), ctx.req.Param("id"), reason));
        res.Json(202, out);
        return Status::Ok();
      }));

  // -- the router: /serve/{project}/{environment}/<serving path>
  deploy::LocalTarget* router = holder->target.get();
  auto forward = [holder, router](RequestContext& ctx, HttpResponse& res) -> Status {
    const std::string& project = ctx.req.Param("project");
    const std::string& env = ctx.req.Param("environment");
    deploy::ForwardRequest fr;
    fr.method = ctx.req.method;
    // The raw path keeps its percent-encoding; only the prefix is replaced.
    size_t at = ctx.req.path.find('/', std::string("/serve/").size());
    at = at == std::string::npos ? std::string::npos : ctx.req.path.find('/', at + 1);
    fr.path = at == std::string::npos ? "/" : ctx.req.path.substr(at);
    fr.content_type = ctx.req.Header("content-type");
    fr.accept = ctx.req.Header("accept");
    fr.request_id = ctx.request_id;
    if (ctx.req.read_body) {
      bool too_large = false;
      bool ok = ctx.req.read_body([&](const char* data, size_t n) {
        if (fr.body.size() + n > kMaxServeBody) {
          too_large = true;
          return false;
        }
        fr.body.append(data, n);
        return true;
      });
      if (too_large) return Status(ErrorCode::kPayloadTooLarge, "request body exceeds 64 MiB");
      if (!ok) return Status(ErrorCode::kBadRequest, "the request body could not be read");
    }
    deploy::ForwardResponse out = router->Forward(project, env, fr);
    res.status = out.status;
    res.body = std::move(out.body);
    res.content_type = out.content_type.empty() ? "application/json" : out.content_type;
    if (!out.slot.empty()) {
      res.headers.emplace_back("X-Studio-Slot", out.slot);
      res.headers.emplace_back("X-Studio-Model-Version", out.version);
    }
    return Status::Ok();
  };
  const std::string base = "/serve/{project}/{environment}";
  for (const char* p : {"/predict", "/invocations", "/v2/models/{model}/infer",
                        "/v2/models/{model}/versions/{version}/infer"}) {
    Route r =
        Make("POST", base + p, Action::kRead,
             std::string("Router: POST ") + p + " on the environment's live slots, split by weight",
             false, 200, "", "", {}, forward);
    r.stream_body = true;
    routes.push_back(std::move(r));
  }
  for (const char* p : {"/health", "/ready", "/ping", "/v2", "/v2/health/live", "/v2/health/ready",
                        "/v2/models/{model}", "/v2/models/{model}/ready",
                        "/v2/models/{model}/versions/{version}"}) {
    routes.push_back(Make("GET", base + p, Action::kRead,
                          std::string("Router: GET ") + p + " from one of the live slots", false,
                          200, "", "", {}, forward));
  }
}

void AddDeploymentSchemas(nlohmann::json& schemas) {
  using nlohmann::json;
  json str = {{"type", "string"}};
  json integer = {{"type", "integer"}};
  json number = {{"type", "number"}};
  json time = {{"type", "string"}, {"format", "date-time"}};
  json strategy = {{"type", "string"}, {"enum", {"direct", "canary", "blue-green"}}};
  json status = {{"type", "string"},
                 {"enum",
                  {"PENDING_APPROVAL", "DEPLOYING", "CANARY", "GREEN_VALIDATING", "LIVE",
                   "ROLLED_BACK", "FAILED", "REJECTED"}}};
  json analysis = {{"type", "object"},
                   {"properties",
                    {{"min_requests", integer},
                     {"max_error_rate", number},
                     {"max_p99_ms", number},
                     {"window_seconds", integer},
                     {"interval_seconds", integer}}}};
  schemas["EnvironmentPolicy"] = {
      {"type", "object"},
      {"properties",
       {{"approvals_required", integer},
        {"strategy", strategy},
        {"allowed_strategies", {{"type", "array"}, {"items", strategy}}},
        {"canary_percent", integer},
        {"analysis", analysis},
        {"bake_seconds", integer},
        {"replicas", integer},
        {"max_replicas", integer},
        {"smoke_test", {{"type", "boolean"}}}}}};
  schemas["Environment"] = {{"type", "object"},
                            {"properties",
                             {{"name", str},
                              {"policy", {{"$ref", "#/components/schemas/EnvironmentPolicy"}}},
                              {"updated_by", str},
                              {"updated_at", time}}}};
  schemas["EnvironmentList"] = {
      {"type", "object"},
      {"properties",
       {{"items",
         {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Environment"}}}}}}}};
  schemas["DeploymentCreate"] = {{"type", "object"},
                                 {"properties",
                                  {{"project", str},
                                   {"model", str},
                                   {"version", {{"type", {"string", "integer"}}}},
                                   {"alias", str},
                                   {"environment", str},
                                   {"strategy", strategy},
                                   {"pipeline_run_id", str},
                                   {"canary_percent", integer}}},
                                 {"required", {"model", "environment"}}};
  schemas["DeploymentDecision"] = {{"type", "object"}, {"properties", {{"comment", str}}}};
  schemas["DeploymentRollback"] = {{"type", "object"}, {"properties", {{"reason", str}}}};
  json slot_metrics = {{"type", "object"},
                       {"properties",
                        {{"requests", integer},
                         {"errors", integer},
                         {"error_rate", number},
                         {"p50_ms", number},
                         {"p99_ms", number}}}};
  json event = {{"type", "object"},
                {"properties",
                 {{"from", str},
                  {"to", status},
                  {"reason", str},
                  {"details", {{"type", "object"}}},
                  {"actor", str},
                  {"created_at", time}}}};
  json approval = {{"type", "object"},
                   {"properties",
                    {{"user", str},
                     {"decision", {{"type", "string"}, {"enum", {"approve", "reject"}}}},
                     {"comment", str},
                     {"created_at", time}}}};
  schemas["Deployment"] = {
      {"type", "object"},
      {"properties",
       {{"id", str},
        {"project", str},
        {"model", str},
        {"version", str},
        {"alias", str},
        {"environment", str},
        {"strategy", strategy},
        {"status", status},
        {"weights", {{"type", "object"}, {"additionalProperties", integer}}},
        {"slot", str},
        {"previous_slot", str},
        {"previous_deployment_id", str},
        {"superseded_by", str},
        {"approvals_required", integer},
        {"approvals_received", integer},
        {"approvals", {{"type", "array"}, {"items", approval}}},
        {"requested_by", str},
        {"created_at", time},
        {"updated_at", time},
        {"finished_at", time},
        {"error", str},
        {"policy", {{"$ref", "#/components/schemas/EnvironmentPolicy"}}},
        {"live",
         {{"type", "object"},
          {"properties",
           {{"target", str},
            {"slots", {{"type", "object"}, {"additionalProperties", slot_metrics}}}}}}},
        {"events", {{"type", "array"}, {"items", event}}}}}};
  schemas["DeploymentList"] = {
      {"type", "object"},
      {"properties",
       {{"items", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/Deployment"}}}}},
        {"next_page_token", str}}}};
}

}  // namespace studio::api
