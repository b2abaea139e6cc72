// Login, logout, the current user and API tokens.
#include "api/json_body.h"
#include "api/router.h"
#include "api/serializers.h"
#include "common/time_util.h"
#include "store/users_repo.h"

namespace studio::api {
namespace {

using auth::Action;

std::string SessionCookieHeader(const std::string& value, int64_t max_age_s) {
  return "studio_session=" + value +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
}

}  // namespace

void AddAuthRoutes(RouteTable& routes, Services& s) {
  routes.push_back(
      {"POST",
       "/api/v1/auth/login",
       Action::kPublic,
       "auth",
       "Log in with username and password; sets the session cookie",
       true,
       200,
       "LoginRequest",
       "LoginResponse",
       {},
       [&s](RequestContext& ctx, HttpResponse& res) -> Status {
         BodyReader r(*ctx.body);
         auto username = r.String("username", true, 64);
         auto password = r.String("password", true, 1024);
         RETURN_IF_ERROR(r.Finish());
         ASSIGN_OR_RETURN(auto login, s.identity.Login(s.login_limiter, *username, *password,
                                                       ctx.req.remote_addr, ctx.request_id));
         res.Json(200,
                  {{"user", ToJson(login.user)}, {"expires_at", FormatRfc3339(login.expires_at)}});
         res.headers.emplace_back(
             "Set-Cookie",
             SessionCookieHeader(login.session_token, auth::Identity::kSessionTtlMs / 1000));
         return Status::Ok();
       }});

  routes.push_back({"POST",
                    "/api/v1/auth/logout",
                    Action::kSelf,
                    "auth",
                    "End the cookie session",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      if (ctx.auth_method == AuthMethod::kSession)
                        RETURN_IF_ERROR(s.identity.Logout(ctx.actor(), ctx.session_token));
                      res.NoContent();
                      res.headers.emplace_back("Set-Cookie", SessionCookieHeader("", 0));
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/me",
                    Action::kSelf,
                    "auth",
                    "The authenticated user, with roles and permissions",
                    false,
                    200,
                    "",
                    "User",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto user, s.identity.GetUser(ctx.principal.user_id));
                      nlohmann::json out = ToJson(user);
                      out["auth_method"] = ctx.auth_method == AuthMethod::kSession  ? "session"
                                           : ctx.auth_method == AuthMethod::kBearer ? "token"
                                                                                    : "basic";
                      res.Json(200, out);
                      return Status::Ok();
                    }});

  routes.push_back({"POST",
                    "/api/v1/tokens",
                    Action::kSelf,
                    "auth",
                    "Create an API token for the caller; the secret is shown once",
                    true,
                    201,
                    "TokenRequest",
                    "TokenCreated",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto name = r.String("name", true, 128);
                      auto days = r.Int("expires_in_days", false, 0, 3650);
                      RETURN_IF_ERROR(r.Finish());
                      ASSIGN_OR_RETURN(auto issued,
                                       s.identity.IssueToken(ctx.actor(), ctx.principal, *name,
                                                             static_cast<int>(days.value_or(0))));
                      nlohmann::json out = ToJson(issued.record);
                      out["token"] = issued.secret;
                      res.Json(201, out);
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/tokens",
                    Action::kSelf,
                    "auth",
                    "The caller's active API tokens (never the secrets)",
                    false,
                    200,
                    "",
                    "TokenList",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto tokens, s.identity.ListTokens(ctx.principal));
                      nlohmann::json items = nlohmann::json::array();
                      for (const auto& t : tokens) items.push_back(ToJson(t));
                      res.Json(200, ListResponse(std::move(items), ""));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/tokens/{id}",
                    Action::kSelf,
                    "auth",
                    "Revoke one of the caller's API tokens",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      RETURN_IF_ERROR(
                          s.identity.RevokeToken(ctx.actor(), ctx.principal, ctx.req.Param("id")));
                      res.NoContent();
                      return Status::Ok();
                    }});
}

}  // namespace studio::api
