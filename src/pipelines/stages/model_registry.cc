// model-registry: registers the model package named in `package` (a directory, relative to
// the working directory, or an s3:// prefix) as a new version of `model_name`, with lineage:
// the run id, the git commit and the SHA-256 of every dataset the run's stages wrote. The
// upload path is `studio model register`'s: files go through the MLflow artifacts proxy under
// a fresh prefix, then the version is created pointing at it.
#include <filesystem>
#include <fstream>

#include "common/ids.h"
#include "common/strings.h"
#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"
#include "registry/model_package.h"

namespace studio::pipelines::stages::internal {
namespace {
namespace fs = std::filesystem;

// {"<stage id>.<dataset>": sha256} over every upstream stage that wrote datasets.
nlohmann::json DatasetDigests(const StageContext& ctx) {
  nlohmann::json out = nlohmann::json::object();
  if (!ctx.upstream.is_object()) return out;
  for (auto it = ctx.upstream.begin(); it != ctx.upstream.end(); ++it) {
    if (!it->is_object()) continue;
    auto ds = it->find("datasets");
    if (ds == it->end() || !ds->is_object()) continue;
    for (auto d = ds->begin(); d != ds->end(); ++d)
      if (d->is_string()) out[it.key() + "." + d.key()] = *d;
  }
  return out;
}

}  // namespace

Result<nlohmann::json> RunModelRegistry(const StageContext& ctx) {
  ASSIGN_OR_RETURN(std::string name, StringParam(ctx, "model_name"));
  ASSIGN_OR_RETURN(std::string package, StringParam(ctx, "package"));
  ASSIGN_OR_RETURN(std::string description, StringParam(ctx, "description"));
  if (name.empty() || package.empty())
    return InvalidArgument("model-registry needs 'model_name' and 'package'");
  for (const auto& seg : SplitAndTrim(package, '/'))
    if (seg == "..") return InvalidArgument("package '" + package + "': '..' is not allowed");
  bool remote = package.rfind("s3://", 0) == 0;
  if (!remote && package.find("://") != std::string::npos)
    return InvalidArgument("package must be a directory or an s3:// prefix, not '" + package + "'");
  ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(ctx));
  auto pkg =
      remote ? registry::ReadRemoteModelPackage(package) : registry::ReadModelPackage(package);
  if (!pkg.ok())
    return Status(pkg.status().code(),
                  "model package '" + package + "': " + pkg.status().message());

  std::string source;
  if (remote) {
    source = package;
    while (!source.empty() && source.back() == '/') source.pop_back();
  } else {
    std::string prefix = "models/" + ctx.project + "/" + name + "/" + NewUuidV7();
    source = "mlflow-artifacts:/" + prefix;
    for (const auto& f : pkg->files) {
      RETURN_IF_ERROR(CheckCancelled(ctx));
      std::ifstream in(fs::path(package) / f.path, std::ios::binary);
      RETURN_IF_ERROR(cp->Upload(
          "/api/2.0/mlflow-artifacts/artifacts/" + UrlEncode(prefix + "/" + f.path, true), f.size,
          [&](int64_t offset, char* buf, size_t n) -> size_t {
            in.seekg(offset);
            in.read(buf, static_cast<std::streamsize>(n));
            return static_cast<size_t>(in.gcount());
          }));
    }
    Log(ctx, "uploaded " + std::to_string(pkg->files.size()) + " files (" +
                 std::to_string(pkg->total_bytes) + " bytes) to " + source);
  }
  nlohmann::json files = nlohmann::json::object();
  for (const auto& f : pkg->files) files[f.path] = {{"sha256", f.sha256}, {"size", f.size}};
  nlohmann::json signature = nlohmann::json::object();
  if (!pkg->signature_inputs.empty()) signature["inputs"] = pkg->signature_inputs;
  if (!pkg->signature_outputs.empty()) signature["outputs"] = pkg->signature_outputs;

  auto created =
      cp->Send("POST", "/api/v1/projects/" + UrlEncode(ctx.project) + "/models", {{"name", name}});
  if (!created.ok() && created.status().code() != ErrorCode::kAlreadyExists &&
      created.status().code() != ErrorCode::kResourceAlreadyExists)
    return created.status();
  nlohmann::json datasets = DatasetDigests(ctx);
  nlohmann::json lineage = {{"file_digests", files}, {"dataset_digests", datasets}};
  if (!ctx.git_sha.empty()) lineage["git_commit"] = ctx.git_sha;
  nlohmann::json body = {{"source", source},
                         {"flavor", pkg->flavor},
                         {"signature", signature},
                         {"lineage", lineage},
                         {"run_id", ctx.run_id},
                         {"tags",
                          {{"studio.pipeline", ctx.pipeline},
                           {"studio.pipeline_run", ctx.run_id},
                           {"studio.pipeline_stage", ctx.stage.id}}}};
  if (!description.empty()) body["description"] = description;
  ASSIGN_OR_RETURN(nlohmann::json v,
                   cp->Send("POST", "/api/v1/models/" + UrlEncode(name) + "/versions", body));
  std::string version =
      v.contains("version")
          ? (v["version"].is_string() ? v["version"].get<std::string>() : v["version"].dump())
          : "";
  if (version.empty()) return Internal("the control plane answered without a version number");
  Log(ctx, "registered " + name + " version " + version + " (" + pkg->flavor + ") from " + source);
  return nlohmann::json{{"model_name", name},
                        {"version", version},
                        {"model_id", v.value("model_id", "")},
                        {"source", source},
                        {"flavor", pkg->flavor},
                        {"files", static_cast<int64_t>(pkg->files.size())},
                        {"bytes", pkg->total_bytes},
                        {"git_commit", ctx.git_sha},
                        {"dataset_digests", datasets}};
}

}  // namespace studio::pipelines::stages::internal
