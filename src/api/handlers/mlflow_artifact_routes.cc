// MLflow's artifact proxy (mlflow/protos/mlflow_artifacts.proto): the bytes of run artifacts
// and model packages, under the configured artifact store. Every path goes through
// NormalizeArtifactPath and the store's own confinement (MLflow's path-traversal CVE family:
// reference/registry_serving.md §4), and every request is authorized on its own.
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "api/router.h"
#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"

namespace studio::api {
namespace {

// Hands the chunks httplib pushes on the request thread (4 KiB at a time: its receive
// buffer) to ArtifactStore::Put, which pulls on a worker thread. A bounded buffer between them
// lets the store write in large blocks while the socket keeps being read; memory stays at
// kCapacity whatever the artifact's size.
class PushPull {
 public:
  static constexpr size_t kCapacity = size_t{8} << 20;

  // Producer side. False once the consumer stopped (the rest of the body is then drained).
  bool Push(const char* data, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    while (n > 0) {
      cv_.wait(lock, [&] { return consumer_done_ || Available() < kCapacity; });
      if (consumer_done_) return false;
      if (start_ > 0 && start_ >= buf_.size() / 2) {  // compact the consumed front
        buf_.erase(0, start_);
        start_ = 0;
      }
      size_t take = std::min(kCapacity - Available(), n);
      buf_.append(data, take);
      data += take;
      n -= take;
      cv_.notify_all();
    }
    return true;
  }
  void Close(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    close_status_ = std::move(status);
    cv_.notify_all();
  }
  // Consumer side: waits for a full `cap` (or the end) so the store writes in large blocks.
  Result<size_t> Pull(char* buf, size_t cap) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return Available() >= std::min(cap, kCapacity) || closed_; });
    size_t n = std::min(cap, Available());
    if (n > 0) {
      std::memcpy(buf, buf_.data() + start_, n);
      start_ += n;
      if (start_ == buf_.size()) {
        buf_.clear();
        start_ = 0;
      }
      cv_.notify_all();
      return n;
    }
    if (!close_status_.ok()) return close_status_;
    return size_t{0};
  }
  void ConsumerDone() {
    std::lock_guard<std::mutex> lock(mu_);
    consumer_done_ = true;
    cv_.notify_all();
  }

 private:
  size_t Available() const { return buf_.size() - start_; }

  std::mutex mu_;
  std::condition_variable cv_;
  std::string buf_;
  size_t start_ = 0;
  bool closed_ = false, consumer_done_ = false;
  Status close_status_;
};

Result<artifacts::PutResult> StreamUpload(artifacts::ArtifactStore& store, const HttpRequest& req,
                                          const std::string& path, int64_t body_limit) {
  PushPull channel;
  Result<artifacts::PutResult> result = Internal("upload did not run");
  // Joined below on every path: never outlives the request.
  std::thread writer([&] {
    result = store.Put(path, [&](char* buf, size_t cap) { return channel.Pull(buf, cap); });
    channel.ConsumerDone();
  });
  bool draining = false;
  bool complete = req.read_body && req.read_body([&](const char* data, size_t n) {
    if (!draining && !channel.Push(data, n)) draining = true;  // keep the connection in sync
    return true;
  });
  if (complete) {
    channel.Close(Status::Ok());
  } else {
    const std::string length = req.Header("content-length");
    bool too_large = !length.empty() && std::strtoll(length.c_str(), nullptr, 10) > body_limit;
    channel.Close(too_large ? Status(ErrorCode::kPayloadTooLarge,
                                     "artifact exceeds the configured limit (--artifact-limit)")
                            : Status(ErrorCode::kBadRequest, "the upload was interrupted"));
  }
  writer.join();
  return result;
}

Status Audit(Services& s, RequestContext& ctx, const std::string& action, const std::string& path,
             nlohmann::json details) {
  details["path"] = path;
  details["store"] = s.artifacts->uri();
  return s.store.Write([&](store::Tx& tx) {
    return audit::Append(
        tx, {ctx.principal.username, action, "artifact", path, ctx.request_id, details.dump()});
  });
}

Status NoStore() {
  return Status(ErrorCode::kTemporarilyUnavailable, "no artifact store is configured");
}

// The route's {artifact_path}, normalized and confined (and a store to apply it to).
Result<std::string> ArtifactPathParam(Services& s, RequestContext& ctx) {
  if (!s.artifacts) return NoStore();
  return artifacts::NormalizeArtifactPath(ctx.req.Param("artifact_path"));
}

