#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/identity.h"
#include "common/status.h"
#include "pipelines/spec.h"
#include "store/metadata_store.h"
#include "store/pipelines_repo.h"

namespace studio::pipelines {

// Checks `v`'s stages against the control plane's locks for its pipeline: a locked stage whose
// definition changed, or that was removed, is an error naming the changed fields, unless an
// approved unlock is recorded (then a warning). Pure, for the service and its tests.
void ApplyLocks(Validation& v, const std::vector<store::PipelineLockRecord>& locks);

// The response body of POST /api/v1/pipelines/validate:
// {valid, errors[{path,line,column,message}], warnings[], stages[{id,type,hash,locked,lock}]}.
nlohmann::json ValidationJson(const Validation& v,
                              const std::vector<store::PipelineLockRecord>& locks);

// Server-side validation, node locks and the per-project pipeline policy. Lock and unlock are
// audit-logged in the transaction that changes them.
class PipelineService {
 public:
  explicit PipelineService(store::MetadataStore& store) : store_(store) {}

  // Validates the spec with the project's policy and the recorded locks (project from
  // metadata.project). Always a body; errors only for a store failure.
  Result<nlohmann::json> Validate(const std::string& yaml_text);
  // Locks `stage` at its definition in `yaml_text` (which must validate and name this pipeline).
  Result<nlohmann::json> Lock(const auth::Actor& actor, const std::string& project,
                              const std::string& pipeline, const std::string& stage,
                              const std::string& yaml_text);
  // Approves changing a locked stage until it is locked again.
  Result<nlohmann::json> Unlock(const auth::Actor& actor, const std::string& project,
                                const std::string& pipeline, const std::string& stage,
                                const std::string& reason);
  Result<nlohmann::json> ListLocks(const std::string& project, const std::string& pipeline);
  Result<nlohmann::json> GetPolicy(const std::string& project);
  Result<nlohmann::json> SetPolicy(const auth::Actor& actor, const std::string& project,
                                   bool allow_command_stages);

 private:
  store::MetadataStore& store_;
};

nlohmann::json LockJson(const store::PipelineLockRecord& l, const std::string& project_name);

}  // namespace studio::pipelines
