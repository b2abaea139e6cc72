#include "store/monitors_repo.h"

#include <soci/soci.h>

#include "store/internal/dialect.h"

namespace studio::store {
namespace {

constexpr const char* kMonitorColumns =
    "id, project_id, name, description, model_name, model_version, deployment_id, "
    "reference_path, reference_sha256, reference_rows, profile, current_kind, current_path, "
    "metrics_url, schedule, interval_seconds, options, next_run_at, last_run_at, last_status, "
    "created_by, created_at, updated_at";

struct MonitorRow {
  MonitorRecord r;
  long long ref_rows = 0, interval = 0, next = 0, last = 0, created = 0, updated = 0;
  void Bind(soci::statement& st) {
    st.exchange(soci::into(r.id));
    st.exchange(soci::into(r.project_id));
    st.exchange(soci::into(r.name));
    st.exchange(soci::into(r.description));
    st.exchange(soci::into(r.model_name));
    st.exchange(soci::into(r.model_version));
    st.exchange(soci::into(r.deployment_id));
    st.exchange(soci::into(r.reference_path));
    st.exchange(soci::into(r.reference_sha256));
    st.exchange(soci::into(ref_rows));
    st.exchange(soci::into(r.profile_json));
    st.exchange(soci::into(r.current_kind));
    st.exchange(soci::into(r.current_path));
    st.exchange(soci::into(r.metrics_url));
    st.exchange(soci::into(r.schedule));
    st.exchange(soci::into(interval));
    st.exchange(soci::into(r.options_json));
    st.exchange(soci::into(next));
    st.exchange(soci::into(last));
    st.exchange(soci::into(r.last_status));
    st.exchange(soci::into(r.created_by));
    st.exchange(soci::into(created));
    st.exchange(soci::into(updated));
  }
  MonitorRecord Get() const {
    MonitorRecord out = r;
    out.reference_rows = ref_rows;
    out.interval_seconds = interval;
    out.next_run_at = next;
    out.last_run_at = last;
    out.created_at = created;
    out.updated_at = updated;
    return out;
  }
};

constexpr const char* kReportColumns =
    "id, monitor_id, status, trigger_kind, dataset_drift, drift_share, drifted_features, "
    "total_features, current_rows, error, created_by, created_at";

struct ReportRow {
  DriftReportRecord r;
  int drift = 0;
  long long drifted = 0, total = 0, rows = 0, created = 0;
  void Bind(soci::statement& st) {
    st.exchange(soci::into(r.id));
    st.exchange(soci::into(r.monitor_id));
    st.exchange(soci::into(r.status));
    st.exchange(soci::into(r.trigger_kind));
    st.exchange(soci::into(drift));
    st.exchange(soci::into(r.drift_share));
    st.exchange(soci::into(drifted));
    st.exchange(soci::into(total));
    st.exchange(soci::into(rows));
    st.exchange(soci::into(r.error));
    st.exchange(soci::into(r.created_by));
    st.exchange(soci::into(created));
  }
  DriftReportRecord Get() const {
    DriftReportRecord out = r;
    out.dataset_drift = drift != 0;
    out.drifted_features = drifted;
    out.total_features = total;
    out.current_rows = rows;
    out.created_at = created;
    return out;
  }
};

constexpr const char* kRuleColumns =
    "id, project_id, monitor_id, name, kind, threshold, enabled, webhook_url, webhook_secret, "
    "state, state_value, state_reason, state_changed_at, acknowledged_by, acknowledged_at, "
    "created_by, created_at, updated_at";

struct RuleRow {
  AlarmRuleRecord r;
  int enabled = 1;
  long long changed = 0, acked = 0, created = 0, updated = 0;
  void Bind(soci::statement& st) {
    st.exchange(soci::into(r.id));
    st.exchange(soci::into(r.project_id));
    st.exchange(soci::into(r.monitor_id));
    st.exchange(soci::into(r.name));
    st.exchange(soci::into(r.kind));
    st.exchange(soci::into(r.threshold));
    st.exchange(soci::into(enabled));
    st.exchange(soci::into(r.webhook_url));
    st.exchange(soci::into(r.webhook_secret_sealed));
    st.exchange(soci::into(r.state));
    st.exchange(soci::into(r.state_value));
    st.exchange(soci::into(r.state_reason));
    st.exchange(soci::into(changed));
    st.exchange(soci::into(r.acknowledged_by));
    st.exchange(soci::into(acked));
    st.exchange(soci::into(r.created_by));
    st.exchange(soci::into(created));
    st.exchange(soci::into(updated));
  }
  AlarmRuleRecord Get() const {
    AlarmRuleRecord out = r;
    out.enabled = enabled != 0;
    out.state_changed_at = changed;
    out.acknowledged_at = acked;
    out.created_at = created;
    out.updated_at = updated;
    return out;
  }
};

// Runs `sql` with named string/integer parameters and collects one row per fetch.
template <typename Row, typename Out>
std::vector<Out> Query(Tx& tx, const std::string& sql,
                       const std::vector<std::pair<std::string, const std::string*>>& strings,
                       const std::vector<std::pair<std::string, const long long*>>& ints) {
  Row row;
  soci::statement st(tx.session());
  st.alloc();
  for (const auto& [name, v] : strings) st.exchange(soci::use(*v, name));
  for (const auto& [name, v] : ints) st.exchange(soci::use(*v, name));
  row.Bind(st);
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<Out> out;
  while (st.fetch()) out.push_back(row.Get());
  return out;
}

}  // namespace

// -- monitors ----------------------------------------------------------------------------------

Status Monitors::Insert(const MonitorRecord& m) {
  long long ref_rows = m.reference_rows, interval = m.interval_seconds, next = m.next_run_at,
            created = m.created_at, updated = m.updated_at;
  try {
    tx_.session() << "INSERT INTO monitors (id, project_id, name, description, model_name, "
                     "model_version, deployment_id, reference_path, reference_sha256, "
                     "reference_rows, profile, current_kind, current_path, metrics_url, schedule, "
                     "interval_seconds, options, next_run_at, last_run_at, last_status, "
                     "created_by, created_at, updated_at) VALUES (:id, :p, :n, :d, :mn, :mv, "
                     ":dep, :rp, :rs, :rr, :prof, :ck, :cp, :mu, :sch, :iv, :opt, :next, 0, '', "
                     ":by, :c, :u)",
        soci::use(m.id), soci::use(m.project_id), soci::use(m.name), soci::use(m.description),
        soci::use(m.model_name), soci::use(m.model_version), soci::use(m.deployment_id),
        soci::use(m.reference_path), soci::use(m.reference_sha256), soci::use(ref_rows),
        soci::use(m.profile_json), soci::use(m.current_kind), soci::use(m.current_path),
        soci::use(m.metrics_url), soci::use(m.schedule), soci::use(interval),
        soci::use(m.options_json), soci::use(next), soci::use(m.created_by), soci::use(created),
        soci::use(updated);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kAlreadyExists,
                    "monitor '" + m.name + "' already exists in this project");
    throw;
  }
  return Status::Ok();
}

