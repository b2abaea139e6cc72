// MLflow tracking REST (mlflow/protos/service.proto), the calls a registry client needs, at
// /api/2.0/mlflow/... and /ajax-api/2.0/mlflow/... with MLflow's own conventions: snake_case,
// ids as strings, int64 timestamps as JSON numbers, unset fields and empty lists omitted,
// unknown request fields ignored (protobuf JSON parsing), MLflow's error codes.
#include <cmath>
#include <nlohmann/json.hpp>

#include "api/router.h"
#include "artifacts/artifact_store.h"
#include "registry/tracking.h"

namespace studio::api {
namespace {

using nlohmann::json;

// Reads MLflow request fields from a JSON body or a query string, collecting problems.
class Fields {
 public:
  explicit Fields(const RequestContext& ctx) : ctx_(ctx), body_(ctx.body) {}

  std::optional<std::string> Str(const std::string& name, bool required = false) {
    if (body_) {
      auto it = body_->find(name);
      if (it == body_->end() || it->is_null()) return Missing(name, required);
      if (!it->is_string()) return Problem(name, "must be a string");
      return it->get<std::string>();
    }
    if (!ctx_.req.HasQuery(name)) return Missing(name, required);
    return ctx_.req.Query(name);
  }
  // int64 fields: JSON numbers, or decimal strings (protobuf's JSON mapping of int64).
  std::optional<int64_t> Int(const std::string& name, bool required = false) {
    std::optional<std::string> text;
    if (body_) {
      auto it = body_->find(name);
      if (it == body_->end() || it->is_null()) return MissingT<int64_t>(name, required);
      if (it->is_number_integer()) return it->get<int64_t>();
      if (it->is_number_float()) {
        double d = it->get<double>();
        if (std::floor(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
        return ProblemT<int64_t>(name, "must be an integer");
      }
      if (!it->is_string()) return ProblemT<int64_t>(name, "must be an integer");
      text = it->get<std::string>();
    } else {
      if (!ctx_.req.HasQuery(name)) return MissingT<int64_t>(name, required);
      text = ctx_.req.Query(name);
    }
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || errno == ERANGE)
      return ProblemT<int64_t>(name, "must be an integer");
    return static_cast<int64_t>(v);
  }
  std::optional<double> Double(const json& v, const std::string& name) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return d;
    }
    return ProblemT<double>(name, "must be a number");
  }
  std::vector<std::string> StrList(const std::string& name) {
    std::vector<std::string> out;
    if (body_) {
      auto it = body_->find(name);
      if (it == body_->end() || it->is_null()) return out;
      if (it->is_string()) return {it->get<std::string>()};
      if (!it->is_array()) {
        Problem(name, "must be a list of strings");
        return out;
      }
      for (const auto& v : *it) {
        if (!v.is_string()) {
          Problem(name, "must be a list of strings");
          return {};
        }
        out.push_back(v.get<std::string>());
      }
      return out;
    }
    auto range = ctx_.req.query.equal_range(name);
    for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
    return out;
  }
  // [{key, value}] lists; a missing value means "" (protobuf's default).
  std::vector<registry::KeyValue> KeyValues(const std::string& name) {
    std::vector<registry::KeyValue> out;
    if (!body_) return out;
    auto it = body_->find(name);
    if (it == body_->end() || it->is_null()) return out;
    if (!it->is_array()) {
      Problem(name, "must be a list of {key, value} objects");
      return out;
    }
    for (const auto& v : *it) {
      if (!v.is_object() || !v.contains("key") || !v["key"].is_string() ||
          (v.contains("value") && !v["value"].is_string() && !v["value"].is_null())) {
        Problem(name, "must be a list of {key, value} objects with string values");
        return {};
      }
      out.push_back({v["key"].get<std::string>(), v.contains("value") && v["value"].is_string()
                                                      ? v["value"].get<std::string>()
                                                      : ""});
    }
    return out;
  }
  const json* Raw(const std::string& name) {
    if (!body_) return nullptr;
    auto it = body_->find(name);
    return it == body_->end() ? nullptr : &*it;
  }
  // run_id, or the deprecated run_uuid.
  std::string RunId() {
    auto id = Str("run_id");
    if (!id || id->empty()) id = Str("run_uuid");
    if (!id || id->empty()) {
      Missing("run_id", true);
      return "";
    }
    return *id;
  }
  std::optional<std::string> Problem(const std::string& name, const std::string& what) {
    if (problem_.ok())
      problem_ = InvalidArgument("Invalid value for parameter '" + name + "': " + what)
                     .WithDetail(name, what);
    return std::nullopt;
  }
  template <typename T>
  std::optional<T> ProblemT(const std::string& name, const std::string& what) {
    Problem(name, what);
    return std::nullopt;
  }
  Status Finish() const { return problem_; }

