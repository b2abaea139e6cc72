#include "pipelines/stages/internal/model_input.h"

#include <cmath>

#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {

Result<std::vector<std::string>> SignatureColumns(const StageContext& ctx, ControlPlane& cp,
                                                  std::string* model, std::string* version) {
  ASSIGN_OR_RETURN(const nlohmann::json* reg, UpstreamOf(ctx, "model-registry"));
  ASSIGN_OR_RETURN(*model, OutputString(*reg, "model-registry", "model_name"));
  ASSIGN_OR_RETURN(*version, OutputString(*reg, "model-registry", "version"));
  ASSIGN_OR_RETURN(nlohmann::json v, cp.Get("/api/v1/models/" + UrlEncode(*model) + "/versions/" +
                                            UrlEncode(*version)));
  std::vector<std::string> cols;
  if (!v.contains("signature") || !v["signature"].is_object()) return cols;
  const nlohmann::json& sig = v["signature"];
  if (!sig.contains("inputs") || !sig["inputs"].is_string()) return cols;
  auto inputs = nlohmann::json::parse(sig["inputs"].get<std::string>(), nullptr, false);
  if (!inputs.is_array()) return cols;
  for (const auto& c : inputs)
    if (c.is_object() && c.contains("name") && c["name"].is_string())
      cols.push_back(c["name"].get<std::string>());
  return cols;
}

Result<Table> LoadCurrentSplit(const StageContext& ctx, std::string* path) {
  ASSIGN_OR_RETURN(const nlohmann::json* prep, UpstreamOf(ctx, "data-preparation"));
  if (!prep->contains("current") || !(*prep)["current"].is_object())
    return InvalidArgument("the outputs of the 'data-preparation' stage have no 'current'");
  ASSIGN_OR_RETURN(*path, OutputString((*prep)["current"], "data-preparation", "path"));
  return LoadTable(*ctx.artifacts, *path);
}

Result<std::vector<size_t>> SelectColumns(const Table& t, const std::vector<std::string>& columns) {
  std::vector<size_t> out;
  if (columns.empty()) {
    for (size_t i = 0; i < t.columns.size(); ++i) out.push_back(i);
    return out;
  }
  for (const auto& c : columns) {
    int i = t.Find(c);
    if (i < 0)
      return InvalidArgument("the prepared data has no column '" + c +
                             "', an input of the model's signature");
    out.push_back(static_cast<size_t>(i));
  }
  return out;
}

nlohmann::json RowJson(const std::vector<std::string>& row, const std::vector<size_t>& cols) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t c : cols) {
    const std::string& f = row[c];
    double d;
    if (IsMissing(f))
      out.push_back(nullptr);
    else if (ParseFloat(f, &d) && std::isfinite(d))
      out.push_back(d);
    else
      out.push_back(f);
  }
  return out;
}

}  // namespace studio::pipelines::stages::internal
