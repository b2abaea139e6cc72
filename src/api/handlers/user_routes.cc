// Admin-managed users and their roles.
#include "api/json_body.h"
#include "api/router.h"
#include "api/serializers.h"
#include "store/users_repo.h"

namespace studio::api {

void AddUserRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  routes.push_back(
      {"GET",
       "/api/v1/users",
       Action::kAdmin,
       "users",
       "List users (by username)",
       false,
       200,
       "",
       "UserList",
       {"max_results", "page_token"},
       [&s](RequestContext& ctx, HttpResponse& res) -> Status {
         ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
         std::vector<store::UserRecord> users;
         RETURN_IF_ERROR(s.store.Read([&](store::Tx& tx) -> Status {
           ASSIGN_OR_RETURN(users, store::Users(tx).List(page.after, page.max_results));
           return Status::Ok();
         }));
         nlohmann::json items = nlohmann::json::array();
         for (const auto& u : users) items.push_back(ToJson(u));
         std::string next =
             static_cast<int>(users.size()) == page.max_results ? users.back().username : "";
         res.Json(200, ListResponse(std::move(items), next));
         return Status::Ok();
       }});

  routes.push_back({"POST",
                    "/api/v1/users",
                    Action::kAdmin,
                    "users",
                    "Create a user with a password and roles",
                    true,
                    201,
                    "UserCreate",
                    "User",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      BodyReader r(*ctx.body);
                      auto username = r.String("username", true, 64);
                      auto password = r.String("password", true, 1024);
                      auto roles = r.StringList("roles", false);
                      RETURN_IF_ERROR(r.Finish());
                      ASSIGN_OR_RETURN(auto user, s.identity.CreateUser(
                                                      ctx.actor(), *username, *password,
                                                      roles.value_or(std::vector<std::string>{})));
                      res.Json(201, ToJson(user));
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/users/{id}",
                    Action::kAdmin,
                    "users",
                    "Get a user by id or username",
                    false,
                    200,
                    "",
                    "User",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto user, s.identity.GetUser(ctx.req.Param("id")));
                      res.Json(200, ToJson(user));
                      return Status::Ok();
                    }});

  routes.push_back(
      {"PATCH",
       "/api/v1/users/{id}",
       Action::kAdmin,
       "users",
       "Change a user's roles, disable or enable them, or reset the password",
       true,
       200,
       "UserUpdate",
       "User",
       {},
       [&s](RequestContext& ctx, HttpResponse& res) -> Status {
         BodyReader r(*ctx.body);
         auto roles = r.StringList("roles", false);
         auto disabled = r.Bool("disabled", false);
         auto password = r.String("password", false, 1024);
         RETURN_IF_ERROR(r.Finish());
         if (!roles && !disabled && !password)
           return InvalidArgument("nothing to change: give roles, disabled or password");
         ASSIGN_OR_RETURN(auto target, s.identity.GetUser(ctx.req.Param("id")));
         if (target.id == ctx.principal.user_id && disabled.value_or(false))
           return InvalidArgument("you cannot disable yourself")
               .WithDetail("disabled", "cannot disable yourself");
         ASSIGN_OR_RETURN(auto user,
                          s.identity.UpdateUser(ctx.actor(), target.id, roles, disabled, password));
         res.Json(200, ToJson(user));
         return Status::Ok();
       }});
}

}  // namespace studio::api
