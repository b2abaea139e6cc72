#include "api/internal/request_guard.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/log.h"
#include "common/strings.h"

namespace studio::api {
namespace {

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

// "example.com:8080" → "example.com"; "[::1]:8080" → "[::1]".
std::string HostName(const std::string& host_port) {
  if (!host_port.empty() && host_port[0] == '[') {
    size_t end = host_port.find(']');
    return end == std::string::npos ? host_port : host_port.substr(0, end + 1);
  }
  size_t colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

bool IsStateChanging(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

}  // namespace

bool IsSaneRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

RequestGuard::RequestGuard(const Config& config) {
  if (!config.allowed_hosts.empty()) {
    for (const auto& h : config.allowed_hosts) {
      if (h == "*") {
        allowed_hosts_.clear();
        return;
      }
      allowed_hosts_.push_back(ToLower(h));
    }
  } else if (IsLoopback(config.host)) {
    allowed_hosts_ = {"localhost", "127.0.0.1", "[::1]"};
  } else {
    log::Warn(
        "serving on a non-loopback address without --allowed-hosts: any Host header is "
        "accepted; set --allowed-hosts to defend against DNS rebinding",
        {{"host", config.host}});
  }
}

Status RequestGuard::CheckHost(const std::string& host_header) const {
  if (allowed_hosts_.empty()) return Status::Ok();
  std::string name = ToLower(HostName(host_header));
  for (const auto& h : allowed_hosts_)
    if (name == h) return Status::Ok();
  return Status(ErrorCode::kBadRequest,
                "Host '" + host_header + "' is not allowed (see --allowed-hosts)");
}

std::string SessionCookie(const HttpRequest& req) {
  for (const std::string& part : SplitAndTrim(req.Header("cookie"), ';')) {
    if (part.rfind("studio_session=", 0) == 0) return part.substr(15);
  }
  return "";
}

Status RequestGuard::Authenticate(const HttpRequest& req, auth::Identity& identity,
                                  auth::LoginLimiter& limiter, RequestContext& ctx) const {
  std::string authz = req.Header("authorization");
  if (!authz.empty()) {
    std::string scheme = ToLower(authz.substr(0, authz.find(' ')));
    std::string value =
        authz.find(' ') == std::string::npos ? "" : authz.substr(authz.find(' ') + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (scheme == "bearer") {
      ASSIGN_OR_RETURN(ctx.principal, identity.AuthenticateBearer(value));
      ctx.auth_method = AuthMethod::kBearer;
      return Status::Ok();
    }
    if (scheme == "basic") {
      auto decoded = crypto::Base64Decode(value);
      size_t colon = decoded.ok() ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        return Status(ErrorCode::kUnauthenticated, "malformed Basic credentials");
      ASSIGN_OR_RETURN(ctx.principal,
                       identity.AuthenticateBasic(limiter, decoded->substr(0, colon),
                                                  decoded->substr(colon + 1), req.remote_addr));
      ctx.auth_method = AuthMethod::kBasic;
      return Status::Ok();
    }
    return Status(ErrorCode::kUnauthenticated,
                  "unsupported Authorization scheme (use Bearer or Basic)");
  }
  std::string cookie = SessionCookie(req);
  if (!cookie.empty()) {
    ASSIGN_OR_RETURN(ctx.principal, identity.AuthenticateSession(cookie));
    ctx.auth_method = AuthMethod::kSession;
    ctx.session_token = cookie;
    return Status::Ok();
  }
  return Status(ErrorCode::kUnauthenticated,
                "authentication required: send a Bearer token, Basic credentials or log in");
}

Status RequestGuard::CheckOrigin(const HttpRequest& req) const {
  // Browsers send Origin on every cross-site and same-site state-changing fetch; a session
  // request without one, or from another origin, is refused (CSRF).
  std::string origin = req.Header("origin");
  if (origin.empty()) {
    std::string referer = req.Header("referer");
    size_t scheme_end = referer.find("://");
    if (scheme_end != std::string::npos) {
      size_t path_start = referer.find('/', scheme_end + 3);
      origin = referer.substr(0, path_start);
    }
  }
  const Status refused(ErrorCode::kPermissionDenied,
                       "cross-site request refused: the Origin header must match the Host");
  if (origin.empty() || origin == "null") return refused;
  size_t scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return refused;
  if (ToLower(origin.substr(scheme_end + 3)) != ToLower(req.Header("host"))) return refused;
  return Status::Ok();
}

Status RequestGuard::ParseBody(const Route& route, const HttpRequest& req,
                               nlohmann::json* body) const {
  if (req.body.empty()) {
    if (route.takes_body && !route.request_schema.empty() && route.method != "DELETE")
      return Status(ErrorCode::kBadRequest, "a JSON request body is required");
    *body = nlohmann::json::object();
    return Status::Ok();
  }
  std::string type = ToLower(req.Header("content-type"));
  std::string mime = type.substr(0, type.find(';'));
  while (!mime.empty() && mime.back() == ' ') mime.pop_back();
  if (mime != "application/json") {
    const std::string relabeled = "application/x-refused-";  // see NeutralizeMultipart
    if (type.rfind(relabeled, 0) == 0) type = type.substr(relabeled.size());
    return Status(ErrorCode::kUnsupportedMediaType,
                  "request bodies must be application/json (got '" + type + "')");
  }
  *body = nlohmann::json::parse(req.body, nullptr, false);
  if (body->is_discarded()) return Status(ErrorCode::kBadRequest, "malformed JSON in request body");
  if (!body->is_object())
    return Status(ErrorCode::kBadRequest, "request body must be a JSON object");
  return Status::Ok();
}

Status RequestGuard::Admit(const Route& route, const HttpRequest& req, auth::Identity& identity,
                           auth::LoginLimiter& limiter, RequestContext& ctx,
                           nlohmann::json* body) const {
  if (route.action != auth::Action::kPublic) {
    RETURN_IF_ERROR(Authenticate(req, identity, limiter, ctx));
    RETURN_IF_ERROR(auth::Authorize(ctx.principal, route.action));
    if (ctx.auth_method == AuthMethod::kSession && IsStateChanging(req.method))
      RETURN_IF_ERROR(CheckOrigin(req));
  } else if (IsStateChanging(req.method) && !req.Header("origin").empty()) {
    // Login is public but sets a cookie: refuse it from foreign pages (login CSRF).
    RETURN_IF_ERROR(CheckOrigin(req));
  }
  if (IsStateChanging(req.method) || route.takes_body) RETURN_IF_ERROR(ParseBody(route, req, body));
  return Status::Ok();
}

}  // namespace studio::api
