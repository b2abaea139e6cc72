// Native model registry API (/api/v1): the same registry::Models the MLflow adapter uses, in
// the native conventions (RFC 3339 timestamps, {"items","next_page_token"}, 409 duplicates).
#include <memory>

#include "api/json_body.h"
#include "api/router.h"
#include "common/time_util.h"
#include "registry/models.h"

namespace studio::api {
namespace {

using nlohmann::json;
using store::ModelRecord;
using store::ModelVersionRecord;

json JsonOrNull(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

json VersionJson(const ModelVersionRecord& v) {
  return {{"model_id", v.model_id},
          {"model_name", v.name},
          {"version", v.version},
          {"source", v.source},
          {"run_id", v.run_id},
          {"run_link", v.run_link},
          {"description", v.description},
          {"stage", v.current_stage},
          {"status", v.status},
          {"status_message", v.status_message},
          {"flavor", v.flavor},
          {"signature", JsonOrNull(v.signature_json)},
          {"metrics", JsonOrNull(v.metrics_json)},
          {"lineage",
           {{"run_id", v.run_id},
            {"git_commit", v.git_commit},
            {"dataset_digests", JsonOrNull(v.dataset_digests_json)},
            {"file_digests", JsonOrNull(v.file_digests_json)}}},
          {"tags", v.tags},
          {"aliases", v.aliases},
          {"created_by", v.user_id},
          {"created_at", FormatRfc3339(v.created_at)},
          {"updated_at", FormatRfc3339(v.updated_at)}};
}

json ModelJson(const ModelRecord& m) {
  json aliases = json::object();
  for (const auto& [alias, version] : m.aliases) aliases[alias] = version;
  json latest = json::array();
  for (const auto& v : m.latest_versions) latest.push_back(VersionJson(v));
  return {{"id", m.id},
          {"project_id", m.project_id},
          {"name", m.name},
          {"description", m.description},
          {"tags", m.tags},
          {"aliases", aliases},
          {"latest_versions", latest},
          {"created_by", m.user_id},
          {"created_at", FormatRfc3339(m.created_at)},
          {"updated_at", FormatRfc3339(m.updated_at)}};
}

Result<registry::SearchRequest> ReadSearch(const HttpRequest& req) {
  registry::SearchRequest out;
  out.filter = req.Query("filter");
  if (out.filter.size() > 16 * 1024) return InvalidArgument("filter: longer than 16 KiB");
  auto [b, e] = req.query.equal_range("order_by");
  for (auto it = b; it != e; ++it) out.order_by.push_back(it->second);
  if (req.HasQuery("max_results")) {
    const std::string v = req.Query("max_results");
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1 || n > 1000)
      return InvalidArgument("max_results must be an integer from 1 to 1000")
          .WithDetail("max_results", "must be an integer from 1 to 1000");
    out.max_results = static_cast<int>(n);
  }
  out.page_token = req.Query("page_token");
  if (out.page_token.size() > 1024) return InvalidArgument("invalid page_token");
  return out;
}

template <typename T, typename F>
json Items(const registry::Page<T>& page, F to_json) {
  json items = json::array();
  for (const auto& x : page.items) items.push_back(to_json(x));
  json out = {{"items", items}};
  if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
  return out;
}

Result<int64_t> VersionParam(const HttpRequest& req) {
  return registry::ParseVersion(req.Param("version"));
}

}  // namespace

void AddModelRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  auto models = std::make_shared<registry::Models>(s.store, s.config.ArtifactsUri());
  const std::vector<std::string> kSearch = {"filter", "order_by", "max_results", "page_token"};

