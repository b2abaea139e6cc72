// The S3 artifact store against a real S3-compatible server (s3rver, started here on a free
// loopback port) with awscli v2 as the independent client on the other side: what studio writes
// aws reads byte-identical, and the other way round. s3rver does not check signatures; the
// signing test suite and the botocore cross-check in src/integrations/aws do.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "artifacts/artifact_store.h"
#include "artifacts/internal/s3_store.h"
#include "common/crypto.h"

namespace studio::artifacts {
namespace {

namespace fs = std::filesystem;

constexpr char kBucket[] = "studio-test";
constexpr int64_t kMiB = int64_t{1} << 20;

// Deterministic bytes (xorshift), so large objects are generated, never stored.
std::string MakeData(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

// Hands `data` out in uneven chunks (never more than asked for), like a network source would.
ChunkSource SourceOf(const std::string& data, size_t* pos) {
  return [&data, pos](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min({cap, data.size() - *pos, size_t{1000003}});
    std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class S3rver {
 public:
  bool Start(std::string* error) {
    char tmpl[] = "/tmp/studio-s3rver-XXXXXX";
    if (!mkdtemp(tmpl)) return Fail(error, "mkdtemp failed");
    dir_ = tmpl;
    const std::string data = dir_ + "/data";
    fs::create_directory(data);
    log_ = dir_ + "/requests.log";
    const std::string script = std::string(STUDIO_REPO_ROOT) + "/tests/s3/run-s3rver.js";
    if (!fs::exists(std::string(STUDIO_REPO_ROOT) + "/node_modules/s3rver")) {
      return Fail(error, "node_modules/s3rver is missing: run scripts/install-deps.sh");
    }
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return Fail(error, "pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      execl(STUDIO_NODE, STUDIO_NODE, "--openssl-legacy-provider", script.c_str(), data.c_str(),
            log_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_fd_ = in[1];  // closing it stops the server, even if this process dies
    std::string line;
    while (line.find('\n') == std::string::npos) {
      pollfd pfd{out[0], POLLIN, 0};
      if (poll(&pfd, 1, 30'000) <= 0) break;
      char buf[256];
      ssize_t n = read(out[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    if (line.rfind("PORT ", 0) != 0) return Fail(error, "s3rver did not start: '" + line + "'");
    port_ = std::atoi(line.c_str() + 5);
    return port_ > 0;
  }

  void Stop() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  // How many requests so far start with `method_and_path` and contain `needle`.
  int CountRequests(const std::string& method_and_path, const std::string& needle) const {
    std::ifstream in(log_);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      if (line.rfind(method_and_path, 0) == 0 && line.find(needle) != std::string::npos) ++n;
    }
    return n;
  }

 private:
  static bool Fail(std::string* error, std::string why) {
    *error = std::move(why);
    return false;
  }
  std::string dir_;
  std::string log_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int port_ = 0;
};

class S3StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new S3rver();
    std::string error;
    if (!server_->Start(&error)) {
      setup_error_ = new std::string(error);
      return;
    }
    endpoint_ = new std::string("http://127.0.0.1:" + std::to_string(server_->port()));
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("STUDIO_S3_ENDPOINT", endpoint_->c_str(), 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("STUDIO_S3_PATH_STYLE");
    unsetenv("STUDIO_S3_PART_SIZE_MB");
    if (Aws("s3 mb s3://" + std::string(kBucket)).first != 0) {
      setup_error_ = new std::string("aws s3 mb failed");
    }
  }

  static void TearDownTestSuite() {
    server_->Stop();
    delete server_;
    delete endpoint_;
    delete setup_error_;
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    char tmpl[] = "/tmp/studio-s3test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!tmp_.empty()) fs::remove_all(tmp_, ec);
  }

  // Runs Debian's awscli v2 against the server; returns its exit code and stdout.
  static std::pair<int, std::string> Aws(const std::string& args) {
    std::string cmd =
        "env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER "
        "AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null "
        "AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= "
        "AWS_EC2_METADATA_DISABLED=true " +
        std::string(STUDIO_AWS_CLI) + " --endpoint-url " + *endpoint_ + " " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return {-1, ""};
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int rc = pclose(p);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
  }

  static std::string Url(const std::string& key) {
    return "s3://" + std::string(kBucket) + "/" + key;
  }
  static std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  // Parts uploaded for `key` (UploadPart requests), from s3rver's request log.
  static int PartsUploaded(const std::string& key) {
    return server_->CountRequests("PUT /" + std::string(kBucket) + "/" + key + "?", "partNumber=");
  }

  std::unique_ptr<ArtifactStore> Open(const std::string& prefix) {
    auto s = OpenArtifactStore(Url(prefix));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<ArtifactStore> OpenWith(const std::string& prefix, const S3StoreOptions& o) {
    auto s = OpenS3ArtifactStore(Url(prefix), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static S3StoreOptions SmallParts() {
    auto o = S3StoreOptionsFromEnv();
    EXPECT_TRUE(o.ok());
    o->multipart_threshold = 8 * kMiB;
    o->part_size = 5 * kMiB;
    return *o;
  }

  Result<PutResult> PutData(ArtifactStore& store, const std::string& path,
                            const std::string& data) {
    size_t pos = 0;
    return store.Put(path, SourceOf(data, &pos));
  }
  Result<std::string> GetData(ArtifactStore& store, const std::string& path,
                              const std::string& sha = "") {
    std::string out;
    Status st = store.Get(
        path,
        [&](std::string_view c) {
          out.append(c);
          return Status::Ok();
        },
        sha);
    if (!st.ok()) return st;
    return out;
  }
  // Downloads with aws s3 cp and returns the bytes.
  std::string AwsDownload(const std::string& key) {
    fs::path local = fs::path(tmp_) / "download.bin";
    auto [rc, out] =
        Aws("s3 cp " + Quote(Url(key)) + " " + Quote(local.string()) + " --only-show-errors");
    EXPECT_EQ(rc, 0) << out;
    std::string data = ReadFile(local);
    fs::remove(local);
    return data;
  }
  void AwsUpload(const std::string& key, const std::string& data) {
    fs::path local = fs::path(tmp_) / "upload.bin";
    std::ofstream(local, std::ios::binary) << data;
    auto [rc, out] =
        Aws("s3 cp " + Quote(local.string()) + " " + Quote(Url(key)) + " --only-show-errors");
    EXPECT_EQ(rc, 0) << out;
  }
  static S3rver* server_;
  static std::string* endpoint_;
  static std::string* setup_error_;
  std::string tmp_;
};

S3rver* S3StoreTest::server_ = nullptr;
std::string* S3StoreTest::endpoint_ = nullptr;
std::string* S3StoreTest::setup_error_ = nullptr;

TEST_F(S3StoreTest, StudioWritesSmallObjectAwsReadsIt) {
  auto store = Open("small/root");
  ASSERT_TRUE(store);
  EXPECT_EQ(store->uri(), "s3://studio-test/small/root");
  std::string data = "hello, artifacts\n" + MakeData(4097, 1);
  auto put = PutData(*store, "runs/1/model.bin", data);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(put->sha256, crypto::Sha256Hex(data));
  EXPECT_EQ(AwsDownload("small/root/runs/1/model.bin"), data);

  // An empty object, and a key that needs URL encoding.
  ASSERT_TRUE(PutData(*store, "runs/1/empty", "").ok());
  EXPECT_EQ(AwsDownload("small/root/runs/1/empty"), "");
  const std::string odd = "runs/1/a b+c&d=e~f\xe2\x82\xac(1).txt";
  ASSERT_TRUE(PutData(*store, odd, "odd").ok());
  EXPECT_EQ(AwsDownload("small/root/" + odd), "odd");
  auto back = GetData(*store, odd, crypto::Sha256Hex("odd"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, "odd");
}

TEST_F(S3StoreTest, StudioWritesMultipartObjectAboveThresholdAwsReadsIt) {
  auto store = Open("big");
  ASSERT_TRUE(store);
  // Just above 64 MiB with the default 64 MiB parts: two parts, the second small.
  std::string data = MakeData(64 * kMiB + 5 * kMiB + 123, 2);
  auto put = PutData(*store, "model.bin", data);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(put->sha256, crypto::Sha256Hex(data));
  EXPECT_EQ(PartsUploaded("big/model.bin"), 2);
  EXPECT_TRUE(AwsDownload("big/model.bin") == data);

  auto st = store->Stat("model.bin");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->size, static_cast<int64_t>(data.size()));
  auto back = GetData(*store, "model.bin", put->sha256);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(GetData(*store, "model.bin", std::string(64, '0')).status().code(),
            ErrorCode::kInternalError);
}

TEST_F(S3StoreTest, MultipartPartsAndBoundaries) {
  auto store = OpenWith("parts", SmallParts());
  ASSERT_TRUE(store);
  struct Case {
    int64_t size;
    int parts;  // 0 for a single PUT
  };
  for (Case c :
       {Case{8 * kMiB - 1, 0}, Case{8 * kMiB, 2}, Case{23 * kMiB + 7, 5}, Case{10 * kMiB, 2}}) {
    SCOPED_TRACE(c.size);
    std::string data = MakeData(static_cast<size_t>(c.size), static_cast<uint64_t>(c.size));
    const std::string name = "obj-" + std::to_string(c.size);
    auto put = PutData(*store, name, data);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->sha256, crypto::Sha256Hex(data));
    EXPECT_EQ(PartsUploaded("parts/" + name), c.parts);
    EXPECT_TRUE(AwsDownload("parts/" + name) == data);
  }
}

TEST_F(S3StoreTest, FailedMultipartUploadLeavesNothing) {
  auto store = OpenWith("abort", SmallParts());
  ASSERT_TRUE(store);
  std::string data = MakeData(12 * kMiB, 3);
  size_t pos = 0;
  ChunkSource good = SourceOf(data, &pos);
  auto put = store->Put("broken.bin", [&](char* buf, size_t cap) -> Result<size_t> {
    if (pos >= 11 * kMiB) return Status(ErrorCode::kBadRequest, "client went away");
    return good(buf, cap);
  });
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().message(), "client went away");
  EXPECT_EQ(store->Stat("broken.bin").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(server_->CountRequests("DELETE /studio-test/abort/broken.bin?", "uploadId="), 1);
  auto [rc, out] = Aws("s3 ls " + Url("abort/"));
  EXPECT_EQ(out.find("broken.bin"), std::string::npos) << out;
}

TEST_F(S3StoreTest, AwsWritesStudioReadsListsStatsDeletes) {
  std::string csv = "a,b\n1,2\n";
  std::string bin = MakeData(300000, 4);
  AwsUpload("shared/data/train.csv", csv);
  AwsUpload("shared/data/sub/x.bin", bin);
  AwsUpload("shared/data/sub/deeper/y.bin", "y");
  AwsUpload("shared/readme.txt", "r");
  AwsUpload("shared-sibling/not-mine.txt", "n");  // same string prefix, outside the store

  auto store = Open("shared");
  ASSERT_TRUE(store);
  auto got = GetData(*store, "data/sub/x.bin", crypto::Sha256Hex(bin));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == bin);

  auto file = store->Stat("data/train.csv");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_FALSE(file->is_dir);
  EXPECT_EQ(file->size, static_cast<int64_t>(csv.size()));
  auto dir = store->Stat("data/sub");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_TRUE(dir->is_dir);
  EXPECT_TRUE(store->Stat("")->is_dir);
  EXPECT_EQ(store->Stat("data/nope").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store->Stat("data/su").status().code(), ErrorCode::kResourceDoesNotExist);

  auto root = store->List("");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  ASSERT_EQ(root->size(), 2u);
  EXPECT_EQ((*root)[0].path, "data");
  EXPECT_TRUE((*root)[0].is_dir);
  EXPECT_EQ((*root)[1].path, "readme.txt");
  EXPECT_FALSE((*root)[1].is_dir);
  EXPECT_EQ((*root)[1].size, 1);

  auto data_dir = store->List("data/");
  ASSERT_TRUE(data_dir.ok()) << data_dir.status().ToString();
  ASSERT_EQ(data_dir->size(), 2u);
  EXPECT_EQ((*data_dir)[0].path, "data/sub");
  EXPECT_TRUE((*data_dir)[0].is_dir);
  EXPECT_EQ((*data_dir)[1].path, "data/train.csv");
  EXPECT_EQ((*data_dir)[1].size, static_cast<int64_t>(csv.size()));
  EXPECT_EQ(store->List("missing").status().code(), ErrorCode::kResourceDoesNotExist);

  ASSERT_TRUE(store->Delete("data/train.csv").ok());
  EXPECT_EQ(store->Stat("data/train.csv").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_NE(Aws("s3 ls " + Url("shared/data/train.csv")).first, 0);
  ASSERT_TRUE(store->Delete("data").ok());  // every key under it
  EXPECT_EQ(store->Stat("data").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store->Delete("data").code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(GetData(*store, "data/sub/x.bin").status().code(), ErrorCode::kResourceDoesNotExist);
  auto [rc, out] = Aws("s3 ls --recursive " + Url(""));
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.find("shared/data/"), std::string::npos) << out;
  EXPECT_NE(out.find("shared/readme.txt"), std::string::npos) << out;
  EXPECT_NE(out.find("shared-sibling/not-mine.txt"), std::string::npos) << out;
}

TEST_F(S3StoreTest, ListFollowsContinuationTokens) {
  S3StoreOptions o = SmallParts();
  o.list_page_size = 2;
  auto store = OpenWith("paged", o);
  ASSERT_TRUE(store);
  for (const char* p : {"many/e", "many/a", "many/d/1", "many/c", "many/b/2", "many/b/3", "many/f"})
    ASSERT_TRUE(PutData(*store, p, p).ok());
  auto list = store->List("many");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> paths;
  for (const auto& e : *list) paths.push_back(e.path + (e.is_dir ? "/" : ""));
  EXPECT_EQ(paths, (std::vector<std::string>{"many/a", "many/b/", "many/c", "many/d/", "many/e",
                                             "many/f"}));
  ASSERT_TRUE(store->Delete("many").ok());
  EXPECT_EQ(store->List("many").status().code(), ErrorCode::kResourceDoesNotExist);
}

TEST_F(S3StoreTest, RejectsBadPathsAndUris) {
  auto store = Open("paths");
  ASSERT_TRUE(store);
  for (const char* bad : {"../x", "/abs", "a//b", "a/./b", "a\\b", "%2e%2e/x", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(PutData(*store, bad, "x").status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(GetData(*store, bad).status().code(), ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(store->Delete(bad).code(), ErrorCode::kInvalidParameterValue);
  }
  EXPECT_FALSE(OpenArtifactStore("s3://").ok());
  EXPECT_FALSE(OpenArtifactStore("s3://Bad_Bucket/x").ok());
  EXPECT_FALSE(OpenArtifactStore("s3://bucket/../x").ok());
  auto trimmed = OpenArtifactStore("s3://studio-test/a/b/");
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ((*trimmed)->uri(), "s3://studio-test/a/b");
}

TEST_F(S3StoreTest, ServerErrorsBecomeClearStatuses) {
  S3StoreOptions o = SmallParts();
  o.credentials.access_key_id = "NOT-A-KEY";
  auto store = OpenWith("denied", o);
  ASSERT_TRUE(store);
  auto put = PutData(*store, "x", "x");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(put.status().message().find("InvalidAccessKeyId"), std::string::npos)
      << put.status().message();

  auto missing_bucket = OpenS3ArtifactStore("s3://no-such-bucket/p", SmallParts());
  ASSERT_TRUE(missing_bucket.ok());
  auto get = GetData(**missing_bucket, "x");
  EXPECT_NE(get.status().message().find("NoSuchBucket"), std::string::npos)
      << get.status().message();

  // A sink error stops the download and is returned as is.
  auto store2 = Open("sink");
  ASSERT_TRUE(store2);
  ASSERT_TRUE(PutData(*store2, "x", MakeData(1 << 20, 5)).ok());
  Status st =
      store2->Get("x", [](std::string_view) { return Status(ErrorCode::kBadRequest, "stop"); });
  EXPECT_EQ(st.message(), "stop");
}

}  // namespace
}  // namespace studio::artifacts
