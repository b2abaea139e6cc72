#include "store/users_repo.h"

#include <soci/soci.h>

#include "store/internal/dialect.h"

namespace studio::store {

Status Users::Insert(const UserRecord& u) {
  auto& s = tx_.session();
  int disabled = u.disabled ? 1 : 0;
  long long created = u.created_at, updated = u.updated_at;
  try {
    s << "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at) "
         "VALUES (:id, :username, :hash, :disabled, :created, :updated)",
        soci::use(u.id), soci::use(u.username), soci::use(u.password_hash), soci::use(disabled),
        soci::use(created), soci::use(updated);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kAlreadyExists, "user '" + u.username + "' already exists");
    throw;
  }
  return SetRoles(u.id, u.roles, u.created_at);
}

Result<std::vector<std::string>> Users::RolesOf(const std::string& user_id) {
  std::vector<std::string> roles;
  std::string role;
  soci::statement st = (tx_.session().prepare << "SELECT role FROM role_bindings WHERE user_id = "
                                                 ":id ORDER BY role",
                        soci::use(user_id), soci::into(role));
  st.execute();
  while (st.fetch()) roles.push_back(role);
  return roles;
}

Result<UserRecord> Users::GetWhere(const char* column, const std::string& value) {
  UserRecord u;
  int disabled = 0;
  long long created = 0, updated = 0;
  tx_.session() << std::string(
                       "SELECT id, username, password_hash, disabled, created_at, "
                       "updated_at FROM users WHERE ") +
                       column + " = :v",
      soci::use(value), soci::into(u.id), soci::into(u.username), soci::into(u.password_hash),
      soci::into(disabled), soci::into(created), soci::into(updated);
  if (!tx_.session().got_data()) return NotFound("user '" + value + "' does not exist");
  u.disabled = disabled != 0;
  u.created_at = created;
  u.updated_at = updated;
  ASSIGN_OR_RETURN(u.roles, RolesOf(u.id));
  return u;
}

Result<UserRecord> Users::GetById(const std::string& id) { return GetWhere("id", id); }
Result<UserRecord> Users::GetByUsername(const std::string& username) {
  return GetWhere("username", username);
}

Result<std::vector<UserRecord>> Users::List(const std::string& after, int limit) {
  std::vector<std::string> ids;
  std::string id;
  soci::statement st =
      (tx_.session().prepare << "SELECT id FROM users WHERE username > :after ORDER BY username "
                                "LIMIT :lim",
       soci::use(after), soci::use(limit), soci::into(id));
  st.execute();
  while (st.fetch()) ids.push_back(id);
  std::vector<UserRecord> out;
  for (const auto& uid : ids) {
    ASSIGN_OR_RETURN(UserRecord u, GetById(uid));
    out.push_back(std::move(u));
  }
  return out;
}

Status Users::SetRoles(const std::string& user_id, const std::vector<std::string>& roles,
                       int64_t now) {
  auto& s = tx_.session();
  s << "DELETE FROM role_bindings WHERE user_id = :id", soci::use(user_id);
  long long ts = now;
  for (const auto& role : roles) {
    s << "INSERT INTO role_bindings (user_id, role, created_at) VALUES (:id, :role, :ts)",
        soci::use(user_id), soci::use(role), soci::use(ts);
  }
  s << "UPDATE users SET updated_at = :ts WHERE id = :id", soci::use(ts), soci::use(user_id);
  return Status::Ok();
}

Status Users::SetDisabled(const std::string& user_id, bool disabled, int64_t now) {
  int d = disabled ? 1 : 0;
  long long ts = now;
  tx_.session() << "UPDATE users SET disabled = :d, updated_at = :ts WHERE id = :id", soci::use(d),
      soci::use(ts), soci::use(user_id);
  return Status::Ok();
}

Status Users::SetPassword(const std::string& user_id, const std::string& hash, int64_t now) {
  long long ts = now;
  tx_.session() << "UPDATE users SET password_hash = :h, updated_at = :ts WHERE id = :id",
      soci::use(hash), soci::use(ts), soci::use(user_id);
  return Status::Ok();
}

Result<int64_t> Users::CountWithRole(const std::string& role) {
  long long n = 0;
  tx_.session() << "SELECT COUNT(*) FROM role_bindings r JOIN users u ON u.id = r.user_id "
                   "WHERE r.role = :role AND u.disabled = 0",
      soci::use(role), soci::into(n);
  return static_cast<int64_t>(n);
}

// --- API tokens -------------------------------------------------------------------------

