// Health, readiness, Prometheus metrics, the OpenAPI document and the service index.
#include "api/router.h"
#include "common/metrics.h"
#include "common/version.h"

#include <nlohmann/json.hpp>

namespace studio::api {

void AddSystemRoutes(RouteTable& routes, Services& s, const RouteTable& all_routes) {
  using auth::Action;
  routes.push_back({"GET",
                    "/healthz",
                    Action::kPublic,
                    "system",
                    "Liveness: the process answers",
                    false,
                    200,
                    "",
                    "Health",
                    {},
                    [](RequestContext&, HttpResponse& res) {
                      res.Json(200, {{"status", "ok"}});
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/readyz",
                    Action::kPublic,
                    "system",
                    "Readiness: the database answers and migrations are applied",
                    false,
                    200,
                    "",
                    "Health",
                    {},
                    [&s](RequestContext&, HttpResponse& res) {
                      Status ping = s.store.Ping();
                      auto version = s.store.SchemaVersion();
                      int latest = s.store.LatestSchemaVersion();
                      if (!ping.ok() || !version.ok() || *version < latest) {
                        res.Json(503, {{"status", "unavailable"},
                                       {"database", ping.ok() ? "ok" : "unreachable"},
                                       {"schema_version", version.ok() ? *version : 0},
                                       {"latest_schema_version", latest}});
                        return Status::Ok();
                      }
                      res.Json(200, {{"status", "ready"},
                                     {"backend", std::string(s.store.backend())},
                                     {"schema_version", *version}});
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/metrics",
                    Action::kPublic,
                    "system",
                    "Prometheus metrics (text exposition format 0.0.4)",
                    false,
                    200,
                    "",
                    "",
                    {},
                    [&s](RequestContext&, HttpResponse& res) {
                      res.status = 200;
                      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      res.body = s.metrics.Render() + metrics::RenderProcessMetrics();
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/openapi.json",
                    Action::kPublic,
                    "system",
                    "This API's OpenAPI 3.1 document",
                    false,
                    200,
                    "",
                    "",
                    {},
                    [&all_routes](RequestContext&, HttpResponse& res) {
                      static const std::string doc = BuildOpenApi(all_routes);
                      res.status = 200;
                      res.body = doc;
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/",
                    Action::kPublic,
                    "system",
                    "Service index",
                    false,
                    200,
                    "",
                    "",
                    {},
                    [](RequestContext&, HttpResponse& res) {
                      res.Json(200, {{"service", "mlops-studio"},
                                     {"version", kStudioVersion},
                                     {"api", "/api/v1"},
                                     {"openapi", "/api/openapi.json"},
                                     {"health", "/healthz"},
                                     {"metrics", "/metrics"}});
                      return Status::Ok();
                    }});
}

}  // namespace studio::api