  routes.push_back({"GET", "/api/v1/models", Action::kRead, "models",
                    "Search models in every project (MLflow filter grammar)", false, 200, "",
                    "ModelList", kSearch,
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto req, ReadSearch(ctx.req));
                      ASSIGN_OR_RETURN(auto page, models->Search(req));
                      res.Json(200, Items(page, ModelJson));
                      return Status::Ok();
                    }});

  routes.push_back({"GET", "/api/v1/projects/{id}/models", Action::kRead, "models",
                    "List a project's models (MLflow filter grammar)", false, 200, "", "ModelList",
                    kSearch, [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto req, ReadSearch(ctx.req));
                      req.project = ctx.req.Param("id");
                      ASSIGN_OR_RETURN(auto page, models->Search(req));
                      res.Json(200, Items(page, ModelJson));
                      return Status::Ok();
                    }});

  routes.push_back({"POST",
                    "/api/v1/projects/{id}/models",
                    Action::kCreate,
                    "models",
                    "Register a model in a project",
                    true,
                    201,
                    "ModelCreate",
                    "Model",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      registry::ModelInput in;
                      auto name = r.String("name", true, 256);
                      in.description = r.String("description", false, 65536);
                      auto tags = r.StringMap("tags", false);
                      RETURN_IF_ERROR(r.Finish());
                      in.name = *name;
                      in.tags = tags.value_or(std::map<std::string, std::string>{});
                      in.project = ctx.req.Param("id");
                      ASSIGN_OR_RETURN(ModelRecord m, models->Create(ctx.actor(), in));
                      ASSIGN_OR_RETURN(m, models->Get(m.id));
                      res.Json(201, ModelJson(m));
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/models/{id}",
                    Action::kRead,
                    "models",
                    "Get a model by name or id",
                    false,
                    200,
                    "",
                    "Model",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(ModelRecord m, models->Get(ctx.req.Param("id")));
                      res.Json(200, ModelJson(m));
                      return Status::Ok();
                    }});

  routes.push_back({"PATCH",
                    "/api/v1/models/{id}",
                    Action::kCreate,
                    "models",
                    "Rename a model or change its description",
                    true,
                    200,
                    "ModelUpdate",
                    "Model",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto name = r.String("name", false, 256);
                      auto description = r.String("description", false, 65536);
                      RETURN_IF_ERROR(r.Finish());
                      if (!name && !description)
                        return InvalidArgument("nothing to change: give name or description");
                      std::string key = ctx.req.Param("id");
                      ASSIGN_OR_RETURN(ModelRecord m, models->Get(key));
                      if (description) {
                        ASSIGN_OR_RETURN(m, models->Update(ctx.actor(), m.id, description));
                      }
                      if (name && *name != m.name) {
                        ASSIGN_OR_RETURN(m, models->Rename(ctx.actor(), m.id, *name));
                      }
                      res.Json(200, ModelJson(m));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/models/{id}",
                    Action::kCreate,
                    "models",
                    "Delete a model with its versions",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      RETURN_IF_ERROR(models->Delete(ctx.actor(), ctx.req.Param("id")));
                      res.NoContent();
                      return Status::Ok();
                    }});

  routes.push_back({"GET", "/api/v1/models/{id}/versions", Action::kRead, "models",
                    "List a model's versions (MLflow filter grammar)", false, 200, "",
                    "ModelVersionList", kSearch,
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto req, ReadSearch(ctx.req));
                      req.model = ctx.req.Param("id");
                      ASSIGN_OR_RETURN(auto page, models->SearchVersions(req));
                      res.Json(200, Items(page, VersionJson));
                      return Status::Ok();
                    }});

  routes.push_back(
      {"POST",
       "/api/v1/models/{id}/versions",
       Action::kCreate,
       "models",
       "Register a version: artifact source (inside the artifact store), lineage, metrics",
       true,
       201,
       "ModelVersionCreate",
       "ModelVersion",
       {},
       [models](RequestContext& ctx, HttpResponse& res) -> Status {
         const json& body = *ctx.body;
         // BodyReader checks every field but the free-form objects.
         json rest = body;
         for (const char* f : {"signature", "metrics", "lineage"}) rest.erase(f);
         BodyReader r(rest);
         registry::VersionInput in;
         auto source = r.String("source", true, 4096);
         auto run_id = r.String("run_id", false, 256);
         auto run_link = r.String("run_link", false, 4096);
         auto description = r.String("description", false, 65536);
         auto flavor = r.String("flavor", false, 256);
         auto tags = r.StringMap("tags", false);
         auto object_field = [&](const char* name) -> std::optional<json> {
           auto it = body.find(name);
           if (it == body.end() || it->is_null()) return std::nullopt;
           if (!it->is_object()) {
             r.Problem(name, "must be an object");
             return std::nullopt;
           }
           return *it;
         };
         std::optional<json> signature = object_field("signature");
         std::optional<json> metrics = object_field("metrics");
         std::optional<json> lineage = object_field("lineage");
         std::string git_commit, datasets, files;
         if (lineage) {
           for (auto it = lineage->begin(); it != lineage->end(); ++it) {
             const std::string& k = it.key();
             if (k == "git_commit" && it->is_string()) {
               git_commit = it->get<std::string>();
             } else if ((k == "dataset_digests" || k == "file_digests") && it->is_object()) {
               (k == "dataset_digests" ? datasets : files) = it->dump();
             } else {
               r.Problem("lineage." + k,
                         "unknown field or wrong type (git_commit: string, dataset_digests and "
                         "file_digests: objects)");
             }
           }
         }
         RETURN_IF_ERROR(r.Finish());
         in.model = ctx.req.Param("id");
         in.source = *source;
         in.run_id = run_id.value_or("");
         in.run_link = run_link.value_or("");
         in.description = description.value_or("");
         in.flavor = flavor.value_or("");
         in.tags = tags.value_or(std::map<std::string, std::string>{});
         in.signature_json = signature ? signature->dump() : "";
         in.metrics_json = metrics ? metrics->dump() : "";
         in.git_commit = git_commit;
         in.dataset_digests_json = datasets;
         in.file_digests_json = files;
         ASSIGN_OR_RETURN(ModelVersionRecord v, models->CreateVersion(ctx.actor(), in));
         res.Json(201, VersionJson(v));
         return Status::Ok();
       }});

  routes.push_back({"GET",
                    "/api/v1/models/{id}/versions/{version}",
                    Action::kRead,
                    "models",
                    "Get a model version",
                    false,
                    200,
                    "",
                    "ModelVersion",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(int64_t version, VersionParam(ctx.req));
                      ASSIGN_OR_RETURN(ModelVersionRecord v,
                                       models->GetVersion(ctx.req.Param("id"), version));
                      res.Json(200, VersionJson(v));
                      return Status::Ok();
                    }});

  routes.push_back(
      {"PATCH",
       "/api/v1/models/{id}/versions/{version}",
       Action::kCreate,
       "models",
       "Change a version's description or stage (archive_existing_versions)",
       true,
       200,
       "ModelVersionUpdate",
       "ModelVersion",
       {},
       [models](RequestContext& ctx, HttpResponse& res) -> Status {
         BodyReader r(*ctx.body);
         auto description = r.String("description", false, 65536);
         auto stage = r.String("stage", false, 64);
         auto archive = r.Bool("archive_existing_versions", false);
         RETURN_IF_ERROR(r.Finish());
         if (!description && !stage)
           return InvalidArgument("nothing to change: give description or stage");
         ASSIGN_OR_RETURN(int64_t version, VersionParam(ctx.req));
         std::string key = ctx.req.Param("id");
         ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetVersion(key, version));
         if (description) {
           ASSIGN_OR_RETURN(v, models->UpdateVersion(ctx.actor(), key, version, description));
         }
         if (stage) {
           ASSIGN_OR_RETURN(v, models->TransitionStage(ctx.actor(), key, version, *stage,
                                                       archive.value_or(false)));
         }
         res.Json(200, VersionJson(v));
         return Status::Ok();
       }});

  routes.push_back({"DELETE",
                    "/api/v1/models/{id}/versions/{version}",
                    Action::kCreate,
                    "models",
                    "Delete a model version",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(int64_t version, VersionParam(ctx.req));
                      RETURN_IF_ERROR(
                          models->DeleteVersion(ctx.actor(), ctx.req.Param("id"), version));
                      res.NoContent();
                      return Status::Ok();
                    }});

  routes.push_back({"PUT",
                    "/api/v1/models/{id}/aliases/{alias}",
                    Action::kCreate,
                    "models",
                    "Point an alias at a version (overwrites)",
                    true,
                    200,
                    "AliasSet",
                    "ModelVersion",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto version = r.Int("version", true, 1, INT64_MAX);
                      RETURN_IF_ERROR(r.Finish());
                      std::string key = ctx.req.Param("id");
                      std::string alias = ctx.req.Param("alias");
                      RETURN_IF_ERROR(models->SetAlias(ctx.actor(), key, alias, *version));
                      ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetByAlias(key, alias));
                      res.Json(200, VersionJson(v));
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/models/{id}/aliases/{alias}",
                    Action::kRead,
                    "models",
                    "The version an alias points at",
                    false,
                    200,
                    "",
                    "ModelVersion",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(
                          ModelVersionRecord v,
                          models->GetByAlias(ctx.req.Param("id"), ctx.req.Param("alias")));
                      res.Json(200, VersionJson(v));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/models/{id}/aliases/{alias}",
                    Action::kCreate,
                    "models",
                    "Delete an alias",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      std::string alias = ctx.req.Param("alias");
                      ASSIGN_OR_RETURN(
                          bool found, models->DeleteAlias(ctx.actor(), ctx.req.Param("id"), alias));
                      if (!found) return NotFound("alias '" + alias + "' does not exist");
                      res.NoContent();
                      return Status::Ok();
                    }});

  routes.push_back({"PUT",
                    "/api/v1/models/{id}/tags/{key}",
                    Action::kCreate,
                    "models",
                    "Set a model tag",
                    true,
                    200,
                    "TagSet",
                    "Model",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto value = r.String("value", true, 5000);
                      RETURN_IF_ERROR(r.Finish());
                      std::string key = ctx.req.Param("id");
                      RETURN_IF_ERROR(
                          models->SetTag(ctx.actor(), key, ctx.req.Param("key"), *value));
                      ASSIGN_OR_RETURN(ModelRecord m, models->Get(key));
                      res.Json(200, ModelJson(m));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/models/{id}/tags/{key}",
                    Action::kCreate,
                    "models",
                    "Delete a model tag",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      std::string tag = ctx.req.Param("key");
                      ASSIGN_OR_RETURN(bool found,
                                       models->DeleteTag(ctx.actor(), ctx.req.Param("id"), tag));
                      if (!found) return NotFound("tag '" + tag + "' does not exist");
                      res.NoContent();
                      return Status::Ok();
                    }});

  routes.push_back({"PUT",
                    "/api/v1/models/{id}/versions/{version}/tags/{key}",
                    Action::kCreate,
                    "models",
                    "Set a model version tag",
                    true,
                    200,
                    "TagSet",
                    "ModelVersion",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto value = r.String("value", true, 5000);
                      RETURN_IF_ERROR(r.Finish());
                      ASSIGN_OR_RETURN(int64_t version, VersionParam(ctx.req));
                      std::string key = ctx.req.Param("id");
                      RETURN_IF_ERROR(models->SetVersionTag(ctx.actor(), key, version,
                                                            ctx.req.Param("key"), *value));
                      ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetVersion(key, version));
                      res.Json(200, VersionJson(v));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/models/{id}/versions/{version}/tags/{key}",
                    Action::kCreate,
                    "models",
                    "Delete a model version tag",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [models](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(int64_t version, VersionParam(ctx.req));
                      std::string tag = ctx.req.Param("key");
                      ASSIGN_OR_RETURN(
                          bool found,
                          models->DeleteVersionTag(ctx.actor(), ctx.req.Param("id"), version, tag));
                      if (!found) return NotFound("tag '" + tag + "' does not exist");
                      res.NoContent();
                      return Status::Ok();
                    }});
}

}  // namespace studio::api
