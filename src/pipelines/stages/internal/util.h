#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "artifacts/artifact_store.h"
#include "common/status.h"
#include "pipelines/stages/stage.h"

// Helpers every stage body uses: typed `with` parameters, logging, artifact I/O under the
// stage's prefix, and finding the outputs of an upstream stage.
namespace studio::pipelines::stages::internal {

// The validator typed `with`; these only apply defaults (and refuse a wrong type, which means
// the context was not built from a validated spec).
Result<std::string> StringParam(const StageContext& ctx, const char* name, std::string def = "");
Result<int64_t> IntParam(const StageContext& ctx, const char* name, int64_t def);
Result<double> NumberParam(const StageContext& ctx, const char* name, double def);
Result<bool> BoolParam(const StageContext& ctx, const char* name, bool def);

// One progress line to the attempt's log ("[stage-id] message").
void Log(const StageContext& ctx, const std::string& line);
// kResourceConflict "cancelled" when the run was cancelled.
Status CheckCancelled(const StageContext& ctx);

// runs/<run_id>/<stage_id>/ (the run id and stage id are checked to be single path segments).
Result<std::string> StagePrefix(const StageContext& ctx);

Result<artifacts::PutResult> PutText(artifacts::ArtifactStore& store, const std::string& path,
                                     std::string_view data);
// The whole object; INVALID_PARAMETER_VALUE when it is larger than max_bytes.
Result<std::string> GetText(artifacts::ArtifactStore& store, const std::string& path,
                            size_t max_bytes);

// Datasets held in memory by the stages are capped (a pipeline dataset, not a data lake).
inline constexpr size_t kMaxDatasetBytes = size_t{1} << 30;

// The outputs of the finished upstream stage of `type` (each stage's outputs carry "type").
// When several stages of that type finished, the one this stage `needs` directly wins; a
// missing or ambiguous one is an error naming the type.
Result<const nlohmann::json*> UpstreamOf(const StageContext& ctx, const std::string& type);
// A field of upstream outputs that must be a non-empty string.
Result<std::string> OutputString(const nlohmann::json& outputs, const std::string& stage_type,
                                 const char* key);

// Strips trailing '/' from the server URL; errors when server or token is missing.
Result<std::string> ServerBase(const StageContext& ctx);

}  // namespace studio::pipelines::stages::internal
