#include "artifacts/internal/s3_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/crypto.h"
#include "integrations/aws/aws_client.h"
#include "integrations/aws/xml.h"

namespace studio::artifacts {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int kMaxParts = 10000;  // S3's limit
constexpr size_t kFirstBuffer = size_t{1} << 20;

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

Status NoSuch(const std::string& path) {
  return NotFound("artifact '" + path + "' does not exist");
}

// A 404 on an object means the object is missing; a missing bucket is a configuration error
// the operator must see as such.
bool IsMissingObject(const Status& st) {
  return st.code() == ErrorCode::kResourceDoesNotExist &&
         st.message().find("NoSuchBucket") == std::string::npos;
}

// S3's bucket naming rules (the subset that matters for URLs and host names).
bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

struct ListPage {
  std::vector<ArtifactInfo> entries;  // keys, relative to the listed prefix's root
  std::vector<std::string> keys;      // full keys of the objects
  std::string next_token;
};

class S3ArtifactStore final : public ArtifactStore {
 public:
  S3ArtifactStore(std::string bucket, std::string prefix, S3StoreOptions options,
                  std::unique_ptr<aws::Client> client)
      : bucket_(std::move(bucket)),
        prefix_(std::move(prefix)),
        options_(std::move(options)),
        client_(std::move(client)) {}

  std::string uri() const override {
    return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_);
  }

  Result<PutResult> Put(const std::string& path, const ChunkSource& source) override {
    ASSIGN_OR_RETURN(std::string p, NormalizeArtifactPath(path));
    const std::string key = KeyFor(p);
    const int64_t part_size = options_.part_size;
    // Grows up to max(threshold, part size) as data arrives: small artifacts stay small.
    std::vector<char> buf;
    size_t len = 0;
    bool eof = false;
    crypto::Sha256Stream sha;
    PutResult result;

    // Pulls from the source until `want` bytes are buffered or the source ends.
    auto fill = [&](size_t want) -> Status {
      while (len < want && !eof) {
        if (len == buf.size()) buf.resize(std::min(want, std::max(2 * buf.size(), kFirstBuffer)));
        const size_t room = std::min(want, buf.size()) - len;
        Result<size_t> n = source(buf.data() + len, room);
        if (!n.ok()) return n.status();
        if (*n > room) return Internal("artifact source returned more bytes than asked for");
        if (*n == 0) {
          eof = true;
          break;
        }
        sha.Update(std::string_view(buf.data() + len, *n));
        len += *n;
        result.size += static_cast<int64_t>(*n);
      }
      return Status::Ok();
    };

    RETURN_IF_ERROR(fill(static_cast<size_t>(options_.multipart_threshold)));
    if (eof && static_cast<int64_t>(len) < options_.multipart_threshold) {
      result.sha256 = sha.FinishHex();
      aws::Request req;
      req.method = "PUT";
      req.path = ObjectPath(key);
      req.headers = {{"Content-Type", "application/octet-stream"}};
      req.body = std::string_view(buf.data(), len);
      req.body_sha256 = result.sha256;
      auto r = client_->Send(req);
      if (!r.ok()) return r.status();
      return result;
    }

    ASSIGN_OR_RETURN(std::string upload_id, CreateMultipartUpload(key));
    std::vector<std::string> etags;
    auto upload_all = [&]() -> Status {
      while (true) {
        while (len > 0 && (static_cast<int64_t>(len) >= part_size || eof)) {
          size_t n = static_cast<size_t>(std::min<int64_t>(part_size, static_cast<int64_t>(len)));
          if (etags.size() >= static_cast<size_t>(kMaxParts)) {
            return Status(ErrorCode::kPayloadTooLarge,
                          "artifact '" + p + "' needs more than 10000 parts of " +
                              std::to_string(part_size / kMiB) + " MiB");
          }
          ASSIGN_OR_RETURN(std::string etag,
                           UploadPart(key, upload_id, static_cast<int>(etags.size()) + 1,
                                      std::string_view(buf.data(), n)));
          etags.push_back(std::move(etag));
          std::memmove(buf.data(), buf.data() + n, len - n);
          len -= n;
        }
        if (eof) return Status::Ok();
        RETURN_IF_ERROR(fill(static_cast<size_t>(part_size)));
      }
    };
    Status st = upload_all();
    if (st.ok()) st = CompleteMultipartUpload(key, upload_id, etags);
    if (!st.ok()) {
      AbortMultipartUpload(key, upload_id);
      return st;
    }
    result.sha256 = sha.FinishHex();
    return result;
  }

