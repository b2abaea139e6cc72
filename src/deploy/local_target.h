#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "deploy/target.h"

namespace studio::deploy {

// A request for a deployed model, as the control plane's router receives it at
// /serve/{project}/{environment}/REST (REST = /predict, /invocations, /v2/..., /ready, ...).
struct ForwardRequest {
  std::string method;  // GET | POST
  std::string path;    // REST with its query string
  std::string body;
  std::string content_type;
  std::string accept;
  std::string request_id;
};

struct ForwardResponse {
  int status = 502;
  std::string body;
  std::string content_type = "application/json";
  std::string slot;  // the slot that answered ('' when none)
  std::string version;
};

// The embedded default target: each slot is a `studio serve-model` child process on a free
// loopback port (its own process group, killed with the control plane), supervised (restarted
// with exponential backoff when it dies), behind a router that splits traffic by weight.
//
// Weighted choice is deterministic: smooth weighted round-robin (nginx's algorithm), so 10%
// means exactly every tenth request, which keeps canary analysis windows predictable.
// Shifting weights drops nothing: a request holds its slot until it is answered, and StopSlot
// takes the slot out of rotation, waits for its in-flight requests, and only then stops it.
// The local target runs one process per slot whatever SlotSpec::replicas says (ECS honours it).
class LocalTarget final : public DeployTarget {
 public:
  struct Options {
    std::string studio_bin;  // default: this binary
    // The control plane's URL for `serve-model --registry` (known once the server is bound).
    std::function<std::string()> registry_url;
    // An API token serve-model uses to download the model version.
    std::function<Result<std::string>(const TargetScope&, const SlotSpec&)> token;
    // Extra serve-model flags per slot (the test-only fault injection, see docs).
    std::function<std::vector<std::string>(const TargetScope&, const SlotSpec&)> extra_args;
    std::string log_dir;    // one log file per slot
    std::string cache_dir;  // serve-model --cache-dir
    int ready_timeout_ms = 90000;
    int drain_timeout_ms = 30000;
    metrics::Registry* metrics = nullptr;  // per-slot series on the control plane's /metrics
  };
  static Result<std::unique_ptr<LocalTarget>> Create(Options options);
  ~LocalTarget() override;

  std::string kind() const override { return "local"; }
  Status StartSlot(const TargetScope& scope, const SlotSpec& slot) override;
  Status StopSlot(const TargetScope& scope, const std::string& slot) override;
  Status SetWeights(const TargetScope& scope, const std::map<std::string, int>& weights) override;
  Result<bool> SlotHealthy(const TargetScope& scope, const std::string& slot) override;
  Result<SlotMetrics> Metrics(const TargetScope& scope, const std::string& slot) override;
  Result<int> SendToSlot(const TargetScope& scope, const std::string& slot,
                         const std::string& method, const std::string& path,
                         const std::string& body) override;
  bool SlotsEndWithControlPlane() const override { return true; }

  // The router: one weighted choice among the scope's slots with weight > 0.
  ForwardResponse Forward(const std::string& project, const std::string& environment,
                          const ForwardRequest& req);
  // Straight to one slot (smoke and validation traffic); counted in that slot's metrics.
  ForwardResponse ForwardToSlot(const TargetScope& scope, const std::string& slot,
                                const ForwardRequest& req);
  std::map<std::string, int> Weights(const std::string& project, const std::string& environment);
  // Stops every slot (drained) and the supervisor; the destructor calls it.
  void Shutdown();

  struct Impl;

 private:
  explicit LocalTarget(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::deploy
