// `studio serve-model`: resolves the model (a directory, or models:/NAME/VERSION and
// models:/NAME@ALIAS from the registry into a local cache), then runs the inference server
// until SIGTERM/SIGINT; SIGHUP re-resolves the URI and hot-loads what it points at now.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/internal/api_client.h"
#include "common/log.h"
#include "serving/server/model_server.h"

namespace studio::cli {
namespace fs = std::filesystem;
namespace {

// models:/NAME/VERSION or models:/NAME@ALIAS → a package in the cache, downloaded once per
// version (a `.complete` marker makes a half-finished download count as absent).
Result<serving::ModelSource> ResolveRegistryModel(const ServeModelOptions& o,
                                                  const std::string& uri) {
  std::string rest = uri.substr(std::string("models:/").size());
  std::string name, version, alias;
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    name = rest.substr(0, at);
    alias = rest.substr(at + 1);
  } else if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    name = rest.substr(0, slash);
    version = rest.substr(slash + 1);
  }
  if (name.empty() || (version.empty() && alias.empty()))
    return InvalidArgument("'" + uri + "' is not models:/NAME/VERSION or models:/NAME@ALIAS");
  auto client = ApiClient::Create(ServerOptions{o.registry, o.token}.Resolved());
  if (!client.ok()) return client.status();
  if (!alias.empty()) {
    auto v = ResolveModelAlias(**client, name, alias);
    if (!v.ok()) return v.status();
    version = *v;
  }
  std::string safe_name;
  for (char c : name)
    safe_name +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  fs::path dir = fs::path(o.cache_dir) / safe_name / version;
  if (!fs::exists(dir / ".complete")) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) return Internal("cannot create the model cache " + dir.string() + ": " + ec.message());
    if (Status st = DownloadModelVersion(**client, name, version, dir.string(), nullptr); !st.ok())
      return st;
    std::ofstream(dir / ".complete") << uri << "\n";
  }
  return serving::ModelSource{dir.string(), name, version, uri};
}

}  // namespace

int RunServeModel(const ServeModelOptions& o) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  log::Format format = log::Format::kJson;
  log::ParseFormat(o.log_format, &format);
  log::Configure(format, log::Level::kInfo);

  serving::ModelResolver resolver = [o](const std::string& uri) -> Result<serving::ModelSource> {
    if (uri.rfind("models:/", 0) == 0) return ResolveRegistryModel(o, uri);
    if (!fs::is_directory(uri))
      return Status(ErrorCode::kResourceDoesNotExist,
                    "no model package directory at '" + uri + "'");
    std::string name =
        o.name.empty() ? fs::path(uri).lexically_normal().filename().string() : o.name;
    if (name.empty()) name = "model";
    return serving::ModelSource{uri, name, o.version.empty() ? "1" : o.version, uri};
  };
  auto server = serving::ModelServer::Create(o.serve, resolver);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return kExitError;
  }
  if (Status st = (*server)->Start(); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return kExitError;
  }
  log::Info("listening", {{"host", o.serve.host}, {"port", (*server)->port()}});
  if (Status st = (*server)->Load(o.model); !st.ok()) {
    std::cerr << "error: cannot load " << o.model << ": " << st.message() << "\n";
    (*server)->Stop();
    return kExitError;
  }
  std::cout << "serving " << (*server)->model()->source.name << " version "
            << (*server)->model()->source.version << " on http://" << o.serve.host << ":"
            << (*server)->port() << std::endl;
  while (true) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    if (Status st = (*server)->Reload(); !st.ok())
      log::Error("reload failed; still serving the previous version", {{"error", st.message()}});
  }
  log::Info("shutting down: draining in-flight requests");
  (*server)->Stop();
  log::Info("stopped");
  return kExitOk;
}

}  // namespace studio::cli
