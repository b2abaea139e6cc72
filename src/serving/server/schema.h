#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "serving/core/model_runtime.h"

namespace studio::serving {

// One named input column of a tabular model, from the MLflow signature.
struct Column {
  std::string name;
  DType type = DType::kFloat32;
  bool required = true;
};

// How request rows map onto the model's input matrix. Built once per loaded model.
struct InputSchema {
  std::vector<Column> columns;  // empty when the signature has no column names (positional)
  int64_t width = -1;           // values per row; -1 when neither signature nor model says
  bool reject_missing = false;  // null/NaN rejected in every column (--reject-missing)
  std::unordered_map<std::string, int> index;  // column name → position

  int Find(std::string_view name) const;
  std::string ColumnName(int64_t i) const;  // the signature name, or "column i"
};

// Builds the schema from the MLmodel signature (`signature_inputs` JSON, may be empty) and the
// runtime's inputs. A column signature whose width disagrees with the model is a load error.
Result<InputSchema> BuildInputSchema(const std::string& signature_inputs,
                                     const std::vector<TensorSpec>& model_inputs);

}  // namespace studio::serving
