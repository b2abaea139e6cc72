#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "monitoring/report/drift_report.h"

namespace studio::monitoring {
namespace {

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

DriftReport Sample() {
  DriftReport r;
  FeatureDrift a;
  a.column = "age";
  a.kind = ColumnKind::kNumeric;
  a.method = Method::kKs;
  a.statistic = 0.25;
  a.p_value = 0.001;
  a.score = 0.001;
  a.threshold = 0.05;
  a.drift = true;
  a.ref_count = a.cur_count = 100;
  a.histogram.edges = {0, 1, 2};
  a.histogram.ref = {0.5, 0.5};
  a.histogram.cur = {0.2, 0.8};
  a.ecdf_ref = {{0, 0.1}, {1, 0.5}, {2, 1}};
  a.ecdf_cur = {{0.5, 0.2}, {2, 1}};
  FeatureDrift c;
  c.column = "city <script>";
  c.kind = ColumnKind::kCategorical;
  c.method = Method::kJensenShannon;
  c.statistic = c.score = 0.01;
  c.threshold = 0.1;
  c.histogram.categories = {"a&b", "z"};
  c.histogram.ref = {0.6, 0.4};
  c.histogram.cur = {0.5, 0.5};
  c.unseen_categories = {"z"};
  FeatureDrift e;
  e.column = "empty";
  e.error = "reference is empty after dropping NaN";
  r.features = {a, c, e};
  r.evaluated = 2;
  r.drifted = 1;
  r.share = 0.5;
  r.drift_share = 0.5;
  r.dataset_drift = true;
  return r;
}

TEST(TextReport, AlignedTableAndVerdict) {
  std::string text = RenderDriftText(Sample());
  std::istringstream in(text);
  std::string header, rule, row1, row2, row3;
  std::getline(in, header);
  std::getline(in, rule);
  std::getline(in, row1);
  std::getline(in, row2);
  std::getline(in, row3);
  EXPECT_EQ(header.find("feature"), 0u);
  EXPECT_NE(header.find("p-value/distance"), std::string::npos);
  // The drift column starts at the same offset on every line.
  size_t drift_col = header.find("drift");
  EXPECT_EQ(row1.substr(drift_col), "DRIFT");
  EXPECT_EQ(row2.substr(drift_col), "no");
  EXPECT_EQ(row3.substr(drift_col), "n/a");
  EXPECT_NE(row1.find("0.001"), std::string::npos);
  EXPECT_NE(text.find("note: empty: not evaluated: reference is empty"), std::string::npos);
  EXPECT_NE(text.find("1 category not in the reference: z"), std::string::npos);
  EXPECT_NE(text.find("Drifted features: 1 of 2 evaluated (share 0.5; dataset drift when share "
                      ">= 0.5)"),
            std::string::npos);
  EXPECT_NE(text.find("Dataset drift: YES\n"), std::string::npos);
}

TEST(HtmlReport, SelfContainedEscapedOneSvgPerFeature) {
  HtmlReportOptions o;
  o.reference_name = "ref\"x.csv";
  std::string html = RenderDriftHtml(Sample(), o);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(Count(html, "<svg"), 3u);
  EXPECT_EQ(Count(html, "</svg>"), 3u);
  EXPECT_EQ(Count(html, "<title"), 1u + 3u + Count(html, "<rect class=") + 2u);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_NE(html.find("city &lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a&amp;b"), std::string::npos);
  EXPECT_NE(html.find("ref&quot;x.csv"), std::string::npos);
  EXPECT_NE(html.find("<th scope=\"col\">Feature</th>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"drift\">"), std::string::npos);
  EXPECT_NE(html.find("Dataset drift: YES"), std::string::npos);
  EXPECT_EQ(Count(html, "class=\"ref-line\""), 1u);  // one ECDF pair, for the numeric feature
  EXPECT_EQ(Count(html, "class=\"cur-line\""), 1u);
}

}  // namespace
}  // namespace studio::monitoring
