// `studio serve`: the control plane.
#include <pthread.h>
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "api/server.h"
#include "auth/identity.h"
#include "auth/password.h"
#include "cli/commands.h"
#include "cli/internal/open.h"
#include "common/log.h"
#include "orchestrator/run_service.h"
#include "pipelines/spec.h"
#include "registry/projects.h"
#include "store/projects_repo.h"
#include "store/users_repo.h"

namespace studio::cli {
namespace {

const auth::Actor kSystem{"system", "startup"};

// On a store with no admin, create `admin` with a random password and show it once.
Status EnsureAdmin(store::MetadataStore& store) {
  int64_t admins = 0;
  RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(admins, store::Users(tx).CountWithRole("admin"));
    return Status::Ok();
  }));
  if (admins > 0) return Status::Ok();
  std::string password = auth::GeneratePassword();
  auth::Identity identity(store);
  Status st = identity.BootstrapAdmin(kSystem, "admin", password);
  if (st.code() == ErrorCode::kResourceConflict) return Status::Ok();  // raced another process
  RETURN_IF_ERROR(st);
  std::cout << "\n  First start: created the admin user. This password is shown only once:\n\n"
            << "    username: admin\n    password: " << password << "\n\n"
            << "  Log in with POST /api/v1/auth/login, then create API tokens and users.\n\n"
            << std::flush;
  return Status::Ok();
}

Status SeedDemo(store::MetadataStore& store) {
  registry::Projects projects(store);
  if (projects.Get("demo").ok()) return Status::Ok();
  auto admin_name = std::string("admin");
  registry::ProjectInput in;
  in.name = "demo";
  in.description =
      "Demo project: a place to register a first model and run the canonical pipeline.";
  in.github_repo = "https://github.com/example/demo-model";
  in.tags = std::map<std::string, std::string>{{"team", "ml-platform"}, {"stage", "demo"}};
  // Owned by the first admin, whoever that is.
  int64_t n = 0;
  RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    auto users = store::Users(tx).List("", 100);
    if (users.ok())
      for (const auto& u : *users)
        for (const auto& r : u.roles)
          if (r == "admin" && !u.disabled && n++ == 0) admin_name = u.username;
    return Status::Ok();
  }));
  in.owner = admin_name;
  auto created = projects.Create({admin_name, "startup"}, in);
  if (!created.ok() && created.status().code() != ErrorCode::kAlreadyExists)
    return created.status();
  // The canonical pipeline, registered so the console's pipeline pages have a spec to open.
  orchestrator::RunService runs(store, nullptr, [](const std::string&) {});
  auto spec = runs.RegisterSpec({admin_name, "startup"}, "demo",
                                pipelines::CanonicalSpecYaml("churn-model", "demo"));
  if (!spec.ok()) return spec.status();
  return Status::Ok();
}

}  // namespace

int RunServe(const CommonFlags& flags, bool demo) {
  // Block termination signals before any thread starts, so only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto opened = OpenConfiguredStore(flags);
  if (!opened.ok()) {
    std::cerr << "error: " << opened.status().message() << "\n";
    return kExitError;
  }
  Config& config = opened->config;
  log::Format format = log::Format::kJson;
  log::ParseFormat(config.log_format, &format);
  log::Configure(format, log::Level::kInfo);

  std::error_code ec;
  if (config.ArtifactsUri().rfind("file://", 0) == 0)
    std::filesystem::create_directories(config.ArtifactsUri().substr(7), ec);

  store::MetadataStore& store = *opened->store;
  if (Status st = EnsureAdmin(store); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return kExitError;
  }
  if (demo) {
    if (Status st = SeedDemo(store); !st.ok())
      log::Warn("demo seed failed", {{"error", st.message()}});
  }

  auto server = api::ApiServer::Create({config, &store});
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return kExitError;
  }
  if (Status st = (*server)->Bind(); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return kExitError;
  }
  int port = (*server)->port();
  log::Info("listening", {{"host", config.host},
                          {"port", port},
                          {"backend", std::string(store.backend())},
                          {"db", store::RedactDbUri(config.DbUri())},
                          {"data_dir", config.data_dir}});
  std::cout << "MLOps Studio listening on http://" << config.host << ":" << port << std::endl;

  pthread_t main_thread = pthread_self();
  Status serve_status;
  std::thread serving([&] {
    serve_status = (*server)->Serve();
    pthread_kill(main_thread, SIGUSR1);  // wake sigwait if serving ended on its own
  });
  int sig = 0;
  sigwait(&signals, &sig);
  if (sig != SIGUSR1) log::Info("shutting down: draining in-flight requests", {{"signal", sig}});
  (*server)->Stop();
  serving.join();
  if (!serve_status.ok() && sig == SIGUSR1) {
    log::Error("server stopped", {{"error", serve_status.message()}});
    return kExitError;
  }
  log::Info("stopped");
  return kExitOk;
}

}  // namespace studio::cli
