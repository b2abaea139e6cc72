// feature-store: the declared feature expressions on the prepared reference and current
// splits → a versioned feature table features/<table>/v<N>/ with per-feature statistics and
// the monitoring reference profile (what model-monitoring and monitors compare against).
#include <algorithm>
#include <cmath>
#include <regex>

#include "common/time_util.h"
#include "monitoring/csv/csv_reader.h"
#include "monitoring/drift.h"
#include "pipelines/stages/internal/features.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/table.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

// count/missing/mean/std (sample, ddof=1 as pandas)/min/max for numeric columns;
// count/missing/distinct/top for text.
nlohmann::json ColumnStats(const Table& t, size_t c) {
  int64_t missing = 0;
  std::vector<double> xs;
  bool numeric = true;
  std::map<std::string, int64_t> counts;
  for (const auto& r : t.rows) {
    const std::string& f = r[c];
    if (IsMissing(f)) {
      ++missing;
      continue;
    }
    double d;
    if (numeric && ParseFloat(f, &d))
      xs.push_back(d);
    else
      numeric = false;
    ++counts[f];
  }
  int64_t count = static_cast<int64_t>(t.rows.size()) - missing;
  nlohmann::json s = {{"count", count}, {"missing", missing}};
  if (numeric) {
    s["kind"] = "numeric";
    if (xs.empty()) return s;
    double sum = 0;
    for (double x : xs) sum += x;
    double mean = sum / static_cast<double>(xs.size());
    double ss = 0;
    for (double x : xs) ss += (x - mean) * (x - mean);
    s["mean"] = mean;
    s["std"] = xs.size() > 1 ? std::sqrt(ss / static_cast<double>(xs.size() - 1)) : 0.0;
    s["min"] = *std::min_element(xs.begin(), xs.end());
    s["max"] = *std::max_element(xs.begin(), xs.end());
    return s;
  }
  s["kind"] = "categorical";
  s["distinct"] = static_cast<int64_t>(counts.size());
  auto top = std::max_element(counts.begin(), counts.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  if (top != counts.end()) s["top"] = top->first;
  return s;
}

Result<int64_t> NextVersion(artifacts::ArtifactStore& store, const std::string& dir) {
  auto listing = store.List(dir);
  if (!listing.ok()) {
    if (listing.status().code() == ErrorCode::kResourceDoesNotExist) return 1;
    return listing.status();
  }
  int64_t max = 0;
  for (const auto& e : *listing) {
    std::string name = e.path.substr(e.path.rfind('/') + 1);
    if (name.size() < 2 || name[0] != 'v') continue;
    try {
      size_t used = 0;
      int64_t n = std::stoll(name.substr(1), &used);
      if (used == name.size() - 1) max = std::max(max, n);
    } catch (...) {
    }
  }
  return max + 1;
}

}  // namespace

