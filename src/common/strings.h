#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace studio {

// Appends `s` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string& out, std::string_view s);
// Shortest round-trip decimal of `v` as a JSON number; NaN and ±inf (which JSON cannot carry)
// become null.
void AppendJsonNumber(std::string& out, double v);
std::vector<std::string> SplitAndTrim(std::string_view s, char sep);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string ToLower(std::string_view s);
// Decodes %XX escapes once; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view s);

}  // namespace studio
