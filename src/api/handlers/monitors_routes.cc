// Monitoring: drift monitors, their reports and score history, alarm rules, acknowledgements
// and alerts (docs/api.md "Monitoring"). The work is in monitors::MonitorService.
#include <nlohmann/json.hpp>

#include "api/internal/route_maker.h"
#include "api/json_body.h"
#include "api/router.h"
#include "common/time_util.h"
#include "monitors/monitor_service.h"

namespace studio::api {
namespace {

monitors::Actor ActorOf(const RequestContext& ctx) {
  return {ctx.principal.username, ctx.request_id};
}

// The service's {"items","last"} → the API's {"items","next_page_token"}.
void List(HttpResponse& res, nlohmann::json page) {
  std::string last = page.value("last", "");
  res.Json(200, ListResponse(std::move(page["items"]), last));
}

const RouteMaker Make([](const std::string& path) -> std::string {
  return path.rfind("/api/v1/alarms", 0) == 0 ? "alarms" : "monitors";
});

}  // namespace

Status AddMonitorRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  monitors::ServiceOptions o;
  o.store = &s.store;
  o.artifacts = s.artifacts;
  o.data_dir = s.config.data_dir;
  o.allowed_webhook_hosts = s.config.allowed_webhook_hosts;
  o.registry = &s.metrics;
  o.emf_output = s.config.emf_output;
  o.emf_namespace = s.config.emf_namespace;
  ASSIGN_OR_RETURN(std::shared_ptr<monitors::MonitorService> svc,
                   monitors::MonitorService::Create(std::move(o)));

