#include "serving/server/schema.h"

#include <nlohmann/json.hpp>

namespace studio::serving {

int InputSchema::Find(std::string_view name) const {
  auto it = index.find(std::string(name));
  return it == index.end() ? -1 : it->second;
}

std::string InputSchema::ColumnName(int64_t i) const {
  if (i >= 0 && i < static_cast<int64_t>(columns.size())) return columns[i].name;
  return "column " + std::to_string(i);
}

Result<InputSchema> BuildInputSchema(const std::string& signature_inputs,
                                     const std::vector<TensorSpec>& model_inputs) {
  InputSchema s;
  if (model_inputs.size() == 1 && model_inputs[0].shape.size() == 2 && model_inputs[0].shape[1] > 0)
    s.width = model_inputs[0].shape[1];
  if (signature_inputs.empty()) return s;
  auto spec = nlohmann::json::parse(signature_inputs, nullptr, false);
  if (spec.is_discarded() || !spec.is_array())
    return InvalidArgument("MLmodel signature.inputs is not a JSON array");
  for (const auto& col : spec) {
    std::string type = col.value("type", "");
    if (type == "tensor") return s;  // tensor signatures carry no column names
    if (!col.contains("name") || !col["name"].is_string()) return s;  // positional columns
    auto dtype = DTypeFromMlflowName(type);
    if (!dtype)
      return InvalidArgument("signature column '" + col["name"].get<std::string>() +
                             "' has type '" + type + "', which this server cannot feed a model");
    Column c;
    c.name = col["name"];
    c.type = *dtype;
    c.required = col.value("required", true);
    if (s.index.count(c.name)) return InvalidArgument("signature repeats column '" + c.name + "'");
    s.index[c.name] = static_cast<int>(s.columns.size());
    s.columns.push_back(std::move(c));
  }
  const int64_t n = static_cast<int64_t>(s.columns.size());
  if (s.width > 0 && s.width != n)
    return InvalidArgument("the signature names " + std::to_string(n) +
                           " input columns but the model takes " + std::to_string(s.width) +
                           " features");
  s.width = n;
  return s;
}

}  // namespace studio::serving
