#include "serving/server/model_server.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "common/error_mapping.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/time_util.h"
#include "common/version.h"
#include "serving/http/http_server.h"
#include "serving/server/predictions.h"
#include "serving/server/rows.h"

namespace studio::serving {
namespace {

using Clock = std::chrono::steady_clock;

bool IsCsv(std::string_view content_type) { return content_type.substr(0, 8) == "text/csv"; }

// MLflow's content-type rule: application/json or text/csv, charset utf-8 only, no other
// parameters (1.x's format=pandas-split) → 415.
Status CheckMlflowContentType(std::string_view ct) {
  std::string lower = ToLower(ct);
  size_t semi = lower.find(';');
  std::string type = lower.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type != "application/json" && type != "text/csv")
    return Status(
        ErrorCode::kUnsupportedMediaType,
        "content type must be application/json or text/csv, got '" + std::string(ct) + "'");
  if (semi != std::string::npos) {
    for (const auto& param : SplitAndTrim(lower.substr(semi + 1), ';')) {
      if (param.empty()) continue;
      if (param != "charset=utf-8" && param != "charset=\"utf-8\"")
        return Status(ErrorCode::kUnsupportedMediaType,
                      "unsupported content-type parameter '" + param + "'");
    }
  }
  return Status::Ok();
}

ServingMetrics::Route RouteOf(std::string_view path) {
  if (path == "/predict") return ServingMetrics::kPredict;
  if (path == "/invocations") return ServingMetrics::kInvocations;
  if (path == "/batch-predict") return ServingMetrics::kBatch;
  if (path.substr(0, 4) == "/v2/" && path.size() > 6 && path.substr(path.size() - 6) == "/infer")
    return ServingMetrics::kOipInfer;
  return ServingMetrics::kOther;
}

}  // namespace

ModelServer::ModelServer(ServeOptions options, ModelResolver resolver)
    : options_(std::move(options)), resolver_(std::move(resolver)) {}

ModelServer::~ModelServer() { Stop(); }

Result<std::unique_ptr<ModelServer>> ModelServer::Create(ServeOptions options,
                                                         ModelResolver resolver) {
  if (options.workers <= 0)
    options.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (options.max_inflight == 0) options.max_inflight = static_cast<size_t>(options.workers) * 64;
  std::unique_ptr<ModelServer> s(new ModelServer(options, std::move(resolver)));
  if (!options.prediction_log.target.empty()) {
    auto log = PredictionLog::Create(options.prediction_log);
    if (!log.ok()) return log.status();
    s->prediction_log_ = std::move(*log);
  }
  http::Options ho;
  ho.host = options.host;
  ho.port = options.port;
  ho.threads = options.workers;
  ho.max_body_bytes = options.max_body_bytes;
  ho.max_inflight = options.max_inflight;
  ho.stream_threads = options.batch_workers;
  auto server = http::Server::Create(ho);
  if (!server.ok()) return server.status();
  s->http_ = std::move(*server);
  s->Routes();
  return s;
}

Status ModelServer::Start() { return http_->Start(); }
int ModelServer::port() const { return http_->port(); }

void ModelServer::Stop() {
  if (http_) http_->Stop(std::chrono::seconds(10));
  if (prediction_log_) prediction_log_->Flush();
}

Status ModelServer::Load(const std::string& uri) {
  std::lock_guard lock(load_mu_);
  auto source = resolver_(uri);
  if (!source.ok()) {
    if (model()) metrics_.CountReload(false);
    return source.status();
  }
  auto loaded = LoadModel(*source, options_.load);
  const bool first = model() == nullptr;
  if (!first) metrics_.CountReload(loaded.ok());
  if (!loaded.ok()) return loaded.status();
  const auto& m = **loaded;
  metrics_.SetModel(m.source.name, m.source.version, m.package.flavor,
                    std::string(m.runtime->Engine()), m.load_seconds);
  if (m.package.flavor == "xgboost")
    metrics_.SetEngineCheck(static_cast<double>(m.validation_rows),
                            static_cast<double>(m.mismatched_rows));
  // The swap: new requests see the new version; in-flight ones finish on the old handle.
  model_.store(*loaded);
  current_uri_ = uri;
  if (!first)
    log::Info("model reloaded", {{"model", m.source.name}, {"version", m.source.version}});
  return Status::Ok();
}

