#pragma once

// Data drift statistics: Evidently's per-feature methods and default selection rule, with
// scipy-exact statistics and p-values (reference/drift_monitoring.md §1, §5).
//
// Semantics pinned here (the anchors crash or return NaN on these):
// - NaN and ±inf are dropped from numeric columns and counted (ref_dropped / cur_dropped);
//   "" is a missing categorical value, dropped and counted the same way.
// - A column that is empty after dropping (in either sample) is not an exception: its
//   FeatureDrift has `error` set, drift = false, and it is left out of the dataset share.
// - Constant columns: identical samples give statistic 0 and p-value 1 (ks, chisquare, z);
//   wasserstein with a constant reference divides by the 0.001 floor; chisquare with a single
//   category on both sides is p = 1 (Evidently returns NaN there, evidently#1929).
// - Categories seen only in the current sample are reported in unseen_categories. For
//   chisquare they have expected count 0: the statistic is +inf and p = 0 (scipy's answer),
//   i.e. a new category always means drift for that test.
// - Dataset drift: share = drifted / evaluated features (features with an error are not
//   evaluated); dataset_drift = evaluated > 0 && share >= drift_share.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace studio::monitoring {

enum class ColumnKind { kNumeric, kCategorical };
std::string_view ColumnKindName(ColumnKind kind);  // "numeric", "categorical"
std::optional<ColumnKind> ParseColumnKind(std::string_view name);

enum class Method {
  kAuto,
  kKs,
  kChiSquare,
  kZ,
  kWasserstein,
  kPsi,
  kJensenShannon,
  kKlDiv,
  kHellinger
};
// "auto","ks","chisquare","z","wasserstein","psi","jensenshannon","kl_div","hellinger"
std::string_view MethodName(Method method);
std::optional<Method> ParseMethod(std::string_view name);
// True for the methods whose score is a p-value (ks, chisquare, z).
bool IsPValueMethod(Method method);
// Evidently's default threshold: 0.05 for p-value tests, 0.1 for distances.
double DefaultThreshold(Method method);

enum class Correction { kNone, kBonferroni, kBenjaminiHochberg };
std::string_view CorrectionName(Correction correction);  // "none","bonferroni","bh"
std::optional<Correction> ParseCorrection(std::string_view name);

// One column of a dataset; `numeric` is used for kNumeric, `categorical` for kCategorical.
struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  std::vector<double> numeric;           // may contain NaN/±inf: dropped and counted
  std::vector<std::string> categorical;  // "" = missing
  // Alternative dictionary-encoded categorical form (used when `codes` is non-empty): row i is
  // dictionary[codes[i]], code -1 = missing. Saves a string per row for big CSVs.
  std::vector<int32_t> codes;
  std::vector<std::string> dictionary;
};
struct Dataset {
  std::vector<Column> columns;
  int64_t rows = 0;
  const Column* Find(std::string_view name) const;
};

// Numeric-vs-categorical inference for a column of raw CSV fields, as pandas.read_csv + Evidently
// would type it: a column whose every non-missing field parses as a number (incl. nan/inf
// spellings) is numeric, anything else categorical. Missing = "" (or NA spellings pandas reads
// as NaN: "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "-nan", "#N/A", ...). A column with
// no non-missing value is numeric (pandas gives float64 all-NaN). Feed fields incrementally so a
// CSV reader can infer without materialising strings.
class KindInferrer {
 public:
  void Add(std::string_view field);
  ColumnKind Kind() const { return all_numeric_ ? ColumnKind::kNumeric : ColumnKind::kCategorical; }

 private:
  bool all_numeric_ = true;
};
ColumnKind InferKind(std::span<const std::string> fields);
// The NA spellings above (pandas' default na_values); such fields are missing in both kinds.
bool IsMissingField(std::string_view field);
// Parses a numeric field the way pandas does (leading/trailing spaces ok, "inf", "-inf",
// "nan"...); nullopt if it is not a number. Missing fields parse as NaN.
std::optional<double> ParseNumericField(std::string_view field);

struct FeatureOverride {
  std::optional<Method> method;
  std::optional<double> threshold;
  // Treat the column as this kind (else the reference column's kind, which the current one
  // follows): numbers become categories (shortest round-trip text); categorical text is
  // parsed as numbers (unparsable values are dropped and counted).
  std::optional<ColumnKind> kind;
};

struct DriftOptions {
  Method method = Method::kAuto;    // for every column unless overridden
  std::optional<double> threshold;  // else the method's default
  double drift_share = 0.5;         // dataset drift when share of drifted features >= this
  Correction correction = Correction::kNone;  // applied over the p-value features only
  std::map<std::string, FeatureOverride> overrides;
  std::vector<std::string> columns;  // subset; empty = all columns common to both datasets
  // Also computed per feature from the same sorted data (reported in FeatureDrift::additional,
  // never used for the drift flag). E.g. {kKs, kPsi, kWasserstein, kJensenShannon}.
  std::vector<Method> additional_methods;
  int threads = 2;        // column-level parallelism; <= 0 = hardware concurrency
  int ecdf_points = 200;  // downsampled ECDF points per numeric feature; 0 = none
};

