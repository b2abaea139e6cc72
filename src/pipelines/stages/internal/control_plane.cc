#include "pipelines/stages/internal/control_plane.h"

#include "common/http_client.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

// The HttpReply of a response; `parse_body` false keeps body null and raw empty (uploads and
// downloads only need the error fields).
HttpReply ToReply(HttpResponse res, bool parse_body) {
  HttpReply r;
  r.status = res.status;
  nlohmann::json body = nlohmann::json::parse(res.body, nullptr, false);
  if (body.is_discarded()) body = nullptr;
  if (r.status >= 400 && body.is_object()) {
    r.error_code = body.value("error_code", "");
    r.message = body.value("message", "");
  }
  if (parse_body) {
    r.body = std::move(body);
    r.raw = std::move(res.body);
  }
  return r;
}

class HttpControlPlane final : public ControlPlane {
 public:
  HttpControlPlane(const std::string& base, const std::string& token)
      : base_(base), http_(base, token, "the control plane") {}

  Result<HttpReply> Call(const std::string& method, const std::string& path,
                         const nlohmann::json* body) override {
    ASSIGN_OR_RETURN(HttpResponse res, http_.Request(method, path, body ? body->dump() : ""));
    return ToReply(std::move(res), true);
  }

  Status Upload(const std::string& path, int64_t size,
                const std::function<size_t(int64_t, char*, size_t)>& read) override {
    ASSIGN_OR_RETURN(HttpResponse res, http_.Upload(path, size, read, nullptr));
    return ReplyStatus(ToReply(std::move(res), false), "PUT " + path);
  }

  Status Download(const std::string& path,
                  const std::function<bool(const char*, size_t)>& sink) override {
    ASSIGN_OR_RETURN(HttpResponse res, http_.Download(path, sink));
    return ReplyStatus(ToReply(std::move(res), false), "GET " + path);
  }

  const std::string& base() const override { return base_; }

 private:
  std::string base_;
  BearerHttpClient http_;
};

}  // namespace

Status ReplyStatus(const HttpReply& reply, const std::string& what) {
  if (reply.status > 0 && reply.status < 400) return Status::Ok();
  std::string msg = reply.message.empty() ? what + ": HTTP " + std::to_string(reply.status)
                                          : what + ": " + reply.message;
  return Status(ErrorCodeFromReply(reply.error_code, reply.status, true), msg);
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

}  // namespace studio::pipelines::stages::internal
