#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/identity.h"
#include "common/status.h"
#include "store/metadata_store.h"
#include "store/projects_repo.h"
#include "store/records.h"

namespace studio::registry {

struct ProjectInput {
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> owner;  // username; defaults to the creator
  std::optional<std::string> github_repo;
  std::optional<std::map<std::string, std::string>> tags;
};

Status ValidateProjectName(const std::string& name);
Status ValidateGithubRepo(const std::string& url);
Status ValidateTags(const std::map<std::string, std::string>& tags);

// Projects group a team's models, pipelines and deployments. Every change is audit-logged in
// the same transaction.
class Projects {
 public:
  explicit Projects(store::MetadataStore& store) : store_(store) {}
  Result<store::ProjectRecord> Create(const auth::Actor& actor, const ProjectInput& in);
  // Applies the fields that are set; `name` is immutable (ids and S3 prefixes derive from it).
  Result<store::ProjectRecord> Update(const auth::Actor& actor, const std::string& id_or_name,
                                      const ProjectInput& patch);
  Status Delete(const auth::Actor& actor, const std::string& id_or_name);
  Result<store::ProjectRecord> Get(const std::string& id_or_name);
  Result<std::vector<store::ProjectRecord>> List(const store::ProjectFilter& filter,
                                                 const std::string& after, int limit);

 private:
  store::MetadataStore& store_;
};

}  // namespace studio::registry
