#pragma once

// Event-driven HTTP/1.1 server for the inference data path (serve-model, the deployment router).
// Boost.Beast/Asio stay behind the pimpl: including this header costs no Asio compile time.
//
// Model: N IO threads, each with its own io_context and its own SO_REUSEPORT acceptor; handlers
// run inline on the IO thread (predictions are µs-scale, a handoff would cost more than the work).
// Streaming routes (large bodies) run on a small bounded pool of blocking threads instead.
// Per-thread io_contexts beat one io_context shared by N threads on this 2-core VM (wrk /ping,
// 2 threads: 37k vs 33k req/s at 16 connections, p50 25 vs 32-37 µs at 1 connection): no
// locking in the reactor, no cross-thread handler hand-off. The price: a connection stays on
// the thread the kernel hashed it to, so one slow handler delays that thread's connections.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace studio::serving::http {

using StringPair = std::pair<std::string_view, std::string_view>;

// Views into the connection's buffer: valid only for the duration of the handler call.
struct Request {
  std::string_view method;
  std::string_view target;  // raw request-target: path[?query]
  std::string_view path;    // raw (not percent-decoded)
  std::string_view query;   // raw, without '?'
  std::string_view body;    // empty for streaming routes (read it with BodyReader)
  // The client's X-Request-Id if valid ([A-Za-z0-9._-]{1,128}), else a generated one.
  std::string_view request_id;
  int version = 11;  // 10 or 11
  std::span<const StringPair> headers;
  std::span<const StringPair> params;  // "{name}" path segments of the matched route

  // Case-insensitive; "" if absent.
  std::string_view Header(std::string_view name) const;
  // Path parameter of the route pattern ("/v2/models/{name}/infer" → Param("name")); "" if absent.
  std::string_view Param(std::string_view name) const;
  // Raw (still percent-encoded) value of the first `name=` in the query; "" if absent.
  std::string_view QueryParam(std::string_view name) const;
};

// Percent-decoding ('+' → ' ' when form is true). Returns false on a malformed escape.
bool PercentDecode(std::string_view in, std::string* out, bool form = true);

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // Status → HTTP status and `{"error_code","message"[,"details"]}` (common/error_mapping.h).
  void SetError(const Status& status);
  // Sets status and a `{"error_code","message"}` JSON body (message is escaped).
  void SetError(int http_status, std::string_view error_code, std::string_view message);
};

using Handler = std::function<void(const Request&, Response&)>;

// Streaming: the request body, read incrementally with bounded memory.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Up to n decoded body bytes into buf; 0 means the body is complete. Sends
  // "100 Continue" first if the client asked for it.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Streaming: a chunked (Transfer-Encoding: chunked) response, written as the handler produces it.
// Small writes are coalesced into chunks of up to 64 KiB; Flush() forces one out.
class ChunkedWriter {
 public:
  virtual ~ChunkedWriter() = default;
  virtual Status Begin(int status, std::string_view content_type,
                       std::span<const StringPair> headers = {}) = 0;
  virtual Status Write(std::string_view data) = 0;
  virtual Status Flush() = 0;
  virtual Status End() = 0;
  virtual bool begun() const = 0;
};

// `request` carries the headers only (empty body). If the handler returns without Begin(), the
// client gets a 500; without End(), the response is ended for it. The connection is closed after.
using StreamHandler = std::function<void(const Request&, BodyReader&, ChunkedWriter&)>;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;     // 0: ephemeral (see Server::port())
  int threads = 0;  // IO threads; 0: hardware concurrency
  int backlog = 4096;
  size_t max_body_bytes = 8u << 20;     // Handle routes; 413 beyond (Content-Length or chunked)
  size_t max_header_bytes = 16u << 10;  // 431 beyond
  int keepalive_timeout_s = 75;         // idle (and slow-request) timeout, checked once a second
  size_t max_inflight = 1024;   // requests between "fully read" and "response written"; 503 beyond
  int max_queue_ms = 0;         // > 0: 503 when a read request waited longer than this to start
  int stream_threads = 1;       // blocking threads for HandleStream routes; 503 when all busy
  int max_connections = 10000;  // further connections are closed at accept
};

struct Stats {
  int64_t in_flight = 0;
  int64_t connections = 0;
  int64_t streams_active = 0;
  uint64_t connections_total = 0;
  uint64_t nodelay_sockets = 0;  // accepted sockets verified to have TCP_NODELAY
  uint64_t requests_total = 0;   // handler or error responses written (not streams)
  uint64_t streams_total = 0;
  uint64_t rejected_overload = 0;  // 503: max_inflight
  uint64_t rejected_queue = 0;     // 503: max_queue_ms
  uint64_t rejected_stream = 0;    // 503: stream pool busy
  uint64_t rejected_connections = 0;
  uint64_t bad_requests = 0;    // 400/413/431
  uint64_t handler_errors = 0;  // handler threw → 500
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Create(Options options);
  ~Server();  // Stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register before Start(). Patterns: exact paths plus "{name}" segments.
  void Handle(std::string method, std::string path_pattern, Handler handler);
  void HandleStream(std::string method, std::string path_pattern, StreamHandler handler);
  void SetNotFound(Handler handler);  // default: 404 {"error_code":"ENDPOINT_NOT_FOUND",...}

  // Binds (port 0 → ephemeral), starts the threads; returns once listening.
  Status Start();
  int port() const;
  // Stops accepting, lets in-flight requests finish (up to `drain`), closes idle keep-alive
  // connections, then closes everything and joins every thread. Not from a handler (it joins
  // the IO threads).
  void Stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));
  Stats stats() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace studio::serving::http