  Status Get(const std::string& path, const ChunkSink& sink,
             const std::string& expected_sha256) override {
    ASSIGN_OR_RETURN(std::string p, NormalizeArtifactPath(path));
    crypto::Sha256Stream sha;
    aws::Request req;
    req.path = ObjectPath(KeyFor(p));
    req.response_sink = [&](std::string_view chunk) -> Status {
      sha.Update(std::string_view(chunk.data(), chunk.size()));
      return sink(chunk);
    };
    auto r = client_->Send(req);
    if (!r.ok()) return IsMissingObject(r.status()) ? NoSuch(p) : r.status();
    if (!expected_sha256.empty() && sha.FinishHex() != expected_sha256) {
      return Internal("artifact '" + p +
                      "' is corrupt: its SHA-256 does not match the recorded one");
    }
    return Status::Ok();
  }

  Result<ArtifactInfo> Stat(const std::string& path) override {
    if (path.empty()) return ArtifactInfo{"", true, 0};
    ASSIGN_OR_RETURN(std::string p, NormalizeArtifactPath(path));
    aws::Request req;
    req.method = "HEAD";
    req.path = ObjectPath(KeyFor(p));
    auto r = client_->Send(req);
    if (r.ok()) {
      const std::string* len = r->Header("content-length");
      return ArtifactInfo{p, false, len ? std::strtoll(len->c_str(), nullptr, 10) : 0};
    }
    if (!IsMissingObject(r.status())) return r.status();
    // No object: a "directory" exists when some key lies under it.
    ASSIGN_OR_RETURN(ListPage page, ListOnce(KeyFor(p) + "/", "", /*delimited=*/false, 1));
    if (page.keys.empty()) return NoSuch(p);
    return ArtifactInfo{p, true, 0};
  }

  Result<std::vector<ArtifactInfo>> List(const std::string& dir) override {
    std::string p;
    if (!dir.empty()) {
      ASSIGN_OR_RETURN(p, NormalizeArtifactPath(dir));
    }
    const std::string list_prefix = p.empty() ? RootPrefix() : KeyFor(p) + "/";
    std::vector<ArtifactInfo> out;
    std::string token;
    do {
      ASSIGN_OR_RETURN(ListPage page,
                       ListOnce(list_prefix, token, /*delimited=*/true, options_.list_page_size));
      for (ArtifactInfo& e : page.entries) out.push_back(std::move(e));
      token = std::move(page.next_token);
    } while (!token.empty());
    if (out.empty() && !p.empty()) return NoSuch(p);
    std::sort(out.begin(), out.end(), [](const ArtifactInfo& a, const ArtifactInfo& b) {
      return a.path < b.path || (a.path == b.path && a.is_dir < b.is_dir);
    });
    // A common prefix can come back on two pages (s3rver does that); list it once.
    out.erase(std::unique(out.begin(), out.end(),
                          [](const ArtifactInfo& a, const ArtifactInfo& b) {
                            return a.path == b.path && a.is_dir == b.is_dir;
                          }),
              out.end());
    return out;
  }

  Status Delete(const std::string& path) override {
    ASSIGN_OR_RETURN(std::string p, NormalizeArtifactPath(path));
    const std::string key = KeyFor(p);
    aws::Request head;
    head.method = "HEAD";
    head.path = ObjectPath(key);
    auto r = client_->Send(head);
    if (r.ok()) return DeleteKey(key);
    if (!IsMissingObject(r.status())) return r.status();
    // A directory: every key under it. Deleting changes the listing, so each round lists
    // from the start instead of following a continuation token.
    bool any = false;
    std::vector<std::string> previous;
    while (true) {
      ASSIGN_OR_RETURN(ListPage page,
                       ListOnce(key + "/", "", /*delimited=*/false, options_.list_page_size));
      if (page.keys.empty()) break;
      if (page.keys == previous) return Internal("S3 keys under '" + p + "' survive deletion");
      any = true;
      for (const std::string& k : page.keys) RETURN_IF_ERROR(DeleteKey(k));
      previous = std::move(page.keys);
    }
    return any ? Status::Ok() : NoSuch(p);
  }

