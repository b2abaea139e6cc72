#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "store/metadata_store.h"
#include "store/records.h"

namespace studio::audit {

struct Entry {
  std::string actor;   // username, or "system"
  std::string action;  // "<resource>.<verb>", e.g. "project.create"
  std::string resource_type;
  std::string resource_id;
  std::string request_id;
  std::string details_json = "{}";  // an object
};

// Appends `entry` to the hash chain inside the caller's transaction, so the change it records
// and the event commit together or not at all.
Status Append(store::Tx& tx, const Entry& entry);

// hex(SHA-256(prev_hash || canonical JSON of the event without prev_hash and hash)).
std::string ComputeHash(const store::AuditEventRecord& event);
// Keys sorted, no whitespace — the bytes the hash covers.
std::string CanonicalJson(const store::AuditEventRecord& event);

struct VerifyReport {
  bool ok = true;
  int64_t count = 0;
  int64_t first_broken_seq = 0;
  std::string first_broken_id;
  std::string problem;
};

// Recomputes the whole chain and names the first event that does not fit.
Result<VerifyReport> Verify(store::MetadataStore& store);

}  // namespace studio::audit
