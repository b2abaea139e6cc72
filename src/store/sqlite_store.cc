// SQLite backend: the embedded default. WAL lets readers run beside the single writer.
#include <soci/sqlite3/soci-sqlite3.h>

#include <cstring>
#include <filesystem>

#include "store/internal/soci_store.h"
#include "store/internal/store_factories.h"

namespace studio::store {
namespace {

class SqliteStore final : public SociStore {
 public:
  SqliteStore(std::string path, int pool_size) : SociStore(pool_size), path_(std::move(path)) {}
  std::string_view backend() const override { return "sqlite"; }
  Status Open() { return Init(); }

 protected:
  void Connect(soci::session& s) override {
    s.open(*soci::factory_sqlite3(), "db=\"" + path_ + "\" timeout=10");
    // FULL sync: a commit acknowledged to a client survives power loss, not only kill -9.
    s << "PRAGMA journal_mode=WAL";
    s << "PRAGMA synchronous=FULL";
    s << "PRAGMA foreign_keys=ON";
    s << "PRAGMA busy_timeout=10000";
  }

  void ExecScript(soci::session& s, const std::string& sql) override {
    auto* backend = static_cast<soci::sqlite3_session_backend*>(s.get_backend());
    char* err = nullptr;
    // soci wraps sqlite3.h in namespace sqlite_api.
    int rc = sqlite_api::sqlite3_exec(backend->conn_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : "sqlite3_exec failed";
      sqlite_api::sqlite3_free(err);
      throw soci::sqlite3_soci_error(msg, rc);
    }
  }

  const char* BeginWriteSql() const override { return "BEGIN IMMEDIATE"; }
  const std::vector<Migration>& Migrations() const override { return SqliteMigrations(); }
  bool SerializeWrites() const override { return true; }

  bool IsUniqueViolation(const std::exception& e) const override {
    return std::strstr(e.what(), "UNIQUE constraint failed") != nullptr;
  }
  bool IsConnectionError(const std::exception& e) const override {
    const auto* se = dynamic_cast<const soci::soci_error*>(&e);
    return se && se->get_error_category() == soci::soci_error::connection_error;
  }

 private:
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteStore(const std::string& path,
                                                       const StoreOptions& options) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    return InvalidArgument("cannot create directory '" + parent.string() + "': " + ec.message());
  auto store = std::make_unique<SqliteStore>(path, options.pool_size);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace studio::store
