#pragma once

#include <functional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "common/status.h"
#include "pipelines/spec.h"

// The canonical stages' real work (issue 6). `studio run-stage --run R --stage S` builds a
// StageContext from the control plane's run record and calls RunStage; the executor records
// the returned outputs and hands them to downstream stages.
namespace studio::pipelines::stages {

struct StageContext {
  std::string run_id;
  std::string project;   // project name (metadata.project)
  std::string pipeline;  // metadata.name
  std::string git_sha;   // the commit the run was started for; may be empty
  StageSpec stage;       // this stage, typed by the validator
  // Outputs of every finished stage of this run: {"<stage id>": {...outputs...}}.
  nlohmann::json upstream = nlohmann::json::object();
  // The control plane's store; a stage writes under runs/<run_id>/<stage_id>/.
  artifacts::ArtifactStore* artifacts = nullptr;
  std::string server;               // control-plane base URL, e.g. http://127.0.0.1:8080
  std::string token;                // bearer token acting for the run's requester
  std::ostream* log = nullptr;      // progress lines → the attempt's log artifact
  std::function<bool()> cancelled;  // optional; true when the run was cancelled
};

// Runs the stage. The returned object is the stage's outputs (artifact paths, digests, row
// counts, model version, deployment id, …); an error fails the attempt with its message.
Result<nlohmann::json> RunStage(const StageContext& ctx);

}  // namespace studio::pipelines::stages
