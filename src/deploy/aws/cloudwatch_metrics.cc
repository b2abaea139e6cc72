#include "deploy/aws/cloudwatch_metrics.h"

#include <cstdlib>
#include <map>
#include <vector>

#include "common/time_util.h"
#include "deploy/aws/internal/api_util.h"
#include "integrations/aws/xml.h"

namespace studio::deploy::aws {
namespace {

namespace sa = studio::aws;

constexpr std::string_view kVersion = "2010-08-01";

// 2026-11-26T13:00:00Z (whole seconds: what botocore also sends for such a time).
std::string IsoSeconds(int64_t epoch_s) {
  std::string s = FormatRfc3339(epoch_s * 1000);
  if (s.ends_with(".000Z")) s.replace(s.size() - 5, 5, "Z");
  return s;
}

ojson Query(const std::string& id, const std::string& metric, const std::string& stat,
            const std::string& tg, const std::string& lb, int64_t period) {
  return {
      {"Id", id},
      {"MetricStat",
       {{"Metric",
         {{"Namespace", "AWS/ApplicationELB"},
          {"MetricName", metric},
          {"Dimensions",
           {{{"Name", "TargetGroup"}, {"Value", tg}}, {{"Name", "LoadBalancer"}, {"Value", lb}}}}}},
        {"Period", period},
        {"Stat", stat}}},
      {"ReturnData", true}};
}

// The top-level <member> elements of `list` (members nest: a result holds <Timestamps> and
// <Values> lists of members of its own, in no fixed order relative to <Id>).
std::vector<std::string_view> TopLevelMembers(std::string_view list) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t begin = 0;
  for (size_t p = list.find('<'); p != std::string_view::npos; p = list.find('<', p + 1)) {
    if (list.substr(p, 8) == "<member>") {
      if (depth++ == 0) begin = p + 8;
    } else if (list.substr(p, 9) == "</member>") {
      if (depth == 0) break;  // malformed
      if (--depth == 0) out.push_back(list.substr(begin, p - begin));
    } else if (list.substr(p, 9) == "<member/>" && depth == 0) {
      out.emplace_back();
    }
  }
  return out;
}

// Query id → its values, from a GetMetricData response.
std::map<std::string, std::vector<double>> ResultValues(std::string_view doc) {
  std::map<std::string, std::vector<double>> out;
  auto lists = sa::xml::FindAll(doc, "MetricDataResults");
  if (lists.empty()) return out;
  for (std::string_view result : TopLevelMembers(lists.front())) {
    std::string id = sa::xml::FindText(result, "Id").value_or("");
    auto values = sa::xml::FindAll(result, "Values");
    std::vector<double>& dst = out[id];
    if (values.empty()) continue;
    for (std::string_view v : sa::xml::FindAll(values.front(), "member")) {
      std::string text(v);
      char* stop = nullptr;
      double d = std::strtod(text.c_str(), &stop);
      if (stop != text.c_str()) dst.push_back(d);
    }
  }
  return out;
}

double Sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double Max(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, x);
  return m;
}

}  // namespace

Result<std::string> TargetGroupDimension(const std::string& arn) {
  size_t p = arn.find(":targetgroup/");
  if (!arn.starts_with("arn:") || p == std::string::npos) {
    return InvalidArgument("not a target group ARN: " + arn);
  }
  return arn.substr(p + 1);
}

Result<std::string> LoadBalancerDimension(const std::string& arn) {
  for (std::string_view kind : {":listener/", ":listener-rule/", ":loadbalancer/"}) {
    size_t p = arn.find(kind);
    if (p == std::string::npos) continue;
    // app/NAME/ID: the first three segments after the resource type.
    size_t start = p + kind.size();
    size_t s1 = arn.find('/', start);
    size_t s2 = s1 == std::string::npos ? s1 : arn.find('/', s1 + 1);
    if (s2 == std::string::npos) break;
    size_t s3 = arn.find('/', s2 + 1);
    return arn.substr(start, (s3 == std::string::npos ? arn.size() : s3) - start);
  }
  return InvalidArgument("not a listener, listener rule or load balancer ARN: " + arn);
}

Result<std::unique_ptr<CloudWatchApi>> CloudWatchApi::Create(const ApiOptions& options) {
  ASSIGN_OR_RETURN(auto c,
                   MakeAwsClient(options, "monitoring", options.monitoring_endpoint, "monitoring"));
  return std::unique_ptr<CloudWatchApi>(new CloudWatchApi(std::move(c)));
}

Result<std::string> CloudWatchApi::Call(std::string_view action, const ojson& input) {
  return QueryCall(*client_, kVersion, "CloudWatch", action, input);
}

Result<SlotMetrics> CloudWatchApi::TargetGroupMetrics(const std::string& target_group_arn,
                                                      const std::string& listener_arn,
                                                      int64_t start_epoch_s, int64_t end_epoch_s) {
  ASSIGN_OR_RETURN(std::string tg, TargetGroupDimension(target_group_arn));
  ASSIGN_OR_RETURN(std::string lb, LoadBalancerDimension(listener_arn));
  // One period over the whole window, in whole minutes (standard-resolution metrics).
  const int64_t start = start_epoch_s / 60 * 60;
  const int64_t end = std::max<int64_t>((end_epoch_s + 59) / 60 * 60, start + 60);
  const int64_t period = end - start;
  ojson in = {
      {"MetricDataQueries",
       {Query("requests", "RequestCount", "Sum", tg, lb, period),
        Query("errors5xx", "HTTPCode_Target_5XX_Count", "Sum", tg, lb, period),
        Query("connerrors", "TargetConnectionErrorCount", "Sum", tg, lb, period),
        Query("p50", "TargetResponseTime", "p50", tg, lb, period),
        Query("p99", "TargetResponseTime", "p99", tg, lb, period)}},
      {"StartTime", IsoSeconds(start)},
      {"EndTime", IsoSeconds(end)},
      {"ScanBy", "TimestampAscending"},
  };
  ASSIGN_OR_RETURN(std::string xml, Call("GetMetricData", in));
  std::map<std::string, std::vector<double>> v = ResultValues(xml);
  SlotMetrics m;
  m.requests = static_cast<int64_t>(Sum(v["requests"]));
  m.errors = static_cast<int64_t>(Sum(v["errors5xx"]) + Sum(v["connerrors"]));
  m.p50_ms = Max(v["p50"]) * 1000.0;
  m.p99_ms = Max(v["p99"]) * 1000.0;
  return m;
}

}  // namespace studio::deploy::aws
