#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/status.h"

namespace studio::api {

// Reads typed fields from a JSON object body, collecting every problem (wrong type, missing,
// unknown field) into one INVALID_PARAMETER_VALUE with per-field details.
class BodyReader {
 public:
  explicit BodyReader(const nlohmann::json& body) : body_(body) {}
  std::optional<std::string> String(const std::string& name, bool required, size_t max_len = 4096);
  std::optional<bool> Bool(const std::string& name, bool required);
  std::optional<int64_t> Int(const std::string& name, bool required, int64_t min, int64_t max);
  std::optional<std::vector<std::string>> StringList(const std::string& name, bool required);
  std::optional<std::map<std::string, std::string>> StringMap(const std::string& name,
                                                              bool required);
  void Problem(const std::string& field, const std::string& problem) { problems_[field] = problem; }
  // Unknown fields are errors: a typo must not be silently ignored.
  Status Finish();

 private:
  const nlohmann::json* Get(const std::string& name, bool required);
  const nlohmann::json& body_;
  std::set<std::string> known_;
  std::map<std::string, std::string> problems_;
};

struct PageRequest {
  int max_results = 100;
  std::string after;  // decoded page token: the last key of the previous page
};

// max_results (1..1000) and page_token from the query string.
Result<PageRequest> ParsePage(const HttpRequest& req, int default_max = 100);
std::string EncodePageToken(const std::string& last_key);

// `{"items": [...], "next_page_token": "..."}`; the token only when the page was full.
nlohmann::json ListResponse(nlohmann::json items, const std::string& next_key);

}  // namespace studio::api
