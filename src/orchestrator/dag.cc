#include "orchestrator/dag.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace studio::orchestrator {

bool IsTerminalStageStatus(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "cancelled" || s == "skipped";
}

Plan PlanRun(const std::vector<StageState>& stages, bool cancel_requested) {
  Plan plan;
  std::map<std::string, std::string> status;
  for (const auto& s : stages) status[s.id] = s.status;
  auto move = [&](const StageState& s, const std::string& to, const std::string& reason) {
    plan.transitions.push_back({s.id, status[s.id], to, reason});
    status[s.id] = to;
  };
  if (cancel_requested) {
    for (const auto& s : stages)
      if (status[s.id] == "pending" || status[s.id] == "queued")
        move(s, "cancelled", "the run was cancelled");
  }
  // Skips propagate along `needs`; a fixed point over at most |stages| passes.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& s : stages) {
      if (status[s.id] != "pending") continue;
      bool all_ok = true;
      std::string blocked_by;
      for (const auto& n : s.needs) {
        auto it = status.find(n);
        const std::string& ns = it == status.end() ? std::string("failed") : it->second;
        if (ns != "succeeded") all_ok = false;
        if (ns == "failed" || ns == "skipped" || ns == "cancelled") blocked_by = n;
      }
      if (!blocked_by.empty()) {
        move(s, "skipped", "upstream stage '" + blocked_by + "' " + status[blocked_by]);
        changed = true;
      } else if (all_ok) {
        move(s, "queued", "");
        changed = true;
      }
    }
  }
  bool any_failed = false;
  for (const auto& s : stages) {
    const std::string& st = status[s.id];
    if (!IsTerminalStageStatus(st)) return plan;
    if (st != "succeeded") any_failed = true;
  }
  plan.finished = true;
  plan.run_status = cancel_requested ? "cancelled" : any_failed ? "failed" : "succeeded";
  return plan;
}

int64_t RetryDelayMs(const pipelines::RetrySpec& retry, int next_attempt) {
  constexpr double kMaxMs = 86'400'000.0;
  int failures = std::max(1, next_attempt - 1);
  double ms = static_cast<double>(retry.interval_seconds) * 1000.0 *
              std::pow(std::max(retry.backoff_rate, 1.0), failures - 1);
  if (!std::isfinite(ms) || ms > kMaxMs) ms = kMaxMs;
  if (ms < 0) ms = 0;
  return static_cast<int64_t>(ms);
}

AfterFailure DecideAfterFailure(const pipelines::RetrySpec& retry, int attempt, int max_attempts,
                                int64_t now_ms) {
  AfterFailure out;
  if (attempt >= max_attempts) return out;
  out.retry = true;
  out.next_attempt_at = now_ms + RetryDelayMs(retry, attempt + 1);
  return out;
}

}  // namespace studio::orchestrator
