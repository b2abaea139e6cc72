#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "common/status.h"
#include "monitoring/drift.h"

namespace studio::monitors::internal {

struct LoadedCsv {
  monitoring::Dataset data;
  std::string sha256;
};

// A CSV artifact, streamed to a temporary file and read with the mapped CSV reader.
// RESOURCE_DOES_NOT_EXIST when the artifact is missing; INVALID_PARAMETER_VALUE for bad CSV.
Result<LoadedCsv> LoadCsvArtifact(artifacts::ArtifactStore& store, const std::string& path,
                                  const std::map<std::string, monitoring::ColumnKind>& kinds);

struct LogFilter {
  std::string model;    // '' = any
  std::string version;  // '' = any
  int64_t max_rows = 100000;
};

// The serving prediction log under `prefix` (NDJSON objects written by `studio serve-model
// --prediction-log`): newest files first until max_rows rows, one numeric column per input
// column and `prediction` for scalar predictions (numbers, or strings as a categorical).
Result<monitoring::Dataset> LoadPredictionLog(artifacts::ArtifactStore& store,
                                              const std::string& prefix, const LogFilter& filter);

// One scalar prediction of the log with the key labels are joined on: the record's request_id
// for a single-row request, "<request_id>/<row index>" for the rows of a batched one.
struct PredictionRow {
  int64_t ts_ms = 0;  // the record's ts (0 when missing or unparsable)
  std::string key;
  nlohmann::json prediction;  // a number or a string
};
// The same files and filter as LoadPredictionLog; records without a request_id are skipped.
Result<std::vector<PredictionRow>> LoadPredictionRows(artifacts::ArtifactStore& store,
                                                      const std::string& prefix,
                                                      const LogFilter& filter);

}  // namespace studio::monitors::internal
