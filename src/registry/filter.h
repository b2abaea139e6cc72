#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/models_repo.h"

namespace studio::registry {

// MLflow's registry search grammar:
//   filter     := comparison (AND comparison)*
//   comparison := key op value
//   key        := name | run_id | source_path | version_number | tags.<k> | `...` forms
//                 (tags.`a key`, tags."a key", `name`)
//   op         := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
//   value      := 'string' | "string" | integer | ( value, ... )
// Errors are INVALID_PARAMETER_VALUE naming the column ("at column 12: expected a quoted
// string").

enum class FilterTarget { kModels, kVersions };

enum class FilterKey { kName, kRunId, kSourcePath, kVersionNumber, kTag };
enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn };

struct FilterValue {
  bool is_int = false;
  std::string text;
  long long number = 0;
};

struct Comparison {
  FilterKey key = FilterKey::kName;
  std::string tag_key;  // for kTag
  FilterOp op = FilterOp::kEq;
  std::vector<FilterValue> values;  // one, or the list of IN
  int column = 1;                   // 1-based position of the key in the filter text
};

// The parsed tree: a conjunction of comparisons (MLflow has no OR).
struct Filter {
  std::vector<Comparison> clauses;
};

Result<Filter> ParseFilter(const std::string& text, FilterTarget target);

// Parameterized SQL over m (registered_models) and v (model_versions). `sqlite` selects the
// case-sensitive LIKE spelling (SQLite's LIKE ignores ASCII case; GLOB does not).
store::SqlQuery CompileFilter(const Filter& filter, FilterTarget target, bool sqlite);

// order_by entries ("name", "last_updated_timestamp DESC", ...) → an ORDER BY list.
Result<std::string> CompileOrderBy(const std::vector<std::string>& order_by, FilterTarget target);

// A LIKE pattern (backslash escapes the next character) as the equivalent GLOB pattern.
std::string LikeToGlob(const std::string& like);

}  // namespace studio::registry
