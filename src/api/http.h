#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "auth/identity.h"
#include "auth/rbac.h"
#include "common/status.h"

namespace studio::api {

// The request as handlers see it: copied out of the HTTP library so handlers never include it.
struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  std::string remote_addr;
  std::map<std::string, std::string> headers;  // lowercase names
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> path_params;
  // Routes with Route::stream_body: pulls the body chunk by chunk into `receive` (which
  // returns false to stop); false when the client went away or the body is over the limit.
  std::function<bool(const std::function<bool(const char*, size_t)>& receive)> read_body;

  std::string Header(const std::string& lowercase_name) const;
  bool HasQuery(const std::string& name) const { return query.count(name) > 0; }
  std::string Query(const std::string& name) const;
  const std::string& Param(const std::string& name) const { return path_params.at(name); }
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is produced after the handler returns, chunk by chunk through `write`
  // (sent with chunked transfer encoding); an error aborts the connection mid-body.
  std::function<Status(const std::function<bool(std::string_view)>& write)> stream;
  // When known, the streamed body's size: sent with Content-Length instead of chunked, which
  // spares a copy per chunk and lets clients see progress and detect truncation.
  int64_t stream_length = -1;

  void Json(int code, const nlohmann::json& value);
  void NoContent() {
    status = 204;
    body.clear();
  }
};

enum class AuthMethod { kNone, kBearer, kBasic, kSession };

struct RequestContext {
  const HttpRequest& req;
  std::string request_id;
  auth::Principal principal;
  AuthMethod auth_method = AuthMethod::kNone;
  std::string session_token;             // when auth_method is kSession
  const nlohmann::json* body = nullptr;  // parsed JSON object, for routes that take a body

  auth::Actor actor() const { return {principal.username, request_id}; }
};

}  // namespace studio::api
