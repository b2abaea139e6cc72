#include <map>

#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/stage.h"

namespace studio::pipelines::stages {

Result<nlohmann::json> RunStage(const StageContext& ctx) {
  using Body = Result<nlohmann::json> (*)(const StageContext&);
  static const std::map<std::string, Body> kBodies = {
      {"data-ingestion", internal::RunDataIngestion},
      {"data-preparation", internal::RunDataPreparation},
      {"feature-store", internal::RunFeatureStore},
      {"model-registry", internal::RunModelRegistry},
      {"model-deployment", internal::RunModelDeployment},
      {"realtime-inference", internal::RunRealtimeInference},
      {"batch-inference", internal::RunBatchInference},
      {"model-monitoring", internal::RunModelMonitoring},
      {"cicd-enforcement", internal::RunCicdEnforcement},
      {"command", internal::RunCommand},
  };
  auto it = kBodies.find(ctx.stage.type);
  if (it == kBodies.end()) return InvalidArgument("unknown stage type '" + ctx.stage.type + "'");
  if (!ctx.artifacts)
    return InvalidArgument("stage '" + ctx.stage.id + "': no artifact store in the context");
  if (!ctx.stage.with.is_object())
    return InvalidArgument("stage '" + ctx.stage.id + "': 'with' must be an object");
  auto out = it->second(ctx);
  if (!out.ok()) return out.status();
  nlohmann::json outputs = std::move(*out);
  outputs["type"] = ctx.stage.type;
  outputs["stage"] = ctx.stage.id;
  return outputs;
}

}  // namespace studio::pipelines::stages
