#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pipelines/stages/internal/table.h"

// The feature expressions of the feature-store stage (docs/pipelines.md "feature-store"):
//   col                         the column as is
//   a / b                       ratio of two numeric columns (missing when b is 0)
//   log(x)                      natural log (missing when x <= 0)
//   one_hot(col) | one-hot(col) one 0/1 column per reference category: NAME_<category>
//   bucketize(col, [e1, e2, …]) bucket index 0…k: the number of edges <= the value
namespace studio::pipelines::stages::internal {

struct FeatureExpr {
  enum Kind { kColumn, kRatio, kLog, kOneHot, kBucketize } kind = kColumn;
  std::string name;  // the declared feature name
  std::string a, b;  // column operands
  std::vector<double> edges;
};

// Parses one declared feature; errors name the feature and say what was expected.
Result<FeatureExpr> ParseFeatureExpr(const std::string& name, const std::string& expr);

struct FeatureColumns {
  std::vector<std::string> names;
  std::vector<std::string> categories;  // one-hot: the categories (from the reference)
  int64_t invalid_reference = 0, invalid_current = 0;  // values made missing (log <= 0, /0)
};

// Computes `f` on both splits, appending its column(s) to `ref_out` and `cur_out` (which have
// one row per input row). One-hot categories come from the reference split.
Result<FeatureColumns> ComputeFeature(const FeatureExpr& f, const Table& ref, const Table& cur,
                                      Table* ref_out, Table* cur_out);

}  // namespace studio::pipelines::stages::internal
