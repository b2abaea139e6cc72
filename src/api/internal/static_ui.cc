#include "api/internal/static_ui.h"

#include <httplib.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/strings.h"
#include "common/version.h"

namespace studio::api {
namespace fs = std::filesystem;
namespace {

constexpr const char* kHtmlPolicy =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'";

bool HasIndex(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "index.html", ec);
}

fs::path ExecutableDir() {
  std::array<char, 4096> buf{};
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  return fs::path(std::string(buf.data(), static_cast<size_t>(n))).parent_path();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kResourceDoesNotExist, "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void SetHeader(httplib::Response& res, const char* name, const std::string& value) {
  res.headers.erase(name);  // replaces the server's default (Cache-Control: no-store, CSP)
  res.set_header(name, value);
}

// An empty error response: the server's error handler writes the usual JSON error body and
// X-Request-Id, exactly as for an unknown API route.
void Refuse(httplib::Response& res, int status) {
  res.status = status;
  res.body.clear();
}

bool IsApiPath(const std::string& p) {
  for (const char* prefix : {"/api/", "/ajax-api/", "/__studio/"})
    if (p.rfind(prefix, 0) == 0) return true;
  for (const char* exact : {"/api", "/ajax-api", "/metrics", "/healthz", "/readyz"})
    if (p == exact) return true;
  return false;
}

}  // namespace

Result<std::string> FindUiDir(const std::string& configured) {
  if (configured == "none" || configured == "off") return std::string();
  std::error_code ec;
  if (!configured.empty()) {
    fs::path dir = fs::weakly_canonical(fs::absolute(configured), ec);
    if (ec || !HasIndex(dir))
      return InvalidArgument("ui_dir '" + configured +
                             "' has no index.html (build it with "
                             "`npm run build` in frontend/, or set ui_dir to none)")
          .WithDetail("ui_dir", "no index.html");
    return dir.string();
  }
  fs::path dir = ExecutableDir();
  for (int depth = 0; depth < 5 && !dir.empty(); ++depth) {
    for (const char* sub : {"frontend/dist", "ui", "share/studio/ui"}) {
      fs::path candidate = dir / sub;
      if (HasIndex(candidate)) return fs::canonical(candidate, ec).string();
    }
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return std::string();
}

Result<std::string> ResolveUiFile(const std::string& root, const std::string& url_path) {
  for (unsigned char c : url_path)
    if (c < 0x20 || c == 0x7f || c == '\\')
      return InvalidArgument("path has a control character or backslash");
  std::string rel = url_path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) rel = "index.html";
  for (const std::string& seg : SplitAndTrim(rel, '/'))
    if (seg == "." || seg == "..") return InvalidArgument("path has a '.' or '..' segment");
  std::error_code ec;
  fs::path full = fs::path(root) / rel;
  if (!fs::is_regular_file(full, ec))
    return Status(ErrorCode::kResourceDoesNotExist, "no such file: " + url_path);
  fs::path real = fs::canonical(full, ec);
  if (ec) return Status(ErrorCode::kResourceDoesNotExist, "no such file: " + url_path);
  std::string real_s = real.string();
  if (real_s.size() <= root.size() || real_s.compare(0, root.size(), root) != 0 ||
      real_s[root.size()] != '/')
    return InvalidArgument("path resolves outside the console directory");
  return real_s;
}

std::string UiContentType(const std::string& file_name) {
  std::string ext = ToLower(fs::path(file_name).extension().string());
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  };
  for (const auto& [e, type] : kTypes)
    if (ext == e) return type;
  return "application/octet-stream";
}

void RegisterStaticUi(httplib::Server& http, const std::string& ui_dir) {
  if (ui_dir.empty()) return;
  std::string root = ui_dir;
  // Every GET outside the API prefixes; API paths fall through to the route table (and its 404).
  http.Get(R"(/(?!api/|api$|ajax-api/|ajax-api$|metrics$|healthz$|readyz$|__studio/).*)",
           [root](const httplib::Request& req, httplib::Response& res) {
             if (IsApiPath(req.path)) return Refuse(res, 404);
             // `/` for an API client (no text/html in Accept) stays the JSON service index.
             std::string accept = req.get_header_value("Accept");
             if (req.path == "/" && accept.find("text/html") == std::string::npos) {
               res.set_content(std::string(R"({"service":"mlops-studio","version":")") +
                                   kStudioVersion +
                                   R"(","api":"/api/v1","openapi":"/api/openapi.json",)"
                                   R"("health":"/healthz","metrics":"/metrics","ui":"/"})",
                               "application/json");
               return;
             }
             auto file = ResolveUiFile(root, req.path);
             bool is_asset = req.path.rfind("/assets/", 0) == 0;
             if (!file.ok() && file.status().code() != ErrorCode::kResourceDoesNotExist)
               return Refuse(res, 400);
             // SPA fallback for page navigations (browsers ask for text/html); an API client or a
             // missing hashed asset gets the usual 404.
             bool wants_html = accept.find("text/html") != std::string::npos;
             if (!file.ok() && (is_asset || !wants_html)) return Refuse(res, 404);
             std::string path = file.ok() ? *file : root + "/index.html";
             auto body = ReadFile(path);
             if (!body.ok()) return Refuse(res, 404);
             std::string type = UiContentType(path);
             bool html = type.rfind("text/html", 0) == 0;
             SetHeader(res, "Cache-Control",
                       is_asset && file.ok() ? "public, max-age=31536000, immutable" : "no-cache");
             if (html) SetHeader(res, "Content-Security-Policy", kHtmlPolicy);
             res.set_content(std::move(*body), type.c_str());
           });
  log::Info("serving the web console", {{"ui_dir", root}});
}

}  // namespace studio::api
