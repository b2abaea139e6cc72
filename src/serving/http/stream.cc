#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>

#include "common/log.h"
#include "serving/http/internal/stream.h"
#include "serving/http/internal/util.h"

namespace studio::serving::http::internal {

void StreamPool::Start(int threads) {
  size_ = threads < 1 ? 1 : threads;
  for (int i = 0; i < size_; ++i) threads_.emplace_back([this] { Loop(); });
}

bool StreamPool::TrySubmit(std::function<void()> task) {
  std::unique_lock<std::mutex> lock(mu_);
  // A client that reads one stream's end and immediately starts the next can arrive a moment
  // before the finishing thread marks itself free: wait briefly for a slot before refusing
  // (this blocks the calling IO thread, bounded at 100 ms, only when every stream is busy).
  if (!stop_ && busy_.load() >= size_)
    freed_.wait_for(lock, std::chrono::milliseconds(100),
                    [this] { return stop_ || busy_.load() < size_; });
  if (stop_ || busy_.load() >= size_) return false;
  ++busy_;
  queue_.push_back(std::move(task));
  cv_.notify_one();
  return true;
}

void StreamPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void StreamPool::Loop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing accepted left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
    {
      std::lock_guard<std::mutex> lock(mu_);
      --busy_;
    }
    freed_.notify_one();
  }
}

namespace {

constexpr size_t kChunkTarget = 64 << 10;

// Waits for `events` on fd in short slices so a hard stop interrupts it.
bool WaitFd(int fd, short events, int timeout_ms, const std::atomic<bool>* abort) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (abort != nullptr && abort->load()) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, 100);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

Status SendAll(const StreamContext& ctx, iovec* iov, int cnt) {
  while (cnt > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    ssize_t n = ::sendmsg(ctx.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!WaitFd(ctx.fd, POLLOUT, ctx.idle_timeout_ms, ctx.abort)) {
          return Status(ErrorCode::kTemporarilyUnavailable, "write timed out or server stopping");
        }
        continue;
      }
      return Status(ErrorCode::kTemporarilyUnavailable,
                    std::string("client connection lost: ") + std::strerror(errno));
    }
    auto left = static_cast<size_t>(n);
    while (cnt > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --cnt;
    }
    if (cnt > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return Status::Ok();
}

Status SendString(const StreamContext& ctx, std::string_view s) {
  iovec v{const_cast<char*>(s.data()), s.size()};
  return SendAll(ctx, &v, 1);
}

class BodyReaderImpl final : public BodyReader {
 public:
  explicit BodyReaderImpl(StreamContext& ctx) : ctx_(ctx) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (failed_) return Status(ErrorCode::kBadRequest, "request body already failed");
    if (ctx_.parser->is_done() || n == 0) return size_t{0};
    if (ctx_.expect_continue && !continued_) {
      continued_ = true;
      RETURN_IF_ERROR(SendString(ctx_, "HTTP/1.1 100 Continue\r\n\r\n"));
    }
    ParsedRequest& pr = *ctx_.pr;
    InBuffer& in = *ctx_.in;
    pr.sink = buf;
    pr.sink_cap = n;
    pr.sink_len = 0;
    for (;;) {
      if (in.parsed < in.end) {
        pr.base = in.data.get() + in.begin;
        pr.limit = in.data.get() + in.end;
        error_code ec;
        size_t k = ctx_.parser->put(
            boost::asio::const_buffer(in.data.get() + in.parsed, in.end - in.parsed), ec);
        in.parsed += k;
        if (ec && ec != bhttp::error::need_more) {
          failed_ = true;
          return Status(ErrorCode::kBadRequest, "malformed request body: " + ec.message());
        }
        if (pr.sink_len > 0 || ctx_.parser->is_done()) break;
        if (!ec && k > 0) continue;  // a chunk header: keep going
      } else if (ctx_.parser->is_done()) {
        break;
      }
      // Need more input: keep the header in place, drop consumed body bytes, read.
      in.DropParsedAfter(pr.header_len);
      if (in.end == in.cap) {
        failed_ = true;
        return Status(ErrorCode::kBadRequest, "chunk framing line too long");
      }
      ssize_t r = ::recv(ctx_.fd, in.data.get() + in.end, in.cap - in.end, MSG_DONTWAIT);
      if (r > 0) {
        in.end += static_cast<size_t>(r);
        continue;
      }
      if (r == 0) {
        failed_ = true;
        return Status(ErrorCode::kBadRequest, "client closed the connection before the body ended");
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!WaitFd(ctx_.fd, POLLIN, ctx_.idle_timeout_ms, ctx_.abort)) {
          failed_ = true;
          return Status(ErrorCode::kTemporarilyUnavailable,
                        "body read timed out or server stopping");
        }
        continue;
      }
      failed_ = true;
      return Status(ErrorCode::kBadRequest, std::string("read error: ") + std::strerror(errno));
    }
    size_t got = pr.sink_len;
    pr.sink = nullptr;
    pr.sink_cap = pr.sink_len = 0;
    return got;
  }

 private:
  StreamContext& ctx_;
  bool continued_ = false;
  bool failed_ = false;
};

