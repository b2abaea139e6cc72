#include "cli/internal/api_client.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/http_client.h"

namespace studio::cli {
namespace {

Status FromResponse(const HttpResponse& res, const std::string& what) {
  if (res.status < 400) return Status::Ok();
  auto body = nlohmann::json::parse(res.body, nullptr, false);
  if (body.is_object() && body.contains("error_code") && body.contains("message")) {
    return Status(ErrorCodeFromReply(body["error_code"].get<std::string>(), res.status, false),
                  body["message"].get<std::string>());
  }
  return Status(ErrorCodeFromReply("", res.status, false),
                what + ": HTTP " + std::to_string(res.status));
}

class HttpApiClient final : public ApiClient {
 public:
  explicit HttpApiClient(const ServerOptions& o) : http_(o.server, o.token, "the server") {}

  Result<nlohmann::json> Get(const std::string& path) override {
    return Parse(http_.Request("GET", path, ""), "GET " + path);
  }

  Result<nlohmann::json> Send(const std::string& method, const std::string& path,
                              const nlohmann::json& body) override {
    return Parse(http_.Request(method, path, body.dump()), method + " " + path);
  }

  Status Upload(const std::string& path, int64_t size,
                const std::function<size_t(int64_t, char*, size_t)>& read,
                const std::function<void(int64_t)>& progress) override {
    ASSIGN_OR_RETURN(HttpResponse res, http_.Upload(path, size, read, progress));
    return FromResponse(res, "PUT " + path);
  }

  Status Download(const std::string& path,
                  const std::function<bool(const char*, size_t)>& sink) override {
    ASSIGN_OR_RETURN(HttpResponse res, http_.Download(path, sink));
    return FromResponse(res, "GET " + path);
  }

 private:
  Result<nlohmann::json> Parse(Result<HttpResponse> res, const std::string& what) {
    RETURN_IF_ERROR(res.status());
    RETURN_IF_ERROR(FromResponse(*res, what));
    if (res->body.empty()) return nlohmann::json::object();
    auto body = nlohmann::json::parse(res->body, nullptr, false);
    if (body.is_discarded()) return Internal(what + ": the server sent invalid JSON");
    return body;
  }

  BearerHttpClient http_;
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

int ReportApiError(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  for (const auto& [field, problem] : st.details())
    std::cerr << "  " << field << ": " << problem << "\n";
  switch (st.code()) {
    case ErrorCode::kInvalidParameterValue:
    case ErrorCode::kResourceDoesNotExist:
    case ErrorCode::kResourceAlreadyExists:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kResourceConflict:
    case ErrorCode::kPermissionDenied:
      return kExitFailed;
    default:
      return kExitError;
  }
}

}  // namespace studio::cli
