#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace studio::artifacts {

// One stored object, as listed.
struct ArtifactInfo {
  std::string path;  // relative to the store root, '/'-separated, never starting with '/'
  bool is_dir = false;
  int64_t size = 0;  // bytes; 0 for directories
};

// Pulls the next chunk of an upload into `buf` (at most `cap` bytes); returns the number of
// bytes written, 0 at the end, or an error.
using ChunkSource = std::function<Result<size_t>(char* buf, size_t cap)>;
// Receives the next chunk of a download; an error stops the transfer.
using ChunkSink = std::function<Status(std::string_view chunk)>;

struct PutResult {
  int64_t size = 0;
  std::string sha256;  // lowercase hex of what was stored
};

// Where model packages, datasets and run artifacts live. Two implementations: a local
// directory (file:///abs/dir, the embedded default) and S3 (s3://bucket/prefix).
// Paths are relative; every implementation rejects absolute paths, '..' segments, empty
// segments, NUL and backslashes (RESOURCE_DOES_NOT_EXIST never leaks what exists outside).
// Transfers stream: no implementation holds a whole artifact in memory.
class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;
  virtual std::string uri() const = 0;  // the root, e.g. file:///data/artifacts or s3://b/p
  // Atomic: readers see the old object or the whole new one, never a partial write.
  virtual Result<PutResult> Put(const std::string& path, const ChunkSource& source) = 0;
  // Streams the object; when `expected_sha256` is non-empty the download fails with
  // DATA_LOSS-like INTERNAL_ERROR if the bytes do not hash to it.
  virtual Status Get(const std::string& path, const ChunkSink& sink,
                     const std::string& expected_sha256 = "") = 0;
  virtual Result<ArtifactInfo> Stat(const std::string& path) = 0;
  // Direct children of `dir` ("" for the root), sorted by path.
  virtual Result<std::vector<ArtifactInfo>> List(const std::string& dir) = 0;
  // Deletes a file or, recursively, a directory. Missing → RESOURCE_DOES_NOT_EXIST.
  virtual Status Delete(const std::string& path) = 0;
};

// Normalizes and validates a relative artifact path ("a/b.txt"); INVALID_PARAMETER_VALUE for
// anything that could leave the root: absolute, "..", ".", empty segments, '\\', NUL, or
// percent-encoded forms of those.
Result<std::string> NormalizeArtifactPath(std::string_view path);

// file:///abs/dir or s3://bucket/prefix (S3 options come from the environment: AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, STUDIO_S3_ENDPOINT for
// S3-compatible servers, STUDIO_S3_PATH_STYLE=1).
Result<std::unique_ptr<ArtifactStore>> OpenArtifactStore(const std::string& uri);

}  // namespace studio::artifacts
