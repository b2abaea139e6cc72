#include "registry/models.h"

#include <soci/soci.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "registry/filter.h"
#include "registry/source_uri.h"
#include "store/projects_repo.h"

namespace studio::registry {
namespace {

using store::ModelRecord;
using store::ModelVersionRecord;

Status Bad(const std::string& field, const std::string& problem) {
  return InvalidArgument(field + ": " + problem).WithDetail(field, problem);
}

Status Audit(store::Tx& tx, const auth::Actor& actor, const std::string& action,
             const std::string& type, const std::string& id, const nlohmann::json& details) {
  return audit::Append(tx, {actor.username, action, type, id, actor.request_id, details.dump()});
}

std::string VersionResource(const ModelRecord& m, int64_t version) {
  return m.id + "/" + std::to_string(version);
}

Result<ModelRecord> Resolve(store::Models& repo, const std::string& key) {
  auto m = repo.GetModel(key);
  if (m.ok() || m.status().code() != ErrorCode::kResourceDoesNotExist) return m;
  auto by_id = repo.GetModelById(key);
  if (by_id.ok()) return by_id;
  return m;
}

Status ValidateTag(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > 250) return Bad("key", "tag keys must be 1-250 bytes");
  if (value.size() > 5000) return Bad("value", "tag values must be at most 5000 bytes");
  return Status::Ok();
}

Status ValidateTags(const std::map<std::string, std::string>& tags) {
  if (tags.size() > 100) return Bad("tags", "at most 100 tags");
  for (const auto& [k, v] : tags) RETURN_IF_ERROR(ValidateTag(k, v));
  return Status::Ok();
}

Status ValidateDescription(const std::string& d) {
  if (d.size() > 64 * 1024) return Bad("description", "must be at most 65536 bytes");
  return Status::Ok();
}

Status ValidateJson(const std::string& field, const std::string& text) {
  if (text.empty()) return Status::Ok();
  if (text.size() > 1024 * 1024) return Bad(field, "must be at most 1 MiB");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !(j.is_object() || j.is_array())) return Bad(field, "must be JSON");
  return Status::Ok();
}

std::string EncodeOffset(int64_t offset) {
  return crypto::Base64Encode(nlohmann::json{{"offset", offset}}.dump());
}

Result<int64_t> DecodeOffset(const std::string& token) {
  if (token.empty()) return static_cast<int64_t>(0);
  auto raw = token.size() <= 256 ? crypto::Base64Decode(token) : Result<std::string>(Status());
  if (raw.ok()) {
    auto j = nlohmann::json::parse(*raw, nullptr, false);
    if (j.is_object() && j.contains("offset") && j["offset"].is_number_integer() &&
        j["offset"].get<int64_t>() >= 0)
      return j["offset"].get<int64_t>();
  }
  return InvalidArgument("Invalid page token, could not base64-decode")
      .WithDetail("page_token", "invalid");
}

bool IsSqlite(store::Tx& tx) { return tx.session().get_backend_name() == "sqlite3"; }

}  // namespace

Status ValidateModelName(const std::string& name) {
  if (name.empty()) return Bad("name", "Registered model name cannot be empty");
  if (name.size() > 256) return Bad("name", "must be at most 256 bytes");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Bad("name", "must not contain control characters");
    // models:/<name>/<version> URIs could not be parsed back.
    if (c == '/') return Bad("name", "must not contain '/'");
  }
  return Status::Ok();
}

Status ValidateAlias(const std::string& alias) {
  if (alias.empty() || alias.size() > 256) return Bad("alias", "must be 1-256 bytes");
  for (char c : alias)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      return Bad("alias", "may contain only letters, digits, '_' and '-'");
  if (ToLower(alias) == "latest") return Bad("alias", "'latest' is reserved");
  if ((alias[0] == 'v' || alias[0] == 'V') && alias.size() > 1 &&
      alias.find_first_not_of("0123456789", 1) == std::string::npos)
    return Bad("alias", "names like 'v<number>' are reserved for versions");
  return Status::Ok();
}

Result<std::string> CanonicalStage(const std::string& stage) {
  for (const char* s : {"None", "Staging", "Production", "Archived"})
    if (ToLower(stage) == ToLower(s)) return std::string(s);
  return Bad("stage", "Invalid Model Version stage: " + stage +
                          ". Value must be one of None, Staging, Production, Archived.");
}

Result<int64_t> ParseVersion(const std::string& v) {
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(v) < 1)
    return Bad("version", "Model version must be a positive integer, got '" + v + "'");
  return static_cast<int64_t>(std::stoll(v));
}

