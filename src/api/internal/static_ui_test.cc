#include "api/internal/static_ui.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace studio::api {
namespace {
namespace fs = std::filesystem;

class StaticUiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/static-ui-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = fs::canonical(tmpl);
    root_ = base_ / "dist";
    fs::create_directories(root_ / "assets");
    Write(root_ / "index.html", "<html></html>");
    Write(root_ / "assets" / "index-abc123.js", "console.log(1)");
    Write(base_ / "secret.txt", "do not serve");
    fs::create_symlink(base_ / "secret.txt", root_ / "assets" / "link.js");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  fs::path base_, root_;
};

TEST_F(StaticUiTest, ResolvesFilesUnderTheRoot) {
  auto index = ResolveUiFile(root_.string(), "/");
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(*index, (root_ / "index.html").string());
  auto js = ResolveUiFile(root_.string(), "/assets/index-abc123.js");
  ASSERT_TRUE(js.ok());
  EXPECT_EQ(*js, (root_ / "assets" / "index-abc123.js").string());
}

TEST_F(StaticUiTest, MissingFilesAreNotFound) {
  auto r = ResolveUiFile(root_.string(), "/projects/demo");
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceDoesNotExist);
  // A directory is not a file.
  EXPECT_EQ(ResolveUiFile(root_.string(), "/assets").status().code(),
            ErrorCode::kResourceDoesNotExist);
}

TEST_F(StaticUiTest, RefusesTraversal) {
  for (const char* bad : {"/../secret.txt", "/assets/../../secret.txt", "/./index.html",
                          "/assets/..", "/..\\secret.txt", "/assets\\x.js"}) {
    auto r = ResolveUiFile(root_.string(), bad);
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterValue) << bad;
  }
  std::string nul = "/index.html";
  nul.push_back('\0');
  nul += "x";
  EXPECT_EQ(ResolveUiFile(root_.string(), nul).status().code(), ErrorCode::kInvalidParameterValue);
}

TEST_F(StaticUiTest, RefusesSymlinksLeavingTheRoot) {
  auto r = ResolveUiFile(root_.string(), "/assets/link.js");
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterValue);
}

TEST_F(StaticUiTest, ContentTypes) {
  EXPECT_EQ(UiContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(UiContentType("a/b/index-1.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(UiContentType("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(UiContentType("x.svg"), "image/svg+xml");
  EXPECT_EQ(UiContentType("noext"), "application/octet-stream");
}

TEST_F(StaticUiTest, FindUiDir) {
  auto found = FindUiDir(root_.string());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, root_.string());
  EXPECT_EQ(*FindUiDir("none"), "");
  EXPECT_EQ(*FindUiDir("off"), "");
  // A configured directory without index.html is a configuration error, not a silent no-UI.
  auto missing = FindUiDir((base_ / "nope").string());
  EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(FindUiDir((root_ / "assets").string()).status().code(),
            ErrorCode::kInvalidParameterValue);
}

}  // namespace
}  // namespace studio::api
