#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "monitoring/report/drift_report.h"

namespace studio::monitoring {
namespace {

constexpr const char* kRefColor = "#4c78a8";
constexpr const char* kCurColor = "#e45756";
constexpr size_t kMaxCategories = 30;

// Every string from the data or the command line goes through here.
std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Num(double v, const char* fmt = "%.6g") {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string Px(double v) { return Num(v, "%.1f"); }

std::string Pct(double share) { return Num(share * 100, "%.3g") + "%"; }

std::string Shorten(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "\xE2\x80\xA6";  // …
}

struct Panel {
  double x, y, w, h;  // plot area inside the svg
};

void Axes(std::string& o, const Panel& p, const std::string& y_top, const std::string& caption) {
  o += "<line class=\"axis\" x1=\"" + Px(p.x) + "\" y1=\"" + Px(p.y + p.h) + "\" x2=\"" +
       Px(p.x + p.w) + "\" y2=\"" + Px(p.y + p.h) + "\"/>";
  o += "<line class=\"axis\" x1=\"" + Px(p.x) + "\" y1=\"" + Px(p.y) + "\" x2=\"" + Px(p.x) +
       "\" y2=\"" + Px(p.y + p.h) + "\"/>";
  o += "<text class=\"tick\" x=\"" + Px(p.x - 4) + "\" y=\"" + Px(p.y + 4) +
       "\" text-anchor=\"end\">" + y_top + "</text>";
  o += "<text class=\"tick\" x=\"" + Px(p.x - 4) + "\" y=\"" + Px(p.y + p.h) +
       "\" text-anchor=\"end\">0</text>";
  o += "<text class=\"panel\" x=\"" + Px(p.x) + "\" y=\"" + Px(p.y - 8) + "\">" + caption +
       "</text>";
}

void HistogramPanel(std::string& o, const FeatureDrift& f, const Panel& p) {
  const Histogram& h = f.histogram;
  size_t bins = std::min(h.ref.size(), h.cur.size());
  std::vector<size_t> order(bins);
  std::iota(order.begin(), order.end(), size_t{0});
  bool categorical = f.kind == ColumnKind::kCategorical;
  bool trimmed = false;
  if (categorical && bins > kMaxCategories) {  // keep the largest, in their sorted order
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return std::max(h.ref[a], h.cur[a]) > std::max(h.ref[b], h.cur[b]);
    });
    order.resize(kMaxCategories);
    std::sort(order.begin(), order.end());
    trimmed = true;
  }
  double top = 0;
  for (size_t i : order) top = std::max({top, h.ref[i], h.cur[i]});
  if (top <= 0) top = 1;
  std::string caption = "Share per " + std::string(categorical ? "category" : "bin");
  if (trimmed)
    caption += " (" + std::to_string(kMaxCategories) + " largest of " + std::to_string(bins) + ")";
  Axes(o, p, Pct(top), caption);
  if (order.empty()) return;
  double group = p.w / static_cast<double>(order.size());
  double bar = std::max(0.5, group * 0.42);
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    std::string label;
    if (categorical) {
      label = i < h.categories.size() ? h.categories[i] : std::to_string(i);
    } else if (i + 1 < h.edges.size()) {
      label = "[" + Num(h.edges[i], "%.4g") + ", " + Num(h.edges[i + 1], "%.4g") + ")";
    }
    double x0 = p.x + group * static_cast<double>(k) + group * 0.08;
    const double shares[2] = {h.ref[i], h.cur[i]};
    for (int s = 0; s < 2; ++s) {
      double bh = shares[s] / top * p.h;
      o += "<rect class=\"" + std::string(s == 0 ? "ref" : "cur") + "\" x=\"" + Px(x0 + bar * s) +
           "\" y=\"" + Px(p.y + p.h - bh) + "\" width=\"" + Px(bar) + "\" height=\"" + Px(bh) +
           "\"><title>" + Esc(label) + " \xE2\x80\x94 " + (s == 0 ? "reference " : "current ") +
           Pct(shares[s]) + "</title></rect>";
    }
    if (categorical) {
      double cx = x0 + bar;
      o += "<text class=\"tick\" text-anchor=\"end\" transform=\"translate(" + Px(cx) + "," +
           Px(p.y + p.h + 10) + ") rotate(-35)\">" + Esc(Shorten(label, 14)) + "</text>";
    }
  }
  if (!categorical && h.edges.size() >= 2) {
    o += "<text class=\"tick\" x=\"" + Px(p.x) + "\" y=\"" + Px(p.y + p.h + 14) +
         "\" text-anchor=\"start\">" + Num(h.edges.front(), "%.4g") + "</text>";
    o += "<text class=\"tick\" x=\"" + Px(p.x + p.w) + "\" y=\"" + Px(p.y + p.h + 14) +
         "\" text-anchor=\"end\">" + Num(h.edges.back(), "%.4g") + "</text>";
  }
}

