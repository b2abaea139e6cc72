// The IO side: per-thread io_context + SO_REUSEPORT acceptor, connections with a reused input
// buffer and response, handlers inline, overload shedding, idle sweep, graceful stop.

#include "serving/http/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <thread>

#include "common/log.h"
#include "serving/http/internal/parser.h"
#include "serving/http/internal/stream.h"
#include "serving/http/internal/util.h"

namespace studio::serving::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace internal;  // NOLINT: this file is the implementation of internal/*

namespace {
constexpr size_t kInitialBuffer = 8 << 10;
constexpr size_t kStreamBuffer = 64 << 10;
constexpr size_t kMaxChunkFraming = 1 << 20;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

class Connection;

struct Worker {
  Server::Impl* srv = nullptr;
  Connection* head = nullptr;  // live connections (intrusive list); declared before ioc_
  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  tcp::acceptor acceptor{ioc};
  tcp::socket pending{ioc};
  asio::steady_timer sweep{ioc};
  asio::steady_timer accept_retry{ioc};
  uint64_t tick = 0;
  std::atomic<uint64_t> requests{0};
  std::thread thread;

  void Accept();
  void Sweep();
  template <typename F>
  void ForEach(F f);
};

struct Server::Impl {
  Options opt;
  Router router;
  Handler not_found;
  std::vector<std::unique_ptr<Worker>> workers;
  StreamPool streams;
  int port = 0;
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::atomic<bool> hard_stop{false};

  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> streams_active{0};
  std::atomic<uint64_t> connections_total{0}, nodelay{0}, streams_total{0};
  std::atomic<uint64_t> rejected_overload{0}, rejected_queue{0}, rejected_stream{0};
  std::atomic<uint64_t> rejected_connections{0}, bad_requests{0}, handler_errors{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker* w, tcp::socket s) : w_(w), srv_(w->srv), sock_(std::move(s)) {
    next = w_->head;
    if (next != nullptr) next->prev = this;
    w_->head = this;
    srv_->connections.fetch_add(1, std::memory_order_relaxed);
    in_.Reserve(kInitialBuffer);
    out_.reserve(512);
  }
  ~Connection() {
    if (prev != nullptr) prev->next = next;
    if (next != nullptr) next->prev = prev;
    if (w_->head == this) w_->head = next;
    if (counted_) srv_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    srv_->connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() { Process(); }

  // Stop(): close connections that wait for a new request; the others close after the response.
  void StopIfIdle() {
    if (state_ == State::kReading && in_.end == in_.begin) Close();
    if (state_ == State::kDraining) Close();
  }
  void ForceClose() {
    if (state_ == State::kStreaming) {
      ::shutdown(sock_.native_handle(), SHUT_RDWR);  // wakes the stream thread; it posts the close
      return;
    }
    Close();
  }
  void SweepCheck(uint64_t tick) {
    // kWriting too: a client that sends requests but never reads the responses.
    if (state_ == State::kReading || state_ == State::kWriting) {
      // Ticks are 1 s apart: the first tick may come right away, so ">" gives (T, T+1] seconds.
      if (tick - since_tick_ > static_cast<uint64_t>(srv_->opt.keepalive_timeout_s)) Close();
    } else if (state_ == State::kDraining) {
      if (tick - since_tick_ > 2) Close();
    }
  }

  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class State { kReading, kBusy, kWriting, kStreaming, kDraining, kClosed };

  void StartRead() {
    if (in_.end == in_.cap && !MakeRoom()) return;
    state_ = State::kReading;
    since_tick_ = w_->tick;
    sock_.async_read_some(asio::buffer(in_.data.get() + in_.end, in_.cap - in_.end),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
  }

  // False when the request was answered with an error instead.
  bool MakeRoom() {
    const Options& o = srv_->opt;
    in_.Compact();
    if (in_.end < in_.cap) return true;
    if (!header_done_) {
      if (in_.cap >= o.max_header_bytes + 1024) {
        Fail(431, "request header too large");
        return false;
      }
      in_.Reserve(std::min(in_.cap * 2, o.max_header_bytes + 1024));
      return true;
    }
    if (pr_.chunked) {
      in_.DropParsedAfter(pr_.header_len);  // chunk bodies were copied out
      if (in_.end < in_.cap) return true;
      if (in_.cap > pr_.header_len + kMaxChunkFraming) {
        Fail(400, "chunk framing too long");
        return false;
      }
    }
    // A Content-Length body: OnHeader reserved room for all of it; only pipelined bytes beyond
    // the body could fill the buffer, and parsing does not read further before responding.
    in_.Reserve(in_.cap * 2);
    return true;
  }

  void OnRead(const boost::system::error_code& ec, size_t n) {
    if (state_ == State::kClosed) return;
    if (state_ == State::kDraining) {
      if (ec) return Close();
      in_.begin = in_.parsed = in_.end = 0;
      since_tick_ = w_->tick;
      sock_.async_read_some(asio::buffer(in_.data.get(), in_.cap),
                            [self = shared_from_this()](const boost::system::error_code& e,
                                                        size_t k) { self->OnRead(e, k); });
      return;
    }
    if (ec) return Close();
    in_.end += n;
    if (srv_->opt.max_queue_ms > 0) read_time_ = std::chrono::steady_clock::now();
    Process();
  }

  void Process() {
    state_ = State::kBusy;
    for (;;) {
      if (!parser_) {
        pr_.Clear();
        parser_.emplace(&pr_);
        parser_->header_limit(static_cast<uint32_t>(srv_->opt.max_header_bytes));
        parser_->body_limit(UINT64_MAX);  // not boost::none: 1.74 compares len > none
        header_done_ = false;
      }
      if (in_.parsed == in_.end) return StartRead();
      pr_.base = in_.data.get() + in_.begin;
      pr_.limit = in_.data.get() + in_.end;
      error_code ec;
      size_t k =
          parser_->put(asio::const_buffer(in_.data.get() + in_.parsed, in_.end - in_.parsed), ec);
      in_.parsed += k;
      if (ec == bhttp::error::need_more) return StartRead();
      if (ec) return ParseError(ec);
      if (pr_.foreign_view) return Fail(400, "obsolete header line folding");
      if (!header_done_ && parser_->is_header_done()) {
        header_done_ = true;
        if (!OnHeader()) return;
        parser_->eager(true);
      } else if (k == 0 && !parser_->is_done()) {
        return StartRead();
      }
      if (parser_->is_done()) {
        if (!Respond()) return;
      }
    }
  }

  void ParseError(const error_code& ec) {
    if (ec == bhttp::error::header_limit) return Fail(431, "request header too large");
    if (ec == bhttp::error::body_limit) {
      return Fail(413,
                  "request body exceeds " + std::to_string(srv_->opt.max_body_bytes) + " bytes");
    }
    Fail(400, "malformed request: " + ec.message());
  }

  // After the header: route, limits, 100-continue. False when the connection was taken over.
  bool OnHeader() {
    pr_.header_len = static_cast<uint32_t>(in_.parsed - in_.begin);
    Route();
    expect_continue_ = false;
    for (const auto& [n, v] : pr_.headers) {
      if (IEquals(pr_.View(n), "expect") && IEquals(pr_.View(v), "100-continue")) {
        expect_continue_ = true;
      }
    }
    if (match_.kind == Router::Kind::kStream) {
      HandOffStream();
      return false;
    }
    const size_t limit = srv_->opt.max_body_bytes;
    auto cl = parser_->content_length();
    if (cl && *cl > limit) {
      Fail(413, "request body exceeds " + std::to_string(limit) + " bytes");
      return false;
    }
    pr_.body_limit = limit;
    size_t need = pr_.header_len;
    if (cl) need += static_cast<size_t>(*cl);
    if (parser_->chunked()) need += kStreamBuffer;
    if (in_.cap - in_.begin < need) {  // the whole body fits in place: no growth while reading it
      in_.Compact();
      in_.Reserve(need);
      Route();  // the views moved with the buffer
    }
    if (expect_continue_ && !parser_->is_done() && in_.parsed == in_.end) {
      boost::system::error_code ec;
      size_t n = sock_.write_some(asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25), ec);
      if (n != 25) {  // 25 bytes into an empty send buffer: only fails on a dead connection
        Close();
        return false;
      }
    }
    return true;
  }

  // Views of the current message (re-derived whenever the buffer moves).
  void Route() {
    pr_.base = in_.data.get() + in_.begin;
    pr_.limit = in_.data.get() + in_.end;
    std::string_view target = pr_.View(pr_.target);
    size_t q = target.find('?');
    path_ = target.substr(0, q);
    query_ = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    match_ = srv_->router.Find(pr_.View(pr_.method), path_, &params_);
  }

  void FillRequest(Request* r) {
    if (pr_.base != in_.data.get() + in_.begin) Route();  // the buffer moved while reading the body
    headers_.clear();
    for (const auto& [n, v] : pr_.headers) headers_.emplace_back(pr_.View(n), pr_.View(v));
    r->method = pr_.View(pr_.method);
    r->target = pr_.View(pr_.target);
    r->path = path_;
    r->query = query_;
    r->version = pr_.version;
    r->headers = headers_;
    r->params = params_;
    std::string_view rid = r->Header("x-request-id");
    r->request_id = ValidRequestId(rid) ? rid : GenerateRequestId(rid_);
  }

  // Runs the handler (or the overload/404/405 answer) and writes the response.
  // True when the response went out synchronously and the next request may be parsed.
  bool Respond() {
    Request req;
    FillRequest(&req);
    req.body = pr_.chunked ? std::string_view(pr_.copied) : pr_.View(pr_.body);
    keep_alive_ = parser_->keep_alive();
    int64_t inflight = srv_->in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
    counted_ = true;

    resp_.status = 200;
    resp_.content_type = "application/json";
    resp_.body.clear();
    resp_.headers.clear();
    bool retry_after = false;
    const Options& o = srv_->opt;
    if (static_cast<size_t>(inflight) > o.max_inflight) {
      srv_->rejected_overload.fetch_add(1, std::memory_order_relaxed);
      resp_.SetError(503, ErrorCodeName(ErrorCode::kTemporarilyUnavailable),
                     "server overloaded: too many requests in flight");
      retry_after = true;
    } else if (o.max_queue_ms > 0 && std::chrono::steady_clock::now() - read_time_ >
                                         std::chrono::milliseconds(o.max_queue_ms)) {
      srv_->rejected_queue.fetch_add(1, std::memory_order_relaxed);
      resp_.SetError(503, ErrorCodeName(ErrorCode::kTemporarilyUnavailable),
                     "server overloaded: request queued too long");
      retry_after = true;
    } else if (match_.kind == Router::Kind::kHandler) {
      CallHandler(*match_.handler, req);
    } else if (match_.kind == Router::Kind::kMethodNotAllowed) {
      resp_.SetError(
          405, ErrorCodeName(ErrorCode::kEndpointNotFound),
          "method " + std::string(req.method) + " not allowed for " + std::string(path_));
      resp_.headers.emplace_back("Allow", std::string(match_.allow));
    } else if (srv_->not_found) {
      resp_.status = 404;
      CallHandler(srv_->not_found, req);
    } else {
      resp_.SetError(404, ErrorCodeName(ErrorCode::kEndpointNotFound),
                     "no endpoint " + std::string(req.method) + " " + std::string(path_));
    }
    if (srv_->stopping.load(std::memory_order_relaxed)) keep_alive_ = false;  // Stop() meanwhile
    HeadSpec spec;
    spec.status = resp_.status;
    spec.content_type = resp_.content_type;
    spec.request_id = req.request_id;
    spec.headers = &resp_.headers;
    spec.content_length = resp_.body.size();
    spec.close = !keep_alive_;
    spec.keep_alive_10 = keep_alive_ && req.version == 10;
    spec.retry_after = retry_after;
    out_.clear();
    AppendHead(&out_, spec);
    return Write();
  }

  void CallHandler(const Handler& h, const Request& req) {
    try {
      h(req, resp_);
      return;
    } catch (const std::exception& e) {
      log::Error("handler threw",
                 {{"request_id", req.request_id}, {"path", req.path}, {"error", e.what()}});
    } catch (...) {
      log::Error("handler threw", {{"request_id", req.request_id}, {"path", req.path}});
    }
    srv_->handler_errors.fetch_add(1, std::memory_order_relaxed);
    resp_.headers.clear();
    resp_.SetError(500, ErrorCodeName(ErrorCode::kInternalError), "internal error");
  }

  // An error answered before (or instead of) the handler; the connection closes after it.
  void Fail(int status, std::string message) {
    srv_->bad_requests.fetch_add(1, std::memory_order_relaxed);
    FailWith(status,
             status == 413   ? ErrorCodeName(ErrorCode::kPayloadTooLarge)
             : status == 503 ? ErrorCodeName(ErrorCode::kTemporarilyUnavailable)
                             : ErrorCodeName(ErrorCode::kBadRequest),
             message, false);
  }
  void FailWith(int status, std::string_view code, std::string_view message, bool retry_after) {
    keep_alive_ = false;
    resp_.headers.clear();
    resp_.SetError(status, code, message);
    HeadSpec spec;
    spec.status = status;
    spec.content_type = resp_.content_type;
    // The request id is only known once the header parsed; before that, a fresh one.
    std::string_view rid;
    if (header_done_) {
      for (const auto& [n, v] : pr_.headers) {
        if (IEquals(pr_.View(n), "x-request-id")) rid = pr_.View(v);
      }
    }
    spec.request_id = ValidRequestId(rid) ? rid : GenerateRequestId(rid_);
    spec.content_length = resp_.body.size();
    spec.close = true;
    spec.retry_after = retry_after;
    out_.clear();
    AppendHead(&out_, spec);
    Write();
  }

  // Writes out_ + resp_.body; the direct send usually completes, so no reactor round trip.
  bool Write() {
    state_ = State::kBusy;
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(resp_.body)};
    const size_t total = out_.size() + resp_.body.size();
    boost::system::error_code ec;
    size_t n = sock_.write_some(bufs, ec);
    if (!ec && n == total) return Written();
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      Close();
      return false;
    }
    if (ec) n = 0;
    if (n < out_.size()) {
      bufs = {asio::buffer(out_.data() + n, out_.size() - n), asio::buffer(resp_.body)};
    } else {
      size_t b = n - out_.size();
      bufs = {asio::buffer(resp_.body.data() + b, resp_.body.size() - b), asio::const_buffer()};
    }
    state_ = State::kWriting;
    since_tick_ = w_->tick;
    asio::async_write(sock_, bufs,
                      [self = shared_from_this()](const boost::system::error_code& e, size_t) {
                        if (e || self->state_ == State::kClosed) return self->Close();
                        self->state_ = State::kBusy;
                        if (self->Written()) self->Process();
                      });
    return false;
  }

