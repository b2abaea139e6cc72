#pragma once

#include <map>
#include <string>
#include <vector>

namespace studio::cli {

// Flags every store-touching command shares (snake_case key → value, only those given).
struct CommonFlags {
  std::map<std::string, std::string> values;
  std::string config_file;
};

// Exit codes: 0 success, 1 the checked condition failed, 2 usage or system error.
enum ExitCode { kExitOk = 0, kExitFailed = 1, kExitError = 2 };

int RunServe(const CommonFlags& flags, bool demo);
int RunVersion(bool json);
int RunBootstrap(const CommonFlags& flags, const std::string& username, bool password_stdin,
                 bool json);
int RunMigrate(const CommonFlags& flags);
int RunUserCreate(const CommonFlags& flags, const std::string& username,
                  const std::vector<std::string>& roles, bool password_stdin, bool json);
int RunUserSetRoles(const CommonFlags& flags, const std::string& username,
                    const std::vector<std::string>& roles);
int RunAuditVerify(const CommonFlags& flags, bool json);

}  // namespace studio::cli
