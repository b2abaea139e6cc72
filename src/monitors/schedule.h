#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace studio::monitors {

// "manual" (or "") → 0; "<n>s|m|h|d" → seconds. Intervals below kMinIntervalSeconds are refused
// so a typo cannot turn the scheduler into a busy loop over the data.
constexpr int64_t kMinIntervalSeconds = 5;
constexpr int64_t kMaxIntervalSeconds = 366LL * 24 * 3600;
Result<int64_t> ParseSchedule(const std::string& text);

}  // namespace studio::monitors
