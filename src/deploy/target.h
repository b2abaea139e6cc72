#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

// Where a deployment's slots run. Two implementations behind one state machine (issue 7):
// LocalTarget (`studio serve-model` child processes behind the control plane's router) and
// EcsTarget (ECS Fargate services behind weighted ALB listener rules, SigV4 API calls).
namespace studio::deploy {

// One deployment slot: "blue", "green" or "canary" (the stable slot of a canary rollout is
// "blue").
struct SlotSpec {
  std::string name;           // blue | green | canary
  std::string model_name;     // registered model name
  std::string model_version;  // registered version ("3")
  std::string model_uri;      // models:/NAME/VERSION, what `studio serve-model --model` takes
  int replicas = 1;           // desired count (local: 1 process per slot)
  int max_replicas = 1;       // auto-scaling ceiling (prod: 10)
};

// The (project, environment) a target routes; one router entry per pair.
struct TargetScope {
  std::string project;        // project name
  std::string environment;    // dev | staging | prod
  std::string deployment_id;  // the deployment driving this change (for logs and tags)
};

// Real per-slot traffic figures since the slot started (or since ResetMetrics).
struct SlotMetrics {
  int64_t requests = 0;
  int64_t errors = 0;  // 5xx answered by the slot, or transport failures to it
  double p50_ms = 0;
  double p99_ms = 0;
  double error_rate() const { return requests > 0 ? double(errors) / double(requests) : 0; }
};

class DeployTarget {
 public:
  virtual ~DeployTarget() = default;
  virtual std::string kind() const = 0;  // "local" | "ecs"
  // Starts (or replaces) a slot and waits until it is ready or failed (health check).
  virtual Status StartSlot(const TargetScope& scope, const SlotSpec& slot) = 0;
  virtual Status StopSlot(const TargetScope& scope, const std::string& slot) = 0;
  // Sets traffic weights in percent over running slots (sum 100). Shifting drops no request.
  virtual Status SetWeights(const TargetScope& scope,
                            const std::map<std::string, int>& weights) = 0;
  virtual Result<bool> SlotHealthy(const TargetScope& scope, const std::string& slot) = 0;
  virtual Result<SlotMetrics> Metrics(const TargetScope& scope, const std::string& slot) = 0;

  // Optional (defaults keep other targets source-compatible):
  // Sends one request to `slot` alone (smoke and validation traffic, counted in its metrics)
  // and returns the HTTP status; NOT_IMPLEMENTED when the target cannot address one slot (the
  // controller then relies on live traffic only).
  virtual Result<int> SendToSlot(const TargetScope& scope, const std::string& slot,
                                 const std::string& method, const std::string& path,
                                 const std::string& body) {
    (void)scope, (void)slot, (void)method, (void)path, (void)body;
    return Status(ErrorCode::kNotImplemented, kind() + " target cannot address a single slot");
  }
  // True when slots end with the control plane (local child processes): on start-up the
  // controller then starts the LIVE slots again.
  virtual bool SlotsEndWithControlPlane() const { return false; }
};

}  // namespace studio::deploy
