#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "common/status.h"
#include "pipelines/stages/stage.h"

// The stages' HTTP client for the control plane (ctx.server with ctx.token as the bearer
// token). Error responses come back as Status with the server's error_code and message;
// `http_status` and `error_code` of the last response are kept for callers that must tell a
// missing route (ENDPOINT_NOT_FOUND) from a missing resource.
namespace studio::pipelines::stages::internal {

struct HttpReply {
  int status = 0;          // 0: no response (connection failed)
  std::string error_code;  // the body's error_code on >= 400
  std::string message;
  nlohmann::json body;  // parsed JSON (null when the body was not JSON)
  std::string raw;
};

class ControlPlane {
 public:
  // ServerBase(ctx) checks: an http(s) URL and a token.
  static Result<std::unique_ptr<ControlPlane>> Connect(const StageContext& ctx);
  virtual ~ControlPlane() = default;

  // The full reply, whatever its status (transport failures are errors).
  virtual Result<HttpReply> Call(const std::string& method, const std::string& path,
                                 const nlohmann::json* body) = 0;
  // 2xx → the JSON body; otherwise the server's error as a Status.
  Result<nlohmann::json> Get(const std::string& path);
  Result<nlohmann::json> Send(const std::string& method, const std::string& path,
                              const nlohmann::json& body);
  // Streams `size` bytes from `read(offset, buf, n)` as a PUT.
  virtual Status Upload(const std::string& path, int64_t size,
                        const std::function<size_t(int64_t, char*, size_t)>& read) = 0;
  virtual Status Download(const std::string& path,
                          const std::function<bool(const char*, size_t)>& sink) = 0;
  virtual const std::string& base() const = 0;
};

// The Status a >= 400 reply maps to (the server's words; ENDPOINT_NOT_FOUND kept).
Status ReplyStatus(const HttpReply& reply, const std::string& what);

using ::studio::UrlEncode;

}  // namespace studio::pipelines::stages::internal
