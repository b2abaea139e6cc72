// `studio worker`: claims queued stage runs from the PostgreSQL metadata store (SELECT … FOR
// UPDATE SKIP LOCKED) and runs them with the local process executor, for control planes
// configured with `executor: workers`.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>

#include "artifacts/artifact_store.h"
#include "cli/internal/open.h"
#include "cli/internal/run_commands.h"
#include "common/log.h"
#include "orchestrator/scheduler.h"

namespace studio::cli {

int RunWorker(const WorkerOptions& o) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string server = o.server;
  if (server.empty())
    if (const char* env = std::getenv("STUDIO_SERVER")) server = env;
  if (server.empty()) {
    std::cerr << "error: --server (or STUDIO_SERVER) is required: stage processes report to the "
                 "control plane\n";
    return kExitError;
  }
  auto opened = OpenConfiguredStore(o.flags);
  if (!opened.ok()) {
    std::cerr << "error: " << opened.status().message() << "\n";
    return kExitError;
  }
  if (opened->store->backend() != "postgresql") {
    std::cerr << "error: studio worker needs a PostgreSQL store (--db postgresql://…); with "
                 "SQLite, studio serve runs the stages itself\n";
    return kExitError;
  }
  log::Format format = log::Format::kJson;
  log::ParseFormat(opened->config.log_format, &format);
  log::Configure(format, log::Level::kInfo);
  auto artifacts = artifacts::OpenArtifactStore(opened->config.ArtifactsUri());
  if (!artifacts.ok()) {
    std::cerr << "error: " << artifacts.status().message() << "\n";
    return kExitError;
  }
  orchestrator::SchedulerOptions so;
  so.store = opened->store.get();
  so.artifacts = artifacts->get();
  so.data_dir = opened->config.data_dir;
  so.artifacts_uri = opened->config.ArtifactsUri();
  so.mode = orchestrator::SchedulerMode::kWorker;
  so.max_parallel = o.concurrency;
  const char* hooks = std::getenv("STUDIO_TEST_HOOKS");
  so.test_hooks = hooks && std::string(hooks) == "1";
  auto sched = orchestrator::Scheduler::Create(std::move(so));
  if (!sched.ok()) {
    std::cerr << "error: " << sched.status().message() << "\n";
    return kExitError;
  }
  (*sched)->Start(server);
  std::cout << "worker " << (*sched)->claimer() << " running up to " << o.concurrency
            << " stages for " << server << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  log::Info("worker shutting down", {{"signal", sig}});
  (*sched)->Stop();
  return kExitOk;
}

}  // namespace studio::cli
