#pragma once

// Human-readable renderings of a monitoring::DriftReport (the machine format is
// monitoring::ReportToJson).

#include <string>

#include "monitoring/drift.h"

namespace studio::monitoring {

// An aligned table (feature, kind, method, statistic, p-value or distance, threshold, drift),
// then the dataset share and verdict. Plain text, one line per feature, "\n" line ends.
std::string RenderDriftText(const DriftReport& report);

struct HtmlReportOptions {
  std::string title = "Data drift report";
  std::string reference_name;  // shown in the header and legends, e.g. the file name
  std::string current_name;
  std::string generated_at;  // free text, e.g. an RFC 3339 time; omitted when empty
};

// One self-contained HTML page: inline CSS, no scripts, no external resources (fonts, images,
// stylesheets); the summary table, then per feature one inline <svg> with the reference vs
// current histogram (shares per bin or category) and, for numeric features, both ECDFs.
// Every user-supplied string (column names, categories, file names) is HTML-escaped.
std::string RenderDriftHtml(const DriftReport& report, const HtmlReportOptions& options = {});

}  // namespace studio::monitoring
