// `studio pipeline init|validate`: write the canonical spec; validate a spec locally and, with
// a server, against the control plane's node locks and the project's policy.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/internal/api_client.h"
#include "cli/internal/spec_file.h"
#include "pipelines/spec.h"

namespace studio::cli {
namespace fs = std::filesystem;
Result<std::string> ReadSpecFile(const std::string& file) {
  const size_t limit = pipelines::kMaxSpecBytes + 1;
  std::string text(limit, '\0');
  if (file == "-") {
    std::cin.read(text.data(), static_cast<std::streamsize>(limit));
    text.resize(static_cast<size_t>(std::cin.gcount()));
    return text;
  }
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return InvalidArgument("no such file: " + file);
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument("cannot open " + file);
  in.read(text.data(), static_cast<std::streamsize>(limit));
  if (in.bad()) return InvalidArgument("cannot read " + file);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

namespace {

int Fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitError;
}

void PrintResult(const std::string& file, const nlohmann::json& result, bool json) {
  if (json) {
    std::cout << result.dump(2) << "\n";
    return;
  }
  for (const auto& e : result["errors"]) {
    pipelines::Problem p{e.value("path", ""), e.value("line", 0), e.value("column", 0),
                         e.value("message", "")};
    std::cout << pipelines::FormatProblem(file, p) << "\n";
  }
  for (const auto& w : result["warnings"])
    std::cout << file << ": warning: " << w.get<std::string>() << "\n";
  bool valid = result.value("valid", false);
  size_t n = result["errors"].size();
  if (valid) {
    std::cout << file << ": valid (" << result["stages"].size() << " stages"
              << (result.value("canonical", false) ? ", canonical" : "") << ")\n";
  } else {
    std::cout << file << ": invalid (" << n << " error" << (n == 1 ? "" : "s") << ")\n";
  }
}

}  // namespace

int RunPipelineInit(const PipelineCommandOptions& o) {
  std::string name = o.name.empty() ? "my-model" : o.name;
  std::string project = o.project.empty() ? "default" : o.project;
  std::string text = pipelines::CanonicalSpecYaml(name, project);
  pipelines::Validation v = pipelines::ValidateSpec(text);
  if (!v.valid()) {
    for (const auto& e : v.errors)
      if (e.path.rfind("metadata.", 0) == 0)
        return Fail("--" + e.path.substr(9) + ": " + e.message);
    return Fail(v.errors[0].message);
  }
  std::string out = o.output_file.empty() ? "studio-pipeline.yaml" : o.output_file;
  if (out == "-") {
    std::cout << text;
    return kExitOk;
  }
  std::error_code ec;
  if (fs::exists(out, ec) && !o.force) return Fail(out + " exists; use --force to overwrite it");
  std::string tmp = out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) return Fail("cannot write " + tmp);
  }
  fs::rename(tmp, out, ec);
  if (ec) return Fail("cannot write " + out + ": " + ec.message());
  std::cerr << "wrote " << out << " (canonical pipeline '" << name << "' of project '" << project
            << "'; " << v.spec.stages.size() << " stages)\n";
  return kExitOk;
}

int RunPipelineValidate(const PipelineCommandOptions& o) {
  auto text = ReadSpecFile(o.file);
  if (!text.ok()) return Fail(text.status().message());
  const char* env_server = std::getenv("STUDIO_SERVER");
  bool with_server = !o.server.empty() || (env_server && *env_server);

  pipelines::ValidateOptions local;
  local.allow_command_stages = true;  // the project's policy is known to the server only
  local.command_policy_known = with_server;
  pipelines::Validation v = pipelines::ValidateSpec(*text, local);
  nlohmann::json result;
  if (!v.valid() || !with_server) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : v.spec.stages)
      stages.push_back({{"id", s.id}, {"type", s.type}, {"hash", s.hash}, {"locked", s.locked}});
    result = {{"valid", v.valid()},
              {"pipeline", v.spec.name},
              {"project", v.spec.project},
              {"canonical", v.spec.canonical},
              {"errors", pipelines::ProblemsJson(v.errors)},
              {"warnings", v.warnings},
              {"stages", stages},
              {"checked_locks", false}};
  } else {
    auto client = ApiClient::Create({o.server, o.token});
    if (!client.ok()) return Fail(client.status().message());
    auto r = (*client)->Send("POST", "/api/v1/pipelines/validate", {{"spec", *text}});
    if (!r.ok()) return Fail("server: " + r.status().message());
    result = std::move(*r);
    if (!result.contains("valid") || !result["errors"].is_array() || !result["stages"].is_array())
      return Fail("server: unexpected response to POST /api/v1/pipelines/validate");
    result["checked_locks"] = true;
  }
  PrintResult(o.file == "-" ? "<stdin>" : o.file, result, o.json);
  return result.value("valid", false) ? kExitOk : kExitFailed;
}

}  // namespace studio::cli