 private:
  std::string KeyFor(const std::string& normalized) const {
    return prefix_.empty() ? normalized : prefix_ + "/" + normalized;
  }
  std::string RootPrefix() const { return prefix_.empty() ? "" : prefix_ + "/"; }
  // The request path of an object: /bucket/key (path-style) or /key (virtual-hosted).
  std::string ObjectPath(const std::string& key) const {
    return options_.path_style ? "/" + bucket_ + "/" + key : "/" + key;
  }
  std::string BucketPath() const { return options_.path_style ? "/" + bucket_ : "/"; }

  Status DeleteKey(const std::string& key) {
    aws::Request req;
    req.method = "DELETE";
    req.path = ObjectPath(key);
    auto r = client_->Send(req);
    if (!r.ok() && !IsMissingObject(r.status())) return r.status();
    return Status::Ok();
  }

  // One ListObjectsV2 page under `list_prefix`; entries are relative to the store root.
  Result<ListPage> ListOnce(const std::string& list_prefix, const std::string& token,
                            bool delimited, int max_keys) {
    aws::Request req;
    req.path = BucketPath();
    req.query = {
        {"list-type", "2"}, {"prefix", list_prefix}, {"max-keys", std::to_string(max_keys)}};
    if (delimited) req.query.emplace_back("delimiter", "/");
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    ASSIGN_OR_RETURN(aws::Response resp, client_->Send(req));
    const std::string root = RootPrefix();
    auto relative = [&](const std::string& key) -> std::string {
      return key.compare(0, root.size(), root) == 0 ? key.substr(root.size()) : key;
    };
    ListPage page;
    for (std::string_view c : aws::xml::FindAll(resp.body, "Contents")) {
      std::string key = aws::xml::FindText(c, "Key").value_or("");
      page.keys.push_back(key);
      // "dir/" markers some tools create are not artifacts; neither is anything with an empty
      // name.
      if (key.size() <= list_prefix.size() || key.back() == '/') continue;
      int64_t size = std::strtoll(aws::xml::FindText(c, "Size").value_or("0").c_str(), nullptr, 10);
      page.entries.push_back({relative(key), false, size});
    }
    for (std::string_view c : aws::xml::FindAll(resp.body, "CommonPrefixes")) {
      std::string prefix = aws::xml::FindText(c, "Prefix").value_or("");
      if (prefix.size() <= list_prefix.size() + 1) continue;  // "dir//": an empty segment
      prefix.pop_back();
      page.entries.push_back({relative(prefix), true, 0});
    }
    if (aws::xml::FindText(resp.body, "IsTruncated").value_or("false") == "true") {
      page.next_token = aws::xml::FindText(resp.body, "NextContinuationToken").value_or("");
      if (page.next_token.empty()) {
        return Internal("S3 listing of '" + list_prefix + "' is truncated without a token");
      }
    }
    return page;
  }

  Result<std::string> CreateMultipartUpload(const std::string& key) {
    aws::Request req;
    req.method = "POST";
    req.path = ObjectPath(key);
    req.query = {{"uploads", ""}};
    req.headers = {{"Content-Type", "application/octet-stream"}};
    ASSIGN_OR_RETURN(aws::Response resp, client_->Send(req));
    std::string id = aws::xml::FindText(resp.body, "UploadId").value_or("");
    if (id.empty()) return Internal("S3 CreateMultipartUpload returned no UploadId");
    return id;
  }

  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int number,
                                 std::string_view data) {
    aws::Request req;
    req.method = "PUT";
    req.path = ObjectPath(key);
    req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    req.body = data;
    ASSIGN_OR_RETURN(aws::Response resp, client_->Send(req));
    const std::string* etag = resp.Header("etag");
    if (!etag || etag->empty()) return Internal("S3 UploadPart returned no ETag");
    return *etag;
  }

  Status CompleteMultipartUpload(const std::string& key, const std::string& upload_id,
                                 const std::vector<std::string>& etags) {
    std::string body =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    for (size_t i = 0; i < etags.size(); ++i) {
      body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
              aws::xml::Escape(etags[i]) + "</ETag></Part>";
    }
    body += "</CompleteMultipartUpload>";
    aws::Request req;
    req.method = "POST";
    req.path = ObjectPath(key);
    req.query = {{"uploadId", upload_id}};
    req.headers = {{"Content-Type", "application/xml"}};
    req.body = body;
    ASSIGN_OR_RETURN(aws::Response resp, client_->Send(req));
    // S3 may answer 200 and still report a failure in the body.
    if (resp.body.find("<Error>") != std::string::npos) {
      resp.status = 500;
      return aws::ErrorFromResponse(resp, "CompleteMultipartUpload " + key);
    }
    return Status::Ok();
  }

  void AbortMultipartUpload(const std::string& key, const std::string& upload_id) {
    aws::Request req;
    req.method = "DELETE";
    req.path = ObjectPath(key);
    req.query = {{"uploadId", upload_id}};
    (void)client_->Send(req);  // best effort: a lifecycle rule cleans up what this misses
  }

  const std::string bucket_;
  const std::string prefix_;
  const S3StoreOptions options_;
  std::unique_ptr<aws::Client> client_;
};

}  // namespace

