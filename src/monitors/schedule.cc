#include "monitors/schedule.h"

#include <cctype>

namespace studio::monitors {

Result<int64_t> ParseSchedule(const std::string& text) {
  if (text.empty() || text == "manual") return int64_t{0};
  auto bad = [&](const std::string& why) {
    return InvalidArgument("schedule '" + text + "': " + why).WithDetail("schedule", why);
  };
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > kMaxIntervalSeconds) return bad("interval too long");
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0 || i + 1 != text.size())
    return bad("must be 'manual' or a number with a unit s, m, h or d (e.g. 15m, 1h)");
  int64_t unit = 0;
  switch (text[i]) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return bad("unit must be s, m, h or d");
  }
  int64_t secs = n * unit;
  if (secs < kMinIntervalSeconds)
    return bad("interval must be at least " + std::to_string(kMinIntervalSeconds) + "s");
  if (secs > kMaxIntervalSeconds) return bad("interval must be at most 366d");
  return secs;
}

}  // namespace studio::monitors
