#pragma once

// Test support: opens a fresh, migrated store on each backend. SQLite lives in a temp dir;
// PostgreSQL gets its own database inside the server started by the `postgres` ctest fixture
// (scripts/pg-harness.sh), whose URI is in the file named by STUDIO_TEST_PG_URI_FILE.

#include <memory>
#include <string>
#include <vector>

#include "store/metadata_store.h"

namespace studio::store::testing {

struct TestStore {
  std::string backend;  // "sqlite" | "postgresql"
  std::string uri;
  std::unique_ptr<MetadataStore> store;
  std::string cleanup_dir;     // sqlite
  std::string cleanup_schema;  // postgresql: the per-test database
  ~TestStore();
  // Runs raw SQL on a separate connection (for tamper tests).
  void Exec(const std::string& sql);
};

// Both backends, always listed (gtest discovery runs without the fixture's environment).
std::vector<std::string> Backends();
// PostgreSQL runs when STUDIO_TEST_PG_URI_FILE is set (always under ctest); tests skip it
// otherwise. A set variable naming an unreadable file fails the test rather than skipping.
bool BackendAvailable(const std::string& backend);
std::unique_ptr<TestStore> OpenTestStore(const std::string& backend);

}  // namespace studio::store::testing
