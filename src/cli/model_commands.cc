// `studio model …`: register packages and browse the registry through a running server.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/internal/api_client.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "registry/model_package.h"

namespace studio::cli {
namespace fs = std::filesystem;
namespace {

std::string Q(const std::string& s) { return UrlEncode(s); }

Result<std::unique_ptr<ApiClient>> Connect(const ModelCommandOptions& o) {
  return ApiClient::Create({o.server, o.token});
}

// Connects or returns the command's exit code for the failure.
#define CONNECT_OR_EXIT(client, options)                                      \
  auto client##_result = Connect(options);                                    \
  if (!client##_result.ok()) return ReportApiError(client##_result.status()); \
  auto client = std::move(client##_result).value()

void PrintVersionTable(const nlohmann::json& versions) {
  printf("%-8s %-12s %-10s %-24s %s\n", "VERSION", "STAGE", "STATUS", "ALIASES", "SOURCE");
  for (const auto& v : versions) {
    std::string aliases;
    for (const auto& a : v.value("aliases", nlohmann::json::array()))
      aliases += (aliases.empty() ? "" : ",") + a.get<std::string>();
    printf("%-8s %-12s %-10s %-24s %s\n", v.value("version", "").c_str(),
           v.value("current_stage", "None").c_str(), v.value("status", "").c_str(), aliases.c_str(),
           v.value("source", "").c_str());
  }
}

}  // namespace

int RunModelRegister(const ModelCommandOptions& o, const std::string& project,
                     const std::string& name, const std::string& path, const std::string& uri,
                     const std::string& description, const std::string& git_commit,
                     const std::string& run_id) {
  if (path.empty() == uri.empty())
    return ReportApiError(InvalidArgument("give exactly one of --path and --uri"));
  auto pkg = uri.empty() ? registry::ReadModelPackage(path) : registry::ReadRemoteModelPackage(uri);
  if (!pkg.ok()) return ReportApiError(pkg.status());
  CONNECT_OR_EXIT(client, o);
  std::string source;
  if (!uri.empty()) {
    source = uri;
    while (!source.empty() && source.back() == '/') source.pop_back();
  } else {
    // Upload every file under a fresh prefix, then point the new version at it: a failed upload
    // never leaves a version whose files are half there.
    std::string prefix = "models/" + project + "/" + name + "/" + NewUuidV7();
    source = "mlflow-artifacts:/" + prefix;
    ProgressBar bar("uploading " + name, pkg->total_bytes);
    int64_t base = 0;
    for (const auto& f : pkg->files) {
      std::ifstream in(fs::path(path) / f.path, std::ios::binary);
      Status st = client->Upload(
          "/api/2.0/mlflow-artifacts/artifacts/" + UrlEncode(prefix + "/" + f.path, true), f.size,
          [&](int64_t offset, char* buf, size_t n) -> size_t {
            in.seekg(offset);
            in.read(buf, static_cast<std::streamsize>(n));
            return static_cast<size_t>(in.gcount());
          },
          [&](int64_t sent) { bar.Update(base + sent); });
      if (!st.ok()) return ReportApiError(st);
      base += f.size;
    }
    bar.Finish();
  }
  nlohmann::json digests = nlohmann::json::object();
  for (const auto& f : pkg->files) digests[f.path] = {{"sha256", f.sha256}, {"size", f.size}};
  nlohmann::json signature = nlohmann::json::object();
  if (!pkg->signature_inputs.empty()) signature["inputs"] = pkg->signature_inputs;
  if (!pkg->signature_outputs.empty()) signature["outputs"] = pkg->signature_outputs;
  auto created =
      client->Send("POST", "/api/v1/projects/" + Q(project) + "/models", {{"name", name}});
  if (!created.ok() && created.status().code() != ErrorCode::kAlreadyExists &&
      created.status().code() != ErrorCode::kResourceAlreadyExists)
    return ReportApiError(created.status());
  nlohmann::json lineage = {{"file_digests", digests}};
  if (!git_commit.empty()) lineage["git_commit"] = git_commit;
  nlohmann::json body = {
      {"source", source}, {"flavor", pkg->flavor}, {"signature", signature}, {"lineage", lineage}};
  if (!description.empty()) body["description"] = description;
  if (!run_id.empty()) body["run_id"] = run_id;
  auto version = client->Send("POST", "/api/v1/models/" + Q(name) + "/versions", body);
  if (!version.ok()) return ReportApiError(version.status());
  if (o.json) {
    std::cout << version->dump() << "\n";
  } else {
    std::cout << "registered " << name << " version " << (*version)["version"].dump() << " ("
              << pkg->flavor << ", " << pkg->files.size() << " files, " << pkg->total_bytes
              << " bytes) in project " << project << "\n";
  }
  return kExitOk;
}

int RunModelList(const ModelCommandOptions& o, const std::string& filter) {
  CONNECT_OR_EXIT(client, o);
  std::string path = "/api/2.0/mlflow/registered-models/search?max_results=1000";
  if (!filter.empty()) path += "&filter=" + Q(filter);
  auto res = client->Get(path);
  if (!res.ok()) return ReportApiError(res.status());
  auto models = res->value("registered_models", nlohmann::json::array());
  if (o.json) {
    std::cout << models.dump() << "\n";
    return kExitOk;
  }
  printf("%-40s %-10s %s\n", "NAME", "LATEST", "ALIASES");
  for (const auto& m : models) {
    std::string latest, aliases;
    for (const auto& v : m.value("latest_versions", nlohmann::json::array()))
      if (latest.empty() || std::stoll(v.value("version", "0")) > std::stoll(latest))
        latest = v.value("version", "");
    for (const auto& a : m.value("aliases", nlohmann::json::array()))
      aliases += (aliases.empty() ? "" : ",") + a.value("alias", "") + "→" + a.value("version", "");
    printf("%-40s %-10s %s\n", m.value("name", "").c_str(), latest.c_str(), aliases.c_str());
  }
  return kExitOk;
}

int RunModelShow(const ModelCommandOptions& o, const std::string& name) {
  CONNECT_OR_EXIT(client, o);
  auto model = client->Get("/api/2.0/mlflow/registered-models/get?name=" + Q(name));
  if (!model.ok()) return ReportApiError(model.status());
  auto versions = client->Get("/api/2.0/mlflow/model-versions/search?max_results=1000&filter=" +
                              Q("name = '" + name + "'"));
  if (!versions.ok()) return ReportApiError(versions.status());
  auto list = versions->value("model_versions", nlohmann::json::array());
  if (o.json) {
    std::cout << nlohmann::json{{"registered_model", (*model)["registered_model"]},
                                {"model_versions", list}}
                     .dump()
              << "\n";
    return kExitOk;
  }
  const auto& m = (*model)["registered_model"];
  std::cout << m.value("name", "") << "\n";
  if (!m.value("description", "").empty()) std::cout << "  " << m.value("description", "") << "\n";
  PrintVersionTable(list);
  return kExitOk;
}

int RunModelAlias(const ModelCommandOptions& o, const std::string& name, const std::string& alias,
                  const std::string& version, bool remove) {
  CONNECT_OR_EXIT(client, o);
  auto res = remove ? client->Send("DELETE", "/api/2.0/mlflow/registered-models/alias",
                                   {{"name", name}, {"alias", alias}})
                    : client->Send("POST", "/api/2.0/mlflow/registered-models/alias",
                                   {{"name", name}, {"alias", alias}, {"version", version}});
  if (!res.ok()) return ReportApiError(res.status());
  if (!o.json) {
    if (remove)
      std::cout << "removed alias " << alias << " from " << name << "\n";
    else
      std::cout << name << "@" << alias << " → version " << version << "\n";
  } else {
    std::cout << "{}\n";
  }
  return kExitOk;
}

Status DownloadModelVersion(ApiClient& c, const std::string& name, const std::string& version,
                            const std::string& out_dir, std::vector<std::string>* files_out) {
  ApiClient* client = &c;
  auto v =
      client->Get("/api/2.0/mlflow/model-versions/get?name=" + Q(name) + "&version=" + Q(version));
  if (!v.ok()) return v.status();
  std::string source = (*v)["model_version"].value("source", "");
  const std::string scheme = "mlflow-artifacts:/";
  if (source.rfind(scheme, 0) != 0)
    return InvalidArgument("version " + version + " lives at '" + source +
                           "', which this command cannot fetch (only mlflow-artifacts:/ sources)");
  std::string root = source.substr(scheme.size());
  while (!root.empty() && root.front() == '/') root.erase(0, 1);
  // Digests recorded at registration, when the native API has them.
  nlohmann::json digests = nlohmann::json::object();
  if (auto native = client->Get("/api/v1/models/" + Q(name) + "/versions/" + Q(version));
      native.ok())
    if (native->contains("lineage") && (*native)["lineage"].contains("file_digests") &&
        (*native)["lineage"]["file_digests"].is_object())
      digests = (*native)["lineage"]["file_digests"];
  std::vector<std::string> pending = {""}, files;
  while (!pending.empty()) {
    std::string dir = pending.back();
    pending.pop_back();
    std::string listing = root + (dir.empty() ? "" : "/" + dir);
    auto ls = client->Get("/api/2.0/mlflow-artifacts/artifacts?path=" + Q(listing));
    if (!ls.ok()) return ls.status();
    for (const auto& f : ls->value("files", nlohmann::json::array())) {
      std::string rel = f.value("path", "");
      if (rel.rfind(listing + "/", 0) == 0) rel = rel.substr(listing.size() + 1);
      rel = dir.empty() ? rel : dir + "/" + rel;
      (f.value("is_dir", false) ? pending : files).push_back(rel);
    }
  }
  for (const auto& rel : files) {
    fs::path target = fs::path(out_dir) / rel;
    if (target.lexically_normal().string().rfind(fs::path(out_dir).lexically_normal().string(),
                                                 0) != 0)
      return InvalidArgument("server listed a path outside the package: " + rel);
    fs::create_directories(target.parent_path());
    std::string tmp = target.string() + ".part";
    std::ofstream out(tmp, std::ios::binary);
    crypto::Sha256Stream hash;
    Status st =
        client->Download("/api/2.0/mlflow-artifacts/artifacts/" + UrlEncode(root + "/" + rel, true),
                         [&](const char* d, size_t n) {
                           hash.Update(std::string_view(d, n));
                           out.write(d, static_cast<std::streamsize>(n));
                           return static_cast<bool>(out);
                         });
    out.close();
    if (!st.ok()) {
      fs::remove(tmp);
      return st;
    }
    if (digests.contains(rel)) {
      if (hash.FinishHex() != digests[rel].value("sha256", "")) {
        fs::remove(tmp);
        return Internal(rel + ": SHA-256 does not match the digest recorded at registration");
      }
    }
    fs::rename(tmp, target);
  }
  if (files_out) *files_out = files;
  return Status::Ok();
}

Result<std::string> ResolveModelAlias(ApiClient& client, const std::string& name,
                                      const std::string& alias) {
  auto v =
      client.Get("/api/2.0/mlflow/registered-models/alias?name=" + Q(name) + "&alias=" + Q(alias));
  if (!v.ok()) return v.status();
  return (*v)["model_version"].value("version", "");
}

int RunModelDownload(const ModelCommandOptions& o, const std::string& name,
                     const std::string& version, const std::string& out_dir) {
  CONNECT_OR_EXIT(client, o);
  std::vector<std::string> files;
  if (Status st = DownloadModelVersion(*client, name, version, out_dir, &files); !st.ok())
    return ReportApiError(st);
  if (o.json)
    std::cout << nlohmann::json{{"files", files}, {"dir", out_dir}}.dump() << "\n";
  else
    std::cout << "downloaded " << files.size() << " files of " << name << " version " << version
              << " to " << out_dir << "\n";
  return kExitOk;
}

}  // namespace studio::cli
