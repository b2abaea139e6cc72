#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "api/http.h"
#include "auth/identity.h"
#include "auth/login_limiter.h"
#include "common/config.h"
#include "common/metrics.h"
#include "store/metadata_store.h"

namespace studio::artifacts {
class ArtifactStore;
}

namespace studio::api {

using Handler = std::function<Status(RequestContext&, HttpResponse&)>;

// One entry per endpoint: dispatch, the permission check and the OpenAPI document all read it.
struct Route {
  std::string method;  // GET, POST, PATCH, PUT, DELETE
  std::string path;    // /api/v1/projects/{id}
  auth::Action action;
  std::string tag;
  std::string summary;
  bool takes_body = false;
  int success_status = 200;
  std::string request_schema;   // components/schemas name, for the OpenAPI document
  std::string response_schema;  // idem; empty for 204 or non-JSON
  std::vector<std::string> query_params;
  Handler handler;
  // The handler reads the body itself through HttpRequest::read_body (large uploads).
  bool stream_body = false;
};

// What handlers work with; owned by the server.
struct Services {
  const Config& config;
  store::MetadataStore& store;
  auth::Identity& identity;
  auth::LoginLimiter& login_limiter;
  metrics::Registry& metrics;
  artifacts::ArtifactStore* artifacts = nullptr;  // opened from Config::ArtifactsUri()
  // Called with the server's base URL once it listens (background work that needs it).
  std::vector<std::function<void(const std::string& base_url)>> on_listening;
  std::atomic<int> bound_port{0};  // set by Bind() (deploy slots call back)
};

using RouteTable = std::vector<Route>;

void AddSystemRoutes(RouteTable& routes, Services& s, const RouteTable& all_routes);
void AddAuthRoutes(RouteTable& routes, Services& s);
void AddUserRoutes(RouteTable& routes, Services& s);
void AddProjectRoutes(RouteTable& routes, Services& s);
void AddAuditRoutes(RouteTable& routes, Services& s);
void AddMlflowRegistryRoutes(RouteTable& routes, Services& s);
void AddModelRoutes(RouteTable& routes, Services& s);
void AddMlflowArtifactRoutes(RouteTable& routes, Services& s);
void AddMlflowTrackingRoutes(RouteTable& routes, Services& s);
// Monitors and alarms; fails when the monitoring service cannot start (secrets key, EMF file).
Status AddMonitorRoutes(RouteTable& routes, Services& s);
void AddMonitorSchemas(nlohmann::json& schemas);
// Pipeline spec validation, node locks and the per-project pipeline policy.
void AddPipelineRoutes(RouteTable& routes, Services& s);
void AddPipelineSchemas(nlohmann::json& schemas);
// Environments, deployments, approvals, rollback and the /serve router (issue 7).
void AddDeploymentRoutes(RouteTable& routes, Services& s);
void AddDeploymentSchemas(nlohmann::json& schemas);

// Registered pipelines and pipeline runs; creates the scheduler (started on listening).
Status AddRunRoutes(RouteTable& routes, Services& s);
void AddRunSchemas(nlohmann::json& schemas);

// OpenAPI 3.1 for every route in `routes`.
std::string BuildOpenApi(const RouteTable& routes);

}  // namespace studio::api
