#pragma once

#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::api {

// The control-plane HTTP server: REST API, health, metrics, OpenAPI.
class ApiServer {
 public:
  struct Options {
    Config config;
    store::MetadataStore* store = nullptr;  // not owned; outlives the server
  };
  static Result<std::unique_ptr<ApiServer>> Create(Options options);
  virtual ~ApiServer() = default;

  // Binds the listening socket; port() is valid afterwards (useful with port 0).
  virtual Status Bind() = 0;
  virtual int port() const = 0;
  // Serves until Stop(); returns after in-flight requests finished.
  virtual Status Serve() = 0;
  // Stops accepting, lets in-flight requests finish. Safe from another thread.
  virtual void Stop() = 0;
};

}  // namespace studio::api
