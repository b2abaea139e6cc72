#include "registry/source_uri.h"

#include <filesystem>
#include <vector>

#include "common/strings.h"

namespace studio::registry {
namespace {

Status Refuse(const std::string& why) {
  return InvalidArgument("Invalid model version source: " + why).WithDetail("source", why);
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string DecodeOnce(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Exact segments (no trimming: "/root /x" is a sibling of "/root", not inside it).
std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    out.push_back(path.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

bool HasDotDotSegment(const std::string& path) {
  for (const auto& seg : Segments(path))
    if (seg == "..") return true;
  return false;
}

// "/a//b/./c/" → "/a/b/c" (no ".." here: refused earlier).
std::string CollapsePath(const std::string& path) {
  std::string out;
  for (const auto& seg : Segments(path)) {
    if (seg.empty() || seg == ".") continue;
    out += "/" + seg;
  }
  return out.empty() ? "/" : out;
}

bool Within(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

Status CheckLocalPath(const std::string& path, const std::string& artifacts_root) {
  if (artifacts_root.rfind("file://", 0) != 0)
    return Refuse("local paths are not allowed: the artifact store is " + artifacts_root);
  std::string root = CollapsePath(artifacts_root.substr(7));
  std::string p = CollapsePath(path);
  if (!Within(p, root))
    return Refuse("'" + path + "' is outside the artifact store root " + artifacts_root);
  // Symlinks inside the root must not lead out of it.
  std::error_code ec1, ec2;
  auto real_root = std::filesystem::weakly_canonical(root, ec1).string();
  auto real_path = std::filesystem::weakly_canonical(p, ec2).string();
  if (ec1 || ec2) return Refuse("cannot resolve '" + path + "'");
  if (!Within(CollapsePath(real_path), CollapsePath(real_root)))
    return Refuse("'" + path + "' resolves outside the artifact store root");
  return Status::Ok();
}

}  // namespace

Status ValidateModelSource(const std::string& source, const std::string& artifacts_root) {
  if (source.empty()) return Refuse("must not be empty");
  if (source.size() > 4096) return Refuse("longer than 4096 bytes");
  // Decode until stable (double-encoding: %252e%252e), checking every layer.
  std::string s = source;
  for (int round = 0;; ++round) {
    for (char c : s) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) return Refuse("control characters are not allowed");
      if (c == '\\') return Refuse("backslashes are not allowed");
      if (c == '?' || c == '#') return Refuse("'?' and '#' are not allowed");
    }
    if (HasDotDotSegment(s)) return Refuse("'..' path segments are not allowed");
    std::string next = DecodeOnce(s);
    if (next == s) break;
    if (round > 8) return Refuse("too many layers of percent-encoding");
    s = std::move(next);
  }

  size_t colon = s.find(':');
  size_t slash = s.find('/');
  bool has_scheme =
      colon != std::string::npos && colon > 0 && (slash == std::string::npos || colon < slash);
  if (!has_scheme) {
    if (s[0] != '/') return Refuse("relative paths are not allowed");
    return CheckLocalPath(s, artifacts_root);
  }
  std::string scheme = ToLower(s.substr(0, colon));
  std::string rest = s.substr(colon + 1);
  if (scheme == "mlflow-artifacts") return Status::Ok();
  if (scheme == "runs" || scheme == "models") {
    if (rest.rfind("/", 0) != 0 || rest.size() < 2 || rest.rfind("//", 0) == 0)
      return Refuse(scheme + ": URIs look like " + scheme + ":/<" +
                    (scheme == "runs" ? "run_id" : "name") + ">/<path>");
    return Status::Ok();
  }
  if (scheme == "file") {
    // file:/abs, file:///abs or file://localhost/abs; any other host is a remote trick.
    std::string path;
    if (rest.rfind("//", 0) == 0) {
      size_t end = rest.find('/', 2);
      std::string host = rest.substr(2, end == std::string::npos ? std::string::npos : end - 2);
      if (!host.empty() && ToLower(host) != "localhost")
        return Refuse("file: URIs must not name a host ('" + host + "')");
      if (end == std::string::npos) return Refuse("file: URI without a path");
      path = rest.substr(end);
    } else {
      path = rest;
    }
    if (path.empty() || path[0] != '/') return Refuse("file: URIs must hold an absolute path");
    return CheckLocalPath(path, artifacts_root);
  }
  if (scheme == "s3" || scheme == "s3a") {
    if (artifacts_root.rfind("s3://", 0) != 0)
      return Refuse("s3 sources are allowed only when the artifact store is on S3");
    std::string root = artifacts_root.substr(5);
    std::string got = rest.rfind("//", 0) == 0 ? rest.substr(2) : rest;
    while (!root.empty() && root.back() == '/') root.pop_back();
    std::string got_norm = CollapsePath("/" + got).substr(1);
    std::string root_norm = CollapsePath("/" + root).substr(1);
    if (got_norm.size() < root_norm.size() ||
        got_norm.compare(0, root_norm.size(), root_norm) != 0 ||
        (got_norm.size() > root_norm.size() && got_norm[root_norm.size()] != '/'))
      return Refuse("'" + source + "' is outside the artifact store root " + artifacts_root);
    return Status::Ok();
  }
  return Refuse(
      "scheme '" + scheme +
      ":' is not allowed (use the artifact store, mlflow-artifacts:, runs:/ or models:/)");
}

}  // namespace studio::registry