  // -- monitors
  routes.push_back(Make(
      "GET", "/api/v1/monitors", Action::kRead, "List drift monitors, optionally of one project",
      false, 200, "", "MonitorList", {"project", "max_results", "page_token"},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
        ASSIGN_OR_RETURN(auto out,
                         svc->ListMonitors(ctx.req.Query("project"), page.after, page.max_results));
        List(res, std::move(out));
        return Status::Ok();
      }));
  routes.push_back(
      Make("POST", "/api/v1/monitors", Action::kCreate,
           "Create a drift monitor: target, reference dataset (profiled now), current-data source, "
           "schedule and drift options; the seed's default alarm rules come with it",
           true, 201, "MonitorCreate", "Monitor", {},
           [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(auto out, svc->CreateMonitor(ActorOf(ctx), *ctx.body));
             res.Json(201, out);
             return Status::Ok();
           }));
  routes.push_back(Make("GET", "/api/v1/monitors/{id}", Action::kRead, "Get a monitor", false, 200,
                        "", "Monitor", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->GetMonitor(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(
      Make("PATCH", "/api/v1/monitors/{id}", Action::kCreate,
           "Change a monitor; a new reference (or new column options) is profiled again", true, 200,
           "MonitorUpdate", "Monitor", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(auto out,
                              svc->UpdateMonitor(ActorOf(ctx), ctx.req.Param("id"), *ctx.body));
             res.Json(200, out);
             return Status::Ok();
           }));
  routes.push_back(Make("DELETE", "/api/v1/monitors/{id}", Action::kCreate,
                        "Delete a monitor with its reports and its alarm rules", false, 204, "", "",
                        {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          RETURN_IF_ERROR(svc->DeleteMonitor(ActorOf(ctx), ctx.req.Param("id")));
                          res.NoContent();
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "POST", "/api/v1/monitors/{id}/run", Action::kCreate,
      "Run a drift check now; returns the stored report and the alarm states it left", false, 201,
      "", "DriftReport", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out, svc->RunMonitor(ActorOf(ctx), ctx.req.Param("id"), "manual"));
        res.Json(201, out);
        return Status::Ok();
      }));
  routes.push_back(Make(
      "POST", "/api/v1/monitors/{id}/labels", Action::kCreate,
      "Post ground-truth labels for served predictions (joined to the prediction log by "
      "request_id at each check; at most 1000 per request; a request id labelled again is "
      "replaced)",
      true, 200, "LabelBatch", "LabelBatchResult", {},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out, svc->PostLabels(ActorOf(ctx), ctx.req.Param("id"), *ctx.body));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(
      Make("GET", "/api/v1/monitors/{id}/reports", Action::kRead,
           "A monitor's drift reports, newest first (summaries)", false, 200, "", "DriftReportList",
           {"max_results", "page_token"}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
             ASSIGN_OR_RETURN(auto out,
                              svc->ListReports(ctx.req.Param("id"), page.after, page.max_results));
             List(res, std::move(out));
             return Status::Ok();
           }));
  routes.push_back(Make("GET", "/api/v1/monitors/{id}/reports/{report_id}", Action::kRead,
                        "One drift report with the full per-feature results", false, 200, "",
                        "DriftReport", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->GetReport(ctx.req.Param("id"),
                                                                    ctx.req.Param("report_id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "GET", "/api/v1/monitors/{id}/scores", Action::kRead,
      "Per-feature drift scores over time (for charts), optionally one feature and since a time",
      false, 200, "", "FeatureScoreSeries", {"feature", "since", "max_results"},
      [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        int64_t since = 0;
        if (ctx.req.HasQuery("since")) {
          auto t = ParseRfc3339(ctx.req.Query("since"));
          if (!t.ok())
            return InvalidArgument("since must be an RFC 3339 time")
                .WithDetail("since", "must be an RFC 3339 time");
          since = *t;
        }
        ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req, 1000));
        ASSIGN_OR_RETURN(auto out, svc->FeatureSeries(ctx.req.Param("id"), ctx.req.Query("feature"),
                                                      since, page.max_results * 100));
        res.Json(200, out);
        return Status::Ok();
      }));

  // -- alarm rules
  routes.push_back(Make("GET", "/api/v1/alarms/rules", Action::kRead,
                        "List alarm rules, optionally of one project or one monitor", false, 200,
                        "", "AlarmRuleList", {"project", "monitor_id", "max_results", "page_token"},
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
                          ASSIGN_OR_RETURN(auto out, svc->ListRules(ctx.req.Query("project"),
                                                                    ctx.req.Query("monitor_id"),
                                                                    page.after, page.max_results));
                          List(res, std::move(out));
                          return Status::Ok();
                        }));
  routes.push_back(
      Make("POST", "/api/v1/alarms/rules", Action::kManageAlerts,
           "Create an alarm rule for a monitor or a whole project, optionally notifying a webhook "
           "(HMAC-signed; the URL must pass the egress allow-list)",
           true, 201, "AlarmRuleCreate", "AlarmRule", {},
           [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(auto out, svc->CreateRule(ActorOf(ctx), *ctx.body));
             res.Json(201, out);
             return Status::Ok();
           }));
  routes.push_back(Make("GET", "/api/v1/alarms/rules/{id}", Action::kRead, "Get an alarm rule",
                        false, 200, "", "AlarmRule", {},
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(auto out, svc->GetRule(ctx.req.Param("id")));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(Make(
      "PATCH", "/api/v1/alarms/rules/{id}", Action::kManageAlerts,
      "Change an alarm rule's name, threshold, enabled flag or webhook", true, 200,
      "AlarmRuleUpdate", "AlarmRule", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
        ASSIGN_OR_RETURN(auto out, svc->UpdateRule(ActorOf(ctx), ctx.req.Param("id"), *ctx.body));
        res.Json(200, out);
        return Status::Ok();
      }));
  routes.push_back(Make("DELETE", "/api/v1/alarms/rules/{id}", Action::kManageAlerts,
                        "Delete an alarm rule", false, 204, "", "", {},
                        [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          RETURN_IF_ERROR(svc->DeleteRule(ActorOf(ctx), ctx.req.Param("id")));
                          res.NoContent();
                          return Status::Ok();
                        }));
  routes.push_back(Make("POST", "/api/v1/alarms/rules/{id}/ack", Action::kManageAlerts,
                        "Acknowledge a rule in ALARM (optional {\"comment\"})", true, 200, "",
                        "AlarmRule", {}, [svc](RequestContext& ctx, HttpResponse& res) -> Status {
                          ASSIGN_OR_RETURN(
                              auto out, svc->AckRule(ActorOf(ctx), ctx.req.Param("id"), *ctx.body));
                          res.Json(200, out);
                          return Status::Ok();
                        }));
  routes.push_back(
      Make("GET", "/api/v1/alarms/rules/{id}/alerts", Action::kRead,
           "A rule's alerts (state transitions with their notification outcome), newest first",
           false, 200, "", "AlertList", {"max_results", "page_token"},
           [svc](RequestContext& ctx, HttpResponse& res) -> Status {
             ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
             ASSIGN_OR_RETURN(auto out,
                              svc->ListAlerts(ctx.req.Param("id"), page.after, page.max_results));
             List(res, std::move(out));
             return Status::Ok();
           }));
  return Status::Ok();
}

}  // namespace studio::api