Result<MonitorRecord> Monitors::Get(const std::string& id) {
  auto rows = Query<MonitorRow, MonitorRecord>(
      tx_, std::string("SELECT ") + kMonitorColumns + " FROM monitors WHERE id = :id",
      {{"id", &id}}, {});
  if (rows.empty()) return NotFound("monitor '" + id + "' does not exist");
  return rows.front();
}

Status Monitors::Update(const MonitorRecord& m) {
  long long ref_rows = m.reference_rows, interval = m.interval_seconds, next = m.next_run_at,
            updated = m.updated_at;
  try {
    tx_.session() << "UPDATE monitors SET name = :n, description = :d, model_name = :mn, "
                     "model_version = :mv, deployment_id = :dep, reference_path = :rp, "
                     "reference_sha256 = :rs, reference_rows = :rr, profile = :prof, "
                     "current_kind = :ck, current_path = :cp, metrics_url = :mu, schedule = :sch, "
                     "interval_seconds = :iv, options = :opt, next_run_at = :next, "
                     "updated_at = :u WHERE id = :id",
        soci::use(m.name), soci::use(m.description), soci::use(m.model_name),
        soci::use(m.model_version), soci::use(m.deployment_id), soci::use(m.reference_path),
        soci::use(m.reference_sha256), soci::use(ref_rows), soci::use(m.profile_json),
        soci::use(m.current_kind), soci::use(m.current_path), soci::use(m.metrics_url),
        soci::use(m.schedule), soci::use(interval), soci::use(m.options_json), soci::use(next),
        soci::use(updated), soci::use(m.id);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kAlreadyExists,
                    "monitor '" + m.name + "' already exists in this project");
    throw;
  }
  return Status::Ok();
}

