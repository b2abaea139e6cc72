#pragma once

// Streaming routes: a bounded pool of blocking threads, and the body reader / chunked writer
// they use on the connection's socket (raw non-blocking fd + poll with timeouts, so Stop() can
// interrupt them).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "serving/http/http_server.h"
#include "serving/http/internal/parser.h"

namespace studio::serving::http::internal {

class StreamPool {
 public:
  void Start(int threads);
  // False when every thread is busy (the caller answers 503): no hidden queue.
  bool TrySubmit(std::function<void()> task);
  // Runs the tasks already accepted to completion, then joins.
  void Stop();
  int active() const { return busy_.load(); }

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::atomic<int> busy_{0};       // queued + running
  std::condition_variable freed_;  // a running task finished
  int size_ = 0;
  bool stop_ = false;
};

struct StreamContext {
  int fd = -1;
  InBuffer* in = nullptr;
  RequestParser* parser = nullptr;
  ParsedRequest* pr = nullptr;
  Request request;
  bool expect_continue = false;
  int idle_timeout_ms = 75000;
  const std::atomic<bool>* abort = nullptr;  // set on hard stop
};

// Runs the handler on the calling (stream pool) thread. Returns true when the request body was
// fully consumed.
bool RunStream(StreamContext& ctx, const StreamHandler& handler);

}  // namespace studio::serving::http::internal
