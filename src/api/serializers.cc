#include "api/serializers.h"

#include "audit/audit_log.h"
#include "auth/rbac.h"
#include "common/time_util.h"

namespace studio::api {
namespace {
nlohmann::json TimeOrNull(int64_t ms) {
  return ms ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json();
}
}  // namespace

nlohmann::json ToJson(const store::UserRecord& u) {
  std::vector<auth::Role> roles;
  for (const auto& name : u.roles) {
    auth::Role r;
    if (auth::ParseRole(name, &r)) roles.push_back(r);
  }
  return {{"id", u.id},
          {"username", u.username},
          {"roles", u.roles},
          {"permissions", auth::PermissionsOf(roles)},
          {"disabled", u.disabled},
          {"created_at", FormatRfc3339(u.created_at)},
          {"updated_at", FormatRfc3339(u.updated_at)}};
}

nlohmann::json ToJson(const store::ApiTokenRecord& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"prefix", t.prefix},
          {"created_at", FormatRfc3339(t.created_at)},
          {"expires_at", TimeOrNull(t.expires_at)},
          {"last_used_at", TimeOrNull(t.last_used_at)}};
}

nlohmann::json ToJson(const store::ProjectRecord& p) {
  nlohmann::json tags = nlohmann::json::parse(p.tags_json, nullptr, false);
  if (!tags.is_object()) tags = nlohmann::json::object();
  return {{"id", p.id},
          {"name", p.name},
          {"description", p.description},
          {"owner", p.owner},
          {"github_repo", p.github_repo},
          {"tags", tags},
          {"created_by", p.created_by},
          {"created_at", FormatRfc3339(p.created_at)},
          {"updated_at", FormatRfc3339(p.updated_at)}};
}

nlohmann::json ToJson(const store::AuditEventRecord& e) {
  // Exactly the bytes the hash covers, plus the two links: clients can re-verify what they get.
  nlohmann::json out = nlohmann::json::parse(audit::CanonicalJson(e));
  out["prev_hash"] = e.prev_hash;
  out["hash"] = e.hash;
  return out;
}

}  // namespace studio::api
