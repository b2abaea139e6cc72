#include "api/server.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>

#include "api/internal/request_guard.h"
#include "api/internal/static_ui.h"
#include "api/router.h"
#include "artifacts/artifact_store.h"
#include "auth/identity.h"
#include "common/error_mapping.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/strings.h"

namespace studio::api {
namespace {

// Per-request state on the worker thread: httplib runs pre-routing, the handler, the error
// handler and the logger for one request on the same thread, in that order.
struct RequestState {
  bool active = false;
  std::string request_id;
  std::string route = "unmatched";
  std::string user;
  std::chrono::steady_clock::time_point start;
};
thread_local RequestState t_state;

RequestState& StateFor(const httplib::Request& req) {
  if (!t_state.active) {
    t_state.active = true;
    t_state.start = std::chrono::steady_clock::now();
    t_state.route = "unmatched";
    t_state.user.clear();
    std::string rid = req.get_header_value("X-Request-Id");
    t_state.request_id = IsSaneRequestId(rid) ? rid : NewUuidV7();
  }
  return t_state;
}

std::string ToRegex(const std::string& path, std::vector<std::string>* names) {
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  std::string out;
  auto begin = std::sregex_iterator(path.begin(), path.end(), kParam);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += path.substr(last, it->position() - last);
    // MLflow's <path:artifact_path>: the one parameter that spans '/'.
    out += (*it)[1] == "artifact_path" ? "(.+)" : "([^/]+)";
    names->push_back((*it)[1]);
    last = it->position() + it->length();
  }
  out += path.substr(last);
  return out;
}

void ParseQuery(const std::string& target, std::multimap<std::string, std::string>* out) {
  size_t q = target.find('?');
  if (q == std::string::npos) return;
  std::string_view rest(target);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    // Form encoding: '+' is a space (before decoding, so %2B stays a '+').
    auto decode = [](std::string_view v) {
      std::string plus(v);
      for (char& c : plus)
        if (c == '+') c = ' ';
      return PercentDecode(plus);
    };
    std::string key = decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    out->emplace(std::move(key), std::move(value));
  }
}

constexpr const char* kRefusedBodyPath = "/__studio/refused-body";

class HttpApiServer final : public ApiServer {
 public:
  explicit HttpApiServer(Options o)
      : options_(std::move(o)),
        identity_(*options_.store),
        services_{options_.config, *options_.store, identity_, limiter_, metrics_},
        guard_(options_.config) {}

  Status Init() {
    ASSIGN_OR_RETURN(artifact_store_, artifacts::OpenArtifactStore(options_.config.ArtifactsUri()));
    services_.artifacts = artifact_store_.get();
    AddAuthRoutes(routes_, services_);
    AddUserRoutes(routes_, services_);
    AddProjectRoutes(routes_, services_);
    AddAuditRoutes(routes_, services_);
    AddMlflowRegistryRoutes(routes_, services_);
    AddModelRoutes(routes_, services_);
    AddMlflowArtifactRoutes(routes_, services_);
    AddMlflowTrackingRoutes(routes_, services_);
    RETURN_IF_ERROR(AddMonitorRoutes(routes_, services_));
    AddPipelineRoutes(routes_, services_);
    RETURN_IF_ERROR(AddRunRoutes(routes_, services_));
    AddDeploymentRoutes(routes_, services_);
    AddSystemRoutes(routes_, services_, routes_);
    // The web console owns `/` for browsers and every non-API GET path (SPA fallback).
    ASSIGN_OR_RETURN(std::string ui_dir, FindUiDir(options_.config.ui_dir));
    RegisterStaticUi(http_, ui_dir);
    for (const Route& r : routes_) Register(r);
    RegisterBodySinks();  // after the routes: httplib tries handlers in registration order
    ConfigureServer();
    return Status::Ok();
  }

  Status Bind() override {
    const Config& c = options_.config;
    if (c.port == 0) {
      port_ = http_.bind_to_any_port(c.host);
      if (port_ <= 0) return Status(ErrorCode::kTemporarilyUnavailable, "cannot bind " + c.host);
    } else {
      if (!http_.bind_to_port(c.host, c.port))
        return Status(ErrorCode::kTemporarilyUnavailable, "cannot listen on " + c.host + ":" +
                                                              std::to_string(c.port) +
                                                              " (address in use or not permitted)");
      port_ = c.port;
    }
    services_.bound_port = port_;
    return Status::Ok();
  }

