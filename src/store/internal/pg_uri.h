#pragma once

#include <string>

#include "common/status.h"

namespace studio::store {

// postgresql://user:pw@host:port/db?key=value → libpq key='value' conninfo. SOCI 4.0 rewrites
// connection strings it is handed and mangles URIs, so it gets the keyword form instead.
Result<std::string> PostgresUriToConninfo(const std::string& uri);

}  // namespace studio::store
