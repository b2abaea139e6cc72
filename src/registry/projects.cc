#include "registry/projects.h"

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "store/models_repo.h"
#include "store/users_repo.h"

namespace studio::registry {
namespace {

Status Bad(const std::string& field, const std::string& problem) {
  return InvalidArgument(field + ": " + problem).WithDetail(field, problem);
}

std::string TagsJson(const std::map<std::string, std::string>& tags) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j.dump();
}

std::map<std::string, std::string> ParseTags(const std::string& json) {
  std::map<std::string, std::string> out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  return out;
}

Status CheckOwner(store::Tx& tx, const std::string& owner) {
  auto user = store::Users(tx).GetByUsername(owner);
  if (!user.ok()) return Bad("owner", "no user named '" + owner + "'");
  return Status::Ok();
}

}  // namespace

Status ValidateProjectName(const std::string& n) {
  // Usable verbatim in URLs, S3 prefixes and ECS service names.
  if (n.size() < 2 || n.size() > 63) return Bad("name", "must be 2-63 characters");
  if (n[0] < 'a' || n[0] > 'z') return Bad("name", "must start with a lowercase letter");
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return Bad("name", "may contain only lowercase letters, digits and '-'");
  if (n.back() == '-') return Bad("name", "must not end with '-'");
  return Status::Ok();
}

Status ValidateGithubRepo(const std::string& url) {
  if (url.empty()) return Status::Ok();
  const std::string prefix = "https://github.com/";
  if (url.rfind(prefix, 0) != 0 || url.size() > 200)
    return Bad("github_repo", "must be https://github.com/<owner>/<repo>");
  std::string rest = url.substr(prefix.size());
  if (rest.size() > 4 && rest.substr(rest.size() - 4) == ".git") rest.resize(rest.size() - 4);
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size() ||
      rest.find('/', slash + 1) != std::string::npos)
    return Bad("github_repo", "must be https://github.com/<owner>/<repo>");
  for (char c : rest)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '/')
      return Bad("github_repo",
                 "owner and repository may contain only letters, digits, '-', '_', '.'");
  if (rest.find("..") != std::string::npos) return Bad("github_repo", "must not contain '..'");
  return Status::Ok();
}

Status ValidateTags(const std::map<std::string, std::string>& tags) {
  // MLflow's limits for tag keys and values.
  if (tags.size() > 50) return Bad("tags", "at most 50 tags");
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 250) return Bad("tags", "keys must be 1-250 bytes");
    if (v.size() > 5000) return Bad("tags." + k, "values must be at most 5000 bytes");
  }
  return Status::Ok();
}

Result<store::ProjectRecord> Projects::Create(const auth::Actor& actor, const ProjectInput& in) {
  RETURN_IF_ERROR(ValidateProjectName(in.name));
  store::ProjectRecord p;
  p.id = NewUuidV7();
  p.name = in.name;
  p.description = in.description.value_or("");
  p.owner = in.owner.value_or(actor.username);
  p.github_repo = in.github_repo.value_or("");
  RETURN_IF_ERROR(ValidateGithubRepo(p.github_repo));
  std::map<std::string, std::string> tags = in.tags.value_or(std::map<std::string, std::string>{});
  RETURN_IF_ERROR(ValidateTags(tags));
  p.tags_json = TagsJson(tags);
  p.created_by = actor.username;
  p.created_at = p.updated_at = NowMillis();
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(CheckOwner(tx, p.owner));
    RETURN_IF_ERROR(store::Projects(tx).Insert(p, tags));
    nlohmann::json details = {{"name", p.name}, {"owner", p.owner}};
    return audit::Append(
        tx, {actor.username, "project.create", "project", p.id, actor.request_id, details.dump()});
  }));
  return p;
}

Result<store::ProjectRecord> Projects::Update(const auth::Actor& actor, const std::string& key,
                                              const ProjectInput& patch) {
  if (patch.github_repo) RETURN_IF_ERROR(ValidateGithubRepo(*patch.github_repo));
  if (patch.tags) RETURN_IF_ERROR(ValidateTags(*patch.tags));
  store::ProjectRecord p;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Projects repo(tx);
    ASSIGN_OR_RETURN(p, repo.Get(key));
    nlohmann::json changed = nlohmann::json::object();
    if (patch.description) {
      changed["description"] = *patch.description;
      p.description = *patch.description;
    }
    if (patch.owner) {
      RETURN_IF_ERROR(CheckOwner(tx, *patch.owner));
      changed["owner"] = *patch.owner;
      p.owner = *patch.owner;
    }
    if (patch.github_repo) {
      changed["github_repo"] = *patch.github_repo;
      p.github_repo = *patch.github_repo;
    }
    std::map<std::string, std::string> tags = patch.tags ? *patch.tags : ParseTags(p.tags_json);
    if (patch.tags) {
      changed["tags"] = *patch.tags;
      p.tags_json = TagsJson(tags);
    }
    p.updated_at = NowMillis();
    RETURN_IF_ERROR(repo.Update(p, tags));
    return audit::Append(tx, {actor.username, "project.update", "project", p.id, actor.request_id,
                              nlohmann::json{{"name", p.name}, {"changed", changed}}.dump()});
  }));
  return p;
}

Status Projects::Delete(const auth::Actor& actor, const std::string& key) {
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Projects repo(tx);
    ASSIGN_OR_RETURN(store::ProjectRecord p, repo.Get(key));
    ASSIGN_OR_RETURN(int64_t models, store::Models(tx).CountInProject(p.id));
    if (models > 0)
      return Status(ErrorCode::kResourceConflict, "project '" + p.name + "' still has " +
                                                      std::to_string(models) +
                                                      " registered model(s); delete them first");
    RETURN_IF_ERROR(repo.Delete(p.id));
    return audit::Append(tx, {actor.username, "project.delete", "project", p.id, actor.request_id,
                              nlohmann::json{{"name", p.name}}.dump()});
  });
}

Result<store::ProjectRecord> Projects::Get(const std::string& key) {
  Result<store::ProjectRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    out = store::Projects(tx).Get(key);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<store::ProjectRecord>> Projects::List(const store::ProjectFilter& filter,
                                                         const std::string& after, int limit) {
  Result<std::vector<store::ProjectRecord>> out = std::vector<store::ProjectRecord>{};
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    out = store::Projects(tx).List(filter, after, limit);
    return Status::Ok();
  }));
  return out;
}

}  // namespace studio::registry
