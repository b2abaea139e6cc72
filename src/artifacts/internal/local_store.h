#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "artifacts/artifact_store.h"

namespace studio::artifacts {

// Transfers move at most this many bytes per read or sink call.
inline constexpr size_t kLocalChunkSize = 256 * 1024;

// `root` is an absolute directory, created when missing. Paths below it are opened one
// component at a time with O_NOFOLLOW, so a symlink planted inside can never lead outside.
Result<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root);

}  // namespace studio::artifacts
