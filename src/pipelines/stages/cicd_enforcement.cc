// cicd-enforcement: the run's gate for CI. Re-validates the run's spec on the control plane
// (schema, the project's policy and node locks: POST /api/v1/pipelines/validate), checks that
// every other stage of the spec finished successfully, and emits the GitHub commit-status
// payload ({"state","target_url","description","context"}) as an artifact and in its outputs.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

// The run's spec text: STUDIO_PIPELINE_SPEC_FILE when set (a CI checkout), else the run record.
Result<std::string> RunSpec(const StageContext& ctx, ControlPlane& cp, std::string* from) {
  if (const char* file = std::getenv("STUDIO_PIPELINE_SPEC_FILE"); file && *file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return NotFound(std::string("STUDIO_PIPELINE_SPEC_FILE: cannot read ") + file);
    std::ostringstream ss;
    ss << in.rdbuf();
    *from = file;
    return ss.str();
  }
  std::string path = "/api/v1/runs/" + UrlEncode(ctx.run_id);
  ASSIGN_OR_RETURN(HttpReply r, cp.Call("GET", path, nullptr));
  if (r.status == 404 && (r.error_code.empty() || r.error_code == "ENDPOINT_NOT_FOUND"))
    return Status(ErrorCode::kNotImplemented,
                  "cicd-enforcement cannot read the run's spec: the control plane has no runs "
                  "API (GET " +
                      path + " answered " + std::to_string(r.status) +
                      "); set STUDIO_PIPELINE_SPEC_FILE to the spec file instead");
  RETURN_IF_ERROR(ReplyStatus(r, "GET " + path));
  if (!r.body.is_object() || !r.body.contains("spec_yaml") || !r.body["spec_yaml"].is_string())
    return InvalidArgument("GET " + path + ": the run record has no spec_yaml");
  *from = path;
  return r.body["spec_yaml"].get<std::string>();
}

std::string Clip(std::string s, size_t max) {
  if (s.size() <= max) return s;
  s.resize(max - 3);
  // Do not cut a UTF-8 sequence in half.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  return s + "...";
}

}  // namespace

Result<nlohmann::json> RunCicdEnforcement(const StageContext& ctx) {
  ASSIGN_OR_RETURN(bool require_locks, BoolParam(ctx, "require_locks", true));
  ASSIGN_OR_RETURN(std::string context,
                   StringParam(ctx, "status_context", "mlops-studio/pipeline"));
  ASSIGN_OR_RETURN(std::string base, ServerBase(ctx));
  ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(ctx));
  std::string spec_from;
  ASSIGN_OR_RETURN(std::string spec, RunSpec(ctx, *cp, &spec_from));
  ASSIGN_OR_RETURN(nlohmann::json v,
                   cp->Send("POST", "/api/v1/pipelines/validate", {{"spec", spec}}));

  std::vector<std::string> problems;
  int64_t locked = 0, ignored = 0;
  for (const auto& e : v.value("errors", nlohmann::json::array())) {
    std::string msg = e.value("message", "");
    bool lock_error =
        msg.find("locked") != std::string::npos || msg.find(" lock") != std::string::npos;
    if (lock_error && !require_locks) {
      ++ignored;
      continue;
    }
    problems.push_back((e.value("path", "").empty() ? "" : e.value("path", "") + ": ") + msg);
  }
  if (!v.value("valid", false) && problems.empty() && ignored == 0)
    problems.push_back("the control plane reports the spec as not valid");
  if (!ctx.pipeline.empty() && v.value("pipeline", ctx.pipeline) != ctx.pipeline)
    problems.push_back("the spec is pipeline '" + v.value("pipeline", "") + "', the run is '" +
                       ctx.pipeline + "'");
  // Every other stage of the spec must have finished with outputs (finished = succeeded).
  std::vector<std::string> not_succeeded;
  int64_t stages = 0;
  for (const auto& s : v.value("stages", nlohmann::json::array())) {
    std::string id = s.value("id", "");
    if (s.value("locked", false)) ++locked;
    if (id.empty() || id == ctx.stage.id) continue;
    ++stages;
    if (!ctx.upstream.is_object() || !ctx.upstream.contains(id)) not_succeeded.push_back(id);
  }
  if (!not_succeeded.empty()) {
    std::string ids;
    for (const auto& id : not_succeeded) ids += (ids.empty() ? "" : ", ") + id;
    problems.push_back("stages that did not succeed: " + ids);
  }

  bool ok = problems.empty();
  std::string description =
      ok ? "pipeline " + ctx.pipeline + ": " + std::to_string(stages) + " stages passed, " +
               std::to_string(locked) + " locked stages verified"
         : problems.front() +
               (problems.size() > 1 ? " (+" + std::to_string(problems.size() - 1) + " more)" : "");
  nlohmann::json payload = {{"state", ok ? "success" : "failure"},
                            {"target_url", base + "/runs/" + UrlEncode(ctx.run_id)},
                            {"description", Clip(description, 140)},
                            {"context", context}};
  ASSIGN_OR_RETURN(std::string prefix, StagePrefix(ctx));
  ASSIGN_OR_RETURN(auto put,
                   PutText(*ctx.artifacts, prefix + "commit_status.json", payload.dump(2)));
  Log(ctx, "commit status: " + payload.dump());
  for (const auto& p : problems) Log(ctx, "problem: " + p);
  if (!ok)
    return InvalidArgument("cicd-enforcement failed: " + description + " (commit status " + prefix +
                           "commit_status.json)");
  return nlohmann::json{{"commit_status", payload},
                        {"commit_status_path", prefix + "commit_status.json"},
                        {"commit_status_sha256", put.sha256},
                        {"spec_source", spec_from},
                        {"locked_stages", locked},
                        {"stages_checked", stages},
                        {"lock_errors_ignored", ignored}};
}

}  // namespace studio::pipelines::stages::internal
