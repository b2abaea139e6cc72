// Names, CSV field typing and the machine (JSON) form of a drift report.
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "common/strings.h"
#include "monitoring/drift.h"

namespace studio::monitoring {

namespace {
constexpr std::array<std::pair<Method, std::string_view>, 9> kMethodNames = {{
    {Method::kAuto, "auto"},
    {Method::kKs, "ks"},
    {Method::kChiSquare, "chisquare"},
    {Method::kZ, "z"},
    {Method::kWasserstein, "wasserstein"},
    {Method::kPsi, "psi"},
    {Method::kJensenShannon, "jensenshannon"},
    {Method::kKlDiv, "kl_div"},
    {Method::kHellinger, "hellinger"},
}};
}  // namespace

std::string_view ColumnKindName(ColumnKind kind) {
  return kind == ColumnKind::kNumeric ? "numeric" : "categorical";
}
std::optional<ColumnKind> ParseColumnKind(std::string_view name) {
  if (name == "numeric" || name == "num" || name == "numerical") return ColumnKind::kNumeric;
  if (name == "categorical" || name == "cat") return ColumnKind::kCategorical;
  return std::nullopt;
}

std::string_view MethodName(Method method) {
  for (const auto& [m, n] : kMethodNames) {
    if (m == method) return n;
  }
  return "auto";
}
std::optional<Method> ParseMethod(std::string_view name) {
  for (const auto& [m, n] : kMethodNames) {
    if (n == name) return m;
  }
  if (name == "js" || name == "jensen_shannon") return Method::kJensenShannon;
  if (name == "chi2") return Method::kChiSquare;
  return std::nullopt;
}
bool IsPValueMethod(Method method) {
  return method == Method::kKs || method == Method::kChiSquare || method == Method::kZ;
}
double DefaultThreshold(Method method) { return IsPValueMethod(method) ? 0.05 : 0.1; }

std::string_view CorrectionName(Correction correction) {
  switch (correction) {
    case Correction::kBonferroni:
      return "bonferroni";
    case Correction::kBenjaminiHochberg:
      return "bh";
    case Correction::kNone:
      break;
  }
  return "none";
}
std::optional<Correction> ParseCorrection(std::string_view name) {
  if (name == "none") return Correction::kNone;
  if (name == "bonferroni") return Correction::kBonferroni;
  if (name == "bh" || name == "fdr" || name == "benjamini-hochberg")
    return Correction::kBenjaminiHochberg;
  return std::nullopt;
}

// ---- CSV field typing (pandas.read_csv defaults) ----

bool IsMissingField(std::string_view f) {
  static constexpr std::string_view kNa[] = {"",         "#N/A", "#N/A N/A", "#NA",    "-1.#IND",
                                             "-1.#QNAN", "-NaN", "-nan",     "1.#IND", "1.#QNAN",
                                             "<NA>",     "N/A",  "NA",       "NULL",   "NaN",
                                             "None",     "n/a",  "nan",      "null"};
  for (auto na : kNa) {
    if (f == na) return true;
  }
  return false;
}

std::optional<double> ParseNumericField(std::string_view f) {
  if (IsMissingField(f)) return std::nan("");
  size_t b = 0, e = f.size();
  while (b < e && (f[b] == ' ' || f[b] == '\t')) ++b;
  while (e > b && (f[e - 1] == ' ' || f[e - 1] == '\t' || f[e - 1] == '\r')) --e;
  if (b == e) return std::nullopt;
  if (f[b] == '+') ++b;
  double v = 0;
  auto res = std::from_chars(f.data() + b, f.data() + e, v);
  if (res.ec == std::errc::result_out_of_range) {
    // Overflow/underflow: strtod's answer (±inf or a denormal/0), like pandas.
    return std::strtod(std::string(f.substr(b, e - b)).c_str(), nullptr);
  }
  if (res.ec != std::errc() || res.ptr != f.data() + e) return std::nullopt;
  return v;
}

void KindInferrer::Add(std::string_view field) {
  if (!all_numeric_ || IsMissingField(field)) return;
  if (!ParseNumericField(field)) all_numeric_ = false;
}

ColumnKind InferKind(std::span<const std::string> fields) {
  KindInferrer k;
  for (const auto& f : fields) {
    k.Add(f);
    if (k.Kind() == ColumnKind::kCategorical) break;
  }
  return k.Kind();
}

// ---- profile lookups ----

int64_t ColumnProfile::count() const {
  if (kind == ColumnKind::kNumeric) return static_cast<int64_t>(sorted.size());
  int64_t n = 0;
  for (const auto& [k, c] : categories) n += c;
  return n;
}

const ColumnProfile* ReferenceProfile::Find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// ---- JSON writing (no DOM: reports can carry thousands of plot points) ----

namespace {

void AppendKey(std::string& out, std::string_view key) {
  AppendJsonString(out, key);
  out.push_back(':');
}

// statistic, p_value, adjusted_p_value (when present), score, threshold, drift: the fields a
// feature and each additional method share.
void AppendScore(std::string& out, double statistic, const std::optional<double>& p_value,
                 const std::optional<double>& adjusted_p_value, double score, double threshold,
                 bool drift) {
  AppendKey(out, "statistic");
  AppendJsonNumber(out, statistic);
  if (p_value) {
    out += ",";
    AppendKey(out, "p_value");
    AppendJsonNumber(out, *p_value);
  }
  if (adjusted_p_value) {
    out += ",";
    AppendKey(out, "adjusted_p_value");
    AppendJsonNumber(out, *adjusted_p_value);
  }
  out += ",";
  AppendKey(out, "score");
  AppendJsonNumber(out, score);
  out += ",";
  AppendKey(out, "threshold");
  AppendJsonNumber(out, threshold);
  out += ",";
  AppendKey(out, "drift");
  out += drift ? "true" : "false";
}

void AppendDoubles(std::string& out, const std::vector<double>& v) {
  out.push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    AppendJsonNumber(out, v[i]);
  }
  out.push_back(']');
}

}  // namespace

