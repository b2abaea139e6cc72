#include "api/http.h"

#include <nlohmann/json.hpp>

namespace studio::api {

std::string HttpRequest::Header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

void HttpResponse::Json(int code, const nlohmann::json& value) {
  status = code;
  content_type = "application/json";
  body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace studio::api
