// MLflow's model registry REST API (reference/registry_serving.md §1.3-1.5), an adapter over
// registry::Models. MLflow conventions exactly: snake_case, int64 timestamps as JSON numbers,
// `version` as a string, unset fields omitted, errors {"error_code","message"} with
// RESOURCE_ALREADY_EXISTS (HTTP 400) for duplicates. Models created here belong to the
// project named `default`.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "api/router.h"
#include "registry/models.h"

namespace studio::api {
namespace {

using nlohmann::json;
using store::ModelRecord;
using store::ModelVersionRecord;

constexpr const char* kPrefixes[] = {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"};

Status Missing(const std::string& name) {
  return InvalidArgument("Missing value for required parameter '" + name +
                         "'. See the API docs for more information about request parameters.")
      .WithDetail(name, "required");
}

Status WrongType(const std::string& name, const std::string& expected) {
  return InvalidArgument("Invalid value for parameter '" + name + "': expected " + expected)
      .WithDetail(name, "must be " + expected);
}

// Request fields: the query string for GET, the JSON body otherwise. Unknown fields are
// ignored, as MLflow's protobuf parsing does (newer clients send newer fields).
class Params {
 public:
  explicit Params(const RequestContext& ctx) : ctx_(ctx), get_(ctx.req.method == "GET") {}

  Result<std::optional<std::string>> Optional(const std::string& name, size_t max_len = 65536) {
    std::optional<std::string> out;
    if (get_) {
      if (ctx_.req.HasQuery(name)) out = ctx_.req.Query(name);
    } else if (ctx_.body) {
      auto it = ctx_.body->find(name);
      if (it != ctx_.body->end() && !it->is_null()) {
        if (it->is_string())
          out = it->get<std::string>();
        else if (it->is_number_integer() && name == "version")
          out = std::to_string(it->get<int64_t>());
        else
          return WrongType(name, "a string");
      }
    }
    if (out && out->size() > max_len)
      return InvalidArgument("Parameter '" + name + "' exceeds the maximum length of " +
                             std::to_string(max_len))
          .WithDetail(name, "too long");
    return out;
  }

  Result<std::string> Required(const std::string& name, size_t max_len = 65536) {
    ASSIGN_OR_RETURN(auto v, Optional(name, max_len));
    if (!v || v->empty()) return Missing(name);
    return *v;
  }

  // Required but may be empty (tag values).
  Result<std::string> Present(const std::string& name, size_t max_len) {
    ASSIGN_OR_RETURN(auto v, Optional(name, max_len));
    if (!v) return Missing(name);
    return *v;
  }

  Result<int64_t> Version() {
    ASSIGN_OR_RETURN(std::string v, Required("version", 32));
    return registry::ParseVersion(v);
  }

  Result<std::optional<bool>> Bool(const std::string& name) {
    if (get_) {
      if (!ctx_.req.HasQuery(name)) return std::optional<bool>();
      std::string v = ctx_.req.Query(name);
      if (v == "true" || v == "True") return std::optional<bool>(true);
      if (v == "false" || v == "False") return std::optional<bool>(false);
      return WrongType(name, "true or false");
    }
    auto it = ctx_.body->find(name);
    if (it == ctx_.body->end() || it->is_null()) return std::optional<bool>();
    if (it->is_boolean()) return std::optional<bool>(it->get<bool>());
    if (it->is_string() && (*it == "true" || *it == "false"))
      return std::optional<bool>(*it == "true");
    return WrongType(name, "a boolean");
  }

  Result<std::vector<std::string>> List(const std::string& name) {
    std::vector<std::string> out;
    if (get_) {
      auto [b, e] = ctx_.req.query.equal_range(name);
      for (auto it = b; it != e; ++it) out.push_back(it->second);
    } else if (ctx_.body) {
      auto it = ctx_.body->find(name);
      if (it != ctx_.body->end() && !it->is_null()) {
        if (!it->is_array()) return WrongType(name, "a list of strings");
        for (const auto& x : *it) {
          if (!x.is_string()) return WrongType(name, "a list of strings");
          out.push_back(x.get<std::string>());
        }
      }
    }
    if (out.size() > 100) return WrongType(name, "at most 100 entries");
    return out;
  }

  Result<int> MaxResults(int def, int max) {
    ASSIGN_OR_RETURN(auto v, Optional("max_results", 32));
    if (!v && !get_ && ctx_.body) {
      auto it = ctx_.body->find("max_results");
      if (it != ctx_.body->end() && it->is_number_integer()) v = std::to_string(it->get<int64_t>());
    }
    if (!v) return def;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < 1 || n > max)
      return InvalidArgument("Invalid value " + *v +
                             " for parameter 'max_results' supplied. It must be an integer from "
                             "1 to " +
                             std::to_string(max))
          .WithDetail("max_results", "out of range");
    return static_cast<int>(n);
  }

  // `tags: [{"key": ..., "value": ...}]`
  Result<std::map<std::string, std::string>> Tags() {
    std::map<std::string, std::string> out;
    if (get_ || !ctx_.body) return out;
    auto it = ctx_.body->find("tags");
    if (it == ctx_.body->end() || it->is_null()) return out;
    if (!it->is_array()) return WrongType("tags", "a list of {key, value}");
    for (const auto& t : *it) {
      if (!t.is_object() || !t.contains("key") || !t["key"].is_string() ||
          (t.contains("value") && !t["value"].is_string()))
        return WrongType("tags", "a list of {key, value} with string keys and values");
      out[t["key"].get<std::string>()] = t.value("value", "");
    }
    return out;
  }

 private:
  const RequestContext& ctx_;
  bool get_;
};

json TagList(const std::map<std::string, std::string>& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back({{"key", k}, {"value", v}});
  return out;
}

json VersionJson(const ModelVersionRecord& v) {
  json out = {{"name", v.name},
              {"version", std::to_string(v.version)},
              {"creation_timestamp", v.created_at},
              {"last_updated_timestamp", v.updated_at},
              {"current_stage", v.current_stage},
              {"source", v.source},
              {"status", v.status}};
  if (!v.user_id.empty()) out["user_id"] = v.user_id;
  if (!v.description.empty()) out["description"] = v.description;
  if (!v.run_id.empty()) out["run_id"] = v.run_id;
  if (!v.status_message.empty()) out["status_message"] = v.status_message;
  if (!v.run_link.empty()) out["run_link"] = v.run_link;
  if (!v.tags.empty()) out["tags"] = TagList(v.tags);
  if (!v.aliases.empty()) out["aliases"] = v.aliases;
  return out;
}

json ModelJson(const ModelRecord& m) {
  json out = {{"name", m.name},
              {"creation_timestamp", m.created_at},
              {"last_updated_timestamp", m.updated_at}};
  if (!m.description.empty()) out["description"] = m.description;
  if (!m.latest_versions.empty()) {
    json lv = json::array();
    for (const auto& v : m.latest_versions) lv.push_back(VersionJson(v));
    out["latest_versions"] = lv;
  }
  if (!m.tags.empty()) out["tags"] = TagList(m.tags);
  if (!m.aliases.empty()) {
    json aliases = json::array();
    for (const auto& [alias, version] : m.aliases)
      aliases.push_back({{"alias", alias}, {"version", std::to_string(version)}});
    out["aliases"] = aliases;
  }
  return out;
}

// MLflow reports a duplicate as RESOURCE_ALREADY_EXISTS (HTTP 400), the native API as 409.
Handler Mlflow(Handler h) {
  return [h = std::move(h)](RequestContext& ctx, HttpResponse& res) -> Status {
    Status st = h(ctx, res);
    if (st.code() == ErrorCode::kAlreadyExists)
      return Status(ErrorCode::kResourceAlreadyExists, st.message());
    return st;
  };
}

struct Adder {
  RouteTable& routes;
  void operator()(const std::string& method, const std::string& suffix, auth::Action action,
                  const std::string& summary, const std::string& response_schema,
                  std::vector<std::string> query_params, Handler h) {
    bool get = method == "GET";
    Handler wrapped = Mlflow(std::move(h));
    for (const char* prefix : kPrefixes)
      routes.push_back({method, std::string(prefix) + suffix, action, "mlflow-registry", summary,
                        !get, 200, get ? "" : "MlflowRegistryRequest", response_schema,
                        get ? query_params : std::vector<std::string>{}, wrapped});
  }
};

Status Empty(HttpResponse& res) {
  res.Json(200, json::object());
  return Status::Ok();
}

}  // namespace

void AddMlflowRegistryRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  auto models = std::make_shared<registry::Models>(s.store, s.config.ArtifactsUri());
  Adder add{routes};
  const std::vector<std::string> kName = {"name"};
  const std::vector<std::string> kNameVersion = {"name", "version"};

