// ReferenceProfile persistence: {"version":1,"rows":N,"columns":[{"name","kind","dropped",
// "values":[sorted doubles]} | {..., "categories":[[value,count],...]}]}.
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "monitoring/drift.h"

namespace studio::monitoring {

namespace {
void AppendString(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump();
}
}  // namespace

std::string ReferenceProfile::ToJson() const {
  std::string out = "{\"version\":1,\"rows\":" + std::to_string(rows) + ",\"columns\":[";
  char buf[32];
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnProfile& c = columns[i];
    if (i) out += ",";
    out += "{\"name\":";
    AppendString(out, c.name);
    out += ",\"kind\":";
    AppendString(out, ColumnKindName(c.kind));
    out += ",\"dropped\":" + std::to_string(c.dropped);
    if (c.kind == ColumnKind::kNumeric) {
      out += ",\"values\":[";
      for (size_t k = 0; k < c.sorted.size(); ++k) {
        if (k) out += ",";
        auto res = std::to_chars(buf, buf + sizeof buf, c.sorted[k]);  // shortest round trip
        out.append(buf, res.ptr);
      }
      out += "]";
    } else {
      out += ",\"categories\":[";
      for (size_t k = 0; k < c.categories.size(); ++k) {
        if (k) out += ",";
        out += "[";
        AppendString(out, c.categories[k].first);
        out += "," + std::to_string(c.categories[k].second) + "]";
      }
      out += "]";
    }
    out += "}";
  }
  out += "]}";
  return out;
}

Result<ReferenceProfile> ReferenceProfile::FromJson(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return InvalidArgument("reference profile: invalid JSON");
  if (doc.value("version", 0) != 1)
    return InvalidArgument("reference profile: unsupported version");
  ReferenceProfile p;
  try {
    p.rows = doc.value("rows", int64_t{0});
    const auto& cols = doc.at("columns");
    if (!cols.is_array()) return InvalidArgument("reference profile: columns must be an array");
    for (const auto& jc : cols) {
      ColumnProfile c;
      c.name = jc.at("name").get<std::string>();
      auto kind = ParseColumnKind(jc.at("kind").get<std::string>());
      if (!kind) return InvalidArgument("reference profile: bad kind for column '" + c.name + "'");
      c.kind = *kind;
      c.dropped = jc.value("dropped", int64_t{0});
      if (c.kind == ColumnKind::kNumeric) {
        const auto& vals = jc.at("values");
        c.sorted.reserve(vals.size());
        for (const auto& v : vals) {
          const double d = v.get<double>();
          if (!std::isfinite(d))
            return InvalidArgument("reference profile: non-finite value in '" + c.name + "'");
          if (!c.sorted.empty() && d < c.sorted.back()) {
            return InvalidArgument("reference profile: values of '" + c.name + "' are not sorted");
          }
          c.sorted.push_back(d);
        }
      } else {
        for (const auto& kv : jc.at("categories")) {
          const int64_t n = kv.at(1).get<int64_t>();
          if (n < 0)
            return InvalidArgument("reference profile: negative count in '" + c.name + "'");
          c.categories.emplace_back(kv.at(0).get<std::string>(), n);
        }
        std::sort(c.categories.begin(), c.categories.end());
      }
      p.columns.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("reference profile: ") + e.what());
  }
  return p;
}

}  // namespace studio::monitoring