class ChunkedWriterImpl final : public ChunkedWriter {
 public:
  explicit ChunkedWriterImpl(StreamContext& ctx) : ctx_(ctx) {}

  Status Begin(int status, std::string_view content_type,
               std::span<const StringPair> headers) override {
    if (begun_) return Status(ErrorCode::kInternalError, "response already begun");
    begun_ = true;
    HeadSpec spec;
    spec.status = status;
    spec.content_type = content_type;
    spec.request_id = ctx_.request.request_id;
    spec.header_views = headers;
    spec.chunked = true;
    spec.close = true;
    head_.clear();
    AppendHead(&head_, spec);
    pending_.reserve(kChunkTarget);
    return Status::Ok();
  }

  Status Write(std::string_view data) override {
    if (!begun_ || ended_) return Status(ErrorCode::kInternalError, "Write outside Begin/End");
    if (!error_.ok()) return error_;
    if (pending_.size() + data.size() <= kChunkTarget) {
      pending_.append(data);
      return Status::Ok();
    }
    RETURN_IF_ERROR(Flush());
    if (data.size() <= kChunkTarget) {
      pending_.append(data);
      return Status::Ok();
    }
    return SendChunk(data);  // large: its own chunk, no copy
  }

  Status Flush() override {
    if (!begun_ || ended_) return Status(ErrorCode::kInternalError, "Flush outside Begin/End");
    if (!error_.ok()) return error_;
    if (pending_.empty() && head_.empty()) return Status::Ok();
    Status st = SendChunk(pending_);
    pending_.clear();
    return st;
  }

  Status End() override {
    if (!begun_ || ended_) return Status(ErrorCode::kInternalError, "End outside Begin");
    if (!error_.ok()) return error_;
    ended_ = true;
    Status st = pending_.empty() ? Status::Ok() : SendChunk(pending_);
    pending_.clear();
    if (!st.ok()) return st;
    std::string tail = std::move(head_);
    head_.clear();
    tail += "0\r\n\r\n";
    error_ = SendString(ctx_, tail);
    return error_;
  }

  bool begun() const override { return begun_; }
  bool ended() const { return ended_; }

 private:
  // Sends the pending head (if any) and one chunk of `data` (nothing if empty) in one sendmsg.
  Status SendChunk(std::string_view data) {
    char size_line[24];
    auto r = std::to_chars(size_line, size_line + 20, data.size(), 16);
    *r.ptr++ = '\r';
    *r.ptr++ = '\n';
    iovec iov[4];
    int cnt = 0;
    if (!head_.empty()) iov[cnt++] = {head_.data(), head_.size()};
    if (!data.empty()) {
      iov[cnt++] = {size_line, static_cast<size_t>(r.ptr - size_line)};
      iov[cnt++] = {const_cast<char*>(data.data()), data.size()};
      iov[cnt++] = {const_cast<char*>("\r\n"), 2};
    }
    error_ = SendAll(ctx_, iov, cnt);
    head_.clear();
    return error_;
  }

  StreamContext& ctx_;
  std::string head_;
  std::string pending_;
  bool begun_ = false;
  bool ended_ = false;
  Status error_;
};

}  // namespace

bool RunStream(StreamContext& ctx, const StreamHandler& handler) {
  BodyReaderImpl reader(ctx);
  ChunkedWriterImpl writer(ctx);
  log::ScopedContext log_ctx{std::string(ctx.request.request_id)};
  try {
    handler(ctx.request, reader, writer);
  } catch (const std::exception& e) {
    log::Error("stream handler threw", {{"error", e.what()}, {"path", ctx.request.path}});
    if (writer.begun()) return false;  // truncated response: the client sees no final chunk
  } catch (...) {
    log::Error("stream handler threw", {{"path", ctx.request.path}});
    if (writer.begun()) return false;
  }
  if (!writer.begun()) {
    Response r;
    r.SetError(500, ErrorCodeName(ErrorCode::kInternalError),
               "stream handler produced no response");
    (void)writer.Begin(r.status, r.content_type, {});
    (void)writer.Write(r.body);
  }
  if (!writer.ended()) (void)writer.End();
  return ctx.parser->is_done();
}

}  // namespace studio::serving::http::internal
