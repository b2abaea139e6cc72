#include "store/internal/soci_store.h"

#include <algorithm>

#include "common/log.h"
#include "common/time_util.h"

namespace studio::store {

Status SociStore::Init() {
  try {
    for (int i = 0; i < pool_size_; ++i) Connect(pool_.at(i));
  } catch (const std::exception& e) {
    return Status(ErrorCode::kTemporarilyUnavailable,
                  std::string("cannot open the metadata store: ") + e.what());
  }
  return Status::Ok();
}

Status SociStore::Translate(const std::exception& e) const {
  if (IsUniqueViolation(e)) return Status(ErrorCode::kAlreadyExists, "already exists");
  if (IsConnectionError(e)) {
    log::Error("metadata store unavailable", {{"error", e.what()}});
    return Status(ErrorCode::kTemporarilyUnavailable, "the metadata store is unavailable");
  }
  // The message may carry SQL: log it, never return it.
  log::Error("metadata store error", {{"error", e.what()}});
  return Internal("metadata store error");
}

Status SociStore::RunInTransaction(soci::session& s, const std::function<Status(Tx&)>& fn) {
  s << BeginWriteSql();
  Status st;
  try {
    Tx tx(s, *this);
    st = fn(tx);
  } catch (const std::exception& e) {
    st = Translate(e);
  }
  if (st.ok()) {
    try {
      s << "COMMIT";
      return st;
    } catch (const std::exception& e) {
      st = Translate(e);
    }
  }
  try {
    s << "ROLLBACK";
  } catch (const std::exception& e) {
    log::Warn("rollback failed", {{"error", e.what()}});
  }
  return st;
}

Status SociStore::WithSession(const std::function<Status(soci::session&)>& body) {
  for (int attempt = 0;; ++attempt) {
    try {
      soci::session s(pool_);
      Revive(s);
      return body(s);
    } catch (const std::exception& e) {
      if (attempt <= pool_size_ && IsConnectionError(e)) continue;
      return Translate(e);
    }
  }
}

Status SociStore::Write(const std::function<Status(Tx&)>& fn) {
  // Exceptions escaping RunInTransaction come from BEGIN only: the caller's work has not run.
  return WithSession([&](soci::session& s) {
    std::unique_lock<std::mutex> lock(write_mu_, std::defer_lock);
    if (SerializeWrites()) lock.lock();
    return RunInTransaction(s, fn);
  });
}

Status SociStore::Read(const std::function<Status(Tx&)>& fn) {
  // Reads are idempotent, so a dropped connection is retried on a revived one.
  return WithSession([&](soci::session& s) {
    Tx tx(s, *this);
    return fn(tx);
  });
}

Status SociStore::Ping() {
  return Read([](Tx& tx) {
    int one = 0;
    tx.session() << "SELECT 1", soci::into(one);
    return one == 1 ? Status::Ok() : Internal("ping returned no row");
  });
}

int SociStore::LatestSchemaVersion() const {
  int v = 0;
  for (const Migration& m : Migrations()) v = std::max(v, m.version);
  return v;
}

Result<int> SociStore::SchemaVersion() {
  int version = 0;
  Status st = Read([&](Tx& tx) {
    soci::indicator ind;
    tx.session() << "SELECT MAX(version) FROM schema_migrations", soci::into(version, ind);
    if (ind != soci::i_ok) version = 0;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return version;
}

Status SociStore::Migrate() {
  try {
    soci::session s(pool_);
    std::lock_guard<std::mutex> lock(write_mu_);
    ExecScript(s,
               "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
               "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    for (const Migration& m : Migrations()) {
      // Each migration checks-and-applies inside its own write transaction, so two processes
      // migrating at once cannot both apply it.
      Status st = RunInTransaction(s, [&](Tx& tx) -> Status {
        int count = 0;
        tx.session() << "SELECT COUNT(*) FROM schema_migrations WHERE version = :v",
            soci::use(m.version), soci::into(count);
        if (count > 0) return Status::Ok();
        ExecScript(tx.session(), m.sql);
        long long now = NowMillis();
        tx.session() << "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (:v, :n, :t)",
            soci::use(m.version), soci::use(m.name), soci::use(now);
        log::Info("applied migration", {{"version", m.version}, {"name", m.name}});
        return Status::Ok();
      });
      if (!st.ok()) {
        if (st.code() == ErrorCode::kAlreadyExists) continue;  // another process won the race
        return Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name +
                                     ") failed: " + st.message());
      }
    }
  } catch (const std::exception& e) {
    return Translate(e);
  }
  return Status::Ok();
}

}  // namespace studio::store
