#pragma once

#include <memory>

#include "cli/commands.h"
#include "common/config.h"
#include "common/status.h"
#include "store/metadata_store.h"

namespace studio::cli {

struct OpenedStore {
  Config config;
  std::unique_ptr<store::MetadataStore> store;
};

// Resolves the configuration, creates the data dir layout and opens (and migrates) the store.
Result<OpenedStore> OpenConfiguredStore(const CommonFlags& flags, bool migrate = true);

}  // namespace studio::cli
