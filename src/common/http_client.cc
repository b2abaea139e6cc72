#include "common/http_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace studio {

struct BearerHttpClient::Impl {
  Impl(const std::string& base, std::string peer_name) : peer(std::move(peer_name)), http(base) {}

  Status Unreachable(const httplib::Result& res, const std::string& what) const {
    return Status(ErrorCode::kTemporarilyUnavailable,
                  what + ": cannot reach " + peer + " (" + httplib::to_string(res.error()) + ")");
  }

  std::string peer;
  httplib::Client http;
  httplib::Headers headers;
};

BearerHttpClient::BearerHttpClient(const std::string& base, const std::string& token,
                                   std::string peer)
    : impl_(std::make_unique<Impl>(base, std::move(peer))) {
  impl_->http.set_connection_timeout(10);
  impl_->http.set_read_timeout(300);
  impl_->http.set_write_timeout(300);
  impl_->http.set_keep_alive(true);
  if (!token.empty()) impl_->headers.emplace("Authorization", "Bearer " + token);
}

BearerHttpClient::~BearerHttpClient() = default;

Result<HttpResponse> BearerHttpClient::Request(const std::string& method, const std::string& path,
                                               const std::string& json) {
  httplib::Client& http = impl_->http;
  const httplib::Headers& h = impl_->headers;
  httplib::Result res = method == "GET"     ? http.Get(path, h)
                        : method == "POST"  ? http.Post(path, h, json, "application/json")
                        : method == "PUT"   ? http.Put(path, h, json, "application/json")
                        : method == "PATCH" ? http.Patch(path, h, json, "application/json")
                                            : http.Delete(path, h, json, "application/json");
  if (!res) return impl_->Unreachable(res, method + " " + path);
  return HttpResponse{res->status, std::move(res->body)};
}

Result<HttpResponse> BearerHttpClient::Upload(
    const std::string& path, int64_t size,
    const std::function<size_t(int64_t, char*, size_t)>& read,
    const std::function<void(int64_t)>& progress) {
  std::vector<char> buf(1 << 20);
  auto res = impl_->http.Put(
      path, impl_->headers, static_cast<size_t>(size),
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        size_t n = read(static_cast<int64_t>(offset), buf.data(), std::min(length, buf.size()));
        if (n == 0) return false;
        sink.write(buf.data(), n);
        if (progress) progress(static_cast<int64_t>(offset + n));
        return true;
      },
      "application/octet-stream");
  if (!res) return impl_->Unreachable(res, "PUT " + path);
  return HttpResponse{res->status, std::move(res->body)};
}

Result<HttpResponse> BearerHttpClient::Download(
    const std::string& path, const std::function<bool(const char*, size_t)>& sink) {
  int status = 0;
  std::string error_body;
  auto res = impl_->http.Get(
      path, impl_->headers,
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
  if (!res) return impl_->Unreachable(res, "GET " + path);
  return HttpResponse{res->status, status >= 400 ? std::move(error_body) : std::string()};
}

ErrorCode ErrorCodeFromReply(const std::string& name, int http_status,
                             bool unknown_404_is_endpoint) {
  for (ErrorCode c : {ErrorCode::kInvalidParameterValue, ErrorCode::kBadRequest,
                      ErrorCode::kResourceAlreadyExists, ErrorCode::kUnauthenticated,
                      ErrorCode::kPermissionDenied, ErrorCode::kResourceDoesNotExist,
                      ErrorCode::kEndpointNotFound, ErrorCode::kAlreadyExists,
                      ErrorCode::kResourceConflict, ErrorCode::kPayloadTooLarge,
                      ErrorCode::kUnsupportedMediaType, ErrorCode::kRequestLimitExceeded,
                      ErrorCode::kNotImplemented, ErrorCode::kTemporarilyUnavailable}) {
    if (ErrorCodeName(c) == name) return c;
  }
  if (unknown_404_is_endpoint && http_status == 404) return ErrorCode::kEndpointNotFound;
  return http_status >= 500 ? ErrorCode::kInternalError : ErrorCode::kBadRequest;
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

}  // namespace studio
