#include <charconv>
#include <cstring>
#include <random>

#include "common/error_mapping.h"
#include "serving/http/http_server.h"
#include "serving/http/internal/util.h"

namespace studio::serving::http {

using internal::IEquals;

std::string_view Request::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string_view Request::Param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return {};
}

std::string_view Request::QueryParam(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    size_t eq = part.find('=');
    std::string_view key = part.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool PercentDecode(std::string_view in, std::string* out, bool form) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

void Response::SetError(const Status& status) {
  this->status = HttpStatusFor(status.code());
  content_type = "application/json";
  body = ErrorBody(status);
}

void Response::SetError(int http_status, std::string_view error_code, std::string_view message) {
  status = http_status;
  content_type = "application/json";
  body.clear();
  body += "{\"error_code\":\"";
  internal::AppendJsonEscaped(&body, error_code);
  body += "\",\"message\":\"";
  internal::AppendJsonEscaped(&body, message);
  body += "\"}";
}

namespace internal {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x != y) {
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
      if (x != y) return false;
    }
  }
  return true;
}

namespace {
std::vector<std::string> SplitPath(std::string_view p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
bool IsParam(const std::string& seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}
}  // namespace

void Router::Add(std::string method, std::string pattern, Handler h, StreamHandler s) {
  Route* r = nullptr;
  for (auto& route : routes_) {
    if (route.pattern == pattern) r = &route;
  }
  if (r == nullptr) {
    Route nr;
    nr.pattern = pattern;
    nr.segments = SplitPath(pattern);
    for (const auto& seg : nr.segments) {
      if (IsParam(seg)) nr.exact = false;
    }
    routes_.push_back(std::move(nr));
    r = &routes_.back();
  }
  for (size_t i = 0; i < r->methods.size(); ++i) {
    if (r->methods[i] == method) {  // re-registration replaces
      r->handlers[i] = std::move(h);
      r->streams[i] = std::move(s);
      return;
    }
  }
  if (!r->allow.empty()) r->allow += ", ";
  r->allow += method;
  r->methods.push_back(std::move(method));
  r->handlers.push_back(std::move(h));
  r->streams.push_back(std::move(s));
}

Router::Match Router::Find(std::string_view method, std::string_view path,
                           std::vector<StringPair>* params) const {
  params->clear();
  const Route* found = nullptr;
  for (const auto& r : routes_) {  // exact routes win over patterns
    if (r.exact && r.pattern == path) {
      found = &r;
      break;
    }
  }
  if (found == nullptr) {
    for (const auto& r : routes_) {
      if (r.exact) continue;
      params->clear();
      std::string_view rest = path;
      bool ok = true;
      for (size_t i = 0; i < r.segments.size() && ok; ++i) {
        size_t j = rest.find('/');
        bool last = i + 1 == r.segments.size();
        if ((j == std::string_view::npos) != last) {
          ok = false;
          break;
        }
        std::string_view seg = rest.substr(0, j);
        const std::string& want = r.segments[i];
        if (IsParam(want)) {
          if (seg.empty()) ok = false;
          std::string_view name(want);
          params->emplace_back(name.substr(1, name.size() - 2), seg);
        } else if (seg != want) {
          ok = false;
        }
        if (!last) rest.remove_prefix(j + 1);
      }
      if (ok) {
        found = &r;
        break;
      }
    }
  }
  Match m;
  if (found == nullptr) {
    params->clear();
    return m;
  }
  for (size_t i = 0; i < found->methods.size(); ++i) {
    if (found->methods[i] == method) {
      if (found->streams[i]) {
        m.kind = Kind::kStream;
        m.stream = &found->streams[i];
      } else {
        m.kind = Kind::kHandler;
        m.handler = &found->handlers[i];
      }
      return m;
    }
  }
  m.kind = Kind::kMethodNotAllowed;
  m.allow = found->allow;
  return m;
}

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view GenerateRequestId(char* buf) {
  // A per-thread random prefix plus a counter: unique across threads and restarts, no syscall.
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local char prefix[17] = {};
  thread_local uint64_t counter = 0;
  if (prefix[0] == 0) {
    std::random_device rd;
    uint64_t r = (uint64_t{rd()} << 32) ^ rd();
    for (int i = 0; i < 16; ++i) prefix[i] = kHex[(r >> (i * 4)) & 15];
  }
  std::memcpy(buf, prefix, 16);
  buf[16] = '-';
  auto res = std::to_chars(buf + 17, buf + 40, ++counter, 16);
  return {buf, static_cast<size_t>(res.ptr - buf)};
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

void AppendJsonEscaped(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (u < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(c);
    }
  }
}

void AppendHead(std::string* out, const HeadSpec& s) {
  char num[24];
  out->append("HTTP/1.1 ");
  auto r = std::to_chars(num, num + sizeof(num), s.status);
  out->append(num, r.ptr);
  out->push_back(' ');
  out->append(ReasonPhrase(s.status));
  out->append("\r\nServer: studio\r\nX-Request-Id: ");
  out->append(s.request_id);
  if (!s.content_type.empty()) {
    out->append("\r\nContent-Type: ");
    out->append(s.content_type);
  }
  if (s.headers != nullptr) {
    for (const auto& [k, v] : *s.headers) {
      out->append("\r\n");
      out->append(k);
      out->append(": ");
      out->append(v);
    }
  }
  for (const auto& [k, v] : s.header_views) {
    out->append("\r\n");
    out->append(k);
    out->append(": ");
    out->append(v);
  }
  if (s.retry_after) out->append("\r\nRetry-After: 1");
  if (s.chunked) {
    out->append("\r\nTransfer-Encoding: chunked");
  } else {
    out->append("\r\nContent-Length: ");
    r = std::to_chars(num, num + sizeof(num), s.content_length);
    out->append(num, r.ptr);
  }
  if (s.close) {
    out->append("\r\nConnection: close");
  } else if (s.keep_alive_10) {
    out->append("\r\nConnection: keep-alive");
  }
  out->append("\r\n\r\n");
}

}  // namespace internal
}  // namespace studio::serving::http
