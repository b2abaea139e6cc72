#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "serving/http/http_server.h"

namespace studio::serving::http {
namespace {

using namespace std::chrono_literals;

// A plain blocking client: enough HTTP/1.1 to check what the server sends, byte for byte.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      throw std::runtime_error("connect failed");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  struct Resp {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::vector<size_t> chunk_sizes;
    std::string H(const std::string& k) const {
      auto it = headers.find(k);
      return it == headers.end() ? "" : it->second;
    }
  };
  // Reads one response; status 0 when the connection closed first.
  Resp Read() {
    Resp r;
    size_t eoh;
    while ((eoh = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head = buf_.substr(0, eoh);
    buf_.erase(0, eoh + 4);
    r.status = std::stoi(head.substr(9, 3));
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = line.find(':');
      std::string k = line.substr(0, colon);
      for (auto& c : k) c = static_cast<char>(std::tolower(c));
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v[0] == ' ') v.erase(0, 1);
      r.headers[k] = v;
      pos = next;
    }
    if (r.status == 100) return r;
    if (r.H("transfer-encoding") == "chunked") {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!Fill()) return Resp{};
        }
        size_t n = std::stoul(buf_.substr(0, eol), nullptr, 16);
        buf_.erase(0, eol + 2);
        while (buf_.size() < n + 2) {
          if (!Fill()) return Resp{};
        }
        if (n == 0) {
          buf_.erase(0, 2);
          break;
        }
        r.chunk_sizes.push_back(n);
        r.body.append(buf_, 0, n);
        buf_.erase(0, n + 2);
      }
    } else {
      size_t len = std::stoul(r.H("content-length"));
      while (buf_.size() < len) {
        if (!Fill()) return Resp{};
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    }
    return r;
  }
  Resp Get(const std::string& path, const std::string& extra = "") {
    Send("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n");
    return Read();
  }
  Resp Post(const std::string& path, const std::string& body, const std::string& extra = "") {
    Send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra + "\r\n" + body);
    return Read();
  }
  // True when the server closed the connection (EOF) with nothing more to read.
  bool Closed() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  int fd() const { return fd_; }

 private:
  bool Fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
};

std::unique_ptr<Server> MakeServer(Options opt = {}) {
  if (opt.threads == 0) opt.threads = 2;
  auto s = Server::Create(opt);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  auto server = std::move(s).value();
  server->Handle("GET", "/ping", [](const Request&, Response& r) { r.body = "{\"ok\":true}"; });
  server->Handle("POST", "/echo", [](const Request& req, Response& r) {
    r.content_type = "text/plain";
    r.body.assign(req.body);
  });
  server->Handle("POST", "/v2/models/{name}/versions/{v}/infer",
                 [](const Request& req, Response& r) {
                   r.body = std::string(req.Param("name")) + "@" + std::string(req.Param("v")) +
                            "?" + std::string(req.QueryParam("b"));
                 });
  server->Handle("GET", "/status", [](const Request&, Response& r) {
    r.SetError(Status(ErrorCode::kResourceDoesNotExist, "model \"m\" not found"));
  });
  server->Handle("GET", "/throw",
                 [](const Request&, Response&) { throw std::runtime_error("boom"); });
  server->Handle("GET", "/sleep", [](const Request& req, Response& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::stoi(std::string(req.QueryParam("ms").empty() ? "50" : req.QueryParam("ms")))));
    r.body = "{}";
  });
  return server;
}

TEST(HttpServer, KeepAliveManyRequestsOneConnection) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  for (int i = 0; i < 2000; ++i) {
    auto r = c.Get("/ping");
    ASSERT_EQ(r.status, 200) << i;
    ASSERT_EQ(r.body, "{\"ok\":true}");
    ASSERT_EQ(r.H("server"), "studio");
    ASSERT_EQ(r.H("content-type"), "application/json");
    ASSERT_FALSE(r.H("x-request-id").empty());
    ASSERT_EQ(r.H("connection"), "");
  }
  std::this_thread::sleep_for(20ms);  // the counter moves just after the last write
  auto st = server->stats();
  EXPECT_EQ(st.connections_total, 1u);
  EXPECT_EQ(st.requests_total, 2000u);
  // TCP_NODELAY is verified on the accepted side with getsockopt and counted.
  EXPECT_EQ(st.nodelay_sockets, 1u);
  server->Stop(1s);
}