Status Monitors::Delete(const std::string& id) {
  auto& s = tx_.session();
  s << "DELETE FROM alerts WHERE rule_id IN (SELECT id FROM alarm_rules WHERE monitor_id = :id)",
      soci::use(id);
  s << "DELETE FROM alerts WHERE monitor_id = :id", soci::use(id);
  s << "DELETE FROM alarm_rules WHERE monitor_id = :id", soci::use(id);
  s << "DELETE FROM drift_feature_scores WHERE monitor_id = :id", soci::use(id);
  s << "DELETE FROM monitor_labels WHERE monitor_id = :id", soci::use(id);
  s << "DELETE FROM drift_reports WHERE monitor_id = :id", soci::use(id);
  s << "DELETE FROM monitors WHERE id = :id", soci::use(id);
  return Status::Ok();
}

Result<std::vector<MonitorRecord>> Monitors::List(const std::string& project_id,
                                                  const std::string& after, int limit) {
  long long lim = limit;
  std::string sql = std::string("SELECT ") + kMonitorColumns + " FROM monitors WHERE id > :after";
  std::vector<std::pair<std::string, const std::string*>> strings = {{"after", &after}};
  if (!project_id.empty()) {
    sql += " AND project_id = :p";
    strings.push_back({"p", &project_id});
  }
  sql += " ORDER BY id LIMIT :lim";
  return Query<MonitorRow, MonitorRecord>(tx_, sql, strings, {{"lim", &lim}});
}

Result<std::vector<MonitorRecord>> Monitors::Due(int64_t now, int limit) {
  long long ts = now, lim = limit;
  return Query<MonitorRow, MonitorRecord>(
      tx_,
      std::string("SELECT ") + kMonitorColumns +
          " FROM monitors WHERE interval_seconds > 0 AND next_run_at <= :now ORDER BY "
          "next_run_at, id LIMIT :lim",
      {}, {{"now", &ts}, {"lim", &lim}});
}

Result<bool> Monitors::ClaimRun(const std::string& id, int64_t expected, int64_t next) {
  long long exp = expected, nxt = next;
  soci::statement st = (tx_.session().prepare << "UPDATE monitors SET next_run_at = :next WHERE "
                                                 "id = :id AND next_run_at = :exp",
                        soci::use(nxt), soci::use(id), soci::use(exp));
  st.execute(true);
  return st.get_affected_rows() == 1;
}

Status Monitors::MarkRun(const std::string& id, int64_t ran_at, const std::string& status) {
  long long ran = ran_at;
  tx_.session() << "UPDATE monitors SET last_run_at = :ran, last_status = :st WHERE id = :id",
      soci::use(ran), soci::use(status), soci::use(id);
  return Status::Ok();
}

// -- reports -----------------------------------------------------------------------------------

Status Monitors::InsertReport(const DriftReportRecord& r,
                              const std::vector<FeatureScoreRecord>& scores) {
  int drift = r.dataset_drift ? 1 : 0;
  long long drifted = r.drifted_features, total = r.total_features, rows = r.current_rows,
            created = r.created_at;
  auto& s = tx_.session();
  s << "INSERT INTO drift_reports (id, monitor_id, status, trigger_kind, dataset_drift, "
       "drift_share, drifted_features, total_features, current_rows, error, report, created_by, "
       "created_at) VALUES (:id, :m, :st, :tk, :dd, :ds, :df, :tf, :cr, :err, :rep, :by, :c)",
      soci::use(r.id), soci::use(r.monitor_id), soci::use(r.status), soci::use(r.trigger_kind),
      soci::use(drift), soci::use(r.drift_share), soci::use(drifted), soci::use(total),
      soci::use(rows), soci::use(r.error), soci::use(r.report_json), soci::use(r.created_by),
      soci::use(created);
  for (const auto& f : scores) {
    int flag = f.drifted ? 1 : 0;
    long long ts = f.created_at;
    s << "INSERT INTO drift_feature_scores (report_id, monitor_id, feature, method, score, "
         "threshold, drifted, created_at) VALUES (:r, :m, :f, :me, :s, :t, :d, :c)",
        soci::use(f.report_id), soci::use(f.monitor_id), soci::use(f.feature), soci::use(f.method),
        soci::use(f.score), soci::use(f.threshold), soci::use(flag), soci::use(ts);
  }
  return Status::Ok();
}

