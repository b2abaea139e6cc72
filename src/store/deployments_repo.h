#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of migration 0008 (deployments). Timestamps are epoch milliseconds; JSON columns are
// text.
struct EnvironmentRecord {
  std::string name;
  std::string policy_json;
  std::string updated_by;
  int64_t updated_at = 0;
};

struct DeploymentRecord {
  std::string id;
  std::string project_id;
  std::string project_name;  // joined, not stored
  std::string model_name;
  int64_t model_version = 0;
  std::string alias;  // the alias the request named ('' for an explicit version)
  std::string environment;
  std::string strategy;  // direct | canary | blue-green
  std::string status;
  bool active = true;  // until a terminal status
  std::string weights_json = "{}";
  std::string slot;           // the slot this deployment starts
  std::string previous_slot;  // the live slot it replaces ('' when none)
  std::string previous_deployment_id;
  std::string superseded_by;  // a later deployment that replaced this LIVE one
  int approvals_required = 0;
  std::string policy_json;  // the environment's policy when requested
  std::string requested_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t finished_at = 0;
  std::string error;
};

struct ApprovalRecord {
  std::string deployment_id;
  std::string username;
  std::string decision;  // approve | reject
  std::string comment;
  int64_t created_at = 0;
};

struct DeploymentEventRecord {
  std::string id;  // UUIDv7, time-ordered
  std::string deployment_id;
  std::string from_status;
  std::string to_status;
  std::string reason;
  std::string details_json = "{}";
  std::string actor;
  int64_t created_at = 0;
};

struct DeploymentFilter {
  std::string project_id;
  std::string environment;
  std::string status;
  std::string after_id;  // keyset paging: ids are time-ordered, newest first
  int limit = 100;
};

class Deployments {
 public:
  explicit Deployments(Tx& tx) : tx_(tx) {}

  Result<std::vector<EnvironmentRecord>> ListEnvironments();
  Result<EnvironmentRecord> GetEnvironment(const std::string& name);
  Status UpdateEnvironment(const EnvironmentRecord& e);

  // RESOURCE_CONFLICT when another deployment of the project's environment is active.
  Status Insert(const DeploymentRecord& d);
  Result<DeploymentRecord> Get(const std::string& id);
  // Writes the mutable columns (status, active, weights, slots, superseded_by, timestamps,
  // error) when the stored status is still `expected_status`; false when it changed.
  Result<bool> Update(const DeploymentRecord& d, const std::string& expected_status);
  Result<std::vector<DeploymentRecord>> List(const DeploymentFilter& f);
  // Deployments whose status is one of `statuses` (any project), oldest first.
  Result<std::vector<DeploymentRecord>> WithStatus(const std::vector<std::string>& statuses);
  // The LIVE, not superseded deployment of (project, environment), if any.
  Result<std::vector<DeploymentRecord>> Current(const std::string& project_id,
                                                const std::string& environment);

  // ALREADY_EXISTS when the user already decided on this deployment.
  Status InsertApproval(const ApprovalRecord& a);
  Result<std::vector<ApprovalRecord>> Approvals(const std::string& deployment_id);

  Status InsertEvent(const DeploymentEventRecord& e);
  Result<std::vector<DeploymentEventRecord>> Events(const std::string& deployment_id);

 private:
  Result<std::vector<DeploymentRecord>> Query(const std::string& where,
                                              const std::vector<std::string>& args,
                                              const std::string& order, int limit);
  Tx& tx_;
};

}  // namespace studio::store
