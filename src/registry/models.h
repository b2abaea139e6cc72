#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/identity.h"
#include "common/status.h"
#include "store/metadata_store.h"
#include "store/models_repo.h"

namespace studio::registry {

// The project MLflow-created models belong to (MLflow clients know no projects); created on
// demand by the first such model.
inline constexpr const char* kDefaultProject = "default";

struct ModelInput {
  std::string name;
  std::string project;  // id or name; empty: kDefaultProject
  std::optional<std::string> description;
  std::map<std::string, std::string> tags;
};

struct VersionInput {
  std::string model;  // name (or id)
  std::string source;
  std::string run_id;
  std::string run_link;
  std::string description;
  std::map<std::string, std::string> tags;
  // Lineage and packaging facts (native API); JSON texts, '' when unset.
  std::string flavor;
  std::string signature_json;
  std::string metrics_json;
  std::string git_commit;
  std::string dataset_digests_json;
  std::string file_digests_json;
};

struct SearchRequest {
  std::string filter;
  std::vector<std::string> order_by;
  int max_results = 100;
  std::string page_token;  // opaque, from a previous page
  std::string project;     // restrict to this project (id or name)
  std::string model;       // versions only: restrict to this model (name or id)
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
};

Status ValidateModelName(const std::string& name);
Status ValidateAlias(const std::string& alias);
// "None" / "staging" / "PRODUCTION" → the canonical stage name.
Result<std::string> CanonicalStage(const std::string& stage);
// MLflow versions travel as strings: "3" → 3.
Result<int64_t> ParseVersion(const std::string& version);

// Registered models and their versions, tags, aliases and stages. Every mutation writes its
// audit event in the same transaction. Models are found by name first, then by id.
class Models {
 public:
  Models(store::MetadataStore& store, std::string artifacts_root)
      : store_(store), artifacts_root_(std::move(artifacts_root)) {}

  Result<store::ModelRecord> Create(const auth::Actor& actor, const ModelInput& in);
  Result<store::ModelRecord> Rename(const auth::Actor& actor, const std::string& model,
                                    const std::string& new_name);
  Result<store::ModelRecord> Update(const auth::Actor& actor, const std::string& model,
                                    const std::optional<std::string>& description);
  Status Delete(const auth::Actor& actor, const std::string& model);
  Result<store::ModelRecord> Get(const std::string& model);
  Result<Page<store::ModelRecord>> Search(const SearchRequest& req);
  Status SetTag(const auth::Actor& actor, const std::string& model, const std::string& key,
                const std::string& value);
  // false: the model exists but had no such tag.
  Result<bool> DeleteTag(const auth::Actor& actor, const std::string& model,
                         const std::string& key);

  Result<store::ModelVersionRecord> CreateVersion(const auth::Actor& actor, const VersionInput& in);
  Result<store::ModelVersionRecord> UpdateVersion(const auth::Actor& actor,
                                                  const std::string& model, int64_t version,
                                                  const std::optional<std::string>& description);
  Result<store::ModelVersionRecord> TransitionStage(const auth::Actor& actor,
                                                    const std::string& model, int64_t version,
                                                    const std::string& stage,
                                                    bool archive_existing_versions);
  Status DeleteVersion(const auth::Actor& actor, const std::string& model, int64_t version);
  Result<store::ModelVersionRecord> GetVersion(const std::string& model, int64_t version);
  Result<Page<store::ModelVersionRecord>> SearchVersions(const SearchRequest& req);
  // Latest version per requested stage (all stages when empty).
  Result<std::vector<store::ModelVersionRecord>> LatestVersions(
      const std::string& model, const std::vector<std::string>& stages);
  Status SetVersionTag(const auth::Actor& actor, const std::string& model, int64_t version,
                       const std::string& key, const std::string& value);
  Result<bool> DeleteVersionTag(const auth::Actor& actor, const std::string& model, int64_t version,
                                const std::string& key);

  Status SetAlias(const auth::Actor& actor, const std::string& model, const std::string& alias,
                  int64_t version);
  Result<bool> DeleteAlias(const auth::Actor& actor, const std::string& model,
                           const std::string& alias);
  Result<store::ModelVersionRecord> GetByAlias(const std::string& model, const std::string& alias);

 private:
  store::MetadataStore& store_;
  std::string artifacts_root_;
};

}  // namespace studio::registry