Result<DriftReportRecord> Monitors::GetReport(const std::string& monitor_id,
                                              const std::string& report_id) {
  auto rows = Query<ReportRow, DriftReportRecord>(
      tx_,
      std::string("SELECT ") + kReportColumns +
          " FROM drift_reports WHERE id = :id AND monitor_id = :m",
      {{"id", &report_id}, {"m", &monitor_id}}, {});
  if (rows.empty()) return NotFound("drift report '" + report_id + "' does not exist");
  DriftReportRecord r = rows.front();
  tx_.session() << "SELECT report FROM drift_reports WHERE id = :id", soci::use(report_id),
      soci::into(r.report_json);
  return r;
}

Result<std::vector<DriftReportRecord>> Monitors::ListReports(const std::string& monitor_id,
                                                             const std::string& before, int limit) {
  long long lim = limit;
  std::string sql =
      std::string("SELECT ") + kReportColumns + " FROM drift_reports WHERE monitor_id = :m";
  std::vector<std::pair<std::string, const std::string*>> strings = {{"m", &monitor_id}};
  if (!before.empty()) {
    sql += " AND id < :before";
    strings.push_back({"before", &before});
  }
  sql += " ORDER BY id DESC LIMIT :lim";
  return Query<ReportRow, DriftReportRecord>(tx_, sql, strings, {{"lim", &lim}});
}

Result<DriftReportRecord> Monitors::LatestReport(const std::string& monitor_id) {
  ASSIGN_OR_RETURN(auto list, ListReports(monitor_id, "", 1));
  if (list.empty()) return NotFound("monitor '" + monitor_id + "' has no reports");
  return GetReport(monitor_id, list.front().id);
}

namespace {
struct ScoreRow {
  FeatureScoreRecord r;
  int drifted = 0;
  long long created = 0;
  void Bind(soci::statement& st) {
    st.exchange(soci::into(r.report_id));
    st.exchange(soci::into(r.monitor_id));
    st.exchange(soci::into(r.feature));
    st.exchange(soci::into(r.method));
    st.exchange(soci::into(r.score));
    st.exchange(soci::into(r.threshold));
    st.exchange(soci::into(drifted));
    st.exchange(soci::into(created));
  }
  FeatureScoreRecord Get() const {
    FeatureScoreRecord out = r;
    out.drifted = drifted != 0;
    out.created_at = created;
    return out;
  }
};
}  // namespace

Result<std::vector<FeatureScoreRecord>> Monitors::Scores(const std::string& monitor_id,
                                                         const std::string& feature, int64_t since,
                                                         int limit) {
  long long ts = since, lim = limit;
  std::string sql =
      "SELECT report_id, monitor_id, feature, method, score, threshold, drifted, created_at FROM "
      "drift_feature_scores WHERE monitor_id = :m AND created_at >= :since";
  std::vector<std::pair<std::string, const std::string*>> strings = {{"m", &monitor_id}};
  if (!feature.empty()) {
    sql += " AND feature = :f";
    strings.push_back({"f", &feature});
  }
  sql += " ORDER BY created_at, report_id, feature LIMIT :lim";
  return Query<ScoreRow, FeatureScoreRecord>(tx_, sql, strings, {{"since", &ts}, {"lim", &lim}});
}

