// Every role × every action against the seed's table (DESIGN.md §5).
#include <gtest/gtest.h>

#include <map>

#include "auth/rbac.h"

namespace studio::auth {
namespace {

// Rows: role. Columns: create, deploy_dev, deploy_staging, deploy_prod, approve, admin,
// manage_alerts, lock_pipelines.
const std::map<std::string, std::vector<int>> kSeedTable = {
    {"ml_engineer", {1, 1, 0, 0, 0, 0, 0, 0}},     {"data_engineer", {1, 1, 0, 0, 0, 0, 0, 0}},
    {"production_team", {0, 0, 1, 0, 1, 0, 0, 1}}, {"monitoring_team", {0, 0, 0, 0, 0, 0, 1, 0}},
    {"model_sponsor", {0, 0, 0, 0, 1, 0, 0, 0}},   {"admin", {1, 1, 1, 1, 1, 1, 1, 1}},
};
const std::vector<Action> kColumns = {
    Action::kCreate,  Action::kDeployDev, Action::kDeployStaging, Action::kDeployProd,
    Action::kApprove, Action::kAdmin,     Action::kManageAlerts,  Action::kLockPipelines};

Principal As(Role role) {
  Principal p;
  p.authenticated = true;
  p.username = "u";
  p.roles = {role};
  return p;
}

TEST(RbacTest, EveryRoleTimesEveryActionMatchesTheSeedTable) {
  ASSERT_EQ(kSeedTable.size(), AllRoles().size());
  for (Role role : AllRoles()) {
    const auto& row = kSeedTable.at(std::string(RoleName(role)));
    for (size_t i = 0; i < kColumns.size(); ++i) {
      Status st = Authorize(As(role), kColumns[i]);
      SCOPED_TRACE(std::string(RoleName(role)) + " × " + std::string(ActionName(kColumns[i])));
      if (row[i]) {
        EXPECT_TRUE(st.ok()) << st.ToString();
      } else {
        EXPECT_EQ(st.code(), ErrorCode::kPermissionDenied);
        EXPECT_NE(st.message().find(std::string(ActionName(kColumns[i]))), std::string::npos);
      }
    }
    for (Action a : {Action::kPublic, Action::kSelf, Action::kRead})
      EXPECT_TRUE(Authorize(As(role), a).ok());
  }
}

TEST(RbacTest, UnauthenticatedGetsOnlyPublic) {
  Principal anon;
  for (Action a : AllActions()) {
    Status st = Authorize(anon, a);
    if (a == Action::kPublic)
      EXPECT_TRUE(st.ok());
    else
      EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << ActionName(a);
  }
}

TEST(RbacTest, ForbiddenMessageNamesWhoHasThePermission) {
  Status st = Authorize(As(Role::kModelSponsor), Action::kDeployProd);
  EXPECT_NE(st.message().find("'deploy_prod'"), std::string::npos);
  EXPECT_NE(st.message().find("admin"), std::string::npos);
}

TEST(RbacTest, RolesUnion) {
  Principal p = As(Role::kMlEngineer);
  p.roles.push_back(Role::kModelSponsor);
  EXPECT_TRUE(Authorize(p, Action::kCreate).ok());
  EXPECT_TRUE(Authorize(p, Action::kApprove).ok());
  EXPECT_FALSE(Authorize(p, Action::kDeployStaging).ok());
  auto perms = PermissionsOf(p.roles);
  EXPECT_EQ(perms, (std::vector<std::string>{"self", "read", "create", "deploy_dev", "approve"}));
}

TEST(RbacTest, ParseRolesRejectsUnknownAndDedupes) {
  auto ok = ParseRoles({"admin", "admin", "ml_engineer"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  auto bad = ParseRoles({"root"});
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidParameterValue);
  EXPECT_NE(bad.status().message().find("root"), std::string::npos);
}

}  // namespace
}  // namespace studio::auth
