// `studio run-stage --run R --stage S`: one attempt of one stage, as the scheduler, a worker or
// an ECS task (Step Functions) starts it. Reads the run from the control plane, runs the stage
// (pipelines::stages::RunStage, or nothing with --noop) and reports the outcome.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "artifacts/artifact_store.h"
#include "cli/internal/api_client.h"
#include "cli/internal/run_commands.h"
#include "common/strings.h"
#include "pipelines/spec.h"
#include "pipelines/stages/stage.h"

namespace studio::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int Fail(const std::string& message) {
  std::cerr << "run-stage: error: " << message << std::endl;
  return kExitError;
}

// Test-suite hooks, honoured only when the control plane was started with STUDIO_TEST_HOOKS=1
// (it passes them on): "id=value,id2=value" lists keyed by stage id ('*' for any).
std::string HookValue(const char* var, const std::string& stage) {
  if (Env("STUDIO_TEST_HOOKS") != "1") return "";
  for (const auto& item : SplitAndTrim(Env(var), ',')) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (key == stage || key == "*") return eq == std::string::npos ? "always" : item.substr(eq + 1);
  }
  return "";
}

void RunTestHooks(const std::string& stage) {
  if (!HookValue("STUDIO_STAGE_TEST_GRANDCHILD", stage).empty()) {
    pid_t pid = fork();
    if (pid == 0) {
      execlp("sleep", "sleep", "600", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::cout << "test hook: grandchild pid " << pid << std::endl;
  }
  std::string secs = HookValue("STUDIO_STAGE_TEST_SLEEP", stage);
  if (!secs.empty()) {
    std::cout << "test hook: sleeping " << secs << "s" << std::endl;
    std::this_thread::sleep_for(
        std::chrono::milliseconds(static_cast<int64_t>(std::atof(secs.c_str()) * 1000)));
  }
}

}  // namespace

int RunRunStage(const RunStageOptions& o) {
  if (o.run.empty() || o.stage.empty()) return Fail("--run and --stage are required");
  ServerOptions so{o.server.empty() ? Env("STUDIO_SERVER") : o.server,
                   o.token.empty() ? Env("STUDIO_TOKEN") : o.token};
  if (so.server.empty()) return Fail("no control plane: set STUDIO_SERVER or --server");
  bool noop = o.noop || Env("STUDIO_STAGE_NOOP") == "1";
  auto client = ApiClient::Create(so.Resolved());
  if (!client.ok()) return Fail(client.status().message());
  std::string run_path = "/api/v1/runs/" + UrlEncode(o.run);
  // The scheduler starts this process before its claim (and this token) commits; a moment of
  // UNAUTHENTICATED, or a control plane restarting, is waited out.
  auto run = (*client)->Get(run_path);
  for (int i = 0; i < 100 && !run.ok() &&
                  (run.status().code() == ErrorCode::kUnauthenticated ||
                   run.status().code() == ErrorCode::kTemporarilyUnavailable);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    run = (*client)->Get(run_path);
  }
  if (!run.ok()) return Fail("cannot read run " + o.run + ": " + run.status().message());

  int attempt = o.attempt;
  if (attempt == 0) attempt = std::atoi(Env("STUDIO_STAGE_ATTEMPT").c_str());
  nlohmann::json upstream = nlohmann::json::object();
  bool found = false;
  for (const auto& s : (*run)["stages"]) {
    std::string id = s.value("id", "");
    if (id == o.stage) {
      found = true;
      if (attempt == 0) attempt = s.value("attempt", 0);
    }
    if (s.value("status", "") == "succeeded")
      upstream[id] = s.value("outputs", nlohmann::json::object());
  }
  if (!found) return Fail("run " + o.run + " has no stage '" + o.stage + "'");
  if (attempt <= 0) return Fail("stage '" + o.stage + "' has no running attempt");

  pipelines::ValidateOptions vo;
  vo.allow_command_stages = true;  // the control plane applied the policy at start
  pipelines::Validation v = pipelines::ValidateSpec((*run).value("spec_yaml", ""), vo);
  const pipelines::StageSpec* stage = nullptr;
  for (const auto& s : v.spec.stages)
    if (s.id == o.stage) stage = &s;
  if (!v.valid() || !stage) return Fail("the run's spec snapshot does not validate");
  // Only the stage's upstream (its needs, transitively): a stage of a parallel branch that
  // happened to finish first is no input, so what a stage sees does not depend on timing.
  std::set<std::string> ancestors;
  std::vector<std::string> todo = stage->needs;
  while (!todo.empty()) {
    std::string id = todo.back();
    todo.pop_back();
    if (!ancestors.insert(id).second) continue;
    for (const auto& s : v.spec.stages)
      if (s.id == id) todo.insert(todo.end(), s.needs.begin(), s.needs.end());
  }
  for (auto it = upstream.begin(); it != upstream.end();)
    it = ancestors.count(it.key()) ? std::next(it) : upstream.erase(it);

  std::cout << "run-stage: run " << o.run << " stage " << o.stage << " (" << stage->type
            << ") attempt " << attempt << (noop ? " [noop]" : "") << std::endl;
  RunTestHooks(o.stage);

  nlohmann::json outputs = nlohmann::json::object();
  std::string error;
  std::string fail_hook = HookValue("STUDIO_STAGE_TEST_FAIL", o.stage);
  // "id" fails every attempt, "id=N" the first N.
  if (!fail_hook.empty() && (fail_hook == "always" || attempt <= std::atoi(fail_hook.c_str()))) {
    error = "test hook: forced failure of attempt " + std::to_string(attempt);
  } else if (noop) {
    outputs = {{"noop", true}};
  } else {
    std::unique_ptr<artifacts::ArtifactStore> store;
    std::string uri = Env("STUDIO_ARTIFACTS");
    if (!uri.empty()) {
      auto opened = artifacts::OpenArtifactStore(uri);
      if (!opened.ok()) return Fail("cannot open the artifact store: " + opened.status().message());
      store = std::move(opened).value();
    }
    pipelines::stages::StageContext ctx;
    ctx.run_id = o.run;
    ctx.project = v.spec.project;
    ctx.pipeline = v.spec.name;
    ctx.git_sha = (*run).value("git_sha", "");
    ctx.stage = *stage;
    ctx.upstream = upstream;
    ctx.artifacts = store.get();
    ctx.server = so.server;
    ctx.token = so.token;
    ctx.log = &std::cout;
    auto result = pipelines::stages::RunStage(ctx);
    if (result.ok()) {
      outputs = *result;
      if (!outputs.is_object()) outputs = {{"value", outputs}};
    } else {
      error = result.status().message();
    }
  }
  nlohmann::json report = {{"attempt", attempt},
                           {"status", error.empty() ? "succeeded" : "failed"},
                           {"outputs", outputs}};
  if (!error.empty()) report["error"] = error;
  // A fresh connection: the stage may have outlived the server's keep-alive timeout. Transport
  // errors are retried; a conflict after one means the lost response's report was recorded.
  std::string report_path = run_path + "/stages/" + UrlEncode(o.stage) + "/report";
  Status reported = Internal("not sent");
  bool transport_failed = false;
  for (int i = 0; i < 20; ++i) {
    auto fresh = ApiClient::Create(so.Resolved());
    if (!fresh.ok()) return Fail(fresh.status().message());
    auto sent = (*fresh)->Send("POST", report_path, report);
    reported = sent.status();
    if (reported.ok()) break;
    if (transport_failed && reported.code() == ErrorCode::kResourceConflict) {
      reported = Status::Ok();
      break;
    }
    if (reported.code() != ErrorCode::kTemporarilyUnavailable) break;
    transport_failed = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * (i + 1)));
  }
  if (!reported.ok()) return Fail("cannot report the outcome: " + reported.message());
  if (!error.empty()) {
    std::cout << "run-stage: failed: " << error << std::endl;
    return kExitFailed;
  }
  std::cout << "run-stage: succeeded" << std::endl;
  return kExitOk;
}

}  // namespace studio::cli