Status ModelServer::Reload() {
  std::string uri;
  {
    std::lock_guard lock(load_mu_);
    uri = current_uri_;
  }
  return Load(uri);
}

void ModelServer::Error(http::Response& res, const Status& st) {
  res.status = HttpStatusFor(st.code());
  res.content_type = "application/json";
  res.body = ErrorBody(st);
  if (res.status == 503) res.headers.emplace_back("Retry-After", "1");
}

void ModelServer::Routes() {
  // Every route is timed and counted under its route label.
  auto faults = std::make_shared<std::atomic<uint64_t>>(0);
  auto timed = [this, faults](std::function<void(const http::Request&, http::Response&)> fn) {
    return [this, fn = std::move(fn), faults](const http::Request& req, http::Response& res) {
      const auto start = Clock::now();
      const double ratio = options_.fail_ratio;
      const uint64_t n = ratio > 0 ? faults->fetch_add(1) : 0;
      if (ratio > 0 && std::floor(double(n + 1) * ratio) > std::floor(double(n) * ratio))
        Error(res, Internal("injected failure (serve-model --fail-ratio, for tests only)"));
      else
        fn(req, res);
      metrics_.ObserveRequest(RouteOf(req.path), res.status,
                              std::chrono::duration<double>(Clock::now() - start).count());
    };
  };
  auto text = [](http::Response& res, int status, std::string body) {
    res.status = status;
    res.content_type = "text/plain; charset=utf-8";
    res.body = std::move(body);
  };
  http_->Handle("POST", "/predict",
                timed([this](const auto& q, auto& r) { Predict(q, r, false); }));
  http_->Handle("POST", "/invocations",
                timed([this](const auto& q, auto& r) { Predict(q, r, true); }));
  http_->Handle("GET", "/health", [text](const auto&, auto& r) { text(r, 200, "ok\n"); });
  http_->Handle("GET", "/ready", [this](const auto&, auto& r) {
    auto m = model();
    r.content_type = "application/json";
    if (!m) {
      r.status = 503;
      r.headers.emplace_back("Retry-After", "1");
      r.body = R"({"ready":false,"reason":"the model is loading"})";
      return;
    }
    r.body = "{\"ready\":true,\"model\":{\"name\":";
    AppendJsonString(r.body, m->source.name);
    r.body += ",\"version\":";
    AppendJsonString(r.body, m->source.version);
    r.body += ",\"engine\":";
    AppendJsonString(r.body, m->runtime->Engine());
    r.body += "}}";
  });
  // MLflow scoring server: /ping answers once the model is loaded (body "\n").
  http_->Handle("GET", "/ping", [this, text](const auto&, auto& r) {
    if (model())
      text(r, 200, "\n");
    else
      Error(r, Status(ErrorCode::kTemporarilyUnavailable, "the model is loading"));
  });
  http_->Handle("GET", "/version",
                [text](const auto&, auto& r) { text(r, 200, std::string(kStudioVersion) + "\n"); });
  http_->Handle("GET", "/metrics", [this](const auto&, auto& r) { Metrics(r); });

  // Open Inference Protocol v2.
  http_->Handle("GET", "/v2", [](const auto&, auto& r) {
    r.body = std::string("{\"name\":\"studio\",\"version\":\"") + kStudioVersion +
             "\",\"extensions\":[\"model_repository\"]}";
  });
  http_->Handle("GET", "/v2/health/live",
                [](const auto&, auto& r) { r.body = R"({"live":true})"; });
  http_->Handle("GET", "/v2/health/ready", [this](const auto&, auto& r) {
    bool ready = model() != nullptr;
    r.status = ready ? 200 : 503;
    r.body = ready ? R"({"ready":true})" : R"({"ready":false})";
  });
  for (const std::string base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    http_->Handle("GET", base, [this](const auto& q, auto& r) { OipModelMetadata(q, r); });
    http_->Handle("GET", base + "/ready", [this](const auto& q, auto& r) { OipModelReady(q, r); });
    http_->Handle("POST", base + "/infer",
                  timed([this](const auto& q, auto& r) { OipInfer(q, r); }));
  }
  http_->Handle("POST", "/v2/repository/models/{name}/load",
                [this](const auto& q, auto& r) { RepositoryLoad(q, r); });
  http_->Handle("POST", "/v2/repository/index", [this](const auto&, auto& r) {
    auto m = model();
    r.body = "[";
    if (m) {
      r.body += '{';
      AppendNameVersion(r.body, m->source.name, m->source.version);
      r.body += ",\"state\":\"READY\",\"reason\":\"\"}";
    }
    r.body += "]";
  });
  http_->HandleStream("POST", "/batch-predict",
                      [this](const http::Request& q, http::BodyReader& b, http::ChunkedWriter& w) {
                        BatchPredict(q, b, w);
                      });
}

