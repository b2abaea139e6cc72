#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/http_client.h"
#include "common/status.h"

namespace studio::cli {

// Where CLI verbs that talk to a server send their requests: --server / STUDIO_SERVER
// (default http://127.0.0.1:8080) with --token / STUDIO_TOKEN as the bearer token.
struct ServerOptions {
  std::string server;
  std::string token;
  ServerOptions Resolved() const;  // fills defaults from the environment
};

// A small JSON-over-HTTP client for the control plane. Errors come back as the server's
// {"error_code","message"} mapped onto our codes, so commands print the server's words.
class ApiClient {
 public:
  static Result<std::unique_ptr<ApiClient>> Create(const ServerOptions& options);
  virtual ~ApiClient() = default;

  virtual Result<nlohmann::json> Get(const std::string& path) = 0;
  virtual Result<nlohmann::json> Send(const std::string& method, const std::string& path,
                                      const nlohmann::json& body) = 0;
  // Streams `size` bytes from `read(offset, buf, n)`; `progress(sent)` after each chunk.
  virtual Status Upload(const std::string& path, int64_t size,
                        const std::function<size_t(int64_t offset, char* buf, size_t n)>& read,
                        const std::function<void(int64_t sent)>& progress) = 0;
  // Streams the response body into `sink`.
  virtual Status Download(const std::string& path,
                          const std::function<bool(const char* data, size_t n)>& sink) = 0;
};

// Downloads every file of a registered model version (mlflow-artifacts:/ sources) into
// `out_dir`, checking the SHA-256 digests recorded at registration.
Status DownloadModelVersion(ApiClient& client, const std::string& name, const std::string& version,
                            const std::string& out_dir, std::vector<std::string>* files);
// The version an alias points at.
Result<std::string> ResolveModelAlias(ApiClient& client, const std::string& name,
                                      const std::string& alias);

using ::studio::UrlEncode;  // "a b" → "a%20b", keeping '/' when `keep_slash`

// A progress bar on stderr, only when stderr is a terminal.
class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  void Update(int64_t done);
  void Finish();

 private:
  std::string label_;
  int64_t total_;
  bool enabled_;
  int last_percent_ = -1;
};

// Prints a server or client error (message, then field problems) to stderr and returns the exit
// code: 1 when the request was refused on its merits (invalid, missing, duplicate, conflicting,
// forbidden), 2 for usage and system errors.
int ReportApiError(const Status& st);

}  // namespace studio::cli