namespace {
constexpr const char* kTokenColumns =
    "id, user_id, name, token_hash, prefix, created_at, expires_at, last_used_at, revoked_at";

struct TokenRow {
  ApiTokenRecord r;
  long long created = 0, expires = 0, used = 0, revoked = 0;
  ApiTokenRecord Get() {
    r.created_at = created;
    r.expires_at = expires;
    r.last_used_at = used;
    r.revoked_at = revoked;
    return r;
  }
};

#define STUDIO_TOKEN_INTO(row)                                                         \
  soci::into(row.r.id), soci::into(row.r.user_id), soci::into(row.r.name),             \
      soci::into(row.r.token_hash), soci::into(row.r.prefix), soci::into(row.created), \
      soci::into(row.expires), soci::into(row.used), soci::into(row.revoked)
}  // namespace

Status ApiTokens::Insert(const ApiTokenRecord& t) {
  long long created = t.created_at, expires = t.expires_at;
  tx_.session() << "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, "
                   "expires_at) VALUES (:id, :uid, :name, :hash, :prefix, :created, :expires)",
      soci::use(t.id), soci::use(t.user_id), soci::use(t.name), soci::use(t.token_hash),
      soci::use(t.prefix), soci::use(created), soci::use(expires);
  return Status::Ok();
}

Result<ApiTokenRecord> ApiTokens::GetByHash(const std::string& token_hash) {
  TokenRow row;
  tx_.session() << std::string("SELECT ") + kTokenColumns +
                       " FROM api_tokens WHERE token_hash = :h",
      soci::use(token_hash), STUDIO_TOKEN_INTO(row);
  if (!tx_.session().got_data()) return NotFound("token does not exist");
  return row.Get();
}

Result<std::vector<ApiTokenRecord>> ApiTokens::ListForUser(const std::string& user_id) {
  TokenRow row;
  std::vector<ApiTokenRecord> out;
  soci::statement st = (tx_.session().prepare << std::string("SELECT ") + kTokenColumns +
                                                     " FROM api_tokens WHERE user_id = :uid AND "
                                                     "revoked_at = 0 ORDER BY created_at, id",
                        soci::use(user_id), STUDIO_TOKEN_INTO(row));
  st.execute();
  while (st.fetch()) out.push_back(row.Get());
  return out;
}

Status ApiTokens::Revoke(const std::string& user_id, const std::string& id, int64_t now) {
  long long ts = now;
  soci::statement st = (tx_.session().prepare << "UPDATE api_tokens SET revoked_at = :ts WHERE "
                                                 "id = :id AND user_id = :uid AND revoked_at = 0",
                        soci::use(ts), soci::use(id), soci::use(user_id));
  st.execute(true);
  if (st.get_affected_rows() == 0) return NotFound("token '" + id + "' does not exist");
  return Status::Ok();
}

Status ApiTokens::Touch(const std::string& id, int64_t now) {
  long long ts = now;
  tx_.session() << "UPDATE api_tokens SET last_used_at = :ts WHERE id = :id", soci::use(ts),
      soci::use(id);
  return Status::Ok();
}

// --- Sessions ---------------------------------------------------------------------------

Status Sessions::Insert(const SessionRecord& r) {
  long long created = r.created_at, expires = r.expires_at;
  tx_.session() << "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES "
                   "(:h, :uid, :c, :e)",
      soci::use(r.token_hash), soci::use(r.user_id), soci::use(created), soci::use(expires);
  return Status::Ok();
}

Result<SessionRecord> Sessions::GetByHash(const std::string& token_hash) {
  SessionRecord r;
  long long created = 0, expires = 0;
  tx_.session() << "SELECT token_hash, user_id, created_at, expires_at FROM sessions WHERE "
                   "token_hash = :h",
      soci::use(token_hash), soci::into(r.token_hash), soci::into(r.user_id), soci::into(created),
      soci::into(expires);
  if (!tx_.session().got_data()) return NotFound("session does not exist");
  r.created_at = created;
  r.expires_at = expires;
  return r;
}

Status Sessions::Delete(const std::string& token_hash) {
  tx_.session() << "DELETE FROM sessions WHERE token_hash = :h", soci::use(token_hash);
  return Status::Ok();
}

Status Sessions::DeleteExpired(int64_t now) {
  long long ts = now;
  tx_.session() << "DELETE FROM sessions WHERE expires_at < :ts", soci::use(ts);
  return Status::Ok();
}

Status Sessions::DeleteForUser(const std::string& user_id) {
  tx_.session() << "DELETE FROM sessions WHERE user_id = :uid", soci::use(user_id);
  return Status::Ok();
}

}  // namespace studio::store