TEST(HttpServer, PipelinedRequestsAnsweredInOrder) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  c.Send(
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nonePOST /echo HTTP/1.1\r\nContent-Length: "
      "3\r\n\r\ntwoGET /ping HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Read().body, "one");
  EXPECT_EQ(c.Read().body, "two");
  EXPECT_EQ(c.Read().status, 200);
  server->Stop(1s);
}

TEST(HttpServer, PathParamsQueryAndChunkedBody) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  auto r = c.Post("/v2/models/iris/versions/3/infer?a=1&b=x%20y", "{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "iris@3?x%20y");
  c.Send(
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n "
      "world\r\n0\r\n\r\n");
  r = c.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  std::string decoded;
  EXPECT_TRUE(PercentDecode("x%20y+z", &decoded));
  EXPECT_EQ(decoded, "x y z");
  EXPECT_FALSE(PercentDecode("bad%2", &decoded));
  server->Stop(1s);
}

TEST(HttpServer, LargeBodiesMoveTheBufferSafely) {
  auto server = MakeServer();
  server->Handle("POST", "/len/{name}", [](const Request& req, Response& r) {
    r.body = std::string(req.Param("name")) + ":" + std::string(req.QueryParam("q")) + ":" +
             std::to_string(req.body.size()) + ":" + std::string(req.Header("x-tag")) + ":" +
             std::string(req.body.substr(req.body.size() - 3));
  });
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  auto r = c.Post("/len/abc?q=1", std::string(3 << 20, 'x') + "end", "X-Tag: t1\r\n");
  EXPECT_EQ(r.body, "abc:1:3145731:t1:end");
  // Many small chunks: the framing alone overflows the buffer several times.
  std::string req = "POST /len/def?q=2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Tag: t2\r\n\r\n";
  for (int i = 0; i < 100000; ++i) req += "3\r\nabc\r\n";
  req += "3\r\nend\r\n0\r\n\r\n";
  c.Send(req);
  EXPECT_EQ(c.Read().body, "def:2:300003:t2:end");
  EXPECT_EQ(c.Get("/ping").status, 200);
  server->Stop(1s);
}

TEST(HttpServer, NotFoundAndMethodNotAllowed) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  auto r = c.Get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"error_code\":\"ENDPOINT_NOT_FOUND\""), std::string::npos) << r.body;
  EXPECT_FALSE(r.H("x-request-id").empty());
  r = c.Post("/ping", "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.H("allow"), "GET");
  r = c.Get("/ping");  // still usable
  EXPECT_EQ(r.status, 200);
  r = c.Get("/status");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("RESOURCE_DOES_NOT_EXIST"), std::string::npos) << r.body;
  server->Stop(1s);
}

TEST(HttpServer, CustomNotFound) {
  auto server = MakeServer();
  server->SetNotFound([](const Request& req, Response& r) { r.body = std::string(req.path); });
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  auto r = c.Get("/elsewhere");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "/elsewhere");
  server->Stop(1s);
}

