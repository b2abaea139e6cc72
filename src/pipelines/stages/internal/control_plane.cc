#include "pipelines/stages/internal/control_plane.h"

#include <httplib.h>

#include <cctype>

#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

ErrorCode CodeFromName(const std::string& name, int http_status) {
  for (ErrorCode c : {ErrorCode::kInvalidParameterValue, ErrorCode::kBadRequest,
                      ErrorCode::kResourceAlreadyExists, ErrorCode::kUnauthenticated,
                      ErrorCode::kPermissionDenied, ErrorCode::kResourceDoesNotExist,
                      ErrorCode::kEndpointNotFound, ErrorCode::kAlreadyExists,
                      ErrorCode::kResourceConflict, ErrorCode::kPayloadTooLarge,
                      ErrorCode::kUnsupportedMediaType, ErrorCode::kRequestLimitExceeded,
                      ErrorCode::kNotImplemented, ErrorCode::kTemporarilyUnavailable}) {
    if (ErrorCodeName(c) == name) return c;
  }
  if (http_status == 404) return ErrorCode::kEndpointNotFound;
  return http_status >= 500 ? ErrorCode::kInternalError : ErrorCode::kBadRequest;
}

class HttpControlPlane final : public ControlPlane {
 public:
  HttpControlPlane(const std::string& base, const std::string& token) : base_(base), http_(base) {
    http_.set_connection_timeout(10);
    http_.set_read_timeout(300);
    http_.set_write_timeout(300);
    http_.set_keep_alive(true);
    headers_.emplace("Authorization", "Bearer " + token);
  }

  Result<HttpReply> Call(const std::string& method, const std::string& path,
                         const nlohmann::json* body) override {
    std::string text = body ? body->dump() : "";
    httplib::Result res = method == "GET"    ? http_.Get(path, headers_)
                          : method == "POST" ? http_.Post(path, headers_, text, "application/json")
                          : method == "PUT"  ? http_.Put(path, headers_, text, "application/json")
                          : method == "PATCH"
                              ? http_.Patch(path, headers_, text, "application/json")
                              : http_.Delete(path, headers_, text, "application/json");
    if (!res)
      return Status(ErrorCode::kTemporarilyUnavailable, method + " " + base_ + path +
                                                            ": cannot reach the control plane (" +
                                                            httplib::to_string(res.error()) + ")");
    HttpReply r;
    r.status = res->status;
    r.raw = res->body;
    r.body = nlohmann::json::parse(res->body, nullptr, false);
    if (r.body.is_discarded()) r.body = nullptr;
    if (r.status >= 400 && r.body.is_object()) {
      r.error_code = r.body.value("error_code", "");
      r.message = r.body.value("message", "");
    }
    return r;
  }

  Status Upload(const std::string& path, int64_t size,
                const std::function<size_t(int64_t, char*, size_t)>& read) override {
    std::vector<char> buf(1 << 20);
    auto res = http_.Put(
        path, headers_, static_cast<size_t>(size),
        [&](size_t offset, size_t length, httplib::DataSink& sink) {
          size_t n = read(static_cast<int64_t>(offset), buf.data(), std::min(length, buf.size()));
          if (n == 0) return false;
          sink.write(buf.data(), n);
          return true;
        },
        "application/octet-stream");
    return Finish(res, "PUT " + path);
  }

  Status Download(const std::string& path,
                  const std::function<bool(const char*, size_t)>& sink) override {
    int status = 0;
    std::string error_body;
    auto res = http_.Get(
        path, headers_,
        [&](const httplib::Response& r) {
          status = r.status;
          return true;
        },
        [&](const char* data, size_t n) {
          if (status >= 400) {
            error_body.append(data, std::min(n, size_t{1 << 16}));
            return true;
          }
          return sink(data, n);
        });
    if (res && status >= 400) res->body = error_body;
    return Finish(res, "GET " + path);
  }

  const std::string& base() const override { return base_; }

 private:
  Status Finish(const httplib::Result& res, const std::string& what) {
    if (!res)
      return Status(
          ErrorCode::kTemporarilyUnavailable,
          what + ": cannot reach the control plane (" + httplib::to_string(res.error()) + ")");
    HttpReply r;
    r.status = res->status;
    if (r.status < 400) return Status::Ok();
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_object()) {
      r.error_code = body.value("error_code", "");
      r.message = body.value("message", "");
    }
    return ReplyStatus(r, what);
  }

  std::string base_;
  httplib::Client http_;
  httplib::Headers headers_;
};

}  // namespace

Status ReplyStatus(const HttpReply& reply, const std::string& what) {
  if (reply.status > 0 && reply.status < 400) return Status::Ok();
  std::string msg = reply.message.empty() ? what + ": HTTP " + std::to_string(reply.status)
                                          : what + ": " + reply.message;
  return Status(CodeFromName(reply.error_code, reply.status), msg);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Connect(const StageContext& ctx) {
  ASSIGN_OR_RETURN(std::string base, ServerBase(ctx));
  return std::unique_ptr<ControlPlane>(new HttpControlPlane(base, ctx.token));
}

Result<nlohmann::json> ControlPlane::Get(const std::string& path) {
  ASSIGN_OR_RETURN(HttpReply r, Call("GET", path, nullptr));
  RETURN_IF_ERROR(ReplyStatus(r, "GET " + path));
  if (r.body.is_null() && !r.raw.empty())
    return Internal("GET " + path + ": the control plane sent invalid JSON");
  return r.body.is_null() ? nlohmann::json::object() : r.body;
}

Result<nlohmann::json> ControlPlane::Send(const std::string& method, const std::string& path,
                                          const nlohmann::json& body) {
  ASSIGN_OR_RETURN(HttpReply r, Call(method, path, &body));
  RETURN_IF_ERROR(ReplyStatus(r, method + " " + path));
  if (r.body.is_null() && !r.raw.empty())
    return Internal(method + " " + path + ": the control plane sent invalid JSON");
  return r.body.is_null() ? nlohmann::json::object() : r.body;
}

std::string UrlEncode(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace studio::pipelines::stages::internal
