#pragma once

#include <string>

#include "common/status.h"

namespace studio::monitors {

// Webhook signing secrets at rest: AES-256-GCM (DESIGN.md §5) under a 32-byte key kept in
// `<data_dir>/secrets/monitoring.key` (created 0600 on first use). Sealed text is
// "v1:" + base64(12-byte nonce || ciphertext || 16-byte tag); the rule id is the AAD, so a
// sealed secret copied onto another rule does not open.
class SecretBox {
 public:
  static Result<SecretBox> Open(const std::string& data_dir);
  explicit SecretBox(std::string key) : key_(std::move(key)) {}

  Result<std::string> Seal(const std::string& plaintext, const std::string& aad) const;
  Result<std::string> Unseal(const std::string& sealed, const std::string& aad) const;

 private:
  std::string key_;
};

}  // namespace studio::monitors
