#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/login_limiter.h"
#include "auth/rbac.h"
#include "common/status.h"
#include "store/metadata_store.h"
#include "store/records.h"

namespace studio::auth {

// Who is acting, for the audit log.
struct Actor {
  std::string username;
  std::string request_id;
};

Status ValidateUsername(const std::string& username);
Status ValidatePassword(const std::string& password);

// Users, sessions and API tokens: every change writes its audit event in the same transaction.
class Identity {
 public:
  explicit Identity(store::MetadataStore& store) : store_(store) {}

  Result<store::UserRecord> CreateUser(const Actor& actor, const std::string& username,
                                       const std::string& password,
                                       const std::vector<std::string>& roles);
  // Creates the first admin; RESOURCE_CONFLICT when an enabled admin already exists.
  Status BootstrapAdmin(const Actor& actor, const std::string& username,
                        const std::string& password);
  Result<store::UserRecord> GetUser(const std::string& id_or_username);
  Result<store::UserRecord> UpdateUser(const Actor& actor, const std::string& id_or_username,
                                       const std::optional<std::vector<std::string>>& roles,
                                       std::optional<bool> disabled,
                                       const std::optional<std::string>& password);

  struct LoginResult {
    store::UserRecord user;
    std::string session_token;  // the cookie value; only its hash is stored
    int64_t expires_at = 0;
  };
  Result<LoginResult> Login(LoginLimiter& limiter, const std::string& username,
                            const std::string& password, const std::string& client_ip,
                            const std::string& request_id);
  Status Logout(const Actor& actor, const std::string& session_token);

  struct IssuedToken {
    store::ApiTokenRecord record;
    std::string secret;  // shown once
  };
  Result<IssuedToken> IssueToken(const Actor& actor, const Principal& owner,
                                 const std::string& name, int expires_in_days);
  Result<std::vector<store::ApiTokenRecord>> ListTokens(const Principal& owner);
  Status RevokeToken(const Actor& actor, const Principal& owner, const std::string& token_id);

  // UNAUTHENTICATED for anything unknown, expired, revoked or disabled.
  Result<Principal> AuthenticateBearer(const std::string& token);
  Result<Principal> AuthenticateSession(const std::string& session_token);
  Result<Principal> AuthenticateBasic(LoginLimiter& limiter, const std::string& username,
                                      const std::string& password, const std::string& client_ip);

  static constexpr int64_t kSessionTtlMs = 12LL * 3600 * 1000;
  // How long a verified credential is trusted without asking the store again. Changes made
  // through this process (revoke, logout, role change, disable) take effect at once; another
  // process sharing the database sees them within this window.
  static constexpr int64_t kCredentialCacheMs = 1000;

 private:
  struct CachedPrincipal {
    Principal principal;
    int64_t expires_at;
  };
  bool CachedLookup(const std::string& key, Principal* out);
  void Remember(const std::string& key, const Principal& p, int64_t credential_expiry);
  void ForgetCredentials();

  Result<Principal> PrincipalFor(const std::string& user_id);
  Result<store::UserRecord> CheckPassword(LoginLimiter& limiter, const std::string& username,
                                          const std::string& password,
                                          const std::string& client_ip);
  store::MetadataStore& store_;
  std::mutex cache_mu_;
  std::unordered_map<std::string, CachedPrincipal> cache_;  // "t:"/"s:" + credential hash
};

Principal ToPrincipal(const store::UserRecord& user);

}  // namespace studio::auth
