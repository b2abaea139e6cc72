#include "pipelines/stages/internal/util.h"

#include <vector>

namespace studio::pipelines::stages::internal {
namespace {

const nlohmann::json* Param(const StageContext& ctx, const char* name) {
  if (!ctx.stage.with.is_object()) return nullptr;
  auto it = ctx.stage.with.find(name);
  if (it == ctx.stage.with.end() || it->is_null()) return nullptr;
  return &*it;
}

Status WrongType(const StageContext& ctx, const char* name, const char* want) {
  return InvalidArgument("stage '" + ctx.stage.id + "': parameter '" + name + "' must be " + want);
}

bool SingleSegment(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

Result<std::string> StringParam(const StageContext& ctx, const char* name, std::string def) {
  const nlohmann::json* p = Param(ctx, name);
  if (!p) return def;
  if (!p->is_string()) return WrongType(ctx, name, "a string");
  return p->get<std::string>();
}

Result<int64_t> IntParam(const StageContext& ctx, const char* name, int64_t def) {
  const nlohmann::json* p = Param(ctx, name);
  if (!p) return def;
  if (!p->is_number_integer()) return WrongType(ctx, name, "an integer");
  return p->get<int64_t>();
}

Result<double> NumberParam(const StageContext& ctx, const char* name, double def) {
  const nlohmann::json* p = Param(ctx, name);
  if (!p) return def;
  if (!p->is_number()) return WrongType(ctx, name, "a number");
  return p->get<double>();
}

Result<bool> BoolParam(const StageContext& ctx, const char* name, bool def) {
  const nlohmann::json* p = Param(ctx, name);
  if (!p) return def;
  if (!p->is_boolean()) return WrongType(ctx, name, "true or false");
  return p->get<bool>();
}

void Log(const StageContext& ctx, const std::string& line) {
  if (!ctx.log) return;
  *ctx.log << "[" << ctx.stage.id << "] " << line << "\n";
  ctx.log->flush();
}

Status CheckCancelled(const StageContext& ctx) {
  if (ctx.cancelled && ctx.cancelled())
    return Status(ErrorCode::kResourceConflict, "stage '" + ctx.stage.id + "' was cancelled");
  return Status::Ok();
}

Result<std::string> StagePrefix(const StageContext& ctx) {
  if (!SingleSegment(ctx.run_id)) return InvalidArgument("invalid run id '" + ctx.run_id + "'");
  if (!SingleSegment(ctx.stage.id))
    return InvalidArgument("invalid stage id '" + ctx.stage.id + "'");
  return "runs/" + ctx.run_id + "/" + ctx.stage.id + "/";
}

Result<artifacts::PutResult> PutText(artifacts::ArtifactStore& store, const std::string& path,
                                     std::string_view data) {
  size_t offset = 0;
  return store.Put(path, [&](char* buf, size_t cap) -> Result<size_t> {
    size_t n = std::min(cap, data.size() - offset);
    std::copy_n(data.data() + offset, n, buf);
    offset += n;
    return n;
  });
}

Result<std::string> GetText(artifacts::ArtifactStore& store, const std::string& path,
                            size_t max_bytes) {
  std::string out;
  RETURN_IF_ERROR(store.Get(path, [&](std::string_view chunk) -> Status {
    if (out.size() + chunk.size() > max_bytes)
      return InvalidArgument("artifact '" + path + "' is larger than " + std::to_string(max_bytes) +
                             " bytes");
    out.append(chunk);
    return Status::Ok();
  }));
  return out;
}

Result<const nlohmann::json*> UpstreamOf(const StageContext& ctx, const std::string& type) {
  if (!ctx.upstream.is_object())
    return InvalidArgument("stage '" + ctx.stage.id + "': upstream outputs are not an object");
  std::vector<std::pair<std::string, const nlohmann::json*>> found;
  for (auto it = ctx.upstream.begin(); it != ctx.upstream.end(); ++it)
    if (it->is_object() && it->value("type", "") == type) found.emplace_back(it.key(), &*it);
  if (found.empty())
    return InvalidArgument("stage '" + ctx.stage.id + "' (" + ctx.stage.type +
                           ") needs the outputs of a finished '" + type +
                           "' stage, and the run has none (upstream: " +
                           [&] {
                             std::string ids;
                             for (auto it = ctx.upstream.begin(); it != ctx.upstream.end(); ++it)
                               ids += (ids.empty() ? "" : ", ") + it.key();
                             return ids.empty() ? std::string("none") : ids;
                           }() +
                           ")");
  if (found.size() == 1) return found[0].second;
  const nlohmann::json* direct = nullptr;
  int n_direct = 0;
  for (const auto& [id, out] : found)
    for (const auto& need : ctx.stage.needs)
      if (need == id) {
        direct = out;
        ++n_direct;
      }
  if (n_direct == 1) return direct;
  return InvalidArgument("stage '" + ctx.stage.id + "': several finished '" + type +
                         "' stages and none (or more than one) of them in its needs");
}

Result<std::string> OutputString(const nlohmann::json& outputs, const std::string& stage_type,
                                 const char* key) {
  auto it = outputs.find(key);
  if (it == outputs.end() || !it->is_string() || it->get<std::string>().empty())
    return InvalidArgument("the outputs of the '" + stage_type + "' stage have no '" + key +
                           "' (they were not written by this version's stage)");
  return it->get<std::string>();
}

Result<std::string> ServerBase(const StageContext& ctx) {
  std::string s = ctx.server;
  while (!s.empty() && s.back() == '/') s.pop_back();
  if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0)
    return InvalidArgument("stage '" + ctx.stage.id + "' (" + ctx.stage.type +
                           ") talks to the control plane, and no server URL was given (got '" +
                           ctx.server + "')");
  if (ctx.token.empty())
    return Status(ErrorCode::kUnauthenticated,
                  "stage '" + ctx.stage.id + "' needs an API token for the control plane");
  return s;
}

}  // namespace studio::pipelines::stages::internal