void ModelServer::Predict(const http::Request& req, http::Response& res, bool mlflow) {
  const std::string_view ct = req.Header("content-type");
  if (mlflow) {
    if (Status st = CheckMlflowContentType(ct); !st.ok()) return Error(res, st);
  } else if (!ct.empty() && !IsCsv(ct) && ToLower(ct).rfind("application/json", 0) != 0) {
    return Error(res, Status(ErrorCode::kUnsupportedMediaType,
                             "send application/json or text/csv, not '" + std::string(ct) + "'"));
  }
  auto m = model();
  if (!m) return Error(res, Status(ErrorCode::kTemporarilyUnavailable, "the model is loading"));
  thread_local RowMatrix rows;
  rows.Reset(m->schema.width);
  Status st = IsCsv(ct) ? ParseCsvRows(req.body, m->schema, &rows)
                        : ParseJsonRows(req.body, m->schema, &rows);
  if (!st.ok()) return Error(res, st);
  if (rows.rows == 0) return Error(res, InvalidArgument("the request has no rows"));
  thread_local std::vector<Tensor> outputs;
  outputs.clear();
  st = m->runtime->PredictRows(rows.values.data(), rows.rows, rows.cols, &outputs);
  if (!st.ok()) return Error(res, st);
  metrics_.AddPredictions(rows.rows);
  res.content_type = "application/json";
  res.body.clear();
  res.body += "{\"predictions\":";
  const size_t predictions_at = res.body.size();
  AppendPredictions(res.body, outputs, m->runtime->Outputs());
  if (prediction_log_ && prediction_log_->ShouldSample())
    LogPrediction(req, *m, rows.values.data(), rows.rows, rows.cols,
                  res.body.substr(predictions_at));
  if (!mlflow) {
    res.body += ",\"model\":{";
    AppendNameVersion(res.body, m->source.name, m->source.version);
    res.body += '}';
  }
  res.body += '}';
}

void ModelServer::LogPrediction(const http::Request& req, const LoadedModel& m, const float* rows,
                                int64_t nrows, int64_t ncols, const std::string& predictions_json) {
  std::string rec = "{\"ts\":\"" + FormatRfc3339(NowMillis()) + "\",\"request_id\":";
  AppendJsonString(rec, req.request_id);
  rec += ",\"route\":";
  AppendJsonString(rec, req.path);
  rec += ",\"model\":";
  AppendJsonString(rec, m.source.name);
  rec += ",\"version\":";
  AppendJsonString(rec, m.source.version);
  rec += ",\"columns\":[";
  for (int64_t c = 0; c < ncols; ++c) {
    if (c) rec += ',';
    AppendJsonString(rec, m.schema.ColumnName(c));
  }
  rec += "],\"inputs\":[";
  for (int64_t r = 0; r < nrows; ++r) {
    rec += r ? ",[" : "[";
    for (int64_t c = 0; c < ncols; ++c) {
      if (c) rec += ',';
      AppendJsonNumber(rec, rows[r * ncols + c]);
    }
    rec += ']';
  }
  rec += "],\"predictions\":" + predictions_json + "}";
  prediction_log_->Append(std::move(rec));
}

void ModelServer::Metrics(http::Response& res) {
  auto stats = http_->stats();
  metrics_.SetInflight(static_cast<double>(stats.in_flight));
  metrics_.SetOverloadRejections(static_cast<double>(stats.rejected_overload));
  if (prediction_log_)
    metrics_.SetPredictionLog(static_cast<double>(prediction_log_->written()),
                              static_cast<double>(prediction_log_->dropped()));
  res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  res.body = metrics_.Render();
}

}  // namespace studio::serving
