// Commands that work on the metadata store directly (no server needed).
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "auth/identity.h"
#include "auth/password.h"
#include "cli/commands.h"
#include "cli/internal/open.h"
#include "common/version.h"

namespace studio::cli {
namespace {

std::string ReadPasswordFromStdin() {
  std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
  return all;
}

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  for (const auto& [field, problem] : st.details())
    std::cerr << "  " << field << ": " << problem << "\n";
  // The checked condition failed (bad input, conflict, unknown user): 1. Anything else: 2.
  switch (st.code()) {
    case ErrorCode::kInvalidParameterValue:
    case ErrorCode::kResourceConflict:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kResourceDoesNotExist:
      return kExitFailed;
    default:
      return kExitError;
  }
}

const auth::Actor kCliActor{"system", "cli"};

}  // namespace

int RunVersion(bool json) {
  if (json)
    std::cout << nlohmann::json{{"version", kStudioVersion}}.dump() << "\n";
  else
    std::cout << "studio " << kStudioVersion << "\n";
  return kExitOk;
}

int RunMigrate(const CommonFlags& flags) {
  auto opened = OpenConfiguredStore(flags);
  if (!opened.ok()) return Fail(opened.status());
  auto& store = *opened->store;
  auto v = store.SchemaVersion();
  std::cout << "schema version " << (v.ok() ? *v : 0) << " (" << store.backend() << ")\n";
  return kExitOk;
}

int RunBootstrap(const CommonFlags& flags, const std::string& username, bool password_stdin,
                 bool json) {
  auto opened = OpenConfiguredStore(flags);
  if (!opened.ok()) return Fail(opened.status());
  std::string password = password_stdin ? ReadPasswordFromStdin() : auth::GeneratePassword();
  auth::Identity identity(*opened->store);
  Status st = identity.BootstrapAdmin(kCliActor, username, password);
  if (st.code() == ErrorCode::kResourceConflict) {
    std::cerr << "error: an admin already exists; bootstrap runs once (use `studio admin user "
                 "create` to add users)\n";
    return kExitFailed;
  }
  if (!st.ok()) return Fail(st);
  if (json) {
    std::cout << nlohmann::json{{"username", username}, {"password", password}}.dump() << "\n";
  } else {
    std::cout << "created admin '" << username << "'\n";
    if (!password_stdin) std::cout << "password (shown once): " << password << "\n";
  }
  return kExitOk;
}

int RunUserCreate(const CommonFlags& flags, const std::string& username,
                  const std::vector<std::string>& roles, bool password_stdin, bool json) {
  auto opened = OpenConfiguredStore(flags);
  if (!opened.ok()) return Fail(opened.status());
  std::string password = password_stdin ? ReadPasswordFromStdin() : auth::GeneratePassword();
  auth::Identity identity(*opened->store);
  auto user = identity.CreateUser(kCliActor, username, password, roles);
  if (!user.ok()) return Fail(user.status());
  if (json) {
    nlohmann::json out = {{"id", user->id}, {"username", username}, {"roles", user->roles}};
    if (!password_stdin) out["password"] = password;  // never echo a password we were given
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "created user '" << username << "'\n";
    if (!password_stdin) std::cout << "password (shown once): " << password << "\n";
  }
  return kExitOk;
}

int RunUserSetRoles(const CommonFlags& flags, const std::string& username,
                    const std::vector<std::string>& roles) {
  auto opened = OpenConfiguredStore(flags);
  if (!opened.ok()) return Fail(opened.status());
  auth::Identity identity(*opened->store);
  auto user = identity.UpdateUser(kCliActor, username, roles, std::nullopt, std::nullopt);
  if (!user.ok()) return Fail(user.status());
  std::cout << "roles of '" << user->username << "': ";
  for (size_t i = 0; i < user->roles.size(); ++i) std::cout << (i ? "," : "") << user->roles[i];
  std::cout << "\n";
  return kExitOk;
}

int RunAuditVerify(const CommonFlags& flags, bool json) {
  auto opened = OpenConfiguredStore(flags, /*migrate=*/false);
  if (!opened.ok()) return Fail(opened.status());
  auto report = audit::Verify(*opened->store);
  if (!report.ok()) return Fail(report.status());
  if (json) {
    nlohmann::json out = {{"ok", report->ok}, {"count", report->count}};
    if (!report->ok) {
      out["first_broken_seq"] = report->first_broken_seq;
      out["first_broken_id"] = report->first_broken_id;
      out["problem"] = report->problem;
    }
    std::cout << out.dump() << "\n";
  } else if (report->ok) {
    std::cout << "audit log intact: " << report->count << " events\n";
  } else {
    std::cout << "audit log BROKEN at event seq=" << report->first_broken_seq
              << " id=" << report->first_broken_id << ": " << report->problem << " ("
              << report->count << " events before it verified)\n";
  }
  return report->ok ? kExitOk : kExitFailed;
}

}  // namespace studio::cli
