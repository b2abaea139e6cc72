#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace studio::deploy {

// Deployment statuses (docs/deployments.md). Terminal: LIVE, ROLLED_BACK, FAILED, REJECTED.
inline constexpr const char* kPendingApproval = "PENDING_APPROVAL";
inline constexpr const char* kDeploying = "DEPLOYING";
inline constexpr const char* kCanary = "CANARY";
inline constexpr const char* kGreenValidating = "GREEN_VALIDATING";
inline constexpr const char* kLive = "LIVE";
inline constexpr const char* kRolledBack = "ROLLED_BACK";
inline constexpr const char* kFailed = "FAILED";
inline constexpr const char* kRejected = "REJECTED";

bool IsTerminal(const std::string& status);
bool IsKnownStatus(const std::string& status);
const std::vector<std::string>& AllStatuses();

// Strategies, spelled as pipeline specs spell them.
inline constexpr const char* kDirect = "direct";
inline constexpr const char* kCanaryStrategy = "canary";
inline constexpr const char* kBlueGreen = "blue-green";

// Flagger/Argo-style analysis: the new slot fails when, over at least min_requests, its error
// rate exceeds max_error_rate or its p99 latency exceeds max_p99_ms.
struct AnalysisPolicy {
  int min_requests = 20;
  double max_error_rate = 0.05;
  double max_p99_ms = 1000;
  int window_seconds = 60;
  int interval_seconds = 10;
};

// One environment's promotion policy, stored as JSON in environments.policy.
struct EnvironmentPolicy {
  int approvals_required = 0;
  std::string strategy = kDirect;  // the default when a request names none
  std::vector<std::string> allowed_strategies{kDirect};
  int canary_percent = 10;
  AnalysisPolicy analysis;
  int bake_seconds = 0;
  int replicas = 1;
  int max_replicas = 1;
  bool smoke_test = true;

  bool Allows(const std::string& s) const;
};

// Validates every field (INVALID_PARAMETER_VALUE with per-field details); unknown keys are
// errors. Missing keys keep `base`'s values, so a PUT may send only what changes.
Result<EnvironmentPolicy> ParsePolicy(const nlohmann::json& j, const EnvironmentPolicy& base = {});
nlohmann::json PolicyJson(const EnvironmentPolicy& p);
// "canary", "blue-green", "direct" (also "bluegreen", "blue_green"): the canonical spelling.
Result<std::string> CanonicalStrategy(const std::string& s);

}  // namespace studio::deploy
