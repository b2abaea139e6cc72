#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "common/status.h"

// The tabular datasets the data stages pass along: a header and rows of text fields, written
// as normalized CSV (RFC 4180, LF line ends, fields quoted only when they must be), so the
// SHA-256 of the artifact identifies the data, not its formatting.
namespace studio::pipelines::stages::internal {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  int Find(std::string_view name) const;  // -1 when absent
};

// RFC 4180 with a required header row: quoted fields ("" escapes, embedded newlines), CRLF or
// LF, an optional UTF-8 BOM, blank lines skipped. Ragged rows, unterminated quotes, empty or
// duplicate column names are errors naming `source` and the line. Stops after max_rows rows
// (0 = no limit).
Result<Table> ParseCsvTable(std::string_view data, const std::string& source, int64_t max_rows);
// One JSON object per line; the columns are the keys in order of first appearance. Strings
// are kept, numbers and booleans written as JSON text, null and absent keys are empty,
// arrays/objects are kept as their JSON text.
Result<Table> ParseNdjsonTable(std::string_view data, const std::string& source, int64_t max_rows);

std::string WriteCsv(const Table& table);

enum class ColType { kInteger, kFloat, kBoolean, kString };
const char* ColTypeName(ColType t);  // "integer", "float", "boolean", "string"
// Missing fields: empty or pandas' NA spellings (monitoring::IsMissingField).
bool IsMissing(std::string_view field);
bool ParseInt(std::string_view field, int64_t* out);
bool ParseFloat(std::string_view field, double* out);
bool ParseBool(std::string_view field, bool* out);  // true/false, 1/0, yes/no (any case)
// The narrowest type all non-missing fields of column `c` parse as; a column with no value
// at all is "float" (pandas reads it as float64 NaN).
ColType InferType(const Table& table, size_t c);
// [{"name","type"}] per column.
nlohmann::json SchemaJson(const Table& table);

// Reads a dataset artifact (normalized CSV) written by a data stage.
Result<Table> LoadTable(artifacts::ArtifactStore& store, const std::string& path);
// Writes `table` at `path`: {"path","rows","columns","bytes","sha256","schema"}.
Result<nlohmann::json> SaveTable(artifacts::ArtifactStore& store, const std::string& path,
                                 const Table& table);

}  // namespace studio::pipelines::stages::internal
