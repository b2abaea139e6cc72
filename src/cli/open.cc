#include <filesystem>

#include "cli/internal/open.h"
#include "common/log.h"

namespace studio::cli {

Result<OpenedStore> OpenConfiguredStore(const CommonFlags& flags, bool migrate) {
  OpenedStore out;
  ASSIGN_OR_RETURN(out.config, ResolveConfig(flags.values, flags.config_file));
  log::Format format;
  if (log::ParseFormat(out.config.log_format, &format)) log::Configure(format, log::Level::kWarn);
  std::error_code ec;
  if (out.config.db.empty()) {
    std::filesystem::create_directories(out.config.data_dir, ec);
    if (ec)
      return InvalidArgument("cannot create data dir '" + out.config.data_dir +
                             "': " + ec.message());
  }
  ASSIGN_OR_RETURN(out.store, store::OpenStore(out.config.DbUri()));
  if (migrate) RETURN_IF_ERROR(out.store->Migrate());
  return out;
}

}  // namespace studio::cli
