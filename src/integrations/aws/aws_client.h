#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "integrations/aws/sigv4.h"

// A small HTTP client for AWS APIs (libcurl): signs every request with SigV4, streams request
// and response bodies, and turns AWS error bodies into a Status.
namespace studio::aws {

struct ClientOptions {
  // scheme://host[:port] with no path: "https://s3.us-east-1.amazonaws.com",
  // "https://bucket.s3.eu-west-1.amazonaws.com", or "http://127.0.0.1:4568" for a local server.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string service;  // the signing name: "s3", "states", "logs", …
  Credentials credentials;
  long connect_timeout_ms = 10'000;
  // A transfer that moves less than one byte per second for this long is abandoned.
  long stall_timeout_s = 60;
  // Attempts for transport errors, 5xx and throttling when the request can be replayed
  // (a non-streaming body, and no response bytes handed to the sink yet).
  int max_attempts = 3;
};

using BodySource = std::function<Result<size_t>(char* buf, size_t cap)>;
using BodySink = std::function<Status(std::string_view chunk)>;

struct Request {
  std::string method = "GET";
  // Decoded path ("/bucket/a b.txt"); the client percent-encodes each byte but '/'.
  std::string path = "/";
  QueryList query;     // decoded names and values, sent in this order
  HeaderList headers;  // extra headers (Content-Type, x-amz-meta-*, …); Host is added
  // A body held by the caller for the duration of Send.
  std::string_view body;
  // Or a streamed body of exactly `body_size` bytes.
  BodySource body_source;
  int64_t body_size = -1;
  // Hex SHA-256 of the body when the caller already knows it. Otherwise the client hashes
  // `body`, and a streamed body is sent unsigned (UNSIGNED-PAYLOAD, S3 only).
  std::string body_sha256;
  // When set, a successful (2xx) response body is streamed here instead of Response::body.
  BodySink response_sink;
};

struct Response {
  long status = 0;
  HeaderList headers;  // names in lowercase, in arrival order
  std::string body;    // error bodies, and success bodies without a sink

  // The first header of that (lowercase) name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
};

// Maps an AWS error response (REST-XML <Error><Code>/<Message>, or JSON __type/message) and its
// HTTP status to a Status whose message names the operation, the AWS code and the request id.
Status ErrorFromResponse(const Response& response, std::string_view operation);

class Client {
 public:
  static Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Signs and sends. 2xx → the response; other statuses → ErrorFromResponse; transport
  // failures → TEMPORARILY_UNAVAILABLE; an error from the body source or sink is returned as is.
  Result<Response> Send(const Request& request);

  const ClientOptions& options() const { return options_; }
  // "host[:port]" of the endpoint, as sent in the Host header.
  const std::string& host() const { return host_; }

 private:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}
  struct Attempt;
  Result<Response> SendOnce(const Request& request, bool* retryable, bool* sink_used);
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  ClientOptions options_;
  std::string host_;
  std::mutex mu_;
  std::vector<void*> idle_handles_;  // CURL*, kept for connection reuse
};

// A JSON-protocol call (x-amz-json-1.0/1.1): POST / with `content_type` and X-Amz-Target
// `target`; the response body. Errors are renamed "POST /: HTTP 400 X: m" → "<api> <action>:
// HTTP 400 X: m".
Result<std::string> JsonProtocolCall(Client& client, std::string_view content_type,
                                     std::string_view target, std::string body,
                                     std::string_view api, std::string_view action);

}  // namespace studio::aws