TEST(HttpServer, BodyLimits) {
  Options opt;
  opt.max_body_bytes = 1000;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  {
    Client c(server->port());  // rejected from Content-Length alone, before the body is sent
    c.Send("POST /echo HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.body.find("PAYLOAD_TOO_LARGE"), std::string::npos);
    EXPECT_EQ(r.H("connection"), "close");
    EXPECT_TRUE(c.Closed());
  }
  {
    Client c(server->port());
    EXPECT_EQ(c.Post("/echo", std::string(1000, 'a')).status, 200);
    std::string chunk(600, 'b');
    c.Send("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" + chunk +
           "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
    EXPECT_EQ(c.Read().status, 413);
  }
  server->Stop(1s);
}

TEST(HttpServer, HeaderLimitAndMalformed) {
  Options opt;
  opt.max_header_bytes = 4096;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  {
    Client c(server->port());
    auto r = c.Get("/ping", "X-Big: " + std::string(8000, 'a') + "\r\n");
    EXPECT_EQ(r.status, 431);
    EXPECT_TRUE(c.Closed());
  }
  {
    Client c(server->port());
    c.Send("THIS IS NOT HTTP\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("BAD_REQUEST"), std::string::npos);
    EXPECT_TRUE(c.Closed());
  }
  {
    Client c(server->port());
    c.Send("POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n");
    EXPECT_EQ(c.Read().status, 400);
  }
  EXPECT_GE(server->stats().bad_requests, 3u);
  server->Stop(1s);
}

TEST(HttpServer, Http10KeepAliveOnlyWhenAsked) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  {
    Client c(server->port());
    c.Send("GET /ping HTTP/1.0\r\n\r\n");
    auto r = c.Read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.H("connection"), "close");
    EXPECT_TRUE(c.Closed());
  }
  {
    Client c(server->port());
    c.Send("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.Read().H("connection"), "keep-alive");
    c.Send("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.Read().status, 200);
  }
  server->Stop(1s);
}

TEST(HttpServer, RequestIdEchoedOrGenerated) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  EXPECT_EQ(c.Get("/ping", "X-Request-Id: abc-123_x.y\r\n").H("x-request-id"), "abc-123_x.y");
  std::string bad = c.Get("/ping", "X-Request-Id: has space!\r\n").H("x-request-id");
  EXPECT_NE(bad, "has space!");
  EXPECT_FALSE(bad.empty());
  std::string a = c.Get("/ping").H("x-request-id"), b = c.Get("/ping").H("x-request-id");
  EXPECT_NE(a, b);
  EXPECT_EQ(
      c.Get("/ping", "X-Request-Id: " + std::string(129, 'a') + "\r\n").H("x-request-id").size() <
          129,
      true);
  server->Stop(1s);
}

TEST(HttpServer, HandlerExceptionIs500AndConnectionSurvives) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  auto r = c.Get("/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("INTERNAL_ERROR"), std::string::npos);
  EXPECT_EQ(r.body.find("boom"), std::string::npos);  // no internals in responses
  EXPECT_EQ(c.Get("/ping").status, 200);
  EXPECT_EQ(server->stats().handler_errors, 1u);
  server->Stop(1s);
}

TEST(HttpServer, OverloadAnswers503WithRetryAfter) {
  Options opt;
  opt.max_inflight = 1;
  opt.threads = 4;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  std::atomic<int> ok{0}, rejected{0}, other{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      Client c(server->port());
      for (int k = 0; k < 3; ++k) {
        auto r = c.Get("/sleep?ms=50");
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 503 && r.H("retry-after") == "1" &&
                   r.body.find("TEMPORARILY_UNAVAILABLE") != std::string::npos) {
          ++rejected;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(rejected.load(), 0);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(server->stats().rejected_overload, static_cast<uint64_t>(rejected.load()));
  // The count drops just after the last byte went out, maybe after the client read it.
  for (int i = 0; i < 100 && server->stats().in_flight != 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(server->stats().in_flight, 0);
  server->Stop(1s);
}

TEST(HttpServer, QueueTimeLimitAnswers503) {
  Options opt;
  opt.max_queue_ms = 10;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  // Two pipelined requests arrive together; the second waits behind the first's 40 ms handler.
  c.Send("GET /sleep?ms=40 HTTP/1.1\r\n\r\nGET /ping HTTP/1.1\r\n\r\n");
  EXPECT_EQ(c.Read().status, 200);
  auto r = c.Read();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.H("retry-after"), "1");
  EXPECT_EQ(c.Get("/ping").status, 200);
  EXPECT_EQ(server->stats().rejected_queue, 1u);
  server->Stop(1s);
}

TEST(HttpServer, StopCompletesInFlightRequests) {
  auto server = MakeServer();
  ASSERT_TRUE(server->Start().ok());
  Client idle(server->port());
  EXPECT_EQ(idle.Get("/ping").status, 200);
  Client busy(server->port());
  busy.Send("GET /sleep?ms=300 HTTP/1.1\r\n\r\n");
  std::this_thread::sleep_for(50ms);
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server->Stop(5s); });
  auto r = busy.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.H("connection"), "close");
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(idle.Closed());
  EXPECT_TRUE(busy.Closed());
}

TEST(HttpServer, MaxConnectionsClosesExtraConnections) {
  Options opt;
  opt.max_connections = 2;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  Client a(server->port()), b(server->port());
  EXPECT_EQ(a.Get("/ping").status, 200);
  EXPECT_EQ(b.Get("/ping").status, 200);
  Client c(server->port());
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(server->stats().rejected_connections, 1u);
  EXPECT_EQ(a.Get("/ping").status, 200);
  server->Stop(1s);
}

TEST(HttpServer, ClientThatNeverReadsIsDisconnected) {
  Options opt;
  opt.keepalive_timeout_s = 1;
  auto server = MakeServer(opt);
  server->Handle("GET", "/big", [](const Request&, Response& r) { r.body.assign(32 << 20, 'x'); });
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  c.Send("GET /big HTTP/1.1\r\n\r\n");  // 32 MB: more than both socket buffers hold
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(server->stats().connections, 1);  // stuck in the write
  std::this_thread::sleep_for(2500ms);        // the sweep gives up on it after (1, 2] s
  EXPECT_EQ(server->stats().connections, 0);
  server->Stop(1s);
}

TEST(HttpServer, IdleConnectionsTimeOut) {
  Options opt;
  opt.keepalive_timeout_s = 1;
  auto server = MakeServer(opt);
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  EXPECT_EQ(c.Get("/ping").status, 200);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.Closed());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 3500ms);
  server->Stop(1s);
}

