#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "api/router.h"
#include "common/error_mapping.h"
#include "store/internal/test_stores.h"

namespace studio::api {
namespace {

TEST(ErrorMappingTest, MlflowStatusesAndOurs) {
  EXPECT_EQ(HttpStatusFor(ErrorCode::kResourceAlreadyExists), 400);  // MLflow's, not 409
  EXPECT_EQ(HttpStatusFor(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kResourceDoesNotExist), 404);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kRequestLimitExceeded), 429);
  EXPECT_EQ(HttpStatusFor(ErrorCode::kTemporarilyUnavailable), 503);
  auto body = nlohmann::json::parse(
      ErrorBody(InvalidArgument("bad \"x\"").WithDetail("name", "too short")));
  EXPECT_EQ(body["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(body["message"], "bad \"x\"");
  EXPECT_EQ(body["details"]["name"], "too short");
  EXPECT_FALSE(nlohmann::json::parse(ErrorBody(NotFound("x"))).contains("details"));
}

TEST(BodyReaderTest, CollectsEveryProblem) {
  auto body =
      nlohmann::json::parse(R"({"name": 5, "tags": ["a"], "extra": 1, "ok": "yes", "n": 99})");
  BodyReader r(body);
  r.String("name", true);
  r.StringMap("tags", false);
  r.String("ok", true);
  r.Int("n", false, 0, 10);
  r.String("missing", true);
  Status st = r.Finish();
  EXPECT_EQ(st.code(), ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(st.details().at("name"), "must be a string, got number");
  EXPECT_EQ(st.details().at("tags"), "must be an object of strings, got array");
  EXPECT_EQ(st.details().at("extra"), "unknown field");
  EXPECT_EQ(st.details().at("missing"), "required");
  EXPECT_EQ(st.details().at("n"), "must be between 0 and 10");
  EXPECT_FALSE(st.details().count("ok"));
}

TEST(PagingTest, ParsesAndRejects) {
  HttpRequest req;
  EXPECT_EQ(ParsePage(req)->max_results, 100);
  req.query = {{"max_results", "5"}, {"page_token", EncodePageToken("abc")}};
  auto p = ParsePage(req);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->max_results, 5);
  EXPECT_EQ(p->after, "abc");
  for (const char* bad : {"0", "1001", "abc", "-1", ""}) {
    req.query = {{"max_results", bad}};
    EXPECT_FALSE(ParsePage(req).ok()) << bad;
  }
  req.query = {{"page_token", "!!"}};
  EXPECT_FALSE(ParsePage(req).ok());
}

TEST(OpenApiTest, EveryRegisteredRouteIsDocumented) {
  auto t = store::testing::OpenTestStore("sqlite");
  Config config;
  auth::Identity identity(*t->store);
  auth::LoginLimiter limiter;
  metrics::Registry metrics;
  Services s{config, *t->store, identity, limiter, metrics};
  RouteTable routes;
  AddAuthRoutes(routes, s);
  AddUserRoutes(routes, s);
  AddProjectRoutes(routes, s);
  AddAuditRoutes(routes, s);
  AddMlflowRegistryRoutes(routes, s);
  AddModelRoutes(routes, s);
  AddMlflowArtifactRoutes(routes, s);
  AddMlflowTrackingRoutes(routes, s);
  AddPipelineRoutes(routes, s);
  AddSystemRoutes(routes, s, routes);
  ASSERT_GE(routes.size(), 20u);
  auto doc = nlohmann::json::parse(BuildOpenApi(routes));
  EXPECT_EQ(doc["openapi"], "3.1.0");
  for (const Route& r : routes) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(tolower(c));
    ASSERT_TRUE(doc["paths"].contains(r.path)) << r.path;
    EXPECT_TRUE(doc["paths"][r.path].contains(method)) << r.method << " " << r.path;
    auto op = doc["paths"][r.path][method];
    EXPECT_EQ(op["x-permission"], std::string(auth::ActionName(r.action)));
    if (!r.request_schema.empty()) {
      EXPECT_TRUE(doc["components"]["schemas"].contains(r.request_schema)) << r.request_schema;
    }
    if (!r.response_schema.empty()) {
      EXPECT_TRUE(doc["components"]["schemas"].contains(r.response_schema)) << r.response_schema;
    }
  }
}

}  // namespace
}  // namespace studio::api
