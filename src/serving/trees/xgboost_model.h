#pragma once

// Reads XGBoost 1.x model files (Booster.save_model: JSON "x.json" or UBJSON "x.ubj") into the
// native engine's description. Supported boosters: gbtree and dart (weight_drop applied to the
// leaves); gblinear and categorical splits are load errors naming what is unsupported.

#include <string>
#include <string_view>

#include "common/status.h"
#include "serving/trees/tree_ensemble.h"

namespace studio::serving::trees {

struct XgboostModelInfo {
  std::string objective;  // e.g. "binary:logistic"
  std::string booster;    // "gbtree", "dart", "gblinear"
  int32_t num_feature = 0;
  int32_t num_class = 0;  // 0 for single-output objectives
  float base_score = 0;   // as stored (probability space for logistic objectives)
  // Output columns per row: num_class for multi:softprob, else 1.
  int32_t num_outputs = 1;
  size_t num_trees = 0;
};

// Reads just enough of the model to describe it (objective, booster, shape); never fails on
// an unsupported booster, so callers can still route the model to libxgboost.
Result<XgboostModelInfo> ReadXgboostModelInfo(std::string_view bytes);

// `bytes` is the file's content; UBJSON is recognised by its first byte ('{' followed by a
// length marker) — a JSON document starts with '{' and then whitespace or '"'.
Result<EnsembleDef> ParseXgboostModel(std::string_view bytes, XgboostModelInfo* info = nullptr);

// Reads the file and parses it; errors name the path.
Result<EnsembleDef> LoadXgboostModelFile(const std::string& path, XgboostModelInfo* info = nullptr);

Result<std::string> ReadWholeFile(const std::string& path);

}  // namespace studio::serving::trees
