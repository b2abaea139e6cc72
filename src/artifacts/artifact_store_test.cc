#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "artifacts/artifact_store.h"
#include "artifacts/internal/local_store.h"
#include "common/crypto.h"

namespace studio::artifacts {
namespace {

namespace fs = std::filesystem;

TEST(NormalizeArtifactPath, AcceptsOrdinaryPaths) {
  for (const char* ok : {"a", "a/b.txt", "model/MLmodel", "....", "a/..b/c..", "dir/", "a b/c%20d",
                         "x/.hidden", "%2541"}) {
    auto r = NormalizeArtifactPath(ok);
    ASSERT_TRUE(r.ok()) << ok << ": " << r.status().ToString();
  }
  EXPECT_EQ(*NormalizeArtifactPath("dir/"), "dir");
  EXPECT_EQ(*NormalizeArtifactPath("a/b.txt"), "a/b.txt");
}

TEST(NormalizeArtifactPath, RejectsEveryTraversalForm) {
  const std::vector<std::string> bad = {
      "",
      "/",
      "/etc/passwd",
      "//proc/self/root",
      "..",
      "../x",
      "a/../../x",
      "a/..",
      ".",
      "./a",
      "a/./b",
      "a//b",
      "a\\b",
      "..\\..\\x",
      std::string("a\0b", 3),
      "%2e%2e/x",
      "%2E%2E%2Fetc",
      "a/%2e%2e%2f%2e%2e%2fetc",
      "%252e%252e%252fetc",
      "%25252e%25252e/x",
      "..%2fetc",
      "%2fetc/passwd",
      "a%5cb",
      "a%00b",
      "C:/Windows",
      "c:",
      "a?/../../etc",
      "a#/../../etc",
      "a%3f/b",
      "a%23b",
      "a\nb",
      std::string(300, 'x'),
      std::string(2000, 'a'),
  };
  for (const std::string& p : bad) {
    auto r = NormalizeArtifactPath(p);
    EXPECT_FALSE(r.ok()) << "accepted: " << p;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterValue) << p;
    }
  }
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("artifacts-test-" + crypto::RandomToken(8));
    fs::create_directories(base_ / "outside");
    root_ = base_ / "root";
    auto s = OpenArtifactStore("file://" + root_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(base_); }

  static ChunkSource FromString(std::string data, size_t piece = 7) {
    auto pos = std::make_shared<size_t>(0);
    auto d = std::make_shared<std::string>(std::move(data));
    return [pos, d, piece](char* buf, size_t cap) -> Result<size_t> {
      size_t n = std::min({cap, piece, d->size() - *pos});
      std::memcpy(buf, d->data() + *pos, n);
      *pos += n;
      return n;
    };
  }
  Result<std::string> Read(const std::string& p, const std::string& sha = "") {
    std::string out;
    Status st = store_->Get(
        p,
        [&](std::string_view c) {
          out.append(c);
          return Status::Ok();
        },
        sha);
    if (!st.ok()) return st;
    return out;
  }
  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path base_, root_;
  std::unique_ptr<ArtifactStore> store_;
};

