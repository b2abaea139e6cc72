#pragma once

// A small document model for XGBoost model files, read from JSON or UBJSON. Unlike a generic
// JSON DOM it keeps float32 values exact: JSON numbers are parsed straight to float (from the
// decimal text XGBoost wrote), UBJSON float32 ('d') values are kept bit for bit.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace studio::serving::trees::internal {

struct DomValue {
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;                // kInt (also set, truncated, for kFloat)
  float f32 = 0;                // kInt and kFloat: the value as float32 (correctly rounded)
  double f64 = 0;               // kInt and kFloat
  std::string str;              // kString
  std::vector<DomValue> items;  // kArray
  std::vector<std::pair<std::string, DomValue>> members;  // kObject

  bool is_number() const { return kind == Kind::kInt || kind == Kind::kFloat; }
  // Member lookup (objects only); nullptr when absent or not an object.
  const DomValue* Find(std::string_view key) const;
};

// Parses a JSON document (UTF-8 text).
Result<DomValue> ParseJson(std::string_view text);
// Parses a Universal Binary JSON document (as XGBoost's save_model("x.ubj") writes it:
// big-endian numbers, optimized containers with '$' type and '#' count).
Result<DomValue> ParseUbjson(std::string_view bytes);

}  // namespace studio::serving::trees::internal
