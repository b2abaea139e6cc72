#pragma once

#include <map>
#include <string>
#include <vector>

#include "serving/server/model_server.h"

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

// Verbs that talk to a running server (--server/STUDIO_SERVER, --token/STUDIO_TOKEN).
struct ModelCommandOptions {
  std::string server;
  std::string token;
  bool json = false;
};
int RunModelRegister(const ModelCommandOptions& o, const std::string& project,
                     const std::string& name, const std::string& path, const std::string& uri,
                     const std::string& description, const std::string& git_commit,
                     const std::string& run_id);
int RunModelList(const ModelCommandOptions& o, const std::string& filter);
int RunModelShow(const ModelCommandOptions& o, const std::string& name);
int RunModelAlias(const ModelCommandOptions& o, const std::string& name, const std::string& alias,
                  const std::string& version, bool remove);
int RunModelDownload(const ModelCommandOptions& o, const std::string& name,
                     const std::string& version, const std::string& out_dir);

// `studio serve-model`.
struct ServeModelOptions {
  std::string model;      // directory, models:/NAME/VERSION or models:/NAME@ALIAS
  std::string registry;   // control plane URL for models:/ (else STUDIO_SERVER)
  std::string token;      // else STUDIO_TOKEN
  std::string name;       // for a directory: the model name to report (default: its base name)
  std::string version;    // for a directory: the version to report (default "1")
  std::string cache_dir;  // where registry models are downloaded
  std::string log_format = "json";
  serving::ServeOptions serve;
};
int RunServeModel(const ServeModelOptions& options);

// `studio drift` (plain values; CLI11 stays in main.cc).
struct DriftCommandOptions {
  std::string reference, current;  // CSV files with a header row
  std::string method = "auto";
  double threshold = 0;
  bool threshold_set = false;  // else each method's default
  double drift_share = 0.5;
  std::vector<std::string> columns, categorical, numeric;
  std::string correction = "none";
  std::string format = "text";  // text | json | html
  std::string output;           // file (written atomically); empty or "-" = stdout
  int threads = 2;
};
// 0 no dataset drift, 1 dataset drift, 2 error (message on stderr).
int RunDrift(const DriftCommandOptions& options);

// `studio pipeline init|validate` (plain values; CLI11 stays in main.cc).
struct PipelineCommandOptions {
  std::string server, token;  // validate: with a server, also check locks and policy
  bool json = false;
  std::string file;                        // validate: the spec ("-" = stdin)
  std::string name, project, output_file;  // init ("-" = stdout)
  bool force = false;                      // init: overwrite
};
// 0 written, 2 error.
int RunPipelineInit(const PipelineCommandOptions& options);
// 0 valid, 1 invalid, 2 usage or system error.
int RunPipelineValidate(const PipelineCommandOptions& options);

// `studio deploy`, `studio approve|reject|rollback`, `studio deployments list` (issue 7).
struct DeployCommandOptions {
  std::string server, token;
  bool json = false;
};
// --wait: 0 LIVE, 1 ROLLED_BACK / FAILED / REJECTED, 2 error or timeout.
int RunDeploy(const DeployCommandOptions& o, const std::string& model, const std::string& env,
              const std::string& project, const std::string& strategy, bool wait,
              int timeout_seconds);
// verb: approve | reject (text = comment) | rollback (text = reason).
int RunDeploymentDecision(const DeployCommandOptions& o, const std::string& id,
                          const std::string& verb, const std::string& text);
int RunDeploymentsList(const DeployCommandOptions& o, const std::string& env,
                       const std::string& project, const std::string& status, int max_results);

}  // namespace studio::cli
