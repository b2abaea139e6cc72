// `studio drift`: two CSV files in, a drift report out; the exit code is the verdict for CI.
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>

#include "cli/commands.h"
#include "monitoring/csv/csv_reader.h"
#include "monitoring/drift.h"
#include "monitoring/report/drift_report.h"

namespace studio::cli {
namespace {

namespace mon = monitoring;

int Fail(const std::string& message) {
  std::cerr << "studio drift: error: " << message << "\n";
  return kExitError;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string MethodList() {
  std::vector<std::string> names;
  for (auto m : {mon::Method::kAuto, mon::Method::kKs, mon::Method::kChiSquare, mon::Method::kZ,
                 mon::Method::kWasserstein, mon::Method::kPsi, mon::Method::kJensenShannon,
                 mon::Method::kKlDiv, mon::Method::kHellinger}) {
    names.emplace_back(mon::MethodName(m));
  }
  return Join(names);
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Writes next to the target, then renames: a CI job never reads half a report.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return InvalidArgument("cannot write " + path + ": " + std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    return InvalidArgument("cannot write " + path + ": " + ec.message());
  }
  return Status::Ok();
}

// Same columns on both sides (or the requested ones), each read as one kind on both sides.
Result<std::pair<mon::Dataset, mon::Dataset>> ReadBoth(const DriftCommandOptions& o,
                                                       const mon::CsvReadOptions& csv) {
  ASSIGN_OR_RETURN(mon::Dataset ref, mon::ReadCsvFile(o.reference, csv));
  ASSIGN_OR_RETURN(mon::Dataset cur, mon::ReadCsvFile(o.current, csv));
  if (o.columns.empty()) {
    std::set<std::string> in_cur;
    for (const auto& c : cur.columns) in_cur.insert(c.name);
    for (const auto& c : ref.columns) {
      if (!in_cur.erase(c.name)) {
        return InvalidArgument("column '" + c.name + "' is in " + o.reference + " but not in " +
                               o.current + " (use --columns to compare a subset)");
      }
    }
    if (!in_cur.empty()) {
      return InvalidArgument("column '" + *in_cur.begin() + "' is in " + o.current +
                             " but not in " + o.reference + " (use --columns to compare a subset)");
    }
  }
  // A column typed numeric on one side and categorical on the other (say "n/a?" in one file)
  // is compared as categorical: the numeric side is read again as text for those columns.
  std::vector<std::string> mixed;
  for (const auto& c : ref.columns) {
    const mon::Column* other = cur.Find(c.name);
    if (other != nullptr && other->kind != c.kind) mixed.push_back(c.name);
  }
  if (!mixed.empty()) {
    for (const auto& name : mixed) {
      std::cerr << "studio drift: note: column '" << name
                << "' holds non-numbers in only one file; compared as categorical (use "
                   "--categorical or --numeric to choose)\n";
    }
    for (auto* side : {&ref, &cur}) {
      mon::CsvReadOptions again = csv;
      again.columns = mixed;
      for (const auto& name : mixed) again.kinds[name] = mon::ColumnKind::kCategorical;
      bool needed = false;
      for (const auto& name : mixed) {
        needed = needed || side->Find(name)->kind == mon::ColumnKind::kNumeric;
      }
      if (!needed) continue;
      ASSIGN_OR_RETURN(mon::Dataset text,
                       mon::ReadCsvFile(side == &ref ? o.reference : o.current, again));
      for (auto& column : side->columns) {
        for (auto& replacement : text.columns) {
          if (replacement.name == column.name) column = std::move(replacement);
        }
      }
    }
  }
  return std::make_pair(std::move(ref), std::move(cur));
}

}  // namespace

int RunDrift(const DriftCommandOptions& o) {
  // Column buffers (8 MB per million values) are allocated and freed column after column: keep
  // them in the heap instead of mmap, so freed memory is reused rather than returned to the
  // kernel, which zeroes every page again on the next allocation (a fifth of the run otherwise).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Flags first: a typo must not cost a 1 GB parse.
  std::optional<mon::Method> method = mon::ParseMethod(o.method);
  if (!method) return Fail("unknown method '" + o.method + "' (one of: " + MethodList() + ")");
  std::optional<mon::Correction> correction = mon::ParseCorrection(o.correction);
  if (!correction) {
    return Fail("unknown correction '" + o.correction + "' (one of: none, bonferroni, bh)");
  }
  if (o.format != "text" && o.format != "json" && o.format != "html") {
    return Fail("unknown format '" + o.format + "' (one of: text, json, html)");
  }
  if (!(o.drift_share >= 0 && o.drift_share <= 1)) {
    return Fail("--drift-share must be between 0 and 1");
  }
  if (o.threshold_set && !(o.threshold >= 0)) return Fail("--threshold must be >= 0");
  mon::CsvReadOptions csv;
  csv.columns = o.columns;
  csv.threads = o.threads;
  for (const auto& name : o.categorical) csv.kinds[name] = mon::ColumnKind::kCategorical;
  for (const auto& name : o.numeric) {
    if (!csv.kinds.emplace(name, mon::ColumnKind::kNumeric).second) {
      return Fail("column '" + name + "' is given to both --categorical and --numeric");
    }
  }

  auto data = ReadBoth(o, csv);
  if (!data.ok()) return Fail(data.status().message());
  const auto& [ref, cur] = data.value();

  mon::DriftOptions options;
  options.method = *method;
  if (o.threshold_set) options.threshold = o.threshold;
  options.drift_share = o.drift_share;
  options.correction = *correction;
  options.columns = o.columns;
  options.threads = o.threads;
  options.ecdf_points = o.format == "html" ? 200 : 0;
  for (const auto& [name, kind] : csv.kinds) options.overrides[name].kind = kind;
  auto report = mon::ComputeDrift(ref, cur, options);
  if (!report.ok()) return Fail(report.status().message());

  std::string out;
  if (o.format == "json") {
    out = mon::ReportToJson(report.value()) + "\n";
  } else if (o.format == "html") {
    mon::HtmlReportOptions html;
    html.reference_name = o.reference;
    html.current_name = o.current;
    html.generated_at = "generated " + NowRfc3339() + " by studio drift";
    out = mon::RenderDriftHtml(report.value(), html);
  } else {
    out = mon::RenderDriftText(report.value());
  }
  if (o.output.empty() || o.output == "-") {
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  } else {
    Status written = WriteFileAtomically(o.output, out);
    if (!written.ok()) return Fail(written.message());
    std::cerr << "studio drift: dataset drift: " << (report->dataset_drift ? "YES" : "NO") << " ("
              << report->drifted << " of " << report->evaluated << " features); report written to "
              << o.output << "\n";
  }
  return report->dataset_drift ? kExitFailed : kExitOk;
}

}  // namespace studio::cli
