#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace studio::auth {

// The seed's six roles (DESIGN.md §5).
enum class Role {
  kMlEngineer,
  kDataEngineer,
  kProductionTeam,
  kMonitoringTeam,
  kModelSponsor,
  kAdmin
};

// What a route may require. kPublic needs nothing; kSelf and kRead need any enabled login.
enum class Action {
  kPublic,
  kSelf,
  kRead,
  kCreate,
  kDeployDev,
  kDeployStaging,
  kDeployProd,
  kApprove,
  kAdmin,
  kManageAlerts,
  kLockPipelines,  // lock and unlock pipeline stages (issue 6): production_team, admin
};

const std::vector<Role>& AllRoles();
const std::vector<Action>& AllActions();
std::string_view RoleName(Role role);
std::string_view ActionName(Action action);
bool ParseRole(std::string_view name, Role* out);
// Unknown names → INVALID_PARAMETER_VALUE naming the bad one and the valid ones.
Result<std::vector<Role>> ParseRoles(const std::vector<std::string>& names);

struct Principal {
  bool authenticated = false;
  std::string user_id;
  std::string username;
  std::vector<Role> roles;
};

// The one policy function: every request's decision comes from here.
// OK, UNAUTHENTICATED (401) or PERMISSION_DENIED (403, naming the permission and who has it).
Status Authorize(const Principal& who, Action action);
bool RoleGrants(Role role, Action action);
// Permission names held by `roles` (for /me and the UI).
std::vector<std::string> PermissionsOf(const std::vector<Role>& roles);

}  // namespace studio::auth
