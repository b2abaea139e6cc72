#include "monitors/internal/data_sources.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/crypto.h"
#include "common/ids.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "monitoring/csv/csv_reader.h"

namespace studio::monitors::internal {
namespace {

// Removes the file when it goes out of scope.
struct TempFile {
  std::filesystem::path path;
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

constexpr size_t kMaxLogObject = 256u << 20;

Result<std::string> ReadAll(artifacts::ArtifactStore& store, const std::string& path) {
  std::string out;
  RETURN_IF_ERROR(store.Get(path, [&](std::string_view chunk) -> Status {
    if (out.size() + chunk.size() > kMaxLogObject)
      return InvalidArgument("prediction log object '" + path + "' is larger than 256 MiB");
    out.append(chunk);
    return Status::Ok();
  }));
  return out;
}

}  // namespace

Result<LoadedCsv> LoadCsvArtifact(artifacts::ArtifactStore& store, const std::string& path,
                                  const std::map<std::string, monitoring::ColumnKind>& kinds) {
  ASSIGN_OR_RETURN(std::string norm, artifacts::NormalizeArtifactPath(path));
  ASSIGN_OR_RETURN(auto info, store.Stat(norm));
  if (info.is_dir) return InvalidArgument("artifact '" + norm + "' is a directory, not a CSV file");
  TempFile tmp{std::filesystem::temp_directory_path() / ("studio-monitor-" + NewUuidV7() + ".csv")};
  crypto::Sha256Stream hash;
  {
    std::ofstream out(tmp.path, std::ios::binary);
    if (!out) return Internal("cannot create a temporary file for the dataset");
    RETURN_IF_ERROR(store.Get(norm, [&](std::string_view chunk) -> Status {
      hash.Update(chunk);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      return out ? Status::Ok() : Internal("cannot write a temporary file for the dataset");
    }));
  }
  monitoring::CsvReadOptions opts;
  opts.kinds = kinds;
  auto data = monitoring::ReadCsvFile(tmp.path.string(), opts);
  if (!data.ok()) {
    // The reader names the temporary file; name the artifact instead.
    std::string msg = data.status().message();
    std::string tmpname = tmp.path.string();
    if (size_t at = msg.find(tmpname); at != std::string::npos)
      msg.replace(at, tmpname.size(), norm);
    return InvalidArgument("artifact is not a usable CSV: " + msg);
  }
  LoadedCsv out;
  out.data = std::move(*data);
  out.sha256 = hash.FinishHex();
  return out;
}

Result<monitoring::Dataset> LoadPredictionLog(artifacts::ArtifactStore& store,
                                              const std::string& prefix, const LogFilter& filter) {
  ASSIGN_OR_RETURN(std::string norm, artifacts::NormalizeArtifactPath(prefix));
  ASSIGN_OR_RETURN(auto listing, store.List(norm));
  std::vector<std::string> files;
  for (const auto& e : listing)
    if (!e.is_dir && e.path.ends_with(".ndjson")) files.push_back(e.path);
  if (files.empty()) return NotFound("no prediction log files (*.ndjson) under '" + norm + "'");
  // predictions-<UTC time>-<seq>.ndjson: the name order is the time order; newest first.
  std::sort(files.rbegin(), files.rend());

  std::vector<std::string> names;  // column order of the first matching record
  std::unordered_map<std::string, size_t> index;
  std::vector<std::vector<double>> numeric;
  std::vector<double> pred_num;
  std::vector<std::string> pred_cat;
  bool pred_is_cat = false, pred_seen = false;
  int64_t rows = 0, records = 0, skipped = 0, malformed = 0;
  for (const auto& file : files) {
    if (rows >= filter.max_rows) break;
    ASSIGN_OR_RETURN(std::string text, ReadAll(store, file));
    size_t pos = 0;
    while (pos < text.size() && rows < filter.max_rows) {
      size_t nl = text.find('\n', pos);
      std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.empty()) continue;
      auto rec = nlohmann::json::parse(line, nullptr, false);
      if (rec.is_discarded() || !rec.is_object() || !rec.contains("columns") ||
          !rec["columns"].is_array() || !rec.contains("inputs") || !rec["inputs"].is_array()) {
        ++malformed;
        continue;
      }
      ++records;
      auto str = [&](const char* key) {
        auto it = rec.find(key);
        if (it == rec.end()) return std::string();
        return it->is_string() ? it->get<std::string>() : it->dump();
      };
      if ((!filter.model.empty() && str("model") != filter.model) ||
          (!filter.version.empty() && str("version") != filter.version)) {
        ++skipped;
        continue;
      }
      std::vector<size_t> slot;
      for (const auto& c : rec["columns"]) {
        std::string name = c.is_string() ? c.get<std::string>() : c.dump();
        auto [it, inserted] = index.emplace(name, names.size());
        if (inserted) {
          names.push_back(name);
          // Earlier rows had no such column: missing.
          numeric.emplace_back(static_cast<size_t>(rows), std::numeric_limits<double>::quiet_NaN());
        }
        slot.push_back(it->second);
      }
      const auto& preds = rec.contains("predictions") && rec["predictions"].is_array()
                              ? rec["predictions"]
                              : nlohmann::json::array();
      size_t r = 0;
      for (const auto& row : rec["inputs"]) {
        if (rows >= filter.max_rows) break;
        for (auto& col : numeric) col.push_back(std::numeric_limits<double>::quiet_NaN());
        if (row.is_array()) {
          for (size_t c = 0; c < row.size() && c < slot.size(); ++c)
            if (row[c].is_number()) numeric[slot[c]].back() = row[c].get<double>();
        }
        const nlohmann::json* p = r < preds.size() ? &preds[r] : nullptr;
        // {"predictions": [{"label": ...}]} shapes are not scalar: no prediction column.
        if (p && p->is_string()) {
          pred_is_cat = pred_seen = true;
          pred_cat.push_back(p->get<std::string>());
          pred_num.push_back(std::numeric_limits<double>::quiet_NaN());
        } else if (p && p->is_number()) {
          pred_seen = true;
          pred_num.push_back(p->get<double>());
          pred_cat.push_back(p->dump());
        } else {
          pred_num.push_back(std::numeric_limits<double>::quiet_NaN());
          pred_cat.emplace_back();
        }
        ++rows;
        ++r;
      }
    }
  }
  if (rows == 0) {
    std::string why = std::to_string(records) + " records read";
    if (skipped) why += ", " + std::to_string(skipped) + " for other models/versions";
    if (malformed) why += ", " + std::to_string(malformed) + " malformed lines";
    return InvalidArgument("no prediction rows under '" + norm + "'" +
                           (filter.model.empty() ? std::string()
                                                 : " for model '" + filter.model + "' version '" +
                                                       filter.version + "'") +
                           " (" + why + ")");
  }
  monitoring::Dataset ds;
  ds.rows = rows;
  for (size_t i = 0; i < names.size(); ++i) {
    monitoring::Column c;
    c.name = names[i];
    c.kind = monitoring::ColumnKind::kNumeric;
    c.numeric = std::move(numeric[i]);
    ds.columns.push_back(std::move(c));
  }
  if (pred_seen && !index.count("prediction")) {
    monitoring::Column c;
    c.name = "prediction";
    if (pred_is_cat) {
      c.kind = monitoring::ColumnKind::kCategorical;
      c.categorical = std::move(pred_cat);
    } else {
      c.kind = monitoring::ColumnKind::kNumeric;
      c.numeric = std::move(pred_num);
    }
    ds.columns.push_back(std::move(c));
  }
  return ds;
}

Result<std::vector<PredictionRow>> LoadPredictionRows(artifacts::ArtifactStore& store,
                                                      const std::string& prefix,
                                                      const LogFilter& filter) {
  ASSIGN_OR_RETURN(std::string norm, artifacts::NormalizeArtifactPath(prefix));
  ASSIGN_OR_RETURN(auto listing, store.List(norm));
  std::vector<std::string> files;
  for (const auto& e : listing)
    if (!e.is_dir && e.path.ends_with(".ndjson")) files.push_back(e.path);
  std::sort(files.rbegin(), files.rend());  // newest first, as LoadPredictionLog
  std::vector<PredictionRow> out;
  int64_t rows = 0;
  for (const auto& file : files) {
    if (rows >= filter.max_rows) break;
    ASSIGN_OR_RETURN(std::string text, ReadAll(store, file));
    size_t pos = 0;
    while (pos < text.size() && rows < filter.max_rows) {
      size_t nl = text.find('\n', pos);
      std::string_view line(text.data() + pos, (nl == std::string::npos ? text.size() : nl) - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      if (line.empty()) continue;
      auto rec = nlohmann::json::parse(line, nullptr, false);
      if (rec.is_discarded() || !rec.is_object()) continue;
      auto str = [&](const char* key) {
        auto it = rec.find(key);
        if (it == rec.end()) return std::string();
        return it->is_string() ? it->get<std::string>() : it->dump();
      };
      if ((!filter.model.empty() && str("model") != filter.model) ||
          (!filter.version.empty() && str("version") != filter.version))
        continue;
      auto preds = rec.find("predictions");
      if (preds == rec.end() || !preds->is_array()) continue;
      std::string id = str("request_id");
      int64_t ts = 0;
      if (auto t = ParseRfc3339(str("ts")); t.ok()) ts = *t;
      for (size_t r = 0; r < preds->size() && rows < filter.max_rows; ++r, ++rows) {
        const auto& p = (*preds)[r];
        if (id.empty() || !(p.is_number() || p.is_string())) continue;
        out.push_back({ts, preds->size() == 1 ? id : id + "/" + std::to_string(r), p});
      }
    }
  }
  return out;
}

}  // namespace studio::monitors::internal