Result<ModelRecord> Models::Create(const auth::Actor& actor, const ModelInput& in) {
  RETURN_IF_ERROR(ValidateModelName(in.name));
  RETURN_IF_ERROR(ValidateTags(in.tags));
  RETURN_IF_ERROR(ValidateDescription(in.description.value_or("")));
  ModelRecord m;
  m.id = NewUuidV7();
  m.name = in.name;
  m.description = in.description.value_or("");
  m.user_id = actor.username;
  m.created_at = m.updated_at = NowMillis();
  m.tags = in.tags;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    if (in.project.empty()) {
      bool created = false;
      ASSIGN_OR_RETURN(m.project_id,
                       repo.EnsureProject(kDefaultProject, actor.username, m.created_at, &created));
      if (created)
        RETURN_IF_ERROR(Audit(tx, actor, "project.create", "project", m.project_id,
                              {{"name", kDefaultProject}, {"owner", actor.username}}));
    } else {
      ASSIGN_OR_RETURN(store::ProjectRecord p, store::Projects(tx).Get(in.project));
      m.project_id = p.id;
    }
    Status st = repo.InsertModel(m);
    if (st.code() == ErrorCode::kAlreadyExists)
      return Status(ErrorCode::kAlreadyExists,
                    "Registered Model (name=" + m.name + ") already exists.");
    RETURN_IF_ERROR(st);
    return Audit(tx, actor, "registered_model.create", "registered_model", m.id,
                 {{"name", m.name}, {"project_id", m.project_id}, {"tags", m.tags}});
  }));
  return m;
}

Result<ModelRecord> Models::Rename(const auth::Actor& actor, const std::string& model,
                                   const std::string& new_name) {
  RETURN_IF_ERROR(ValidateModelName(new_name));
  ModelRecord m;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(m, Resolve(repo, model));
    std::string old = m.name;
    m.name = new_name;
    m.updated_at = NowMillis();
    Status st = repo.UpdateModel(m);
    if (st.code() == ErrorCode::kAlreadyExists)
      return Status(ErrorCode::kAlreadyExists,
                    "Registered Model (name=" + new_name + ") already exists.");
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(Audit(tx, actor, "registered_model.rename", "registered_model", m.id,
                          {{"name", new_name}, {"old_name", old}}));
    std::vector<ModelRecord> one{m};
    RETURN_IF_ERROR(repo.LoadModelExtras(one));
    m = one.front();
    return Status::Ok();
  }));
  return m;
}

Result<ModelRecord> Models::Update(const auth::Actor& actor, const std::string& model,
                                   const std::optional<std::string>& description) {
  if (description) RETURN_IF_ERROR(ValidateDescription(*description));
  ModelRecord m;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(m, Resolve(repo, model));
    if (description) m.description = *description;
    m.updated_at = NowMillis();
    RETURN_IF_ERROR(repo.UpdateModel(m));
    nlohmann::json changed = nlohmann::json::object();
    if (description) changed["description"] = *description;
    RETURN_IF_ERROR(Audit(tx, actor, "registered_model.update", "registered_model", m.id,
                          {{"name", m.name}, {"changed", changed}}));
    std::vector<ModelRecord> one{m};
    RETURN_IF_ERROR(repo.LoadModelExtras(one));
    m = one.front();
    return Status::Ok();
  }));
  return m;
}

Status Models::Delete(const auth::Actor& actor, const std::string& model) {
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    RETURN_IF_ERROR(repo.DeleteModel(m.id));
    return Audit(tx, actor, "registered_model.delete", "registered_model", m.id,
                 {{"name", m.name}});
  });
}

namespace {

// Narrows a compiled search to one project (id or name); no-op when `project` is empty.
Status RestrictToProject(store::Tx& tx, const std::string& project, store::SqlQuery* q) {
  if (project.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(store::ProjectRecord p, store::Projects(tx).Get(project));
  store::SqlParam param;
  param.name = "project";
  param.text = p.id;
  q->params.push_back(param);
  q->where = "(" + q->where + ") AND m.project_id = :project";
  return Status::Ok();
}

}  // namespace

Result<ModelRecord> Models::Get(const std::string& model) {
  Result<ModelRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    std::vector<ModelRecord> one{m};
    RETURN_IF_ERROR(repo.LoadModelExtras(one));
    out = one.front();
    return Status::Ok();
  }));
  return out;
}

