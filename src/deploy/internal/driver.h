#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "deploy/service.h"

namespace studio::deploy {

inline nlohmann::json WeightsJson(const std::map<std::string, int>& w) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : w) j[k] = v;
  return j;
}

// One deployment being driven by the controller, on its own thread (joined by the controller
// loop when done, or on Stop()).
struct DeployService::Driver {
  std::thread thread;
  std::atomic<bool> done{false};
  std::atomic<bool> abort{false};  // a manual rollback was requested
  std::mutex mu;
  std::string abort_actor;
  std::string abort_reason;
  bool rollback_live = false;  // the job: roll a LIVE deployment back to its predecessor
};

}  // namespace studio::deploy