// Peak resident set of this process (client and server both live here), in KiB.
long PeakRssKb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f != nullptr && std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atol(line + 6);
  }
  if (f != nullptr) std::fclose(f);
  return kb;
}

// A batch-style stream handler: reads the body in pieces, answers line by line.
void CountingStream(const Request& req, BodyReader& body, ChunkedWriter& out,
                    std::atomic<size_t>* max_piece) {
  std::vector<char> buf(1 << 20);
  size_t total = 0;
  uint64_t sum = 0;
  for (;;) {
    auto n = body.Read(buf.data(), buf.size());
    if (!n.ok()) {
      (void)out.Begin(400, "application/json");
      (void)out.Write(n.status().message());
      return;
    }
    if (*n == 0) break;
    if (*n > max_piece->load()) max_piece->store(*n);
    for (size_t i = 0; i < *n; ++i) sum += static_cast<unsigned char>(buf[i]);
    total += *n;
  }
  StringPair extra[] = {{"X-Model", "m1"}};
  (void)out.Begin(200, "application/x-ndjson", extra);
  for (int i = 0; i < 20000; ++i) (void)out.Write("{\"row\":" + std::to_string(i) + "}\n");
  (void)out.Write("{\"bytes\":" + std::to_string(total) + ",\"sum\":" + std::to_string(sum) +
                  ",\"id\":\"" + std::string(req.request_id) + "\"}\n");
}

