#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth/identity.h"
#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::artifacts {
class ArtifactStore;
}

namespace studio::orchestrator {

// Registered pipeline specs and pipeline runs, as the REST API sees them (docs/api.md
// "Pipeline runs"). Starting and cancelling are audit-logged in the transaction that makes the
// change; the scheduler (Notify) does the rest.
class RunService {
 public:
  RunService(store::MetadataStore& store, artifacts::ArtifactStore* artifacts,
             std::function<void(const std::string& run_id)> notify)
      : store_(store), artifacts_(artifacts), notify_(std::move(notify)) {}

  // Accepts `executor: aws` runs, handed to the RemoteRunner through `notify`.
  void EnableRemote(std::function<void()> notify) { notify_remote_ = std::move(notify); }

  // -- registered specs: the spec must validate (schema, project policy, node locks).
  // 201-style: {project, name, version, spec_hash, created_by, created_at, spec_yaml,
  // created (false when identical to the latest version, which is returned)}.
  Result<nlohmann::json> RegisterSpec(const auth::Actor& actor, const std::string& project,
                                      const std::string& yaml);
  Result<nlohmann::json> ListSpecs(const std::string& project);  // latest version of each
  Result<nlohmann::json> ListSpecVersions(const std::string& project, const std::string& name);
  Result<nlohmann::json> GetSpec(const std::string& project, const std::string& name,
                                 int version);  // 0: latest

  struct StartRequest {
    std::string project;    // name or id
    std::string pipeline;   // a registered pipeline ...
    int version = 0;        // ... at this version (0: latest)
    std::string spec_yaml;  // ... or a spec, registered as a new version when it changed
    std::string git_sha;
    std::string executor = "local";  // local | aws
    bool noop = false;               // stage bodies skipped (benchmarks, dry runs)
  };
  Result<nlohmann::json> StartRun(const auth::Actor& actor, const StartRequest& request);
  // {"items": [...], "last": "<id of the last item when the page is full>"}
  Result<nlohmann::json> ListRuns(const std::string& project, const std::string& status,
                                  const std::string& after, int limit);
  // The run with its spec snapshot and stages (attempts, outputs, durations).
  Result<nlohmann::json> GetRun(const std::string& id);
  Result<nlohmann::json> Cancel(const auth::Actor& actor, const std::string& id);

  // What a stage process reports at its end; only the attempt's own token may report.
  struct Report {
    int attempt = 0;
    std::string status;  // succeeded | failed
    nlohmann::json outputs = nlohmann::json::object();
    std::string error;
  };
  Status ReportStage(const std::string& run_id, const std::string& stage_id,
                     const std::string& bearer_token, const Report& report);

  // The log of one attempt (0: the latest). With `follow`, keeps writing what the attempt
  // appends until it ends. `write` returns false when the client went away.
  Status StreamLog(const std::string& run_id, const std::string& stage_id, int attempt, bool follow,
                   const std::function<bool(std::string_view)>& write);
  // Checks the run, stage and attempt exist (before a streamed response starts).
  Status CheckLog(const std::string& run_id, const std::string& stage_id, int attempt);

 private:
  store::MetadataStore& store_;
  artifacts::ArtifactStore* artifacts_;
  std::function<void(const std::string&)> notify_;
  std::function<void()> notify_remote_;
};

}  // namespace studio::orchestrator
