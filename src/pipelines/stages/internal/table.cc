#include "pipelines/stages/internal/table.h"

#include <charconv>
#include <map>
#include <unordered_map>

#include "common/strings.h"
#include "monitoring/drift.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status LineError(const std::string& source, int64_t line, const std::string& msg) {
  return InvalidArgument(source + ":" + std::to_string(line) + ": " + msg);
}

}  // namespace

int Table::Find(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return static_cast<int>(i);
  return -1;
}

Result<Table> ParseCsvTable(std::string_view data, const std::string& source, int64_t max_rows) {
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  Table t;
  size_t i = 0;
  int64_t line = 1;
  bool header = true;
  std::vector<std::string> fields;
  while (i < data.size()) {
    if (max_rows > 0 && static_cast<int64_t>(t.rows.size()) >= max_rows) break;
    int64_t start_line = line;
    fields.clear();
    // A blank line (only a line end) is skipped.
    if (data[i] == '\n' || (data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n')) {
      i += data[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (i < data.size() && data[i] == '"') {
        ++i;
        bool closed = false;
        while (i < data.size()) {
          char c = data[i++];
          if (c == '"') {
            if (i < data.size() && data[i] == '"') {
              field.push_back('"');
              ++i;
            } else {
              closed = true;
              break;
            }
          } else {
            if (c == '\n') ++line;
            field.push_back(c);
          }
        }
        if (!closed) return LineError(source, start_line, "unterminated quoted field");
        if (i < data.size() && data[i] != ',' && data[i] != '\n' && data[i] != '\r')
          return LineError(source, line, "unexpected character after a closing quote");
      } else {
        while (i < data.size() && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
          if (data[i] == '"') return LineError(source, line, "a quote inside an unquoted field");
          field.push_back(data[i++]);
        }
      }
      fields.push_back(field);
      if (i >= data.size()) {
        end_of_record = true;
      } else if (data[i] == ',') {
        ++i;
      } else {
        if (data[i] == '\r') ++i;
        if (i < data.size() && data[i] == '\n') ++i;
        ++line;
        end_of_record = true;
      }
    }
    if (header) {
      std::map<std::string, int> seen;
      for (size_t c = 0; c < fields.size(); ++c) {
        std::string name(Trim(fields[c]));
        if (name.empty())
          return LineError(source, start_line,
                           "column " + std::to_string(c + 1) + " of the header has no name");
        if (seen.count(name))
          return LineError(source, start_line, "duplicate column '" + name + "'");
        seen[name] = 1;
        t.columns.push_back(name);
      }
      header = false;
      continue;
    }
    if (fields.size() != t.columns.size())
      return LineError(source, start_line,
                       "expected " + std::to_string(t.columns.size()) + " fields, found " +
                           std::to_string(fields.size()));
    t.rows.push_back(fields);
  }
  if (header) return InvalidArgument(source + ": no header row (the data is empty)");
  return t;
}

Result<Table> ParseNdjsonTable(std::string_view data, const std::string& source, int64_t max_rows) {
  Table t;
  std::unordered_map<std::string, size_t> index;
  std::vector<nlohmann::json> records;
  int64_t line = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    if (max_rows > 0 && static_cast<int64_t>(records.size()) >= max_rows) break;
    size_t nl = data.find('\n', pos);
    std::string_view text = data.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? data.size() : nl + 1;
    ++line;
    if (Trim(text).empty() || Trim(text) == "\r") continue;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return LineError(source, line, "not a JSON value");
    if (!j.is_object()) return LineError(source, line, "each line must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!index.count(it.key())) {
        index[it.key()] = t.columns.size();
        t.columns.push_back(it.key());
      }
    records.push_back(std::move(j));
  }
  if (t.columns.empty()) return InvalidArgument(source + ": no records with fields");
  for (const auto& r : records) {
    std::vector<std::string> row(t.columns.size());
    for (auto it = r.begin(); it != r.end(); ++it) {
      std::string& f = row[index[it.key()]];
      if (it->is_string())
        f = it->get<std::string>();
      else if (!it->is_null())
        f = it->dump();
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string WriteCsv(const Table& table) {
  std::string out;
  auto field = [&](const std::string& f) {
    bool quote = f.find_first_of(",\"\r\n") != std::string::npos ||
                 (!f.empty() && (f.front() == ' ' || f.back() == ' '));
    if (!quote) {
      out += f;
      return;
    }
    out.push_back('"');
    for (char c : f) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  };
  auto row = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) out.push_back(',');
      field(r[i]);
    }
    // A one-column row whose only field is empty would read back as a blank line.
    if (r.size() == 1 && r[0].empty()) out += "\"\"";
    out.push_back('\n');
  };
  row(table.columns);
  for (const auto& r : table.rows) row(r);
  return out;
}

const char* ColTypeName(ColType t) {
  switch (t) {
    case ColType::kInteger:
      return "integer";
    case ColType::kFloat:
      return "float";
    case ColType::kBoolean:
      return "boolean";
    case ColType::kString:
      return "string";
  }
  return "string";
}

bool IsMissing(std::string_view field) { return monitoring::IsMissingField(field); }

bool ParseInt(std::string_view field, int64_t* out) {
  std::string_view s = Trim(field);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseFloat(std::string_view field, double* out) {
  if (IsMissing(field)) return false;
  auto v = monitoring::ParseNumericField(field);
  if (!v) return false;
  *out = *v;
  return true;
}

bool ParseBool(std::string_view field, bool* out) {
  std::string s = ToLower(Trim(field));
  if (s == "true" || s == "1" || s == "yes") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "0" || s == "no") {
    *out = false;
    return true;
  }
  return false;
}

ColType InferType(const Table& table, size_t c) {
  bool any = false, is_int = true, is_float = true, is_bool = true;
  for (const auto& r : table.rows) {
    const std::string& f = r[c];
    if (IsMissing(f)) continue;
    any = true;
    int64_t i;
    double d;
    std::string lower = ToLower(Trim(f));
    if (is_int && !ParseInt(f, &i)) is_int = false;
    if (is_float && !ParseFloat(f, &d)) is_float = false;
    if (is_bool && lower != "true" && lower != "false") is_bool = false;
    if (!is_int && !is_float && !is_bool) return ColType::kString;
  }
  if (!any) return ColType::kFloat;
  if (is_int) return ColType::kInteger;
  if (is_float) return ColType::kFloat;
  if (is_bool) return ColType::kBoolean;
  return ColType::kString;
}

nlohmann::json SchemaJson(const Table& table) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t c = 0; c < table.columns.size(); ++c)
    out.push_back({{"name", table.columns[c]}, {"type", ColTypeName(InferType(table, c))}});
  return out;
}

Result<Table> LoadTable(artifacts::ArtifactStore& store, const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, GetText(store, path, kMaxDatasetBytes));
  return ParseCsvTable(text, path, 0);
}

Result<nlohmann::json> SaveTable(artifacts::ArtifactStore& store, const std::string& path,
                                 const Table& table) {
  std::string csv = WriteCsv(table);
  ASSIGN_OR_RETURN(artifacts::PutResult put, PutText(store, path, csv));
  return nlohmann::json{{"path", path},
                        {"rows", static_cast<int64_t>(table.rows.size())},
                        {"columns", static_cast<int64_t>(table.columns.size())},
                        {"bytes", put.size},
                        {"sha256", put.sha256},
                        {"schema", SchemaJson(table)}};
}

}  // namespace studio::pipelines::stages::internal
