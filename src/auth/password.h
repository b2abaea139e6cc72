#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace studio::auth {

// argon2id with OWASP's minimum (19 MiB, t=2, p=1): ~30 ms here, and a PHC string that
// carries its own parameters, so they can be raised later without breaking old hashes.
Result<std::string> HashPassword(std::string_view password);
// Constant-time by construction (argon2's own comparison).
bool VerifyPassword(std::string_view password, const std::string& encoded);
// Spends the same time as a real verification; used when the user does not exist.
void BurnVerification(std::string_view password);
// 24 random bytes, base64url: for the one-time admin password.
std::string GeneratePassword();

}  // namespace studio::auth
