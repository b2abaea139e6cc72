// The audit log: search and chain verification.
#include "api/json_body.h"
#include "api/router.h"
#include "api/serializers.h"
#include "audit/audit_log.h"
#include "common/time_util.h"
#include "store/audit_repo.h"

namespace studio::api {

void AddAuditRoutes(RouteTable& routes, Services& s) {
  using auth::Action;
  routes.push_back(
      {"GET",
       "/api/v1/audit",
       Action::kRead,
       "audit",
       "Search the audit log, newest first",
       false,
       200,
       "",
       "AuditEventList",
       {"actor", "action", "resource_type", "resource_id", "since", "until", "max_results",
        "page_token"},
       [&s](RequestContext& ctx, HttpResponse& res) -> Status {
         ASSIGN_OR_RETURN(PageRequest page, ParsePage(ctx.req));
         store::AuditFilter f;
         f.actor = ctx.req.Query("actor");
         f.action = ctx.req.Query("action");
         f.resource_type = ctx.req.Query("resource_type");
         f.resource_id = ctx.req.Query("resource_id");
         for (const char* key : {"since", "until"}) {
           if (!ctx.req.HasQuery(key)) continue;
           auto t = ParseRfc3339(ctx.req.Query(key));
           if (!t.ok())
             return InvalidArgument(t.status().message())
                 .WithDetail(key, "not an RFC 3339 timestamp");
           (std::string(key) == "since" ? f.since : f.until) = *t;
         }
         int64_t before = 0;
         if (!page.after.empty()) {
           char* end = nullptr;
           before = std::strtoll(page.after.c_str(), &end, 10);
           if (*end != '\0' || before <= 0)
             return InvalidArgument("invalid page_token").WithDetail("page_token", "invalid");
         }
         std::vector<store::AuditEventRecord> events;
         RETURN_IF_ERROR(s.store.Read([&](store::Tx& tx) -> Status {
           ASSIGN_OR_RETURN(events, store::AuditEvents(tx).List(f, before, page.max_results));
           return Status::Ok();
         }));
         nlohmann::json items = nlohmann::json::array();
         for (const auto& e : events) items.push_back(ToJson(e));
         std::string next = static_cast<int>(events.size()) == page.max_results
                                ? std::to_string(events.back().seq)
                                : "";
         res.Json(200, ListResponse(std::move(items), next));
         return Status::Ok();
       }});

  routes.push_back({"GET",
                    "/api/v1/audit/verify",
                    Action::kRead,
                    "audit",
                    "Recompute the hash chain and report the first broken event",
                    false,
                    200,
                    "",
                    "AuditVerify",
                    {},
                    [&s](RequestContext&, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(auto report, audit::Verify(s.store));
                      nlohmann::json out = {{"ok", report.ok}, {"count", report.count}};
                      if (!report.ok) {
                        out["first_broken_seq"] = report.first_broken_seq;
                        out["first_broken_id"] = report.first_broken_id;
                        out["problem"] = report.problem;
                      }
                      res.Json(200, out);
                      return Status::Ok();
                    }});
}

}  // namespace studio::api