void AddArtifactRoutesAt(RouteTable& routes, Services& s, const std::string& prefix) {
  using auth::Action;
  const std::string base = prefix + "/mlflow-artifacts/artifacts";

  routes.push_back({"GET",
                    base,
                    Action::kRead,
                    "mlflow-artifacts",
                    "List the direct children of an artifact directory (MLflow artifacts proxy)",
                    false,
                    200,
                    "",
                    "MlflowArtifactList",
                    {"path"},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      if (!s.artifacts) return NoStore();
                      std::string dir = ctx.req.Query("path");
                      if (!dir.empty()) {
                        ASSIGN_OR_RETURN(dir, artifacts::NormalizeArtifactPath(dir));
                      }
                      auto list = s.artifacts->List(dir);
                      if (!list.ok() && list.status().code() != ErrorCode::kResourceDoesNotExist)
                        return list.status();
                      nlohmann::json files = nlohmann::json::array();
                      if (list.ok()) {
                        for (const auto& f : *list) {
                          // MLflow lists names relative to the directory asked for.
                          nlohmann::json j = {{"path", f.path.substr(f.path.rfind('/') + 1)},
                                              {"is_dir", f.is_dir}};
                          if (!f.is_dir) j["file_size"] = f.size;
                          files.push_back(std::move(j));
                        }
                      }
                      res.Json(200, {{"files", std::move(files)}});
                      return Status::Ok();
                    }});

  routes.push_back(
      {"GET",
       base + "/{artifact_path}",
       Action::kRead,
       "mlflow-artifacts",
       "Download an artifact (raw bytes, streamed)",
       false,
       200,
       "",
       "",
       {},
       [&s](RequestContext& ctx, HttpResponse& res) -> Status {
         ASSIGN_OR_RETURN(std::string path, ArtifactPathParam(s, ctx));
         ASSIGN_OR_RETURN(artifacts::ArtifactInfo info, s.artifacts->Stat(path));
         if (info.is_dir)
           return InvalidArgument("artifact '" + path + "' is a directory; list it instead");
         res.status = 200;
         res.content_type = "application/octet-stream";
         // Never rendered by a browser on our origin (stored XSS through an uploaded page).
         res.headers.emplace_back("Content-Disposition", "attachment");
         artifacts::ArtifactStore* store = s.artifacts;
         res.stream_length = info.size;
         res.stream = [store, path](const std::function<bool(std::string_view)>& write) {
           return store->Get(path, [&](std::string_view chunk) {
             return write(chunk) ? Status::Ok()
                                 : Status(ErrorCode::kBadRequest, "client went away");
           });
         };
         return Status::Ok();
       }});

  Route put{"PUT",
            base + "/{artifact_path}",
            Action::kCreate,
            "mlflow-artifacts",
            "Upload an artifact (raw request body, streamed to the store; atomic replace)",
            false,
            200,
            "",
            "MlflowEmpty",
            {},
            [&s](RequestContext& ctx, HttpResponse& res) -> Status {
              ASSIGN_OR_RETURN(std::string path, ArtifactPathParam(s, ctx));
              ASSIGN_OR_RETURN(artifacts::PutResult put,
                               StreamUpload(*s.artifacts, ctx.req, path, s.config.artifact_limit));
              RETURN_IF_ERROR(Audit(s, ctx, "artifact.upload", path,
                                    {{"size", put.size}, {"sha256", put.sha256}}));
              res.Json(200, nlohmann::json::object());
              return Status::Ok();
            }};
  put.stream_body = true;
  routes.push_back(std::move(put));

  routes.push_back({"DELETE",
                    base + "/{artifact_path}",
                    Action::kCreate,
                    "mlflow-artifacts",
                    "Delete an artifact or, recursively, an artifact directory",
                    false,
                    200,
                    "",
                    "MlflowEmpty",
                    {},
                    [&s](RequestContext& ctx, HttpResponse& res) -> Status {
                      ASSIGN_OR_RETURN(std::string path, ArtifactPathParam(s, ctx));
                      RETURN_IF_ERROR(s.artifacts->Delete(path));
                      RETURN_IF_ERROR(
                          Audit(s, ctx, "artifact.delete", path, nlohmann::json::object()));
                      res.Json(200, nlohmann::json::object());
                      return Status::Ok();
                    }});
}

}  // namespace

void AddMlflowArtifactRoutes(RouteTable& routes, Services& s) {
  AddArtifactRoutesAt(routes, s, "/api/2.0");
  AddArtifactRoutesAt(routes, s, "/ajax-api/2.0");
}

}  // namespace studio::api
