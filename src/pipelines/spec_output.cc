// What validation produces besides the checks: definition hashes, field diffs for locks, and
// problems in the API's and the terminal's shapes.
#include <set>

#include "common/crypto.h"
#include "pipelines/spec.h"

namespace studio::pipelines {

std::string DefinitionHash(const nlohmann::json& definition) {
  return crypto::Sha256Hex(definition.dump());
}

namespace {
void Diff(const std::string& path, const nlohmann::json& a, const nlohmann::json& b,
          std::vector<std::string>* out) {
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it) keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) keys.insert(it.key());
    for (const auto& k : keys) {
      std::string p = path.empty() ? k : path + "." + k;
      if (!a.contains(k) || !b.contains(k))
        out->push_back(p);
      else
        Diff(p, a[k], b[k], out);
    }
    return;
  }
  if (a != b) out->push_back(path);
}
}  // namespace

std::vector<std::string> ChangedFields(const nlohmann::json& before, const nlohmann::json& after) {
  std::vector<std::string> out;
  Diff("", before, after, &out);
  return out;
}

nlohmann::json ProblemsJson(const std::vector<Problem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems)
    out.push_back(
        {{"path", p.path}, {"line", p.line}, {"column", p.column}, {"message", p.message}});
  return out;
}

std::string FormatProblem(const std::string& file, const Problem& p) {
  std::string out = file;
  if (p.line > 0) out += ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
  out += ": ";
  if (!p.path.empty()) out += p.path + ": ";
  return out + p.message;
}

}  // namespace studio::pipelines
