#pragma once

#include <nlohmann/json.hpp>

#include "store/records.h"

namespace studio::api {

// Wire shapes of the native API (snake_case, RFC 3339 timestamps, ids as strings).
nlohmann::json ToJson(const store::UserRecord& u);
nlohmann::json ToJson(const store::ApiTokenRecord& t);
nlohmann::json ToJson(const store::ProjectRecord& p);
nlohmann::json ToJson(const store::AuditEventRecord& e);

}  // namespace studio::api
