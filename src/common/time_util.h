#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace studio {

// Milliseconds since the Unix epoch (UTC).
int64_t NowMillis();
// RFC 3339 UTC with milliseconds: 2026-11-26T07:40:00.123Z
std::string FormatRfc3339(int64_t epoch_ms);
// Accepts RFC 3339 with or without fraction, with Z or ±hh:mm offset.
Result<int64_t> ParseRfc3339(std::string_view text);

}  // namespace studio
