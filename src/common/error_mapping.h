#pragma once

#include <string>

#include "common/status.h"

namespace studio {

// The ONE mapping from an error code to an HTTP status (MLflow's table, plus 409/413/415).
int HttpStatusFor(ErrorCode code);
// `{"error_code": "...", "message": "..."[, "details": {...}]}`
std::string ErrorBody(const Status& status);
// The code a bare HTTP status stands for, when the server itself (not a handler) refused.
ErrorCode ErrorCodeForHttpStatus(int http_status);

}  // namespace studio
