#include "integrations/aws/aws_client.h"

#include <curl/curl.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "common/crypto.h"
#include "common/strings.h"
#include "integrations/aws/xml.h"

namespace studio::aws {
namespace {

// Success bodies without a sink are listings and small results; errors are a few hundred bytes.
constexpr size_t kMaxBufferedBody = 64u << 20;
constexpr size_t kMaxErrorBody = 64u << 10;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IsRetryableStatus(long status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return std::string(s.substr(b, e - b));
}

// Extracts "key":"value" from a small JSON error body without a JSON dependency.
std::string JsonStringField(std::string_view body, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\"";
  size_t p = body.find(needle);
  if (p == std::string_view::npos) return "";
  p = body.find(':', p + needle.size());
  if (p == std::string_view::npos) return "";
  p = body.find('"', p);
  if (p == std::string_view::npos) return "";
  std::string out;
  for (size_t i = p + 1; i < body.size() && body[i] != '"'; ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    out.push_back(body[i]);
  }
  return out;
}

ErrorCode CodeForStatus(long status, std::string_view aws_code) {
  if (aws_code == "SlowDown" || aws_code == "Throttling" || aws_code == "ThrottlingException" ||
      aws_code == "TooManyRequestsException") {
    return ErrorCode::kRequestLimitExceeded;
  }
  if (aws_code == "NoSuchKey" || aws_code == "NoSuchBucket" || aws_code == "NoSuchUpload" ||
      aws_code == "ResourceNotFoundException") {
    return ErrorCode::kResourceDoesNotExist;
  }
  // Step Functions: ExecutionDoesNotExist, StateMachineDoesNotExist, … (HTTP 400).
  if (aws_code.ends_with("DoesNotExist")) return ErrorCode::kResourceDoesNotExist;
  if (aws_code.ends_with("AlreadyExists")) return ErrorCode::kAlreadyExists;
  switch (status) {
    case 400:
      return ErrorCode::kBadRequest;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kResourceDoesNotExist;
    case 409:
    case 412:
      return ErrorCode::kResourceConflict;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 429:
      return ErrorCode::kRequestLimitExceeded;
    case 501:
      return ErrorCode::kNotImplemented;
    case 502:
    case 503:
    case 504:
      return ErrorCode::kTemporarilyUnavailable;
    default:
      return ErrorCode::kInternalError;
  }
}

struct HttpEndpoint {
  std::string scheme;
  std::string authority;  // host[:port]
};

Result<HttpEndpoint> ParseEndpoint(std::string_view endpoint) {
  size_t sep = endpoint.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgument("AWS endpoint must be scheme://host[:port]: " + std::string(endpoint));
  }
  HttpEndpoint e;
  e.scheme = ToLower(endpoint.substr(0, sep));
  std::string_view rest = endpoint.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (e.scheme != "http" && e.scheme != "https") {
    return InvalidArgument("AWS endpoint scheme must be http or https: " + std::string(endpoint));
  }
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return InvalidArgument("AWS endpoint must be scheme://host[:port]: " + std::string(endpoint));
  }
  e.authority = ToLower(rest);
  return e;
}

}  // namespace

const std::string* Response::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return &v;
  }
  return nullptr;
}