  int port() const override { return port_; }

  Status Serve() override {
    std::string host = options_.config.host == "0.0.0.0" ? "127.0.0.1"
                       : options_.config.host == "::"    ? "[::1]"
                                                         : options_.config.host;
    for (auto& f : services_.on_listening) f("http://" + host + ":" + std::to_string(port_));
    if (!http_.listen_after_bind()) return Internal("HTTP server stopped unexpectedly");
    return Status::Ok();
  }

  void Stop() override { http_.stop(); }

 private:
  void ConfigureServer() {
    const Config& c = options_.config;
    http_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    http_.set_tcp_nodelay(true);
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind a port in use.
    http_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http_.set_keep_alive_max_count(10000);
    http_.set_keep_alive_timeout(5);
    http_.set_read_timeout(30);
    http_.set_write_timeout(30);
    // httplib's own cap is the larger of the two; JSON bodies are held to body_limit in
    // Dispatch (read through a content reader, so an oversized one is drained, not buffered).
    http_.set_payload_max_length(static_cast<size_t>(std::max(c.body_limit, c.artifact_limit)));
    http_.set_default_headers({
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Content-Security-Policy",
         "default-src 'self'; frame-ancestors 'none'; object-src 'none'"},
        {"Cache-Control", "no-store"},
    });
    http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      RequestState& st = StateFor(req);
      NeutralizeMultipart(const_cast<httplib::Request&>(req));
      DivertBodyOnBodilessMethods(const_cast<httplib::Request&>(req));
      Status host = guard_.CheckHost(req.get_header_value("Host"));
      if (host.ok()) return httplib::Server::HandlerResponse::Unhandled;
      WriteError(res, st, host);
      return httplib::Server::HandlerResponse::Handled;
    });
    http_.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request& req, httplib::Response& res) {
          RequestState& st = StateFor(req);
          if (res.body.empty()) {
            Status err(ErrorCodeForHttpStatus(res.status),
                       res.status == 404   ? "no such endpoint: " + req.method + " " + req.path
                       : res.status == 413 ? "request body exceeds the configured limit"
                                           : "request refused");
            res.set_content(ErrorBody(err), "application/json");
          }
          if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", st.request_id);
          return httplib::Server::HandlerResponse::Handled;
        }));
    http_.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
          RequestState& st = StateFor(req);
          std::string what = "unknown";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          log::ScopedContext ctx(st.request_id);
          log::Error("unhandled exception", {{"error", what}});
          WriteError(res, st, Internal("internal error (request id " + st.request_id + ")"));
        });
    http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      RequestState& st = StateFor(req);
      double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - st.start).count();
      std::string code = std::to_string(res.status);
      metrics_
          .GetCounter("studio_http_requests_total",
                      "HTTP requests by method, route and status code.",
                      {{"method", req.method}, {"route", st.route}, {"code", code}})
          .Inc();
      metrics_
          .GetHistogram("studio_http_request_duration_seconds", "HTTP request latency in seconds.",
                        metrics::DefaultLatencyBuckets(),
                        {{"method", req.method}, {"route", st.route}})
          .Observe(secs);
      {
        log::ScopedContext ctx(st.request_id);
        if (!st.user.empty()) log::ScopedContext::SetUser(st.user);
        log::Write(res.status >= 500 ? log::Level::kError : log::Level::kInfo, "request",
                   {{"method", req.method},
                    {"path", req.path},
                    {"route", st.route},
                    {"status", res.status},
                    {"duration_ms", secs * 1000.0},
                    {"remote_addr", req.remote_addr}});
      }
      t_state.active = false;
    });
  }

  // httplib parses multipart bodies itself and, when that fails, answers without reading the
  // rest of the body, which then desynchronizes the keep-alive connection. We never accept
  // multipart, so relabel it: the body is read (and discarded) like any other and the handler
  // answers 415. The Request object is process_request's own, so the write is well-defined.
  static void NeutralizeMultipart(httplib::Request& req) {
    std::string type = req.get_header_value("Content-Type");
    if (ToLower(type).rfind("multipart/", 0) != 0) return;
    req.headers.erase("Content-Type");
    req.headers.emplace("Content-Type", "application/x-refused-" + type.substr(0, type.find(';')));
  }

  static void WriteError(httplib::Response& res, RequestState& st, const Status& status) {
    res.status = HttpStatusFor(status.code());
    res.set_content(ErrorBody(status), "application/json");
    res.set_header("X-Request-Id", st.request_id);
  }

  void Register(const Route& route) {
    std::vector<std::string> names;
    std::string pattern = ToRegex(route.path, &names);
    if (route.method == "GET") {
      http_.Get(pattern,
                [this, &route, names](const httplib::Request& req, httplib::Response& res) {
                  Dispatch(route, names, req, res);
                });
      return;
    }
    // Every method that may carry a body reads it through a content reader, so no body is
    // buffered by httplib beyond our own limits.
    auto streaming = [this, &route, names](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
      Dispatch(route, names, req, res, &reader);
    };
    if (route.method == "POST")
      http_.Post(pattern, streaming);
    else if (route.method == "PATCH")
      http_.Patch(pattern, streaming);
    else if (route.method == "PUT")
      http_.Put(pattern, streaming);
    else if (route.method == "DELETE")
      http_.Delete(pattern, streaming);
  }

  // Bodies sent where none is accepted (unknown routes, GET with a body) are drained here and
  // answered with an error, instead of being buffered or left on the keep-alive connection.
  void RegisterBodySinks() {
    auto refuse = [](int status, const char* message) {
      return [status, message](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
        reader([](const char*, size_t) { return true; });
        RequestState& st = StateFor(req);
        std::string text = std::string(message) + ": " + req.path;
        WriteError(
            res, st,
            Status(status == 404 ? ErrorCode::kEndpointNotFound : ErrorCode::kBadRequest, text));
        res.status = status;
      };
    };
    http_.Post(kRefusedBodyPath, refuse(400, "this method takes no request body"));
    for (const char* pattern : {".*"}) {
      http_.Post(pattern, refuse(404, "no such endpoint"));
      http_.Put(pattern, refuse(404, "no such endpoint"));
      http_.Patch(pattern, refuse(404, "no such endpoint"));
      http_.Delete(pattern, refuse(404, "no such endpoint"));
    }
  }

  // GET/HEAD/OPTIONS with a body go to the drain route above (httplib would buffer it whole).
  static void DivertBodyOnBodilessMethods(httplib::Request& req) {
    if (req.method != "GET" && req.method != "HEAD" && req.method != "OPTIONS") return;
    bool has_body =
        req.has_header("Transfer-Encoding") ||
        (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
    if (!has_body) return;
    req.method = "POST";
    req.path = kRefusedBodyPath;
  }

  // Reads a JSON body of at most `limit` bytes; beyond it, drains the rest (keeping the
  // connection in step) and reports 413.
  static Status ReadLimitedBody(const httplib::ContentReader& reader, int64_t limit,
                                std::string* out) {
    bool too_large = false;
    bool ok = reader([&](const char* data, size_t n) {
      if (too_large || static_cast<int64_t>(out->size() + n) > limit) {
        too_large = true;
        out->clear();
        return true;
      }
      out->append(data, n);
      return true;
    });
    if (too_large)
      return Status(ErrorCode::kPayloadTooLarge, "request body exceeds the configured limit");
    if (!ok) return Status(ErrorCode::kBadRequest, "the request body could not be read");
    return Status::Ok();
  }

  void Dispatch(const Route& route, const std::vector<std::string>& names,
                const httplib::Request& raw, httplib::Response& res,
                const httplib::ContentReader* reader = nullptr) {
    RequestState& st = StateFor(raw);
    st.route = route.path;
    HttpRequest req;
    req.method = raw.method;
    req.path = raw.path;
    req.body = raw.body;
    req.remote_addr = raw.remote_addr;
    for (const auto& [k, v] : raw.headers) req.headers.emplace(ToLower(k), v);
    // httplib splits `tag=team=risk` on every '='; parse the raw target on the first one.
    ParseQuery(raw.target, &req.query);
    for (size_t i = 0; i < names.size() && i + 1 < raw.matches.size(); ++i)
      req.path_params[names[i]] = raw.matches[i + 1];
    bool body_read = reader == nullptr;
    Status status;
    if (reader && !route.stream_body) {
      body_read = true;
      status = ReadLimitedBody(*reader, options_.config.body_limit, &req.body);
    } else if (reader) {
      req.read_body = [reader, &body_read](const std::function<bool(const char*, size_t)>& fn) {
        body_read = true;
        return (*reader)([&](const char* data, size_t n) { return fn(data, n); });
      };
    }

    RequestContext ctx{req, st.request_id};
    log::ScopedContext log_ctx(st.request_id);
    HttpResponse out;
    nlohmann::json body;
    if (status.ok()) status = guard_.Admit(route, req, identity_, limiter_, ctx, &body);
    if (status.ok()) {
      st.user = ctx.principal.username;
      log::ScopedContext::SetUser(st.user);
      if (route.takes_body) ctx.body = &body;
      status = route.handler(ctx, out);
    }
    // A streamed body the handler never read is drained, so the keep-alive connection stays
    // in step (httplib reads other routes' bodies before dispatch in the same way).
    if (!body_read) (*reader)([](const char*, size_t) { return true; });
    if (!status.ok()) {
      if (status.code() == ErrorCode::kInternalError)
        log::Error("request failed", {{"error", status.message()}});
      WriteError(res, st, status);
      return;
    }
    res.status = out.status;
    if (out.stream && out.stream_length >= 0) {
      std::string request_id = st.request_id;
      auto sent_once = std::make_shared<bool>(false);
      size_t length = static_cast<size_t>(out.stream_length);
      auto provider = [stream = std::move(out.stream), request_id, sent_once, length](
                          size_t, size_t, httplib::DataSink& sink) {
        // One call writes the whole body. A second call means fewer bytes than announced, and
        // more would overrun Content-Length (the object changed underneath): abort either way
        // rather than send a corrupt body.
        if (*sent_once) return false;
        *sent_once = true;
        size_t sent = 0;
        Status s = stream([&](std::string_view chunk) {
          if (sent + chunk.size() > length) return false;
          sent += chunk.size();
          return sink.write(chunk.data(), chunk.size());
        });
        if (!s.ok()) {
          log::ScopedContext ctx(request_id);
          log::Warn("streamed response aborted", {{"error", s.message()}});
          return false;
        }
        return true;
      };
      res.set_content_provider(length, out.content_type, std::move(provider));
    } else if (out.stream) {
      std::string request_id = st.request_id;
      res.set_chunked_content_provider(
          out.content_type,
          [stream = std::move(out.stream), request_id](size_t, httplib::DataSink& sink) {
            Status s = stream(
                [&](std::string_view chunk) { return sink.write(chunk.data(), chunk.size()); });
            if (!s.ok()) {
              log::ScopedContext ctx(request_id);
              log::Warn("streamed response aborted", {{"error", s.message()}});
              return false;
            }
            sink.done();
            return true;
          });
    } else if (out.status != 204) {
      res.set_content(out.body, out.content_type.c_str());
    }
    for (const auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
    res.set_header("X-Request-Id", st.request_id);
  }

  Options options_;
  std::unique_ptr<artifacts::ArtifactStore> artifact_store_;
  auth::LoginLimiter limiter_;
  metrics::Registry metrics_;
  auth::Identity identity_;
  Services services_;
  RequestGuard guard_;
  RouteTable routes_;
  httplib::Server http_;
  int port_ = 0;
};

}  // namespace

Result<std::unique_ptr<ApiServer>> ApiServer::Create(Options options) {
  if (!options.store) return InvalidArgument("ApiServer needs a store");
  auto server = std::make_unique<HttpApiServer>(std::move(options));
  RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<ApiServer>(std::move(server));
}

}  // namespace studio::api