namespace studio::api {

// OpenAPI components for the routes above (openapi.cc merges them into its own).
void AddMonitorSchemas(nlohmann::json& schemas) {
  using nlohmann::json;
  json str = {{"type", "string"}};
  json num = {{"type", "number"}};
  json time = {{"type", "string"}, {"format", "date-time"}};
  json options = {
      {"method",
       {{"type", "string"},
        {"enum",
         {"auto", "ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon", "kl_div",
          "hellinger"}}}},
      {"threshold", num},
      {"drift_share", num},
      {"correction", {{"type", "string"}, {"enum", {"none", "bonferroni", "bh"}}}},
      {"columns", {{"type", "array"}, {"items", str}}},
      {"window_rows", {{"type", "integer"}}},
      {"performance",
       {{"type", "object"},
        {"properties",
         {{"task", {{"type", "string"}, {"enum", {"classification", "regression"}}}},
          {"window_rows", {{"type", "integer"}}},
          {"min_rows", {{"type", "integer"}}},
          {"degradation", num},
          {"label_column", str},
          {"prediction_column", str},
          {"prediction_type", {{"type", "string"}, {"enum", {"auto", "class", "score"}}}},
          {"decision_threshold", num},
          {"baseline", {{"type", "object"}, {"additionalProperties", num}}}}}}},
      {"features",
       {{"type", "object"},
        {"additionalProperties",
         {{"type", "object"},
          {"properties",
           {{"method", str},
            {"threshold", num},
            {"kind", {{"type", "string"}, {"enum", {"numeric", "categorical"}}}}}}}}}}};
  json target = {
      {"type", "object"},
      {"description", "{model, version} or {deployment_id}"},
      {"properties",
       {{"model", str}, {"version", {{"type", {"string", "integer"}}}}, {"deployment_id", str}}}};
  json current = {
      {"type", "object"},
      {"properties",
       {{"kind", {{"type", "string"}, {"enum", {"prediction_log", "csv"}}}}, {"path", str}}}};
  json create = {{"project", str},
                 {"name", str},
                 {"description", str},
                 {"target", target},
                 {"reference", {{"type", "object"}, {"properties", {{"path", str}}}}},
                 {"current", current},
                 {"metrics_url", str},
                 {"schedule", {{"type", "string"}, {"examples", {"manual", "15m", "1h"}}}}};
  for (auto it = options.begin(); it != options.end(); ++it) create[it.key()] = it.value();
  schemas["MonitorCreate"] = {{"type", "object"},
                              {"properties", create},
                              {"required", {"project", "name", "target", "reference", "current"}}};
  schemas["MonitorUpdate"] = {{"type", "object"}, {"properties", create}};
  schemas["Monitor"] = {{"type", "object"},
                        {"properties",
                         {{"id", str},
                          {"project_id", str},
                          {"name", str},
                          {"target", target},
                          {"reference", {{"type", "object"}}},
                          {"current", current},
                          {"schedule", str},
                          {"options", {{"type", "object"}, {"properties", options}}},
                          {"last_run_at", time},
                          {"created_at", time}}}};
  auto list_of = [](const std::string& item) {
    return json{
        {"type", "object"},
        {"properties",
         {{"items", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/" + item}}}}},
          {"next_page_token", {{"type", "string"}}}}},
        {"required", {"items"}}};
  };
  schemas["MonitorList"] = list_of("Monitor");
  schemas["DriftReport"] = {{"type", "object"},
                            {"properties",
                             {{"id", str},
                              {"monitor_id", str},
                              {"status", {{"type", "string"}, {"enum", {"succeeded", "failed"}}}},
                              {"dataset_drift", {{"type", "boolean"}}},
                              {"drift_share", num},
                              {"drifted_features", {{"type", "integer"}}},
                              {"total_features", {{"type", "integer"}}},
                              {"error", str},
                              {"report", {{"type", "object"}}},
                              {"alarms", {{"type", "array"}}},
                              {"created_at", time}}}};
  schemas["DriftReportList"] = list_of("DriftReport");
  schemas["LabelBatch"] = {
      {"type", "object"},
      {"properties",
       {{"labels",
         {{"type", "array"},
          {"maxItems", 1000},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"request_id", str}, {"label", {{"type", {"number", "string"}}}}, {"ts", time}}},
            {"required", {"request_id", "label"}}}}}}}},
      {"required", {"labels"}}};
  schemas["LabelBatchResult"] = {{"type", "object"},
                                 {"properties",
                                  {{"monitor_id", str},
                                   {"received", {{"type", "integer"}}},
                                   {"stored", {{"type", "integer"}}}}}};
  schemas["FeatureScoreSeries"] = {{"type", "object"},
                                   {"properties", {{"items", {{"type", "array"}}}}}};
  json rule_props = {
      {"project", str},
      {"monitor_id", str},
      {"name", str},
      {"kind",
       {{"type", "string"},
        {"enum", {"drift_share", "latency_p99", "error_rate", "task_failure", "performance"}}}},
      {"threshold", num},
      {"enabled", {{"type", "boolean"}}},
      {"webhook_url", str},
      {"webhook_secret", str}};
  schemas["AlarmRuleCreate"] = {
      {"type", "object"}, {"properties", rule_props}, {"required", {"kind"}}};
  schemas["AlarmRuleUpdate"] = {{"type", "object"}, {"properties", rule_props}};
  schemas["AlarmRule"] = {
      {"type", "object"},
      {"properties",
       {{"id", str},
        {"kind", str},
        {"threshold", num},
        {"state", {{"type", "string"}, {"enum", {"OK", "ALARM", "INSUFFICIENT_DATA"}}}},
        {"state_reason", str},
        {"acknowledged", {{"type", "boolean"}}},
        {"webhook_url", str},
        {"webhook_secret_set", {{"type", "boolean"}}}}}};
  schemas["AlarmRuleList"] = list_of("AlarmRule");
  schemas["Alert"] = {{"type", "object"},
                      {"properties",
                       {{"id", str},
                        {"rule_id", str},
                        {"from_state", str},
                        {"to_state", str},
                        {"value", num},
                        {"reason", str},
                        {"notification", str},
                        {"created_at", time}}}};
  schemas["AlertList"] = list_of("Alert");
}

}  // namespace studio::api
