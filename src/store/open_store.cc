#include "store/internal/store_factories.h"
#include "store/metadata_store.h"

namespace studio::store {

Result<std::unique_ptr<MetadataStore>> OpenStore(const std::string& uri,
                                                 const StoreOptions& options) {
  if (uri.rfind("sqlite://", 0) == 0) {
    std::string path = uri.substr(9);
    if (path.empty())
      return InvalidArgument("sqlite URI needs a path: sqlite:///path/to/studio.db");
    return OpenSqliteStore(path, options);
  }
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) {
    return OpenPostgresStore(uri, options);
  }
  return InvalidArgument("unsupported database URI '" + uri +
                         "': use sqlite:///path or postgresql://user:pw@host:port/db");
}

}  // namespace studio::store
