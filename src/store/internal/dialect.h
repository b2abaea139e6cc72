#pragma once

#include <exception>
#include <string>
#include <vector>

namespace studio::store {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// What differs between the SQL backends, for code shared by both.
class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual bool IsUniqueViolation(const std::exception& e) const = 0;
};

const std::vector<Migration>& SqliteMigrations();
const std::vector<Migration>& PostgresMigrations();

}  // namespace studio::store
