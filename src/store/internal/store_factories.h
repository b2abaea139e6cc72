#pragma once

#include <memory>
#include <string>

#include "store/metadata_store.h"

namespace studio::store {

Result<std::unique_ptr<MetadataStore>> OpenSqliteStore(const std::string& path,
                                                       const StoreOptions& options);
Result<std::unique_ptr<MetadataStore>> OpenPostgresStore(const std::string& uri,
                                                         const StoreOptions& options);

}  // namespace studio::store
