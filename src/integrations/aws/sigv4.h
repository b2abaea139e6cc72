#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

// AWS Signature Version 4 (reference/deploy_cicd_aws.md §4), for any service. Checked against
// the 38 header-signing cases of AWS's signing test suite and against botocore.
namespace studio::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only; sent as X-Amz-Security-Token
};

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional) AWS_SESSION_TOKEN.
// UNAUTHENTICATED when either key is missing.
Result<Credentials> CredentialsFromEnv();

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// The SHA-256 hex of an empty payload, and the marker S3 accepts for payloads it should not hash.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct SigningParams {
  std::string region;
  std::string service;
  int64_t epoch_seconds = 0;  // the request time (X-Amz-Date)
  // Non-S3 services normalize the path ('.', '..', '//') and encode the wire path again
  // ("double encoding": '%' becomes %25). S3 signs the wire path exactly as sent.
  bool normalize_path = true;
  bool double_encode_path = true;
  // Adds (and signs) x-amz-content-sha256: S3 requires it on every request.
  bool add_content_sha256_header = false;
  // Adds X-Amz-Security-Token after signing instead of signing it (a few services want that).
  bool omit_session_token = false;

  // S3's rules: no normalization, no double encoding, x-amz-content-sha256 always.
  static SigningParams ForS3(std::string region, int64_t epoch_seconds);
  static SigningParams ForService(std::string service, std::string region, int64_t epoch_seconds);
};

// A request as it will be sent. `path` is the wire path (already percent-encoded, see
// UriEncode), `query` holds decoded names and values (the signer and the HTTP client encode
// them the same way), `headers` must contain Host.
struct SignableRequest {
  std::string method;
  std::string path = "/";
  QueryList query;
  HeaderList headers;
  // Lowercase hex SHA-256 of the body, or kUnsignedPayload (S3 only).
  std::string payload_sha256 = std::string(kEmptyPayloadSha256);
};

struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // the Authorization header's value
  std::string signed_headers;
};

// Signs `request` in place: adds X-Amz-Date, x-amz-content-sha256 (when asked),
// X-Amz-Security-Token (with a session token) and Authorization.
Result<SigningResult> SignRequest(SignableRequest& request, const Credentials& credentials,
                                  const SigningParams& params);

// Query-string signing (a presigned URL): adds X-Amz-Algorithm, -Credential, -Date, -Expires,
// -Security-Token (with a session token), -SignedHeaders and finally -Signature to
// `request.query`; the headers signed are the request's own (Host at least). For S3 set
// `payload_sha256` to kUnsignedPayload. `authorization` stays empty.
Result<SigningResult> PresignRequest(SignableRequest& request, const Credentials& credentials,
                                     const SigningParams& params, int64_t expires_seconds);

// The pieces, exposed for tests and for clients that need one of them.
// RFC 3986 encoding: A-Za-z0-9-_.~ stay, every other byte becomes %XX (uppercase hex);
// '/' stays when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
// Removes '.' and '..' segments and empty segments, keeping a leading and trailing '/'.
std::string NormalizeUriPath(std::string_view path);
std::string CanonicalQueryString(const QueryList& query);
// "20150830T123600Z"
std::string FormatAmzDate(int64_t epoch_seconds);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
std::string DeriveSigningKey(std::string_view secret, std::string_view yyyymmdd,
                             std::string_view region, std::string_view service);
std::string HmacSha256(std::string_view key, std::string_view data);

}  // namespace studio::aws
