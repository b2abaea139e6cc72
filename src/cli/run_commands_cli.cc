// CLI11 wiring for run-stage, worker and pipeline run|runs|logs|cancel (kept out of main.cc so
// the pipeline-run commands stay in their own files).
#include <CLI/CLI.hpp>

#include <array>
#include <memory>

#include "cli/internal/run_commands.h"

namespace studio::cli {

void AddRunCommands(CLI::App* app, CLI::App* pipeline, int* rc) {
  // run-stage
  auto rs = std::make_shared<RunStageOptions>();
  auto* run_stage = app->add_subcommand(
      "run-stage",
      "Run one stage of a pipeline run and report its outcome to the control plane (what the "
      "scheduler, `studio worker` and ECS tasks start). Reads STUDIO_SERVER, STUDIO_TOKEN, "
      "STUDIO_ARTIFACTS and STUDIO_STAGE_ATTEMPT.\nExit 0: the stage succeeded; 1: it failed; "
      "2: usage or system error.\n\nExample:\n"
      "  STUDIO_SERVER=http://127.0.0.1:8080 STUDIO_TOKEN=stu_... studio run-stage --run "
      "0190e0c2-... --stage ingest\n");
  run_stage->add_option("--run", rs->run, "Run id")->required();
  run_stage->add_option("--stage", rs->stage, "Stage id")->required();
  run_stage->add_flag("--noop", rs->noop,
                      "Skip the stage body, report empty outputs (also STUDIO_STAGE_NOOP=1)");
  run_stage->add_option("--server", rs->server, "Control plane URL (default $STUDIO_SERVER)");
  run_stage->add_option("--token", rs->token, "API token (default $STUDIO_TOKEN)");
  run_stage->add_option("--attempt", rs->attempt,
                        "Attempt number (default $STUDIO_STAGE_ATTEMPT, else the latest)");
  run_stage->callback([rs, rc] { *rc = RunRunStage(*rs); });

  // worker
  auto wk = std::make_shared<WorkerOptions>();
  auto wk_store =
      std::make_shared<std::array<std::string, 4>>();  // config, data_dir, db, artifacts
  auto* worker = app->add_subcommand(
      "worker",
      "Claim queued stage runs from the PostgreSQL metadata store and run them as child "
      "processes (for control planes started with --executor workers). Stops on SIGTERM, "
      "requeueing what it was running.\n\nExample:\n"
      "  studio worker --db postgresql://studio:pw@db:5432/studio --server "
      "http://studio:8080 --concurrency 4\n");
  worker->add_option("--config", (*wk_store)[0], "YAML config file")->envname("STUDIO_CONFIG");
  worker->add_option("--data-dir", (*wk_store)[1], "Where attempt logs grow (default ./.studio)");
  worker->add_option("--db", (*wk_store)[2], "Database URI: postgresql://user:pw@host:port/db");
  worker->add_option("--artifacts", (*wk_store)[3],
                     "Artifact store URI for attempt logs (the control plane's)");
  worker->add_option("--server", wk->server,
                     "Control plane URL the stage processes report to (default $STUDIO_SERVER)");
  worker->add_option("--concurrency", wk->concurrency, "Stage processes at once (default 4)")
      ->check(CLI::Range(1, 256));
  worker->callback([wk, wk_store, rc] {
    wk->flags.config_file = (*wk_store)[0];
    if (!(*wk_store)[1].empty()) wk->flags.values["data_dir"] = (*wk_store)[1];
    if (!(*wk_store)[2].empty()) wk->flags.values["db"] = (*wk_store)[2];
    if (!(*wk_store)[3].empty()) wk->flags.values["artifacts"] = (*wk_store)[3];
    *rc = RunWorker(*wk);
  });

  // pipeline run | runs | logs | cancel
  auto po = std::make_shared<PipelineRunOptions>();
  auto output = std::make_shared<std::string>("table");
  auto server_flags = [po, output](CLI::App* cmd) {
    cmd->add_option("--server", po->server, "Control plane URL (default $STUDIO_SERVER)");
    cmd->add_option("--token", po->token, "API token (default $STUDIO_TOKEN)");
    cmd->add_option("--output", *output, "table or json")->check(CLI::IsMember({"table", "json"}));
  };
  auto* run = pipeline->add_subcommand(
      "run",
      "Start a pipeline run from a spec file (registered as a new version of its pipeline when "
      "it changed). With --wait, follow it with a live stage table (status, attempt, duration) "
      "and exit with its outcome.\nExit 0: started (with --wait: succeeded); 1: failed or "
      "cancelled; 2: usage or system error.\n\nExample:\n"
      "  studio pipeline run studio-pipeline.yaml --wait\n"
      "  studio pipeline run studio-pipeline.yaml --noop --wait --output json\n"
      "  studio pipeline run --project demo --pipeline churn --version 3\n");
  run->add_option("file", po->file, "The spec ('-' for stdin)");
  run->add_option("--project", po->project, "Project (default: the spec's metadata.project)");
  run->add_option("--pipeline", po->pipeline, "Run a registered pipeline instead of a file");
  run->add_option("--version", po->version, "Its version (default: the latest)");
  run->add_option("--git-sha", po->git_sha, "The commit the run is for");
  run->add_option("--executor", po->executor, "local (default) or aws")
      ->check(CLI::IsMember({"local", "aws"}));
  run->add_flag("--wait", po->wait, "Follow the run until it ends");
  run->add_flag("--noop", po->noop, "Skip the stage bodies (dry run, benchmarks)");
  server_flags(run);
  run->callback([po, output, rc] {
    po->json = *output == "json";
    *rc = RunPipelineRun(*po);
  });

  auto* runs = pipeline->add_subcommand("runs",
                                        "List pipeline runs, newest first.\n\nExample:\n"
                                        "  studio pipeline runs --project demo --status failed\n");
  runs->add_option("--project", po->project, "Only this project's runs");
  runs->add_option("--status", po->status, "queued, running, succeeded, failed or cancelled");
  runs->add_option("--max-results", po->max_results, "At most this many (default 50)")
      ->check(CLI::Range(1, 1000));
  server_flags(runs);
  runs->callback([po, output, rc] {
    po->json = *output == "json";
    *rc = RunPipelineRuns(*po);
  });

  auto* logs = pipeline->add_subcommand(
      "logs",
      "Print a stage attempt's log (the latest attempt unless --attempt); --follow "
      "streams it until the attempt ends.\n\nExample:\n"
      "  studio pipeline logs 0190e0c2-... ingest --follow\n");
  logs->add_option("run", po->run_id, "Run id")->required();
  logs->add_option("stage", po->stage, "Stage id")->required();
  logs->add_option("--attempt", po->attempt, "Attempt number");
  logs->add_flag("--follow,-f", po->follow, "Keep printing until the attempt ends");
  logs->add_option("--server", po->server, "Control plane URL (default $STUDIO_SERVER)");
  logs->add_option("--token", po->token, "API token (default $STUDIO_TOKEN)");
  logs->callback([po, rc] { *rc = RunPipelineLogs(*po); });

  auto* cancel =
      pipeline->add_subcommand("cancel",
                               "Cancel a run (running stage processes are killed).\n\nExample:\n"
                               "  studio pipeline cancel 0190e0c2-...\n");
  cancel->add_option("run", po->run_id, "Run id")->required();
  server_flags(cancel);
  cancel->callback([po, output, rc] {
    po->json = *output == "json";
    *rc = RunPipelineCancel(*po);
  });
}

}  // namespace studio::cli