Result<S3StoreOptions> S3StoreOptionsFromEnv() {
  S3StoreOptions o;
  o.region = Getenv("AWS_REGION");
  if (o.region.empty()) o.region = Getenv("AWS_DEFAULT_REGION");
  if (o.region.empty()) o.region = "us-east-1";
  ASSIGN_OR_RETURN(o.credentials, aws::CredentialsFromEnv());
  o.endpoint = Getenv("STUDIO_S3_ENDPOINT");
  std::string path_style = Getenv("STUDIO_S3_PATH_STYLE");
  if (path_style.empty()) {
    o.path_style = !o.endpoint.empty();
  } else if (path_style == "1" || path_style == "true") {
    o.path_style = true;
  } else if (path_style == "0" || path_style == "false") {
    o.path_style = false;
  } else {
    return InvalidArgument("STUDIO_S3_PATH_STYLE must be 1 or 0, got '" + path_style + "'");
  }
  std::string part = Getenv("STUDIO_S3_PART_SIZE_MB");
  if (!part.empty()) {
    char* end = nullptr;
    long mb = std::strtol(part.c_str(), &end, 10);
    if (*end != '\0' || mb < 8 || mb > 64) {
      return InvalidArgument("STUDIO_S3_PART_SIZE_MB must be 8 to 64, got '" + part + "'");
    }
    o.part_size = mb * kMiB;
  }
  return o;
}

Result<std::unique_ptr<ArtifactStore>> OpenS3ArtifactStore(const std::string& uri) {
  ASSIGN_OR_RETURN(S3StoreOptions options, S3StoreOptionsFromEnv());
  return OpenS3ArtifactStore(uri, options);
}

Result<std::unique_ptr<ArtifactStore>> OpenS3ArtifactStore(const std::string& uri,
                                                           const S3StoreOptions& options) {
  if (uri.rfind("s3://", 0) != 0) return InvalidArgument("not an s3:// URI: '" + uri + "'");
  std::string rest = uri.substr(5);
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!ValidBucket(bucket)) {
    return InvalidArgument("invalid S3 bucket name '" + bucket + "' in '" + uri + "'");
  }
  if (!prefix.empty()) {
    auto p = NormalizeArtifactPath(prefix);
    if (!p.ok())
      return InvalidArgument("invalid S3 prefix in '" + uri + "': " + p.status().message());
    prefix = *p;
  }
  if (options.part_size < 5 * kMiB || options.multipart_threshold < options.part_size) {
    return InvalidArgument(
        "S3 part size must be at least 5 MiB and at most the multipart threshold");
  }

  aws::ClientOptions co;
  co.service = "s3";
  co.region = options.region;
  co.credentials = options.credentials;
  if (options.endpoint.empty()) {
    co.endpoint = options.path_style
                      ? "https://s3." + options.region + ".amazonaws.com"
                      : "https://" + bucket + ".s3." + options.region + ".amazonaws.com";
  } else if (options.path_style) {
    co.endpoint = options.endpoint;
  } else {
    size_t sep = options.endpoint.find("://");
    if (sep == std::string::npos) {
      return InvalidArgument("STUDIO_S3_ENDPOINT must be scheme://host[:port]");
    }
    co.endpoint =
        options.endpoint.substr(0, sep + 3) + bucket + "." + options.endpoint.substr(sep + 3);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<aws::Client> client, aws::Client::Create(std::move(co)));
  return std::unique_ptr<ArtifactStore>(
      new S3ArtifactStore(std::move(bucket), std::move(prefix), options, std::move(client)));
}

}  // namespace studio::artifacts
