#pragma once

// CSV → monitoring::Dataset for drift checks. RFC 4180 (quoted fields with "" escapes and
// embedded newlines, CRLF or LF), a required header row, an optional UTF-8 BOM.
//
// - Kinds: a column is numeric when every non-missing field parses as a number, categorical
//   otherwise (monitoring::KindInferrer's rule, i.e. what pandas.read_csv would type); `kinds`
//   overrides it per column. A field that is not a number in a column declared numeric is an
//   error naming the line.
// - Missing: empty fields and pandas' NA spellings (monitoring::IsMissingField) are NaN in a
//   numeric column and "" in a categorical one.
// - Ragged rows (more or fewer fields than the header) are errors naming the line; blank lines
//   are skipped (as pandas does). Bytes that are not valid UTF-8 are read as Latin-1, so
//   reports stay valid UTF-8 and distinct values stay distinct.
// - The file is mapped, not copied; numbers are parsed straight into the column's vector, and
//   the rows are split between `threads` workers at line boundaries.
// Error messages start with "FILE:LINE:" (LINE counts physical lines from 1, the header is 1).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "monitoring/drift.h"

namespace studio::monitoring {

struct CsvReadOptions {
  std::vector<std::string> columns;         // read only these, in this order (empty: all)
  std::map<std::string, ColumnKind> kinds;  // per-column kind override
  char delimiter = ',';
  int threads = 2;  // <= 0: hardware concurrency; small inputs use one
};

// Reads `path`. Errors: the file cannot be opened (kResourceDoesNotExist), or its content is
// not a valid CSV / does not match the options (kInvalidParameterValue).
Result<Dataset> ReadCsvFile(const std::string& path, const CsvReadOptions& options = {});

// The same on bytes in memory; `source` names them in error messages.
Result<Dataset> ParseCsv(std::string_view data, std::string_view source,
                         const CsvReadOptions& options = {});

}  // namespace studio::monitoring
