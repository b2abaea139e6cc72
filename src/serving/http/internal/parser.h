#pragma once

// The request parser: Beast's basic_parser with callbacks that record offsets into our own
// input buffer instead of copying fields into a message object (no allocation per request).

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace studio::serving::http::internal {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;

// Offset/length relative to the start of the current message in the input buffer.
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};

// A growable input buffer: [begin, parsed) consumed bytes of the current message,
// [parsed, end) bytes not yet parsed, [end, cap) free space.
struct InBuffer {
  std::unique_ptr<char[]> data;
  size_t cap = 0, begin = 0, parsed = 0, end = 0;

  void Reserve(size_t want_cap) {  // keeps content
    if (want_cap <= cap) return;
    std::unique_ptr<char[]> n(new char[want_cap]);
    if (end > 0) std::memcpy(n.get(), data.get(), end);
    data = std::move(n);
    cap = want_cap;
  }
  // Moves the current message to the start of the buffer (offsets are relative to begin).
  void Compact() {
    if (begin == 0) return;
    std::memmove(data.get(), data.get() + begin, end - begin);
    parsed -= begin;
    end -= begin;
    begin = 0;
  }
  // Drops parsed bytes after `keep` (relative to begin): body bytes already delivered elsewhere.
  void DropParsedAfter(size_t keep) {
    size_t k = begin + keep;
    if (parsed <= k) return;
    std::memmove(data.get() + k, data.get() + parsed, end - parsed);
    end -= parsed - k;
    parsed = k;
  }
};

struct ParsedRequest {
  const char* base = nullptr;   // data + begin, refreshed before each put()
  const char* limit = nullptr;  // data + end
  Span method, target;
  int version = 11;
  std::vector<std::pair<Span, Span>> headers;
  bool foreign_view = false;  // a field Beast rewrote into its own storage (obs-fold): reject
  uint32_t header_len = 0;

  // Body delivery. Normal routes: Content-Length bodies stay in place (contiguous);
  // chunked bodies are copied to `copied`. Streaming: bytes go to the sink.
  bool chunked = false;
  bool body_seen = false;
  Span body;
  std::string copied;
  uint64_t chunked_total = 0;
  uint64_t body_limit = UINT64_MAX;
  char* sink = nullptr;
  size_t sink_cap = 0, sink_len = 0;

  void Clear() {
    method = target = body = Span{};
    version = 11;
    headers.clear();
    foreign_view = chunked = body_seen = false;
    header_len = 0;
    copied.clear();
    chunked_total = 0;
    body_limit = UINT64_MAX;
    sink = nullptr;
    sink_cap = sink_len = 0;
  }
  std::string_view View(Span s) const { return {base + s.off, s.len}; }
};

class RequestParser final : public bhttp::basic_parser<true> {
 public:
  explicit RequestParser(ParsedRequest* r) : r_(r) {}

 private:
  bool ToSpan(std::string_view v, Span* out) {
    const char* b = r_->base;
    if (v.data() < b || v.data() + v.size() > r_->limit) {
      r_->foreign_view = true;
      return false;
    }
    out->off = static_cast<uint32_t>(v.data() - b);
    out->len = static_cast<uint32_t>(v.size());
    return true;
  }
  void on_request_impl(bhttp::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code&) override {
    ToSpan({method.data(), method.size()}, &r_->method);
    ToSpan({target.data(), target.size()}, &r_->target);
    r_->version = version;
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(bhttp::field, boost::beast::string_view name, boost::beast::string_view value,
                     error_code&) override {
    Span n, v;
    if (!ToSpan({name.data(), name.size()}, &n)) return;
    if (value.empty()) {
      v = Span{n.off, 0};
    } else if (!ToSpan({value.data(), value.size()}, &v)) {
      return;
    }
    r_->headers.emplace_back(n, v);
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
  size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    if (r_->sink != nullptr) return ToSink(body);
    if (!r_->body_seen) {
      r_->body_seen = true;
      ToSpan({body.data(), body.size()}, &r_->body);
    } else {
      r_->body.len += static_cast<uint32_t>(body.size());  // contiguous: nothing moves meanwhile
    }
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view,
                            error_code& ec) override {
    r_->chunked = true;
    r_->chunked_total += size;
    if (r_->chunked_total > r_->body_limit) ec = bhttp::error::body_limit;
  }
  size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body, error_code&) override {
    if (r_->sink != nullptr) return ToSink(body);
    r_->copied.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  size_t ToSink(boost::beast::string_view body) {
    size_t n = std::min(body.size(), r_->sink_cap - r_->sink_len);
    std::memcpy(r_->sink + r_->sink_len, body.data(), n);
    r_->sink_len += n;
    return n;
  }

  ParsedRequest* r_;
};

}  // namespace studio::serving::http::internal
