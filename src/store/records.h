#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace studio::store {

// Rows as the store keeps them. Timestamps are epoch milliseconds; JSON columns are text.

struct UserRecord {
  std::string id;
  std::string username;
  std::string password_hash;  // argon2id encoded string
  std::vector<std::string> roles;
  bool disabled = false;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct ApiTokenRecord {
  std::string id;
  std::string user_id;
  std::string name;
  std::string token_hash;  // SHA-256 hex of the secret
  std::string prefix;      // first characters of the secret, to recognise it in lists
  int64_t created_at = 0;
  int64_t expires_at = 0;  // 0: never
  int64_t last_used_at = 0;
  int64_t revoked_at = 0;  // 0: active
};

struct SessionRecord {
  std::string token_hash;
  std::string user_id;
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

struct ProjectRecord {
  std::string id;
  std::string name;
  std::string description;
  std::string owner;
  std::string github_repo;
  std::string tags_json = "{}";
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct AuditEventRecord {
  int64_t seq = 0;
  std::string id;
  int64_t ts = 0;
  std::string actor;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  std::string request_id;
  std::string details_json = "{}";
  std::string prev_hash;
  std::string hash;
};

}  // namespace studio::store
