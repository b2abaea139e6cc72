#include "audit/audit_log.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "store/audit_repo.h"

namespace studio::audit {

std::string CanonicalJson(const store::AuditEventRecord& e) {
  nlohmann::json details = nlohmann::json::parse(e.details_json, nullptr, false);
  if (details.is_discarded()) details = e.details_json;  // hash what is stored, even if odd
  // nlohmann::json objects are std::map-backed, so dump() emits sorted keys.
  // ts as the API serves it (RFC 3339, ms), so anyone can verify an event as served.
  nlohmann::json j = {{"seq", e.seq},
                      {"id", e.id},
                      {"ts", FormatRfc3339(e.ts)},
                      {"actor", e.actor},
                      {"action", e.action},
                      {"resource_type", e.resource_type},
                      {"resource_id", e.resource_id},
                      {"request_id", e.request_id},
                      {"details", details}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ComputeHash(const store::AuditEventRecord& e) {
  return crypto::Sha256Hex(e.prev_hash + CanonicalJson(e));
}

Status Append(store::Tx& tx, const Entry& entry) {
  store::AuditEvents events(tx);
  ASSIGN_OR_RETURN(store::AuditHead head, events.LockHead());
  store::AuditEventRecord e;
  e.seq = head.seq + 1;
  e.id = NewUuidV7();
  e.ts = NowMillis();
  e.actor = entry.actor;
  e.action = entry.action;
  e.resource_type = entry.resource_type;
  e.resource_id = entry.resource_id;
  e.request_id = entry.request_id;
  // Store the canonical form of the details so the stored text is what the hash covers.
  nlohmann::json details = nlohmann::json::parse(entry.details_json, nullptr, false);
  if (details.is_discarded() || !details.is_object())
    return Internal("audit details must be a JSON object");
  e.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  e.prev_hash = head.hash;
  e.hash = ComputeHash(e);
  return events.Append(e);
}

Result<VerifyReport> Verify(store::MetadataStore& store) {
  VerifyReport report;
  Status st = store.Read([&](store::Tx& tx) -> Status {
    store::AuditEvents events(tx);
    std::string prev(64, '0');
    int64_t expected_seq = 1;
    auto fail = [&](const store::AuditEventRecord& e, std::string why) {
      report.ok = false;
      report.first_broken_seq = e.seq;
      report.first_broken_id = e.id;
      report.problem = std::move(why);
      return Status(ErrorCode::kResourceConflict, "stop");
    };
    Status walk = events.ForEach([&](const store::AuditEventRecord& e) -> Status {
      if (e.seq != expected_seq)
        return fail(e, "sequence gap: expected " + std::to_string(expected_seq));
      if (e.prev_hash != prev) return fail(e, "prev_hash does not match the previous event's hash");
      if (ComputeHash(e) != e.hash) return fail(e, "hash does not match the event's contents");
      prev = e.hash;
      ++expected_seq;
      ++report.count;
      return Status::Ok();
    });
    if (!walk.ok() && report.ok) return walk;
    if (report.ok) {
      ASSIGN_OR_RETURN(store::AuditHead head, events.Head());
      if (head.seq != report.count || head.hash != prev) {
        report.ok = false;
        report.first_broken_seq = report.count + 1;
        report.problem = "events after seq " + std::to_string(report.count) +
                         " are missing (head is at seq " + std::to_string(head.seq) + ")";
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return report;
}

}  // namespace studio::audit
