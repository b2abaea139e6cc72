#pragma once

#include <cstdint>
#include <map>
#include <string>

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

}  // namespace studio::monitors::internal
