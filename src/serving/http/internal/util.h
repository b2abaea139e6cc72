#pragma once

// Routing, response heads, request ids: the parts of the server that need no Asio.

#include <string>
#include <string_view>
#include <vector>

#include "serving/http/http_server.h"

namespace studio::serving::http::internal {

class Router {
 public:
  enum class Kind { kNotFound, kMethodNotAllowed, kHandler, kStream };
  struct Match {
    Kind kind = Kind::kNotFound;
    const Handler* handler = nullptr;
    const StreamHandler* stream = nullptr;
    std::string_view allow;  // for 405
  };

  void Add(std::string method, std::string pattern, Handler h, StreamHandler s);
  // Fills `params` (cleared first) with views into `path` and the route's names.
  Match Find(std::string_view method, std::string_view path, std::vector<StringPair>* params) const;

 private:
  struct Route {
    std::string pattern;
    std::vector<std::string> segments;  // "{x}" marks a parameter
    bool exact = true;
    std::vector<std::string> methods;
    std::vector<Handler> handlers;
    std::vector<StreamHandler> streams;
    std::string allow;
  };
  std::vector<Route> routes_;
};

bool ValidRequestId(std::string_view id);
// Writes a fresh id into buf (≥ 40 bytes) and returns a view of it.
std::string_view GenerateRequestId(char* buf);

std::string_view ReasonPhrase(int status);
void AppendJsonEscaped(std::string* out, std::string_view s);

// Appends a response head (status line, Server, X-Request-Id, Content-Type, extra headers, then
// Content-Length or Transfer-Encoding: chunked, Connection) and the blank line.
struct HeadSpec {
  int status = 200;
  std::string_view content_type;
  std::string_view request_id;
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::span<const StringPair> header_views;
  bool chunked = false;
  size_t content_length = 0;
  bool close = false;
  bool keep_alive_10 = false;  // HTTP/1.0 client asked for keep-alive: say so
  bool retry_after = false;
};
void AppendHead(std::string* out, const HeadSpec& spec);

bool IEquals(std::string_view a, std::string_view b);

}  // namespace studio::serving::http::internal
