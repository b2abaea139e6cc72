#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"
#include "store/records.h"

namespace studio::store {

struct AuditFilter {
  std::string actor;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  int64_t since = 0;  // inclusive, epoch ms; 0: unbounded
  int64_t until = 0;  // exclusive; 0: unbounded
};

struct AuditHead {
  int64_t seq = 0;
  std::string hash;
};

// Rows of the hash chain. Hashing lives in audit/; this is storage only.
class AuditEvents {
 public:
  explicit AuditEvents(Tx& tx) : tx_(tx) {}
  // Takes the chain's write lock (an UPDATE of the head row) and returns the head.
  Result<AuditHead> LockHead();
  Status Append(const AuditEventRecord& event);  // also moves the head
  // Newest first; `before_seq` 0 means from the newest.
  Result<std::vector<AuditEventRecord>> List(const AuditFilter& filter, int64_t before_seq,
                                             int limit);
  // Oldest first, in batches, for verification.
  Status ForEach(const std::function<Status(const AuditEventRecord&)>& fn);
  Result<AuditHead> Head();

 private:
  Tx& tx_;
};

}  // namespace studio::store
