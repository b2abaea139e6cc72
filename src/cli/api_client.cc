#include "cli/internal/api_client.h"

#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace studio::cli {
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
  return http_status >= 500 ? ErrorCode::kInternalError : ErrorCode::kBadRequest;
}

Status FromResponse(const httplib::Result& res, const std::string& what) {
  if (!res) {
    return Status(ErrorCode::kTemporarilyUnavailable,
                  what + ": cannot reach the server (" + httplib::to_string(res.error()) + ")");
  }
  if (res->status < 400) return Status::Ok();
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  if (body.is_object() && body.contains("error_code") && body.contains("message")) {
    return Status(CodeFromName(body["error_code"].get<std::string>(), res->status),
                  body["message"].get<std::string>());
  }
  return Status(CodeFromName("", res->status), what + ": HTTP " + std::to_string(res->status));
}

class HttpApiClient final : public ApiClient {
 public:
  explicit HttpApiClient(const ServerOptions& o) : http_(o.server) {
    http_.set_connection_timeout(10);
    http_.set_read_timeout(300);
    http_.set_write_timeout(300);
    http_.set_keep_alive(true);
    if (!o.token.empty()) headers_.emplace("Authorization", "Bearer " + o.token);
  }

  Result<nlohmann::json> Get(const std::string& path) override {
    auto res = http_.Get(path, headers_);
    return Parse(res, "GET " + path);
  }

  Result<nlohmann::json> Send(const std::string& method, const std::string& path,
                              const nlohmann::json& body) override {
    std::string text = body.dump();
    httplib::Result res =
        method == "POST"    ? http_.Post(path, headers_, text, "application/json")
        : method == "PATCH" ? http_.Patch(path, headers_, text, "application/json")
        : method == "PUT"   ? http_.Put(path, headers_, text, "application/json")
                            : http_.Delete(path, headers_, text, "application/json");
    return Parse(res, method + " " + path);
  }

  Status Upload(const std::string& path, int64_t size,
                const std::function<size_t(int64_t, char*, size_t)>& read,
                const std::function<void(int64_t)>& progress) override {
    std::vector<char> buf(1 << 20);
    auto res = http_.Put(
        path, headers_, static_cast<size_t>(size),
        [&](size_t offset, size_t length, httplib::DataSink& sink) {
          size_t n = read(static_cast<int64_t>(offset), buf.data(), std::min(length, buf.size()));
          if (n == 0) return false;
          sink.write(buf.data(), n);
          progress(static_cast<int64_t>(offset + n));
          return true;
        },
        "application/octet-stream");
    return FromResponse(res, "PUT " + path);
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
            error_body.append(data, n);
            return true;
          }
          return sink(data, n);
        });
    if (res && status >= 400) res->body = error_body;
    return FromResponse(res, "GET " + path);
  }

 private:
  Result<nlohmann::json> Parse(const httplib::Result& res, const std::string& what) {
    RETURN_IF_ERROR(FromResponse(res, what));
    if (res->body.empty()) return nlohmann::json::object();
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_discarded()) return Internal(what + ": the server sent invalid JSON");
    return body;
  }

  httplib::Client http_;
  httplib::Headers headers_;
};

}  // namespace

ServerOptions ServerOptions::Resolved() const {
  ServerOptions out = *this;
  if (out.server.empty()) {
    const char* env = std::getenv("STUDIO_SERVER");
    out.server = env && *env ? env : "http://127.0.0.1:8080";
  }
  if (out.token.empty()) {
    if (const char* env = std::getenv("STUDIO_TOKEN")) out.token = env;
  }
  while (!out.server.empty() && out.server.back() == '/') out.server.pop_back();
  return out;
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ServerOptions& options) {
  ServerOptions o = options.Resolved();
  if (o.server.rfind("http://", 0) != 0 && o.server.rfind("https://", 0) != 0)
    return InvalidArgument("--server must be an http:// or https:// URL, got '" + o.server + "'");
  if (o.token.empty())
    return Status(
        ErrorCode::kUnauthenticated,
        "no API token: pass --token or set STUDIO_TOKEN (create one with POST /api/v1/tokens)");
  return std::unique_ptr<ApiClient>(new HttpApiClient(o));
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

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), enabled_(isatty(2) == 1) {}

void ProgressBar::Update(int64_t done) {
  if (!enabled_ || total_ <= 0) return;
  int percent = static_cast<int>(done * 100 / total_);
  if (percent == last_percent_) return;
  last_percent_ = percent;
  int filled = percent * 30 / 100;
  fprintf(stderr, "\r%-28.28s [%.*s%*s] %3d%%", label_.c_str(), filled,
          "##############################", 30 - filled, "", percent);
  fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  Update(total_);
  fprintf(stderr, "\n");
}

}  // namespace studio::cli