Result<Page<ModelRecord>> Models::Search(const SearchRequest& req) {
  if (req.max_results < 1 || req.max_results > 1000)
    return Bad("max_results",
               "Invalid value for request parameter max_results. It must be at "
               "most 1000, but got value " +
                   std::to_string(req.max_results));
  ASSIGN_OR_RETURN(Filter filter, ParseFilter(req.filter, FilterTarget::kModels));
  ASSIGN_OR_RETURN(std::string order, CompileOrderBy(req.order_by, FilterTarget::kModels));
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(req.page_token));
  Page<ModelRecord> page;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::SqlQuery q = CompileFilter(filter, FilterTarget::kModels, IsSqlite(tx));
    q.order_by = order;
    RETURN_IF_ERROR(RestrictToProject(tx, req.project, &q));
    store::Models repo(tx);
    ASSIGN_OR_RETURN(page.items, repo.SearchModels(q, req.max_results + 1, offset));
    if (static_cast<int>(page.items.size()) > req.max_results) {
      page.items.pop_back();
      page.next_page_token = EncodeOffset(offset + req.max_results);
    }
    return repo.LoadModelExtras(page.items);
  }));
  return page;
}

Status Models::SetTag(const auth::Actor& actor, const std::string& model, const std::string& key,
                      const std::string& value) {
  RETURN_IF_ERROR(ValidateTag(key, value));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    RETURN_IF_ERROR(repo.SetModelTag(m.id, key, value));
    RETURN_IF_ERROR(repo.TouchModel(m.id, NowMillis()));
    return Audit(tx, actor, "registered_model.set_tag", "registered_model", m.id,
                 {{"name", m.name}, {"key", key}, {"value", value}});
  });
}

Result<bool> Models::DeleteTag(const auth::Actor& actor, const std::string& model,
                               const std::string& key) {
  bool found = false;
  RETURN_IF_ERROR(ValidateTag(key, ""));
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(found, repo.DeleteModelTag(m.id, key));
    if (!found) return Status::Ok();
    RETURN_IF_ERROR(repo.TouchModel(m.id, NowMillis()));
    return Audit(tx, actor, "registered_model.delete_tag", "registered_model", m.id,
                 {{"name", m.name}, {"key", key}});
  }));
  return found;
}

Result<ModelVersionRecord> Models::CreateVersion(const auth::Actor& actor, const VersionInput& in) {
  RETURN_IF_ERROR(ValidateModelSource(in.source, artifacts_root_));
  RETURN_IF_ERROR(ValidateTags(in.tags));
  RETURN_IF_ERROR(ValidateDescription(in.description));
  if (in.run_id.size() > 256) return Bad("run_id", "must be at most 256 bytes");
  if (!in.run_link.empty() &&
      ((in.run_link.rfind("http://", 0) != 0 && in.run_link.rfind("https://", 0) != 0) ||
       in.run_link.size() > 4096))
    return Bad("run_link", "must be an http(s) URL of at most 4096 bytes");
  if (in.flavor.size() > 256) return Bad("flavor", "must be at most 256 bytes");
  if (in.git_commit.size() > 64) return Bad("git_commit", "must be at most 64 characters");
  RETURN_IF_ERROR(ValidateJson("signature", in.signature_json));
  RETURN_IF_ERROR(ValidateJson("metrics", in.metrics_json));
  RETURN_IF_ERROR(ValidateJson("dataset_digests", in.dataset_digests_json));
  RETURN_IF_ERROR(ValidateJson("file_digests", in.file_digests_json));
  ModelVersionRecord v;
  v.source = in.source;
  v.run_id = in.run_id;
  v.run_link = in.run_link;
  v.description = in.description;
  v.flavor = in.flavor;
  v.signature_json = in.signature_json;
  v.metrics_json = in.metrics_json;
  v.git_commit = in.git_commit;
  v.dataset_digests_json = in.dataset_digests_json;
  v.file_digests_json = in.file_digests_json;
  v.user_id = actor.username;
  v.tags = in.tags;
  v.created_at = v.updated_at = NowMillis();
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, in.model));
    v.model_id = m.id;
    v.name = m.name;
    ASSIGN_OR_RETURN(v.version, repo.NextVersion(m.id));
    RETURN_IF_ERROR(repo.InsertVersion(v));
    RETURN_IF_ERROR(repo.TouchModel(m.id, v.created_at));
    return Audit(tx, actor, "model_version.create", "model_version", VersionResource(m, v.version),
                 {{"name", m.name},
                  {"version", v.version},
                  {"source", v.source},
                  {"run_id", v.run_id},
                  {"git_commit", v.git_commit}});
  }));
  return v;
}

