#include "auth/rbac.h"

#include <algorithm>

#include "common/strings.h"

namespace studio::auth {

const std::vector<Role>& AllRoles() {
  static const std::vector<Role> kRoles = {Role::kMlEngineer,     Role::kDataEngineer,
                                           Role::kProductionTeam, Role::kMonitoringTeam,
                                           Role::kModelSponsor,   Role::kAdmin};
  return kRoles;
}

const std::vector<Action>& AllActions() {
  static const std::vector<Action> kActions = {
      Action::kPublic,    Action::kSelf,          Action::kRead,         Action::kCreate,
      Action::kDeployDev, Action::kDeployStaging, Action::kDeployProd,   Action::kApprove,
      Action::kAdmin,     Action::kManageAlerts,  Action::kLockPipelines};
  return kActions;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kMlEngineer:
      return "ml_engineer";
    case Role::kDataEngineer:
      return "data_engineer";
    case Role::kProductionTeam:
      return "production_team";
    case Role::kMonitoringTeam:
      return "monitoring_team";
    case Role::kModelSponsor:
      return "model_sponsor";
    case Role::kAdmin:
      return "admin";
  }
  return "";
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kPublic:
      return "public";
    case Action::kSelf:
      return "self";
    case Action::kRead:
      return "read";
    case Action::kCreate:
      return "create";
    case Action::kDeployDev:
      return "deploy_dev";
    case Action::kDeployStaging:
      return "deploy_staging";
    case Action::kDeployProd:
      return "deploy_prod";
    case Action::kApprove:
      return "approve";
    case Action::kAdmin:
      return "admin";
    case Action::kManageAlerts:
      return "manage_alerts";
    case Action::kLockPipelines:
      return "lock_pipelines";
  }
  return "";
}

bool ParseRole(std::string_view name, Role* out) {
  for (Role r : AllRoles()) {
    if (RoleName(r) == name) {
      *out = r;
      return true;
    }
  }
  return false;
}

Result<std::vector<Role>> ParseRoles(const std::vector<std::string>& names) {
  std::vector<Role> roles;
  for (const auto& n : names) {
    Role r;
    if (!ParseRole(n, &r)) {
      std::vector<std::string> valid;
      for (Role v : AllRoles()) valid.emplace_back(RoleName(v));
      return InvalidArgument("unknown role '" + n + "' (valid: " + Join(valid, ", ") + ")")
          .WithDetail("roles", "unknown role '" + n + "'");
    }
    if (std::find(roles.begin(), roles.end(), r) == roles.end()) roles.push_back(r);
  }
  return roles;
}

// The seed's table (DESIGN.md §5), as data.
bool RoleGrants(Role role, Action action) {
  switch (action) {
    case Action::kPublic:
    case Action::kSelf:
    case Action::kRead:
      return true;
    case Action::kCreate:
    case Action::kDeployDev:
      return role == Role::kMlEngineer || role == Role::kDataEngineer || role == Role::kAdmin;
    case Action::kDeployStaging:
      return role == Role::kProductionTeam || role == Role::kAdmin;
    case Action::kDeployProd:
      return role == Role::kAdmin;
    case Action::kApprove:
      return role == Role::kProductionTeam || role == Role::kModelSponsor || role == Role::kAdmin;
    case Action::kAdmin:
      return role == Role::kAdmin;
    case Action::kManageAlerts:
      return role == Role::kMonitoringTeam || role == Role::kAdmin;
    case Action::kLockPipelines:
      return role == Role::kProductionTeam || role == Role::kAdmin;
  }
  return false;
}

Status Authorize(const Principal& who, Action action) {
  if (action == Action::kPublic) return Status::Ok();
  if (!who.authenticated) return Status(ErrorCode::kUnauthenticated, "authentication required");
  if (action == Action::kSelf || action == Action::kRead) return Status::Ok();
  for (Role r : who.roles)
    if (RoleGrants(r, action)) return Status::Ok();
  std::vector<std::string> holders;
  for (Role r : AllRoles())
    if (RoleGrants(r, action)) holders.emplace_back(RoleName(r));
  return Status(ErrorCode::kPermissionDenied, "permission '" + std::string(ActionName(action)) +
                                                  "' required (granted by: " + Join(holders, ", ") +
                                                  ")");
}

std::vector<std::string> PermissionsOf(const std::vector<Role>& roles) {
  std::vector<std::string> out;
  for (Action a : AllActions()) {
    if (a == Action::kPublic) continue;
    bool granted = a == Action::kSelf || a == Action::kRead;
    for (Role r : roles) granted = granted || RoleGrants(r, a);
    if (granted) out.emplace_back(ActionName(a));
  }
  return out;
}

}  // namespace studio::auth
