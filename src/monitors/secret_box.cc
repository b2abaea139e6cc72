#include "monitors/secret_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "common/crypto.h"

namespace studio::monitors {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
constexpr size_t kNonce = 12, kTag = 16;
const unsigned char* U(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<SecretBox> SecretBox::Open(const std::string& data_dir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(data_dir) / "secrets";
  fs::path file = dir / "monitoring.key";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  // O_EXCL: of two processes starting at once, one creates the key and both read it.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    std::string key = crypto::RandomBytes(32);
    bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) return Internal("cannot write the monitoring secrets key");
  }
  std::ifstream in(file, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (key.size() != 32)
    return Internal("the monitoring secrets key " + file.string() + " is unreadable or damaged");
  return SecretBox(std::move(key));
}

Result<std::string> SecretBox::Seal(const std::string& plaintext, const std::string& aad) const {
  std::string nonce = crypto::RandomBytes(kNonce);
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + 16, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext), static_cast<int>(plaintext.size())) != 1)
    return Internal("encryption failed");
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), o + total, &len) != 1) return Internal("encryption failed");
  total += len;
  out.resize(total);
  std::string tag(kTag, '\0');
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag.data()) != 1)
    return Internal("encryption failed");
  return "v1:" + crypto::Base64Encode(nonce + out + tag);
}

Result<std::string> SecretBox::Unseal(const std::string& sealed, const std::string& aad) const {
  if (sealed.rfind("v1:", 0) != 0) return Internal("sealed secret has an unknown format");
  ASSIGN_OR_RETURN(std::string raw, crypto::Base64Decode(sealed.substr(3)));
  if (raw.size() < kNonce + kTag) return Internal("sealed secret is truncated");
  std::string nonce = raw.substr(0, kNonce);
  std::string tag = raw.substr(raw.size() - kTag);
  std::string ct = raw.substr(kNonce, raw.size() - kNonce - kTag);
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  std::string out(ct.size() + 16, '\0');
  int len = 0, total = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, U(ct), static_cast<int>(ct.size())) != 1)
    return Internal("decryption failed");
  total = len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + total, &len) != 1)
    return Internal("sealed secret does not authenticate (wrong key or tampered)");
  total += len;
  out.resize(total);
  return out;
}

}  // namespace studio::monitors
