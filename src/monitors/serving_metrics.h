#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace studio::monitors {

// What the latency and error-rate rules read from a `studio serve-model` /metrics page.
struct ServingStats {
  int64_t requests = 0;  // prediction requests (route label other than "other")
  int64_t errors = 0;    // of those, answered 5xx
  std::optional<double> p99_seconds;
  std::optional<double> error_rate;  // errors / requests; unset without requests
};

// Parses the Prometheus text format: studio_serving_requests_total{route,code} and the
// studio_serving_request_duration_seconds histogram, summed over prediction routes. p99 is
// interpolated within its bucket like PromQL's histogram_quantile. Values are cumulative since
// the serving process started.
Result<ServingStats> ParseServingMetrics(std::string_view text);

}  // namespace studio::monitors
