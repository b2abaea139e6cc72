#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "pipelines/stages/stage.h"

// One function per stage type (src/pipelines/stages/<type>.cc); RunStage dispatches on the
// type and adds "type" and "stage" to the outputs. docs/pipelines.md lists each one's outputs.
namespace studio::pipelines::stages::internal {

Result<nlohmann::json> RunDataIngestion(const StageContext& ctx);
Result<nlohmann::json> RunDataPreparation(const StageContext& ctx);
Result<nlohmann::json> RunFeatureStore(const StageContext& ctx);
Result<nlohmann::json> RunModelRegistry(const StageContext& ctx);
Result<nlohmann::json> RunModelDeployment(const StageContext& ctx);
Result<nlohmann::json> RunRealtimeInference(const StageContext& ctx);
Result<nlohmann::json> RunBatchInference(const StageContext& ctx);
Result<nlohmann::json> RunModelMonitoring(const StageContext& ctx);
Result<nlohmann::json> RunCicdEnforcement(const StageContext& ctx);
Result<nlohmann::json> RunCommand(const StageContext& ctx);

}  // namespace studio::pipelines::stages::internal
