#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studio::monitors {

// CloudWatch's alarm states.
enum class AlarmState { kOk, kAlarm, kInsufficientData };
std::string_view AlarmStateName(AlarmState s);  // "OK", "ALARM", "INSUFFICIENT_DATA"
std::optional<AlarmState> ParseAlarmState(std::string_view name);

// What a rule watches. The seed's defaults, one per kind, are created with every monitor.
// kPerformance (concept drift) is created only with monitors that have a `performance` config.
enum class RuleKind { kDriftShare, kLatencyP99, kErrorRate, kTaskFailure, kPerformance };
// drift_share, latency_p99, error_rate, task_failure, performance
std::string_view RuleKindName(RuleKind k);
std::optional<RuleKind> ParseRuleKind(std::string_view name);
const std::vector<RuleKind>& AllRuleKinds();

struct DefaultRule {
  RuleKind kind;
  double threshold;
  const char* name;
};
// drift on > 10% of features, p99 latency > 100 ms, error rate > 1%, task failure.
const std::vector<DefaultRule>& DefaultRules();
// "performance degradation": the worst relative metric degradation above `degradation`.
DefaultRule PerformanceRule(double degradation);

// What one monitor check observed; unset = not measured.
struct Observation {
  bool run_failed = false;
  std::string run_error;
  std::optional<double> drift_share;    // drifted / evaluated features
  std::optional<double> latency_p99_s;  // from the serving endpoint's histogram
  std::optional<double> error_rate;     // 5xx / all requests
  std::string metrics_error;            // why latency/error rate are missing
  // Concept drift: the worst relative worsening of a model-quality metric against its baseline
  // (0.15 = 15% worse); unset when not judged (no config, too few labels), with the reason.
  std::optional<double> performance_degradation;
  std::string performance_reason;
};

struct Evaluation {
  AlarmState state = AlarmState::kInsufficientData;
  double value = 0;
  std::string reason;
};

// One rule against one observation: ALARM when the value is strictly above the threshold
// (task_failure: when the check failed), OK when not, INSUFFICIENT_DATA when unmeasured.
Evaluation Evaluate(RuleKind kind, double threshold, const Observation& obs);

}  // namespace studio::monitors
