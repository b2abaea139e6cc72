#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "serving/server/loaded_model.h"
#include "serving/server/prediction_log.h"
#include "serving/server/serving_metrics.h"

namespace studio::serving {

namespace http {
class Server;
struct Request;
struct Response;
class BodyReader;
class ChunkedWriter;
}  // namespace http

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int workers = 0;                   // event-loop threads that also predict; 0 = cores
  size_t max_body_bytes = 64 << 20;  // /predict, /invocations, /v2 infer
  size_t max_inflight = 0;           // requests read and unanswered before 503; 0 = auto
  int batch_workers = 1;             // concurrent /batch-predict streams; more get 503
  int batch_block_rows = 4096;       // rows predicted per block in /batch-predict
  LoadOptions load;
  PredictionLogOptions prediction_log;  // target empty = no prediction log
  // Testing only (deployment rollback tests): this share of prediction requests answers 500,
  // deterministically (every 1/ratio-th request).
  double fail_ratio = 0;
};

// Turns a model URI (a directory, models:/NAME/VERSION, models:/NAME@ALIAS) into a local
// package; the CLI supplies one that downloads from the registry.
using ModelResolver = std::function<Result<ModelSource>(const std::string& uri)>;

// `studio serve-model`: one model behind three protocols (ours, MLflow scoring, Open Inference
// Protocol v2) on the event-driven HTTP server, with Prometheus metrics, the sampled
// prediction log and hot reload (the old version drains: requests hold a shared_ptr to it).
class ModelServer {
 public:
  static Result<std::unique_ptr<ModelServer>> Create(ServeOptions options, ModelResolver resolver);
  ~ModelServer();

  Status Start();  // listens; /health answers, /ready is 503
  int port() const;
  Status Load(const std::string& uri);  // resolve + load + swap; /ready after the first
  Status Reload();                      // Load() of the URI last loaded (SIGHUP)
  void Stop();                          // drain and join

  std::shared_ptr<const LoadedModel> model() const { return model_.load(); }

 private:
  ModelServer(ServeOptions options, ModelResolver resolver);
  void Routes();
  // Route bodies (model_server.cc, oip.cc, batch.cc).
  void Predict(const http::Request& req, http::Response& res, bool mlflow);
  void OipInfer(const http::Request& req, http::Response& res);
  void OipModelMetadata(const http::Request& req, http::Response& res);
  void OipModelReady(const http::Request& req, http::Response& res);
  void RepositoryLoad(const http::Request& req, http::Response& res);
  void BatchPredict(const http::Request& req, http::BodyReader& body, http::ChunkedWriter& out);
  void Metrics(http::Response& res);
  void LogPrediction(const http::Request& req, const LoadedModel& m, const float* rows,
                     int64_t nrows, int64_t ncols, const std::string& predictions_json);
  // Sets an error response in the house format (MLflow's for /invocations).
  static void Error(http::Response& res, const Status& st);
  bool CheckVersion(const http::Request& req, http::Response& res, const LoadedModel& m);

  ServeOptions options_;
  ModelResolver resolver_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<PredictionLog> prediction_log_;
  ServingMetrics metrics_;
  std::atomic<std::shared_ptr<const LoadedModel>> model_;
  std::mutex load_mu_;  // one load at a time
  std::string current_uri_;
};

}  // namespace studio::serving
