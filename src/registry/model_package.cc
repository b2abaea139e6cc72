#include "registry/model_package.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/crypto.h"

namespace studio::registry {
namespace fs = std::filesystem;
namespace {

constexpr const char* kServableFlavors[] = {"xgboost", "onnx"};
constexpr const char* kColumnTypes[] = {"boolean", "integer", "long",   "float",
                                        "double",  "string",  "binary", "datetime"};
constexpr size_t kMaxFiles = 10'000;

Status Bad(const std::string& where, const std::string& problem) {
  return InvalidArgument(where + ": " + problem).WithDetail(where, problem);
}

Status CheckSpec(const std::string& field, const std::string& json_text) {
  auto spec = nlohmann::json::parse(json_text, nullptr, false);
  if (spec.is_discarded() || !spec.is_array())
    return Bad("MLmodel signature." + field, "must be a JSON array of column or tensor specs");
  for (size_t i = 0; i < spec.size(); ++i) {
    const auto& col = spec[i];
    std::string at = "MLmodel signature." + field + "[" + std::to_string(i) + "]";
    if (!col.is_object() || !col.contains("type") || !col["type"].is_string())
      return Bad(at, "needs a string \"type\"");
    std::string type = col["type"];
    if (type == "tensor") {
      if (!col.contains("tensor-spec") || !col["tensor-spec"].is_object() ||
          !col["tensor-spec"].contains("dtype") || !col["tensor-spec"]["dtype"].is_string())
        return Bad(at, "a tensor spec needs \"tensor-spec\": {\"dtype\", \"shape\"}");
      continue;
    }
    if (std::find(std::begin(kColumnTypes), std::end(kColumnTypes), type) == std::end(kColumnTypes))
      return Bad(at, "unknown column type '" + type + "'");
    if (col.contains("name") && !col["name"].is_string())
      return Bad(at, "\"name\" must be a string");
  }
  return Status::Ok();
}

// A data path from MLmodel must stay inside the package.
Status CheckRelative(const std::string& where, const std::string& p) {
  if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos ||
      p.find('\0') != std::string::npos)
    return Bad(where, "must be a relative path inside the package");
  for (const auto& part : fs::path(p))
    if (part == "..") return Bad(where, "must not contain '..'");
  return Status::Ok();
}

Result<std::string> FileSha256(const fs::path& p, int64_t* size) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + p.string());
  crypto::Sha256Stream hash;
  std::vector<char> buf(1 << 20);
  *size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize n = in.gcount();
    if (n <= 0) break;
    hash.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    *size += n;
  }
  return hash.FinishHex();
}

}  // namespace

Result<ModelPackage> ParseMlmodel(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Bad("MLmodel", std::string("not valid YAML: ") + e.what());
  }
  if (!root.IsMap()) return Bad("MLmodel", "must be a YAML mapping");
  YAML::Node flavors = root["flavors"];
  if (!flavors || !flavors.IsMap()) return Bad("MLmodel flavors", "missing");
  ModelPackage pkg;
  try {
    for (const char* name : kServableFlavors) {
      YAML::Node f = flavors[name];
      if (!f) continue;
      if (!f.IsMap()) return Bad(std::string("MLmodel flavors.") + name, "must be a mapping");
      YAML::Node data = f["data"];
      // The onnx flavor has used both `data` and (older) `model_path`.
      if (!data && std::string(name) == "onnx") data = f["model_path"];
      if (!data || !data.IsScalar())
        return Bad(std::string("MLmodel flavors.") + name + ".data", "missing");
      pkg.flavor = name;
      pkg.model_file = data.as<std::string>();
      RETURN_IF_ERROR(
          CheckRelative(std::string("MLmodel flavors.") + name + ".data", pkg.model_file));
      const char* version_key = std::string(name) == "xgboost" ? "xgb_version" : "onnx_version";
      if (f[version_key] && f[version_key].IsScalar())
        pkg.flavor_version = f[version_key].as<std::string>();
      break;
    }
    if (pkg.flavor.empty())
      return Bad("MLmodel flavors", "needs an xgboost or onnx flavor (the runtimes studio serves)");
    if (YAML::Node sig = root["signature"]) {
      if (!sig.IsMap()) return Bad("MLmodel signature", "must be a mapping");
      for (const char* field : {"inputs", "outputs"}) {
        if (!sig[field] || sig[field].IsNull()) continue;
        std::string spec = sig[field].as<std::string>();
        RETURN_IF_ERROR(CheckSpec(field, spec));
        (std::string(field) == "inputs" ? pkg.signature_inputs : pkg.signature_outputs) = spec;
      }
    }
  } catch (const YAML::Exception& e) {
    return Bad("MLmodel", std::string("unexpected structure: ") + e.what());
  }
  return pkg;
}

Result<ModelPackage> ReadModelPackage(const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::path(dir);
  if (!fs::is_directory(root, ec)) return InvalidArgument("'" + dir + "' is not a directory");
  fs::path mlmodel = root / "MLmodel";
  if (fs::is_symlink(mlmodel, ec) || !fs::is_regular_file(mlmodel, ec))
    return Bad("MLmodel", "no MLmodel file in '" + dir + "'");
  std::ifstream in(mlmodel);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSIGN_OR_RETURN(ModelPackage pkg, ParseMlmodel(text));

  // Walk without following links: a symlink could smuggle a file from outside into the upload.
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return InvalidArgument("cannot list '" + dir + "': " + ec.message());
    const fs::path& p = it->path();
    std::string rel = fs::relative(p, root).generic_string();
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) return InvalidArgument("cannot stat " + rel);
    if (S_ISLNK(st.st_mode)) return Bad(rel, "symlinks are not allowed in a model package");
    if (S_ISDIR(st.st_mode)) continue;
    if (!S_ISREG(st.st_mode)) return Bad(rel, "only regular files are allowed in a model package");
    if (pkg.files.size() >= kMaxFiles) return Bad("package", "more than 10000 files");
    PackageFile f;
    f.path = rel;
    ASSIGN_OR_RETURN(f.sha256, FileSha256(p, &f.size));
    pkg.total_bytes += f.size;
    pkg.files.push_back(std::move(f));
  }
  std::sort(pkg.files.begin(), pkg.files.end(),
            [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
  bool has_model = std::any_of(pkg.files.begin(), pkg.files.end(), [&](const PackageFile& f) {
    return f.path == fs::path(pkg.model_file).lexically_normal().generic_string();
  });
  if (!has_model)
    return Bad("MLmodel flavors." + pkg.flavor + ".data",
               "names '" + pkg.model_file + "', which is not a file in the package");
  return pkg;
}

}  // namespace studio::registry
