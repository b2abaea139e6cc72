#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace studio::pipelines {

// `studio-pipeline.yaml` (docs/pipelines.md): apiVersion, kind, metadata, spec.stages[].
inline constexpr std::string_view kApiVersion = "mlops-studio/v1";
inline constexpr std::string_view kKind = "Pipeline";
// Inputs beyond these are refused before parsing: specs are small, hand-written files.
inline constexpr size_t kMaxSpecBytes = 1 << 20;
// Nodes visited while reading the document, counting an alias each time it is used (YAML
// bombs expand through aliases: yaml-cpp shares the node, but a walk visits it every time).
inline constexpr int64_t kMaxSpecNodes = 50'000;
inline constexpr size_t kMaxStages = 200;

// One problem, located in the file. `line` and `column` are 1-based; 0 when unknown.
struct Problem {
  std::string path;  // e.g. spec.stages[2].with.format
  int line = 0;
  int column = 0;
  std::string message;
};

struct RetrySpec {
  int64_t max_attempts = 1;
  int64_t interval_seconds = 10;
  double backoff_rate = 2.0;
};

struct StageSpec {
  std::string id;
  std::string type;
  std::vector<std::string> needs;
  nlohmann::json with = nlohmann::json::object();  // typed per the stage type's table
  RetrySpec retry;
  int64_t timeout_seconds = 3600;
  double cpu = 1;
  int64_t memory_mib = 2048;
  bool locked = false;  // the spec's own flag; the control plane's lock record is what counts
  // What the lock hash covers: the stage as written (locked excluded), typed, keys sorted.
  nlohmann::json definition = nlohmann::json::object();
  std::string hash;  // hex SHA-256 of definition.dump()
  std::string path;  // spec.stages[i]
  int line = 0, column = 0;
};

struct PipelineSpec {
  std::string name;
  std::string project;
  std::string description;
  bool canonical = false;
  std::vector<StageSpec> stages;
};

struct ValidateOptions {
  // The project's policy (pipeline_policies.allow_command_stages); the CLI without a server
  // does not know it and allows them with a warning.
  bool allow_command_stages = false;
  bool command_policy_known = true;
};

struct Validation {
  bool parsed = false;  // YAML read and the shape was good enough to fill `spec`
  PipelineSpec spec;
  std::vector<Problem> errors;
  std::vector<std::string> warnings;
  bool valid() const { return errors.empty(); }
};

// The one validator behind `studio pipeline validate` and POST /api/v1/pipelines/validate:
// size and node caps, YAML syntax, schema (unknown fields refused), parameter types per stage
// type, ids, needs, cycles, canonical order. Never throws.
Validation ValidateSpec(std::string_view yaml_text, const ValidateOptions& options = {});

// Canonical stage types in pipeline order; the two inference types run in parallel.
const std::vector<std::string>& CanonicalStageTypes();
bool IsKnownStageType(const std::string& type);

// `studio pipeline init`: the canonical 9-stage spec, valid as written.
std::string CanonicalSpecYaml(const std::string& name, const std::string& project);

// The stage's definition hash: hex SHA-256 of the canonical JSON (sorted keys, no spaces).
std::string DefinitionHash(const nlohmann::json& definition);
// Dotted paths of the fields that differ between two definitions (added, removed, changed).
std::vector<std::string> ChangedFields(const nlohmann::json& before, const nlohmann::json& after);

// Errors in the API's shape: [{path, line, column, message}].
nlohmann::json ProblemsJson(const std::vector<Problem>& problems);
std::string FormatProblem(const std::string& file, const Problem& p);

}  // namespace studio::pipelines