Result<ModelVersionRecord> Models::UpdateVersion(const auth::Actor& actor, const std::string& model,
                                                 int64_t version,
                                                 const std::optional<std::string>& description) {
  if (description) RETURN_IF_ERROR(ValidateDescription(*description));
  ModelVersionRecord v;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(v, repo.GetVersion(m, version));
    if (description) v.description = *description;
    v.updated_at = NowMillis();
    RETURN_IF_ERROR(repo.UpdateVersion(v));
    nlohmann::json changed = nlohmann::json::object();
    if (description) changed["description"] = *description;
    RETURN_IF_ERROR(Audit(tx, actor, "model_version.update", "model_version",
                          VersionResource(m, version),
                          {{"name", m.name}, {"version", version}, {"changed", changed}}));
    std::vector<ModelVersionRecord> one{v};
    RETURN_IF_ERROR(repo.LoadVersionExtras(one));
    v = one.front();
    return Status::Ok();
  }));
  return v;
}

Result<ModelVersionRecord> Models::TransitionStage(const auth::Actor& actor,
                                                   const std::string& model, int64_t version,
                                                   const std::string& stage_in,
                                                   bool archive_existing_versions) {
  ASSIGN_OR_RETURN(std::string stage, CanonicalStage(stage_in));
  if (archive_existing_versions && stage != "Staging" && stage != "Production")
    return Bad("archive_existing_versions",
               "Model version transition cannot archive existing model versions because '" + stage +
                   "' is not an Active stage. Valid stages are Staging, Production");
  ModelVersionRecord v;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(v, repo.GetVersion(m, version));
    int64_t now = NowMillis();
    std::string from = v.current_stage;
    std::vector<int64_t> archived;
    if (archive_existing_versions) {
      ASSIGN_OR_RETURN(archived, repo.VersionsInStage(m.id, stage, version));
      for (int64_t other : archived) {
        ASSIGN_OR_RETURN(ModelVersionRecord o, repo.GetVersion(m, other));
        o.current_stage = "Archived";
        o.updated_at = now;
        RETURN_IF_ERROR(repo.UpdateVersion(o));
      }
    }
    v.current_stage = stage;
    v.updated_at = now;
    RETURN_IF_ERROR(repo.UpdateVersion(v));
    RETURN_IF_ERROR(repo.TouchModel(m.id, now));
    // Which version held which stage, and when, is answerable from the audit log (MLflow#2169).
    RETURN_IF_ERROR(Audit(tx, actor, "model_version.transition_stage", "model_version",
                          VersionResource(m, version),
                          {{"name", m.name},
                           {"version", version},
                           {"from", from},
                           {"to", stage},
                           {"archived_versions", archived}}));
    std::vector<ModelVersionRecord> one{v};
    RETURN_IF_ERROR(repo.LoadVersionExtras(one));
    v = one.front();
    return Status::Ok();
  }));
  return v;
}

Status Models::DeleteVersion(const auth::Actor& actor, const std::string& model, int64_t version) {
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    RETURN_IF_ERROR(repo.DeleteVersion(m.id, version));
    RETURN_IF_ERROR(repo.TouchModel(m.id, NowMillis()));
    return Audit(tx, actor, "model_version.delete", "model_version", VersionResource(m, version),
                 {{"name", m.name}, {"version", version}, {"stage", v.current_stage}});
  });
}

Result<ModelVersionRecord> Models::GetVersion(const std::string& model, int64_t version) {
  Result<ModelVersionRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    std::vector<ModelVersionRecord> one{v};
    RETURN_IF_ERROR(repo.LoadVersionExtras(one));
    out = one.front();
    return Status::Ok();
  }));
  return out;
}

Result<Page<ModelVersionRecord>> Models::SearchVersions(const SearchRequest& req) {
  if (req.max_results < 1 || req.max_results > 200000)
    return Bad("max_results",
               "Invalid value for request parameter max_results. It must be at "
               "most 200000, but got value " +
                   std::to_string(req.max_results));
  ASSIGN_OR_RETURN(Filter filter, ParseFilter(req.filter, FilterTarget::kVersions));
  ASSIGN_OR_RETURN(std::string order, CompileOrderBy(req.order_by, FilterTarget::kVersions));
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(req.page_token));
  Page<ModelVersionRecord> page;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::SqlQuery q = CompileFilter(filter, FilterTarget::kVersions, IsSqlite(tx));
    q.order_by = order;
    RETURN_IF_ERROR(RestrictToProject(tx, req.project, &q));
    store::Models repo(tx);
    if (!req.model.empty()) {
      ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, req.model));
      store::SqlParam param;
      param.name = "model";
      param.text = m.id;
      q.params.push_back(param);
      q.where = "(" + q.where + ") AND v.model_id = :model";
    }
    ASSIGN_OR_RETURN(page.items, repo.SearchVersions(q, req.max_results + 1, offset));
    if (static_cast<int>(page.items.size()) > req.max_results) {
      page.items.pop_back();
      page.next_page_token = EncodeOffset(offset + req.max_results);
    }
    // Aliases and tags for the whole page in two queries (MLflow returned aliases=[] here).
    return repo.LoadVersionExtras(page.items);
  }));
  return page;
}

