#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace studio {

// The settings `studio serve` and the store-touching commands share. Every key can come from a
// flag (--body-limit), the environment (STUDIO_BODY_LIMIT) or the YAML file (body_limit).
struct Config {
  std::string data_dir = ".studio";
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db;                                      // empty: sqlite:///<data_dir>/studio.db
  std::string artifacts;                               // empty: file://<data_dir>/artifacts
  int64_t body_limit = 16 * 1024 * 1024;               // JSON request bodies
  int64_t artifact_limit = 64LL * 1024 * 1024 * 1024;  // one streamed artifact upload
  std::string log_format = "json";
  std::vector<std::string> allowed_hosts;  // empty: loopback names when bound to loopback
  // Monitoring (docs/operations.md): hosts/IPs webhooks may reach although they resolve to
  // loopback, private, link-local or metadata addresses; the CloudWatch EMF output ("" off,
  // "stdout" or a file path) and its namespace.
  std::vector<std::string> allowed_webhook_hosts;
  std::string emf_output;
  std::string emf_namespace = "MLOpsStudio/Monitoring";
  // The built web console (docs/ui.md): empty finds frontend/dist near the binary; "none" off.
  std::string ui_dir;
  // Pipeline runs (docs/pipelines.md "Runs"): `embedded` runs stage processes in `studio
  // serve`; `workers` leaves them to `studio worker` processes (PostgreSQL). Stage processes at
  // once per serve or worker process.
  std::string executor = "embedded";
  int max_parallel_stages = 4;

  std::string DbUri() const;
  std::string ArtifactsUri() const;
};

// The keys above, in snake_case (the YAML spelling).
const std::vector<std::string>& ConfigKeys();

// Precedence: `flags` > STUDIO_* environment > YAML file (`config_file`, or STUDIO_CONFIG) >
// defaults. `flags` holds only the flags the user actually gave, keyed by snake_case name.
Result<Config> ResolveConfig(const std::map<std::string, std::string>& flags,
                             const std::string& config_file);

}  // namespace studio
