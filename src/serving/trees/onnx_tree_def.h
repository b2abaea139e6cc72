#pragma once

// ONNX ai.onnx.ml TreeEnsembleRegressor / TreeEnsembleClassifier attributes → the native
// engine. Kept apart from the ONNX kernel so it can be tested without the ONNX runtime.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "serving/trees/tree_ensemble.h"

namespace studio::serving::trees {

// Attribute values as the operator carries them. Where an attribute has an `_as_tensor`
// variant (opset 3) the caller fills the double vector from whichever is present.
struct OnnxTreeAttributes {
  std::vector<int64_t> nodes_treeids, nodes_nodeids, nodes_featureids;
  std::vector<std::string> nodes_modes;
  std::vector<double> nodes_values;
  std::vector<int64_t> nodes_truenodeids, nodes_falsenodeids;
  std::vector<int64_t> nodes_missing_value_tracks_true;  // may be empty
  // Regressor: target_*; classifier: class_*.
  std::vector<int64_t> leaf_treeids, leaf_nodeids, leaf_ids;
  std::vector<double> leaf_weights;
  std::vector<double> base_values;
  std::string post_transform = "NONE";
  std::string aggregate_function = "SUM";  // regressor only
  int64_t n_targets = 1;                   // regressor only
  // Classifier: exactly one of these.
  std::vector<int64_t> classlabels_int64s;
  std::vector<std::string> classlabels_strings;
};

// Builds the engine description. `classifier` selects the classifier semantics; errors name the
// offending attribute.
Result<EnsembleDef> BuildOnnxEnsemble(const OnnxTreeAttributes& a, bool classifier);

}  // namespace studio::serving::trees
