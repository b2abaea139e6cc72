// OpenAPI 3.1 generated from the route table, so the document and the dispatcher cannot drift.
#include <nlohmann/json.hpp>
#include <regex>

#include "api/router.h"
#include "common/strings.h"
#include "common/version.h"

namespace studio::api {
namespace {

using nlohmann::json;

json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
json Str() { return {{"type", "string"}}; }
json Time() { return {{"type", "string"}, {"format", "date-time"}}; }
json StrMap() { return {{"type", "object"}, {"additionalProperties", Str()}}; }
json StrList() { return {{"type", "array"}, {"items", Str()}}; }
json Obj(json props, std::vector<std::string> required = {}) {
  json o = {{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
  if (!required.empty()) o["required"] = required;
  return o;
}
json ListOf(const std::string& item) {
  return {{"type", "object"},
          {"properties",
           {{"items", {{"type", "array"}, {"items", Ref(item)}}}, {"next_page_token", Str()}}},
          {"required", {"items"}}};
}

json Schemas() {
  json roles = {{"type", "array"},
                {"items",
                 {{"type", "string"},
                  {"enum",
                   {"ml_engineer", "data_engineer", "production_team", "monitoring_team",
                    "model_sponsor", "admin"}}}}};
  return {
      {"Error",
       {{"type", "object"},
        {"properties", {{"error_code", Str()}, {"message", Str()}, {"details", StrMap()}}},
        {"required", {"error_code", "message"}}}},
      {"Health",
       {{"type", "object"},
        {"properties", {{"status", Str()}, {"schema_version", {{"type", "integer"}}}}}}},
      {"LoginRequest", Obj({{"username", Str()}, {"password", Str()}}, {"username", "password"})},
      {"LoginResponse",
       {{"type", "object"}, {"properties", {{"user", Ref("User")}, {"expires_at", Time()}}}}},
      {"User",
       {{"type", "object"},
        {"properties",
         {{"id", Str()},
          {"username", Str()},
          {"roles", roles},
          {"permissions", StrList()},
          {"disabled", {{"type", "boolean"}}},
          {"created_at", Time()},
          {"updated_at", Time()}}}}},
      {"UserList", ListOf("User")},
      {"UserCreate",
       Obj({{"username", Str()}, {"password", Str()}, {"roles", roles}}, {"username", "password"})},
      {"UserUpdate",
       Obj({{"roles", roles}, {"disabled", {{"type", "boolean"}}}, {"password", Str()}})},
      {"TokenRequest",
       Obj({{"name", Str()},
            {"expires_in_days", {{"type", "integer"}, {"minimum", 0}, {"maximum", 3650}}}},
           {"name"})},
      {"Token",
       {{"type", "object"},
        {"properties",
         {{"id", Str()},
          {"name", Str()},
          {"prefix", Str()},
          {"created_at", Time()},
          {"expires_at", {{"type", {"string", "null"}}, {"format", "date-time"}}},
          {"last_used_at", {{"type", {"string", "null"}}, {"format", "date-time"}}}}}}},
      {"TokenCreated",
       {{"allOf", {Ref("Token"), {{"type", "object"}, {"properties", {{"token", Str()}}}}}}}},
      {"TokenList", ListOf("Token")},
      {"Project",
       {{"type", "object"},
        {"properties",
         {{"id", Str()},
          {"name", Str()},
          {"description", Str()},
          {"owner", Str()},
          {"github_repo", Str()},
          {"tags", StrMap()},
          {"created_by", Str()},
          {"created_at", Time()},
          {"updated_at", Time()}}}}},
      {"ProjectList", ListOf("Project")},
      {"ProjectCreate",
       Obj({{"name", {{"type", "string"}, {"pattern", "^[a-z][a-z0-9-]{0,61}[a-z0-9]$"}}},
            {"description", Str()},
            {"owner", Str()},
            {"github_repo", Str()},
            {"tags", StrMap()}},
           {"name"})},
      {"ProjectUpdate",
       Obj({{"description", Str()}, {"owner", Str()}, {"github_repo", Str()}, {"tags", StrMap()}})},
      {"AuditEvent",
       {{"type", "object"},
        {"properties",
         {{"seq", {{"type", "integer"}}},
          {"id", Str()},
          {"ts", Time()},
          {"actor", Str()},
          {"action", Str()},
          {"resource_type", Str()},
          {"resource_id", Str()},
          {"request_id", Str()},
          {"details", {{"type", "object"}}},
          {"prev_hash", Str()},
          {"hash", Str()}}}}},
      {"AuditEventList", ListOf("AuditEvent")},
      {"MlflowEmpty", {{"type", "object"}}},
      {"MlflowRequest",
       {{"type", "object"},
        {"description", "MLflow request message (service.proto), snake_case fields"}}},
      {"MlflowExperimentId", {{"type", "object"}, {"properties", {{"experiment_id", Str()}}}}},
      {"MlflowExperiment",
       {{"type", "object"}, {"properties", {{"experiment", {{"type", "object"}}}}}}},
      {"MlflowExperimentList",
       {{"type", "object"},
        {"properties",
         {{"experiments", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"next_page_token", Str()}}}}},
      {"MlflowRun", {{"type", "object"}, {"properties", {{"run", {{"type", "object"}}}}}}},
      {"MlflowRunInfo", {{"type", "object"}, {"properties", {{"run_info", {{"type", "object"}}}}}}},
      {"MlflowRunList",
       {{"type", "object"},
        {"properties",
         {{"runs", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"next_page_token", Str()}}}}},
      {"MlflowMetricHistory",
       {{"type", "object"},
        {"properties",
         {{"metrics", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"next_page_token", Str()}}}}},
      {"MlflowArtifactList",
       {{"type", "object"},
        {"properties",
         {{"files",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties",
               {{"path", Str()},
                {"is_dir", {{"type", "boolean"}}},
                {"file_size", {{"type", "integer"}}}}}}}}}}}}},
      // Model registry: MLflow wire shapes (registry_serving.md §1.5) and the native API.
      {"MlflowRegistryRequest",
       {{"type", "object"},
        {"description", "MLflow model_registry.proto request message, snake_case fields"}}},
      {"MlflowRegistryEmpty", {{"type", "object"}}},
      {"MlflowRegisteredModel",
       {{"type", "object"}, {"properties", {{"registered_model", {{"type", "object"}}}}}}},
      {"MlflowRegisteredModelList",
       {{"type", "object"},
        {"properties",
         {{"registered_models", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"next_page_token", Str()}}}}},
      {"MlflowModelVersion",
       {{"type", "object"}, {"properties", {{"model_version", {{"type", "object"}}}}}}},
      {"MlflowModelVersionList",
       {{"type", "object"},
        {"properties",
         {{"model_versions", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"next_page_token", Str()}}}}},
      {"MlflowDownloadUri", {{"type", "object"}, {"properties", {{"artifact_uri", Str()}}}}},
      {"ModelVersion",
       {{"type", "object"},
        {"properties",
         {{"model_id", Str()},
          {"model_name", Str()},
          {"version", {{"type", "integer"}}},
          {"source", Str()},
          {"run_id", Str()},
          {"run_link", Str()},
          {"description", Str()},
          {"stage", {{"type", "string"}, {"enum", {"None", "Staging", "Production", "Archived"}}}},
          {"status", Str()},
          {"status_message", Str()},
          {"flavor", Str()},
          {"signature", {{"type", {"object", "null"}}}},
          {"metrics", {{"type", {"object", "null"}}}},
          {"lineage", {{"type", "object"}}},
          {"tags", StrMap()},
          {"aliases", StrList()},
          {"created_by", Str()},
          {"created_at", Time()},
          {"updated_at", Time()}}}}},
      {"ModelVersionList", ListOf("ModelVersion")},
      {"ModelVersionCreate", Obj({{"source", Str()},
                                  {"run_id", Str()},
                                  {"run_link", Str()},
                                  {"description", Str()},
                                  {"flavor", Str()},
                                  {"tags", StrMap()},
                                  {"signature", {{"type", "object"}}},
                                  {"metrics", {{"type", "object"}}},
                                  {"lineage", Obj({{"git_commit", Str()},
                                                   {"dataset_digests", {{"type", "object"}}},
                                                   {"file_digests", {{"type", "object"}}}})}},
                                 {"source"})},
      {"ModelVersionUpdate", Obj({{"description", Str()},
                                  {"stage", Str()},
                                  {"archive_existing_versions", {{"type", "boolean"}}}})},
      {"Model",
       {{"type", "object"},
        {"properties",
         {{"id", Str()},
          {"project_id", Str()},
          {"name", Str()},
          {"description", Str()},
          {"tags", StrMap()},
          {"aliases", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}},
          {"latest_versions", {{"type", "array"}, {"items", Ref("ModelVersion")}}},
          {"created_by", Str()},
          {"created_at", Time()},
          {"updated_at", Time()}}}}},
      {"ModelList", ListOf("Model")},
      {"ModelCreate", Obj({{"name", Str()}, {"description", Str()}, {"tags", StrMap()}}, {"name"})},
      {"ModelUpdate", Obj({{"name", Str()}, {"description", Str()}})},
      {"AliasSet", Obj({{"version", {{"type", "integer"}, {"minimum", 1}}}}, {"version"})},
      {"TagSet", Obj({{"value", Str()}}, {"value"})},
      {"AuditVerify",
       {{"type", "object"},
        {"properties",
         {{"ok", {{"type", "boolean"}}},
          {"count", {{"type", "integer"}}},
          {"first_broken_seq", {{"type", "integer"}}},
          {"problem", Str()}}}}},
  };
}

