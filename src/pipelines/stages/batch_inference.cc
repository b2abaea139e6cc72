// batch-inference: scores the prepared current split in-process with the model runtime
// (serving::LoadModel: our tree engine / ONNX runtime, as `studio serve-model` loads it) in
// batches of batch_size rows → a predictions CSV artifact at runs/<run>/<stage>/<output>.
// The registered version's files are downloaded through the control plane (checked against
// the SHA-256 digests recorded at registration) into a temporary directory.
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "artifacts/artifact_store.h"
#include "common/crypto.h"
#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/model_input.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"
#include "serving/server/loaded_model.h"
#include "serving/server/predictions.h"

namespace studio::pipelines::stages::internal {
namespace {
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

Status WriteFileChecked(const fs::path& target, const std::string& expected,
                        const std::function<Status(std::ofstream&, crypto::Sha256Stream&)>& fill,
                        const std::string& rel) {
  fs::create_directories(target.parent_path());
  std::ofstream out(target, std::ios::binary);
  crypto::Sha256Stream hash;
  RETURN_IF_ERROR(fill(out, hash));
  out.close();
  if (!out) return Internal("cannot write " + target.string());
  if (!expected.empty() && hash.FinishHex() != expected)
    return Internal(rel + ": SHA-256 does not match the digest recorded at registration");
  return Status::Ok();
}

// The version's files into `dir`: mlflow-artifacts:/ sources through the artifacts proxy,
// s3:// sources straight from the bucket.
Status DownloadVersion(ControlPlane& cp, const std::string& name, const std::string& version,
                       const fs::path& dir) {
  ASSIGN_OR_RETURN(nlohmann::json v,
                   cp.Get("/api/v1/models/" + UrlEncode(name) + "/versions/" + UrlEncode(version)));
  std::string source = v.value("source", "");
  nlohmann::json digests = nlohmann::json::object();
  if (v.contains("lineage") && v["lineage"].is_object() && v["lineage"].contains("file_digests") &&
      v["lineage"]["file_digests"].is_object())
    digests = v["lineage"]["file_digests"];
  auto expected = [&](const std::string& rel) -> std::string {
    return digests.contains(rel) && digests[rel].is_object() ? digests[rel].value("sha256", "")
                                                             : "";
  };
  auto inside = [&](const std::string& rel) {
    fs::path t = (dir / rel).lexically_normal();
    return !rel.empty() && rel[0] != '/' &&
           t.string().rfind(dir.lexically_normal().string() + "/", 0) == 0;
  };
  if (source.rfind("s3://", 0) == 0) {
    ASSIGN_OR_RETURN(auto store, artifacts::OpenArtifactStore(source));
    for (auto it = digests.begin(); it != digests.end(); ++it) {
      const std::string rel = it.key();
      if (!inside(rel))
        return InvalidArgument("the version lists a path outside the package: " + rel);
      RETURN_IF_ERROR(WriteFileChecked(
          dir / rel, expected(rel),
          [&](std::ofstream& out, crypto::Sha256Stream& hash) {
            return store->Get(rel, [&](std::string_view chunk) {
              hash.Update(chunk);
              out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
              return out ? Status::Ok() : Internal("write failed");
            });
          },
          rel));
    }
    return Status::Ok();
  }
  const std::string scheme = "mlflow-artifacts:/";
  if (source.rfind(scheme, 0) != 0)
    return InvalidArgument("version " + version + " of " + name + " lives at '" + source +
                           "', which batch-inference cannot fetch");
  std::string root = source.substr(scheme.size());
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  std::vector<std::string> pending = {""}, files;
  while (!pending.empty()) {
    std::string sub = pending.back();
    pending.pop_back();
    std::string listing = root + (sub.empty() ? "" : "/" + sub);
    ASSIGN_OR_RETURN(nlohmann::json ls,
                     cp.Get("/api/2.0/mlflow-artifacts/artifacts?path=" + UrlEncode(listing)));
    for (const auto& f : ls.value("files", nlohmann::json::array())) {
      std::string rel = f.value("path", "");
      if (rel.rfind(listing + "/", 0) == 0) rel = rel.substr(listing.size() + 1);
      rel = sub.empty() ? rel : sub + "/" + rel;
      (f.value("is_dir", false) ? pending : files).push_back(rel);
    }
  }
  for (const auto& rel : files) {
    if (!inside(rel))
      return InvalidArgument("the server listed a path outside the package: " + rel);
    RETURN_IF_ERROR(WriteFileChecked(
        dir / rel, expected(rel),
        [&](std::ofstream& out, crypto::Sha256Stream& hash) {
          return cp.Download(
              "/api/2.0/mlflow-artifacts/artifacts/" + UrlEncode(root + "/" + rel, true),
              [&](const char* d, size_t n) {
                hash.Update(std::string_view(d, n));
                out.write(d, static_cast<std::streamsize>(n));
                return static_cast<bool>(out);
              });
        },
        rel));
  }
  return Status::Ok();
}

}  // namespace

Result<nlohmann::json> RunBatchInference(const StageContext& ctx) {
  ASSIGN_OR_RETURN(std::string output, StringParam(ctx, "output"));
  ASSIGN_OR_RETURN(int64_t batch_size, IntParam(ctx, "batch_size", 1024));
  if (batch_size < 1) return InvalidArgument("batch_size must be at least 1");
  auto rel = artifacts::NormalizeArtifactPath(output);
  if (!rel.ok()) return InvalidArgument("output '" + output + "': " + rel.status().message());
  ASSIGN_OR_RETURN(std::string prefix, StagePrefix(ctx));
  ASSIGN_OR_RETURN(auto cp, ControlPlane::Connect(ctx));
  ASSIGN_OR_RETURN(const nlohmann::json* reg, UpstreamOf(ctx, "model-registry"));
  ASSIGN_OR_RETURN(std::string model, OutputString(*reg, "model-registry", "model_name"));
  ASSIGN_OR_RETURN(std::string version, OutputString(*reg, "model-registry", "version"));
  std::string data_path;
  ASSIGN_OR_RETURN(Table data, LoadCurrentSplit(ctx, &data_path));

  TempDir tmp;
  std::string tmpl = (fs::temp_directory_path() / "studio-batch-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Internal("cannot create a temporary directory");
  tmp.path = tmpl;
  fs::path pkg_dir = tmp.path / "model";
  RETURN_IF_ERROR(DownloadVersion(*cp, model, version, pkg_dir));
  ASSIGN_OR_RETURN(auto loaded, serving::LoadModel({pkg_dir.string(), model, version,
                                                    "models:/" + model + "/" + version},
                                                   serving::LoadOptions{}));
  Log(ctx, "loaded " + model + " version " + version + " (" + loaded->platform + ", " +
               std::string(loaded->runtime->Engine()) + ")");

  // The model's columns by name (its signature), or positionally when it has none.
  std::vector<size_t> cols;
  const auto& schema = loaded->schema;
  if (!schema.columns.empty()) {
    std::vector<std::string> names;
    for (const auto& c : schema.columns) names.push_back(c.name);
    ASSIGN_OR_RETURN(cols, SelectColumns(data, names));
  } else {
    if (schema.width >= 0 && static_cast<size_t>(schema.width) != data.columns.size())
      return InvalidArgument("the model takes " + std::to_string(schema.width) +
                             " unnamed inputs and the prepared data has " +
                             std::to_string(data.columns.size()) + " columns");
    for (size_t i = 0; i < data.columns.size(); ++i) cols.push_back(i);
  }
  const int64_t width = static_cast<int64_t>(cols.size());
  std::string csv;
  std::vector<float> x;
  int64_t batches = 0;
  for (size_t start = 0; start < data.rows.size(); start += static_cast<size_t>(batch_size)) {
    RETURN_IF_ERROR(CheckCancelled(ctx));
    size_t end = std::min(data.rows.size(), start + static_cast<size_t>(batch_size));
    x.assign((end - start) * cols.size(), 0.0f);
    for (size_t r = start; r < end; ++r)
      for (size_t k = 0; k < cols.size(); ++k) {
        const std::string& f = data.rows[r][cols[k]];
        double d = NAN;
        if (!IsMissing(f) && !ParseFloat(f, &d))
          return InvalidArgument(data_path + ": row " + std::to_string(r + 1) + ", column '" +
                                 data.columns[cols[k]] + "': '" + f + "' is not a number");
        x[(r - start) * cols.size() + k] = static_cast<float>(d);
      }
    std::vector<serving::Tensor> outputs;
    RETURN_IF_ERROR(
        loaded->runtime->PredictRows(x.data(), static_cast<int64_t>(end - start), width, &outputs));
    if (batches == 0) serving::AppendCsvHeader(csv, outputs, loaded->runtime->Outputs());
    for (size_t r = 0; r < end - start; ++r)
      serving::AppendCsvRow(csv, outputs, static_cast<int64_t>(r));
    ++batches;
  }
  std::string path = prefix + *rel;
  ASSIGN_OR_RETURN(artifacts::PutResult put, PutText(*ctx.artifacts, path, csv));
  Log(ctx, "scored " + std::to_string(data.rows.size()) + " rows in " + std::to_string(batches) +
               " batches → " + path);
  return nlohmann::json{{"path", path},         {"rows", static_cast<int64_t>(data.rows.size())},
                        {"batches", batches},   {"bytes", put.size},
                        {"sha256", put.sha256}, {"model_name", model},
                        {"version", version},   {"engine", std::string(loaded->runtime->Engine())},
                        {"input", data_path},   {"datasets", {{"predictions", put.sha256}}}};
}

}  // namespace studio::pipelines::stages::internal
