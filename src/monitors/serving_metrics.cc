#include "monitors/serving_metrics.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

namespace studio::monitors {
namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// One exposition line: name{k="v",...} value [timestamp]. false for comments and garbage.
bool ParseLine(std::string_view line, Sample* out) {
  if (line.empty() || line[0] == '#') return false;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  out->name = std::string(line.substr(0, i));
  out->labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return false;
      std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      if (j >= line.size()) return false;
      out->labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return false;
    ++i;  // '}'
  }
  while (i < line.size() && line[i] == ' ') ++i;
  std::string num(line.substr(i, line.find(' ', i) - i));
  if (num == "+Inf") {
    out->value = std::numeric_limits<double>::infinity();
    return true;
  }
  char* end = nullptr;
  out->value = std::strtod(num.c_str(), &end);
  return !num.empty() && end && *end == '\0';
}

double ParseLe(const std::string& le) {
  if (le == "+Inf") return std::numeric_limits<double>::infinity();
  return std::strtod(le.c_str(), nullptr);
}

}  // namespace

Result<ServingStats> ParseServingMetrics(std::string_view text) {
  ServingStats st;
  std::map<double, double> buckets;  // le → cumulative count, summed over routes
  bool any = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Sample s;
    if (!ParseLine(line, &s)) continue;
    auto route = s.labels.find("route");
    if (route != s.labels.end() && route->second == "other") continue;  // health, metrics
    if (s.name == "studio_serving_requests_total") {
      any = true;
      auto n = static_cast<int64_t>(s.value);
      st.requests += n;
      auto code = s.labels.find("code");
      if (code != s.labels.end() && !code->second.empty() && code->second[0] == '5') st.errors += n;
    } else if (s.name == "studio_serving_request_duration_seconds_bucket") {
      any = true;
      auto le = s.labels.find("le");
      if (le != s.labels.end()) buckets[ParseLe(le->second)] += s.value;
    }
  }
  if (!any)
    return InvalidArgument(
        "the metrics page has no studio_serving_* series (is it a studio "
        "serve-model endpoint?)");
  if (st.requests > 0)
    st.error_rate = static_cast<double>(st.errors) / static_cast<double>(st.requests);
  if (!buckets.empty()) {
    double total = buckets.rbegin()->second;
    if (total > 0) {
      double rank = 0.99 * total;
      double prev_le = 0, prev_count = 0;
      for (const auto& [le, count] : buckets) {
        if (count >= rank) {
          if (std::isinf(le)) {
            st.p99_seconds = prev_le;  // PromQL: the highest finite bound
          } else if (count == prev_count) {
            st.p99_seconds = le;
          } else {
            st.p99_seconds = prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count);
          }
          break;
        }
        prev_le = le;
        prev_count = count;
      }
    }
  }
  return st;
}

}  // namespace studio::monitors