Status Monitors::UpsertLabel(const LabelRecord& l) {
  long long ts = l.ts, updated = l.updated_at;
  tx_.session() << "INSERT INTO monitor_labels (monitor_id, request_id, label, ts, created_by, "
                   "updated_at) VALUES (:m, :r, :l, :t, :by, :u) ON CONFLICT (monitor_id, "
                   "request_id) DO UPDATE SET label = excluded.label, ts = excluded.ts, "
                   "created_by = excluded.created_by, updated_at = excluded.updated_at",
      soci::use(l.monitor_id), soci::use(l.request_id), soci::use(l.label_json), soci::use(ts),
      soci::use(l.created_by), soci::use(updated);
  return Status::Ok();
}

Result<std::vector<LabelRecord>> Monitors::Labels(const std::string& monitor_id, int limit) {
  struct LabelRow {
    LabelRecord r;
    long long ts = 0, updated = 0;
    void Bind(soci::statement& st) {
      st.exchange(soci::into(r.monitor_id));
      st.exchange(soci::into(r.request_id));
      st.exchange(soci::into(r.label_json));
      st.exchange(soci::into(ts));
      st.exchange(soci::into(r.created_by));
      st.exchange(soci::into(updated));
    }
    LabelRecord Get() const {
      LabelRecord out = r;
      out.ts = ts;
      out.updated_at = updated;
      return out;
    }
  };
  long long lim = limit;
  return Query<LabelRow, LabelRecord>(
      tx_,
      "SELECT monitor_id, request_id, label, ts, created_by, updated_at FROM monitor_labels "
      "WHERE monitor_id = :m ORDER BY ts DESC, request_id LIMIT :lim",
      {{"m", &monitor_id}}, {{"lim", &lim}});
}

// -- alarm rules -------------------------------------------------------------------------------

Status AlarmRules::Insert(const AlarmRuleRecord& r) {
  int enabled = r.enabled ? 1 : 0;
  long long changed = r.state_changed_at, created = r.created_at, updated = r.updated_at;
  tx_.session() << "INSERT INTO alarm_rules (id, project_id, monitor_id, name, kind, threshold, "
                   "enabled, webhook_url, webhook_secret, state, state_value, state_reason, "
                   "state_changed_at, acknowledged_by, acknowledged_at, created_by, created_at, "
                   "updated_at) VALUES (:id, :p, :m, :n, :k, :t, :e, :wu, :ws, :st, :sv, :sr, "
                   ":sc, '', 0, :by, :c, :u)",
      soci::use(r.id), soci::use(r.project_id), soci::use(r.monitor_id), soci::use(r.name),
      soci::use(r.kind), soci::use(r.threshold), soci::use(enabled), soci::use(r.webhook_url),
      soci::use(r.webhook_secret_sealed), soci::use(r.state), soci::use(r.state_value),
      soci::use(r.state_reason), soci::use(changed), soci::use(r.created_by), soci::use(created),
      soci::use(updated);
  return Status::Ok();
}

Result<AlarmRuleRecord> AlarmRules::Get(const std::string& id) {
  auto rows = Query<RuleRow, AlarmRuleRecord>(
      tx_, std::string("SELECT ") + kRuleColumns + " FROM alarm_rules WHERE id = :id",
      {{"id", &id}}, {});
  if (rows.empty()) return NotFound("alarm rule '" + id + "' does not exist");
  return rows.front();
}

Status AlarmRules::Update(const AlarmRuleRecord& r) {
  int enabled = r.enabled ? 1 : 0;
  long long updated = r.updated_at;
  tx_.session() << "UPDATE alarm_rules SET name = :n, threshold = :t, enabled = :e, webhook_url "
                   "= :wu, webhook_secret = :ws, updated_at = :u WHERE id = :id",
      soci::use(r.name), soci::use(r.threshold), soci::use(enabled), soci::use(r.webhook_url),
      soci::use(r.webhook_secret_sealed), soci::use(updated), soci::use(r.id);
  return Status::Ok();
}

Status AlarmRules::UpdateState(const AlarmRuleRecord& r) {
  long long changed = r.state_changed_at, acked = r.acknowledged_at;
  tx_.session() << "UPDATE alarm_rules SET state = :st, state_value = :sv, state_reason = :sr, "
                   "state_changed_at = :sc, acknowledged_by = :ab, acknowledged_at = :aa WHERE "
                   "id = :id",
      soci::use(r.state), soci::use(r.state_value), soci::use(r.state_reason), soci::use(changed),
      soci::use(r.acknowledged_by), soci::use(acked), soci::use(r.id);
  return Status::Ok();
}

