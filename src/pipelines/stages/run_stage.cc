#include "pipelines/stages/stage.h"

namespace studio::pipelines::stages {

Result<nlohmann::json> RunStage(const StageContext& ctx) {
  return Status(ErrorCode::kNotImplemented,
                "stage type '" + ctx.stage.type + "' has no implementation in this build");
}

}  // namespace studio::pipelines::stages
