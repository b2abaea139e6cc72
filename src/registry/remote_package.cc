#include <algorithm>

#include "artifacts/artifact_store.h"
#include "common/crypto.h"
#include "registry/model_package.h"

namespace studio::registry {

Result<ModelPackage> ReadRemoteModelPackage(const std::string& uri) {
  ASSIGN_OR_RETURN(auto store, artifacts::OpenArtifactStore(uri));
  std::string mlmodel;
  RETURN_IF_ERROR(store->Get("MLmodel", [&](std::string_view chunk) -> Status {
    if (mlmodel.size() + chunk.size() > (1 << 20)) return InvalidArgument("MLmodel is over 1 MiB");
    mlmodel.append(chunk);
    return Status::Ok();
  }));
  ASSIGN_OR_RETURN(ModelPackage pkg, ParseMlmodel(mlmodel));
  std::vector<std::string> dirs = {""};
  while (!dirs.empty()) {
    std::string dir = dirs.back();
    dirs.pop_back();
    ASSIGN_OR_RETURN(auto entries, store->List(dir));
    for (const auto& e : entries) {
      if (e.is_dir) {
        dirs.push_back(e.path);
        continue;
      }
      if (pkg.files.size() >= 10'000) return InvalidArgument("package has more than 10000 files");
      crypto::Sha256Stream hash;
      int64_t size = 0;
      RETURN_IF_ERROR(store->Get(e.path, [&](std::string_view chunk) {
        hash.Update(chunk);
        size += static_cast<int64_t>(chunk.size());
        return Status::Ok();
      }));
      pkg.files.push_back({e.path, size, hash.FinishHex()});
      pkg.total_bytes += size;
    }
  }
  std::sort(pkg.files.begin(), pkg.files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  bool has_model = std::any_of(pkg.files.begin(), pkg.files.end(),
                               [&](const auto& f) { return f.path == pkg.model_file; });
  if (!has_model)
    return InvalidArgument("MLmodel names '" + pkg.model_file + "', which is not in " + uri)
        .WithDetail("MLmodel flavors." + pkg.flavor + ".data", "not in the package");
  return pkg;
}

}  // namespace studio::registry
