#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "common/strings.h"

namespace studio {
namespace {

Status SetKey(Config& c, const std::string& key, const std::string& value, const std::string& src) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument(src + ": " + key + ": " + why).WithDetail(key, why);
  };
  if (key == "data_dir") {
    if (value.empty()) return bad("must not be empty");
    c.data_dir = value;
  } else if (key == "host") {
    if (value.empty()) return bad("must not be empty");
    c.host = value;
  } else if (key == "port") {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 0 || v > 65535) return bad("must be 0-65535");
    c.port = static_cast<int>(v);
  } else if (key == "db") {
    c.db = value;
  } else if (key == "artifacts") {
    c.artifacts = value;
  } else if (key == "body_limit") {
    char* end = nullptr;
    long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 1024) return bad("must be an integer >= 1024 (bytes)");
    c.body_limit = v;
  } else if (key == "artifact_limit") {
    char* end = nullptr;
    long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 1024) return bad("must be an integer >= 1024 (bytes)");
    c.artifact_limit = v;
  } else if (key == "log_format") {
    if (value != "json" && value != "text") return bad("must be json or text");
    c.log_format = value;
  } else if (key == "allowed_hosts") {
    c.allowed_hosts = SplitAndTrim(value, ',');
  } else if (key == "allowed_webhook_hosts") {
    c.allowed_webhook_hosts = SplitAndTrim(value, ',');
  } else if (key == "emf_output") {
    c.emf_output = value;
  } else if (key == "emf_namespace") {
    if (value.empty() || value.size() > 255) return bad("must be 1-255 characters");
    c.emf_namespace = value;
  } else if (key == "ui_dir") {
    c.ui_dir = value;
  } else if (key == "executor") {
    if (value != "embedded" && value != "workers") return bad("must be embedded or workers");
    c.executor = value;
  } else if (key == "max_parallel_stages") {
    char* end = nullptr;
    long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < 1 || v > 256) return bad("must be 1-256");
    c.max_parallel_stages = static_cast<int>(v);
  } else {
    return InvalidArgument(src + ": unknown key '" + key + "'").WithDetail(key, "unknown key");
  }
  return Status::Ok();
}

std::string EnvName(const std::string& key) {
  std::string out = "STUDIO_";
  for (char ch : key)
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  return out;
}

Status ApplyYaml(Config& c, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgument("cannot read config file '" + path + "'");
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config file '" + path + "': " + e.what());
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap())
    return InvalidArgument("config file '" + path + "': top level must be a mapping");
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    std::string value;
    if (kv.second.IsSequence()) {
      std::vector<std::string> items;
      for (const auto& item : kv.second) items.push_back(item.as<std::string>());
      value = Join(items, ",");
    } else if (kv.second.IsScalar()) {
      value = kv.second.as<std::string>();
    } else {
      return InvalidArgument("config file '" + path + "': " + key + " must be a scalar");
    }
    RETURN_IF_ERROR(SetKey(c, key, value, "config file '" + path + "'"));
  }
  return Status::Ok();
}

}  // namespace

std::string Config::DbUri() const {
  if (!db.empty()) return db;
  return "sqlite://" + std::filesystem::absolute(data_dir).lexically_normal().string() +
         "/studio.db";
}

std::string Config::ArtifactsUri() const {
  if (!artifacts.empty()) return artifacts;
  return "file://" + std::filesystem::absolute(data_dir).lexically_normal().string() + "/artifacts";
}

const std::vector<std::string>& ConfigKeys() {
  static const std::vector<std::string> kKeys = {"data_dir",       "host",
                                                 "port",           "db",
                                                 "artifacts",      "body_limit",
                                                 "artifact_limit", "log_format",
                                                 "allowed_hosts",  "allowed_webhook_hosts",
                                                 "emf_output",     "emf_namespace",
                                                 "executor",       "max_parallel_stages",
                                                 "ui_dir"};
  return kKeys;
}

Result<Config> ResolveConfig(const std::map<std::string, std::string>& flags,
                             const std::string& config_file) {
  Config c;
  std::string file = config_file;
  if (file.empty()) {
    if (const char* env = std::getenv("STUDIO_CONFIG")) file = env;
  }
  if (!file.empty()) RETURN_IF_ERROR(ApplyYaml(c, file));
  for (const std::string& key : ConfigKeys()) {
    if (const char* env = std::getenv(EnvName(key).c_str())) {
      RETURN_IF_ERROR(SetKey(c, key, env, "environment " + EnvName(key)));
    }
  }
  for (const auto& [key, value] : flags) RETURN_IF_ERROR(SetKey(c, key, value, "flag --" + key));
  return c;
}

}  // namespace studio
