#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "monitoring/drift.h"
#include "store/monitors_repo.h"

namespace studio::monitors::internal {

// A monitor create/update body, validated; unset fields were not given.
struct MonitorSpec {
  std::optional<std::string> project, name, description;
  bool target_given = false;
  std::string model, version, deployment_id;
  std::optional<std::string> reference_path;
  std::optional<std::string> current_kind, current_path;
  std::optional<std::string> metrics_url, schedule;
  nlohmann::json options = nlohmann::json::object();  // only the option keys given
};

// Every problem at once, as INVALID_PARAMETER_VALUE with details (field path → problem).
Result<MonitorSpec> ParseMonitorBody(const nlohmann::json& body, bool create);
// The stored options object → the statistics library's options.
Result<monitoring::DriftOptions> DriftOptionsFromJson(const nlohmann::json& options);

nlohmann::json MonitorToJson(const store::MonitorRecord& m);
nlohmann::json ReportToJson(const store::DriftReportRecord& r, bool full);
nlohmann::json RuleToJson(const store::AlarmRuleRecord& r);
nlohmann::json AlertToJson(const store::AlertRecord& a);
nlohmann::json TimeOrNull(int64_t ms);

}  // namespace studio::monitors::internal
