#include "integrations/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>

#include "common/crypto.h"
#include "common/strings.h"

namespace studio::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trims and collapses runs of whitespace (multi-line values included) into one space.
std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Headers that proxies and HTTP stacks add or rewrite; signing them breaks requests.
bool SkipHeader(std::string_view lower_name) {
  return lower_name == "authorization" || lower_name == "user-agent" || lower_name == "expect" ||
         lower_name == "x-amzn-trace-id" || lower_name == "connection" ||
         lower_name == "transfer-encoding";
}

void EraseHeader(HeaderList& headers, std::string_view lower_name) {
  std::erase_if(headers, [&](const auto& h) { return ToLower(h.first) == lower_name; });
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

Result<Credentials> CredentialsFromEnv() {
  Credentials c;
  c.access_key_id = Getenv("AWS_ACCESS_KEY_ID");
  c.secret_access_key = Getenv("AWS_SECRET_ACCESS_KEY");
  c.session_token = Getenv("AWS_SESSION_TOKEN");
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status(ErrorCode::kUnauthenticated,
                  "AWS credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return c;
}

SigningParams SigningParams::ForS3(std::string region, int64_t epoch_seconds) {
  SigningParams p;
  p.region = std::move(region);
  p.service = "s3";
  p.epoch_seconds = epoch_seconds;
  p.normalize_path = false;
  p.double_encode_path = false;
  p.add_content_sha256_header = true;
  return p;
}

SigningParams SigningParams::ForService(std::string service, std::string region,
                                        int64_t epoch_seconds) {
  SigningParams p;
  p.region = std::move(region);
  p.service = std::move(service);
  p.epoch_seconds = epoch_seconds;
  return p;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string NormalizeUriPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos, end - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = end + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out.push_back('/');
    out.append(segments[i]);
  }
  // A trailing slash names a directory; botocore keeps it too ("/a/b/.." becomes "/a").
  if (!path.empty() && path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

std::string CanonicalQueryString(const QueryList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

std::string FormatAmzDate(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string DeriveSigningKey(std::string_view secret, std::string_view yyyymmdd,
                             std::string_view region, std::string_view service) {
  std::string k_date = HmacSha256("AWS4" + std::string(secret), yyyymmdd);
  std::string k_region = HmacSha256(k_date, region);
  std::string k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, "aws4_request");
}

namespace {

Status CheckInputs(const SignableRequest& request, const Credentials& credentials,
                   const SigningParams& params) {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status(ErrorCode::kUnauthenticated, "AWS credentials missing");
  }
  if (params.region.empty() || params.service.empty()) {
    return InvalidArgument("SigV4: region and service are required");
  }
  if (request.payload_sha256.empty()) return InvalidArgument("SigV4: payload hash missing");
  return Status::Ok();
}

std::string Scope(const SigningParams& params, const std::string& date) {
  return date + "/" + params.region + "/" + params.service + "/aws4_request";
}

// Steps 1–4 on a request whose headers and query already carry everything to sign.
Result<SigningResult> Sign(const SignableRequest& request, const Credentials& credentials,
                           const SigningParams& params, const std::string& amz_date) {
  // Lowercase names, values of repeated headers joined with ',' in their order.
  std::map<std::string, std::string> canonical;
  for (const auto& [name, value] : request.headers) {
    std::string lower = ToLower(name);
    if (SkipHeader(lower)) continue;
    auto [it, inserted] = canonical.try_emplace(lower, CanonicalHeaderValue(value));
    if (!inserted) it->second.append(",").append(CanonicalHeaderValue(value));
  }
  if (!canonical.contains("host")) return InvalidArgument("SigV4: the request has no Host header");

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : canonical) {
    canonical_headers.append(name).append(":").append(value).append("\n");
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers.append(name);
  }

  std::string path = request.path.empty() ? "/" : request.path;
  if (params.normalize_path) path = NormalizeUriPath(path);
  std::string canonical_uri = params.double_encode_path ? UriEncode(path, true) : path;

  const std::string date = amz_date.substr(0, 8);
  SigningResult r;
  r.signed_headers = signed_headers;
  r.canonical_request = request.method + "\n" + canonical_uri + "\n" +
                        CanonicalQueryString(request.query) + "\n" + canonical_headers + "\n" +
                        signed_headers + "\n" + request.payload_sha256;
  r.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + Scope(params, date) + "\n" +
                     crypto::Sha256Hex(r.canonical_request);
  const std::string key =
      DeriveSigningKey(credentials.secret_access_key, date, params.region, params.service);
  r.signature = crypto::HexEncode(HmacSha256(key, r.string_to_sign));
  return r;
}

// The headers a signed request may send: which ones the signature covers is decided here.
std::string SignedHeaderNames(const HeaderList& headers) {
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) {
    std::string lower = ToLower(name);
    if (!SkipHeader(lower)) names.push_back(lower);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return Join(names, ";");
}

}  // namespace

Result<SigningResult> SignRequest(SignableRequest& request, const Credentials& credentials,
                                  const SigningParams& params) {
  RETURN_IF_ERROR(CheckInputs(request, credentials, params));
  const std::string amz_date = FormatAmzDate(params.epoch_seconds);

  // Re-signing replaces what a previous signature added.
  for (std::string_view h :
       {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}) {
    if (h == "x-amz-content-sha256" && !params.add_content_sha256_header) continue;
    EraseHeader(request.headers, h);
  }
  request.headers.emplace_back("X-Amz-Date", amz_date);
  if (params.add_content_sha256_header) {
    request.headers.emplace_back("x-amz-content-sha256", request.payload_sha256);
  }
  if (!credentials.session_token.empty() && !params.omit_session_token) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }

  ASSIGN_OR_RETURN(SigningResult r, Sign(request, credentials, params, amz_date));
  r.authorization = std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
                    Scope(params, amz_date.substr(0, 8)) + ", SignedHeaders=" + r.signed_headers +
                    ", Signature=" + r.signature;
  if (!credentials.session_token.empty() && params.omit_session_token) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request.headers.emplace_back("Authorization", r.authorization);
  return r;
}

Result<SigningResult> PresignRequest(SignableRequest& request, const Credentials& credentials,
                                     const SigningParams& params, int64_t expires_seconds) {
  RETURN_IF_ERROR(CheckInputs(request, credentials, params));
  if (expires_seconds < 1 || expires_seconds > 7 * 24 * 3600) {
    return InvalidArgument("SigV4: a presigned URL expires after 1 s to 7 days");
  }
  const std::string amz_date = FormatAmzDate(params.epoch_seconds);
  std::erase_if(request.query, [](const auto& q) { return q.first.starts_with("X-Amz-"); });
  request.query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  request.query.emplace_back(
      "X-Amz-Credential", credentials.access_key_id + "/" + Scope(params, amz_date.substr(0, 8)));
  request.query.emplace_back("X-Amz-Date", amz_date);
  request.query.emplace_back("X-Amz-Expires", std::to_string(expires_seconds));
  if (!credentials.session_token.empty() && !params.omit_session_token) {
    request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request.query.emplace_back("X-Amz-SignedHeaders", SignedHeaderNames(request.headers));
  ASSIGN_OR_RETURN(SigningResult r, Sign(request, credentials, params, amz_date));
  if (!credentials.session_token.empty() && params.omit_session_token) {
    request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  request.query.emplace_back("X-Amz-Signature", r.signature);
  return r;
}

}  // namespace studio::aws
