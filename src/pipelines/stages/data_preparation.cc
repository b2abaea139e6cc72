// data-preparation: schema check, casts, null handling, dedupe, then a reference/current
// split → two normalized CSV dataset artifacts.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>

#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/table.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : std::to_string(v);
}

// Rewrites column c as `type`; a value that does not convert is an error naming the row
// (1-based data row, i.e. CSV line - 1) and the value.
Status Cast(Table& t, size_t c, const std::string& type) {
  if (type == "string") return Status::Ok();
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::string& f = t.rows[r][c];
    if (IsMissing(f)) {
      f.clear();
      continue;
    }
    bool ok = true;
    if (type == "int") {
      int64_t i;
      double d;
      if (ParseInt(f, &i)) {
        f = std::to_string(i);
      } else if (ParseFloat(f, &d) && std::isfinite(d) && d == std::floor(d) &&
                 std::fabs(d) < 9.0e15) {
        f = std::to_string(static_cast<int64_t>(d));
      } else {
        ok = false;
      }
    } else if (type == "float") {
      double d;
      if (ParseFloat(f, &d))
        f = FormatDouble(d);
      else
        ok = false;
    } else if (type == "bool") {
      bool b;
      if (ParseBool(f, &b))
        f = b ? "true" : "false";
      else
        ok = false;
    } else {
      return InvalidArgument("unknown cast type '" + type + "' (int, float, string, bool)");
    }
    if (!ok)
      return InvalidArgument("cannot cast column '" + t.columns[c] + "' to " + type + ": row " +
                             std::to_string(r + 1) + " has '" + f + "'");
  }
  return Status::Ok();
}

// The value that replaces a missing field with nulls: fill — 0 for numbers, false for
// booleans, "missing" for text (the column's type after casts, or as inferred).
std::string FillValue(ColType t) {
  switch (t) {
    case ColType::kInteger:
    case ColType::kFloat:
      return "0";
    case ColType::kBoolean:
      return "false";
    case ColType::kString:
      return "missing";
  }
  return "";
}

}  // namespace

