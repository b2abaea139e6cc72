#include "auth/identity.h"

#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "auth/password.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "store/users_repo.h"

namespace studio::auth {
namespace {

constexpr const char* kTokenPrefix = "stu_";
const Status kBadCredentials(ErrorCode::kUnauthenticated, "invalid username or password");

audit::Entry Event(const Actor& actor, std::string action, std::string type, std::string id,
                   const nlohmann::json& details) {
  return audit::Entry{actor.username, std::move(action), std::move(type),
                      std::move(id),  actor.request_id,  details.dump()};
}

std::vector<std::string> RoleNames(const std::vector<Role>& roles) {
  std::vector<std::string> out;
  for (Role r : roles) out.emplace_back(RoleName(r));
  return out;
}

}  // namespace

Status ValidateUsername(const std::string& u) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("invalid username: " + why).WithDetail("username", why);
  };
  if (u.empty() || u.size() > 64) return bad("must be 1-64 characters");
  if (!std::isalnum(static_cast<unsigned char>(u[0])))
    return bad("must start with a letter or digit");
  for (char c : u) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return bad("may contain only letters, digits, '.', '_' and '-'");
  }
  return Status::Ok();
}

Status ValidatePassword(const std::string& p) {
  if (p.size() < 8 || p.size() > 1024)
    return InvalidArgument("password must be 8-1024 bytes")
        .WithDetail("password", "must be 8-1024 bytes");
  return Status::Ok();
}

Principal ToPrincipal(const store::UserRecord& user) {
  Principal p;
  p.authenticated = true;
  p.user_id = user.id;
  p.username = user.username;
  for (const auto& name : user.roles) {
    Role r;
    if (ParseRole(name, &r)) p.roles.push_back(r);
  }
  return p;
}

Result<store::UserRecord> Identity::CreateUser(const Actor& actor, const std::string& username,
                                               const std::string& password,
                                               const std::vector<std::string>& role_names) {
  RETURN_IF_ERROR(ValidateUsername(username));
  RETURN_IF_ERROR(ValidatePassword(password));
  ASSIGN_OR_RETURN(std::vector<Role> roles, ParseRoles(role_names));
  store::UserRecord u;
  u.id = NewUuidV7();
  u.username = username;
  ASSIGN_OR_RETURN(u.password_hash, HashPassword(password));  // outside the write lock
  u.roles = RoleNames(roles);
  u.created_at = u.updated_at = NowMillis();
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::Users(tx).Insert(u));
    return audit::Append(tx, Event(actor, "user.create", "user", u.id,
                                   {{"username", u.username}, {"roles", u.roles}}));
  }));
  return u;
}

Status Identity::BootstrapAdmin(const Actor& actor, const std::string& username,
                                const std::string& password) {
  RETURN_IF_ERROR(ValidateUsername(username));
  RETURN_IF_ERROR(ValidatePassword(password));
  store::UserRecord u;
  u.id = NewUuidV7();
  u.username = username;
  ASSIGN_OR_RETURN(u.password_hash, HashPassword(password));
  u.roles = {"admin"};
  u.created_at = u.updated_at = NowMillis();
  return store_.Write([&](store::Tx& tx) -> Status {
    store::Users users(tx);
    ASSIGN_OR_RETURN(int64_t admins, users.CountWithRole("admin"));
    if (admins > 0) return Status(ErrorCode::kResourceConflict, "an admin already exists");
    RETURN_IF_ERROR(users.Insert(u));
    return audit::Append(tx, Event(actor, "user.bootstrap_admin", "user", u.id,
                                   {{"username", u.username}, {"roles", u.roles}}));
  });
}

Result<store::UserRecord> Identity::GetUser(const std::string& key) {
  Result<store::UserRecord> out = NotFound("user '" + key + "' does not exist");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::Users users(tx);
    out = users.GetById(key);
    if (!out.ok()) out = users.GetByUsername(key);
    return Status::Ok();
  }));
  return out;
}

