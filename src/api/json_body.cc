#include "api/json_body.h"

#include "common/crypto.h"

namespace studio::api {
namespace {
const char* TypeName(const nlohmann::json& v) { return v.type_name(); }
}  // namespace

const nlohmann::json* BodyReader::Get(const std::string& name, bool required) {
  known_.insert(name);
  auto it = body_.find(name);
  if (it == body_.end() || it->is_null()) {
    if (required) problems_[name] = "required";
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> BodyReader::String(const std::string& name, bool required,
                                              size_t max_len) {
  const nlohmann::json* v = Get(name, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    problems_[name] = std::string("must be a string, got ") + TypeName(*v);
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_len) {
    problems_[name] = "must be at most " + std::to_string(max_len) + " bytes";
    return std::nullopt;
  }
  return s;
}

std::optional<bool> BodyReader::Bool(const std::string& name, bool required) {
  const nlohmann::json* v = Get(name, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    problems_[name] = std::string("must be a boolean, got ") + TypeName(*v);
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<int64_t> BodyReader::Int(const std::string& name, bool required, int64_t min,
                                       int64_t max) {
  const nlohmann::json* v = Get(name, required);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    problems_[name] = std::string("must be an integer, got ") + TypeName(*v);
    return std::nullopt;
  }
  int64_t x = v->get<int64_t>();
  if (x < min || x > max) {
    problems_[name] = "must be between " + std::to_string(min) + " and " + std::to_string(max);
    return std::nullopt;
  }
  return x;
}

std::optional<std::vector<std::string>> BodyReader::StringList(const std::string& name,
                                                               bool required) {
  const nlohmann::json* v = Get(name, required);
  if (!v) return std::nullopt;
  if (!v->is_array()) {
    problems_[name] = std::string("must be an array of strings, got ") + TypeName(*v);
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      problems_[name + "[" + std::to_string(i) + "]"] = "must be a string";
      return std::nullopt;
    }
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

std::optional<std::map<std::string, std::string>> BodyReader::StringMap(const std::string& name,
                                                                        bool required) {
  const nlohmann::json* v = Get(name, required);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    problems_[name] = std::string("must be an object of strings, got ") + TypeName(*v);
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) {
      problems_[name + "." + it.key()] = "must be a string";
      return std::nullopt;
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

Status BodyReader::Finish() {
  for (auto it = body_.begin(); it != body_.end(); ++it)
    if (!known_.count(it.key())) problems_[it.key()] = "unknown field";
  if (problems_.empty()) return Status::Ok();
  std::string msg = "invalid request:";
  for (const auto& [field, problem] : problems_) msg += " " + field + ": " + problem + ";";
  msg.pop_back();
  Status out(ErrorCode::kInvalidParameterValue, msg);
  for (const auto& [field, problem] : problems_) out.WithDetail(field, problem);
  return out;
}

Result<PageRequest> ParsePage(const HttpRequest& req, int default_max) {
  PageRequest page;
  page.max_results = default_max;
  if (req.HasQuery("max_results")) {
    const std::string v = req.Query("max_results");
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1 || n > 1000)
      return InvalidArgument("max_results must be an integer from 1 to 1000")
          .WithDetail("max_results", "must be an integer from 1 to 1000");
    page.max_results = static_cast<int>(n);
  }
  if (req.HasQuery("page_token")) {
    auto decoded = crypto::Base64Decode(req.Query("page_token"));
    if (!decoded.ok() || decoded->empty() || decoded->size() > 512)
      return InvalidArgument("invalid page_token").WithDetail("page_token", "invalid");
    page.after = *decoded;
  }
  return page;
}

std::string EncodePageToken(const std::string& last_key) {
  return crypto::Base64UrlEncode(last_key);
}

nlohmann::json ListResponse(nlohmann::json items, const std::string& next_key) {
  nlohmann::json out = {{"items", std::move(items)}};
  if (!next_key.empty()) out["next_page_token"] = EncodePageToken(next_key);
  return out;
}

}  // namespace studio::api
