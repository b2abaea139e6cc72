#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace studio::crypto {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// `n` bytes from the OS CSPRNG (OpenSSL RAND_bytes).
std::string RandomBytes(size_t n);
// URL-safe random secret: base64url without padding of `n` random bytes.
std::string RandomToken(size_t n = 32);
// Compares in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string Base64Encode(std::string_view data);
std::string Base64UrlEncode(std::string_view data);       // no padding
Result<std::string> Base64Decode(std::string_view text);  // accepts std and url alphabets
std::string HexEncode(std::string_view data);

// Incremental SHA-256 for data that streams through (uploads, downloads).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(std::string_view data);
  std::string FinishHex();  // lowercase hex; the object is done afterwards

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};

}  // namespace studio::crypto
