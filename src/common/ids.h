#pragma once

#include <string>

namespace studio {

// RFC 9562 UUIDv7: time-ordered, so ids sort by creation and index well.
std::string NewUuidV7();

}  // namespace studio
