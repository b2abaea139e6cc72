#include <gtest/gtest.h>

#include "auth/login_limiter.h"
#include "auth/password.h"

namespace studio::auth {
namespace {

TEST(PasswordTest, Argon2idHashesVerifyAndSaltDiffers) {
  auto a = HashPassword("correct horse battery");
  auto b = HashPassword("correct horse battery");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *a;
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(VerifyPassword("correct horse battery", *a));
  EXPECT_FALSE(VerifyPassword("correct horse batterY", *a));
  EXPECT_FALSE(VerifyPassword("", *a));
  EXPECT_FALSE(VerifyPassword("x", "not-a-phc-string"));
}

TEST(PasswordTest, GeneratedPasswordsAreLongAndDistinct) {
  std::string a = GeneratePassword(), b = GeneratePassword();
  EXPECT_GE(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(LoginLimiterTest, TenFailuresPerUserOrIpPerMinute) {
  LoginLimiter l(10, 60'000);
  for (int i = 0; i < 9; ++i) l.RecordFailure("alice", "10.0.0." + std::to_string(i), 1000 + i);
  EXPECT_FALSE(l.Blocked("alice", "10.0.0.99", 1100));
  l.RecordFailure("alice", "10.0.0.9", 1100);
  EXPECT_TRUE(l.Blocked("alice", "10.0.0.99", 1200));
  EXPECT_FALSE(l.Blocked("bob", "10.0.0.99", 1200));
  EXPECT_FALSE(l.Blocked("alice", "10.0.0.99", 1000 + 60'001 + 100));  // window slid past
  for (int i = 0; i < 10; ++i) l.RecordFailure("user" + std::to_string(i), "1.2.3.4", 5000);
  EXPECT_TRUE(l.Blocked("carol", "1.2.3.4", 5001));
}

}  // namespace
}  // namespace studio::auth
