// PostgreSQL backend: RDS in AWS; the same SQL as SQLite wherever the dialects agree.
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

#include "store/internal/pg_uri.h"
#include "store/internal/soci_store.h"
#include "store/internal/store_factories.h"

namespace studio::store {
namespace {

class PostgresStore final : public SociStore {
 public:
  PostgresStore(std::string conninfo, int pool_size)
      : SociStore(pool_size), conninfo_(std::move(conninfo)) {}
  std::string_view backend() const override { return "postgresql"; }
  Status Open() { return Init(); }

 protected:
  void Connect(soci::session& s) override {
    s.open(*soci::factory_postgresql(), conninfo_);
    ExecScript(s, "SET client_min_messages TO WARNING");
  }

  void ExecScript(soci::session& s, const std::string& sql) override {
    auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
    PGresult* res = PQexec(backend->conn_, sql.c_str());
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string msg = PQresultErrorMessage(res);
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string sqlstate = state ? state : "XX000";
      PQclear(res);
      throw soci::postgresql_soci_error(msg, sqlstate.c_str());
    }
    PQclear(res);
  }

  void Revive(soci::session& s) override {
    auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
    if (backend == nullptr || PQstatus(backend->conn_) != CONNECTION_OK) s.reconnect();
  }

  const char* BeginWriteSql() const override { return "BEGIN"; }
  const std::vector<Migration>& Migrations() const override { return PostgresMigrations(); }
  bool SerializeWrites() const override { return false; }

  bool IsUniqueViolation(const std::exception& e) const override {
    const auto* pe = dynamic_cast<const soci::postgresql_soci_error*>(&e);
    return pe && pe->sqlstate() == "23505";
  }
  bool IsConnectionError(const std::exception& e) const override {
    if (const auto* pe = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
      std::string st = pe->sqlstate();
      if (st.rfind("08", 0) == 0 || st == "57P01" || st == "57P02" || st == "57P03") return true;
    }
    const auto* se = dynamic_cast<const soci::soci_error*>(&e);
    if (se && se->get_error_category() == soci::soci_error::connection_error) return true;
    // A failed reconnect surfaces as a plain error whose text is libpq's.
    std::string what = e.what();
    return what.find("Cannot establish connection") != std::string::npos ||
           what.find("server closed the connection") != std::string::npos ||
           what.find("no connection to the server") != std::string::npos;
  }

 private:
  std::string conninfo_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenPostgresStore(const std::string& uri,
                                                         const StoreOptions& options) {
  ASSIGN_OR_RETURN(std::string conninfo, PostgresUriToConninfo(uri));
  auto store = std::make_unique<PostgresStore>(conninfo, options.pool_size);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace studio::store
