#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::store {

// Rows of migration 0005 (pipelines). Timestamps are epoch milliseconds.
struct PipelinePolicyRecord {
  std::string project_id;
  bool allow_command_stages = false;
  std::string updated_by;
  int64_t updated_at = 0;
};

struct PipelineLockRecord {
  std::string project_id;
  std::string pipeline;  // metadata.name
  std::string stage_id;
  std::string hash;             // hex SHA-256 of definition_json
  std::string definition_json;  // the stage's canonical JSON when it was locked
  std::string locked_by;
  int64_t locked_at = 0;
  std::string unlock_approved_by;  // '' while locked
  std::string unlock_reason;
  int64_t unlocked_at = 0;
  bool unlocked() const { return !unlock_approved_by.empty(); }
};

class Pipelines {
 public:
  explicit Pipelines(Tx& tx) : tx_(tx) {}

  // The default policy (no command stages) when the project has none recorded.
  Result<PipelinePolicyRecord> GetPolicy(const std::string& project_id);
  Status PutPolicy(const PipelinePolicyRecord& p);

  Result<PipelineLockRecord> GetLock(const std::string& project_id, const std::string& pipeline,
                                     const std::string& stage_id);
  // Inserts or replaces the lock (clearing any unlock).
  Status PutLock(const PipelineLockRecord& l);
  Status MarkUnlocked(const std::string& project_id, const std::string& pipeline,
                      const std::string& stage_id, const std::string& by, const std::string& reason,
                      int64_t at);
  // Ordered by stage id.
  Result<std::vector<PipelineLockRecord>> ListLocks(const std::string& project_id,
                                                    const std::string& pipeline);

 private:
  Tx& tx_;
};

}  // namespace studio::store