Result<store::UserRecord> Identity::UpdateUser(const Actor& actor, const std::string& key,
                                               const std::optional<std::vector<std::string>>& roles,
                                               std::optional<bool> disabled,
                                               const std::optional<std::string>& password) {
  std::vector<std::string> role_names;
  if (roles) {
    ASSIGN_OR_RETURN(std::vector<Role> parsed, ParseRoles(*roles));
    role_names = RoleNames(parsed);
  }
  std::string hash;
  if (password) {
    RETURN_IF_ERROR(ValidatePassword(*password));
    ASSIGN_OR_RETURN(hash, HashPassword(*password));
  }
  ASSIGN_OR_RETURN(store::UserRecord existing, GetUser(key));
  int64_t now = NowMillis();
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Users users(tx);
    nlohmann::json details = {{"username", existing.username}};
    if (roles) {
      RETURN_IF_ERROR(users.SetRoles(existing.id, role_names, now));
      details["roles"] = role_names;
      details["previous_roles"] = existing.roles;
    }
    if (disabled) {
      RETURN_IF_ERROR(users.SetDisabled(existing.id, *disabled, now));
      details["disabled"] = *disabled;
      // A disabled user's sessions end now, not at their expiry.
      if (*disabled) RETURN_IF_ERROR(store::Sessions(tx).DeleteForUser(existing.id));
    }
    if (password) {
      RETURN_IF_ERROR(users.SetPassword(existing.id, hash, now));
      details["password_changed"] = true;
    }
    return audit::Append(tx, Event(actor, "user.update", "user", existing.id, details));
  }));
  ForgetCredentials();
  return GetUser(existing.id);
}

Result<store::UserRecord> Identity::CheckPassword(LoginLimiter& limiter,
                                                  const std::string& username,
                                                  const std::string& password,
                                                  const std::string& client_ip) {
  int64_t now = NowMillis();
  if (limiter.Blocked(username, client_ip, now))
    return Status(ErrorCode::kRequestLimitExceeded,
                  "too many failed logins; try again in a minute");
  Result<store::UserRecord> user = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    user = store::Users(tx).GetByUsername(username);
    return Status::Ok();
  }));
  bool ok;
  if (user.ok()) {
    ok = VerifyPassword(password, user->password_hash) && !user->disabled;
  } else {
    BurnVerification(password);  // same cost whether or not the user exists
    ok = false;
  }
  if (!ok) {
    limiter.RecordFailure(username, client_ip, now);
    return kBadCredentials;
  }
  return user;
}

Result<Identity::LoginResult> Identity::Login(LoginLimiter& limiter, const std::string& username,
                                              const std::string& password,
                                              const std::string& client_ip,
                                              const std::string& request_id) {
  ASSIGN_OR_RETURN(store::UserRecord user, CheckPassword(limiter, username, password, client_ip));
  LoginResult out;
  out.user = user;
  out.session_token = crypto::RandomToken(32);
  int64_t now = NowMillis();
  out.expires_at = now + kSessionTtlMs;
  store::SessionRecord s{crypto::Sha256Hex(out.session_token), user.id, now, out.expires_at};
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::Sessions sessions(tx);
    RETURN_IF_ERROR(sessions.DeleteExpired(now));
    RETURN_IF_ERROR(sessions.Insert(s));
    return audit::Append(tx, Event({user.username, request_id}, "auth.login", "user", user.id,
                                   {{"client_ip", client_ip}}));
  }));
  return out;
}

Status Identity::Logout(const Actor& actor, const std::string& session_token) {
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::Sessions(tx).Delete(crypto::Sha256Hex(session_token)));
    return audit::Append(
        tx, Event(actor, "auth.logout", "user", actor.username, nlohmann::json::object()));
  });
  ForgetCredentials();  // after the commit, so no reader re-caches the old state
  return st;
}

Result<Identity::IssuedToken> Identity::IssueToken(const Actor& actor, const Principal& owner,
                                                   const std::string& name, int expires_in_days) {
  if (name.empty() || name.size() > 128)
    return InvalidArgument("token name must be 1-128 characters")
        .WithDetail("name", "must be 1-128 characters");
  if (expires_in_days < 0 || expires_in_days > 3650)
    return InvalidArgument("expires_in_days must be 0-3650")
        .WithDetail("expires_in_days", "must be 0 (never) to 3650");
  IssuedToken out;
  out.secret = kTokenPrefix + crypto::RandomToken(32);
  auto& r = out.record;
  r.id = NewUuidV7();
  r.user_id = owner.user_id;
  r.name = name;
  r.token_hash = crypto::Sha256Hex(out.secret);
  r.prefix = out.secret.substr(0, 12);
  r.created_at = NowMillis();
  r.expires_at = expires_in_days > 0 ? r.created_at + expires_in_days * 86'400'000LL : 0;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::ApiTokens(tx).Insert(r));
    return audit::Append(
        tx, Event(actor, "token.create", "api_token", r.id,
                  {{"name", r.name}, {"prefix", r.prefix}, {"owner", owner.username}}));
  }));
  return out;
}

