// The local-directory artifact store (file:///abs/dir), the embedded default.
//
// Every path is walked from an open descriptor of the root, one component at a time with
// O_NOFOLLOW: nothing below the root — a symlink planted by anyone who can write there — can
// make an operation leave it. Writes go to a temporary file in the target directory, are
// fsynced and renamed into place, so readers see the old object or the whole new one.
#include "artifacts/internal/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/crypto.h"

namespace studio::artifacts {
namespace {

constexpr std::string_view kTempPrefix = ".studio-tmp-";

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::string Errno(int err) { return std::error_code(err, std::generic_category()).message(); }

Status NoSuch(const std::string& path) {
  return NotFound("artifact '" + path + "' does not exist");
}

std::vector<std::string> Split(const std::string& p) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    out.push_back(p.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

Result<std::string> Normalize(const std::string& path) {
  ASSIGN_OR_RETURN(std::string p, NormalizeArtifactPath(path));
  for (const std::string& seg : Split(p))
    if (seg.rfind(kTempPrefix, 0) == 0)
      return InvalidArgument("invalid artifact path: '" + std::string(kTempPrefix) +
                             "' names are reserved")
          .WithDetail("path", "reserved name");
  return p;
}

Status WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Internal("artifact write failed: " + Errno(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

class LocalArtifactStore final : public ArtifactStore {
 public:
  explicit LocalArtifactStore(std::string root) : root_(std::move(root)) {}

  std::string uri() const override { return "file://" + root_; }

  Result<PutResult> Put(const std::string& path, const ChunkSource& source) override {
    ASSIGN_OR_RETURN(std::string p, Normalize(path));
    std::vector<std::string> segs = Split(p);
    const std::string name = segs.back();
    segs.pop_back();
    ASSIGN_OR_RETURN(Fd dir, OpenDir(segs, /*create=*/true, p));

    const std::string tmp = std::string(kTempPrefix) + crypto::RandomToken(12);
    Fd out(::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0644));
    if (!out.valid()) return Internal("cannot create a temporary artifact file: " + Errno(errno));
    auto discard = [&] { ::unlinkat(dir.get(), tmp.c_str(), 0); };

    std::vector<char> buf(kLocalChunkSize);
    crypto::Sha256Stream sha;
    PutResult result;
    while (true) {
      Result<size_t> n = source(buf.data(), buf.size());
      if (!n.ok()) {
        discard();
        return n.status();
      }
      if (*n == 0) break;
      if (*n > buf.size()) {
        discard();
        return Internal("artifact source returned more bytes than asked for");
      }
      Status st = WriteAll(out.get(), buf.data(), *n);
      if (!st.ok()) {
        discard();
        return st;
      }
      sha.Update(std::string_view(buf.data(), *n));
      result.size += static_cast<int64_t>(*n);
    }
    if (::fsync(out.get()) != 0) {
      int err = errno;
      discard();
      return Internal("artifact fsync failed: " + Errno(err));
    }
    out.Reset();
    // rename(2) replaces a symlink at the destination rather than following it.
    if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) {
      int err = errno;
      discard();
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
        return InvalidArgument("artifact '" + p + "' is a directory")
            .WithDetail("path", "a directory");
      return Internal("artifact rename failed: " + Errno(err));
    }
    ::fsync(dir.get());  // make the rename durable
    result.sha256 = sha.FinishHex();
    return result;
  }

  Status Get(const std::string& path, const ChunkSink& sink,
             const std::string& expected_sha256) override {
    ASSIGN_OR_RETURN(std::string p, Normalize(path));
    ASSIGN_OR_RETURN(Fd file, OpenFile(p));
    std::vector<char> buf(kLocalChunkSize);
    crypto::Sha256Stream sha;
    while (true) {
      ssize_t n = ::read(file.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Internal("artifact read failed: " + Errno(errno));
      }
      if (n == 0) break;
      sha.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
      RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
    if (!expected_sha256.empty() && sha.FinishHex() != expected_sha256)
      return Internal("artifact '" + p +
                      "' is corrupt: its SHA-256 does not match the recorded one");
    return Status::Ok();
  }

  Result<ArtifactInfo> Stat(const std::string& path) override {
    if (path.empty()) return ArtifactInfo{"", true, 0};
    ASSIGN_OR_RETURN(std::string p, Normalize(path));
    std::vector<std::string> segs = Split(p);
    const std::string name = segs.back();
    segs.pop_back();
    auto dir = OpenDir(segs, false, p);
    if (!dir.ok()) return NoSuch(p);
    struct stat st;
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return NoSuch(p);
    if (S_ISDIR(st.st_mode)) return ArtifactInfo{p, true, 0};
    if (S_ISREG(st.st_mode)) return ArtifactInfo{p, false, static_cast<int64_t>(st.st_size)};
    return NoSuch(p);  // symlinks, devices, sockets: not artifacts
  }

  Result<std::vector<ArtifactInfo>> List(const std::string& dir_path) override {
    std::string p;
    if (!dir_path.empty()) {
      ASSIGN_OR_RETURN(p, Normalize(dir_path));
    }
    ASSIGN_OR_RETURN(Fd dir, OpenDir(Split(p), false, p));
    int fd = ::dup(dir.get());
    if (fd < 0) return Internal("dup failed: " + Errno(errno));
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return Internal("cannot list artifacts: " + Errno(errno));
    }
    std::vector<ArtifactInfo> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name.rfind(kTempPrefix, 0) == 0) continue;
      struct stat st;
      if (::fstatat(::dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string child = p.empty() ? name : p + "/" + name;
      if (S_ISDIR(st.st_mode))
        out.push_back({child, true, 0});
      else if (S_ISREG(st.st_mode))
        out.push_back({child, false, static_cast<int64_t>(st.st_size)});
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(),
              [](const ArtifactInfo& a, const ArtifactInfo& b) { return a.path < b.path; });
    return out;
  }

  Status Delete(const std::string& path) override {
    ASSIGN_OR_RETURN(std::string p, Normalize(path));
    std::vector<std::string> segs = Split(p);
    const std::string name = segs.back();
    segs.pop_back();
    auto dir = OpenDir(segs, false, p);
    if (!dir.ok()) return NoSuch(p);
    struct stat st;
    if (::fstatat(dir->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return NoSuch(p);
    if (S_ISDIR(st.st_mode)) return RemoveTree(dir->get(), name);
    // A symlink is removed itself, never its target.
    if (::unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return Internal("cannot delete artifact: " + Errno(errno));
    return Status::Ok();
  }

  Status Init() {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) return Internal("cannot create artifact root '" + root_ + "': " + ec.message());
    auto root = OpenRoot();
    return root.ok() ? Status::Ok() : root.status();
  }

 private:
  Result<Fd> OpenRoot() const {
    Fd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
      return Status(ErrorCode::kTemporarilyUnavailable,
                    "artifact root '" + root_ + "' is not accessible: " + Errno(errno));
    return fd;
  }

  // The directory `segs` below the root. Missing components are created when `create`; a
  // component that is a symlink or not a directory refuses the operation.
  Result<Fd> OpenDir(const std::vector<std::string>& segs, bool create,
                     const std::string& path) const {
    ASSIGN_OR_RETURN(Fd cur, OpenRoot());
    for (const std::string& seg : segs) {
      constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      Fd next(::openat(cur.get(), seg.c_str(), kFlags));
      if (!next.valid() && errno == ENOENT && create) {
        if (::mkdirat(cur.get(), seg.c_str(), 0755) != 0 && errno != EEXIST)
          return Internal("cannot create artifact directory: " + Errno(errno));
        next = Fd(::openat(cur.get(), seg.c_str(), kFlags));
      }
      if (!next.valid()) {
        if (!create) return NoSuch(path);
        return InvalidArgument("artifact path '" + path +
                               "' crosses a file or symbolic link, not a directory")
            .WithDetail("path", "not a directory");
      }
      cur = std::move(next);
    }
    return cur;
  }

  Result<Fd> OpenFile(const std::string& p) const {
    std::vector<std::string> segs = Split(p);
    const std::string name = segs.back();
    segs.pop_back();
    auto dir = OpenDir(segs, false, p);
    if (!dir.ok()) return NoSuch(p);
    // O_NONBLOCK: a FIFO planted in the root must not hang the request.
    Fd fd(::openat(dir->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return NoSuch(p);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return NoSuch(p);
    return fd;
  }

  static Status RemoveTree(int parent, const std::string& name) {
    Fd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return Internal("cannot open artifact directory: " + Errno(errno));
    std::vector<std::pair<std::string, bool>> children;
    {
      int dup_fd = ::dup(fd.get());
      DIR* d = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
      if (!d) {
        if (dup_fd >= 0) ::close(dup_fd);
        return Internal("cannot list artifact directory: " + Errno(errno));
      }
      while (struct dirent* e = ::readdir(d)) {
        std::string child = e->d_name;
        if (child == "." || child == "..") continue;
        struct stat st;
        if (::fstatat(fd.get(), child.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        children.emplace_back(child, S_ISDIR(st.st_mode));
      }
      ::closedir(d);
    }
    for (const auto& [child, is_dir] : children) {
      if (is_dir) {
        RETURN_IF_ERROR(RemoveTree(fd.get(), child));
      } else if (::unlinkat(fd.get(), child.c_str(), 0) != 0 && errno != ENOENT) {
        return Internal("cannot delete artifact: " + Errno(errno));
      }
    }
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return Internal("cannot delete artifact directory: " + Errno(errno));
    return Status::Ok();
  }

  std::string root_;
};

}  // namespace

Result<std::unique_ptr<ArtifactStore>> OpenLocalArtifactStore(const std::string& root) {
  if (root.empty() || root.front() != '/')
    return InvalidArgument("artifact root must be an absolute directory, got '" + root + "'");
  std::string r = root;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  auto store = std::make_unique<LocalArtifactStore>(r);
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<ArtifactStore>(std::move(store));
}

}  // namespace studio::artifacts