Status AlarmRules::Delete(const std::string& id) {
  auto& s = tx_.session();
  s << "DELETE FROM alerts WHERE rule_id = :id", soci::use(id);
  s << "DELETE FROM alarm_rules WHERE id = :id", soci::use(id);
  return Status::Ok();
}

Result<std::vector<AlarmRuleRecord>> AlarmRules::List(const std::string& project_id,
                                                      const std::string& monitor_id,
                                                      const std::string& after, int limit) {
  long long lim = limit;
  std::string sql = std::string("SELECT ") + kRuleColumns + " FROM alarm_rules WHERE id > :after";
  std::vector<std::pair<std::string, const std::string*>> strings = {{"after", &after}};
  if (!project_id.empty()) {
    sql += " AND project_id = :p";
    strings.push_back({"p", &project_id});
  }
  if (!monitor_id.empty()) {
    sql += " AND monitor_id = :m";
    strings.push_back({"m", &monitor_id});
  }
  sql += " ORDER BY id LIMIT :lim";
  return Query<RuleRow, AlarmRuleRecord>(tx_, sql, strings, {{"lim", &lim}});
}

Result<std::vector<AlarmRuleRecord>> AlarmRules::ForMonitor(const std::string& project_id,
                                                            const std::string& monitor_id) {
  return Query<RuleRow, AlarmRuleRecord>(
      tx_,
      std::string("SELECT ") + kRuleColumns +
          " FROM alarm_rules WHERE monitor_id = :m OR (monitor_id = '' AND project_id = :p) "
          "ORDER BY id",
      {{"m", &monitor_id}, {"p", &project_id}}, {});
}

Status AlarmRules::InsertAlert(const AlertRecord& a) {
  long long created = a.created_at;
  tx_.session() << "INSERT INTO alerts (id, rule_id, monitor_id, from_state, to_state, value, "
                   "reason, notification, created_at) VALUES (:id, :r, :m, :f, :t, :v, :re, :n, "
                   ":c)",
      soci::use(a.id), soci::use(a.rule_id), soci::use(a.monitor_id), soci::use(a.from_state),
      soci::use(a.to_state), soci::use(a.value), soci::use(a.reason), soci::use(a.notification),
      soci::use(created);
  return Status::Ok();
}

Status AlarmRules::SetAlertNotification(const std::string& alert_id,
                                        const std::string& notification) {
  tx_.session() << "UPDATE alerts SET notification = :n WHERE id = :id", soci::use(notification),
      soci::use(alert_id);
  return Status::Ok();
}

namespace {
struct AlertRow {
  AlertRecord r;
  long long created = 0;
  void Bind(soci::statement& st) {
    st.exchange(soci::into(r.id));
    st.exchange(soci::into(r.rule_id));
    st.exchange(soci::into(r.monitor_id));
    st.exchange(soci::into(r.from_state));
    st.exchange(soci::into(r.to_state));
    st.exchange(soci::into(r.value));
    st.exchange(soci::into(r.reason));
    st.exchange(soci::into(r.notification));
    st.exchange(soci::into(created));
  }
  AlertRecord Get() const {
    AlertRecord out = r;
    out.created_at = created;
    return out;
  }
};
}  // namespace

Result<std::vector<AlertRecord>> AlarmRules::ListAlerts(const std::string& rule_id,
                                                        const std::string& before, int limit) {
  long long lim = limit;
  std::string sql =
      "SELECT id, rule_id, monitor_id, from_state, to_state, value, reason, notification, "
      "created_at FROM alerts WHERE rule_id = :r";
  std::vector<std::pair<std::string, const std::string*>> strings = {{"r", &rule_id}};
  if (!before.empty()) {
    sql += " AND id < :before";
    strings.push_back({"before", &before});
  }
  sql += " ORDER BY id DESC LIMIT :lim";
  return Query<AlertRow, AlertRecord>(tx_, sql, strings, {{"lim", &lim}});
}

}  // namespace studio::store
