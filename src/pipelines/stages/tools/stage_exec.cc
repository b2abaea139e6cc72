// studio-stage-exec: runs one pipeline stage body from the command line — the integration
// tests' driver (tests/integration/test_pipeline_stages.py), also handy to try a stage by hand.
//
//   studio-stage-exec --type data-ingestion --id ingest --with '{"source":"data.csv"}'
//       --artifacts file:///tmp/artifacts [--upstream JSON] [--needs a,b] [--run RUN]
//       [--project P] [--pipeline NAME] [--git-sha SHA] [--server URL] [--token T]
//
// Prints the stage's outputs (JSON) on stdout and exits 0; on failure prints
// "error: MESSAGE" on stderr and exits 1 (2 for usage errors). The stage log goes to stderr.
// --server/--token default to STUDIO_SERVER/STUDIO_TOKEN.
#include <cstdlib>
#include <iostream>
#include <map>

#include "artifacts/artifact_store.h"
#include "common/strings.h"
#include "pipelines/stages/stage.h"

int main(int argc, char** argv) {
  using studio::pipelines::stages::StageContext;
  std::map<std::string, std::string> a = {{"--id", "stage"},        {"--with", "{}"},
                                          {"--upstream", "{}"},     {"--run", "run-1"},
                                          {"--project", "default"}, {"--pipeline", "pipeline"}};
  if (const char* s = std::getenv("STUDIO_SERVER")) a["--server"] = s;
  if (const char* t = std::getenv("STUDIO_TOKEN")) a["--token"] = t;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h" || i + 1 >= argc || k.rfind("--", 0) != 0) {
      std::cerr << "usage: studio-stage-exec --type T --artifacts URI [--id ID] [--with JSON] "
                   "[--upstream JSON] [--needs a,b] [--run R] [--project P] [--pipeline N] "
                   "[--git-sha S] [--server URL] [--token T]\n";
      return k == "--help" || k == "-h" ? 0 : 2;
    }
    a[k] = argv[++i];
  }
  if (!a.count("--type") || !a.count("--artifacts")) {
    std::cerr << "error: --type and --artifacts are required\n";
    return 2;
  }
  auto with = nlohmann::json::parse(a["--with"], nullptr, false);
  auto upstream = nlohmann::json::parse(a["--upstream"], nullptr, false);
  if (with.is_discarded() || upstream.is_discarded()) {
    std::cerr << "error: --with and --upstream must be JSON\n";
    return 2;
  }
  auto store = studio::artifacts::OpenArtifactStore(a["--artifacts"]);
  if (!store.ok()) {
    std::cerr << "error: " << store.status().message() << "\n";
    return 2;
  }
  StageContext ctx;
  ctx.run_id = a["--run"];
  ctx.project = a["--project"];
  ctx.pipeline = a["--pipeline"];
  ctx.git_sha = a["--git-sha"];
  ctx.stage.id = a["--id"];
  ctx.stage.type = a["--type"];
  ctx.stage.with = with;
  if (a.count("--needs")) ctx.stage.needs = studio::SplitAndTrim(a["--needs"], ',');
  if (a.count("--timeout")) ctx.stage.timeout_seconds = std::atoll(a["--timeout"].c_str());
  ctx.upstream = upstream;
  ctx.artifacts = store->get();
  ctx.server = a["--server"];
  ctx.token = a["--token"];
  ctx.log = &std::cerr;
  auto out = studio::pipelines::stages::RunStage(ctx);
  if (!out.ok()) {
    std::cerr << "error: " << out.status().message() << "\n";
    return 1;
  }
  std::cout << out->dump() << std::endl;
  return 0;
}
