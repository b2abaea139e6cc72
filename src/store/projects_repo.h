#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"
#include "store/records.h"

namespace studio::store {

struct ProjectFilter {
  std::string query;      // substring of name or description, case-insensitive
  std::string owner;      // exact
  std::string tag_key;    // project has this tag
  std::string tag_value;  // ... with this value (when non-empty)
};

class Projects {
 public:
  explicit Projects(Tx& tx) : tx_(tx) {}
  // `tags` mirrors `p.tags_json` into the filter index.
  Status Insert(const ProjectRecord& p, const std::map<std::string, std::string>& tags);
  Status Update(const ProjectRecord& p, const std::map<std::string, std::string>& tags);
  // By id, or by name when no id matches.
  Result<ProjectRecord> Get(const std::string& id_or_name);
  Status Delete(const std::string& id);
  // Ordered by name; `after` is the last name of the previous page.
  Result<std::vector<ProjectRecord>> List(const ProjectFilter& filter, const std::string& after,
                                          int limit);
  Result<int64_t> Count();

 private:
  Status WriteTags(const std::string& id, const std::map<std::string, std::string>& tags);
  Tx& tx_;
};

}  // namespace studio::store
