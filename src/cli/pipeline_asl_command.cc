// `studio pipeline export-asl`: the spec as an AWS Step Functions state machine running each
// stage on ECS Fargate. `studio pipeline run-aws`: start (or follow, or stop) an execution of
// such a state machine and print the stage updates mapped back from its history.
#include "cli/pipeline_asl_command.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/internal/spec_file.h"
#include "orchestrator/sfn/asl_compiler.h"
#include "orchestrator/sfn/sfn_executor.h"
#include "pipelines/spec.h"

namespace studio::cli {
namespace fs = std::filesystem;
namespace sfn = orchestrator::sfn;
namespace {

int Fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitError;
}

// Validates as `pipeline validate` does without a server; prints the problems. nullopt: the
// spec is invalid (already reported) or unreadable (`*rc` says which).
std::optional<pipelines::PipelineSpec> LoadSpec(const std::string& file, int* rc) {
  auto text = ReadSpecFile(file);
  if (!text.ok()) {
    *rc = Fail(text.status().message());
    return std::nullopt;
  }
  pipelines::ValidateOptions vo;
  vo.allow_command_stages = true;  // the project's policy is the server's to check
  vo.command_policy_known = false;
  pipelines::Validation v = pipelines::ValidateSpec(*text, vo);
  const std::string shown = file == "-" ? "<stdin>" : file;
  if (!v.valid()) {
    for (const auto& e : v.errors) std::cerr << pipelines::FormatProblem(shown, e) << "\n";
    std::cerr << shown << ": invalid (" << v.errors.size() << " error"
              << (v.errors.size() == 1 ? "" : "s") << ")\n";
    *rc = kExitFailed;
    return std::nullopt;
  }
  for (const auto& w : v.warnings) std::cerr << shown << ": warning: " << w << "\n";
  return std::move(v.spec);
}

Status WriteAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) return InvalidArgument("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return InvalidArgument("cannot write " + path + ": " + ec.message());
  return Status::Ok();
}

void PrintUpdate(const orchestrator::RemoteStageUpdate& u, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"stage", u.stage_id},          {"status", u.status},
                                {"attempt", u.attempt},         {"started_ms", u.started_ms},
                                {"finished_ms", u.finished_ms}, {"error", u.error}}
                     .dump()
              << std::endl;
    return;
  }
  std::cout << std::left << std::setw(24) << u.stage_id << " " << std::setw(10) << u.status
            << " attempt " << u.attempt;
  if (u.finished_ms > 0 && u.started_ms > 0)
    std::cout << "  " << std::fixed << std::setprecision(1)
              << static_cast<double>(u.finished_ms - u.started_ms) / 1000.0 << "s";
  if (!u.error.empty()) std::cout << "  " << u.error;
  std::cout << std::endl;
}

}  // namespace

int RunPipelineExportAsl(const PipelineAslOptions& o) {
  int rc = kExitError;
  auto spec = LoadSpec(o.file, &rc);
  if (!spec) return rc;
  sfn::EcsRunOptions ecs;
  ecs.cluster = o.cluster;
  ecs.task_definition = o.task_definition;
  ecs.container = o.container;
  ecs.subnets = o.subnets;
  ecs.security_groups = o.security_groups;
  ecs.assign_public_ip = o.assign_public_ip;
  ecs.platform_version = o.platform_version;
  ecs.command_prefix = o.command_prefix;
  ecs.failure_topic_arn = o.failure_topic_arn;
  auto asl = sfn::CompileAsl(*spec, ecs);
  if (!asl.ok()) return Fail(asl.status().message());
  std::string text = asl->dump(2) + "\n";
  if (o.output_file.empty() || o.output_file == "-") {
    std::cout << text;
    return kExitOk;
  }
  Status st = WriteAtomically(o.output_file, text);
  if (!st.ok()) return Fail(st.message());
  std::cerr << "wrote " << o.output_file << " (" << spec->stages.size() << " stages, "
            << (*asl)["States"].size() << " top-level states)\n";
  return kExitOk;
}

int RunPipelineRunAws(const PipelineRunAwsOptions& o) {
  const bool start = o.execution_arn.empty();
  if (start && (o.file.empty() || o.state_machine_arn.empty() || o.run_id.empty()))
    return Fail("starting an execution needs FILE, --state-machine-arn and --run-id");
  if (!start && !o.run_id.empty())
    return Fail("--run-id starts a new execution; it cannot go with --execution-arn");
  if (o.stop && start) return Fail("--stop needs --execution-arn");
  if (!(o.poll_interval_s > 0) || o.poll_interval_s > 3600)
    return Fail("--poll-interval must be in (0, 3600] seconds");
  std::optional<pipelines::PipelineSpec> spec;
  if (!o.file.empty()) {
    int rc = kExitError;
    spec = LoadSpec(o.file, &rc);
    if (!spec) return rc;
  }
  auto credentials = aws::CredentialsFromEnv();
  if (!credentials.ok()) return Fail(credentials.status().message());

  sfn::SfnExecutorOptions eo;
  // Following an existing execution needs no state machine; the executor wants one anyway.
  eo.state_machine_arn = o.state_machine_arn.empty() ? "-" : o.state_machine_arn;
  eo.client.region = o.region;
  eo.client.endpoint = o.endpoint;
  eo.client.credentials = *credentials;
  auto executor = sfn::SfnExecutor::Create(eo);
  if (!executor.ok()) return Fail(executor.status().message());
  auto& ex = **executor;

  std::string handle = o.execution_arn;
  if (o.stop) {
    Status st = ex.Cancel(handle);
    if (!st.ok()) return Fail(st.message());
    if (o.json) {
      std::cout << nlohmann::json{{"execution_arn", handle}, {"stopped", true}}.dump() << "\n";
    } else {
      std::cout << "stopped " << handle << "\n";
    }
    return kExitOk;
  }
  if (start) {
    auto started = ex.Start(o.run_id, *spec);
    if (!started.ok()) return Fail(started.status().message());
    handle = *started;
  } else if (spec) {
    ex.Adopt(handle, *spec);
  }
  if (o.json) {
    std::cout << nlohmann::json{{"execution_arn", handle}}.dump() << std::endl;
  } else {
    std::cout << "execution " << handle << std::endl;
  }
  if (!o.follow && start) return kExitOk;

  const auto interval = std::chrono::milliseconds(static_cast<int64_t>(o.poll_interval_s * 1000));
  for (;;) {
    auto poll = ex.Poll(handle);
    if (!poll.ok()) return Fail(poll.status().message());
    for (const auto& u : poll->updates) PrintUpdate(u, o.json);
    if (poll->finished || !o.follow) {
      if (o.json) {
        std::cout << nlohmann::json{{"execution_arn", handle},
                                    {"status", poll->status},
                                    {"finished", poll->finished},
                                    {"error", poll->error}}
                         .dump()
                  << std::endl;
      } else {
        std::cout << "execution " << poll->status << (poll->error.empty() ? "" : ": " + poll->error)
                  << std::endl;
      }
      if (!poll->finished) return kExitOk;
      return poll->status == "SUCCEEDED" ? kExitOk : kExitFailed;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace studio::cli