  // The response is out: account for it, then get ready for the next request (or close).
  bool Written() {
    if (counted_) {
      srv_->in_flight.fetch_sub(1, std::memory_order_relaxed);
      counted_ = false;
    }
    w_->requests.fetch_add(1, std::memory_order_relaxed);
    if (!keep_alive_ || srv_->stopping.load(std::memory_order_relaxed)) {
      LingerClose();
      return false;
    }
    parser_.reset();
    in_.begin = in_.parsed;
    if (in_.begin == in_.end) {
      in_.begin = in_.parsed = in_.end = 0;
      // One large body must not pin its buffer for the connection's lifetime.
      if (in_.cap > kStreamBuffer) {
        in_.data.reset(new char[kInitialBuffer]);
        in_.cap = kInitialBuffer;
      }
    }
    if (resp_.body.capacity() > kStreamBuffer) std::string().swap(resp_.body);
    return true;
  }

  void HandOffStream() {
    Server::Impl* srv = srv_;
    // Everything the stream thread touches is set up before it can start: the header stays in
    // place at the start of a fixed buffer, body bytes flow through the space after it.
    in_.Compact();
    in_.Reserve(pr_.header_len + kStreamBuffer);
    Route();
    parser_->eager(true);
    auto ctx = std::make_shared<StreamContext>();
    ctx->fd = sock_.native_handle();
    ctx->in = &in_;
    ctx->parser = &*parser_;
    ctx->pr = &pr_;
    FillRequest(&ctx->request);
    ctx->expect_continue = expect_continue_;
    ctx->idle_timeout_ms = srv->opt.keepalive_timeout_s * 1000;
    ctx->abort = &srv->hard_stop;
    state_ = State::kStreaming;
    const StreamHandler* handler = match_.stream;
    Worker* w = w_;
    bool ok = srv->streams.TrySubmit([self = shared_from_this(), ctx, handler, srv, w]() mutable {
      srv->streams_active.fetch_add(1);
      RunStream(*ctx, *handler);
      srv->streams_total.fetch_add(1);
      srv->streams_active.fetch_sub(1);
      asio::post(w->ioc, [c = std::move(self)] { c->AfterStream(); });
    });
    if (!ok) {
      state_ = State::kBusy;
      srv->rejected_stream.fetch_add(1, std::memory_order_relaxed);
      FailWith(503, ErrorCodeName(ErrorCode::kTemporarilyUnavailable),
               "all stream workers are busy", true);
    }
  }