std::string ReportToJson(const DriftReport& report, bool include_plots) {
  std::string out;
  out.reserve(256 + report.features.size() * (include_plots ? 12000 : 400));
  out += "{";
  AppendKey(out, "dataset_drift");
  out += report.dataset_drift ? "true" : "false";
  out += ",";
  AppendKey(out, "share");
  AppendJsonNumber(out, report.share);
  out += ",";
  AppendKey(out, "drift_share");
  AppendJsonNumber(out, report.drift_share);
  out += ",";
  AppendKey(out, "drifted");
  out += std::to_string(report.drifted);
  out += ",";
  AppendKey(out, "evaluated");
  out += std::to_string(report.evaluated);
  out += ",";
  AppendKey(out, "correction");
  AppendJsonString(out, CorrectionName(report.correction));
  out += ",";
  AppendKey(out, "features");
  out += "[";
  for (size_t i = 0; i < report.features.size(); ++i) {
    const FeatureDrift& f = report.features[i];
    if (i) out += ",";
    out += "{";
    AppendKey(out, "column");
    AppendJsonString(out, f.column);
    out += ",";
    AppendKey(out, "kind");
    AppendJsonString(out, ColumnKindName(f.kind));
    out += ",";
    AppendKey(out, "method");
    AppendJsonString(out, MethodName(f.method));
    out += ",";
    AppendScore(out, f.statistic, f.p_value, f.adjusted_p_value, f.score, f.threshold, f.drift);
    if (!f.error.empty()) {
      out += ",";
      AppendKey(out, "error");
      AppendJsonString(out, f.error);
    }
    for (auto [key, val] : {std::pair<std::string_view, int64_t>{"ref_count", f.ref_count},
                            {"cur_count", f.cur_count},
                            {"ref_dropped", f.ref_dropped},
                            {"cur_dropped", f.cur_dropped},
                            {"distinct", f.distinct}}) {
      out += ",";
      AppendKey(out, key);
      out += std::to_string(val);
    }
    out += ",";
    AppendKey(out, "unseen_categories");
    out += "[";
    for (size_t k = 0; k < f.unseen_categories.size(); ++k) {
      if (k) out += ",";
      AppendJsonString(out, f.unseen_categories[k]);
    }
    out += "]";
    if (!f.additional.empty()) {
      out += ",";
      AppendKey(out, "additional");
      out += "[";
      for (size_t k = 0; k < f.additional.size(); ++k) {
        const MethodScore& m = f.additional[k];
        if (k) out += ",";
        out += "{";
        AppendKey(out, "method");
        AppendJsonString(out, MethodName(m.method));
        out += ",";
        AppendScore(out, m.statistic, m.p_value, std::nullopt, m.score, m.threshold, m.drift);
        out += "}";
      }
      out += "]";
    }
    if (include_plots) {
      out += ",";
      AppendKey(out, "histogram");
      out += "{";
      if (!f.histogram.edges.empty()) {
        AppendKey(out, "edges");
        AppendDoubles(out, f.histogram.edges);
      } else {
        AppendKey(out, "categories");
        out += "[";
        for (size_t k = 0; k < f.histogram.categories.size(); ++k) {
          if (k) out += ",";
          AppendJsonString(out, f.histogram.categories[k]);
        }
        out += "]";
      }
      out += ",";
      AppendKey(out, "ref");
      AppendDoubles(out, f.histogram.ref);
      out += ",";
      AppendKey(out, "cur");
      AppendDoubles(out, f.histogram.cur);
      out += "}";
      for (auto [key, pts] :
           {std::pair<std::string_view, const std::vector<std::pair<double, double>>*>{"ecdf_ref",
                                                                                       &f.ecdf_ref},
            {"ecdf_cur", &f.ecdf_cur}}) {
        out += ",";
        AppendKey(out, key);
        out += "[";
        for (size_t k = 0; k < pts->size(); ++k) {
          if (k) out += ",";
          out += "[";
          AppendJsonNumber(out, (*pts)[k].first);
          out += ",";
          AppendJsonNumber(out, (*pts)[k].second);
          out += "]";
        }
        out += "]";
      }
    }
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace studio::monitoring
