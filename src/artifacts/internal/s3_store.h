#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "artifacts/artifact_store.h"
#include "integrations/aws/sigv4.h"

namespace studio::artifacts {

// s3://bucket/prefix → an ArtifactStore on S3 (or an S3-compatible server). Implemented in
// s3_store.cc on the SigV4 client of src/integrations/aws/. Options come from the environment
// (S3StoreOptionsFromEnv).
Result<std::unique_ptr<ArtifactStore>> OpenS3ArtifactStore(const std::string& uri);

struct S3StoreOptions {
  std::string region = "us-east-1";
  aws::Credentials credentials;
  // Empty for AWS itself; http://127.0.0.1:PORT for s3rver or another S3-compatible server.
  std::string endpoint;
  // bucket in the path (http://host/bucket/key) rather than in the host name.
  bool path_style = false;
  // Objects of this size or more go up as multipart uploads of `part_size` parts. The upload
  // buffer holds max(multipart_threshold, part_size) bytes: the only copy in memory.
  int64_t multipart_threshold = int64_t{64} << 20;
  int64_t part_size = int64_t{64} << 20;
  int list_page_size = 1000;  // ListObjectsV2 max-keys
};

// AWS_REGION (or AWS_DEFAULT_REGION; default us-east-1), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, STUDIO_S3_ENDPOINT, STUDIO_S3_PATH_STYLE (1/0; the
// default is path-style exactly when an endpoint is set) and STUDIO_S3_PART_SIZE_MB (8–64).
Result<S3StoreOptions> S3StoreOptionsFromEnv();

Result<std::unique_ptr<ArtifactStore>> OpenS3ArtifactStore(const std::string& uri,
                                                           const S3StoreOptions& options);

}  // namespace studio::artifacts