Status ErrorFromResponse(const Response& response, std::string_view operation) {
  std::string code, message;
  std::string_view body = response.body;
  if (body.find("<Error") != std::string_view::npos ||
      body.find("<Code>") != std::string_view::npos) {
    code = xml::FindText(body, "Code").value_or("");
    message = xml::FindText(body, "Message").value_or("");
  } else if (!body.empty() && body.front() == '{') {
    code = JsonStringField(body, "__type");
    if (size_t hash = code.rfind('#'); hash != std::string::npos) code.erase(0, hash + 1);
    message = JsonStringField(body, "message");
    if (message.empty()) message = JsonStringField(body, "Message");
  }
  if (code.empty()) {
    if (const std::string* h = response.Header("x-amz-error-code")) code = *h;
  }
  std::string text = std::string(operation) + ": HTTP " + std::to_string(response.status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (code.empty() && message.empty() && !body.empty() && body.size() < 512 &&
      body.find('<') == std::string_view::npos) {
    text += ": " + Trim(body);
  }
  const std::string* request_id = response.Header("x-amz-request-id");
  if (!request_id) request_id = response.Header("x-amzn-requestid");
  if (request_id) text += " (request id " + *request_id + ")";
  return Status(CodeForStatus(response.status, code), text);
}

// The state the libcurl callbacks of one attempt share.
struct Client::Attempt {
  CURL* curl = nullptr;
  const Request* request = nullptr;
  Response response;
  size_t body_pos = 0;
  int64_t streamed = 0;
  Status source_status;
  Status sink_status;
  bool sink_used = false;
  bool body_too_large = false;

  static size_t OnRead(char* buf, size_t size, size_t n, void* user) {
    auto* a = static_cast<Attempt*>(user);
    size_t cap = size * n;
    const Request& r = *a->request;
    if (r.body_source) {
      int64_t left = r.body_size - a->streamed;
      if (left <= 0) return 0;
      if (static_cast<int64_t>(cap) > left) cap = static_cast<size_t>(left);
      Result<size_t> got = r.body_source(buf, cap);
      if (!got.ok()) {
        a->source_status = got.status();
        return CURL_READFUNC_ABORT;
      }
      if (*got == 0 || *got > cap) {
        a->source_status = Internal("request body ended after " + std::to_string(a->streamed) +
                                    " of " + std::to_string(r.body_size) + " bytes");
        return CURL_READFUNC_ABORT;
      }
      a->streamed += static_cast<int64_t>(*got);
      return *got;
    }
    size_t len = std::min(cap, r.body.size() - a->body_pos);
    std::memcpy(buf, r.body.data() + a->body_pos, len);
    a->body_pos += len;
    return len;
  }

  static size_t OnWrite(char* data, size_t size, size_t n, void* user) {
    auto* a = static_cast<Attempt*>(user);
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    bool success = status >= 200 && status < 300;
    if (success && a->request->response_sink) {
      a->sink_used = true;
      Status st = a->request->response_sink(std::string_view(data, len));
      if (!st.ok()) {
        a->sink_status = std::move(st);
        return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
      }
      return len;
    }
    size_t limit = success ? kMaxBufferedBody : kMaxErrorBody;
    if (a->response.body.size() + len > limit) {
      if (success) {
        a->body_too_large = true;
        return 0;
      }
      return len;  // keep the start of an oversized error body; it names the error
    }
    a->response.body.append(data, len);
    return len;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* a = static_cast<Attempt*>(user);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {
      a->response.headers.clear();  // a new response (after 100 Continue)
      return size * n;
    }
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      a->response.headers.emplace_back(ToLower(Trim(line.substr(0, colon))),
                                       Trim(line.substr(colon + 1)));
    }
    return size * n;
  }
};

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.service.empty()) return InvalidArgument("AWS client: service is required");
  if (options.region.empty()) return InvalidArgument("AWS client: region is required");
  ASSIGN_OR_RETURN(HttpEndpoint ep, ParseEndpoint(options.endpoint));
  options.endpoint = ep.scheme + "://" + ep.authority;
  GlobalInit();
  std::unique_ptr<Client> c(new Client(std::move(options)));
  c->host_ = ep.authority;
  return c;
}

Client::~Client() {
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* Client::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_handles_.empty()) {
      void* h = idle_handles_.back();
      idle_handles_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // keeps the connection cache
      return h;
    }
  }
  return curl_easy_init();
}

void Client::ReleaseHandle(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_handles_.push_back(handle);
}

Result<Response> Client::Send(const Request& request) {
  if (request.body_source && request.body_size < 0) {
    return InvalidArgument("AWS client: a streamed body needs its size");
  }
  bool replayable = !request.body_source;
  std::mt19937 rng(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    bool sink_used = false;
    Result<Response> r = SendOnce(request, &retryable, &sink_used);
    if (r.ok() || !retryable || !replayable || sink_used || attempt >= options_.max_attempts) {
      return r;
    }
    // Exponential backoff: 50 ms plus up to 100 ms, 200 ms, … of jitter.
    std::uniform_int_distribution<int> jitter(0, 100 << (attempt - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + jitter(rng)));
  }
}

