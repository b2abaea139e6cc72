// Concept drift (the third part of MonitorService): ground-truth labels posted for served
// predictions, joined to the prediction log by request id at each check.
#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "audit/audit_log.h"
#include "common/log.h"
#include "common/time_util.h"
#include "monitors/internal/data_sources.h"
#include "monitors/internal/performance_eval.h"
#include "monitors/monitor_service.h"

namespace studio::monitors {

namespace {

constexpr size_t kMaxLabelBatch = 1000;
constexpr size_t kMaxIdBytes = 256;
constexpr size_t kMaxLabelBytes = 256;
constexpr int kMaxLabelsRead = 1000000;

}  // namespace

Result<nlohmann::json> MonitorService::PostLabels(const Actor& actor, const std::string& id,
                                                  const nlohmann::json& body) {
  std::map<std::string, std::string> problems;
  const nlohmann::json* items = nullptr;
  if (!body.is_object()) {
    problems["labels"] = "the body must be an object {\"labels\": [...]}";
  } else {
    for (auto it = body.begin(); it != body.end(); ++it)
      if (it.key() != "labels") problems[it.key()] = "unknown field";
    auto it = body.find("labels");
    if (it == body.end() || !it->is_array() || it->empty())
      problems["labels"] = "required: a non-empty array of {request_id, label, ts?}";
    else if (it->size() > kMaxLabelBatch)
      problems["labels"] = "at most " + std::to_string(kMaxLabelBatch) + " labels per request";
    else
      items = &*it;
  }
  int64_t now = NowMillis();
  // Later entries for the same request id win, as a repeated post does.
  std::map<std::string, store::LabelRecord> labels;
  if (items) {
    for (size_t i = 0; i < items->size() && problems.size() < 20; ++i) {
      const auto& item = (*items)[i];
      std::string at = "labels[" + std::to_string(i) + "]";
      if (!item.is_object()) {
        problems[at] = "must be an object {request_id, label, ts?}";
        continue;
      }
      bool ok = true;
      for (auto f = item.begin(); f != item.end(); ++f)
        if (f.key() != "request_id" && f.key() != "label" && f.key() != "ts") {
          problems[at + "." + f.key()] = "unknown field";
          ok = false;
        }
      auto rid = item.find("request_id");
      if (rid == item.end() || !rid->is_string() || rid->get<std::string>().empty() ||
          rid->get<std::string>().size() > kMaxIdBytes) {
        problems[at + ".request_id"] =
            "required: a non-empty string of at most " + std::to_string(kMaxIdBytes) + " bytes";
        ok = false;
      }
      auto label = item.find("label");
      if (label == item.end() || !internal::ValueFromJson(*label) ||
          (label->is_string() && (label->get<std::string>().empty() ||
                                  label->get<std::string>().size() > kMaxLabelBytes))) {
        problems[at + ".label"] = "required: a finite number or a non-empty string of at most " +
                                  std::to_string(kMaxLabelBytes) + " bytes";
        ok = false;
      }
      int64_t ts = now;
      if (auto t = item.find("ts"); t != item.end() && !t->is_null()) {
        auto parsed = t->is_string() ? ParseRfc3339(t->get<std::string>())
                                     : Result<int64_t>(InvalidArgument("not a string"));
        if (!parsed.ok()) {
          problems[at + ".ts"] = "must be an RFC 3339 time";
          ok = false;
        } else {
          ts = *parsed;
        }
      }
      if (!ok) continue;
      store::LabelRecord l;
      l.monitor_id = id;
      l.request_id = rid->get<std::string>();
      l.label_json = label->dump();
      l.ts = ts;
      l.created_by = actor.username;
      l.updated_at = now;
      labels[l.request_id] = std::move(l);
    }
  }
  if (!problems.empty()) {
    std::string msg = "invalid labels: ";
    bool first = true;
    for (const auto& [f, p] : problems) {
      msg += (first ? "" : "; ") + f + ": " + p;
      first = false;
    }
    Status st = InvalidArgument(msg);
    for (const auto& [f, p] : problems) st.WithDetail(f, p);
    return st;
  }
  RETURN_IF_ERROR(options_.store->Write([&](store::Tx& tx) -> Status {
    store::Monitors monitors(tx);
    RETURN_IF_ERROR(monitors.Get(id).status());
    for (const auto& [_, l] : labels) RETURN_IF_ERROR(monitors.UpsertLabel(l));
    // One event per batch: labels arrive in bulk, the audit log should not grow per label.
    return audit::Append(tx, {actor.username, "monitor.labels", "monitor", id, actor.request_id,
                              nlohmann::json{{"received", items->size()},
                                             {"stored", labels.size()},
                                             {"first_request_id", labels.begin()->first}}
                                  .dump()});
  }));
  return nlohmann::json{{"monitor_id", id},
                        {"received", items->size()},
                        {"stored", static_cast<int64_t>(labels.size())}};
}

internal::PerformanceResult MonitorService::CheckPerformance(const store::MonitorRecord& m,
                                                             const nlohmann::json& config) {
  auto cfg = internal::PerformanceConfigFromJson(config);
  internal::PerformanceResult res;
  auto fail = [&](const std::string& why) {
    res.reason = why;
    res.report = {{"task", cfg.task}, {"joined_rows", 0}, {"error", why}, {"reason", why}};
    return res;
  };
  if (m.current_kind != "prediction_log")
    return fail("labels are joined to the prediction log: current.kind must be prediction_log");
  internal::LogFilter filter;
  filter.model = m.model_name;
  filter.version = m.model_version;
  auto preds = internal::LoadPredictionRows(*options_.artifacts, m.current_path, filter);
  if (!preds.ok()) return fail(preds.status().message());
  std::vector<store::LabelRecord> labels;
  Status st = options_.store->Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(labels, store::Monitors(tx).Labels(m.id, kMaxLabelsRead));
    return Status::Ok();
  });
  if (!st.ok()) return fail(st.message());
  std::unordered_map<std::string, internal::Value> by_id;
  for (const auto& l : labels) {
    auto v = internal::ValueFromJson(nlohmann::json::parse(l.label_json, nullptr, false));
    if (v) by_id.emplace(l.request_id, std::move(*v));
  }
  std::vector<internal::JoinedRow> rows;
  for (const auto& p : *preds) {
    auto it = by_id.find(p.key);
    if (it == by_id.end()) continue;
    auto v = internal::ValueFromJson(p.prediction);
    if (!v) continue;
    rows.push_back({p.ts_ms, p.key, it->second, std::move(*v)});
  }
  res = internal::EvaluatePerformance(cfg, std::move(rows));
  res.report["labels"] = static_cast<int64_t>(labels.size());
  res.report["predictions_read"] = static_cast<int64_t>(preds->size());
  return res;
}

Status MonitorService::ReferenceBaseline(store::MonitorRecord& m,
                                         const monitoring::Dataset& reference) {
  auto opts = nlohmann::json::parse(m.options_json, nullptr, false);
  if (!opts.is_object() || !opts.contains("performance") || !opts["performance"].is_object())
    return Status::Ok();
  auto& perf = opts["performance"];
  auto cfg = internal::PerformanceConfigFromJson(perf);
  perf.erase("reference_baseline");
  auto computed = internal::ReferenceBaseline(cfg, reference);
  if (computed.ok()) {
    perf["reference_baseline"] = *computed;
  } else if (cfg.baseline.empty()) {
    // Nothing to compare with: say so now rather than at every check.
    return InvalidArgument("performance: " + computed.status().message())
        .WithDetail("performance.baseline", computed.status().message());
  }
  m.options_json = opts.dump();
  return Status::Ok();
}

}  // namespace studio::monitors
