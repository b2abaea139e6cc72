#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/spec.h"

// The scheduler's decisions, without I/O: which stages become ready or skipped, when a run is
// finished, and when a failed attempt is retried. scheduler.cc applies them to the store.
namespace studio::orchestrator {

struct StageState {
  std::string id;
  std::vector<std::string> needs;
  std::string status;  // pending | queued | running | succeeded | failed | cancelled | skipped
};

bool IsTerminalStageStatus(const std::string& status);

struct Transition {
  std::string stage_id;
  std::string from;
  std::string to;  // queued | skipped | cancelled
  std::string reason;
};

struct Plan {
  std::vector<Transition> transitions;
  bool finished = false;   // every stage terminal after the transitions
  std::string run_status;  // when finished: succeeded | failed | cancelled
};

// One pass over a run: a pending stage whose needs all succeeded becomes queued; one with a
// need that failed, was skipped or cancelled becomes skipped (transitively, in one pass). When
// the run is cancelled, pending and queued stages become cancelled. The run is finished when no
// stage is pending, queued or running: succeeded if every stage succeeded, cancelled if it was
// cancelled, else failed.
Plan PlanRun(const std::vector<StageState>& stages, bool cancel_requested);

// The delay before attempt `next_attempt` (2, 3, ...) after a failure:
// interval_seconds * backoff_rate^(next_attempt - 2), i.e. interval * rate^(n-1) after the n-th
// failed attempt. Milliseconds, capped at one day.
int64_t RetryDelayMs(const pipelines::RetrySpec& retry, int next_attempt);

// What follows a failed attempt `attempt` of a stage allowed `max_attempts`.
struct AfterFailure {
  bool retry = false;
  int64_t next_attempt_at = 0;
};
AfterFailure DecideAfterFailure(const pipelines::RetrySpec& retry, int attempt, int max_attempts,
                                int64_t now_ms);

}  // namespace studio::orchestrator
