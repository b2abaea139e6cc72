#pragma once

#include <string>

#include "common/status.h"

namespace studio::registry {

// Confines a model version's `source` (MLflow's LFI/traversal CVE family, reference §4).
// Accepted: `mlflow-artifacts:`, `runs:/` and `models:/` URIs, and locations inside the
// artifact store root `artifacts_root` (file:///abs/dir or s3://bucket/prefix) — as a file:
// URI, an absolute path, or an s3:// URI. Everything is percent-decoded repeatedly first;
// `..` segments, `?`, `#`, NUL, control characters and backslashes are refused anywhere, and
// so are file: URIs with a host, relative paths and every other scheme.
// INVALID_PARAMETER_VALUE explains the refusal.
Status ValidateModelSource(const std::string& source, const std::string& artifacts_root);

}  // namespace studio::registry
