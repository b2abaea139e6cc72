#include <charconv>
#include <cmath>
#include <limits>

#include "serving/server/rows.h"

namespace studio::serving {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

Status CellError(const InputSchema& schema, int64_t col, int64_t row, const std::string& what) {
  return InvalidArgument("column '" + schema.ColumnName(col) + "' (row " + std::to_string(row) +
                         "): " + what)
      .WithDetail(schema.ColumnName(col), what);
}

// Splits on commas; quoted fields may contain commas but not newlines (tabular numeric data).
void SplitCsv(std::string_view line, std::vector<std::string_view>* cells) {
  cells->clear();
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      cells->push_back(Trim(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  cells->push_back(Trim(line.substr(start)));
}

}  // namespace

Status MapColumns(const std::vector<std::string_view>& names, const InputSchema& schema,
                  std::vector<int>* positions) {
  positions->assign(names.size(), -1);
  if (schema.columns.empty()) {
    // Positional model: the header only has to have the right width.
    if (schema.width > 0 && static_cast<int64_t>(names.size()) != schema.width)
      return InvalidArgument("got " + std::to_string(names.size()) + " columns; the model takes " +
                             std::to_string(schema.width));
    for (size_t i = 0; i < names.size(); ++i) (*positions)[i] = static_cast<int>(i);
    return Status::Ok();
  }
  std::vector<bool> seen(schema.columns.size(), false);
  for (size_t i = 0; i < names.size(); ++i) {
    int p = schema.Find(names[i]);
    if (p < 0)
      return InvalidArgument("unknown column '" + std::string(names[i]) + "'")
          .WithDetail(std::string(names[i]), "not in the model's signature");
    if (seen[p])
      return InvalidArgument("column '" + std::string(names[i]) + "' appears twice")
          .WithDetail(std::string(names[i]), "duplicate");
    seen[p] = true;
    (*positions)[i] = p;
  }
  for (size_t p = 0; p < seen.size(); ++p)
    if (!seen[p] && schema.columns[p].required)
      return InvalidArgument("missing column '" + schema.columns[p].name + "'")
          .WithDetail(schema.columns[p].name, "required by the model's signature");
  return Status::Ok();
}

Status ParseCell(std::string_view text, const InputSchema& schema, int64_t col, int64_t row,
                 float* out) {
  const DType type = col < static_cast<int64_t>(schema.columns.size()) ? schema.columns[col].type
                                                                       : DType::kFloat32;
  const bool is_float = type == DType::kFloat32 || type == DType::kFloat64;
  if (text.empty() || text == "NaN" || text == "nan" || text == "null") {
    if (!is_float || schema.reject_missing)
      return CellError(schema, col, row, "missing values are not allowed");
    *out = std::numeric_limits<float>::quiet_NaN();
    return Status::Ok();
  }
  if (type == DType::kBool) {
    if (text == "true" || text == "True" || text == "1")
      *out = 1.0f;
    else if (text == "false" || text == "False" || text == "0")
      *out = 0.0f;
    else
      return CellError(schema, col, row, "expects a boolean, got '" + std::string(text) + "'");
    return Status::Ok();
  }
  if (!is_float) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size())
      return CellError(schema, col, row, "expects an integer, got '" + std::string(text) + "'");
    *out = static_cast<float>(v);
    return Status::Ok();
  }
  double v = 0;
  const char* b = text.data();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size())
    return CellError(schema, col, row, "expects a number, got '" + std::string(text) + "'");
  if (std::isnan(v) && schema.reject_missing)
    return CellError(schema, col, row, "missing values are not allowed");
  *out = static_cast<float>(v);
  return Status::Ok();
}

Status CsvRowReader::Line(std::string_view line, RowMatrix* out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return Status::Ok();
  thread_local std::vector<std::string_view> cells;
  SplitCsv(line, &cells);
  if (!have_header_) {
    Status st = MapColumns(cells, schema_, &positions_);
    if (!st.ok()) return st;
    have_header_ = true;
    if (out->cols <= 0) out->cols = static_cast<int64_t>(positions_.size());
    return Status::Ok();
  }
  if (cells.size() != positions_.size())
    return InvalidArgument("CSV row " + std::to_string(row_) + " has " +
                           std::to_string(cells.size()) + " cells; the header has " +
                           std::to_string(positions_.size()));
  const size_t base = out->values.size();
  out->values.resize(base + out->cols, std::numeric_limits<float>::quiet_NaN());
  float* dst = out->values.data() + base;
  for (size_t i = 0; i < cells.size(); ++i) {
    Status st = ParseCell(cells[i], schema_, positions_[i], row_, &dst[positions_[i]]);
    if (!st.ok()) return st;
  }
  ++out->rows;
  ++row_;
  return Status::Ok();
}

Status CsvRowReader::Feed(std::string_view data, RowMatrix* out) {
  if (!tail_.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      tail_.append(data);
      if (tail_.size() > (1 << 20)) return InvalidArgument("a CSV line is longer than 1 MiB");
      return Status::Ok();
    }
    tail_.append(data.substr(0, nl));
    Status st = Line(tail_, out);
    tail_.clear();
    if (!st.ok()) return st;
    data.remove_prefix(nl + 1);
  }
  size_t start = 0;
  while (true) {
    size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) break;
    Status st = Line(data.substr(start, nl - start), out);
    if (!st.ok()) return st;
    start = nl + 1;
  }
  tail_.assign(data.substr(start));
  if (tail_.size() > (1 << 20)) return InvalidArgument("a CSV line is longer than 1 MiB");
  return Status::Ok();
}

Status CsvRowReader::Finish(RowMatrix* out) {
  Status st = Line(tail_, out);
  tail_.clear();
  if (!st.ok()) return st;
  if (!have_header_) return InvalidArgument("the CSV body is empty; it needs a header row");
  return Status::Ok();
}

Status ParseCsvRows(std::string_view body, const InputSchema& schema, RowMatrix* out) {
  CsvRowReader reader(schema);
  Status st = reader.Feed(body, out);
  if (!st.ok()) return st;
  return reader.Finish(out);
}

}  // namespace studio::serving
