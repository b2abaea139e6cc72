#pragma once

namespace studio {
inline constexpr const char* kStudioVersion = "0.1.0";
}  // namespace studio