Result<std::vector<store::ApiTokenRecord>> Identity::ListTokens(const Principal& owner) {
  Result<std::vector<store::ApiTokenRecord>> out = std::vector<store::ApiTokenRecord>{};
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    out = store::ApiTokens(tx).ListForUser(owner.user_id);
    return Status::Ok();
  }));
  return out;
}

Status Identity::RevokeToken(const Actor& actor, const Principal& owner, const std::string& id) {
  Status st = store_.Write([&](store::Tx& tx) -> Status {
    RETURN_IF_ERROR(store::ApiTokens(tx).Revoke(owner.user_id, id, NowMillis()));
    return audit::Append(tx,
                         Event(actor, "token.revoke", "api_token", id, nlohmann::json::object()));
  });
  ForgetCredentials();  // after the commit, so no reader re-caches the old state
  return st;
}

Result<Principal> Identity::PrincipalFor(const std::string& user_id) {
  Result<store::UserRecord> user = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    user = store::Users(tx).GetById(user_id);
    return Status::Ok();
  }));
  if (!user.ok() || user->disabled)
    return Status(ErrorCode::kUnauthenticated, "the user is unknown or disabled");
  return ToPrincipal(*user);
}

Result<Principal> Identity::AuthenticateBearer(const std::string& token) {
  const Status invalid(ErrorCode::kUnauthenticated, "invalid, expired or revoked API token");
  if (token.rfind(kTokenPrefix, 0) != 0 || token.size() > 256) return invalid;
  const std::string key = "t:" + crypto::Sha256Hex(token);
  if (Principal cached; CachedLookup(key, &cached)) return cached;
  Result<store::ApiTokenRecord> rec = NotFound("");
  Result<store::UserRecord> user = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    rec = store::ApiTokens(tx).GetByHash(crypto::Sha256Hex(token));
    if (rec.ok()) user = store::Users(tx).GetById(rec->user_id);
    return Status::Ok();
  }));
  int64_t now = NowMillis();
  if (!rec.ok() || rec->revoked_at != 0 || (rec->expires_at != 0 && rec->expires_at <= now))
    return invalid;
  if (!user.ok() || user->disabled) return invalid;
  // Record use at most once a minute: a write per request would serialize reads on SQLite.
  if (now - rec->last_used_at > 60'000) {
    std::string id = rec->id;
    Status touched =
        store_.Write([&](store::Tx& tx) { return store::ApiTokens(tx).Touch(id, now); });
    (void)touched;  // best effort: failing to note the time must not fail the request
  }
  Principal p = ToPrincipal(*user);
  Remember(key, p, rec->expires_at);
  return p;
}

Result<Principal> Identity::AuthenticateSession(const std::string& session_token) {
  const Status invalid(ErrorCode::kUnauthenticated, "session expired or invalid; log in again");
  if (session_token.empty() || session_token.size() > 256) return invalid;
  const std::string key = "s:" + crypto::Sha256Hex(session_token);
  if (Principal cached; CachedLookup(key, &cached)) return cached;
  Result<store::SessionRecord> s = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    s = store::Sessions(tx).GetByHash(crypto::Sha256Hex(session_token));
    return Status::Ok();
  }));
  if (!s.ok() || s->expires_at <= NowMillis()) return invalid;
  Result<Principal> p = PrincipalFor(s->user_id);
  if (!p.ok()) return invalid;
  Remember(key, *p, s->expires_at);
  return p;
}

bool Identity::CachedLookup(const std::string& key, Principal* out) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  if (it->second.expires_at <= NowMillis()) {
    cache_.erase(it);
    return false;
  }
  *out = it->second.principal;
  return true;
}

void Identity::Remember(const std::string& key, const Principal& p, int64_t credential_expiry) {
  int64_t until = NowMillis() + kCredentialCacheMs;
  if (credential_expiry != 0 && credential_expiry < until) until = credential_expiry;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_.size() >= 10'000) cache_.clear();  // bound memory; entries live a second anyway
  cache_[key] = {p, until};
}

void Identity::ForgetCredentials() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.clear();
}

Result<Principal> Identity::AuthenticateBasic(LoginLimiter& limiter, const std::string& username,
                                              const std::string& password,
                                              const std::string& client_ip) {
  ASSIGN_OR_RETURN(store::UserRecord user, CheckPassword(limiter, username, password, client_ip));
  return ToPrincipal(user);
}

}  // namespace studio::auth
