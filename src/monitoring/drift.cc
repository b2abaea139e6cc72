// Per-feature drift: column preparation (drop NaN/inf, sort, count categories), Evidently's
// method selection, the methods themselves on prepared columns, multiple-testing correction,
// the dataset verdict, and column-level parallelism.
#include "monitoring/drift.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <functional>
#include <thread>
#include <unordered_map>

#include "monitoring/internal/stats.h"

namespace studio::monitoring {

const Column* Dataset::Find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

namespace {

std::string FormatNumber(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

// Builds the prepared form of one column as `kind`, converting between kinds if needed.
ColumnProfile PrepareColumn(const Column& col, ColumnKind kind, std::vector<uint64_t>& scratch) {
  ColumnProfile p;
  p.name = col.name;
  p.kind = kind;
  if (kind == ColumnKind::kNumeric) {
    if (col.kind == ColumnKind::kNumeric) {
      p.sorted.reserve(col.numeric.size());
      for (double v : col.numeric) {
        if (std::isfinite(v)) p.sorted.push_back(v);
      }
    } else if (!col.codes.empty()) {
      for (int32_t c : col.codes) {
        if (c < 0 || static_cast<size_t>(c) >= col.dictionary.size()) continue;
        auto v = ParseNumericField(col.dictionary[c]);
        if (v && std::isfinite(*v)) p.sorted.push_back(*v);
      }
    } else {
      for (const auto& s : col.categorical) {
        auto v = ParseNumericField(s);
        if (v && std::isfinite(*v)) p.sorted.push_back(*v);
      }
    }
    const size_t total = col.kind == ColumnKind::kNumeric
                             ? col.numeric.size()
                             : (col.codes.empty() ? col.categorical.size() : col.codes.size());
    p.dropped = static_cast<int64_t>(total - p.sorted.size());
    RadixSortDoubles(p.sorted, scratch);
    return p;
  }
  std::unordered_map<std::string_view, int64_t> counts;
  std::vector<std::string> owned;  // formatted numbers when converting numeric → categorical
  if (col.kind == ColumnKind::kCategorical && !col.codes.empty()) {
    std::vector<int64_t> per_code(col.dictionary.size(), 0);
    for (int32_t c : col.codes) {
      if (c < 0 || static_cast<size_t>(c) >= per_code.size() || IsMissingField(col.dictionary[c])) {
        ++p.dropped;
      } else {
        ++per_code[c];
      }
    }
    for (size_t c = 0; c < per_code.size(); ++c) {
      if (per_code[c] > 0) counts[col.dictionary[c]] += per_code[c];
    }
    for (auto& [k, c] : counts) p.categories.emplace_back(std::string(k), c);
  } else if (col.kind == ColumnKind::kCategorical) {
    for (const auto& s : col.categorical) {
      if (IsMissingField(s)) {
        ++p.dropped;
      } else {
        ++counts[s];
      }
    }
    for (auto& [k, c] : counts) p.categories.emplace_back(std::string(k), c);
  } else {
    std::vector<double> vals;
    for (double v : col.numeric) {
      if (std::isfinite(v)) {
        vals.push_back(v);
      } else {
        ++p.dropped;
      }
    }
    RadixSortDoubles(vals, scratch);
    for (const auto& vc : ValueCountsSorted(vals, {}))
      p.categories.emplace_back(FormatNumber(vc.value), vc.a);
  }
  std::sort(p.categories.begin(), p.categories.end());
  return p;
}

// ---- categorical merge ----
struct CatRow {
  std::string_view key;
  int64_t ref, cur;
};
std::vector<CatRow> MergeCategories(const ColumnProfile& ref, const ColumnProfile& cur) {
  std::vector<CatRow> rows;
  size_t i = 0, j = 0;
  const auto& a = ref.categories;
  const auto& b = cur.categories;
  while (i < a.size() || j < b.size()) {
    if (j >= b.size() || (i < a.size() && a[i].first < b[j].first)) {
      rows.push_back({a[i].first, a[i].second, 0});
      ++i;
    } else if (i >= a.size() || b[j].first < a[i].first) {
      rows.push_back({b[j].first, 0, b[j].second});
      ++j;
    } else {
      rows.push_back({a[i].first, a[i].second, b[j].second});
      ++i;
      ++j;
    }
  }
  return rows;
}

// Everything a method needs about one (ref, cur) pair, computed lazily once.
class FeatureData {
 public:
  FeatureData(const ColumnProfile& ref, const ColumnProfile& cur) : ref_(ref), cur_(cur) {
    n_ref_ = ref.count();
    n_cur_ = cur.count();
    if (numeric()) {
      walk_ = MergeWalkSorted(ref.sorted, cur.sorted);
    } else {
      rows_ = MergeCategories(ref, cur);
    }
  }
  bool numeric() const { return ref_.kind == ColumnKind::kNumeric; }
  int64_t n_ref() const { return n_ref_; }
  int64_t n_cur() const { return n_cur_; }
  int64_t distinct() const {
    return numeric() ? walk_.distinct_union : static_cast<int64_t>(rows_.size());
  }
  const MergeWalk& walk() const { return walk_; }
  const std::vector<CatRow>& rows() const { return rows_; }

  // Value counts (numeric columns treated as categories: chisquare / z / few-value bins).
  const std::vector<ValueCount>& values() {
    if (!values_done_) {
      values_ = ValueCountsSorted(ref_.sorted, cur_.sorted);
      values_done_ = true;
    }
    return values_;
  }
  // get_binned_data shares (without epsilon fill).
  void BinnedShares(std::vector<double>* r, std::vector<double>* c) {
    const double nr = static_cast<double>(n_ref_), nc = static_cast<double>(n_cur_);
    r->clear();
    c->clear();
    if (numeric() && walk_.distinct_a > 20) {
      const auto& edges = SturgesEdgesCombined();
      for (int64_t v : HistogramSorted(ref_.sorted, edges))
        r->push_back(static_cast<double>(v) / nr);
      for (int64_t v : HistogramSorted(cur_.sorted, edges))
        c->push_back(static_cast<double>(v) / nc);
    } else if (numeric()) {
      for (const auto& vc : values()) {
        r->push_back(static_cast<double>(vc.a) / nr);
        c->push_back(static_cast<double>(vc.b) / nc);
      }
    } else {
      for (const auto& row : rows_) {
        r->push_back(static_cast<double>(row.ref) / nr);
        c->push_back(static_cast<double>(row.cur) / nc);
      }
    }
  }
  const std::vector<double>& SturgesEdgesCombined() {
    if (edges_.empty()) {
      const double lo = std::min(ref_.sorted.front(), cur_.sorted.front());
      const double hi = std::max(ref_.sorted.back(), cur_.sorted.back());
      edges_ = SturgesEdges(lo, hi, n_ref_ + n_cur_);
    }
    return edges_;
  }

 private:
  const ColumnProfile& ref_;
  const ColumnProfile& cur_;
  int64_t n_ref_ = 0, n_cur_ = 0;
  MergeWalk walk_;
  std::vector<CatRow> rows_;
  std::vector<ValueCount> values_;
  bool values_done_ = false;
  std::vector<double> edges_;
};

Method SelectMethod(const FeatureData& d) {
  const int64_t nu = d.distinct();
  if (d.n_ref() <= 1000) {
    if (d.numeric()) return nu <= 5 ? (nu > 2 ? Method::kChiSquare : Method::kZ) : Method::kKs;
    return nu > 2 ? Method::kChiSquare : Method::kZ;
  }
  if (d.numeric()) return nu <= 5 ? Method::kJensenShannon : Method::kWasserstein;
  return Method::kJensenShannon;
}

// Category counts as (ref, cur) pairs, in sorted key order, for either kind.
void CountPairs(FeatureData& d, std::vector<std::pair<int64_t, int64_t>>* out) {
  out->clear();
  if (d.numeric()) {
    for (const auto& vc : d.values()) out->emplace_back(vc.a, vc.b);
  } else {
    for (const auto& r : d.rows()) out->emplace_back(r.ref, r.cur);
  }
}

Result<MethodScore> RunMethod(FeatureData& d, Method method, double threshold,
                              const ColumnProfile& ref, const ColumnProfile& cur) {
  const std::vector<double>& ref_sorted = ref.sorted;
  MethodScore s;
  s.method = method;
  s.threshold = threshold;
  const bool num = d.numeric();
  switch (method) {
    case Method::kKs: {
      if (!num) return InvalidArgument("ks needs a numeric column");
      const KsResult ks = KsFromExtremes(d.n_ref(), d.n_cur(), d.walk().max_s, d.walk().min_s);
      s.statistic = ks.statistic;
      s.p_value = ks.p_value;
      s.score = ks.p_value;
      s.drift = ks.p_value <= threshold;
      return s;
    }
    case Method::kWasserstein: {
      if (!num) return InvalidArgument("wasserstein needs a numeric column");
      const double norm = std::max(PopulationStd(ref_sorted), 0.001);
      s.statistic = d.walk().wasserstein / norm;
      s.score = s.statistic;
      s.drift = s.score >= threshold;
      return s;
    }
    case Method::kChiSquare: {
      std::vector<std::pair<int64_t, int64_t>> pairs;
      CountPairs(d, &pairs);
      if (pairs.size() < 2) {  // one category on both sides: identical, not NaN (evidently#1929)
        s.statistic = 0;
        s.p_value = 1.0;
      } else {
        const double k_norm = static_cast<double>(d.n_cur()) / static_cast<double>(d.n_ref());
        std::vector<double> obs, exp;
        for (const auto& [r, c] : pairs) {
          exp.push_back(static_cast<double>(r) * k_norm);
          obs.push_back(static_cast<double>(c));
        }
        auto [stat, p] = ChiSquare(obs, exp);
        s.statistic = stat;
        s.p_value = p;
      }
      s.score = *s.p_value;
      s.drift = *s.p_value < threshold;
      return s;
    }
    case Method::kZ: {
      std::vector<std::pair<int64_t, int64_t>> pairs;
      CountPairs(d, &pairs);
      const bool ref_const =
          std::count_if(pairs.begin(), pairs.end(), [](auto& p) { return p.first > 0; }) == 1;
      const bool cur_const =
          std::count_if(pairs.begin(), pairs.end(), [](auto& p) { return p.second > 0; }) == 1;
      if (pairs.size() == 1 && ref_const && cur_const) {
        s.statistic = 0;
        s.p_value = 1.0;
      } else {
        // The first key (sorted) is 0, every other value 1.
        auto [z, p] =
            ZTest(d.n_ref() - pairs[0].first, d.n_ref(), d.n_cur() - pairs[0].second, d.n_cur());
        s.statistic = z;
        s.p_value = p;
      }
      s.score = *s.p_value;
      s.drift = *s.p_value < threshold;
      return s;
    }
    case Method::kPsi:
    case Method::kKlDiv:
    case Method::kJensenShannon: {
      std::vector<double> r, c;
      d.BinnedShares(&r, &c);
      if (method == Method::kJensenShannon) {
        s.statistic = JensenShannon(r, c);
      } else {
        FillZeroes(r);
        FillZeroes(c);
        s.statistic = method == Method::kPsi ? Psi(r, c) : KlDiv(r, c);
      }
      s.score = s.statistic;
      s.drift = s.score >= threshold;
      return s;
    }
    case Method::kHellinger: {
      double acc = 0;
      if (num) {
        std::vector<double> keys;
        for (const auto& vc : d.values()) keys.push_back(vc.value);
        const auto edges =
            SturgesEdges(keys.front(), keys.back(), static_cast<int64_t>(keys.size()));
        const auto hr = HistogramSorted(ref_sorted, edges);
        const auto hc = HistogramSorted(cur.sorted, edges);
        double tr = 0, tc = 0;
        for (size_t k = 0; k < hr.size(); ++k) {
          tr += static_cast<double>(hr[k]);
          tc += static_cast<double>(hc[k]);
        }
        const double bin_width =
            (edges.back() - edges.front()) / static_cast<double>(edges.size() - 1);
        for (size_t k = 0; k < hr.size(); ++k) {
          const double db = edges[k + 1] - edges[k];
          const double p1 = static_cast<double>(hr[k]) / db / tr;
          const double p2 = static_cast<double>(hc[k]) / db / tc;
          acc += std::sqrt(p1 * p2) * bin_width;
        }
      } else {
        for (const auto& row : d.rows()) {
          acc += std::sqrt(static_cast<double>(row.ref) / static_cast<double>(d.n_ref()) *
                           (static_cast<double>(row.cur) / static_cast<double>(d.n_cur())));
        }
      }
      acc = std::clamp(acc, 0.0, 1.0);
      s.statistic = std::sqrt(1 - acc);
      s.score = s.statistic;
      s.drift = s.score >= threshold;
      return s;
    }
    case Method::kAuto:
      break;
  }
  return InvalidArgument("no method");
}

std::vector<std::pair<double, double>> DownsampleEcdf(const std::vector<double>& sorted,
                                                      int points) {
  std::vector<std::pair<double, double>> out;
  const size_t n = sorted.size();
  if (n == 0 || points <= 0) return out;
  const size_t p = std::min<size_t>(static_cast<size_t>(points), n);
  for (size_t k = 0; k < p; ++k) {
    const size_t idx =
        p == 1 ? n - 1
               : static_cast<size_t>(std::llround(static_cast<double>(k) * (n - 1) / (p - 1)));
    const double x = sorted[idx];
    const size_t le = std::upper_bound(sorted.begin(), sorted.end(), x) - sorted.begin();
    if (!out.empty() && out.back().first == x) continue;
    out.emplace_back(x, static_cast<double>(le) / static_cast<double>(n));
  }
  return out;
}

void FillPlots(FeatureData& d, const ColumnProfile& ref, const ColumnProfile& cur,
               const DriftOptions& options, FeatureDrift* f) {
  const double nr = static_cast<double>(d.n_ref()), nc = static_cast<double>(d.n_cur());
  if (d.numeric()) {
    f->histogram.edges = d.SturgesEdgesCombined();
    for (int64_t v : HistogramSorted(ref.sorted, f->histogram.edges))
      f->histogram.ref.push_back(static_cast<double>(v) / nr);
    for (int64_t v : HistogramSorted(cur.sorted, f->histogram.edges))
      f->histogram.cur.push_back(static_cast<double>(v) / nc);
    f->ecdf_ref = DownsampleEcdf(ref.sorted, options.ecdf_points);
    f->ecdf_cur = DownsampleEcdf(cur.sorted, options.ecdf_points);
  } else {
    for (const auto& row : d.rows()) {
      f->histogram.categories.emplace_back(row.key);
      f->histogram.ref.push_back(static_cast<double>(row.ref) / nr);
      f->histogram.cur.push_back(static_cast<double>(row.cur) / nc);
      if (row.ref == 0) f->unseen_categories.emplace_back(row.key);
    }
  }
}

}  // namespace

// Evaluates one feature from prepared columns (shared by both ComputeDrift overloads).
FeatureDrift EvaluateFeature(const ColumnProfile& ref, const ColumnProfile& cur,
                             const DriftOptions& options) {
  FeatureDrift f;
  f.column = ref.name;
  f.kind = ref.kind;
  f.ref_count = ref.count();
  f.cur_count = cur.count();
  f.ref_dropped = ref.dropped;
  f.cur_dropped = cur.dropped;
  Method method = options.method;
  std::optional<double> threshold = options.threshold;
  if (auto it = options.overrides.find(ref.name); it != options.overrides.end()) {
    if (it->second.method) method = *it->second.method;
    if (it->second.threshold) threshold = it->second.threshold;
  }
  f.method = method;
  if (f.ref_count == 0 || f.cur_count == 0) {
    f.error = f.ref_count == 0 ? "reference has no values after dropping missing/NaN/inf"
                               : "current has no values after dropping missing/NaN/inf";
    if (method != Method::kAuto) f.threshold = threshold.value_or(DefaultThreshold(method));
    return f;
  }
  FeatureData d(ref, cur);
  f.distinct = d.distinct();
  if (method == Method::kAuto) method = SelectMethod(d);
  f.method = method;
  f.threshold = threshold.value_or(DefaultThreshold(method));
  auto primary = RunMethod(d, method, f.threshold, ref, cur);
  if (!primary.ok()) {
    f.error = primary.status().message();
  } else {
    f.statistic = primary->statistic;
    f.p_value = primary->p_value;
    f.score = primary->score;
    f.drift = primary->drift;
  }
  for (Method m : options.additional_methods) {
    auto extra = RunMethod(d, m, DefaultThreshold(m), ref, cur);
    if (extra.ok()) f.additional.push_back(*extra);
  }
  FillPlots(d, ref, cur, options, &f);
  return f;
}

namespace {

void ApplyCorrection(Correction correction, DriftReport* report) {
  report->correction = correction;
  if (correction == Correction::kNone) return;
  std::vector<FeatureDrift*> tests;
  for (auto& f : report->features) {
    if (f.error.empty() && f.p_value) tests.push_back(&f);
  }
  const double m = static_cast<double>(tests.size());
  if (tests.empty()) return;
  if (correction == Correction::kBonferroni) {
    for (auto* f : tests) f->adjusted_p_value = std::min(1.0, *f->p_value * m);
  } else {
    std::vector<FeatureDrift*> order = tests;
    std::stable_sort(order.begin(), order.end(),
                     [](auto* a, auto* b) { return *a->p_value < *b->p_value; });
    double running = 1.0;
    for (size_t k = order.size(); k-- > 0;) {
      running = std::min(running, *order[k]->p_value * m / static_cast<double>(k + 1));
      order[k]->adjusted_p_value = std::min(1.0, running);
    }
  }
  for (auto* f : tests) {
    const double p = *f->adjusted_p_value;
    f->drift = f->method == Method::kKs ? p <= f->threshold : p < f->threshold;
  }
}

void Summarize(const DriftOptions& options, DriftReport* report) {
  ApplyCorrection(options.correction, report);
  report->drift_share = options.drift_share;
  report->evaluated = 0;
  report->drifted = 0;
  for (const auto& f : report->features) {
    if (!f.error.empty()) continue;
    ++report->evaluated;
    if (f.drift) ++report->drifted;
  }
  report->share = report->evaluated ? static_cast<double>(report->drifted) /
                                          static_cast<double>(report->evaluated)
                                    : 0;
  report->dataset_drift = report->evaluated > 0 && report->share >= options.drift_share;
}

// Runs fn(i) for i in [0, n) on up to `threads` joined threads.
template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  size_t t = threads <= 0 ? std::max(1u, std::thread::hardware_concurrency())
                          : static_cast<size_t>(threads);
  t = std::min(t, n);
  if (t <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t k = 0; k < t; ++k) {
    pool.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

ColumnKind ResolveKind(const Column& ref, const DriftOptions& options) {
  if (auto it = options.overrides.find(ref.name);
      it != options.overrides.end() && it->second.kind) {
    return *it->second.kind;
  }
  return ref.kind;
}

Result<std::vector<std::string>> SelectColumns(
    const std::vector<std::string>& ref_names, const Dataset& current, const DriftOptions& options,
    const std::function<bool(const std::string&)>& in_ref) {
  std::vector<std::string> names;
  if (!options.columns.empty()) {
    for (const auto& c : options.columns) {
      if (!in_ref(c)) return InvalidArgument("column '" + c + "' is not in the reference");
      if (!current.Find(c)) return InvalidArgument("column '" + c + "' is not in the current data");
      names.push_back(c);
    }
    return names;
  }
  for (const auto& n : ref_names) {
    if (current.Find(n)) names.push_back(n);
  }
  if (names.empty()) return InvalidArgument("reference and current data have no column in common");
  return names;
}

}  // namespace

Result<ReferenceProfile> BuildProfile(const Dataset& reference, const DriftOptions& options) {
  ReferenceProfile profile;
  profile.rows = reference.rows;
  std::vector<const Column*> cols;
  for (const auto& c : reference.columns) {
    if (!options.columns.empty() && std::find(options.columns.begin(), options.columns.end(),
                                              c.name) == options.columns.end()) {
      continue;
    }
    cols.push_back(&c);
  }
  profile.columns.resize(cols.size());
  ParallelFor(cols.size(), options.threads, [&](size_t i) {
    thread_local std::vector<uint64_t> scratch;
    profile.columns[i] = PrepareColumn(*cols[i], ResolveKind(*cols[i], options), scratch);
  });
  return profile;
}

Result<DriftReport> ComputeDrift(const ReferenceProfile& reference, const Dataset& current,
                                 const DriftOptions& options) {
  std::vector<std::string> ref_names;
  for (const auto& c : reference.columns) ref_names.push_back(c.name);
  ASSIGN_OR_RETURN(auto names,
                   SelectColumns(ref_names, current, options, [&](const std::string& n) {
                     return reference.Find(n) != nullptr;
                   }));
  DriftReport report;
  report.features.resize(names.size());
  ParallelFor(names.size(), options.threads, [&](size_t i) {
    thread_local std::vector<uint64_t> scratch;
    const ColumnProfile& ref = *reference.Find(names[i]);
    const ColumnProfile cur = PrepareColumn(*current.Find(names[i]), ref.kind, scratch);
    report.features[i] = EvaluateFeature(ref, cur, options);
  });
  Summarize(options, &report);
  return report;
}

Result<DriftReport> ComputeDrift(const Dataset& reference, const Dataset& current,
                                 const DriftOptions& options) {
  std::vector<std::string> ref_names;
  for (const auto& c : reference.columns) ref_names.push_back(c.name);
  ASSIGN_OR_RETURN(auto names,
                   SelectColumns(ref_names, current, options, [&](const std::string& n) {
                     return reference.Find(n) != nullptr;
                   }));
  DriftReport report;
  report.features.resize(names.size());
  // Each worker holds one reference and one current column at a time: memory stays at the
  // input plus ~3 columns per thread.
  ParallelFor(names.size(), options.threads, [&](size_t i) {
    thread_local std::vector<uint64_t> scratch;
    const Column& rc = *reference.Find(names[i]);
    const ColumnKind kind = ResolveKind(rc, options);
    const ColumnProfile ref = PrepareColumn(rc, kind, scratch);
    const ColumnProfile cur = PrepareColumn(*current.Find(names[i]), kind, scratch);
    report.features[i] = EvaluateFeature(ref, cur, options);
  });
  Summarize(options, &report);
  return report;
}

}  // namespace studio::monitoring
