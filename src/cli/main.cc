// The `studio` executable: argument parsing only (CLI11 is heavy; it lives in this one file).
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/deploy_plan_command.h"
#include "cli/internal/run_commands.h"
#include "cli/pipeline_asl_command.h"
#include "common/strings.h"
#include "common/version.h"

namespace studio::cli {
namespace {

// Store flags shared by serve and every command that opens the store directly.
struct StoreOptions {
  std::string config, data_dir, db;
  void Add(CLI::App* cmd) {
    cmd->add_option("--config", config, "YAML config file (keys as the flags, snake_case)")
        ->envname("STUDIO_CONFIG");
    cmd->add_option("--data-dir", data_dir, "Data directory (default ./.studio)");
    cmd->add_option("--db", db,
                    "Database URI: sqlite:///path/studio.db or postgresql://user:pw@host:port/db");
  }
  CommonFlags Flags() const {
    CommonFlags f;
    f.config_file = config;
    if (!data_dir.empty()) f.values["data_dir"] = data_dir;
    if (!db.empty()) f.values["db"] = db;
    return f;
  }
};

std::vector<std::string> SplitRoles(const std::string& s) { return SplitAndTrim(s, ','); }

int Main(int argc, char** argv) {
  CLI::App app{
      "MLOps Studio: registry, pipelines, deployments, serving and monitoring for "
      "pre-trained ML models.\n\nExample:\n  studio serve --data-dir ./.studio --port 8080\n"};
  app.name("studio");
  app.require_subcommand(1);
  app.set_version_flag("--version", kStudioVersion);
  int rc = kExitOk;

  // serve
  auto* serve = app.add_subcommand(
      "serve",
      "Run the control plane (REST API, health, metrics).\n\nExample:\n"
      "  studio serve --data-dir ./.studio --port 8080 --demo\n"
      "  studio serve --db postgresql://studio:pw@127.0.0.1:5432/studio --host 0.0.0.0 "
      "--allowed-hosts studio.example.com\n");
  StoreOptions serve_store;
  serve_store.Add(serve);
  std::string host, port, artifacts, body_limit, artifact_limit, log_format, allowed_hosts;
  bool demo = false;
  serve->add_option("--host", host, "Address to listen on (default 127.0.0.1)");
  serve->add_option("--port", port, "Port (default 8080; 0 picks a free one)");
  serve->add_option("--artifacts", artifacts,
                    "Artifact store URI (default file://DATA_DIR/artifacts)");
  serve->add_option("--body-limit", body_limit,
                    "Largest JSON request body in bytes (default 16 MiB)");
  serve->add_option("--artifact-limit", artifact_limit,
                    "Largest streamed artifact upload in bytes (default 64 GiB)");
  serve->add_option("--log-format", log_format, "json (default) or text");
  serve->add_option("--allowed-hosts", allowed_hosts,
                    "Comma-separated Host names to accept (default: loopback names when bound to "
                    "loopback; '*' for any)");
  serve->add_flag("--demo", demo, "Seed a demo project on first start");
  std::string ui_dir;
  serve->add_option("--ui-dir", ui_dir,
                    "Built web console to serve at / (default: frontend/dist found near the "
                    "binary; 'none' to serve no console)");
  std::string executor, max_parallel_stages;
  serve->add_option("--executor", executor,
                    "Pipeline stages: embedded (run by serve, default) or workers (studio worker)");
  serve->add_option("--max-parallel-stages", max_parallel_stages,
                    "Stage processes serve runs at once (default 4)");
  serve->callback([&] {
    CommonFlags f = serve_store.Flags();
    if (!host.empty()) f.values["host"] = host;
    if (!port.empty()) f.values["port"] = port;
    if (!artifacts.empty()) f.values["artifacts"] = artifacts;
    if (!body_limit.empty()) f.values["body_limit"] = body_limit;
    if (!artifact_limit.empty()) f.values["artifact_limit"] = artifact_limit;
    if (!log_format.empty()) f.values["log_format"] = log_format;
    if (!allowed_hosts.empty()) f.values["allowed_hosts"] = allowed_hosts;
    if (!ui_dir.empty()) f.values["ui_dir"] = ui_dir;
    if (!executor.empty()) f.values["executor"] = executor;
    if (!max_parallel_stages.empty()) f.values["max_parallel_stages"] = max_parallel_stages;
    rc = RunServe(f, demo);
  });

  // version
  auto* version = app.add_subcommand(
      "version", "Print the version.\n\nExample:\n  studio version --output json\n");
  std::string version_output = "table";
  version->add_option("--output", version_output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  version->callback([&] { rc = RunVersion(version_output == "json"); });

  // admin
  auto* admin = app.add_subcommand("admin",
                                   "Operator commands on the metadata store.\n\nExample:\n"
                                   "  studio admin bootstrap --username alice\n");
  admin->require_subcommand(1);

  auto* bootstrap = admin->add_subcommand(
      "bootstrap",
      "Create the first admin and print a one-time password (exit 1 if an admin exists).\n\n"
      "Example:\n  echo 's3cret-pass' | studio admin bootstrap --username alice --password-stdin\n"
      "  studio admin bootstrap --username alice --json\n");
  StoreOptions bootstrap_store;
  bootstrap_store.Add(bootstrap);
  std::string bootstrap_user;
  bool bootstrap_stdin = false, bootstrap_json = false;
  bootstrap->add_option("--username", bootstrap_user, "Admin username")->required();
  bootstrap->add_flag("--password-stdin", bootstrap_stdin,
                      "Read the password from stdin instead of generating one");
  bootstrap->add_flag("--json", bootstrap_json, "Print {\"username\",\"password\"}");
  bootstrap->callback([&] {
    rc = RunBootstrap(bootstrap_store.Flags(), bootstrap_user, bootstrap_stdin, bootstrap_json);
  });

  auto* migrate =
      admin->add_subcommand("migrate",
                            "Apply pending schema migrations (idempotent).\n\nExample:\n  studio "
                            "admin migrate --db postgresql://studio@127.0.0.1/studio\n");
  StoreOptions migrate_store;
  migrate_store.Add(migrate);
  migrate->callback([&] { rc = RunMigrate(migrate_store.Flags()); });

  auto* user = admin->add_subcommand(
      "user",
      "Manage users.\n\nExample:\n  studio admin user create --username bob --roles ml_engineer\n");
  user->require_subcommand(1);
  auto* user_create = user->add_subcommand(
      "create",
      "Create a user (prints a one-time password unless --password-stdin).\n\nExample:\n"
      "  studio admin user create --username bob --roles ml_engineer,data_engineer\n");
  StoreOptions create_store;
  create_store.Add(user_create);
  std::string create_user, create_roles;
  bool create_stdin = false, create_json = false;
  user_create->add_option("--username", create_user, "Username")->required();
  user_create->add_option("--roles", create_roles,
                          "Comma-separated: ml_engineer, data_engineer, production_team, "
                          "monitoring_team, model_sponsor, admin");
  user_create->add_flag("--password-stdin", create_stdin, "Read the password from stdin");
  user_create->add_flag("--json", create_json, "Print the user and password as JSON");
  user_create->callback([&] {
    rc = RunUserCreate(create_store.Flags(), create_user, SplitRoles(create_roles), create_stdin,
                       create_json);
  });

  auto* set_roles = user->add_subcommand("set-roles",
                                         "Replace a user's roles.\n\nExample:\n  studio admin user "
                                         "set-roles --username bob --roles production_team\n");
  StoreOptions roles_store;
  roles_store.Add(set_roles);
  std::string roles_user, roles_list;
  set_roles->add_option("--username", roles_user, "Username")->required();
  set_roles->add_option("--roles", roles_list, "Comma-separated roles (empty removes all)")
      ->required();
  set_roles->callback(
      [&] { rc = RunUserSetRoles(roles_store.Flags(), roles_user, SplitRoles(roles_list)); });

  // audit
  auto* audit = app.add_subcommand(
      "audit", "The hash-chained audit log.\n\nExample:\n  studio audit verify\n");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify",
      "Recompute the audit hash chain; exit 1 naming the first broken event.\n\nExample:\n"
      "  studio audit verify --data-dir ./.studio\n  studio audit verify --db postgresql://... "
      "--output json\n");
  StoreOptions verify_store;
  verify_store.Add(verify);
  std::string verify_output = "table";
  verify->add_option("--output", verify_output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  verify->callback([&] { rc = RunAuditVerify(verify_store.Flags(), verify_output == "json"); });

  // model (talks to a server)
  auto* model = app.add_subcommand(
      "model",
      "Register model packages and browse the registry on a running server.\n\nExample:\n"
      "  export STUDIO_SERVER=http://127.0.0.1:8080 STUDIO_TOKEN=stu_...\n"
      "  studio model register --project demo --name churn --path ./churn-model\n");
  model->require_subcommand(1);
  ModelCommandOptions model_opts;
  std::string model_output = "table";
  auto add_server_flags = [&](CLI::App* cmd) {
    cmd->add_option("--server", model_opts.server,
                    "Server URL (default $STUDIO_SERVER or http://127.0.0.1:8080)");
    cmd->add_option("--token", model_opts.token, "API token (default $STUDIO_TOKEN)");
    cmd->add_option("--output", model_output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  };
  std::string m_project, m_name, m_path, m_uri, m_description, m_git, m_run, m_filter, m_alias,
      m_version, m_out = ".";
  bool m_remove = false;
  auto* reg = model->add_subcommand(
      "register",
      "Validate a package (MLmodel + files), upload it with SHA-256 digests and create "
      "a new version.\n\nExample:\n  studio model register --project demo --name churn "
      "--path ./churn-model --git-commit $(git rev-parse HEAD)\n"
      "  studio model register --project demo --name churn --uri s3://ml-bucket/models/churn-7\n");
  add_server_flags(reg);
  reg->add_option("--project", m_project, "Project name or id")->required();
  reg->add_option("--name", m_name, "Registered model name")->required();
  reg->add_option("--path", m_path, "Package directory holding an MLmodel file (uploaded)");
  reg->add_option("--uri", m_uri,
                  "A package already in the server's artifact store, e.g. s3://bucket/models/pkg "
                  "(read in place with AWS_* / STUDIO_S3_* settings; not copied)");
  reg->add_option("--description", m_description, "Version description");
  reg->add_option("--git-commit", m_git, "Git commit the package was built from (lineage)");
  reg->add_option("--run-id", m_run, "Run that produced the model (lineage)");
  reg->callback([&] {
    model_opts.json = model_output == "json";
    rc =
        RunModelRegister(model_opts, m_project, m_name, m_path, m_uri, m_description, m_git, m_run);
  });
  auto* mlist = model->add_subcommand("list",
                                      "List registered models.\n\nExample:\n  studio model list "
                                      "--filter \"name LIKE '%churn%'\"\n");
  add_server_flags(mlist);
  mlist->add_option("--filter", m_filter, "MLflow filter, e.g. name LIKE '%churn%'");
  mlist->callback([&] {
    model_opts.json = model_output == "json";
    rc = RunModelList(model_opts, m_filter);
  });
  auto* show = model->add_subcommand(
      "show",
      "Show a model and its versions.\n\nExample:\n  studio model show churn --output json\n");
  add_server_flags(show);
  show->add_option("name", m_name, "Model name")->required();
  show->callback([&] {
    model_opts.json = model_output == "json";
    rc = RunModelShow(model_opts, m_name);
  });
  auto* alias = model->add_subcommand("alias",
                                      "Point an alias at a version (or remove it).\n\nExample:\n"
                                      "  studio model alias churn champion --version 3\n  studio "
                                      "model alias churn champion --remove\n");
  add_server_flags(alias);
  alias->add_option("name", m_name, "Model name")->required();
  alias->add_option("alias", m_alias, "Alias, e.g. champion")->required();
  alias->add_option("--version", m_version, "Version the alias points to");
  alias->add_flag("--remove", m_remove, "Delete the alias");
  alias->callback([&] {
    model_opts.json = model_output == "json";
    if (!m_remove && m_version.empty())
      throw CLI::ValidationError("--version", "required unless --remove");
    rc = RunModelAlias(model_opts, m_name, m_alias, m_version, m_remove);
  });
  auto* download = model->add_subcommand(
      "download",
      "Download a version's package, verifying each file's SHA-256.\n\nExample:\n"
      "  studio model download churn --version 3 --out ./churn-v3\n");
  add_server_flags(download);
  download->add_option("name", m_name, "Model name")->required();
  download->add_option("--version", m_version, "Version")->required();
  download->add_option("--out", m_out, "Target directory (default .)");
  download->callback([&] {
    model_opts.json = model_output == "json";
    rc = RunModelDownload(model_opts, m_name, m_version, m_out);
  });

  ServeModelOptions sm;
  sm.cache_dir = ".studio/model-cache";
  sm.serve.port = 8081;
  double sample_rate = 0.1;
  auto* serve_model = app.add_subcommand(
      "serve-model",
      "Serve one model over HTTP: POST /predict, /batch-predict, MLflow's /invocations, the Open "
      "Inference Protocol (/v2/models/NAME/infer), /metrics, /health, /ready.\nSIGHUP (or POST "
      "/v2/repository/models/NAME/load) hot-loads the version the URI points at now; in-flight "
      "requests finish on the old one.\n\nExamples:\n"
      "  studio serve-model --model ./churn-model --port 8081\n"
      "  studio serve-model --model models:/churn@champion --registry http://127.0.0.1:8080\n");
  serve_model
      ->add_option("--model", sm.model,
                   "Model package directory, models:/NAME/VERSION or models:/NAME@ALIAS")
      ->required();
  serve_model->add_option("--registry", sm.registry, "Control plane URL for models:/ URIs")
      ->envname("STUDIO_SERVER");
  serve_model->add_option("--token", sm.token, "API token for the registry")
      ->envname("STUDIO_TOKEN");
  serve_model->add_option("--name", sm.name, "Model name to report for a directory");
  serve_model->add_option("--model-version", sm.version, "Version to report for a directory");
  serve_model->add_option("--cache-dir", sm.cache_dir, "Where registry models are downloaded")
      ->capture_default_str();
  serve_model->add_option("--host", sm.serve.host, "Listen address")->capture_default_str();
  serve_model->add_option("--port", sm.serve.port, "Listen port (0: any free port)")
      ->capture_default_str();
  serve_model
      ->add_option("--workers", sm.serve.workers,
                   "Event-loop threads, each also predicting (0: one per core)")
      ->capture_default_str();
  serve_model
      ->add_option("--max-body", sm.serve.max_body_bytes,
                   "Largest /predict, /invocations or infer body in bytes (413 beyond)")
      ->capture_default_str();
  serve_model
      ->add_option("--max-inflight", sm.serve.max_inflight,
                   "Requests read but not answered before new ones get 503 (0: 64 per worker)")
      ->capture_default_str();
  serve_model
      ->add_option("--batch-workers", sm.serve.batch_workers,
                   "Concurrent /batch-predict streams (more get 503)")
      ->capture_default_str();
  serve_model->add_option("--prediction-log", sm.serve.prediction_log.target,
                          "Sampled request/response log: file:///dir or s3://bucket/prefix");
  serve_model->add_option("--sample-rate", sample_rate, "Fraction of requests logged")
      ->capture_default_str();
  serve_model->add_flag("--reject-missing", sm.serve.load.reject_missing,
                        "Reject null/NaN inputs in every column (default: float columns accept "
                        "them as missing values)");
  serve_model->add_option("--log-format", sm.log_format, "json or text")->capture_default_str();
  serve_model
      ->add_option("--fail-ratio", sm.serve.fail_ratio,
                   "Testing only: answer this share of prediction requests with 500 "
                   "(deterministic; used by the deployment rollback tests)")
      ->check(CLI::Range(0.0, 1.0));
  serve_model->callback([&] {
    sm.serve.prediction_log.sample_rate = sample_rate;
    rc = RunServeModel(sm);
  });

  // deploy-plan (the ECS/ALB plan of a deployment slot; no AWS calls)
  DeployPlanOptions dp;
  std::string dp_output = "json";
  auto* deploy_plan = app.add_subcommand(
      "deploy-plan",
      "Print the ECS Fargate + ALB plan of one deployment slot: the exact RegisterTaskDefinition, "
      "CreateTargetGroup, CreateService/UpdateService, (prod) RegisterScalableTarget + "
      "PutScalingPolicy and ModifyListener/ModifyRule requests the AWS deploy target sends. "
      "Nothing is called. Sizing per environment: dev 1 replica, staging 2, prod 3 scaling to "
      "10 (override with --replicas/--max-replicas/--cpu/--memory). See docs/aws-deploy.md.\n\n"
      "Example:\n"
      "  studio deploy-plan --model churn/3 --env prod --infra aws-deploy.json --slot green\n"
      "  studio deploy-plan --model churn/3 --env prod --project churn --slot green \\\n"
      "    --image 111122223333.dkr.ecr.us-east-1.amazonaws.com/studio:1.4.0 --cluster mlops \\\n"
      "    --subnets subnet-0a1b2c3d,subnet-4e5f6a7b --security-groups sg-0123456789abcdef0 \\\n"
      "    --vpc vpc-0abc --listener-arn "
      "arn:aws:elasticloadbalancing:...:listener/app/studio-prod/... "
      "\\\n"
      "    --execution-role-arn arn:aws:iam::111122223333:role/studio-task-execution \\\n"
      "    --token-secret-arn arn:aws:secretsmanager:us-east-1:111122223333:secret:studio/token "
      "\\\n"
      "    --control-plane-url https://studio.example.com --weights blue=90,green=10\n");
  deploy_plan->add_option("--infra", dp.infra_file,
                          "JSON file with the ECS target's configuration (docs/aws-deploy.md); "
                          "flags override its values for --env");
  deploy_plan->add_option("--model", dp.model, "NAME/VERSION of a registered model")->required();
  deploy_plan->add_option("--env", dp.env, "Environment: dev, staging or prod")->required();
  deploy_plan->add_option("--project", dp.project, "Project name")->capture_default_str();
  deploy_plan->add_option("--slot", dp.slot, "blue, green or canary")->capture_default_str();
  deploy_plan->add_option("--deployment-id", dp.deployment_id, "Deployment id (tags, env)")
      ->capture_default_str();
  deploy_plan->add_option("--region", dp.region, "AWS region (default us-east-1)")
      ->envname("AWS_REGION");
  deploy_plan->add_option("--image", dp.image, "ECR image with the studio binary");
  deploy_plan->add_option("--cluster", dp.cluster, "ECS cluster name or ARN");
  deploy_plan->add_option("--subnets", dp.subnets, "Subnet ids (comma-separated)")->delimiter(',');
  deploy_plan
      ->add_option("--security-groups", dp.security_groups, "Security group ids (comma-separated)")
      ->delimiter(',');
  deploy_plan->add_flag("--assign-public-ip", dp.assign_public_ip, "Give tasks a public IP");
  deploy_plan->add_option("--vpc", dp.vpc, "VPC id of the target groups");
  deploy_plan->add_option("--listener-arn", dp.listener_arn, "ALB listener (ModifyListener)");
  deploy_plan->add_option("--rule-arn", dp.rule_arn, "Or a listener rule (ModifyRule)");
  deploy_plan->add_option("--execution-role-arn", dp.execution_role_arn,
                          "Task execution role (image pull, secret, logs)");
  deploy_plan->add_option("--task-role-arn", dp.task_role_arn, "Task role of the model server");
  deploy_plan->add_option("--token-secret-arn", dp.token_secret_arn,
                          "Secrets Manager secret with the registry API token (STUDIO_TOKEN)");
  deploy_plan
      ->add_option("--control-plane-url", dp.control_plane_url,
                   "Control plane the tasks download models:/ URIs from")
      ->envname("STUDIO_SERVER");
  deploy_plan->add_option("--log-group", dp.log_group,
                          "CloudWatch Logs group (default /studio/serving)");
  deploy_plan->add_option("--replicas", dp.replicas, "Replica count (default: the environment's)");
  deploy_plan->add_option("--max-replicas", dp.max_replicas,
                          "Auto-scaling ceiling (default: the environment's)");
  deploy_plan->add_option("--cpu", dp.cpu, "Fargate CPU units (256, 512, 1024, …)");
  deploy_plan->add_option("--memory", dp.memory, "Fargate memory in MiB");
  deploy_plan->add_option("--weights", dp.weights,
                          "Listener weights after the change, SLOT=PERCENT,… (default: the slot "
                          "100)");
  deploy_plan->add_option("--output", dp_output, "json or table")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  deploy_plan->callback([&] {
    dp.json = dp_output == "json";
    rc = RunDeployPlan(dp);
  });

  // drift
  DriftCommandOptions dr;
  auto* drift = app.add_subcommand(
      "drift",
      "Compare a current CSV with a reference CSV, feature by feature (Evidently's methods and "
      "defaults, scipy-exact statistics).\nExit 0: no dataset drift; 1: dataset drift (share of "
      "drifted features >= --drift-share); 2: error.\n\nExamples:\n"
      "  studio drift --reference train.csv --current last_week.csv\n"
      "  studio drift --reference ref.csv --current cur.csv --method psi --threshold 0.2 "
      "--format html --output drift.html\n"
      "  studio drift --reference ref.csv --current cur.csv --columns age,income,city "
      "--categorical zip --format json\n");
  drift->add_option("--reference", dr.reference, "Reference CSV (header row required)")->required();
  drift->add_option("--current", dr.current, "Current CSV, same columns")->required();
  drift
      ->add_option("--method", dr.method,
                   "auto (Evidently's rule), ks, chisquare, z, wasserstein, psi, jensenshannon, "
                   "kl_div or hellinger")
      ->capture_default_str();
  drift->add_option_function<double>(
      "--threshold",
      [&](const double& v) {
        dr.threshold = v;
        dr.threshold_set = true;
      },
      "p-value below which a test drifts, or distance at which a distance method drifts "
      "(default: 0.05 for ks/chisquare/z, 0.1 otherwise)");
  drift
      ->add_option("--drift-share", dr.drift_share,
                   "Dataset drift when this share of the features drifts")
      ->capture_default_str();
  drift->add_option("--columns", dr.columns, "Compare only these columns (comma-separated)")
      ->delimiter(',');
  drift->add_option("--categorical", dr.categorical, "Read these columns as categorical")
      ->delimiter(',');
  drift->add_option("--numeric", dr.numeric, "Read these columns as numeric")->delimiter(',');
  drift
      ->add_option("--correction", dr.correction,
                   "Multiple-testing correction over the p-value tests: none, bonferroni, bh")
      ->capture_default_str();
  drift->add_option("--format", dr.format, "text, json or html (self-contained)")
      ->capture_default_str();
  drift->add_option("--output", dr.output, "Write the report to this file (default stdout)");
  drift->add_option("--threads", dr.threads, "Threads for parsing and statistics")
      ->capture_default_str();
  drift->callback([&] { rc = RunDrift(dr); });

  // pipeline
  auto* pipeline = app.add_subcommand(
      "pipeline",
      "Pipeline specs (studio-pipeline.yaml).\n\nExample:\n  studio pipeline init --name churn "
      "--project demo\n  studio pipeline validate studio-pipeline.yaml\n");
  pipeline->require_subcommand(1);
  PipelineCommandOptions pl;
  std::string pl_output = "table";
  auto* pl_init = pipeline->add_subcommand(
      "init",
      "Write the canonical 9-stage pipeline spec (valid as written; edit its parameters).\n\n"
      "Example:\n  studio pipeline init --name churn --project demo\n"
      "  studio pipeline init --name churn --project demo --output - > studio-pipeline.yaml\n");
  pl_init->add_option("--name", pl.name, "Pipeline name, metadata.name (default my-model)");
  pl_init->add_option("--project", pl.project, "Project name, metadata.project (default default)");
  pl_init->add_option("--output", pl.output_file,
                      "File to write (default studio-pipeline.yaml; '-' for stdout)");
  pl_init->add_flag("--force", pl.force, "Overwrite an existing file");
  pl_init->callback([&] { rc = RunPipelineInit(pl); });
  auto* pl_validate = pipeline->add_subcommand(
      "validate",
      "Validate a spec: schema (line:column), parameters per stage type, DAG, canonical order; "
      "with a server (--server or STUDIO_SERVER) also the recorded node locks and the project's "
      "policy.\nExit 0: valid; 1: invalid; 2: usage or system error.\n\nExample:\n"
      "  studio pipeline validate studio-pipeline.yaml\n"
      "  studio pipeline validate studio-pipeline.yaml --server https://studio.example.com "
      "--token $STUDIO_TOKEN --output json\n");
  pl_validate->add_option("file", pl.file, "The spec file ('-' for stdin)")->required();
  pl_validate->add_option("--server", pl.server,
                          "Control plane URL: also check node locks and policy (default "
                          "$STUDIO_SERVER; none: local checks only)");
  pl_validate->add_option("--token", pl.token, "API token (default $STUDIO_TOKEN)");
  pl_validate->add_option("--output", pl_output, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  pl_validate->callback([&] {
    pl.json = pl_output == "json";
    rc = RunPipelineValidate(pl);
  });
  // pipeline export-asl / run-aws (AWS Step Functions + ECS Fargate)
  PipelineAslOptions asl;
  auto* pl_asl = pipeline->add_subcommand(
      "export-asl",
      "Compile a spec to an AWS Step Functions state machine (Amazon States Language): each "
      "stage an ECS Fargate task running `run-stage`, Retry from the spec, Catch to a failure "
      "notification, independent stages in Parallel states.\nExit 0: written; 1: invalid "
      "spec; 2: usage or system error.\n\nExample:\n"
      "  studio pipeline export-asl studio-pipeline.yaml --cluster mlops --task-definition "
      "studio-stage:3 --subnets subnet-0aaa,subnet-0bbb --security-groups sg-0ccc --output "
      "pipeline.asl.json\n");
  pl_asl->add_option("file", asl.file, "The spec file ('-' for stdin)")->required();
  pl_asl->add_option("--cluster", asl.cluster, "ECS cluster name or ARN")->required();
  pl_asl
      ->add_option("--task-definition", asl.task_definition,
                   "Task definition (family[:revision] or ARN) whose container runs studio")
      ->required();
  pl_asl->add_option("--subnets", asl.subnets, "Subnet ids (comma-separated)")
      ->delimiter(',')
      ->required();
  pl_asl
      ->add_option("--security-groups", asl.security_groups, "Security group ids (comma-separated)")
      ->delimiter(',');
  pl_asl->add_option("--container", asl.container, "Container name in the task definition")
      ->capture_default_str();
  pl_asl->add_flag("--assign-public-ip", asl.assign_public_ip,
                   "AssignPublicIp ENABLED (public subnets without a NAT gateway)");
  pl_asl->add_option("--platform-version", asl.platform_version,
                     "Fargate platform version (default LATEST)");
  pl_asl
      ->add_option("--command-prefix", asl.command_prefix,
                   "Words before run-stage when the image's entrypoint is not studio "
                   "(comma-separated, e.g. studio)")
      ->delimiter(',');
  pl_asl->add_option("--failure-topic", asl.failure_topic_arn,
                     "SNS topic ARN to publish a failure to (default: a Pass state)");
  pl_asl->add_option("--output", asl.output_file, "File to write (default stdout)");
  pl_asl->callback([&] { rc = RunPipelineExportAsl(asl); });

  PipelineRunAwsOptions aws_run;
  std::string aws_output = "table";
  auto* pl_aws = pipeline->add_subcommand(
      "run-aws",
      "Start an execution of an exported state machine (run id = execution name, input "
      "{\"run_id\"}), follow it and print stage updates mapped from its history; or follow / "
      "stop an existing execution. AWS credentials from AWS_ACCESS_KEY_ID, "
      "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.\nExit 0: started or SUCCEEDED; 1: FAILED, "
      "TIMED_OUT or ABORTED; 2: usage or system error.\n\nExample:\n"
      "  studio pipeline run-aws studio-pipeline.yaml --state-machine-arn "
      "arn:aws:states:us-east-1:111122223333:stateMachine:churn --run-id "
      "0190f3a2-7b1c-7d4e-9f00-0123456789ab --follow\n"
      "  studio pipeline run-aws --execution-arn ARN --stop\n");
  pl_aws->add_option("file", aws_run.file, "The spec (its stage ids); required to start");
  pl_aws->add_option("--state-machine-arn", aws_run.state_machine_arn, "State machine to start");
  pl_aws->add_option("--run-id", aws_run.run_id, "Run id, used as the execution name");
  pl_aws->add_option("--execution-arn", aws_run.execution_arn,
                     "Follow (or --stop) this execution instead of starting one");
  pl_aws->add_option("--region", aws_run.region, "AWS region")
      ->envname("AWS_REGION")
      ->capture_default_str();
  pl_aws->add_option("--endpoint", aws_run.endpoint,
                     "Step Functions endpoint (default https://states.REGION.amazonaws.com)");
  pl_aws->add_flag("--follow", aws_run.follow, "Poll until the execution ends");
  pl_aws->add_flag("--stop", aws_run.stop, "Stop the execution given by --execution-arn");
  pl_aws->add_option("--poll-interval", aws_run.poll_interval_s, "Seconds between polls")
      ->capture_default_str();
  pl_aws->add_option("--output", aws_output, "table or json (NDJSON)")
      ->check(CLI::IsMember({"table", "json"}));
  pl_aws->callback([&] {
    aws_run.json = aws_output == "json";
    rc = RunPipelineRunAws(aws_run);
  });

  AddRunCommands(&app, pipeline, &rc);

  // -- deployments (issue 7): thin clients of /api/v1/deployments; code in deploy_commands.cc.
  DeployCommandOptions dep;
  std::string dep_output = "table", dep_model, dep_env, dep_project, dep_strategy, dep_id, dep_text,
              dep_status;
  bool dep_wait = false;
  int dep_timeout = 3600, dep_max = 100;
  auto dep_flags = [&](CLI::App* cmd) {
    cmd->add_option("--server", dep.server,
                    "Server URL (default $STUDIO_SERVER or http://127.0.0.1:8080)");
    cmd->add_option("--token", dep.token, "API token (default $STUDIO_TOKEN)");
    cmd->add_option("--output", dep_output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  };
  auto* deploy_cmd = app.add_subcommand(
      "deploy",
      "Deploy a model version to an environment (dev, staging, prod) under its policy: "
      "approvals, direct / canary / blue-green, automatic rollback.\nWith --wait, shows "
      "progress (state, weights, live error rate) and exits 0 when LIVE, 1 when rolled back, "
      "failed or rejected.\n\nExamples:\n"
      "  studio deploy --model churn@champion --env staging --wait\n"
      "  studio deploy --model churn/3 --env prod --project demo --strategy blue-green\n");
  dep_flags(deploy_cmd);
  deploy_cmd->add_option("--model", dep_model, "NAME@ALIAS or NAME/VERSION")->required();
  deploy_cmd->add_option("--env", dep_env, "Environment: dev, staging or prod")->required();
  deploy_cmd->add_option("--project", dep_project, "Project (default: the model's)");
  deploy_cmd->add_option("--strategy", dep_strategy, "direct, canary or blue-green")
      ->check(CLI::IsMember({"direct", "canary", "blue-green"}));
  deploy_cmd->add_flag("--wait", dep_wait, "Wait until LIVE, ROLLED_BACK, FAILED or REJECTED");
  deploy_cmd->add_option("--timeout", dep_timeout, "With --wait: give up after this many seconds")
      ->capture_default_str();
  deploy_cmd->callback([&] {
    dep.json = dep_output == "json";
    rc = RunDeploy(dep, dep_model, dep_env, dep_project, dep_strategy, dep_wait, dep_timeout);
  });
  for (const char* verb : {"approve", "reject", "rollback"}) {
    std::string v = verb;
    auto* cmd = app.add_subcommand(
        v, v == "approve"  ? "Approve a deployment waiting for approval (permission approve; "
                             "not its requester).\n\nExample:\n  studio approve 0193... "
                             "--comment \"metrics reviewed\"\n"
           : v == "reject" ? "Reject a deployment waiting for approval.\n\nExample:\n  "
                             "studio reject 0193... --comment \"AUC too low\"\n"
                           : "Roll a deployment back: an in-flight one returns traffic to the "
                             "previous version; a LIVE one is replaced by the version before "
                             "it.\n\nExample:\n  studio rollback 0193... --reason \"latency\"\n");
    dep_flags(cmd);
    cmd->add_option("id", dep_id, "Deployment id")->required();
    cmd->add_option(v == "rollback" ? "--reason" : "--comment", dep_text,
                    v == "rollback" ? "Why (recorded in the audit trail)" : "Comment");
    cmd->callback([&, v] {
      dep.json = dep_output == "json";
      rc = RunDeploymentDecision(dep, dep_id, v, dep_text);
    });
  }
  auto* deployments_cmd =
      app.add_subcommand("deployments",
                         "Browse deployments.\n\nExample:\n"
                         "  studio deployments list --env prod --output json\n");
  deployments_cmd->require_subcommand(1);
  auto* dep_list = deployments_cmd->add_subcommand(
      "list",
      "List deployments, newest first.\n\nExample:\n  studio deployments list --env "
      "staging --status LIVE\n");
  dep_flags(dep_list);
  dep_list->add_option("--env", dep_env, "Only this environment");
  dep_list->add_option("--project", dep_project, "Only this project");
  dep_list->add_option("--status", dep_status, "Only this status (e.g. LIVE, ROLLED_BACK)");
  dep_list->add_option("--max-results", dep_max, "At most this many (1-1000)")
      ->capture_default_str();
  dep_list->callback([&] {
    dep.json = dep_output == "json";
    rc = RunDeploymentsList(dep, dep_env, dep_project, dep_status, dep_max);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  return rc;
}

}  // namespace
}  // namespace studio::cli

int main(int argc, char** argv) { return studio::cli::Main(argc, argv); }