  void AfterStream() {
    state_ = State::kBusy;
    if (srv_->hard_stop.load()) return Close();
    LingerClose();
  }

  // Half-close and discard what the client still sends, so unread request bytes do not turn our
  // close into a RST that destroys the response in flight. The sweep ends it after ~2 s.
  void LingerClose() {
    if (state_ == State::kClosed) return;
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec || srv_->stopping.load()) return Close();
    state_ = State::kDraining;
    OnRead({}, 0);
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    boost::system::error_code ec;
    sock_.close(ec);
  }

  Worker* w_;
  Server::Impl* srv_;
  tcp::socket sock_;
  State state_ = State::kBusy;
  InBuffer in_;
  ParsedRequest pr_;
  std::optional<RequestParser> parser_;
  bool header_done_ = false;
  bool expect_continue_ = false;
  bool keep_alive_ = true;
  bool counted_ = false;
  std::string_view path_, query_;
  Router::Match match_;
  std::vector<StringPair> params_, headers_;
  std::string out_;
  Response resp_;
  uint64_t since_tick_ = 0;  // sweep tick when the current read or write wait began
  std::chrono::steady_clock::time_point read_time_;
  char rid_[48];
};

template <typename F>
void Worker::ForEach(F f) {
  for (Connection* c = head; c != nullptr;) {
    Connection* next = c->next;  // f may close c; closing never destroys it synchronously
    f(c);
    c = next;
  }
}

