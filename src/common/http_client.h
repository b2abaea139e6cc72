#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

// A bearer-token HTTP client for the control plane's REST API, shared by the CLI (cli/) and the
// pipeline stages (pipelines/stages/). httplib stays in the .cc; callers turn replies into their
// own results (see ErrorCodeFromReply).
namespace studio {

struct HttpResponse {
  int status = 0;
  std::string body;  // on Download: the error body (>= 400) only
};

class BearerHttpClient {
 public:
  // `base`: scheme://host[:port]; `token`: sent as "Authorization: Bearer" when not empty;
  // `peer`: how transport errors name the server ("<what>: cannot reach <peer> (<reason>)").
  BearerHttpClient(const std::string& base, const std::string& token, std::string peer);
  ~BearerHttpClient();
  BearerHttpClient(const BearerHttpClient&) = delete;
  BearerHttpClient& operator=(const BearerHttpClient&) = delete;

  // GET, POST, PUT, PATCH, DELETE (any other method: DELETE); `json` is the body of all but
  // GET, sent as application/json. Transport failures are kTemporarilyUnavailable.
  Result<HttpResponse> Request(const std::string& method, const std::string& path,
                               const std::string& json);
  // PUTs `size` bytes from `read(offset, buf, n)` as application/octet-stream; `progress(sent)`
  // after each chunk when set.
  Result<HttpResponse> Upload(const std::string& path, int64_t size,
                              const std::function<size_t(int64_t, char*, size_t)>& read,
                              const std::function<void(int64_t)>& progress);
  // GETs `path` streaming a < 400 body into `sink`; a >= 400 body is kept in the response.
  Result<HttpResponse> Download(const std::string& path,
                                const std::function<bool(const char*, size_t)>& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Our code for the error_code name of an error reply; an unknown name maps to kInternalError
// for 5xx, kEndpointNotFound for 404 when `unknown_404_is_endpoint`, else kBadRequest.
ErrorCode ErrorCodeFromReply(const std::string& name, int http_status,
                             bool unknown_404_is_endpoint);

// "a b" → "a%20b" (RFC 3986 unreserved kept), keeping '/' when `keep_slash`.
std::string UrlEncode(const std::string& s, bool keep_slash = false);

}  // namespace studio