json ErrorResponse(const std::string& description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", Ref("Error")}}}}}};
}

}  // namespace

std::string BuildOpenApi(const RouteTable& routes) {
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  json paths = json::object();
  for (const Route& r : routes) {
    json op = {{"summary", r.summary},
               {"tags", {r.tag}},
               {"operationId",
                ToLower(r.method) + std::regex_replace(r.path, std::regex("[^A-Za-z0-9]+"), "_")},
               {"x-permission", std::string(auth::ActionName(r.action))}};
    json params = json::array();
    for (auto it = std::sregex_iterator(r.path.begin(), r.path.end(), kParam);
         it != std::sregex_iterator(); ++it)
      params.push_back({{"name", (*it)[1]}, {"in", "path"}, {"required", true}, {"schema", Str()}});
    for (const auto& q : r.query_params)
      params.push_back(
          {{"name", q},
           {"in", "query"},
           {"required", false},
           {"schema", q == "max_results"
                          ? json{{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}
                          : Str()}});
    if (!params.empty()) op["parameters"] = params;
    if (!r.request_schema.empty())
      op["requestBody"] = {
          {"required", true},
          {"content", {{"application/json", {{"schema", Ref(r.request_schema)}}}}}};
    json responses = json::object();
    json ok = {{"description", "success"}};
    if (!r.response_schema.empty())
      ok["content"] = {{"application/json", {{"schema", Ref(r.response_schema)}}}};
    else if (r.path == "/metrics")
      ok["content"] = {{"text/plain", {{"schema", Str()}}}};
    responses[std::to_string(r.success_status)] = ok;
    if (r.takes_body) {
      responses["400"] = ErrorResponse("invalid request");
      responses["413"] = ErrorResponse("body over the limit");
      responses["415"] = ErrorResponse("body is not application/json");
    }
    if (r.action == auth::Action::kPublic) {
      op["security"] = json::array();
    } else {
      responses["401"] = ErrorResponse("not authenticated");
      responses["403"] =
          ErrorResponse("missing permission '" + std::string(auth::ActionName(r.action)) + "'");
    }
    if (r.path.find('{') != std::string::npos) responses["404"] = ErrorResponse("no such resource");
    op["responses"] = responses;
    paths[r.path][ToLower(r.method)] = op;
  }
  json doc = {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "MLOps Studio API"},
        {"version", kStudioVersion},
        {"description", "Control-plane REST API. Errors are {error_code, message[, details]}."}}},
      {"servers", {{{"url", "/"}}}},
      {"paths", paths},
      {"components",
       {{"schemas",
         [] {
           json s = Schemas();
           AddMonitorSchemas(s);
           AddPipelineSchemas(s);
           AddRunSchemas(s);
           AddDeploymentSchemas(s);
           return s;
         }()},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
          {"basic", {{"type", "http"}, {"scheme", "basic"}}},
          {"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "studio_session"}}}}}}},
      {"security",
       {{{"bearer", json::array()}}, {{"basic", json::array()}}, {{"session", json::array()}}}},
  };
  return doc.dump(2);
}

}  // namespace studio::api
