// model-monitoring: drift of the current features against the feature table's reference
// profile → a drift report artifact (JSON + HTML). On dataset drift: each monitor of the
// registered model is run now through the monitors API (its alarm rules fire as they do for
// scheduled checks), and with fail_on_drift: true the stage fails.
#include "common/time_util.h"
#include "monitoring/csv/csv_reader.h"
#include "monitoring/drift.h"
#include "monitoring/report/drift_report.h"
#include "pipelines/stages/internal/control_plane.h"
#include "pipelines/stages/internal/stage_bodies.h"
#include "pipelines/stages/internal/util.h"

namespace studio::pipelines::stages::internal {
namespace {

// Runs every monitor whose target is `model` (any version) in `project`; the alarm states each
// check left. Failures are reported in the outputs, never hidden.
nlohmann::json TriggerMonitors(const StageContext& ctx, const std::string& model) {
  nlohmann::json out = {{"model", model}, {"monitors", nlohmann::json::array()}};
  auto cp = ControlPlane::Connect(ctx);
  if (!cp.ok()) {
    out["error"] = cp.status().message();
    return out;
  }
  std::string token;
  std::vector<nlohmann::json> monitors;
  for (int page = 0; page < 50; ++page) {
    std::string path = "/api/v1/monitors?max_results=100&project=" + UrlEncode(ctx.project);
    if (!token.empty()) path += "&page_token=" + UrlEncode(token);
    auto list = (*cp)->Get(path);
    if (!list.ok()) {
      out["error"] = list.status().message();
      return out;
    }
    for (const auto& m : list->value("items", nlohmann::json::array()))
      if (m.is_object() && m.contains("target") && m["target"].is_object() &&
          m["target"].value("model", "") == model)
        monitors.push_back(m);
    token = list->value("next_page_token", "");
    if (token.empty()) break;
  }
  for (const auto& m : monitors) {
    std::string id = m.value("id", "");
    nlohmann::json item = {{"id", id}, {"name", m.value("name", "")}};
    auto run =
        (*cp)->Send("POST", "/api/v1/monitors/" + UrlEncode(id) + "/run", nlohmann::json::object());
    if (!run.ok()) {
      item["error"] = run.status().message();
    } else {
      item["report_id"] = run->value("id", "");
      item["status"] = run->value("status", "");
      item["dataset_drift"] = run->value("dataset_drift", false);
      nlohmann::json alarms = nlohmann::json::array();
      for (const auto& a : run->value("alarms", nlohmann::json::array()))
        alarms.push_back({{"rule_id", a.value("rule_id", "")},
                          {"kind", a.value("kind", "")},
                          {"state", a.value("state", "")}});
      item["alarms"] = alarms;
    }
    out["monitors"].push_back(item);
  }
  if (monitors.empty())
    out["note"] = "no monitor in project " + ctx.project + " targets model " + model;
  return out;
}

}  // namespace

Result<nlohmann::json> RunModelMonitoring(const StageContext& ctx) {
  ASSIGN_OR_RETURN(const nlohmann::json* fs, UpstreamOf(ctx, "feature-store"));
  ASSIGN_OR_RETURN(std::string profile_path, OutputString(*fs, "feature-store", "profile_path"));
  if (!fs->contains("current") || !(*fs)["current"].is_object())
    return InvalidArgument("the outputs of the 'feature-store' stage have no 'current'");
  ASSIGN_OR_RETURN(std::string cur_path, OutputString((*fs)["current"], "feature-store", "path"));
  ASSIGN_OR_RETURN(std::string method_name, StringParam(ctx, "method", "auto"));
  ASSIGN_OR_RETURN(double drift_share, NumberParam(ctx, "drift_share", 0.5));
  ASSIGN_OR_RETURN(bool fail_on_drift, BoolParam(ctx, "fail_on_drift", false));
  auto method = monitoring::ParseMethod(method_name);
  if (!method) return InvalidArgument("unknown drift method '" + method_name + "'");
  monitoring::DriftOptions opts;
  opts.method = *method;
  opts.drift_share = drift_share;
  if (ctx.stage.with.contains("drift_threshold")) {
    ASSIGN_OR_RETURN(double t, NumberParam(ctx, "drift_threshold", 0));
    opts.threshold = t;
  }

  ASSIGN_OR_RETURN(std::string profile_text,
                   GetText(*ctx.artifacts, profile_path, kMaxDatasetBytes));
  ASSIGN_OR_RETURN(auto profile, monitoring::ReferenceProfile::FromJson(profile_text));
  ASSIGN_OR_RETURN(std::string cur_text, GetText(*ctx.artifacts, cur_path, kMaxDatasetBytes));
  monitoring::CsvReadOptions read;
  for (const auto& c : profile.columns) read.kinds[c.name] = c.kind;
  ASSIGN_OR_RETURN(monitoring::Dataset current, monitoring::ParseCsv(cur_text, cur_path, read));
  ASSIGN_OR_RETURN(monitoring::DriftReport report,
                   monitoring::ComputeDrift(profile, current, opts));

  ASSIGN_OR_RETURN(std::string prefix, StagePrefix(ctx));
  auto report_json = nlohmann::json::parse(monitoring::ReportToJson(report, false));
  report_json["reference_rows"] = profile.rows;
  report_json["current_rows"] = current.rows;
  report_json["reference_profile"] = profile_path;
  report_json["current"] = cur_path;
  ASSIGN_OR_RETURN(auto json_put,
                   PutText(*ctx.artifacts, prefix + "drift_report.json", report_json.dump(2)));
  monitoring::HtmlReportOptions html;
  html.title = "Data drift: " + ctx.pipeline + " run " + ctx.run_id;
  html.reference_name = profile_path;
  html.current_name = cur_path;
  html.generated_at = FormatRfc3339(NowMillis());
  ASSIGN_OR_RETURN(auto html_put, PutText(*ctx.artifacts, prefix + "drift_report.html",
                                          monitoring::RenderDriftHtml(report, html)));

  nlohmann::json features = nlohmann::json::array();
  for (const auto& f : report.features) {
    nlohmann::json item = {{"column", f.column},
                           {"method", std::string(monitoring::MethodName(f.method))},
                           {"score", f.score},
                           {"threshold", f.threshold},
                           {"drift", f.drift}};
    if (!f.error.empty()) item["error"] = f.error;
    features.push_back(item);
  }
  nlohmann::json out = {{"dataset_drift", report.dataset_drift},
                        {"share", report.share},
                        {"drift_share", report.drift_share},
                        {"drifted", report.drifted},
                        {"evaluated", report.evaluated},
                        {"features", features},
                        {"report_path", prefix + "drift_report.json"},
                        {"report_sha256", json_put.sha256},
                        {"html_report_path", prefix + "drift_report.html"},
                        {"html_report_sha256", html_put.sha256},
                        {"reference_profile", profile_path},
                        {"current", cur_path}};
  Log(ctx, "drift: " + std::to_string(report.drifted) + " of " + std::to_string(report.evaluated) +
               " features drifted (share " + std::to_string(report.share) + ", dataset drift " +
               (report.dataset_drift ? "yes" : "no") + ")");

  if (report.dataset_drift) {
    // The model comes from the run's model-registry stage, when it has one.
    std::string model;
    if (auto reg = UpstreamOf(ctx, "model-registry"); reg.ok())
      model = (*reg)->value("model_name", "");
    if (model.empty()) {
      out["alarm"] = {{"error", "no model-registry stage in this run: no monitor to run"}};
    } else if (ctx.server.empty()) {
      out["alarm"] = {{"model", model}, {"error", "no control plane URL: monitors not run"}};
    } else {
      out["alarm"] = TriggerMonitors(ctx, model);
    }
    Log(ctx, "alarm: " + out["alarm"].dump());
    if (fail_on_drift)
      return Status(ErrorCode::kInvalidParameterValue,
                    "data drift detected: " + std::to_string(report.drifted) + " of " +
                        std::to_string(report.evaluated) + " features drifted (share " +
                        std::to_string(report.share) + " >= " + std::to_string(drift_share) +
                        "); report at " + prefix + "drift_report.html (fail_on_drift: true)");
  }
  return out;
}

}  // namespace studio::pipelines::stages::internal
