#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/table.h"
#include "pipelines/stages/stage.h"

// What the inference stages feed the model: the prepared current split, restricted to the
// registered version's signature columns when it has them.
namespace studio::pipelines::stages::internal {

// The input column names of the version the run registered (model-registry outputs), from its
// MLflow signature; empty when it has no column signature. `model`/`version` are filled.
Result<std::vector<std::string>> SignatureColumns(const StageContext& ctx, ControlPlane& cp,
                                                  std::string* model, std::string* version);

// The prepared current split (data-preparation outputs).
Result<Table> LoadCurrentSplit(const StageContext& ctx, std::string* path);

// `columns` (or every column when empty) of `t`; a missing column is an error naming it.
Result<std::vector<size_t>> SelectColumns(const Table& t, const std::vector<std::string>& columns);

// One dataframe_split row: numbers as numbers, missing as null, other text as strings.
nlohmann::json RowJson(const std::vector<std::string>& row, const std::vector<size_t>& cols);

}  // namespace studio::pipelines::stages::internal
