#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "api/router.h"

namespace studio::api {

// Builds the Routes of one handler file: the fields in declaration order, the OpenAPI tag chosen
// from the path by `tag_of`. A file declares `const RouteMaker Make(...)` and calls Make(...).
class RouteMaker {
 public:
  explicit RouteMaker(std::function<std::string(const std::string& path)> tag_of)
      : tag_of_(std::move(tag_of)) {}

  Route operator()(std::string method, std::string path, auth::Action action, std::string summary,
                   bool body, int status, std::string req_schema, std::string resp_schema,
                   std::vector<std::string> query, Handler h) const {
    Route r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.action = action;
    r.tag = tag_of_(r.path);
    r.summary = std::move(summary);
    r.takes_body = body;
    r.success_status = status;
    r.request_schema = std::move(req_schema);
    r.response_schema = std::move(resp_schema);
    r.query_params = std::move(query);
    r.handler = std::move(h);
    return r;
  }

 private:
  std::function<std::string(const std::string&)> tag_of_;
};

}  // namespace studio::api
