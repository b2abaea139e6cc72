#pragma once

#include <string>

#include "common/status.h"

namespace studio::cli {

// The pipeline spec file, or stdin for "-", read up to one byte past pipelines::kMaxSpecBytes:
// a spec over the cap is a property of the spec (exit 1, reported by the validator), not of the
// system. Defined in pipeline_command.cc.
Result<std::string> ReadSpecFile(const std::string& file);

}  // namespace studio::cli
