#include "store/internal/test_stores.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/ids.h"
#include "store/internal/pg_uri.h"

namespace studio::store::testing {
namespace {

std::string PgBaseUri() {
  const char* file = std::getenv("STUDIO_TEST_PG_URI_FILE");
  if (!file) return "";
  std::ifstream in(file);
  std::string uri;
  std::getline(in, uri);
  if (uri.empty()) throw std::runtime_error(std::string("cannot read PostgreSQL URI from ") + file);
  return uri;
}

std::string Conninfo(const std::string& uri) {
  auto c = PostgresUriToConninfo(uri);
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  return *c;
}

}  // namespace

std::vector<std::string> Backends() { return {"sqlite", "postgresql"}; }

bool BackendAvailable(const std::string& backend) {
  return backend == "sqlite" || std::getenv("STUDIO_TEST_PG_URI_FILE") != nullptr;
}

std::unique_ptr<TestStore> OpenTestStore(const std::string& backend) {
  auto t = std::make_unique<TestStore>();
  t->backend = backend;
  std::string suffix = NewUuidV7().substr(24);
  if (backend == "sqlite") {
    auto dir = std::filesystem::temp_directory_path() / ("studio-test-" + suffix);
    std::filesystem::create_directories(dir);
    t->cleanup_dir = dir.string();
    t->uri = "sqlite://" + (dir / "studio.db").string();
  } else {
    // A database per test: isolation without touching the URI's options.
    std::string base = PgBaseUri();
    t->cleanup_schema = "t_" + suffix;
    soci::session admin(*soci::factory_postgresql(), Conninfo(base));
    admin << "CREATE DATABASE " + t->cleanup_schema;
    t->uri = base.substr(0, base.rfind('/') + 1) + t->cleanup_schema;
  }
  auto store = OpenStore(t->uri, {4});
  if (!store.ok()) throw std::runtime_error("open store: " + store.status().ToString());
  t->store = std::move(store).value();
  Status st = t->store->Migrate();
  if (!st.ok()) throw std::runtime_error("migrate: " + st.ToString());
  return t;
}

void TestStore::Exec(const std::string& sql) {
  if (backend == "sqlite") {
    soci::session s(*soci::factory_sqlite3(), "db=\"" + uri.substr(9) + "\" timeout=10");
    s << sql;
  } else {
    soci::session s(*soci::factory_postgresql(), Conninfo(uri));
    s << sql;
  }
}

TestStore::~TestStore() {
  store.reset();
  if (!cleanup_dir.empty()) std::filesystem::remove_all(cleanup_dir);
  if (!cleanup_schema.empty()) {
    try {
      soci::session admin(*soci::factory_postgresql(), Conninfo(PgBaseUri()));
      admin << "DROP DATABASE IF EXISTS " + cleanup_schema + " WITH (FORCE)";
    } catch (const std::exception&) {
    }
  }
}

}  // namespace studio::store::testing
