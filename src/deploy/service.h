#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/rbac.h"
#include "common/status.h"
#include "deploy/policy.h"
#include "deploy/target.h"
#include "store/deployments_repo.h"
#include "store/metadata_store.h"

namespace studio::deploy {

struct Caller {
  auth::Principal principal;
  std::string request_id;
};

// POST /api/v1/deployments, after type checks.
struct DeployRequest {
  std::string project;  // name or id; empty: the model's project
  std::string model;
  std::string version;  // or
  std::string alias;
  std::string environment;
  std::string strategy;  // empty: the environment's default
  // The pipeline run that asked (the model-deployment stage), if any: recorded in the
  // creation event and the audit event.
  std::string pipeline_run_id;
  // 1-99 with strategy canary: the canary's traffic share instead of the policy's (0: policy).
  int canary_percent = 0;
};

struct ListRequest {
  std::string project;  // name or id
  std::string environment;
  std::string status;
  std::string after;  // page token, decoded
  int max_results = 100;
};

// Environments, deployments, approvals and the controller that drives deployments through a
// DeployTarget (docs/deployments.md). Every status change is one transaction holding the
// deployment row, its event (reason, metrics and thresholds) and the audit event.
class DeployService {
 public:
  struct Options {
    store::MetadataStore* store = nullptr;
    DeployTarget* target = nullptr;  // not owned; outlives the service
    int poll_ms = 250;               // how often the controller looks for new work
    // The controller starts once this returns true (the control plane is accepting requests:
    // slots download their model from it).
    std::function<bool()> ready;
    // Called by Stop() after the stop flag is set and before drivers are joined (the local
    // target stops its slots here, so a driver waiting for a slot returns at once).
    std::function<void()> before_join;
  };
  static Result<std::unique_ptr<DeployService>> Create(Options options);
  ~DeployService();  // Stop()

  // Starts the controller: first restores LIVE slots (targets whose slots end with the control
  // plane) and fails deployments a previous process left in flight, then drives new ones.
  void Start();
  // Stops the controller and joins every driver; in-flight deployments are failed clearly on
  // the next start.
  void Stop();

  Result<nlohmann::json> ListEnvironments();
  Result<nlohmann::json> GetEnvironment(const std::string& name);
  Result<nlohmann::json> PutEnvironment(const Caller& c, const std::string& name,
                                        const nlohmann::json& body);

  Result<nlohmann::json> CreateDeployment(const Caller& c, const DeployRequest& r);
  Result<nlohmann::json> Decide(const Caller& c, const std::string& id, bool approve,
                                const std::string& comment);
  Result<nlohmann::json> Rollback(const Caller& c, const std::string& id,
                                  const std::string& reason);
  Result<nlohmann::json> Get(const std::string& id);
  // {"items": [...], "last": id of the last item when the page is full}
  Result<nlohmann::json> List(const ListRequest& r);

  // The permission deploying to `environment` needs.
  static auth::Action DeployAction(const std::string& environment);

  struct Driver;

 private:
  explicit DeployService(Options o);
  nlohmann::json ToJson(const store::DeploymentRecord& d,
                        const std::vector<store::ApprovalRecord>& approvals, bool detail,
                        const std::vector<store::DeploymentEventRecord>* events);
  // Status change (or, with from == to, a recorded step such as a weight change) in one
  // transaction: row, event and audit event. `mutate` edits the row before it is written.
  Status Transition(
      const std::string& id, const std::string& from, const std::string& to,
      const std::string& actor, const std::string& reason, const nlohmann::json& details,
      const std::function<Status(store::Tx&, store::DeploymentRecord&)>& mutate = nullptr);

  // controller.cc
  void ControllerLoop();
  void Recover();
  void Drive(const std::string& id, Driver& drv);
  void DriveRollbackOfLive(const std::string& id, Driver& drv);
  bool Wait(Driver& drv, int ms);  // false when stopping or aborted

  Options o_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::thread controller_;
  std::map<std::string, std::shared_ptr<Driver>> drivers_;
};

}  // namespace studio::deploy
