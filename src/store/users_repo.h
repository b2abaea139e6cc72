#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"
#include "store/records.h"

namespace studio::store {

class Users {
 public:
  explicit Users(Tx& tx) : tx_(tx) {}
  Status Insert(const UserRecord& user);  // ALREADY_EXISTS when the username is taken
  Result<UserRecord> GetById(const std::string& id);
  Result<UserRecord> GetByUsername(const std::string& username);
  // Ordered by username; `after` is the last username of the previous page.
  Result<std::vector<UserRecord>> List(const std::string& after, int limit);
  Status SetRoles(const std::string& user_id, const std::vector<std::string>& roles, int64_t now);
  Status SetDisabled(const std::string& user_id, bool disabled, int64_t now);
  Status SetPassword(const std::string& user_id, const std::string& hash, int64_t now);
  Result<int64_t> CountWithRole(const std::string& role);

 private:
  Result<UserRecord> GetWhere(const char* column, const std::string& value);
  Result<std::vector<std::string>> RolesOf(const std::string& user_id);
  Tx& tx_;
};

class ApiTokens {
 public:
  explicit ApiTokens(Tx& tx) : tx_(tx) {}
  Status Insert(const ApiTokenRecord& token);
  Result<ApiTokenRecord> GetByHash(const std::string& token_hash);
  Result<std::vector<ApiTokenRecord>> ListForUser(const std::string& user_id);
  // NOT_FOUND unless `id` is an active token of `user_id`.
  Status Revoke(const std::string& user_id, const std::string& id, int64_t now);
  Status Touch(const std::string& id, int64_t now);

 private:
  Tx& tx_;
};

class Sessions {
 public:
  explicit Sessions(Tx& tx) : tx_(tx) {}
  Status Insert(const SessionRecord& session);
  Result<SessionRecord> GetByHash(const std::string& token_hash);
  Status Delete(const std::string& token_hash);
  Status DeleteExpired(int64_t now);
  Status DeleteForUser(const std::string& user_id);

 private:
  Tx& tx_;
};

}  // namespace studio::store
