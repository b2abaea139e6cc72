#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "api/http.h"
#include "api/router.h"
#include "auth/identity.h"
#include "auth/login_limiter.h"
#include "common/config.h"

namespace studio::api {

bool IsSaneRequestId(const std::string& id);

// Everything a request must pass before its handler runs: allowed Host, authentication,
// the route's permission, CSRF (Origin) for cookie sessions, JSON content type and body.
class RequestGuard {
 public:
  explicit RequestGuard(const Config& config);

  // DNS rebinding defence: the Host header must name this server.
  Status CheckHost(const std::string& host_header) const;

  // Fills ctx.principal / auth_method and, for routes with a body, parses it into `body`.
  Status Admit(const Route& route, const HttpRequest& req, auth::Identity& identity,
               auth::LoginLimiter& limiter, RequestContext& ctx, nlohmann::json* body) const;

 private:
  Status Authenticate(const HttpRequest& req, auth::Identity& identity, auth::LoginLimiter& limiter,
                      RequestContext& ctx) const;
  Status CheckOrigin(const HttpRequest& req) const;
  Status ParseBody(const Route& route, const HttpRequest& req, nlohmann::json* body) const;

  std::vector<std::string> allowed_hosts_;  // empty: any
};

std::string SessionCookie(const HttpRequest& req);

}  // namespace studio::api