// For reports: shares per bin (sum to 1 over kept values). Numeric: edges.size() = bins + 1;
// categorical: one bin per category (ref ∪ cur, sorted).
struct Histogram {
  std::vector<double> edges;
  std::vector<std::string> categories;
  std::vector<double> ref, cur;
};

// One method's result on a feature (the primary one is flattened into FeatureDrift).
struct MethodScore {
  Method method = Method::kAuto;
  double statistic = 0;
  std::optional<double> p_value;
  double score = 0;
  double threshold = 0;
  bool drift = false;
};

struct FeatureDrift {
  std::string column;
  ColumnKind kind = ColumnKind::kNumeric;
  Method method = Method::kAuto;           // the method actually used (never kAuto)
  double statistic = 0;                    // KS D, chi2, z, normed distance, psi, js, kl, hellinger
  std::optional<double> p_value;           // for tests (ks, chisquare, z)
  std::optional<double> adjusted_p_value;  // after Bonferroni / BH, when a correction is set
  double score = 0;      // what is compared with the threshold (p-value or distance)
  double threshold = 0;  // as given (before any multiple-testing correction)
  bool drift = false;
  std::string error;  // non-empty: not evaluated (e.g. "reference is empty after dropping NaN")
  int64_t ref_count = 0, cur_count = 0;        // values used
  int64_t ref_dropped = 0, cur_dropped = 0;    // NaN/inf or missing dropped
  int64_t distinct = 0;                        // distinct values over ref ∪ cur (selection rule)
  std::vector<std::string> unseen_categories;  // in current, not in reference
  Histogram histogram;
  std::vector<std::pair<double, double>> ecdf_ref, ecdf_cur;  // (x, F(x)), numeric only
  std::vector<MethodScore> additional;  // DriftOptions::additional_methods, in that order
};

struct DriftReport {
  std::vector<FeatureDrift> features;
  int64_t evaluated = 0;  // features without error
  int64_t drifted = 0;
  double share = 0;
  double drift_share = 0.5;
  bool dataset_drift = false;
  Correction correction = Correction::kNone;
};

// The reference computed once and stored. Numeric columns keep ALL finite values sorted
// (exact KS/Wasserstein/PSI; 8 bytes per row) — no sketch: results must equal scipy's.
// Categorical columns keep category counts.
struct ColumnProfile {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  int64_t dropped = 0;
  std::vector<double> sorted;                               // numeric: finite values, ascending
  std::vector<std::pair<std::string, int64_t>> categories;  // categorical: sorted by value
  int64_t count() const;                                    // values kept
};
struct ReferenceProfile {
  std::vector<ColumnProfile> columns;
  int64_t rows = 0;
  const ColumnProfile* Find(std::string_view name) const;
  // {"version":1,"rows":N,"columns":[{"name","kind","dropped","values"|"categories"}]}
  std::string ToJson() const;
  static Result<ReferenceProfile> FromJson(std::string_view json);
};

Result<ReferenceProfile> BuildProfile(const Dataset& reference, const DriftOptions& options);
Result<DriftReport> ComputeDrift(const ReferenceProfile& reference, const Dataset& current,
                                 const DriftOptions& options);
// Same result as BuildProfile + ComputeDrift, without keeping a whole profile in memory.
Result<DriftReport> ComputeDrift(const Dataset& reference, const Dataset& current,
                                 const DriftOptions& options);

// The machine format: {"dataset_drift","share","drift_share","drifted","evaluated",
// "correction","features":[{"column","kind","method","statistic","p_value","adjusted_p_value",
// "score","threshold","drift","error","ref_count","cur_count","ref_dropped","cur_dropped","distinct",
// "unseen_categories","additional":[{"method","statistic","p_value","score","threshold","drift"}]}]}
// — p_value/adjusted_p_value/error omitted when absent. With include_plots, each feature also gets
// "histogram" and "ecdf_ref"/"ecdf_cur".
std::string ReportToJson(const DriftReport& report, bool include_plots = false);

// ---- The statistics themselves, for callers with plain samples (and the tests). ----
// Inputs need not be sorted unless stated; NaN must already be removed.
struct KsResult {
  double statistic = 0;
  double p_value = 1;
};
// scipy.stats.ks_2samp(a, b) two-sided, method='auto', on sorted samples.
KsResult KsTwoSampleSorted(std::span<const double> a, std::span<const double> b);
// scipy.stats.kstwo.sf(d, n).
double KolmogorovSmirnovSf(double d, int64_t n);
// scipy.stats.wasserstein_distance(a, b) on sorted samples.
double WassersteinSorted(std::span<const double> a, std::span<const double> b);
// scipy.stats.chisquare(f_obs, f_exp): {statistic, p_value}.
std::pair<double, double> ChiSquare(std::span<const double> observed,
                                    std::span<const double> expected);
// scipy.spatial.distance.jensenshannon(p, q) with natural log (p, q normalised first).
double JensenShannon(std::span<const double> p, std::span<const double> q);

}  // namespace studio::monitoring
