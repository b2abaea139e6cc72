// Projects: the unit that owns models, pipelines and deployments.
#include "api/json_body.h"
#include "api/router.h"
#include "api/serializers.h"
#include "registry/projects.h"

namespace studio::api {
namespace {

Result<registry::ProjectInput> ReadProject(const nlohmann::json& body, bool create) {
  BodyReader r(body);
  registry::ProjectInput in;
  if (create) {
    auto name = r.String("name", true, 256);
    if (name) in.name = *name;
  }
  in.description = r.String("description", false, 5000);
  in.owner = r.String("owner", false, 64);
  in.github_repo = r.String("github_repo", false, 300);
  in.tags = r.StringMap("tags", false);
  RETURN_IF_ERROR(r.Finish());
  if (!create && !in.description && !in.owner && !in.github_repo && !in.tags)
    return InvalidArgument("nothing to change: give description, owner, github_repo or tags");
  return in;
}

}  // namespace

void AddProjectRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  auto projects = std::make_shared<registry::Projects>(s.store);

  routes.push_back({"GET",
                    "/api/v1/projects",
                    Action::kRead,
                    "projects",
                    "List projects by name, filtered by q (substring), owner or tag",
                    false,
                    200,
                    "",
                    "ProjectList",
                    {"q", "owner", "tag", "max_results", "page_token"},
                    [projects](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
                      store::ProjectFilter f;
                      f.query = ctx.req.Query("q");
                      f.owner = ctx.req.Query("owner");
                      std::string tag = ctx.req.Query("tag");
                      size_t eq = tag.find('=');
                      f.tag_key = tag.substr(0, eq);
                      if (eq != std::string::npos) f.tag_value = tag.substr(eq + 1);
                      if (f.query.size() > 256 || tag.size() > 5300)
                        return InvalidArgument("filter too long");
                      ASSIGN_OR_RETURN(auto list, projects->List(f, page.after, page.max_results));
                      nlohmann::json items = nlohmann::json::array();
                      for (const auto& p : list) items.push_back(ToJson(p));
                      std::string next =
                          static_cast<int>(list.size()) == page.max_results ? list.back().name : "";
                      res.Json(200, ListResponse(std::move(items), next));
                      return Status::Ok();
                    }});

  routes.push_back({"POST",
                    "/api/v1/projects",
                    Action::kCreate,
                    "projects",
                    "Create a project",
                    true,
                    201,
                    "ProjectCreate",
                    "Project",
                    {},
                    [projects](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto in, ReadProject(*ctx.body, true));
                      ASSIGN_OR_RETURN(auto p, projects->Create(ctx.actor(), in));
                      res.Json(201, ToJson(p));
                      return Status::Ok();
                    }});

  routes.push_back({"GET",
                    "/api/v1/projects/{id}",
                    Action::kRead,
                    "projects",
                    "Get a project by id or name",
                    false,
                    200,
                    "",
                    "Project",
                    {},
                    [projects](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto p, projects->Get(ctx.req.Param("id")));
                      res.Json(200, ToJson(p));
                      return Status::Ok();
                    }});

  routes.push_back({"PATCH",
                    "/api/v1/projects/{id}",
                    Action::kCreate,
                    "projects",
                    "Change a project's description, owner, GitHub repository or tags",
                    true,
                    200,
                    "ProjectUpdate",
                    "Project",
                    {},
                    [projects](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto in, ReadProject(*ctx.body, false));
                      ASSIGN_OR_RETURN(auto p,
                                       projects->Update(ctx.actor(), ctx.req.Param("id"), in));
                      res.Json(200, ToJson(p));
                      return Status::Ok();
                    }});

  routes.push_back({"DELETE",
                    "/api/v1/projects/{id}",
                    Action::kCreate,
                    "projects",
                    "Delete a project",
                    false,
                    204,
                    "",
                    "",
                    {},
                    [projects](RequestContext& ctx, HttpResponse& res) -> Status {
                      RETURN_IF_ERROR(projects->Delete(ctx.actor(), ctx.req.Param("id")));
                      res.NoContent();
                      return Status::Ok();
                    }});
}

}  // namespace studio::api
