#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/config.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "common/status.h"
#include "common/time_util.h"

namespace studio {
namespace {

TEST(TimeTest, FormatsRfc3339WithMillis) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1764142800123), "2025-11-26T07:40:00.123Z");
}

TEST(TimeTest, ParsesWhatItFormatsAndOffsets) {
  EXPECT_EQ(*ParseRfc3339("2025-11-26T07:40:00.123Z"), 1764142800123);
  EXPECT_EQ(*ParseRfc3339("2025-11-26T07:40:00Z"), 1764142800000);
  EXPECT_EQ(*ParseRfc3339("2025-11-26T09:40:00.1+02:00"), 1764142800100);
  for (const char* bad : {"", "2025-11-26", "2025-13-01T00:00:00Z", "2025-11-26T07:40:00",
                          "2025-11-26T07:40:00Zjunk", "2025-11-26T07:40:00.Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(IdsTest, UuidV7IsWellFormedUniqueAndOrdered) {
  std::set<std::string> seen;
  std::string prev;
  for (int i = 0; i < 2000; ++i) {
    std::string id = NewUuidV7();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '7');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
    EXPECT_GT(id, prev);
    prev = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(CryptoTest, Sha256KnownVector) {
  EXPECT_EQ(crypto::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, StreamingSha256MatchesOneShot) {
  crypto::Sha256Stream h;
  h.Update("a");
  h.Update("");
  h.Update("bc");
  EXPECT_EQ(h.FinishHex(), crypto::Sha256Hex("abc"));
}

TEST(CryptoTest, Base64RoundTripsBothAlphabets) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(*crypto::Base64Decode(crypto::Base64Encode(s)), s);
    EXPECT_EQ(*crypto::Base64Decode(crypto::Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(crypto::Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(crypto::Base64Decode("not base64!").ok());
  EXPECT_TRUE(crypto::ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(crypto::ConstantTimeEquals("abc", "abcd"));
  EXPECT_NE(crypto::RandomToken(), crypto::RandomToken());
}

TEST(StatusTest, ResultAndMacros) {
  auto f = [](bool fail) -> Result<int> {
    if (fail) return InvalidArgument("no");
    return 7;
  };
  auto g = [&](bool fail) -> Status {
    ASSIGN_OR_RETURN(int v, f(fail));
    EXPECT_EQ(v, 7);
    return Status::Ok();
  };
  EXPECT_TRUE(g(false).ok());
  EXPECT_EQ(g(true).code(), ErrorCode::kInvalidParameterValue);
  Status s = InvalidArgument("bad").WithDetail("name", "too short");
  EXPECT_EQ(s.details().at("name"), "too short");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kResourceAlreadyExists), "RESOURCE_ALREADY_EXISTS");
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& k : ConfigKeys()) unsetenv(("STUDIO_" + Upper(k)).c_str());
    unsetenv("STUDIO_CONFIG");
    dir_ = std::filesystem::temp_directory_path() / ("cfg-" + NewUuidV7());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    unsetenv("STUDIO_PORT");
    unsetenv("STUDIO_HOST");
  }
  static std::string Upper(std::string s) {
    for (char& c : s) c = static_cast<char>(toupper(c));
    return s;
  }
  std::string Write(const std::string& text) {
    auto p = dir_ / "studio.yaml";
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigTest, Defaults) {
  auto c = ResolveConfig({}, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->data_dir, ".studio");
  EXPECT_EQ(c->body_limit, 16 * 1024 * 1024);
  EXPECT_EQ(c->DbUri().rfind("sqlite:///", 0), 0u);
  EXPECT_NE(c->DbUri().find("/.studio/studio.db"), std::string::npos);
}

TEST_F(ConfigTest, FlagsBeatEnvBeatsFileBeatsDefaults) {
  std::string file =
      Write("port: 9001\nhost: 0.0.0.0\nlog_format: text\nallowed_hosts: [a.example, b.example]\n");
  auto from_file = ResolveConfig({}, file);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->port, 9001);
  EXPECT_EQ(from_file->log_format, "text");
  EXPECT_EQ(from_file->allowed_hosts, (std::vector<std::string>{"a.example", "b.example"}));
  setenv("STUDIO_PORT", "9002", 1);
  auto from_env = ResolveConfig({}, file);
  EXPECT_EQ(from_env->port, 9002);
  EXPECT_EQ(from_env->host, "0.0.0.0");
  auto from_flag = ResolveConfig({{"port", "9003"}}, file);
  EXPECT_EQ(from_flag->port, 9003);
}

TEST_F(ConfigTest, BadValuesAreClearErrors) {
  EXPECT_EQ(ResolveConfig({{"port", "http"}}, "").status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(ResolveConfig({{"port", "70000"}}, "").status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_FALSE(ResolveConfig({{"log_format", "xml"}}, "").ok());
  EXPECT_FALSE(ResolveConfig({{"body_limit", "12"}}, "").ok());
  auto unknown = ResolveConfig({}, Write("prot: 1\n"));
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("prot"), std::string::npos);
  EXPECT_FALSE(ResolveConfig({}, Write("port: [\n")).ok());
  EXPECT_FALSE(ResolveConfig({}, (dir_ / "missing.yaml").string()).ok());
}

TEST(MetricsTest, RendersPrometheusText) {
  metrics::Registry r;
  r.GetCounter("x_total", "Things.", {{"code", "200"}}).Inc();
  r.GetCounter("x_total", "Things.", {{"code", "200"}}).Inc(2);
  auto& h = r.GetHistogram("lat_seconds", "Latency.", {0.001, 0.01}, {{"route", "/a\"b"}});
  h.Observe(0.0005);
  h.Observe(0.005);
  h.Observe(5);
  std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE x_total counter\nx_total{code=\"200\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\\\"b\",le=\"0.001\"} 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\\\"b\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count{route=\"/a\\\"b\"} 3"), std::string::npos);
  std::string proc = metrics::RenderProcessMetrics();
  EXPECT_NE(proc.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(proc.find("process_cpu_seconds_total "), std::string::npos);
}

}  // namespace
}  // namespace studio
