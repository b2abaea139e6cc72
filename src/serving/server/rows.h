#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/server/schema.h"

namespace studio::serving {

// Request rows in the model's column order, row-major float32 (NaN = missing). Reused per
// thread so the single-row path does not allocate.
struct RowMatrix {
  std::vector<float> values;
  int64_t rows = 0;
  int64_t cols = 0;
  void Reset(int64_t ncols) {
    values.clear();
    rows = 0;
    cols = ncols;
  }
};

// Maps a list of column names (a CSV header, dataframe_split "columns") onto the schema:
// positions[i] = the schema column of name i. Unknown names and missing required columns are
// errors naming the column.
Status MapColumns(const std::vector<std::string_view>& names, const InputSchema& schema,
                  std::vector<int>* positions);

// Converts one text cell (CSV) into the column's value. Empty = missing.
Status ParseCell(std::string_view text, const InputSchema& schema, int64_t col, int64_t row,
                 float* out);

// The JSON bodies of /predict and MLflow's /invocations: exactly one of dataframe_split,
// dataframe_records, instances or inputs (plus optional "params"), MLflow's rules. Appends to
// `out`. Errors are kBadRequest / kInvalidParameterValue naming the key, row and column.
Status ParseJsonRows(std::string_view body, const InputSchema& schema, RowMatrix* out);

// One row as JSON text: an array in column order (or in the order `positions` maps, for
// dataframe_split with columns) or a {column: value} record. Appends to `out`.
Status ParseJsonRow(std::string_view row_json, const InputSchema& schema,
                    const std::vector<int>* positions, RowMatrix* out);

// Streaming JSON for /batch-predict: {"instances"|"inputs"|"dataframe_records": [rows...]} or
// {"dataframe_split": {"columns": [...], "data": [rows...]}} (columns before data), fed in
// arbitrary chunks; each complete row is parsed as it arrives, so memory stays bounded by the
// largest row, whatever the body size.
class JsonRowStream {
 public:
  explicit JsonRowStream(const InputSchema& schema) : schema_(schema) {}
  Status Feed(std::string_view data, RowMatrix* out);
  Status Finish();  // the document must be complete

 private:
  enum class State { kStart, kKey, kColon, kValue, kAfterValue, kRows, kSkip, kDone };
  Status Step(RowMatrix* out, bool* progress);
  // Length of the complete JSON value at the start of buf_ (after whitespace), 0 if incomplete.
  size_t CompleteValue(size_t from) const;
  const InputSchema& schema_;
  std::string buf_;
  size_t pos_ = 0;
  State state_ = State::kStart;
  int depth_ = 0;  // 1 = top-level object, 2 = inside dataframe_split
  std::string key_;
  bool rows_seen_ = false;
  bool in_split_ = false;
  std::vector<int> positions_;  // dataframe_split columns → schema positions
  bool have_positions_ = false;
};

// A whole CSV body with a header row (MLflow's text/csv). Appends to `out`.
Status ParseCsvRows(std::string_view body, const InputSchema& schema, RowMatrix* out);

// Streaming CSV: feed bytes as they arrive; complete rows are appended to `out`.
class CsvRowReader {
 public:
  explicit CsvRowReader(const InputSchema& schema) : schema_(schema) {}
  // Parses every complete line in `data` (keeps the partial tail for the next call).
  Status Feed(std::string_view data, RowMatrix* out);
  // End of input: parses a final line without a newline.
  Status Finish(RowMatrix* out);
  int64_t rows_seen() const { return row_; }

 private:
  Status Line(std::string_view line, RowMatrix* out);
  const InputSchema& schema_;
  std::string tail_;
  bool have_header_ = false;
  std::vector<int> positions_;
  int64_t row_ = 0;
};

}  // namespace studio::serving
