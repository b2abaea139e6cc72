#pragma once

#include <soci/soci.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/internal/dialect.h"
#include "store/metadata_store.h"

namespace studio::store {

// Shared by both backends: pooling, transactions, migrations, error translation.
class SociStore : public MetadataStore, protected Dialect {
 public:
  Status Migrate() override;
  Result<int> SchemaVersion() override;
  int LatestSchemaVersion() const override;
  Status Ping() override;
  Status Write(const std::function<Status(Tx&)>& fn) override;
  Status Read(const std::function<Status(Tx&)>& fn) override;

 protected:
  explicit SociStore(int pool_size) : pool_size_(pool_size), pool_(pool_size) {}
  // Opens every pooled session; call from the subclass factory.
  Status Init();

  virtual void Connect(soci::session& s) = 0;
  // Runs a multi-statement script through the native driver (soci prepares one statement).
  virtual void ExecScript(soci::session& s, const std::string& sql) = 0;
  virtual const char* BeginWriteSql() const = 0;
  virtual const std::vector<Migration>& Migrations() const = 0;
  virtual bool IsConnectionError(const std::exception& e) const = 0;
  // SQLite allows one writer: serialize in-process instead of spinning on SQLITE_BUSY.
  virtual bool SerializeWrites() const = 0;
  // Reopens a pooled connection the server dropped (database restart, failover).
  virtual void Revive(soci::session&) {}

 private:
  Status Translate(const std::exception& e) const;
  Status RunInTransaction(soci::session& s, const std::function<Status(Tx&)>& fn);
  // Runs `body` on a leased, revived session; a connection error before any statement of the
  // caller ran (so retrying is safe) is retried, once per pooled connection at most.
  Status WithSession(const std::function<Status(soci::session&)>& body);

  int pool_size_;
  soci::connection_pool pool_;
  std::mutex write_mu_;
};

}  // namespace studio::store
