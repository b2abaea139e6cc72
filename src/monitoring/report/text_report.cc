#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "monitoring/report/drift_report.h"

namespace studio::monitoring {
namespace {

constexpr size_t kMaxNameWidth = 40;

std::string Num(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Display width of UTF-8 text: one column per code point (good enough for names).
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Truncate(const std::string& s, size_t width) {
  if (Width(s) <= width) return s;
  std::string out;
  size_t seen = 0;
  for (char c : s) {
    if ((c & 0xC0) != 0x80 && ++seen > width - 3) break;
    out.push_back(c);
  }
  return out + "...";
}

}  // namespace

std::string RenderDriftText(const DriftReport& report) {
  const bool adjusted = report.correction != Correction::kNone;
  std::vector<std::string> header = {"feature",          "kind",      "method", "statistic",
                                     "p-value/distance", "threshold", "drift"};
  if (adjusted) header.insert(header.begin() + 5, "adjusted p");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;
  for (const FeatureDrift& f : report.features) {
    std::vector<std::string> row;
    row.push_back(Truncate(f.column, kMaxNameWidth));
    row.emplace_back(ColumnKindName(f.kind));
    if (!f.error.empty()) {
      row.emplace_back(f.method == Method::kAuto ? "-" : std::string(MethodName(f.method)));
      row.insert(row.end(), adjusted ? 4 : 3, "-");
      row.emplace_back("n/a");
      notes.push_back(f.column + ": not evaluated: " + f.error);
    } else {
      row.emplace_back(MethodName(f.method));
      row.push_back(Num(f.statistic));
      row.push_back(f.p_value ? Num(*f.p_value) : Num(f.score));
      if (adjusted) row.push_back(f.adjusted_p_value ? Num(*f.adjusted_p_value) : "-");
      row.push_back(Num(f.threshold));
      row.emplace_back(f.drift ? "DRIFT" : "no");
    }
    if (!f.unseen_categories.empty()) {
      std::string list;
      for (size_t i = 0; i < f.unseen_categories.size() && i < 10; ++i) {
        list += (i ? ", " : "") + f.unseen_categories[i];
      }
      if (f.unseen_categories.size() > 10) list += ", ...";
      notes.push_back(f.column + ": " + std::to_string(f.unseen_categories.size()) + " categor" +
                      (f.unseen_categories.size() == 1 ? "y" : "ies") +
                      " not in the reference: " + list);
    }
    rows.push_back(std::move(row));
  }

  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = Width(header[c]);
    for (const auto& row : rows) width[c] = std::max(width[c], Width(row[c]));
  }
  // Text columns left-aligned, numbers right-aligned.
  auto right = [&](size_t c) { return c >= 3 && c + 1 < header.size(); };
  std::string out;
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string pad(width[c] - Width(cells[c]), ' ');
      if (c > 0) line += "  ";
      line += right(c) ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
    }
    out += line + "\n";
  };
  emit(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  emit(rule);
  for (const auto& row : rows) emit(row);
  if (!notes.empty()) {
    out += "\n";
    for (const auto& n : notes) out += "note: " + n + "\n";
  }

  out += "\n";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "Drifted features: %lld of %lld evaluated (share %.4g; dataset drift when share "
                ">= %.4g)\n",
                static_cast<long long>(report.drifted), static_cast<long long>(report.evaluated),
                report.share, report.drift_share);
  out += buf;
  if (adjusted) {
    out += "Multiple-testing correction: " + std::string(CorrectionName(report.correction)) +
           " (over the p-value tests)\n";
  }
  out += std::string("Dataset drift: ") + (report.dataset_drift ? "YES" : "NO") + "\n";
  return out;
}

}  // namespace studio::monitoring