 private:
  std::optional<std::string> Missing(const std::string& name, bool required) {
    if (required && problem_.ok())
      problem_ = InvalidArgument("Missing value for required parameter '" + name + "'.")
                     .WithDetail(name, "required");
    return std::nullopt;
  }
  template <typename T>
  std::optional<T> MissingT(const std::string& name, bool required) {
    Missing(name, required);
    return std::nullopt;
  }

  const RequestContext& ctx_;
  const json* body_;
  Status problem_;
};

json KeyValuesJson(const std::map<std::string, std::string>& m) {
  json out = json::array();
  for (const auto& [k, v] : m) out.push_back({{"key", k}, {"value", v}});
  return out;
}

json ExperimentJson(const store::ExperimentRecord& e) {
  json j = {
      {"experiment_id", std::to_string(e.experiment_id)}, {"name", e.name},
      {"artifact_location", e.artifact_location},         {"lifecycle_stage", e.lifecycle_stage},
      {"last_update_time", e.last_update_time},           {"creation_time", e.creation_time}};
  if (!e.tags.empty()) j["tags"] = KeyValuesJson(e.tags);
  return j;
}

json MetricJson(const store::MetricRecord& m) {
  return {{"key", m.key}, {"value", m.value}, {"timestamp", m.timestamp}, {"step", m.step}};
}

json RunInfoJson(const store::RunRecord& r) {
  json j = {{"run_uuid", r.run_uuid},
            {"run_id", r.run_uuid},
            {"experiment_id", std::to_string(r.experiment_id)},
            {"run_name", r.run_name},
            {"user_id", r.user_id},
            {"status", r.status},
            {"start_time", r.start_time},
            {"artifact_uri", r.artifact_uri},
            {"lifecycle_stage", r.lifecycle_stage}};
  if (r.end_time != 0) j["end_time"] = r.end_time;
  return j;
}

json RunJson(const store::RunRecord& r) {
  json data = json::object();
  if (!r.latest_metrics.empty()) {
    json metrics = json::array();
    for (const auto& m : r.latest_metrics) metrics.push_back(MetricJson(m));
    data["metrics"] = std::move(metrics);
  }
  if (!r.params.empty()) data["params"] = KeyValuesJson(r.params);
  if (!r.tags.empty()) data["tags"] = KeyValuesJson(r.tags);
  return {{"info", RunInfoJson(r)}, {"data", std::move(data)}, {"inputs", json::object()}};
}

// The MLflow adapter's one translation: a duplicate is RESOURCE_ALREADY_EXISTS (HTTP 400).
Handler Mlflow(Handler h) {
  return [h = std::move(h)](RequestContext& ctx, HttpResponse& res) -> Status {
    Status st = h(ctx, res);
    if (st.code() == ErrorCode::kAlreadyExists)
      return Status(ErrorCode::kResourceAlreadyExists, st.message());
    return st;
  };
}

registry::SearchRequest ReadSearch(Fields& f, bool runs) {
  registry::SearchRequest req;
  if (runs) req.experiment_ids = f.StrList("experiment_ids");
  req.filter = f.Str("filter").value_or("");
  req.view_type = f.Str(runs ? "run_view_type" : "view_type").value_or("ACTIVE_ONLY");
  req.max_results = static_cast<int>(std::clamp<int64_t>(f.Int("max_results").value_or(1000), -1,
                                                         registry::kMaxSearchResults + 1));
  req.order_by = f.StrList("order_by");
  req.page_token = f.Str("page_token").value_or("");
  return req;
}

// The run's artifact root as a path in the server's artifact store; empty when the run's
// artifacts live elsewhere.
std::string StoreRelativeRoot(const std::string& artifact_uri, const std::string& store_root) {
  const std::string proxy = "mlflow-artifacts:/";
  std::string base = store_root;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string rel;
  if (artifact_uri.rfind(proxy, 0) == 0)
    rel = artifact_uri.substr(proxy.size());
  else if (artifact_uri.rfind(base + "/", 0) == 0)
    rel = artifact_uri.substr(base.size() + 1);
  else
    return "";
  auto normalized = artifacts::NormalizeArtifactPath(rel);  // defence in depth
  return normalized.ok() ? *normalized : "";
}

void AddTrackingRoutesAt(RouteTable& routes, const std::string& prefix,
                         std::shared_ptr<registry::Tracking> t, Services& s) {
  using auth::Action;
  const std::string base = prefix + "/mlflow";
  auto add = [&](const std::string& method, const std::string& path, Action action,
                 const std::string& summary, const std::string& response,
                 std::vector<std::string> query, Handler h) {
    bool body = method != "GET";
    routes.push_back({method, base + path, action, "mlflow-tracking", summary, body, 200,
                      body ? "MlflowRequest" : "", response, std::move(query),
                      Mlflow(std::move(h))});
  };

  add("POST", "/experiments/create", Action::kCreate, "Create an experiment", "MlflowExperimentId",
      {}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        registry::ExperimentInput in;
        in.name = f.Str("name", true).value_or("");
        in.artifact_location = f.Str("artifact_location");
        in.tags = f.KeyValues("tags");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(std::string id, t->CreateExperiment(ctx.actor(), in));
        res.Json(200, {{"experiment_id", id}});
        return Status::Ok();
      });
  add("GET", "/experiments/get", Action::kRead, "Get an experiment by id", "MlflowExperiment",
      {"experiment_id"}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.Str("experiment_id", true).value_or("");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto e, t->GetExperiment(id));
        res.Json(200, {{"experiment", ExperimentJson(e)}});
        return Status::Ok();
      });
  add("GET", "/experiments/get-by-name", Action::kRead, "Get an experiment by name",
      "MlflowExperiment", {"experiment_name"},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string name = f.Str("experiment_name", true).value_or("");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto e, t->GetExperimentByName(name));
        res.Json(200, {{"experiment", ExperimentJson(e)}});
        return Status::Ok();
      });
  Handler search_experiments = [t](RequestContext& ctx, HttpResponse& res) -> Status {
    Fields f(ctx);
    registry::SearchRequest req = ReadSearch(f, false);
    RETURN_IF_ERROR(f.Finish());
    ASSIGN_OR_RETURN(auto page, t->SearchExperiments(req));
    json out = json::object();
    if (!page.items.empty()) {
      json items = json::array();
      for (const auto& e : page.items) items.push_back(ExperimentJson(e));
      out["experiments"] = std::move(items);
    }
    if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
    res.Json(200, out);
    return Status::Ok();
  };
  add("POST", "/experiments/search", Action::kRead,
      "Search experiments (filter on name, tags; order_by; page_token)", "MlflowExperimentList", {},
      search_experiments);
  add("GET", "/experiments/search", Action::kRead,
      "Search experiments (filter on name, tags; order_by; page_token)", "MlflowExperimentList",
      {"filter", "max_results", "order_by", "page_token", "view_type"}, search_experiments);
  add("POST", "/experiments/set-experiment-tag", Action::kCreate, "Set a tag on an experiment",
      "MlflowEmpty", {}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.Str("experiment_id", true).value_or("");
        registry::KeyValue kv{f.Str("key", true).value_or(""), f.Str("value", true).value_or("")};
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->SetExperimentTag(ctx.actor(), id, kv));
        res.Json(200, json::object());
        return Status::Ok();
      });

  add("POST", "/experiments/update", Action::kCreate, "Rename an experiment", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.Str("experiment_id", true).value_or("");
        std::string name = f.Str("new_name", true).value_or("");
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->RenameExperiment(ctx.actor(), id, name));
        res.Json(200, json::object());
        return Status::Ok();
      });
  for (bool deleted : {true, false}) {
    add("POST", deleted ? "/experiments/delete" : "/experiments/restore", Action::kCreate,
        deleted ? "Mark an experiment and its runs deleted"
                : "Restore a deleted experiment and its runs",
        "MlflowEmpty", {}, [t, deleted](RequestContext& ctx, HttpResponse& res) -> Status {
          Fields f(ctx);
          std::string id = f.Str("experiment_id", true).value_or("");
          RETURN_IF_ERROR(f.Finish());
          RETURN_IF_ERROR(t->SetExperimentStage(ctx.actor(), id, deleted));
          res.Json(200, json::object());
          return Status::Ok();
        });
  }
  add("POST", "/runs/create", Action::kCreate, "Create a run", "MlflowRun", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        registry::RunInput in;
        in.experiment_id = f.Str("experiment_id").value_or("0");
        in.user_id = f.Str("user_id").value_or("");
        in.run_name = f.Str("run_name").value_or("");
        in.start_time = f.Int("start_time");
        in.tags = f.KeyValues("tags");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto r, t->CreateRun(ctx.actor(), in));
        res.Json(200, {{"run", RunJson(r)}});
        return Status::Ok();
      });
  add("GET", "/runs/get", Action::kRead, "Get a run with its latest metrics, params and tags",
      "MlflowRun", {"run_id", "run_uuid"}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto r, t->GetRun(id));
        res.Json(200, {{"run", RunJson(r)}});
        return Status::Ok();
      });
  add("POST", "/runs/update", Action::kCreate, "Update a run's status, end time or name",
      "MlflowRunInfo", {}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        registry::RunUpdate u;
        u.status = f.Str("status");
        u.end_time = f.Int("end_time");
        u.run_name = f.Str("run_name");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto r, t->UpdateRun(ctx.actor(), id, u));
        res.Json(200, {{"run_info", RunInfoJson(r)}});
        return Status::Ok();
      });
  add("POST", "/runs/delete", Action::kCreate, "Mark a run deleted", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->DeleteRun(ctx.actor(), id));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/restore", Action::kCreate, "Restore a deleted run", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->RestoreRun(ctx.actor(), id));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/search", Action::kRead,
      "Search runs (filter on attributes, tags, params, metrics; order_by; page_token)",
      "MlflowRunList", {}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        registry::SearchRequest req = ReadSearch(f, true);
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto page, t->SearchRuns(req));
        json out = json::object();
        if (!page.items.empty()) {
          json items = json::array();
          for (const auto& r : page.items) items.push_back(RunJson(r));
          out["runs"] = std::move(items);
        }
        if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
        res.Json(200, out);
        return Status::Ok();
      });
  add("POST", "/runs/log-metric", Action::kCreate, "Log one metric value", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        store::MetricRecord m;
        m.key = f.Str("key", true).value_or("");
        const json* value = f.Raw("value");
        if (!value || value->is_null())
          f.Problem("value", "required");
        else
          m.value = f.Double(*value, "value").value_or(0);
        m.timestamp = f.Int("timestamp", true).value_or(0);
        m.step = f.Int("step").value_or(0);
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->LogBatch(ctx.actor(), id, {m}, {}, {}));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/log-parameter", Action::kCreate,
      "Log a parameter (immutable: the same value again is a no-op)", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        registry::KeyValue kv{f.Str("key", true).value_or(""), f.Str("value", true).value_or("")};
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->LogBatch(ctx.actor(), id, {}, {kv}, {}));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/set-tag", Action::kCreate, "Set a tag on a run", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        registry::KeyValue kv{f.Str("key", true).value_or(""), f.Str("value", true).value_or("")};
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->LogBatch(ctx.actor(), id, {}, {}, {kv}));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/delete-tag", Action::kCreate, "Delete a tag from a run", "MlflowEmpty", {},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        std::string key = f.Str("key", true).value_or("");
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->DeleteTag(ctx.actor(), id, key));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("POST", "/runs/log-batch", Action::kCreate,
      "Log metrics, params and tags at once (MLflow's limits: 1000 metrics, 100 params, 100 "
      "tags, 1000 in all)",
      "MlflowEmpty", {}, [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        std::vector<store::MetricRecord> metrics;
        if (const json* list = f.Raw("metrics"); list && !list->is_null()) {
          if (!list->is_array()) {
            f.Problem("metrics", "must be a list");
          } else {
            for (const json& m : *list) {
              if (!m.is_object() || !m.contains("key") || !m["key"].is_string() ||
                  !m.contains("value") || !m.contains("timestamp")) {
                f.Problem("metrics", "each metric needs key, value and timestamp");
                break;
              }
              store::MetricRecord rec;
              rec.key = m["key"].get<std::string>();
              rec.value = f.Double(m["value"], "metrics.value").value_or(0);
              const json& ts = m["timestamp"];
              if (ts.is_number_integer())
                rec.timestamp = ts.get<int64_t>();
              else if (ts.is_string() && !ts.get<std::string>().empty() &&
                       ts.get<std::string>().find_first_not_of("-0123456789") == std::string::npos)
                rec.timestamp = std::stoll(ts.get<std::string>());
              else
                f.Problem("metrics.timestamp", "must be an integer");
              if (m.contains("step") && !m["step"].is_null()) {
                if (m["step"].is_number_integer())
                  rec.step = m["step"].get<int64_t>();
                else if (m["step"].is_string() && !m["step"].get<std::string>().empty() &&
                         m["step"].get<std::string>().find_first_not_of("-0123456789") ==
                             std::string::npos)
                  rec.step = std::stoll(m["step"].get<std::string>());
                else
                  f.Problem("metrics.step", "must be an integer");
              }
              metrics.push_back(std::move(rec));
            }
          }
        }
        auto params = f.KeyValues("params");
        auto tags = f.KeyValues("tags");
        RETURN_IF_ERROR(f.Finish());
        RETURN_IF_ERROR(t->LogBatch(ctx.actor(), id, metrics, params, tags));
        res.Json(200, json::object());
        return Status::Ok();
      });
  add("GET", "/artifacts/list", Action::kRead,
      "List a run's artifacts (paths relative to the run's artifact root)", "MlflowArtifactList",
      {"run_id", "run_uuid", "path", "page_token"},
      [t, &s](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        std::string path = f.Str("path").value_or("");
        RETURN_IF_ERROR(f.Finish());
        ASSIGN_OR_RETURN(auto run, t->GetRun(id));
        json out = {{"root_uri", run.artifact_uri}};
        std::string root = StoreRelativeRoot(run.artifact_uri, s.config.ArtifactsUri());
        if (!path.empty()) {
          ASSIGN_OR_RETURN(path, artifacts::NormalizeArtifactPath(path));
        }
        if (root.empty() || !s.artifacts) {
          res.Json(200, out);
          return Status::Ok();
        }
        auto list = s.artifacts->List(path.empty() ? root : root + "/" + path);
        if (!list.ok() && list.status().code() != ErrorCode::kResourceDoesNotExist)
          return list.status();
        if (list.ok() && !list->empty()) {
          json files = json::array();
          for (const auto& e : *list) {
            json j = {{"path", e.path.substr(root.size() + 1)}, {"is_dir", e.is_dir}};
            if (!e.is_dir) j["file_size"] = e.size;
            files.push_back(std::move(j));
          }
          out["files"] = std::move(files);
        }
        res.Json(200, out);
        return Status::Ok();
      });
  add("GET", "/metrics/get-history", Action::kRead, "Every logged value of one metric",
      "MlflowMetricHistory", {"run_id", "run_uuid", "metric_key", "max_results", "page_token"},
      [t](RequestContext& ctx, HttpResponse& res) -> Status {
        Fields f(ctx);
        std::string id = f.RunId();
        std::string key = f.Str("metric_key", true).value_or("");
        int64_t max = f.Int("max_results").value_or(25000);
        std::string token = f.Str("page_token").value_or("");
        RETURN_IF_ERROR(f.Finish());
        if (max < 1 || max > 25000) return InvalidArgument("max_results must be 1-25000");
        ASSIGN_OR_RETURN(auto page, t->MetricHistory(id, key, static_cast<int>(max), token));
        json out = json::object();
        if (!page.items.empty()) {
          json items = json::array();
          for (const auto& m : page.items) items.push_back(MetricJson(m));
          out["metrics"] = std::move(items);
        }
        if (!page.next_page_token.empty()) out["next_page_token"] = page.next_page_token;
        res.Json(200, out);
        return Status::Ok();
      });
}

}  // namespace

void AddMlflowTrackingRoutes(RouteTable& routes, Services& s) {
  auto tracking = std::make_shared<registry::Tracking>(s.store, s.config.ArtifactsUri());
  AddTrackingRoutesAt(routes, "/api/2.0", tracking, s);
  AddTrackingRoutesAt(routes, "/ajax-api/2.0", tracking, s);
}

}  // namespace studio::api
