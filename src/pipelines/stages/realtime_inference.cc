// realtime-inference: smoke-tests the deployed endpoint
// ({server}/serve/{project}/{environment}/invocations, or `endpoint`) with `sample_rows` rows
// of the prepared current split, one MLflow dataframe_split request per row. Fails on any
// non-2xx answer, a wrong number of predictions, or a p99 latency above max_latency_ms.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/model_input.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

// scheme://host[:port] and the path of an http(s) URL.
Status SplitUrl(const std::string& url, std::string* origin, std::string* path) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.substr(0, scheme) != "http" && url.substr(0, scheme) != "https"))
    return InvalidArgument("endpoint '" + url + "' is not an http(s) URL");
  size_t slash = url.find('/', scheme + 3);
  *origin = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  if (origin->find('@') != std::string::npos)
    return InvalidArgument("endpoint URLs may not carry credentials");
  return Status::Ok();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

Result<nlohmann::json> RunRealtimeInference(const StageContext& ctx) {
  ASSIGN_OR_RETURN(int64_t sample_rows, IntParam(ctx, "sample_rows", 20));
  ASSIGN_OR_RETURN(int64_t max_latency_ms, IntParam(ctx, "max_latency_ms", 0));
  ASSIGN_OR_RETURN(std::string endpoint, StringParam(ctx, "endpoint"));
  // The control plane is needed for the deployment's route and the model's signature; an
  // `endpoint` tested without a model-registry stage needs neither.
  bool has_registry = UpstreamOf(ctx, "model-registry").ok();
  std::string base;
  std::unique_ptr<ControlPlane> cp;
  if (endpoint.empty() || has_registry) {
    ASSIGN_OR_RETURN(base, ServerBase(ctx));
    ASSIGN_OR_RETURN(cp, ControlPlane::Connect(ctx));
  }
  if (endpoint.empty()) {
    ASSIGN_OR_RETURN(const nlohmann::json* dep, UpstreamOf(ctx, "model-deployment"));
    ASSIGN_OR_RETURN(std::string env, OutputString(*dep, "model-deployment", "environment"));
    endpoint = base + "/serve/" + UrlEncode(ctx.project) + "/" + UrlEncode(env) + "/invocations";
  }
  std::string origin, path;
  RETURN_IF_ERROR(SplitUrl(endpoint, &origin, &path));
  // The registered version's signature picks the columns; without a model-registry stage in
  // the run (an `endpoint` tested on its own) every column is sent.
  std::string model, version;
  std::vector<std::string> columns;
  if (has_registry) {
    ASSIGN_OR_RETURN(columns, SignatureColumns(ctx, *cp, &model, &version));
  } else {
    Log(ctx, "no model-registry stage in this run: sending every column");
  }
  std::string data_path;
  ASSIGN_OR_RETURN(Table data, LoadCurrentSplit(ctx, &data_path));
  ASSIGN_OR_RETURN(std::vector<size_t> cols, SelectColumns(data, columns));
  size_t n = std::min(static_cast<size_t>(sample_rows), data.rows.size());
  if (n == 0) return InvalidArgument("the prepared current split " + data_path + " has no rows");
  nlohmann::json names = nlohmann::json::array();
  for (size_t c : cols) names.push_back(data.columns[c]);

  httplib::Client http(origin);
  http.set_connection_timeout(10);
  http.set_read_timeout(60);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);  // no Nagle delay (~40 ms) on the kept-alive connection
  httplib::Headers headers;
  // The control plane's token goes to the control plane only.
  if (!base.empty() && (origin == base || endpoint.rfind(base + "/", 0) == 0))
    headers.emplace("Authorization", "Bearer " + ctx.token);
  std::vector<double> latencies;
  int64_t predictions = 0;
  Log(ctx, "sending " + std::to_string(n) + " rows to " + endpoint);
  for (size_t i = 0; i < n; ++i) {
    RETURN_IF_ERROR(CheckCancelled(ctx));
    nlohmann::json body = {
        {"dataframe_split", {{"columns", names}, {"data", {RowJson(data.rows[i], cols)}}}}};
    auto t0 = std::chrono::steady_clock::now();
    auto res = http.Post(path, headers, body.dump(), "application/json");
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!res)
      return Status(ErrorCode::kTemporarilyUnavailable,
                    "POST " + endpoint + ": no answer (" + httplib::to_string(res.error()) + ")");
    if (res->status < 200 || res->status >= 300) {
      std::string hint;
      auto err = nlohmann::json::parse(res->body, nullptr, false);
      if (err.is_object() && err.contains("message")) hint = ": " + err["message"].dump();
      return InvalidArgument("POST " + endpoint + " (row " + std::to_string(i + 1) +
                             ") answered HTTP " + std::to_string(res->status) + hint);
    }
    auto reply = nlohmann::json::parse(res->body, nullptr, false);
    if (!reply.is_object() || !reply.contains("predictions") || !reply["predictions"].is_array())
      return InvalidArgument("POST " + endpoint + ": the answer has no \"predictions\" list");
    if (reply["predictions"].size() != 1)
      return InvalidArgument("POST " + endpoint + ": 1 row sent, " +
                             std::to_string(reply["predictions"].size()) + " predictions returned");
    ++predictions;
    latencies.push_back(ms);
  }
  double sum = 0;
  for (double l : latencies) sum += l;
  double p99 = Percentile(latencies, 0.99);
  nlohmann::json out = {{"endpoint", endpoint},
                        {"rows", static_cast<int64_t>(n)},
                        {"predictions", predictions},
                        {"latency_ms",
                         {{"mean", sum / static_cast<double>(latencies.size())},
                          {"p50", Percentile(latencies, 0.5)},
                          {"p95", Percentile(latencies, 0.95)},
                          {"p99", p99},
                          {"max", *std::max_element(latencies.begin(), latencies.end())}}},
                        {"model_name", model},
                        {"version", version}};
  Log(ctx, "latency ms: " + out["latency_ms"].dump());
  if (max_latency_ms > 0 && p99 > static_cast<double>(max_latency_ms))
    return InvalidArgument("p99 latency " + std::to_string(p99) + " ms is above max_latency_ms " +
                           std::to_string(max_latency_ms) + " (" + endpoint + ")");
  return out;
}

}  // namespace studio::pipelines::stages::internal