  // ---- registered models -------------------------------------------------------------------
  add("POST", "/registered-models/create", Action::kCreate, "Create a registered model",
      "MlflowRegisteredModel", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        registry::ModelInput in;
        ASSIGN_OR_RETURN(in.name, p.Required("name", 256));
        ASSIGN_OR_RETURN(in.description, p.Optional("description"));
        ASSIGN_OR_RETURN(in.tags, p.Tags());
        ASSIGN_OR_RETURN(ModelRecord m, models->Create(ctx.actor(), in));
        res.Json(200, {{"registered_model", ModelJson(m)}});
        return Status::Ok();
      });
  add("POST", "/registered-models/rename", Action::kCreate, "Rename a registered model",
      "MlflowRegisteredModel", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string new_name, p.Required("new_name", 256));
        ASSIGN_OR_RETURN(ModelRecord m, models->Rename(ctx.actor(), name, new_name));
        res.Json(200, {{"registered_model", ModelJson(m)}});
        return Status::Ok();
      });
  add("PATCH", "/registered-models/update", Action::kCreate,
      "Update a registered model's description", "MlflowRegisteredModel", {},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(auto description, p.Optional("description"));
        ASSIGN_OR_RETURN(ModelRecord m, models->Update(ctx.actor(), name, description));
        res.Json(200, {{"registered_model", ModelJson(m)}});
        return Status::Ok();
      });
  add("DELETE", "/registered-models/delete", Action::kCreate,
      "Delete a registered model with its versions", "MlflowRegistryEmpty", {},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        RETURN_IF_ERROR(models->Delete(ctx.actor(), name));
        return Empty(res);
      });
  add("GET", "/registered-models/get", Action::kRead, "Get a registered model",
      "MlflowRegisteredModel", kName, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(ModelRecord m, models->Get(name));
        res.Json(200, {{"registered_model", ModelJson(m)}});
        return Status::Ok();
      });
  add("GET", "/registered-models/search", Action::kRead,
      "Search registered models (filter, order_by, max_results, page_token)",
      "MlflowRegisteredModelList", {"filter", "max_results", "order_by", "page_token"},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        registry::SearchRequest req;
        ASSIGN_OR_RETURN(auto filter, p.Optional("filter", 16 * 1024));
        req.filter = filter.value_or("");
        ASSIGN_OR_RETURN(req.max_results, p.MaxResults(100, 1000));
        ASSIGN_OR_RETURN(req.order_by, p.List("order_by"));
        ASSIGN_OR_RETURN(auto token, p.Optional("page_token", 1024));
        req.page_token = token.value_or("");
        ASSIGN_OR_RETURN(auto page, models->Search(req));
        json out = json::object();
        if (!page.items.empty()) {
          json list = json::array();
          for (const auto& m : page.items) list.push_back(ModelJson(m));
          out["registered_models"] = list;
        }
        if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
        res.Json(200, out);
        return Status::Ok();
      });
  auto latest = [models](RequestContext& ctx, HttpResponse& res) -> Status {
    Params p(ctx);
    ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
    ASSIGN_OR_RETURN(auto stages, p.List("stages"));
    ASSIGN_OR_RETURN(auto versions, models->LatestVersions(name, stages));
    json out = json::object();
    if (!versions.empty()) {
      json list = json::array();
      for (const auto& v : versions) list.push_back(VersionJson(v));
      out["model_versions"] = list;
    }
    res.Json(200, out);
    return Status::Ok();
  };
  add("POST", "/registered-models/get-latest-versions", Action::kRead,
      "Latest version per stage (deprecated with stages)", "MlflowModelVersionList", {}, latest);
  add("GET", "/registered-models/get-latest-versions", Action::kRead,
      "Latest version per stage (deprecated with stages)", "MlflowModelVersionList",
      {"name", "stages"}, latest);
  add("POST", "/registered-models/set-tag", Action::kCreate, "Set a registered model tag",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string key, p.Required("key", 250));
        ASSIGN_OR_RETURN(std::string value, p.Present("value", 5000));
        RETURN_IF_ERROR(models->SetTag(ctx.actor(), name, key, value));
        return Empty(res);
      });
  add("DELETE", "/registered-models/delete-tag", Action::kCreate, "Delete a registered model tag",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string key, p.Required("key", 250));
        // MLflow: deleting an absent tag of an existing model is not an error.
        ASSIGN_OR_RETURN(bool found, models->DeleteTag(ctx.actor(), name, key));
        (void)found;
        return Empty(res);
      });
  add("POST", "/registered-models/alias", Action::kCreate,
      "Point an alias at a version (overwrites)", "MlflowRegistryEmpty", {},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string alias, p.Required("alias", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        RETURN_IF_ERROR(models->SetAlias(ctx.actor(), name, alias, version));
        return Empty(res);
      });
  add("DELETE", "/registered-models/alias", Action::kCreate, "Delete an alias",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string alias, p.Required("alias", 256));
        ASSIGN_OR_RETURN(bool found, models->DeleteAlias(ctx.actor(), name, alias));
        (void)found;  // MLflow: deleting an absent alias is not an error
        return Empty(res);
      });
  add("GET", "/registered-models/alias", Action::kRead, "The version an alias points at",
      "MlflowModelVersion", {"name", "alias"},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(std::string alias, p.Required("alias", 256));
        ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetByAlias(name, alias));
        res.Json(200, {{"model_version", VersionJson(v)}});
        return Status::Ok();
      });

  // ---- model versions ----------------------------------------------------------------------
  add("POST", "/model-versions/create", Action::kCreate,
      "Create a model version (source confined to the artifact store)", "MlflowModelVersion", {},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        registry::VersionInput in;
        ASSIGN_OR_RETURN(in.model, p.Required("name", 256));
        ASSIGN_OR_RETURN(in.source, p.Required("source", 4096));
        ASSIGN_OR_RETURN(auto run_id, p.Optional("run_id", 256));
        in.run_id = run_id.value_or("");
        ASSIGN_OR_RETURN(auto run_link, p.Optional("run_link", 4096));
        in.run_link = run_link.value_or("");
        ASSIGN_OR_RETURN(auto description, p.Optional("description"));
        in.description = description.value_or("");
        ASSIGN_OR_RETURN(in.tags, p.Tags());
        ASSIGN_OR_RETURN(ModelVersionRecord v, models->CreateVersion(ctx.actor(), in));
        res.Json(200, {{"model_version", VersionJson(v)}});
        return Status::Ok();
      });
  add("PATCH", "/model-versions/update", Action::kCreate, "Update a model version's description",
      "MlflowModelVersion", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(auto description, p.Optional("description"));
        ASSIGN_OR_RETURN(ModelVersionRecord v,
                         models->UpdateVersion(ctx.actor(), name, version, description));
        res.Json(200, {{"model_version", VersionJson(v)}});
        return Status::Ok();
      });
  add("POST", "/model-versions/transition-stage", Action::kCreate,
      "Move a version to a stage (deprecated since MLflow 2.9)", "MlflowModelVersion", {},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(std::string stage, p.Required("stage", 64));
        ASSIGN_OR_RETURN(auto archive, p.Bool("archive_existing_versions"));
        if (!archive) return Missing("archive_existing_versions");
        ASSIGN_OR_RETURN(ModelVersionRecord v,
                         models->TransitionStage(ctx.actor(), name, version, stage, *archive));
        res.Json(200, {{"model_version", VersionJson(v)}});
        return Status::Ok();
      });
  add("DELETE", "/model-versions/delete", Action::kCreate, "Delete a model version",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        RETURN_IF_ERROR(models->DeleteVersion(ctx.actor(), name, version));
        return Empty(res);
      });
  add("GET", "/model-versions/get", Action::kRead, "Get a model version", "MlflowModelVersion",
      kNameVersion, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetVersion(name, version));
        res.Json(200, {{"model_version", VersionJson(v)}});
        return Status::Ok();
      });
  add("GET", "/model-versions/search", Action::kRead, "Search model versions (aliases included)",
      "MlflowModelVersionList", {"filter", "max_results", "order_by", "page_token"},
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        registry::SearchRequest req;
        ASSIGN_OR_RETURN(auto filter, p.Optional("filter", 16 * 1024));
        req.filter = filter.value_or("");
        ASSIGN_OR_RETURN(req.max_results, p.MaxResults(10000, 200000));
        ASSIGN_OR_RETURN(req.order_by, p.List("order_by"));
        ASSIGN_OR_RETURN(auto token, p.Optional("page_token", 1024));
        req.page_token = token.value_or("");
        ASSIGN_OR_RETURN(auto page, models->SearchVersions(req));
        json out = json::object();
        if (!page.items.empty()) {
          json list = json::array();
          for (const auto& v : page.items) list.push_back(VersionJson(v));
          out["model_versions"] = list;
        }
        if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
        res.Json(200, out);
        return Status::Ok();
      });
  add("GET", "/model-versions/get-download-uri", Action::kRead, "Where a version's artifacts are",
      "MlflowDownloadUri", kNameVersion,
      [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(ModelVersionRecord v, models->GetVersion(name, version));
        res.Json(200, {{"artifact_uri", v.source}});
        return Status::Ok();
      });
  add("POST", "/model-versions/set-tag", Action::kCreate, "Set a model version tag",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(std::string key, p.Required("key", 250));
        ASSIGN_OR_RETURN(std::string value, p.Present("value", 5000));
        RETURN_IF_ERROR(models->SetVersionTag(ctx.actor(), name, version, key, value));
        return Empty(res);
      });
  add("DELETE", "/model-versions/delete-tag", Action::kCreate, "Delete a model version tag",
      "MlflowRegistryEmpty", {}, [models](RequestContext& ctx, HttpResponse& res) -> Status {
        Params p(ctx);
        ASSIGN_OR_RETURN(std::string name, p.Required("name", 256));
        ASSIGN_OR_RETURN(int64_t version, p.Version());
        ASSIGN_OR_RETURN(std::string key, p.Required("key", 250));
        ASSIGN_OR_RETURN(bool found, models->DeleteVersionTag(ctx.actor(), name, version, key));
        (void)found;
        return Empty(res);
      });
}

}  // namespace studio::api
