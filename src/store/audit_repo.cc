#include "store/audit_repo.h"

#include <soci/soci.h>

namespace studio::store {
namespace {

struct Row {
  AuditEventRecord r;
  long long seq = 0, ts = 0;
  AuditEventRecord Get() {
    r.seq = seq;
    r.ts = ts;
    return r;
  }
  void Exchange(soci::statement& st) {
    st.exchange(soci::into(seq));
    st.exchange(soci::into(r.id));
    st.exchange(soci::into(ts));
    st.exchange(soci::into(r.actor));
    st.exchange(soci::into(r.action));
    st.exchange(soci::into(r.resource_type));
    st.exchange(soci::into(r.resource_id));
    st.exchange(soci::into(r.request_id));
    st.exchange(soci::into(r.details_json));
    st.exchange(soci::into(r.prev_hash));
    st.exchange(soci::into(r.hash));
  }
};

constexpr const char* kColumns =
    "SELECT seq, id, ts, actor, action, resource_type, resource_id, request_id, details, "
    "prev_hash, hash FROM audit_events";

}  // namespace

Result<AuditHead> AuditEvents::LockHead() {
  auto& s = tx_.session();
  // A no-op UPDATE takes the row lock on PostgreSQL (SQLite already holds the write lock).
  s << "UPDATE audit_head SET seq = seq WHERE id = 1";
  return Head();
}

Result<AuditHead> AuditEvents::Head() {
  AuditHead head;
  long long seq = 0;
  tx_.session() << "SELECT seq, hash FROM audit_head WHERE id = 1", soci::into(seq),
      soci::into(head.hash);
  if (!tx_.session().got_data()) return Internal("audit head row is missing");
  head.seq = seq;
  return head;
}

Status AuditEvents::Append(const AuditEventRecord& e) {
  auto& s = tx_.session();
  long long seq = e.seq, ts = e.ts;
  s << "INSERT INTO audit_events (seq, id, ts, actor, action, resource_type, resource_id, "
       "request_id, details, prev_hash, hash) VALUES (:seq, :id, :ts, :actor, :action, :rtype, "
       ":rid, :reqid, :details, :prev, :hash)",
      soci::use(seq), soci::use(e.id), soci::use(ts), soci::use(e.actor), soci::use(e.action),
      soci::use(e.resource_type), soci::use(e.resource_id), soci::use(e.request_id),
      soci::use(e.details_json), soci::use(e.prev_hash), soci::use(e.hash);
  s << "UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", soci::use(seq),
      soci::use(e.hash);
  return Status::Ok();
}

Result<std::vector<AuditEventRecord>> AuditEvents::List(const AuditFilter& f, int64_t before_seq,
                                                        int limit) {
  std::string sql = std::string(kColumns) + " WHERE seq < :before";
  long long before = before_seq > 0 ? before_seq : (1LL << 62);
  long long since = f.since, until = f.until;
  if (!f.actor.empty()) sql += " AND actor = :actor";
  if (!f.action.empty()) sql += " AND action = :action";
  if (!f.resource_type.empty()) sql += " AND resource_type = :rtype";
  if (!f.resource_id.empty()) sql += " AND resource_id = :rid";
  if (f.since > 0) sql += " AND ts >= :since";
  if (f.until > 0) sql += " AND ts < :until";
  sql += " ORDER BY seq DESC LIMIT :lim";
  soci::statement st(tx_.session());
  st.alloc();
  st.exchange(soci::use(before, "before"));
  if (!f.actor.empty()) st.exchange(soci::use(f.actor, "actor"));
  if (!f.action.empty()) st.exchange(soci::use(f.action, "action"));
  if (!f.resource_type.empty()) st.exchange(soci::use(f.resource_type, "rtype"));
  if (!f.resource_id.empty()) st.exchange(soci::use(f.resource_id, "rid"));
  if (f.since > 0) st.exchange(soci::use(since, "since"));
  if (f.until > 0) st.exchange(soci::use(until, "until"));
  st.exchange(soci::use(limit, "lim"));
  Row row;
  row.Exchange(st);
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<AuditEventRecord> out;
  while (st.fetch()) out.push_back(row.Get());
  return out;
}

Status AuditEvents::ForEach(const std::function<Status(const AuditEventRecord&)>& fn) {
  long long after = 0;
  const int kBatch = 1000;
  while (true) {
    soci::statement st(tx_.session());
    st.alloc();
    st.exchange(soci::use(after, "after"));
    st.exchange(soci::use(kBatch, "lim"));
    Row row;
    row.Exchange(st);
    st.prepare(std::string(kColumns) + " WHERE seq > :after ORDER BY seq LIMIT :lim");
    st.define_and_bind();
    st.execute();
    int n = 0;
    std::vector<AuditEventRecord> batch;
    while (st.fetch()) batch.push_back(row.Get());
    for (const auto& e : batch) {
      RETURN_IF_ERROR(fn(e));
      after = e.seq;
      ++n;
    }
    if (n < kBatch) return Status::Ok();
  }
}

}  // namespace studio::store
