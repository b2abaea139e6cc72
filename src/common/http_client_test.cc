#include "common/http_client.h"

#include <gtest/gtest.h>

namespace studio {
namespace {

TEST(HttpClientTest, ErrorCodeFromReplyMapsKnownNamesAndFallsBackByStatus) {
  EXPECT_EQ(ErrorCodeFromReply("RESOURCE_DOES_NOT_EXIST", 404, false),
            ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(ErrorCodeFromReply("PERMISSION_DENIED", 403, true), ErrorCode::kPermissionDenied);
  EXPECT_EQ(ErrorCodeFromReply("", 404, true), ErrorCode::kEndpointNotFound);
  EXPECT_EQ(ErrorCodeFromReply("", 404, false), ErrorCode::kBadRequest);
  EXPECT_EQ(ErrorCodeFromReply("NO_SUCH_CODE", 502, false), ErrorCode::kInternalError);
  EXPECT_EQ(ErrorCodeFromReply("INTERNAL_ERROR", 500, true), ErrorCode::kInternalError);
}

TEST(HttpClientTest, UrlEncodeKeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(UrlEncode("a b/c~d_e.f-g"), "a%20b%2Fc~d_e.f-g");
  EXPECT_EQ(UrlEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(UrlEncode("../ü"), "..%2F%C3%BC");
}

TEST(HttpClientTest, UnreachableServerIsTemporarilyUnavailableNamingThePeer) {
  BearerHttpClient client("http://127.0.0.1:1", "t", "the control plane");
  auto r = client.Request("GET", "/api/v1/x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTemporarilyUnavailable);
  EXPECT_NE(r.status().message().find("GET /api/v1/x: cannot reach the control plane"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace studio