Result<nlohmann::json> RunDataPreparation(const StageContext& ctx) {
  ASSIGN_OR_RETURN(const nlohmann::json* in, UpstreamOf(ctx, "data-ingestion"));
  if (!in->contains("dataset") || !(*in)["dataset"].is_object())
    return InvalidArgument("the outputs of the 'data-ingestion' stage have no 'dataset'");
  ASSIGN_OR_RETURN(std::string input_path,
                   OutputString((*in)["dataset"], "data-ingestion", "path"));
  ASSIGN_OR_RETURN(std::string nulls, StringParam(ctx, "nulls", "keep"));
  ASSIGN_OR_RETURN(bool dedupe, BoolParam(ctx, "dedupe", false));
  ASSIGN_OR_RETURN(double fraction, NumberParam(ctx, "reference_fraction", 0.5));
  ASSIGN_OR_RETURN(std::string split_column, StringParam(ctx, "split_column"));
  if (!(fraction > 0 && fraction < 1))
    return InvalidArgument("reference_fraction must be between 0 and 1");

  ASSIGN_OR_RETURN(Table t, LoadTable(*ctx.artifacts, input_path));
  const int64_t input_rows = static_cast<int64_t>(t.rows.size());

  // Schema check: every missing column at once.
  std::vector<std::string> missing;
  if (auto it = ctx.stage.with.find("required_columns"); it != ctx.stage.with.end())
    for (const auto& c : *it)
      if (t.Find(c.get<std::string>()) < 0) missing.push_back(c.get<std::string>());
  if (!missing.empty()) {
    std::string list, have;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    for (const auto& c : t.columns) have += (have.empty() ? "" : ", ") + c;
    return InvalidArgument("required columns missing from " + input_path + ": " + list +
                           " (the dataset has: " + have + ")");
  }

  std::map<std::string, std::string> casts;
  if (auto it = ctx.stage.with.find("casts"); it != ctx.stage.with.end() && it->is_object())
    for (auto c = it->begin(); c != it->end(); ++c) casts[c.key()] = c->get<std::string>();
  for (const auto& [col, type] : casts) {
    int c = t.Find(col);
    if (c < 0) return InvalidArgument("casts: no column '" + col + "' in " + input_path);
    RETURN_IF_ERROR(Cast(t, static_cast<size_t>(c), type));
  }

  int64_t dropped_nulls = 0, filled = 0;
  if (nulls == "drop") {
    auto keep = std::remove_if(t.rows.begin(), t.rows.end(), [](const auto& r) {
      return std::any_of(r.begin(), r.end(), [](const std::string& f) { return IsMissing(f); });
    });
    dropped_nulls = std::distance(keep, t.rows.end());
    t.rows.erase(keep, t.rows.end());
  } else if (nulls == "fill") {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      std::string value = FillValue(InferType(t, c));
      for (auto& r : t.rows)
        if (IsMissing(r[c])) {
          r[c] = value;
          ++filled;
        }
    }
  } else if (nulls != "keep") {
    return InvalidArgument("nulls must be drop, fill or keep, got '" + nulls + "'");
  }

  int64_t duplicates = 0;
  if (dedupe) {
    std::set<std::vector<std::string>> seen;
    std::vector<std::vector<std::string>> kept;
    for (auto& r : t.rows)
      if (seen.insert(r).second) kept.push_back(std::move(r));
    duplicates = static_cast<int64_t>(t.rows.size() - kept.size());
    t.rows = std::move(kept);
  }
  RETURN_IF_ERROR(CheckCancelled(ctx));

  // Split: the first `fraction` of the rows in file order, or in ascending order of
  // split_column (numeric when the column is numeric, stable for ties), is the reference.
  if (!split_column.empty()) {
    int c = t.Find(split_column);
    if (c < 0) return InvalidArgument("split_column: no column '" + split_column + "'");
    ColType type = InferType(t, static_cast<size_t>(c));
    bool numeric = type == ColType::kInteger || type == ColType::kFloat;
    size_t ci = static_cast<size_t>(c);
    std::stable_sort(t.rows.begin(), t.rows.end(), [&](const auto& a, const auto& b) {
      // Missing values sort last.
      bool ma = IsMissing(a[ci]), mb = IsMissing(b[ci]);
      if (ma || mb) return !ma && mb;
      if (numeric) {
        double x = 0, y = 0;
        ParseFloat(a[ci], &x);
        ParseFloat(b[ci], &y);
        return x < y;
      }
      return a[ci] < b[ci];
    });
  }
  const size_t n = t.rows.size();
  const size_t n_ref = static_cast<size_t>(std::floor(static_cast<double>(n) * fraction + 1e-9));
  if (n_ref == 0 || n_ref == n)
    return InvalidArgument("cannot split " + std::to_string(n) +
                           " rows (after null handling and dedupe) at reference_fraction " +
                           std::to_string(fraction) + ": one side would be empty");
  Table ref{t.columns, {}}, cur{t.columns, {}};
  ref.rows.assign(std::make_move_iterator(t.rows.begin()),
                  std::make_move_iterator(t.rows.begin() + static_cast<std::ptrdiff_t>(n_ref)));
  cur.rows.assign(std::make_move_iterator(t.rows.begin() + static_cast<std::ptrdiff_t>(n_ref)),
                  std::make_move_iterator(t.rows.end()));

  ASSIGN_OR_RETURN(std::string prefix, StagePrefix(ctx));
  ASSIGN_OR_RETURN(nlohmann::json reference,
                   SaveTable(*ctx.artifacts, prefix + "reference.csv", ref));
  ASSIGN_OR_RETURN(nlohmann::json current, SaveTable(*ctx.artifacts, prefix + "current.csv", cur));
  Log(ctx, "prepared " + std::to_string(n) + " of " + std::to_string(input_rows) + " rows (" +
               std::to_string(dropped_nulls) + " dropped for nulls, " + std::to_string(duplicates) +
               " duplicates): reference " + std::to_string(ref.rows.size()) + ", current " +
               std::to_string(cur.rows.size()));
  return nlohmann::json{
      {"input", input_path},
      {"input_rows", input_rows},
      {"rows", static_cast<int64_t>(n)},
      {"dropped_null_rows", dropped_nulls},
      {"filled_values", filled},
      {"duplicate_rows", duplicates},
      {"split", split_column.empty() ? "row order" : "order of " + split_column},
      {"reference_fraction", fraction},
      {"reference", reference},
      {"current", current},
      {"schema", reference["schema"]},
      {"datasets", {{"reference", reference["sha256"]}, {"current", current["sha256"]}}}};
}

}  // namespace studio::pipelines::stages::internal
