#pragma once

#include <string>
#include <vector>

namespace studio::pipelines::internal {

enum class ParamType {
  kString,
  kSource,  // a path, an https:// URL (allow-listed at run time) or an s3:// URI
  kInt,
  kNumber,
  kBool,
  kEnum,
  kStringList,
  kStringMap,
  kFeatureList,  // [{name, expr}]
};

struct ParamSpec {
  std::string name;
  ParamType type;
  bool required = false;
  std::vector<std::string> values;  // kEnum; kStringMap: allowed values when non-empty
  double min = 0, max = 0;          // kInt/kNumber (inclusive); kStringList: max items
  std::string doc;
};

// The parameters (`with`) each stage type takes; nullptr for an unknown type.
const std::vector<ParamSpec>* ParamsFor(const std::string& type);
const char* ParamTypeName(ParamType type);

}  // namespace studio::pipelines::internal
