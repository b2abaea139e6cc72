#include "artifacts/artifact_store.h"

#include "common/strings.h"

#include <cctype>
#include <filesystem>

#include "artifacts/internal/local_store.h"
#ifdef STUDIO_WITH_S3
#include "artifacts/internal/s3_store.h"
#endif

namespace studio::artifacts {
namespace {

constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxSegmentBytes = 255;
// Enough for any honest path; an attacker stacking encodings is refused, not unwrapped forever.
constexpr int kMaxDecodeRounds = 4;

Status Bad(const std::string& why) {
  return InvalidArgument("invalid artifact path: " + why).WithDetail("path", why);
}

// One spelling of the path (raw or decoded): everything that could leave the root, or that
// other layers (URLs, S3 keys, Windows clients) would read as structure, is refused.
Status CheckForm(std::string_view p) {
  if (p.empty()) return Bad("empty");
  if (p.front() == '/') return Bad("must be relative");
  for (char c : p) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\0') return Bad("contains NUL");
    if (c == '\\') return Bad("contains a backslash");
    if (c == '?' || c == '#') return Bad("contains '?' or '#'");
    if (u < 0x20 || u == 0x7f) return Bad("contains a control character");
  }
  if (p.size() >= 2 && p[1] == ':' && std::isalpha(static_cast<unsigned char>(p[0])))
    return Bad("must not start with a drive letter");
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    std::string_view seg =
        p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty()) return Bad("contains an empty segment");
    if (seg == "." || seg == "..") return Bad("contains a '.' or '..' segment");
    if (seg.size() > kMaxSegmentBytes) return Bad("a segment is longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> NormalizeArtifactPath(std::string_view path) {
  if (path.size() > kMaxPathBytes) return Bad("longer than 1024 bytes");
  std::string p(path);
  // "dir/" names the same thing as "dir"; any other empty segment is refused below.
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  RETURN_IF_ERROR(CheckForm(p));
  // Some layer between the client and the bytes may decode again (a proxy, S3, a UI): every
  // decoding of the path must be as safe as the path itself (CVE-2023-6831 → CVE-2024-1560).
  std::string form = p;
  for (int round = 0;; ++round) {
    std::string next = PercentDecode(form);
    if (next == form) break;
    if (round == kMaxDecodeRounds) return Bad("too many levels of percent-encoding");
    RETURN_IF_ERROR(CheckForm(next));
    form = std::move(next);
  }
  return p;
}

Result<std::unique_ptr<ArtifactStore>> OpenArtifactStore(const std::string& uri) {
  if (uri.rfind("file://", 0) == 0) {
    std::string rest = uri.substr(7);
    // file:///abs/dir (or file://localhost/abs/dir): any other authority names another machine.
    if (rest.rfind("localhost/", 0) == 0) rest = rest.substr(9);
    if (rest.empty() || rest.front() != '/')
      return InvalidArgument("artifact store URI must be file:///absolute/dir, got '" + uri + "'");
    if (rest.find_first_of("?#\\") != std::string::npos || rest.find('\0') != std::string::npos)
      return InvalidArgument("artifact store URI must not contain '?', '#' or '\\'");
    std::filesystem::path root(rest);
    for (const auto& part : root)
      if (part == "..") return InvalidArgument("artifact store URI must not contain '..'");
    return OpenLocalArtifactStore(root.lexically_normal().string());
  }
  if (uri.rfind("s3://", 0) == 0) {
#ifdef STUDIO_WITH_S3
    return OpenS3ArtifactStore(uri);
#else
    return Status(ErrorCode::kNotImplemented, "this build has no S3 artifact store");
#endif
  }
  return InvalidArgument("unsupported artifact store URI '" + uri +
                         "' (use file:///abs/dir or s3://bucket/prefix)");
}

}  // namespace studio::artifacts