Result<std::vector<ModelVersionRecord>> Models::LatestVersions(
    const std::string& model, const std::vector<std::string>& stages) {
  std::vector<std::string> wanted;
  for (const auto& s : stages) {
    ASSIGN_OR_RETURN(std::string canon, CanonicalStage(s));
    wanted.push_back(canon);
  }
  std::vector<ModelVersionRecord> out;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    std::vector<ModelRecord> one{m};
    RETURN_IF_ERROR(repo.LoadModelExtras(one));
    for (const auto& v : one.front().latest_versions)
      if (wanted.empty() ||
          std::find(wanted.begin(), wanted.end(), v.current_stage) != wanted.end())
        out.push_back(v);
    return repo.LoadVersionExtras(out);
  }));
  return out;
}

Status Models::SetVersionTag(const auth::Actor& actor, const std::string& model, int64_t version,
                             const std::string& key, const std::string& value) {
  RETURN_IF_ERROR(ValidateTag(key, value));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    RETURN_IF_ERROR(repo.SetVersionTag(m.id, version, key, value));
    return Audit(tx, actor, "model_version.set_tag", "model_version", VersionResource(m, version),
                 {{"name", m.name}, {"version", version}, {"key", key}, {"value", value}});
  });
}

Result<bool> Models::DeleteVersionTag(const auth::Actor& actor, const std::string& model,
                                      int64_t version, const std::string& key) {
  RETURN_IF_ERROR(ValidateTag(key, ""));
  bool found = false;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    ASSIGN_OR_RETURN(found, repo.DeleteVersionTag(m.id, version, key));
    if (!found) return Status::Ok();
    return Audit(tx, actor, "model_version.delete_tag", "model_version",
                 VersionResource(m, version),
                 {{"name", m.name}, {"version", version}, {"key", key}});
  }));
  return found;
}

Status Models::SetAlias(const auth::Actor& actor, const std::string& model,
                        const std::string& alias, int64_t version) {
  RETURN_IF_ERROR(ValidateAlias(alias));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    ASSIGN_OR_RETURN(int64_t previous, repo.GetAlias(m.id, alias));
    RETURN_IF_ERROR(repo.SetAlias(m.id, alias, version));
    RETURN_IF_ERROR(repo.TouchModel(m.id, NowMillis()));
    nlohmann::json details = {{"name", m.name}, {"alias", alias}, {"version", version}};
    if (previous) details["previous_version"] = previous;
    return Audit(tx, actor, "registered_model.set_alias", "registered_model", m.id, details);
  });
}

Result<bool> Models::DeleteAlias(const auth::Actor& actor, const std::string& model,
                                 const std::string& alias) {
  if (alias.empty() || alias.size() > 256) return Bad("alias", "must be 1-256 bytes");
  bool found = false;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(found, repo.DeleteAlias(m.id, alias));
    if (!found) return Status::Ok();
    RETURN_IF_ERROR(repo.TouchModel(m.id, NowMillis()));
    return Audit(tx, actor, "registered_model.delete_alias", "registered_model", m.id,
                 {{"name", m.name}, {"alias", alias}});
  }));
  return found;
}

Result<ModelVersionRecord> Models::GetByAlias(const std::string& model, const std::string& alias) {
  if (alias.empty() || alias.size() > 256) return Bad("alias", "must be 1-256 bytes");
  Result<ModelVersionRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Models repo(tx);
    ASSIGN_OR_RETURN(ModelRecord m, Resolve(repo, model));
    ASSIGN_OR_RETURN(int64_t version, repo.GetAlias(m.id, alias));
    if (!version)
      return NotFound("Registered model alias " + alias + " not found on model " + m.name);
    ASSIGN_OR_RETURN(ModelVersionRecord v, repo.GetVersion(m, version));
    std::vector<ModelVersionRecord> one{v};
    RETURN_IF_ERROR(repo.LoadVersionExtras(one));
    out = one.front();
    return Status::Ok();
  }));
  return out;
}

}  // namespace studio::registry
