#include "auth/password.h"

#include <argon2.h>

#include "common/crypto.h"

namespace studio::auth {
namespace {
constexpr uint32_t kTimeCost = 2;
constexpr uint32_t kMemoryKiB = 19 * 1024;
constexpr uint32_t kParallelism = 1;
constexpr size_t kHashLen = 32;
constexpr size_t kSaltLen = 16;
}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  std::string salt = crypto::RandomBytes(kSaltLen);
  size_t len =
      argon2_encodedlen(kTimeCost, kMemoryKiB, kParallelism, kSaltLen, kHashLen, Argon2_id);
  std::string encoded(len, '\0');
  int rc =
      argon2id_hash_encoded(kTimeCost, kMemoryKiB, kParallelism, password.data(), password.size(),
                            salt.data(), salt.size(), kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Internal(std::string("argon2: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void BurnVerification(std::string_view password) {
  static const std::string kDummy = HashPassword("studio-dummy-password").value();
  (void)VerifyPassword(password, kDummy);
}

std::string GeneratePassword() { return crypto::RandomToken(24); }

}  // namespace studio::auth