TEST_F(LocalStoreTest, PutGetStatListDelete) {
  auto put = store_->Put("run1/model/MLmodel", FromString("flavor: xgboost\n"));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->size, 16);
  EXPECT_EQ(put->sha256, crypto::Sha256Hex("flavor: xgboost\n"));
  EXPECT_EQ(*Read("run1/model/MLmodel"), "flavor: xgboost\n");
  ASSERT_TRUE(store_->Put("run1/b.txt", FromString("bb")).ok());
  ASSERT_TRUE(store_->Put("run1/a.txt", FromString("")).ok());

  auto st = store_->Stat("run1/b.txt");
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->is_dir);
  EXPECT_EQ(st->size, 2);
  EXPECT_TRUE(store_->Stat("run1/model")->is_dir);
  EXPECT_EQ(store_->Stat("nope").status().code(), ErrorCode::kResourceDoesNotExist);

  auto list = store_->List("run1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].path, "run1/a.txt");
  EXPECT_EQ((*list)[1].path, "run1/b.txt");
  EXPECT_EQ((*list)[2].path, "run1/model");
  EXPECT_TRUE((*list)[2].is_dir);
  auto top = store_->List("");
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ((*top)[0].path, "run1");
  EXPECT_EQ(store_->List("missing").status().code(), ErrorCode::kResourceDoesNotExist);

  ASSERT_TRUE(store_->Delete("run1").ok());
  EXPECT_EQ(Read("run1/b.txt").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store_->Delete("run1").code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_TRUE(store_->List("")->empty());
}

TEST_F(LocalStoreTest, AtomicReplaceLeavesNoTemporaries) {
  ASSERT_TRUE(store_->Put("f", FromString("old contents")).ok());
  // A failing upload leaves the old object untouched.
  int calls = 0;
  auto failing = [&](char* buf, size_t cap) -> Result<size_t> {
    if (++calls > 2) return Status(ErrorCode::kBadRequest, "client went away");
    std::memset(buf, 'x', std::min<size_t>(cap, 10));
    return std::min<size_t>(cap, 10);
  };
  EXPECT_EQ(store_->Put("f", failing).status().code(), ErrorCode::kBadRequest);
  EXPECT_EQ(*Read("f"), "old contents");
  ASSERT_TRUE(store_->Put("f", FromString("new")).ok());
  EXPECT_EQ(*Read("f"), "new");
  int entries = 0;
  for (auto& e : fs::directory_iterator(root_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
  // Temporary names are reserved.
  EXPECT_FALSE(store_->Put(".studio-tmp-x", FromString("x")).ok());
  // A file cannot be replaced by... a directory path through it.
  EXPECT_EQ(store_->Put("f/g", FromString("x")).status().code(), ErrorCode::kInvalidParameterValue);
}

TEST_F(LocalStoreTest, StreamsLargeFilesInChunks) {
  std::string big(3 * kLocalChunkSize + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  auto put = store_->Put("big.bin", FromString(big, kLocalChunkSize * 2));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->size, static_cast<int64_t>(big.size()));
  size_t chunks = 0, largest = 0;
  std::string got;
  ASSERT_TRUE(store_
                  ->Get("big.bin",
                        [&](std::string_view c) {
                          ++chunks;
                          largest = std::max(largest, c.size());
                          got.append(c);
                          return Status::Ok();
                        })
                  .ok());
  EXPECT_EQ(got, big);
  EXPECT_GE(chunks, 4u);
  EXPECT_LE(largest, kLocalChunkSize);
  EXPECT_EQ(put->sha256, crypto::Sha256Hex(big));
  // A sink error stops the transfer.
  EXPECT_EQ(store_->Get("big.bin", [](std::string_view) { return Internal("stop"); }).message(),
            "stop");
}

TEST_F(LocalStoreTest, ChecksumVerifiedOnGet) {
  auto put = store_->Put("m.bin", FromString("payload"));
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(*Read("m.bin", put->sha256), "payload");
  auto bad = Read("m.bin", crypto::Sha256Hex("something else"));
  EXPECT_EQ(bad.status().code(), ErrorCode::kInternalError);
  // Corruption on disk is caught.
  std::ofstream(root_ / "m.bin", std::ios::binary) << "paYload";
  EXPECT_EQ(Read("m.bin", put->sha256).status().code(), ErrorCode::kInternalError);
}

TEST_F(LocalStoreTest, SymlinksOutOfTheRootAreRefused) {
  std::ofstream(base_ / "outside" / "secret") << "top secret";
  fs::create_directory_symlink(base_ / "outside", root_ / "link");
  fs::create_symlink(base_ / "outside" / "secret", root_ / "file-link");
  EXPECT_EQ(Read("link/secret").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(Read("file-link").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store_->Stat("link/secret").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store_->Stat("file-link").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_EQ(store_->List("link").status().code(), ErrorCode::kResourceDoesNotExist);
  EXPECT_FALSE(store_->Put("link/planted", FromString("x")).ok());
  EXPECT_FALSE(fs::exists(base_ / "outside" / "planted"));
  EXPECT_EQ(store_->Delete("link/secret").code(), ErrorCode::kResourceDoesNotExist);
  // Listing the root does not show the links; deleting a link removes the link only.
  auto root_list = store_->List("");
  ASSERT_TRUE(root_list.ok());
  for (const auto& e : *root_list) EXPECT_NE(e.path, "link");
  EXPECT_TRUE(store_->Delete("link").ok());
  EXPECT_TRUE(store_->Delete("file-link").ok());
  EXPECT_EQ(Slurp(base_ / "outside" / "secret"), "top secret");
  // Writing over a symlink replaces the link, not its target.
  fs::create_symlink(base_ / "outside" / "secret", root_ / "over");
  ASSERT_TRUE(store_->Put("over", FromString("mine")).ok());
  EXPECT_EQ(Slurp(base_ / "outside" / "secret"), "top secret");
  EXPECT_FALSE(fs::is_symlink(root_ / "over"));
  // Recursive delete does not follow links inside the tree.
  ASSERT_TRUE(store_->Put("tree/x", FromString("x")).ok());
  fs::create_directory_symlink(base_ / "outside", root_ / "tree" / "out");
  ASSERT_TRUE(store_->Delete("tree").ok());
  EXPECT_EQ(Slurp(base_ / "outside" / "secret"), "top secret");
}

TEST_F(LocalStoreTest, ConcurrentWritersLeaveOneWholeFile) {
  constexpr int kWriters = 8;
  const size_t size = kLocalChunkSize + 999;
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      auto r = store_->Put("shared/obj",
                           FromString(std::string(size, static_cast<char>('a' + i)), 4096));
      EXPECT_TRUE(r.ok());
    });
  for (auto& t : threads) t.join();
  std::string got = *Read("shared/obj");
  ASSERT_EQ(got.size(), size);
  EXPECT_EQ(got.find_first_not_of(got[0]), std::string::npos);
  EXPECT_EQ(store_->List("shared")->size(), 1u);
}

TEST(OpenArtifactStore, RejectsBadUris) {
  for (const char* uri : {"file://relative/dir", "file://host/abs", "file:///a/../b", "file:///a?b",
                          "ftp://x/y", "/plain/path", ""}) {
    EXPECT_FALSE(OpenArtifactStore(uri).ok()) << uri;
  }
#ifndef STUDIO_WITH_S3
  EXPECT_EQ(OpenArtifactStore("s3://bucket/prefix").status().code(), ErrorCode::kNotImplemented);
#endif
}

}  // namespace
}  // namespace studio::artifacts
