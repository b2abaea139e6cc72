#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "orchestrator/remote_executor.h"
#include "store/metadata_store.h"

namespace studio::orchestrator {

struct RemoteRunnerOptions {
  store::MetadataStore* store = nullptr;
  std::unique_ptr<RemoteExecutor> executor;  // e.g. sfn::SfnExecutor
  int64_t poll_ms = 2000;
};

// Runs `executor: aws` runs: starts each queued run on the RemoteExecutor (Start), then polls
// it and maps the RemoteStageUpdates onto the run's stage runs and attempts, finishing the run
// with the execution; cancels with the executor's Cancel. One background thread with a stop
// token, joined in the destructor. Remote calls happen outside store transactions.
class RemoteRunner {
 public:
  static Result<std::unique_ptr<RemoteRunner>> Create(RemoteRunnerOptions options);
  ~RemoteRunner();
  void Start();
  void Notify();

 private:
  explicit RemoteRunner(RemoteRunnerOptions o) : options_(std::move(o)) {}
  void Loop(std::stop_token stop);
  void Pass();
  Status Apply(const std::string& run_id, const RemotePoll& poll);

  RemoteRunnerOptions options_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool wake_ = false;
  std::set<std::string> cancel_sent_;
  std::jthread thread_;
};

}  // namespace studio::orchestrator