Result<nlohmann::json> RunFeatureStore(const StageContext& ctx) {
  ASSIGN_OR_RETURN(const nlohmann::json* prep, UpstreamOf(ctx, "data-preparation"));
  for (const char* split : {"reference", "current"})
    if (!prep->contains(split) || !(*prep)[split].is_object())
      return InvalidArgument(std::string("the outputs of the 'data-preparation' stage have no '") +
                             split + "'");
  ASSIGN_OR_RETURN(std::string ref_path,
                   OutputString((*prep)["reference"], "data-preparation", "path"));
  ASSIGN_OR_RETURN(std::string cur_path,
                   OutputString((*prep)["current"], "data-preparation", "path"));
  std::string default_table = ctx.pipeline.empty() ? "features" : ctx.pipeline;
  ASSIGN_OR_RETURN(std::string table, StringParam(ctx, "table", default_table));
  static const std::regex kTableName("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
  if (!std::regex_match(table, kTableName))
    return InvalidArgument("feature table name '" + table +
                           "' must be 1-128 of letters, digits, '_', '.', '-'");
  auto features_it = ctx.stage.with.find("features");
  if (features_it == ctx.stage.with.end() || !features_it->is_array() || features_it->empty())
    return InvalidArgument("feature-store needs 'features': a list of {name, expr}");
  std::vector<FeatureExpr> exprs;
  for (const auto& f : *features_it) {
    if (!f.is_object() || !f.contains("name") || !f.contains("expr") || !f["name"].is_string() ||
        !f["expr"].is_string())
      return InvalidArgument("each feature is {name, expr}");
    ASSIGN_OR_RETURN(FeatureExpr e,
                     ParseFeatureExpr(f["name"].get<std::string>(), f["expr"].get<std::string>()));
    exprs.push_back(std::move(e));
  }

  ASSIGN_OR_RETURN(Table ref, LoadTable(*ctx.artifacts, ref_path));
  ASSIGN_OR_RETURN(Table cur, LoadTable(*ctx.artifacts, cur_path));
  if (ref.columns != cur.columns)
    return InvalidArgument("the reference and current splits have different columns");
  Table ref_out, cur_out;
  ref_out.rows.resize(ref.rows.size());
  cur_out.rows.resize(cur.rows.size());
  nlohmann::json feature_list = nlohmann::json::array();
  for (const auto& e : exprs) {
    ASSIGN_OR_RETURN(FeatureColumns cols, ComputeFeature(e, ref, cur, &ref_out, &cur_out));
    nlohmann::json item = {{"name", e.name},
                           {"columns", cols.names},
                           {"invalid_reference", cols.invalid_reference},
                           {"invalid_current", cols.invalid_current}};
    if (!cols.categories.empty()) item["categories"] = cols.categories;
    feature_list.push_back(item);
  }
  for (size_t i = 0; i < ref_out.columns.size(); ++i)
    for (size_t j = i + 1; j < ref_out.columns.size(); ++j)
      if (ref_out.columns[i] == ref_out.columns[j])
        return InvalidArgument("two features produce the column '" + ref_out.columns[i] + "'");

  nlohmann::json stats = nlohmann::json::object();
  for (size_t c = 0; c < ref_out.columns.size(); ++c)
    stats[ref_out.columns[c]] = {{"reference", ColumnStats(ref_out, c)},
                                 {"current", ColumnStats(cur_out, c)}};

  // The monitoring reference profile, built the way monitors build theirs (CSV kind rule).
  std::string ref_csv = WriteCsv(ref_out);
  ASSIGN_OR_RETURN(monitoring::Dataset ref_ds, monitoring::ParseCsv(ref_csv, "reference features"));
  ASSIGN_OR_RETURN(monitoring::ReferenceProfile profile,
                   monitoring::BuildProfile(ref_ds, monitoring::DriftOptions{}));
  std::string profile_json = profile.ToJson();

  // The version is the next free number; a concurrent run that took the same number is
  // noticed through the manifest (last written, read back) and this run moves on.
  const std::string table_dir = "features/" + table;
  for (int attempt = 0; attempt < 5; ++attempt) {
    RETURN_IF_ERROR(CheckCancelled(ctx));
    ASSIGN_OR_RETURN(int64_t version, NextVersion(*ctx.artifacts, table_dir));
    std::string dir = table_dir + "/v" + std::to_string(version) + "/";
    ASSIGN_OR_RETURN(nlohmann::json reference,
                     SaveTable(*ctx.artifacts, dir + "reference.csv", ref_out));
    ASSIGN_OR_RETURN(nlohmann::json current,
                     SaveTable(*ctx.artifacts, dir + "current.csv", cur_out));
    ASSIGN_OR_RETURN(auto profile_put, PutText(*ctx.artifacts, dir + "profile.json", profile_json));
    ASSIGN_OR_RETURN(auto stats_put,
                     PutText(*ctx.artifacts, dir + "statistics.json", stats.dump(2)));
    nlohmann::json manifest = {
        {"table", table},
        {"version", version},
        {"run_id", ctx.run_id},
        {"stage", ctx.stage.id},
        {"pipeline", ctx.pipeline},
        {"created_at", FormatRfc3339(NowMillis())},
        {"features", feature_list},
        {"source",
         {{"reference", (*prep)["reference"].value("sha256", "")},
          {"current", (*prep)["current"].value("sha256", "")}}},
        {"reference", reference},
        {"current", current},
        {"profile", {{"path", dir + "profile.json"}, {"sha256", profile_put.sha256}}},
    };
    RETURN_IF_ERROR(PutText(*ctx.artifacts, dir + "manifest.json", manifest.dump(2)).status());
    ASSIGN_OR_RETURN(std::string back, GetText(*ctx.artifacts, dir + "manifest.json", 1 << 24));
    auto back_json = nlohmann::json::parse(back, nullptr, false);
    if (!back_json.is_object() || back_json.value("run_id", "") != ctx.run_id ||
        back_json.value("stage", "") != ctx.stage.id) {
      Log(ctx, "feature table " + table + " v" + std::to_string(version) +
                   " was taken by a concurrent run; trying the next version");
      continue;
    }
    Log(ctx, "feature table " + table + " v" + std::to_string(version) + ": " +
                 std::to_string(ref_out.columns.size()) + " columns, reference " +
                 std::to_string(ref_out.rows.size()) + " rows, current " +
                 std::to_string(cur_out.rows.size()) + " rows");
    return nlohmann::json{
        {"table", table},
        {"version", version},
        {"path", dir},
        {"manifest", dir + "manifest.json"},
        {"reference", reference},
        {"current", current},
        {"reference_path", reference["path"]},
        {"profile_path", dir + "profile.json"},
        {"profile_sha256", profile_put.sha256},
        {"statistics_path", dir + "statistics.json"},
        {"statistics", stats},
        {"features", feature_list},
        {"datasets",
         {{"features_reference", reference["sha256"]}, {"features_current", current["sha256"]}}}};
  }
  return Status(ErrorCode::kResourceConflict,
                "feature table " + table + ": could not claim a version (concurrent runs)");
}

}  // namespace studio::pipelines::stages::internal
