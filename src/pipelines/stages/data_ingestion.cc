// data-ingestion: CSV or NDJSON from a local path, an allow-listed https:// URL or an s3://
// prefix → one normalized CSV dataset artifact with its schema, row count and SHA-256.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "artifacts/artifact_store.h"
#include "common/strings.h"
#include "monitors/egress.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/table.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {
namespace fs = std::filesystem;

struct RawInput {
  std::string name;  // for error messages
  std::string data;
};

bool HasDotDot(const std::string& s) {
  for (const auto& seg : SplitAndTrim(s, '/'))
    if (seg == "..") return true;
  return false;
}

Result<std::vector<RawInput>> ReadLocal(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return NotFound("data-ingestion source '" + path + "' is not a file (relative paths are " +
                    "resolved against the working directory " + fs::current_path(ec).string() +
                    ")");
  auto size = fs::file_size(path, ec);
  if (ec || size > kMaxDatasetBytes)
    return InvalidArgument("data-ingestion source '" + path + "' is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  if (!in) return Internal("cannot read '" + path + "'");
  return std::vector<RawInput>{{path, std::move(data)}};
}

// STUDIO_ALLOWED_DATA_HOSTS (comma-separated host names): the only hosts data is fetched from.
Result<std::vector<RawInput>> ReadUrl(const std::string& url) {
  if (url.rfind("https://", 0) != 0)
    return InvalidArgument("data-ingestion fetches https:// URLs only, not '" + url + "'");
  const char* env = std::getenv("STUDIO_ALLOWED_DATA_HOSTS");
  std::vector<std::string> allowed = SplitAndTrim(env ? env : "", ',');
  std::string rest = url.substr(8);
  std::string host = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = host.rfind('@'); at != std::string::npos)
    return InvalidArgument("data-ingestion URLs may not carry credentials");
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') == std::string::npos ? 0 : host.find(']') - 1);
  } else if (size_t colon = host.find(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  bool listed = false;
  for (const auto& a : allowed)
    if (ToLower(a) == ToLower(host)) listed = true;
  if (!listed)
    return Status(ErrorCode::kPermissionDenied,
                  "host '" + host + "' is not in the data allow-list (STUDIO_ALLOWED_DATA_HOSTS=" +
                      (env ? env : "") + ")");
  // The listed host may resolve to a private address (an internal data server), but the
  // connection still goes to the one address that was checked, and redirects are refused.
  monitors::EgressPolicy policy;
  policy.allowed_hosts = allowed;
  ASSIGN_OR_RETURN(monitors::EgressTarget target, monitors::CheckUrl(url, policy));
  ASSIGN_OR_RETURN(monitors::HttpResult res,
                   monitors::HttpGet(target, 300'000, kMaxDatasetBytes + 1));
  if (res.status != 200)
    return InvalidArgument(
        "GET " + url + " answered HTTP " + std::to_string(res.status) +
        (res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : ""));
  if (res.body.size() > kMaxDatasetBytes)
    return InvalidArgument("GET " + url + ": the data is larger than 1 GiB");
  return std::vector<RawInput>{{url, std::move(res.body)}};
}

bool MatchesFormat(const std::string& path, const std::string& format) {
  auto ends = [&](const char* suf) {
    std::string s(suf);
    return path.size() >= s.size() && ToLower(path.substr(path.size() - s.size())) == s;
  };
  if (format == "csv") return ends(".csv");
  return ends(".ndjson") || ends(".jsonl") || ends(".json");
}

// s3://bucket/prefix: every object directly under the prefix with the format's extension, in
// key order; or s3://bucket/key naming one object.
Result<std::vector<RawInput>> ReadS3(const std::string& uri, const std::string& format) {
  std::string root = uri;
  while (!root.empty() && root.back() == '/') root.pop_back();
  std::vector<RawInput> out;
  size_t total = 0;
  if (auto store = artifacts::OpenArtifactStore(root); store.ok()) {
    if (auto listing = (*store)->List(""); listing.ok()) {
      for (const auto& e : *listing) {
        if (e.is_dir || !MatchesFormat(e.path, format)) continue;
        ASSIGN_OR_RETURN(std::string data, GetText(**store, e.path, kMaxDatasetBytes - total));
        total += data.size();
        out.push_back({root + "/" + e.path, std::move(data)});
      }
    }
  }
  if (!out.empty()) return out;
  size_t slash = root.rfind('/');
  if (slash == std::string::npos || slash < 5)
    return NotFound("no ." + format + " objects under '" + uri + "'");
  ASSIGN_OR_RETURN(auto parent, artifacts::OpenArtifactStore(root.substr(0, slash)));
  auto data = GetText(*parent, root.substr(slash + 1), kMaxDatasetBytes);
  if (!data.ok()) {
    if (data.status().code() == ErrorCode::kResourceDoesNotExist)
      return NotFound("no ." + format + " objects under '" + uri + "' and no object at that key");
    return data.status();
  }
  out.push_back({root, std::move(*data)});
  return out;
}

}  // namespace

Result<nlohmann::json> RunDataIngestion(const StageContext& ctx) {
  ASSIGN_OR_RETURN(std::string source, StringParam(ctx, "source"));
  ASSIGN_OR_RETURN(std::string format, StringParam(ctx, "format", "csv"));
  ASSIGN_OR_RETURN(int64_t max_rows, IntParam(ctx, "max_rows", 0));
  if (source.empty()) return InvalidArgument("data-ingestion needs 'source'");
  if (format != "csv" && format != "ndjson")
    return InvalidArgument("format must be csv or ndjson, got '" + format + "'");
  if (HasDotDot(source) || source.find('\\') != std::string::npos ||
      source.find('\0') != std::string::npos)
    return InvalidArgument("source '" + source +
                           "': '..' segments and backslashes are not allowed");
  std::vector<RawInput> inputs;
  if (source.rfind("s3://", 0) == 0) {
    ASSIGN_OR_RETURN(inputs, ReadS3(source, format));
  } else if (source.find("://") != std::string::npos) {
    ASSIGN_OR_RETURN(inputs, ReadUrl(source));
  } else {
    ASSIGN_OR_RETURN(inputs, ReadLocal(source));
  }
  Table table;
  bool truncated = false;
  for (const auto& in : inputs) {
    RETURN_IF_ERROR(CheckCancelled(ctx));
    int64_t left = max_rows > 0 ? max_rows - static_cast<int64_t>(table.rows.size()) : 0;
    if (max_rows > 0 && left <= 0) {
      truncated = true;
      break;
    }
    ASSIGN_OR_RETURN(Table part, format == "csv" ? ParseCsvTable(in.data, in.name, left)
                                                 : ParseNdjsonTable(in.data, in.name, left));
    if (table.columns.empty()) {
      table.columns = part.columns;
    } else if (part.columns != table.columns) {
      if (format == "csv")
        return InvalidArgument(in.name + ": its header differs from " + inputs[0].name + "'s");
      // NDJSON files may add keys: widen every row to the union.
      for (const auto& c : part.columns)
        if (table.Find(c) < 0) {
          table.columns.push_back(c);
          for (auto& r : table.rows) r.emplace_back();
        }
      for (auto& r : part.rows) {
        std::vector<std::string> wide(table.columns.size());
        for (size_t i = 0; i < part.columns.size(); ++i)
          wide[static_cast<size_t>(table.Find(part.columns[i]))] = std::move(r[i]);
        r = std::move(wide);
      }
    }
    for (auto& r : part.rows) table.rows.push_back(std::move(r));
    if (max_rows > 0 && static_cast<int64_t>(table.rows.size()) >= max_rows) truncated = true;
  }
  if (table.rows.empty()) return InvalidArgument("data-ingestion: '" + source + "' has no rows");
  ASSIGN_OR_RETURN(std::string prefix, StagePrefix(ctx));
  ASSIGN_OR_RETURN(nlohmann::json dataset,
                   SaveTable(*ctx.artifacts, prefix + "dataset.csv", table));
  Log(ctx, "ingested " + std::to_string(table.rows.size()) + " rows, " +
               std::to_string(table.columns.size()) + " columns from " + source + " → " +
               dataset["path"].get<std::string>() + " (sha256 " +
               dataset["sha256"].get<std::string>() + ")");
  return nlohmann::json{{"source", source},
                        {"format", format},
                        {"files", static_cast<int64_t>(inputs.size())},
                        {"max_rows_reached", truncated},
                        {"dataset", dataset},
                        {"rows", dataset["rows"]},
                        {"sha256", dataset["sha256"]},
                        {"schema", dataset["schema"]},
                        {"datasets", {{"dataset", dataset["sha256"]}}}};
}

}  // namespace studio::pipelines::stages::internal
