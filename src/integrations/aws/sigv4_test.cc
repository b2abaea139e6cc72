#include "integrations/aws/sigv4.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/crypto.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace studio::aws {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One request of the suite's request.txt / header-signed-request.txt format.
struct ParsedRequest {
  std::string method;
  std::string path;
  std::string query;  // as written (wire form)
  HeaderList headers;
  std::string body;
};

// "METHOD <target> HTTP/1.1" (the target may contain spaces), header lines ("Name:value",
// continuation lines start with whitespace), an empty line, the body.
ParsedRequest ParseRequest(const std::string& text) {
  ParsedRequest r;
  size_t eol = text.find('\n');
  std::string first = text.substr(0, eol);
  size_t sp1 = first.find(' ');
  size_t sp2 = first.rfind(' ');
  r.method = first.substr(0, sp1);
  std::string target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  size_t pos = eol == std::string::npos ? text.size() : eol + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      if (pos < text.size()) r.body = text.substr(pos);
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + line;
      continue;
    }
    size_t colon = line.find(':');
    r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return r;
}

QueryList ParseQuery(const std::string& query) {
  QueryList out;
  if (query.empty()) return out;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(pos, amp - pos);
    size_t eq = pair.find('=');
    std::string k = pair.substr(0, eq);
    std::string v = eq == std::string::npos ? "" : pair.substr(eq + 1);
    out.emplace_back(::studio::PercentDecode(k), ::studio::PercentDecode(v));
    pos = amp + 1;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> NormalizedHeaders(const HeaderList& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : headers) {
    std::string value = v;
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out.emplace_back(ToLower(k), value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string SuiteDir() { return STUDIO_AWS_SIGV4_SUITE_DIR; }

TEST(SigV4Suite, AllCasesHeaderAndQuerySigning) {
  ASSERT_TRUE(fs::is_directory(SuiteDir())) << "missing test suite at " << SuiteDir();
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(SuiteDir())) {
    if (e.is_directory()) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  ASSERT_EQ(cases.size(), 38u);

  for (const fs::path& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    json ctx = json::parse(ReadFile(dir / "context.json"));
    ParsedRequest parsed = ParseRequest(ReadFile(dir / "request.txt"));

    Credentials creds;
    creds.access_key_id = ctx["credentials"]["access_key_id"];
    creds.secret_access_key = ctx["credentials"]["secret_access_key"];
    creds.session_token = ctx["credentials"].value("token", "");
    Result<int64_t> ms = ParseRfc3339(ctx["timestamp"].get<std::string>());
    ASSERT_TRUE(ms.ok());

    SigningParams params = SigningParams::ForService(ctx["service"], ctx["region"], *ms / 1000);
    params.normalize_path = ctx.value("normalize", true);
    params.double_encode_path = true;
    params.add_content_sha256_header = ctx.value("sign_body", false);
    params.omit_session_token = ctx.value("omit_session_token", false);

    SignableRequest req;
    req.method = parsed.method;
    req.path = parsed.path;
    req.query = ParseQuery(parsed.query);
    req.headers = parsed.headers;
    req.payload_sha256 = crypto::Sha256Hex(parsed.body);

    Result<SigningResult> r = SignRequest(req, creds, params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->canonical_request, ReadFile(dir / "header-canonical-request.txt"));
    EXPECT_EQ(r->string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
    EXPECT_EQ(r->signature, ReadFile(dir / "header-signature.txt"));

    ParsedRequest expected = ParseRequest(ReadFile(dir / "header-signed-request.txt"));
    std::string expected_authz;
    for (const auto& [k, v] : expected.headers) {
      if (k == "Authorization") expected_authz = v;
    }
    EXPECT_EQ(r->authorization, expected_authz);
    // The signed request carries exactly the suite's headers (session token included, even
    // when it is added after signing).
    EXPECT_EQ(NormalizedHeaders(req.headers), NormalizedHeaders(expected.headers));

    // The same request presigned (query-string signing).
    SignableRequest presign;
    presign.method = parsed.method;
    presign.path = parsed.path;
    presign.query = ParseQuery(parsed.query);
    presign.headers = parsed.headers;
    presign.payload_sha256 = crypto::Sha256Hex(parsed.body);
    Result<SigningResult> q =
        PresignRequest(presign, creds, params, ctx.value("expiration_in_seconds", 3600));
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_EQ(q->canonical_request, ReadFile(dir / "query-canonical-request.txt"));
    EXPECT_EQ(q->string_to_sign, ReadFile(dir / "query-string-to-sign.txt"));
    EXPECT_EQ(q->signature, ReadFile(dir / "query-signature.txt"));
    ParsedRequest presigned = ParseRequest(ReadFile(dir / "query-signed-request.txt"));
    QueryList want = ParseQuery(presigned.query);
    QueryList got = presign.query;
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
  }
}

TEST(SigV4, DerivesTheDocumentedSigningKey) {
  EXPECT_EQ(crypto::HexEncode(DeriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                               "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, EncodingAndNormalization) {
  EXPECT_EQ(UriEncode("a b/c~d+e%", true), "a%20b/c~d%2Be%25");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe1\x88\xb4", false), "%E1%88%B4");
  EXPECT_EQ(::studio::PercentDecode("a%20b%2fc%zz%"), "a b/c%zz%");
  EXPECT_EQ(NormalizeUriPath("//a/./b/../c//"), "/a/c/");
  EXPECT_EQ(NormalizeUriPath("/a/b/.."), "/a");
  EXPECT_EQ(NormalizeUriPath("/.."), "/");
  EXPECT_EQ(CanonicalQueryString({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"uploads", ""}}),
            "a=1&a=x%20y&b=2&uploads=");
  EXPECT_EQ(FormatAmzDate(1440938160), "20150830T123600Z");
}

TEST(SigV4, RejectsMissingPieces) {
  SignableRequest req;
  req.method = "GET";
  Credentials creds{"AK", "SK", ""};
  EXPECT_FALSE(SignRequest(req, creds, SigningParams::ForS3("us-east-1", 0)).ok());  // no Host
  req.headers.emplace_back("Host", "h");
  EXPECT_EQ(SignRequest(req, Credentials{}, SigningParams::ForS3("us-east-1", 0)).status().code(),
            ErrorCode::kUnauthenticated);
  // Signing twice replaces the first signature's headers instead of duplicating them.
  ASSERT_TRUE(SignRequest(req, creds, SigningParams::ForS3("us-east-1", 0)).ok());
  ASSERT_TRUE(SignRequest(req, creds, SigningParams::ForS3("us-east-1", 0)).ok());
  EXPECT_EQ(req.headers.size(), 4u);  // Host, X-Amz-Date, x-amz-content-sha256, Authorization
}

// ---- cross-check against botocore (Debian's python3-botocore) ----

struct BotoCase {
  std::string service;
  std::string method;
  std::string origin;  // scheme://host[:port]
  std::string host;    // what our client sends as Host
  std::string decoded_path;
  QueryList query;
  HeaderList headers;
  std::string body;
  std::string token;
  bool unsigned_payload = false;
  int64_t epoch = 0;
  int presign = 0;  // > 0: an S3 presigned URL valid this many seconds
};

std::string RunBotocore(const json& input) {
  char path[] = "/tmp/studio-botocore-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "";
  std::string text = input.dump();
  bool wrote = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  std::string out;
  if (wrote) {
    std::string cmd =
        std::string(STUDIO_BOTOCORE_PYTHON) + " " + STUDIO_BOTOCORE_SCRIPT + " < " + path;
    FILE* p = popen(cmd.c_str(), "r");
    if (p) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
      if (pclose(p) != 0) out.clear();
    }
  }
  unlink(path);
  return out;
}

TEST(SigV4, MatchesBotocore) {
  const int64_t t1 = 1440938160;  // 2015-08-30T12:36:00Z
  const int64_t t2 = 1795651199;  // 2026-11-25T23:59:59Z: a day boundary in the scope
  std::vector<BotoCase> cases = {
      // S3 listing: path-style, query values needing encoding, session token, unsigned payload.
      {"s3",
       "GET",
       "http://127.0.0.1:4568",
       "127.0.0.1:4568",
       "/my-bucket",
       {{"list-type", "2"},
        {"prefix", "runs/a b/"},
        {"delimiter", "/"},
        {"continuation-token", "1/ab+c=="}},
       {},
       "",
       "FQoGZXIvYXdzEXAMPLE//token+with/slashes==",
       true,
       t1},
      // S3 PUT of a key with spaces, '+', unicode and '~', a signed body, user metadata.
      {"s3",
       "PUT",
       "https://bkt.s3.eu-west-1.amazonaws.com",
       "bkt.s3.eu-west-1.amazonaws.com",
       "/models/v1/a b+c\xe2\x82\xac~x.bin",
       {},
       {{"Content-Type", "application/octet-stream"}, {"x-amz-meta-sha256", "abc  def"}},
       "hello world",
       "",
       false,
       t2},
      // S3 multipart upload part with an unsigned streamed body.
      {"s3",
       "PUT",
       "http://localhost:9000",
       "localhost:9000",
       "/b/k/part.bin",
       {{"partNumber", "3"}, {"uploadId", "abc/def+=="}},
       {},
       "",
       "tok",
       true,
       t2},
      // A JSON-protocol service: normalized, double-encoded path, signed JSON body.
      {"states",
       "POST",
       "https://states.us-east-1.amazonaws.com",
       "states.us-east-1.amazonaws.com",
       "/",
       {},
       {{"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", "AWSStepFunctions.StartExecution"}},
       R"({"stateMachineArn":"arn:aws:states:us-east-1:123456789012:stateMachine:x"})",
       "",
       false,
       t1},
      // An S3 presigned GET with temporary credentials.
      {"s3",
       "GET",
       "http://127.0.0.1:4568",
       "127.0.0.1:4568",
       "/my-bucket/runs/a b/model.bin",
       {{"versionId", "v 1"}},
       {},
       "",
       "FQoGZXIvYXdzEXAMPLE",
       true,
       t2,
       900},
      // A REST service path with a space, "." and "//" segments (double encoding, normalization).
      {"execute-api",
       "GET",
       "https://api.example.com:8443",
       "api.example.com:8443",
       "/stage/./a b//c/",
       {{"q", "x y"}, {"a", ""}},
       {{"X-Custom", "  one   two  "}},
       "",
       "session",
       false,
       t1},
  };

  json input = json::array();
  std::vector<SigningResult> ours;
  for (const BotoCase& c : cases) {
    SignableRequest req;
    req.method = c.method;
    req.path = UriEncode(c.decoded_path, true);
    req.query = c.query;
    req.headers = c.headers;
    req.headers.emplace_back("Host", c.host);
    req.payload_sha256 =
        c.unsigned_payload ? std::string(kUnsignedPayload) : crypto::Sha256Hex(c.body);
    Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", c.token};
    SigningParams params = c.service == "s3"
                               ? SigningParams::ForS3("eu-west-1", c.epoch)
                               : SigningParams::ForService(c.service, "eu-west-1", c.epoch);
    Result<SigningResult> r = c.presign > 0 ? PresignRequest(req, creds, params, c.presign)
                                            : SignRequest(req, creds, params);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ours.push_back(*r);

    std::string url = c.origin + req.path;
    for (size_t i = 0; i < c.query.size(); ++i) {
      url += (i == 0 ? "?" : "&") + UriEncode(c.query[i].first, false) + "=" +
             UriEncode(c.query[i].second, false);
    }
    json headers = json::object();
    for (const auto& [k, v] : c.headers) headers[k] = v;
    input.push_back({{"method", c.method},
                     {"url", url},
                     {"headers", headers},
                     {"body", c.body},
                     {"service", c.service},
                     {"region", "eu-west-1"},
                     {"access_key", creds.access_key_id},
                     {"secret_key", creds.secret_access_key},
                     {"token", c.token},
                     {"epoch", c.epoch},
                     {"unsigned_payload", c.unsigned_payload},
                     {"presign", c.presign}});
  }

  std::string out = RunBotocore(input);
  ASSERT_FALSE(out.empty()) << "botocore signer failed (" << STUDIO_BOTOCORE_PYTHON << " "
                            << STUDIO_BOTOCORE_SCRIPT << ")";
  json theirs = json::parse(out);
  ASSERT_EQ(theirs.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].service + " " + cases[i].method + " " + cases[i].decoded_path);
    EXPECT_EQ(ours[i].canonical_request, theirs[i]["canonical_request"].get<std::string>());
    EXPECT_EQ(ours[i].string_to_sign, theirs[i]["string_to_sign"].get<std::string>());
    EXPECT_EQ(ours[i].authorization, theirs[i]["authorization"].get<std::string>());
    if (cases[i].presign > 0) {
      EXPECT_TRUE(
          theirs[i]["url"].get<std::string>().ends_with("&X-Amz-Signature=" + ours[i].signature))
          << theirs[i]["url"];
    }
  }
}

}  // namespace
}  // namespace studio::aws
