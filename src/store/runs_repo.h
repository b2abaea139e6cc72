#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of migration 0007 (pipeline runs). Timestamps are epoch milliseconds.
struct PipelineSpecRecord {
  std::string project_id;
  std::string name;  // metadata.name
  int version = 0;   // 1, 2, ... per (project, name)
  std::string spec_yaml;
  std::string spec_hash;  // hex SHA-256 of spec_yaml
  std::string created_by;
  int64_t created_at = 0;
};

struct PipelineRunRecord {
  std::string id;  // UUIDv7
  std::string project_id;
  std::string pipeline;
  int pipeline_version = 0;  // 0: started from an unregistered spec
  std::string spec_yaml;     // the snapshot the run executes
  std::string status;        // queued | running | succeeded | failed | cancelled
  std::string executor;      // local | aws
  std::string execution_handle;
  std::string requested_by;  // user id
  std::string git_sha;
  bool noop = false;
  bool cancel_requested = false;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::string error;
  bool terminal() const {
    return status == "succeeded" || status == "failed" || status == "cancelled";
  }
};

struct StageRunRecord {
  std::string run_id;
  std::string stage_id;
  int position = 0;  // order in the spec
  std::string type;
  std::string needs_json = "[]";
  std::string status;  // pending | queued | running | succeeded | failed | cancelled | skipped
  int attempt = 0;     // the latest attempt's number; 0 before the first
  int max_attempts = 1;
  int64_t next_attempt_at = 0;
  std::string claimed_by;
  int64_t pgid = 0;
  int64_t heartbeat_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int exit_code = -1;
  std::string error;
  std::string outputs_json = "{}";
};

struct StageAttemptRecord {
  std::string run_id;
  std::string stage_id;
  int attempt = 0;
  std::string status;  // running | succeeded | failed | timed_out | cancelled | interrupted
  std::string claimed_by;
  std::string token_id;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int64_t duration_ms = 0;
  int exit_code = -1;
  std::string error;
  bool reported = false;
  std::string outputs_json = "{}";
  std::string log_local;
  std::string log_path;
};

struct RunFilter {
  std::string project_id;  // empty: any
  std::string status;      // empty: any
};

// A queued stage run handed to an executor by Claim.
struct ClaimedStage {
  PipelineRunRecord run;
  StageRunRecord stage;
};

class Runs {
 public:
  explicit Runs(Tx& tx) : tx_(tx) {}

  // -- registered specs
  Status InsertSpec(const PipelineSpecRecord& s);  // ALREADY_EXISTS on a version race
  // version 0: the latest.
  Result<PipelineSpecRecord> GetSpec(const std::string& project_id, const std::string& name,
                                     int version);
  // Every version of `name` (newest first), or, with an empty name, the latest of each name.
  Result<std::vector<PipelineSpecRecord>> ListSpecs(const std::string& project_id,
                                                    const std::string& name);

  // -- runs
  Status InsertRun(const PipelineRunRecord& r, const std::vector<StageRunRecord>& stages);
  Result<PipelineRunRecord> GetRun(const std::string& id);
  // Newest first; `before_id` is the last id of the previous page ("" for the first).
  Result<std::vector<PipelineRunRecord>> ListRuns(const RunFilter& f, const std::string& before_id,
                                                  int limit);
  // Runs not yet finished (queued or running), oldest first.
  Result<std::vector<PipelineRunRecord>> ListActiveRuns(const std::string& executor);
  // Compare-and-set on the status: false when the run was not in `from`.
  Result<bool> SetRunStatus(const std::string& id, const std::vector<std::string>& from,
                            const std::string& to, int64_t now, const std::string& error);
  Status SetCancelRequested(const std::string& id);
  // PostgreSQL: locks the run's row until the transaction ends, so two processes planning the
  // same run see each other's stage changes. SQLite has one writer: nothing to do.
  Status LockRun(const std::string& id, bool for_update);
  Status SetExecutionHandle(const std::string& id, const std::string& handle);

  // -- stage runs
  Result<std::vector<StageRunRecord>> ListStages(const std::string& run_id);  // spec order
  Result<StageRunRecord> GetStage(const std::string& run_id, const std::string& stage_id);
  // Writes every mutable column of `s` when the row's status is still `expected_status`.
  Result<bool> UpdateStage(const StageRunRecord& s, const std::string& expected_status);
  // Marks up to `limit` queued stage runs due at `now` as running for `claimer` (attempt + 1),
  // oldest run first; PostgreSQL claims with FOR UPDATE SKIP LOCKED so concurrent workers never
  // take the same row. Attempt rows are the caller's.
  Result<std::vector<ClaimedStage>> Claim(const std::string& claimer, int64_t now, int limit,
                                          bool skip_locked);
  // Stage runs in `running`, optionally only those claimed by `claimer`.
  Result<std::vector<StageRunRecord>> ListRunningStages(const std::string& claimer);
  Status Heartbeat(const std::string& claimer, int64_t now);
  // The earliest next_attempt_at of a queued stage (0 when none is queued).
  Result<int64_t> NextDueAt();

  // -- attempts
  Status InsertAttempt(const StageAttemptRecord& a);
  Status UpdateAttempt(const StageAttemptRecord& a);
  Result<StageAttemptRecord> GetAttempt(const std::string& run_id, const std::string& stage_id,
                                        int attempt);
  Result<std::vector<StageAttemptRecord>> ListAttempts(const std::string& run_id);

 private:
  Tx& tx_;
};

}  // namespace studio::store
