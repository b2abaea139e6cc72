#include "monitors/alarm.h"

#include <cstdio>

namespace studio::monitors {

std::string_view AlarmStateName(AlarmState s) {
  switch (s) {
    case AlarmState::kOk:
      return "OK";
    case AlarmState::kAlarm:
      return "ALARM";
    case AlarmState::kInsufficientData:
      return "INSUFFICIENT_DATA";
  }
  return "";
}

std::optional<AlarmState> ParseAlarmState(std::string_view name) {
  for (AlarmState s : {AlarmState::kOk, AlarmState::kAlarm, AlarmState::kInsufficientData})
    if (AlarmStateName(s) == name) return s;
  return std::nullopt;
}

std::string_view RuleKindName(RuleKind k) {
  switch (k) {
    case RuleKind::kDriftShare:
      return "drift_share";
    case RuleKind::kLatencyP99:
      return "latency_p99";
    case RuleKind::kErrorRate:
      return "error_rate";
    case RuleKind::kTaskFailure:
      return "task_failure";
    case RuleKind::kPerformance:
      return "performance";
  }
  return "";
}

const std::vector<RuleKind>& AllRuleKinds() {
  static const std::vector<RuleKind> kAll = {RuleKind::kDriftShare, RuleKind::kLatencyP99,
                                             RuleKind::kErrorRate, RuleKind::kTaskFailure,
                                             RuleKind::kPerformance};
  return kAll;
}

std::optional<RuleKind> ParseRuleKind(std::string_view name) {
  for (RuleKind k : AllRuleKinds())
    if (RuleKindName(k) == name) return k;
  return std::nullopt;
}

const std::vector<DefaultRule>& DefaultRules() {
  static const std::vector<DefaultRule> kDefaults = {
      {RuleKind::kDriftShare, 0.10, "drift on more than 10% of features"},
      {RuleKind::kLatencyP99, 0.100, "p99 latency above 100 ms"},
      {RuleKind::kErrorRate, 0.01, "error rate above 1%"},
      {RuleKind::kTaskFailure, 0.0, "monitor check failed"},
  };
  return kDefaults;
}

DefaultRule PerformanceRule(double degradation) {
  return {RuleKind::kPerformance, degradation, "performance degradation"};
}

namespace {
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

Evaluation Compare(double value, double threshold, const std::string& what,
                   const std::string& unit) {
  Evaluation e;
  e.value = value;
  e.state = value > threshold ? AlarmState::kAlarm : AlarmState::kOk;
  e.reason =
      what + " " + Num(value) + unit + (value > threshold ? " > " : " <= ") + Num(threshold) + unit;
  return e;
}
}  // namespace

Evaluation Evaluate(RuleKind kind, double threshold, const Observation& obs) {
  Evaluation e;
  switch (kind) {
    case RuleKind::kTaskFailure:
      e.value = obs.run_failed ? 1 : 0;
      e.state = obs.run_failed ? AlarmState::kAlarm : AlarmState::kOk;
      e.reason = obs.run_failed ? "check failed: " + obs.run_error : "check succeeded";
      return e;
    case RuleKind::kDriftShare:
      if (!obs.drift_share) {
        e.reason = obs.run_failed ? "no drift result: " + obs.run_error : "no features evaluated";
        return e;
      }
      return Compare(*obs.drift_share, threshold, "share of drifted features", "");
    case RuleKind::kLatencyP99:
      if (!obs.latency_p99_s) {
        e.reason = obs.metrics_error.empty() ? "no latency data" : obs.metrics_error;
        return e;
      }
      return Compare(*obs.latency_p99_s, threshold, "p99 latency", " s");
    case RuleKind::kErrorRate:
      if (!obs.error_rate) {
        e.reason = obs.metrics_error.empty() ? "no request data" : obs.metrics_error;
        return e;
      }
      return Compare(*obs.error_rate, threshold, "error rate", "");
    case RuleKind::kPerformance:
      if (!obs.performance_degradation) {
        e.reason = !obs.performance_reason.empty() ? obs.performance_reason
                   : obs.run_failed                ? "no performance result: " + obs.run_error
                                                   : "no performance data";
        return e;
      }
      return Compare(*obs.performance_degradation, threshold, "worst relative metric degradation",
                     "");
  }
  return e;
}

}  // namespace studio::monitors