void EcdfPanel(std::string& o, const FeatureDrift& f, const Panel& p) {
  Axes(o, p, "1", "Empirical CDF");
  double lo = INFINITY, hi = -INFINITY;
  for (const auto* pts : {&f.ecdf_ref, &f.ecdf_cur}) {
    for (const auto& [x, y] : *pts) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  if (!(lo <= hi)) return;
  if (hi - lo <= 0) {
    lo -= 0.5;
    hi += 0.5;
  }
  auto sx = [&](double x) { return p.x + (x - lo) / (hi - lo) * p.w; };
  auto sy = [&](double y) { return p.y + p.h - std::clamp(y, 0.0, 1.0) * p.h; };
  for (int s = 0; s < 2; ++s) {
    const auto& pts = s == 0 ? f.ecdf_ref : f.ecdf_cur;
    if (pts.empty()) continue;
    std::string d = "M" + Px(p.x) + " " + Px(sy(0));
    for (const auto& [x, y] : pts) d += "H" + Px(sx(x)) + "V" + Px(sy(y));
    d += "H" + Px(p.x + p.w);
    o += "<path class=\"" + std::string(s == 0 ? "ref-line" : "cur-line") + "\" d=\"" + d +
         "\"><title>" + (s == 0 ? "reference" : "current") + " ECDF</title></path>";
  }
  o += "<text class=\"tick\" x=\"" + Px(p.x) + "\" y=\"" + Px(p.y + p.h + 14) +
       "\" text-anchor=\"start\">" + Num(lo, "%.4g") + "</text>";
  o += "<text class=\"tick\" x=\"" + Px(p.x + p.w) + "\" y=\"" + Px(p.y + p.h + 14) +
       "\" text-anchor=\"end\">" + Num(hi, "%.4g") + "</text>";
}

std::string ScoreCell(const FeatureDrift& f) {
  if (!f.error.empty()) return "&ndash;";
  std::string s = f.p_value ? "p = " + Num(*f.p_value) : Num(f.score);
  if (f.adjusted_p_value) s += " (adj. " + Num(*f.adjusted_p_value) + ")";
  return s;
}

constexpr const char* kCss = R"css(
:root{color-scheme:light;--ref:#4c78a8;--cur:#e45756;--drift:#b42318;--drift-bg:#fdeceb;--ok:#1a7f37;--muted:#5b6470;--line:#d8dde3}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#fff}
main{max-width:1080px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 4px}
.sub{color:var(--muted);margin:0 0 16px}
.verdict{display:inline-block;padding:6px 12px;border-radius:6px;font-weight:600;margin:0 0 18px}
.verdict.yes{background:var(--drift-bg);color:var(--drift);border:1px solid #f3b5b0}
.verdict.no{background:#e9f6ec;color:var(--ok);border:1px solid #b4e2bf}
table{border-collapse:collapse;width:100%;margin:0 0 28px}
caption{text-align:left;color:var(--muted);padding:0 0 6px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.drift td{background:var(--drift-bg)}
tr.drift td:first-child{box-shadow:inset 3px 0 0 var(--drift)}
.flag{font-weight:700;color:var(--drift)}
.flag.no{font-weight:400;color:var(--ok)}
.flag.na{font-weight:400;color:var(--muted)}
section.feature{border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 16px}
section.feature.drift{border-color:#f3b5b0;box-shadow:inset 4px 0 0 var(--drift)}
.meta{color:var(--muted);margin:0 0 8px}
.err{color:var(--drift)}
svg{display:block;width:100%;height:auto;max-width:960px}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .tick{font-size:10px;fill:var(--muted)}
svg .panel{font-size:12px;fill:#1f2328;font-weight:600}
svg .legend{font-size:11px;fill:#1f2328}
svg rect.ref{fill:var(--ref)}svg rect.cur{fill:var(--cur)}
svg .ref-line{fill:none;stroke:var(--ref);stroke-width:2}
svg .cur-line{fill:none;stroke:var(--cur);stroke-width:2;stroke-dasharray:5 3}
a{color:#0b57d0}
@media print{section.feature{break-inside:avoid}}
)css";

}  // namespace

std::string RenderDriftHtml(const DriftReport& report, const HtmlReportOptions& options) {
  const std::string ref_name =
      options.reference_name.empty() ? "reference" : options.reference_name;
  const std::string cur_name = options.current_name.empty() ? "current" : options.current_name;
  std::string o;
  o.reserve(8192 + report.features.size() * 12000);
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
       Esc(options.title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n";
  o += "<h1>" + Esc(options.title) + "</h1>\n<p class=\"sub\">Reference <strong>" + Esc(ref_name) +
       "</strong> vs current <strong>" + Esc(cur_name) + "</strong>";
  if (!options.generated_at.empty()) o += " &middot; " + Esc(options.generated_at);
  o += "</p>\n";
  o += std::string("<p class=\"verdict ") + (report.dataset_drift ? "yes" : "no") +
       "\" role=\"status\">Dataset drift: " + (report.dataset_drift ? "YES" : "NO") + " &mdash; " +
       std::to_string(report.drifted) + " of " + std::to_string(report.evaluated) +
       " evaluated features drifted (share " + Num(report.share, "%.4g") + "; threshold " +
       Num(report.drift_share, "%.4g") + ")";
  if (report.correction != Correction::kNone) {
    o += "; correction " + std::string(CorrectionName(report.correction));
  }
  o += "</p>\n";

  // Summary table.
  o += "<table>\n<caption>Per-feature drift. Tests (ks, chisquare, z) drift when the p-value is "
       "below the threshold; distances when the score reaches it.</caption>\n<thead><tr>"
       "<th scope=\"col\">Feature</th><th scope=\"col\">Kind</th><th scope=\"col\">Method</th>"
       "<th scope=\"col\">Statistic</th><th scope=\"col\">P-value or distance</th>"
       "<th scope=\"col\">Threshold</th><th scope=\"col\">Drift</th></tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < report.features.size(); ++i) {
    const FeatureDrift& f = report.features[i];
    bool error = !f.error.empty();
    o += std::string("<tr") + (f.drift ? " class=\"drift\"" : "") +
         "><th scope=\"row\"><a href=\"#f" + std::to_string(i) + "\">" + Esc(f.column) +
         "</a></th><td>" + std::string(ColumnKindName(f.kind)) + "</td><td>" +
         (f.method == Method::kAuto ? "&ndash;" : std::string(MethodName(f.method))) +
         "</td><td class=\"n\">" + (error ? "&ndash;" : Num(f.statistic)) +
         "</td><td class=\"n\">" + ScoreCell(f) + "</td><td class=\"n\">" +
         (error ? "&ndash;" : Num(f.threshold)) + "</td><td>" +
         (error     ? "<span class=\"flag na\">not evaluated</span>"
          : f.drift ? "<span class=\"flag\">DRIFT</span>"
                    : "<span class=\"flag no\">no drift</span>") +
         "</td></tr>\n";
  }
  o += "</tbody>\n</table>\n";

  // One section and one svg per feature.
  for (size_t i = 0; i < report.features.size(); ++i) {
    const FeatureDrift& f = report.features[i];
    const std::string id = "f" + std::to_string(i);
    const std::string name = Esc(f.column);
    bool numeric = f.kind == ColumnKind::kNumeric;
    o += "<section class=\"feature" + std::string(f.drift ? " drift" : "") + "\" id=\"" + id +
         "\" aria-labelledby=\"" + id + "-h\">\n<h2 id=\"" + id + "-h\">" + name +
         (f.drift ? " &mdash; <span class=\"flag\">DRIFT</span>" : "") +
         "</h2>\n<p class=\"meta\">" + std::string(ColumnKindName(f.kind));
    if (f.error.empty()) {
      o += " &middot; " + std::string(MethodName(f.method)) + " &middot; statistic " +
           Num(f.statistic) + " &middot; " + ScoreCell(f) + " &middot; threshold " +
           Num(f.threshold);
    }
    o += " &middot; " + std::to_string(f.ref_count) + " reference / " +
         std::to_string(f.cur_count) + " current values";
    if (f.ref_dropped + f.cur_dropped > 0) {
      o += " (" + std::to_string(f.ref_dropped) + " / " + std::to_string(f.cur_dropped) +
           " missing or non-finite dropped)";
    }
    o += "</p>\n";
    if (!f.error.empty()) o += "<p class=\"err\">Not evaluated: " + Esc(f.error) + "</p>\n";
    if (!f.unseen_categories.empty()) {
      o += "<p class=\"meta\">Not in the reference: ";
      for (size_t k = 0; k < f.unseen_categories.size() && k < 20; ++k) {
        o += (k ? ", " : "") + ("<code>" + Esc(f.unseen_categories[k]) + "</code>");
      }
      if (f.unseen_categories.size() > 20) o += ", &hellip;";
      o += "</p>\n";
    }
    const bool with_ecdf = numeric && (!f.ecdf_ref.empty() || !f.ecdf_cur.empty());
    const double width = 960, height = numeric ? 250 : 280;
    o += "<svg viewBox=\"0 0 " + Px(width) + " " + Px(height) +
         "\" role=\"img\" aria-labelledby=\"" + id + "-t " + id + "-d\"><title id=\"" + id +
         "-t\">" + name + ": reference vs current " +
         (with_ecdf ? "histogram and empirical CDF" : "distribution") + "</title><desc id=\"" + id +
         "-d\">Bars: share of " + Esc(ref_name) + " (reference, solid blue) and " + Esc(cur_name) +
         " (current, red) values per " + (numeric ? "bin" : "category") +
         (with_ecdf ? ". Lines: empirical cumulative distribution, reference solid, current dashed"
                    : "") +
         ".</desc>";
    // Legend.
    o += std::string("<rect x=\"60\" y=\"6\" width=\"12\" height=\"12\" fill=\"") + kRefColor +
         "\"/><text class=\"legend\" x=\"78\" y=\"16\">reference: " + Esc(Shorten(ref_name, 40)) +
         "</text><rect x=\"380\" y=\"6\" width=\"12\" height=\"12\" fill=\"" + kCurColor +
         "\"/><text class=\"legend\" x=\"398\" y=\"16\">current: " + Esc(Shorten(cur_name, 40)) +
         "</text>";
    if (with_ecdf) {
      HistogramPanel(o, f, Panel{60, 48, 390, 170});
      EcdfPanel(o, f, Panel{540, 48, 400, 170});
    } else {
      HistogramPanel(o, f, Panel{60, 48, 880, 170});
    }
    o += "</svg>\n</section>\n";
  }
  o += "</main>\n</body>\n</html>\n";
  return o;
}

}  // namespace studio::monitoring
