// Users, sessions and tokens through the Identity service, on both backends.
#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "auth/identity.h"
#include "store/internal/test_stores.h"

namespace studio::auth {
namespace {

class IdentityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!store::testing::BackendAvailable(GetParam())) GTEST_SKIP() << "no PostgreSQL fixture";
    t_ = store::testing::OpenTestStore(GetParam());
    id_ = std::make_unique<Identity>(*t_->store);
  }
  std::unique_ptr<store::testing::TestStore> t_;
  std::unique_ptr<Identity> id_;
  LoginLimiter limiter_;
  Actor actor_{"system", "test"};
};

TEST_P(IdentityTest, BootstrapOnceThenLoginAndTokens) {
  ASSERT_TRUE(id_->BootstrapAdmin(actor_, "root", "longpassword1").ok());
  EXPECT_EQ(id_->BootstrapAdmin(actor_, "root2", "longpassword1").code(),
            ErrorCode::kResourceConflict);

  auto login = id_->Login(limiter_, "root", "longpassword1", "127.0.0.1", "r1");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  auto who = id_->AuthenticateSession(login->session_token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->username, "root");
  EXPECT_TRUE(Authorize(*who, Action::kAdmin).ok());

  auto token = id_->IssueToken(actor_, *who, "ci", 0);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->secret.rfind("stu_", 0), 0u);
  EXPECT_TRUE(id_->AuthenticateBearer(token->secret).ok());
  EXPECT_EQ(id_->AuthenticateBearer(token->secret + "x").status().code(),
            ErrorCode::kUnauthenticated);
  ASSERT_TRUE(id_->RevokeToken(actor_, *who, token->record.id).ok());
  EXPECT_EQ(id_->AuthenticateBearer(token->secret).status().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(id_->RevokeToken(actor_, *who, token->record.id).code(),
            ErrorCode::kResourceDoesNotExist);

  ASSERT_TRUE(id_->Logout(actor_, login->session_token).ok());
  EXPECT_FALSE(id_->AuthenticateSession(login->session_token).ok());

  auto report = audit::Verify(*t_->store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->count, 5);  // bootstrap, login, token.create, token.revoke, logout
}

TEST_P(IdentityTest, WrongPasswordsAreThrottled) {
  ASSERT_TRUE(id_->CreateUser(actor_, "bob", "bobspassword", {"ml_engineer"}).ok());
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(id_->Login(limiter_, "bob", "wrong-password", "10.1.1.1", "r").status().code(),
              ErrorCode::kUnauthenticated);
  EXPECT_EQ(id_->Login(limiter_, "bob", "bobspassword", "10.1.1.2", "r").status().code(),
            ErrorCode::kRequestLimitExceeded);
  EXPECT_EQ(id_->Login(limiter_, "nobody", "x", "10.1.1.1", "r").status().code(),
            ErrorCode::kRequestLimitExceeded);
}

TEST_P(IdentityTest, DisabledUsersLoseSessionsAndTokens) {
  auto bob = id_->CreateUser(actor_, "bob", "bobspassword", {"ml_engineer"});
  ASSERT_TRUE(bob.ok());
  auto login = id_->Login(limiter_, "bob", "bobspassword", "1.1.1.1", "r");
  ASSERT_TRUE(login.ok());
  auto token = id_->IssueToken(actor_, ToPrincipal(*bob), "t", 30);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(id_->UpdateUser(actor_, "bob", std::nullopt, true, std::nullopt).ok());
  EXPECT_FALSE(id_->AuthenticateSession(login->session_token).ok());
  EXPECT_FALSE(id_->AuthenticateBearer(token->secret).ok());
  EXPECT_EQ(id_->Login(limiter_, "bob", "bobspassword", "1.1.1.1", "r").status().code(),
            ErrorCode::kUnauthenticated);
}

TEST_P(IdentityTest, ValidatesInput) {
  EXPECT_EQ(id_->CreateUser(actor_, "", "longpassword", {}).status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(id_->CreateUser(actor_, "a b", "longpassword", {}).status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(id_->CreateUser(actor_, "x'; DROP TABLE users;--", "longpassword", {}).status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(id_->CreateUser(actor_, "carol", "short", {}).status().code(),
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(id_->CreateUser(actor_, "carol", "longpassword", {"root"}).status().code(),
            ErrorCode::kInvalidParameterValue);
  ASSERT_TRUE(id_->CreateUser(actor_, "carol", "longpassword", {}).ok());
  EXPECT_EQ(id_->CreateUser(actor_, "carol", "longpassword", {}).status().code(),
            ErrorCode::kAlreadyExists);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityTest, ::testing::ValuesIn(store::testing::Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace studio::auth