Result<Response> Client::SendOnce(const Request& request, bool* retryable, bool* sink_used) {
  const bool is_s3 = options_.service == "s3";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  SignableRequest signable;
  signable.method = request.method;
  signable.path = UriEncode(request.path.empty() ? "/" : request.path, /*keep_slash=*/true);
  signable.query = request.query;
  signable.headers = request.headers;
  signable.headers.emplace_back("Host", host_);
  if (!request.body_sha256.empty()) {
    signable.payload_sha256 = request.body_sha256;
  } else if (request.body_source) {
    if (is_s3) {
      signable.payload_sha256 = std::string(kUnsignedPayload);
    } else {
      return InvalidArgument("AWS client: a streamed body needs its SHA-256 for " +
                             options_.service);
    }
  } else {
    signable.payload_sha256 = crypto::Sha256Hex(request.body);
  }
  SigningParams params = is_s3 ? SigningParams::ForS3(options_.region, now)
                               : SigningParams::ForService(options_.service, options_.region, now);
  RETURN_IF_ERROR(SignRequest(signable, options_.credentials, params).status());

  std::string url = options_.endpoint + signable.path;
  for (size_t i = 0; i < request.query.size(); ++i) {
    url += (i == 0 ? "?" : "&") + UriEncode(request.query[i].first, false) + "=" +
           UriEncode(request.query[i].second, false);
  }

  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (!curl) return Internal("curl_easy_init failed");
  struct curl_slist* header_list = nullptr;
  for (const auto& [k, v] : signable.headers) {
    // "Name;" is libcurl's spelling of an empty header ("Name:" would remove it).
    header_list = curl_slist_append(header_list, (v.empty() ? k + ";" : k + ": " + v).c_str());
  }
  // Send bodies at once: s3rver and some proxies handle 100-continue poorly, and the
  // signature already authorizes the upload.
  header_list = curl_slist_append(header_list, "Expect:");

  Attempt a;
  a.curl = curl;
  a.request = &request;
  const std::string operation = request.method + " " + request.path;

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Attempt::OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Attempt::OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (m == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (m == "DELETE" && !request.body_source && request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    // PUT, POST, and DELETE with a body: always a Content-Length, even 0 (S3 requires it).
    int64_t size =
        request.body_source ? request.body_size : static_cast<int64_t>(request.body.size());
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Attempt::OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &a);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
  }

  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(header_list);
  if (rc == CURLE_OK) {
    ReleaseHandle(curl);
  } else {
    curl_easy_cleanup(curl);  // its connection may be half-used
  }
  *sink_used = a.sink_used;

  if (!a.source_status.ok()) return a.source_status;
  if (!a.sink_status.ok()) return a.sink_status;
  if (a.body_too_large) {
    return Internal(operation + ": response body larger than " + std::to_string(kMaxBufferedBody) +
                    " bytes");
  }
  if (rc != CURLE_OK) {
    *retryable = true;
    return Status(ErrorCode::kTemporarilyUnavailable,
                  operation + " to " + options_.endpoint + ": " + curl_easy_strerror(rc));
  }
  a.response.status = status;
  if (status < 200 || status >= 300) {
    *retryable = IsRetryableStatus(status);
    return ErrorFromResponse(a.response, operation);
  }
  return std::move(a.response);
}

Result<std::string> JsonProtocolCall(Client& client, std::string_view content_type,
                                     std::string_view target, std::string body,
                                     std::string_view api, std::string_view action) {
  Request req;
  req.method = "POST";
  req.path = "/";
  req.headers = {{"Content-Type", std::string(content_type)},
                 {"X-Amz-Target", std::string(target)}};
  req.body = std::move(body);
  Result<Response> r = client.Send(req);
  if (!r.ok()) {
    std::string msg = r.status().message();
    if (msg.starts_with("POST /: ")) msg.erase(0, 8);
    return Status(r.status().code(), std::string(api) + " " + std::string(action) + ": " + msg);
  }
  return std::move(r->body);
}

}  // namespace studio::aws