void Worker::Accept() {
  acceptor.async_accept(pending, [this](const boost::system::error_code& ec) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      log::Warn("accept failed", {{"error", ec.message()}});  // EMFILE & co: back off
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](const boost::system::error_code& e) {
        if (!e && acceptor.is_open()) Accept();
      });
      return;
    }
    srv->connections_total.fetch_add(1, std::memory_order_relaxed);
    if (srv->connections.load(std::memory_order_relaxed) >= srv->opt.max_connections) {
      srv->rejected_connections.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      pending.close(ignored);
      return Accept();
    }
    boost::system::error_code e1, e2;
    pending.set_option(tcp::no_delay(true), e1);
    tcp::no_delay check;
    pending.get_option(check, e2);
    if (!e1 && !e2 && check.value()) srv->nodelay.fetch_add(1, std::memory_order_relaxed);
    pending.non_blocking(true, e1);
    auto c = std::make_shared<Connection>(this, std::move(pending));
    pending = tcp::socket(ioc);
    c->Start();
    Accept();
  });
}

void Worker::Sweep() {
  sweep.expires_after(std::chrono::seconds(1));
  sweep.async_wait([this](const boost::system::error_code& ec) {
    if (ec || srv->hard_stop.load()) return;
    ++tick;
    ForEach([this](Connection* c) { c->SweepCheck(tick); });
    Sweep();
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_->started && !impl_->stopped) Stop(std::chrono::milliseconds(0));
}

Result<std::unique_ptr<Server>> Server::Create(Options options) {
  if (options.threads <= 0) {
    options.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (options.backlog <= 0 || options.max_header_bytes < 256 || options.max_inflight == 0 ||
      options.keepalive_timeout_s <= 0 || options.stream_threads <= 0 ||
      options.max_connections <= 0) {
    return InvalidArgument("http server: invalid options");
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Handle(std::string method, std::string path_pattern, Handler handler) {
  impl_->router.Add(std::move(method), std::move(path_pattern), std::move(handler), {});
}

void Server::HandleStream(std::string method, std::string path_pattern, StreamHandler handler) {
  impl_->router.Add(std::move(method), std::move(path_pattern), {}, std::move(handler));
}

void Server::SetNotFound(Handler handler) { impl_->not_found = std::move(handler); }

Status Server::Start() {
  Impl& s = *impl_;
  if (s.started) return Status(ErrorCode::kInternalError, "http server already started");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.opt.host == "localhost" ? "127.0.0.1" : s.opt.host, ec);
  if (ec) return InvalidArgument("http server: bad host '" + s.opt.host + "': " + ec.message());
  int port = s.opt.port;
  for (int i = 0; i < s.opt.threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->srv = &s;
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    w->acceptor.open(ep.protocol(), ec);
    if (!ec) w->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) w->acceptor.set_option(ReusePort(true), ec);
    if (!ec) w->acceptor.bind(ep, ec);
    if (!ec) w->acceptor.listen(s.opt.backlog, ec);
    if (ec) {
      s.workers.clear();
      return Status(ErrorCode::kInternalError, "http server: cannot listen on " + s.opt.host + ":" +
                                                   std::to_string(port) + ": " + ec.message());
    }
    if (port == 0) port = w->acceptor.local_endpoint().port();
    s.workers.push_back(std::move(w));
  }
  s.port = port;
  s.streams.Start(s.opt.stream_threads);
  for (auto& w : s.workers) {
    Worker* wp = w.get();
    wp->guard.emplace(wp->ioc.get_executor());
    wp->Accept();
    wp->Sweep();
    wp->thread = std::thread([wp] {
      for (;;) {
        try {
          wp->ioc.run();
          return;
        } catch (const std::exception& e) {  // handlers catch their own; this is a last resort
          log::Error("http io thread caught exception", {{"error", e.what()}});
        }
      }
    });
  }
  s.started = true;
  log::Info("http server listening",
            {{"host", s.opt.host}, {"port", port}, {"threads", s.opt.threads}});
  return Status::Ok();
}

int Server::port() const { return impl_->port; }

void Server::Stop(std::chrono::milliseconds drain) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  for (auto& w : s.workers) {
    Worker* wp = w.get();
    asio::post(wp->ioc, [wp] {
      boost::system::error_code ec;
      wp->acceptor.close(ec);
      wp->accept_retry.cancel();
      wp->ForEach([](Connection* c) { c->StopIfIdle(); });
    });
  }
  auto deadline = std::chrono::steady_clock::now() + drain;
  while ((s.connections.load() > 0 || s.streams.active() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  s.hard_stop = true;
  for (auto& w : s.workers) {
    Worker* wp = w.get();
    asio::post(wp->ioc, [wp] {
      wp->sweep.cancel();
      wp->ForEach([](Connection* c) { c->ForceClose(); });
    });
  }
  s.streams.Stop();  // stream tasks post their connection's close to the (still running) IO threads
  for (auto& w : s.workers) {
    Worker* wp = w.get();
    asio::post(wp->ioc, [wp] {
      wp->ForEach([](Connection* c) { c->ForceClose(); });
      wp->guard.reset();
    });
  }
  for (auto& w : s.workers) w->thread.join();
  log::Info("http server stopped", {{"port", s.port}});
}

Stats Server::stats() const {
  const Impl& s = *impl_;
  Stats st;
  st.in_flight = s.in_flight.load();
  st.connections = s.connections.load();
  st.streams_active = s.streams_active.load();
  st.connections_total = s.connections_total.load();
  st.nodelay_sockets = s.nodelay.load();
  for (const auto& w : s.workers) st.requests_total += w->requests.load();
  st.streams_total = s.streams_total.load();
  st.rejected_overload = s.rejected_overload.load();
  st.rejected_queue = s.rejected_queue.load();
  st.rejected_stream = s.rejected_stream.load();
  st.rejected_connections = s.rejected_connections.load();
  st.bad_requests = s.bad_requests.load();
  st.handler_errors = s.handler_errors.load();
  return st;
}

}  // namespace studio::serving::http