TEST(HttpServer, StreamingChunkedUploadIsBounded) {
  auto server = MakeServer();
  std::atomic<size_t> max_piece{0};
  server->HandleStream("POST", "/batch", [&](const Request& r, BodyReader& b, ChunkedWriter& w) {
    CountingStream(r, b, w, &max_piece);
  });
  ASSERT_TRUE(server->Start().ok());
  const long peak_before = PeakRssKb();
  Client c(server->port());
  c.Send("POST /batch HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Request-Id: batch-1\r\n\r\n");
  const size_t kTotal = 50u << 20;
  const size_t kPiece = 256 << 10;
  char hex[32];
  snprintf(hex, sizeof(hex), "%zx\r\n", kPiece);
  const std::string frame = std::string(hex) + std::string(kPiece, 'z') + "\r\n";
  uint64_t want_sum = 0;
  for (size_t sent = 0; sent < kTotal; sent += kPiece) {
    ASSERT_TRUE(c.Send(frame));
    want_sum += kPiece * static_cast<unsigned char>('z');
  }
  c.Send("0\r\n\r\n");
  auto r = c.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.H("transfer-encoding"), "chunked");
  EXPECT_EQ(r.H("x-model"), "m1");
  EXPECT_EQ(r.H("x-request-id"), "batch-1");
  EXPECT_NE(r.body.find("{\"bytes\":" + std::to_string(kTotal) +
                        ",\"sum\":" + std::to_string(want_sum) + ",\"id\":\"batch-1\"}"),
            std::string::npos);
  EXPECT_NE(r.body.find("{\"row\":19999}\n"), std::string::npos);
  EXPECT_LE(max_piece.load(), 64u << 10);  // the server's window, never the whole body
  EXPECT_GT(r.chunk_sizes.size(), 1u);     // the response went out in pieces as produced
#ifndef __SANITIZE_ADDRESS__               // ASan's quarantine keeps freed memory resident
  // 50 MB went through; the process peak grew by far less (buffers, not the body).
  EXPECT_LT(PeakRssKb() - peak_before, 16 * 1024) << "peak RSS grew too much";
#else
  (void)peak_before;
#endif
  EXPECT_TRUE(c.Closed());
  server->Stop(1s);
}

TEST(HttpServer, StreamingContentLengthWithExpectContinue) {
  auto server = MakeServer();
  std::atomic<size_t> max_piece{0};
  server->HandleStream("POST", "/batch", [&](const Request& r, BodyReader& b, ChunkedWriter& w) {
    CountingStream(r, b, w, &max_piece);
  });
  ASSERT_TRUE(server->Start().ok());
  Client c(server->port());
  const size_t kTotal = 3u << 20;
  c.Send("POST /batch HTTP/1.1\r\nContent-Length: " + std::to_string(kTotal) +
         "\r\nExpect: 100-continue\r\n\r\n");
  auto cont = c.Read();
  EXPECT_EQ(cont.status, 100);
  ASSERT_TRUE(c.Send(std::string(kTotal, 'a')));
  auto r = c.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("{\"bytes\":" + std::to_string(kTotal)), std::string::npos);
  server->Stop(1s);
}

TEST(HttpServer, StreamPoolBusyAnswers503) {
  Options opt;
  opt.stream_threads = 1;
  auto server = MakeServer(opt);
  std::atomic<bool> release{false};
  server->HandleStream("POST", "/slow", [&](const Request&, BodyReader& b, ChunkedWriter& w) {
    char buf[1024];
    while (true) {
      auto n = b.Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) break;
    }
    while (!release.load()) std::this_thread::sleep_for(5ms);
    (void)w.Begin(200, "text/plain");
    (void)w.Write("done");
  });
  server->HandleStream("POST", "/nobody", [](const Request&, BodyReader&, ChunkedWriter&) {});
  ASSERT_TRUE(server->Start().ok());
  Client a(server->port());
  a.Send("POST /slow HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");  // held until released
  std::this_thread::sleep_for(100ms);
  Client b(server->port());
  auto r = b.Post("/slow", "y");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.H("retry-after"), "1");
  release = true;
  r = a.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "done");
  std::this_thread::sleep_for(50ms);
  Client n(server->port());
  r = n.Post("/nobody", "");
  EXPECT_EQ(r.status, 500);  // a stream handler that never began a response
  EXPECT_EQ(server->stats().rejected_stream, 1u);
  server->Stop(1s);
}

TEST(HttpServer, StartFailsOnPortInUseWithoutReusePortPeer) {
  auto a = MakeServer();
  ASSERT_TRUE(a->Start().ok());
  // A plain socket (no SO_REUSEPORT) bound elsewhere: binding our server to its port fails.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  Options opt;
  opt.port = ntohs(addr.sin_port);
  auto b = MakeServer(opt);
  EXPECT_FALSE(b->Start().ok());
  ::close(fd);
  a->Stop(1s);
}

}  // namespace
}  // namespace studio::serving::http
