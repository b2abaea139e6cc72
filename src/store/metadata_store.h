#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace soci {
class session;
}

namespace studio::store {

class Dialect;

// One open transaction. Repositories (users_repo.h, projects_repo.h, ...) take a Tx& so that
// a change and its audit event commit or roll back together.
class Tx {
 public:
  Tx(soci::session& session, const Dialect& dialect) : session_(session), dialect_(dialect) {}
  soci::session& session() { return session_; }
  const Dialect& dialect() const { return dialect_; }

 private:
  soci::session& session_;
  const Dialect& dialect_;
};

// The control plane's metadata. Two implementations behind this interface: SQLite (embedded
// default, WAL) and PostgreSQL (RDS in AWS), chosen by URI in OpenStore.
class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual std::string_view backend() const = 0;  // "sqlite" | "postgresql"
  // Applies pending numbered migrations, each in its own transaction. Idempotent.
  virtual Status Migrate() = 0;
  virtual Result<int> SchemaVersion() = 0;
  virtual int LatestSchemaVersion() const = 0;
  virtual Status Ping() = 0;

  // Runs `fn` in a read-write transaction: commits when it returns OK, else rolls back.
  // Writers are serialized where the backend needs it (SQLite has one writer).
  virtual Status Write(const std::function<Status(Tx&)>& fn) = 0;
  // Runs `fn` with a pooled session and no write lock.
  virtual Status Read(const std::function<Status(Tx&)>& fn) = 0;
};

struct StoreOptions {
  int pool_size = 8;
};

// `sqlite:///abs/path.db`, `sqlite://rel/path.db`, or `postgresql://user:pw@host:port/db`.
// The URI with any password replaced by "***", for logs and errors.
std::string RedactDbUri(const std::string& uri);

Result<std::unique_ptr<MetadataStore>> OpenStore(const std::string& uri,
                                                 const StoreOptions& options = {});

}  // namespace studio::store
