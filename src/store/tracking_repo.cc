#include "store/tracking_repo.h"

#include <soci/soci.h>

#include "common/time_util.h"
#include "store/internal/dialect.h"

namespace studio::store {
namespace {

constexpr const char* kExperimentColumns =
    "e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time, "
    "e.last_update_time";
constexpr const char* kRunColumns =
    "r.run_uuid, r.experiment_id, r.run_name, r.user_id, r.status, r.start_time, r.end_time, "
    "r.artifact_uri, r.lifecycle_stage";

struct ExperimentRow {
  ExperimentRecord r;
  long long id = 0, created = 0, updated = 0;
  ExperimentRecord Get() {
    r.experiment_id = id;
    r.creation_time = created;
    r.last_update_time = updated;
    return r;
  }
};

struct RunRow {
  RunRecord r;
  long long experiment = 0, start = 0, end = 0;
  RunRecord Get() {
    r.experiment_id = experiment;
    r.start_time = start;
    r.end_time = end;
    return r;
  }
};

#define STUDIO_EXPERIMENT_INTO(row)                                                \
  soci::into(row.id), soci::into(row.r.name), soci::into(row.r.artifact_location), \
      soci::into(row.r.lifecycle_stage), soci::into(row.created), soci::into(row.updated)

#define STUDIO_RUN_INTO(row)                                                          \
  soci::into(row.r.run_uuid), soci::into(row.experiment), soci::into(row.r.run_name), \
      soci::into(row.r.user_id), soci::into(row.r.status), soci::into(row.start),     \
      soci::into(row.end), soci::into(row.r.artifact_uri), soci::into(row.r.lifecycle_stage)

// Binds the query's parameters to a prepared statement (names :t0.. and :n0..).
void BindQuery(soci::statement& st, const TrackingQuery& q) {
  for (size_t i = 0; i < q.text_params.size(); ++i)
    st.exchange(soci::use(q.text_params[i], "t" + std::to_string(i)));
  for (size_t i = 0; i < q.number_params.size(); ++i)
    st.exchange(soci::use(q.number_params[i], "n" + std::to_string(i)));
}

Status LoadExperimentTags(soci::session& s, ExperimentRecord& e) {
  long long id = e.experiment_id;
  std::string k, v;
  soci::statement st = (s.prepare << "SELECT key, value FROM experiment_tags WHERE "
                                     "experiment_id = :id ORDER BY key",
                        soci::use(id), soci::into(k), soci::into(v));
  st.execute();
  while (st.fetch()) e.tags[k] = v;
  return Status::Ok();
}

}  // namespace

Result<int64_t> TrackingRepo::NextExperimentId() {
  auto& s = tx_.session();
  s << "UPDATE tracking_counters SET value = value + 1 WHERE name = 'experiment'";
  long long v = 0, max_id = 0;
  s << "SELECT value FROM tracking_counters WHERE name = 'experiment'", soci::into(v);
  soci::indicator ind;
  s << "SELECT MAX(experiment_id) FROM experiments", soci::into(max_id, ind);
  if (ind == soci::i_ok && max_id >= v) {
    v = max_id + 1;
    s << "UPDATE tracking_counters SET value = :v WHERE name = 'experiment'", soci::use(v);
  }
  return static_cast<int64_t>(v);
}

Status TrackingRepo::InsertExperiment(const ExperimentRecord& e) {
  long long id = e.experiment_id, created = e.creation_time, updated = e.last_update_time;
  try {
    tx_.session() << "INSERT INTO experiments (experiment_id, name, artifact_location, "
                     "lifecycle_stage, creation_time, last_update_time) VALUES (:id, :name, "
                     ":loc, :stage, :created, :updated)",
        soci::use(id), soci::use(e.name), soci::use(e.artifact_location),
        soci::use(e.lifecycle_stage), soci::use(created), soci::use(updated);
  } catch (const std::exception& ex) {
    if (tx_.dialect().IsUniqueViolation(ex))
      return Status(ErrorCode::kAlreadyExists, "Experiment '" + e.name + "' already exists.");
    throw;
  }
  for (const auto& [k, v] : e.tags) RETURN_IF_ERROR(SetExperimentTag(e.experiment_id, k, v));
  return Status::Ok();
}

Result<ExperimentRecord> TrackingRepo::GetExperiment(int64_t id) {
  ExperimentRow row;
  long long key = id;
  tx_.session() << std::string("SELECT ") + kExperimentColumns +
                       " FROM experiments e WHERE e.experiment_id = :id",
      soci::use(key), STUDIO_EXPERIMENT_INTO(row);
  if (!tx_.session().got_data())
    return NotFound("No Experiment with id=" + std::to_string(id) + " exists");
  ExperimentRecord e = row.Get();
  RETURN_IF_ERROR(LoadExperimentTags(tx_.session(), e));
  return e;
}

Result<ExperimentRecord> TrackingRepo::GetExperimentByName(const std::string& name) {
  ExperimentRow row;
  tx_.session() << std::string("SELECT ") + kExperimentColumns +
                       " FROM experiments e WHERE e.name = :name",
      soci::use(name), STUDIO_EXPERIMENT_INTO(row);
  if (!tx_.session().got_data())
    return NotFound("Could not find experiment with name '" + name + "'");
  ExperimentRecord e = row.Get();
  RETURN_IF_ERROR(LoadExperimentTags(tx_.session(), e));
  return e;
}

Result<std::vector<ExperimentRecord>> TrackingRepo::SearchExperiments(const TrackingQuery& q,
                                                                      int limit, int64_t offset) {
  std::string sql = std::string("SELECT ") + kExperimentColumns + " FROM experiments e WHERE " +
                    q.where + " ORDER BY " +
                    (q.order_by.empty() ? "e.experiment_id ASC" : q.order_by) +
                    " LIMIT :lim OFFSET :off";
  ExperimentRow row;
  long long off = offset;
  soci::statement st(tx_.session());
  st.alloc();
  BindQuery(st, q);
  st.exchange(soci::use(limit, "lim"));
  st.exchange(soci::use(off, "off"));
  st.exchange(soci::into(row.id));
  st.exchange(soci::into(row.r.name));
  st.exchange(soci::into(row.r.artifact_location));
  st.exchange(soci::into(row.r.lifecycle_stage));
  st.exchange(soci::into(row.created));
  st.exchange(soci::into(row.updated));
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<ExperimentRecord> out;
  while (st.fetch()) out.push_back(row.Get());
  for (auto& e : out) RETURN_IF_ERROR(LoadExperimentTags(tx_.session(), e));
  return out;
}

Status TrackingRepo::TouchExperiment(int64_t id, int64_t now) {
  long long key = id, t = now;
  tx_.session() << "UPDATE experiments SET last_update_time = :t WHERE experiment_id = :id",
      soci::use(t), soci::use(key);
  return Status::Ok();
}

Status TrackingRepo::UpdateExperiment(const ExperimentRecord& e) {
  long long id = e.experiment_id, updated = e.last_update_time;
  try {
    tx_.session() << "UPDATE experiments SET name = :name, lifecycle_stage = :stage, "
                     "last_update_time = :t WHERE experiment_id = :id",
        soci::use(e.name), soci::use(e.lifecycle_stage), soci::use(updated), soci::use(id);
  } catch (const std::exception& ex) {
    if (tx_.dialect().IsUniqueViolation(ex))
      return Status(ErrorCode::kAlreadyExists, "Experiment '" + e.name + "' already exists.");
    throw;
  }
  return Status::Ok();
}

Status TrackingRepo::SetExperimentRunsStage(int64_t id, const std::string& stage) {
  long long eid = id;
  long long deleted = stage == "deleted" ? NowMillis() : 0;
  tx_.session() << "UPDATE runs SET lifecycle_stage = :stage, deleted_time = :deleted WHERE "
                   "experiment_id = :id",
      soci::use(stage), soci::use(deleted), soci::use(eid);
  return Status::Ok();
}

Status TrackingRepo::InsertRun(const RunRecord& r) {
  long long experiment = r.experiment_id, start = r.start_time, end = r.end_time;
  tx_.session() << "INSERT INTO runs (run_uuid, experiment_id, run_name, user_id, status, "
                   "start_time, end_time, artifact_uri, lifecycle_stage) VALUES (:id, :exp, "
                   ":name, :user, :status, :start, :end, :uri, :stage)",
      soci::use(r.run_uuid), soci::use(experiment), soci::use(r.run_name), soci::use(r.user_id),
      soci::use(r.status), soci::use(start), soci::use(end), soci::use(r.artifact_uri),
      soci::use(r.lifecycle_stage);
  for (const auto& [k, v] : r.tags) RETURN_IF_ERROR(SetRunTag(r.run_uuid, k, v));
  return Status::Ok();
}

Result<RunRecord> TrackingRepo::GetRun(const std::string& run_uuid) {
  RunRow row;
  tx_.session() << std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.run_uuid = :id",
      soci::use(run_uuid), STUDIO_RUN_INTO(row);
  if (!tx_.session().got_data()) return NotFound("Run with id=" + run_uuid + " not found");
  return row.Get();
}

Status TrackingRepo::UpdateRun(const RunRecord& r) {
  long long end = r.end_time;
  long long deleted = r.lifecycle_stage == "deleted" ? NowMillis() : 0;
  tx_.session() << "UPDATE runs SET run_name = :name, status = :status, end_time = :end, "
                   "lifecycle_stage = :stage, deleted_time = :deleted WHERE run_uuid = :id",
      soci::use(r.run_name), soci::use(r.status), soci::use(end), soci::use(r.lifecycle_stage),
      soci::use(deleted), soci::use(r.run_uuid);
  return Status::Ok();
}

Status TrackingRepo::LoadRunData(RunRecord& r) {
  auto& s = tx_.session();
  std::string k, v;
  {
    soci::statement st =
        (s.prepare << "SELECT key, value FROM run_params WHERE run_uuid = :id ORDER BY key",
         soci::use(r.run_uuid), soci::into(k), soci::into(v));
    st.execute();
    while (st.fetch()) r.params[k] = v;
  }
  {
    soci::statement st =
        (s.prepare << "SELECT key, value FROM run_tags WHERE run_uuid = :id ORDER BY key",
         soci::use(r.run_uuid), soci::into(k), soci::into(v));
    st.execute();
    while (st.fetch()) r.tags[k] = v;
  }
  {
    MetricRecord m;
    long long ts = 0, step = 0;
    soci::statement st = (s.prepare << "SELECT key, value, timestamp, step FROM "
                                       "run_latest_metrics WHERE run_uuid = :id ORDER BY key",
                          soci::use(r.run_uuid), soci::into(m.key), soci::into(m.value),
                          soci::into(ts), soci::into(step));
    st.execute();
    while (st.fetch()) {
      m.timestamp = ts;
      m.step = step;
      r.latest_metrics.push_back(m);
    }
  }
  return Status::Ok();
}

Result<std::vector<RunRecord>> TrackingRepo::SearchRuns(const TrackingQuery& q, int limit,
                                                        int64_t offset) {
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs r WHERE " + q.where +
                    " ORDER BY " +
                    (q.order_by.empty() ? "r.start_time DESC, r.run_uuid ASC" : q.order_by) +
                    " LIMIT :lim OFFSET :off";
  RunRow row;
  long long off = offset;
  soci::statement st(tx_.session());
  st.alloc();
  BindQuery(st, q);
  st.exchange(soci::use(limit, "lim"));
  st.exchange(soci::use(off, "off"));
  st.exchange(soci::into(row.r.run_uuid));
  st.exchange(soci::into(row.experiment));
  st.exchange(soci::into(row.r.run_name));
  st.exchange(soci::into(row.r.user_id));
  st.exchange(soci::into(row.r.status));
  st.exchange(soci::into(row.start));
  st.exchange(soci::into(row.end));
  st.exchange(soci::into(row.r.artifact_uri));
  st.exchange(soci::into(row.r.lifecycle_stage));
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<RunRecord> out;
  while (st.fetch()) out.push_back(row.Get());
  for (auto& r : out) RETURN_IF_ERROR(LoadRunData(r));
  return out;
}

Result<std::string> TrackingRepo::GetParam(const std::string& run_uuid, const std::string& key) {
  std::string value;
  tx_.session() << "SELECT value FROM run_params WHERE run_uuid = :id AND key = :k",
      soci::use(run_uuid), soci::use(key), soci::into(value);
  if (!tx_.session().got_data()) return NotFound("no such param");
  return value;
}

Status TrackingRepo::InsertParam(const std::string& run_uuid, const std::string& key,
                                 const std::string& value) {
  tx_.session() << "INSERT INTO run_params (run_uuid, key, value) VALUES (:id, :k, :v)",
      soci::use(run_uuid), soci::use(key), soci::use(value);
  return Status::Ok();
}

Status TrackingRepo::SetRunTag(const std::string& run_uuid, const std::string& key,
                               const std::string& value) {
  tx_.session() << "INSERT INTO run_tags (run_uuid, key, value) VALUES (:id, :k, :v) "
                   "ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
      soci::use(run_uuid), soci::use(key), soci::use(value);
  return Status::Ok();
}

Status TrackingRepo::DeleteRunTag(const std::string& run_uuid, const std::string& key) {
  tx_.session() << "DELETE FROM run_tags WHERE run_uuid = :id AND key = :k", soci::use(run_uuid),
      soci::use(key);
  return Status::Ok();
}

Status TrackingRepo::SetExperimentTag(int64_t id, const std::string& key,
                                      const std::string& value) {
  long long eid = id;
  tx_.session() << "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (:id, :k, :v) "
                   "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
      soci::use(eid), soci::use(key), soci::use(value);
  return Status::Ok();
}

Status TrackingRepo::InsertMetric(const std::string& run_uuid, const MetricRecord& m) {
  auto& s = tx_.session();
  long long ts = m.timestamp, step = m.step;
  double value = m.value;
  s << "INSERT INTO run_metrics (run_uuid, key, value, timestamp, step) VALUES (:id, :k, :v, "
       ":ts, :step)",
      soci::use(run_uuid), soci::use(m.key), soci::use(value), soci::use(ts), soci::use(step);
  // The latest value is the one with the highest step, then the highest timestamp, then the
  // highest value (MLflow's order).
  s << "INSERT INTO run_latest_metrics (run_uuid, key, value, timestamp, step) VALUES (:id, :k, "
       ":v, :ts, :step) ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, "
       "timestamp = excluded.timestamp, step = excluded.step WHERE "
       "excluded.step > run_latest_metrics.step OR (excluded.step = run_latest_metrics.step AND "
       "(excluded.timestamp > run_latest_metrics.timestamp OR (excluded.timestamp = "
       "run_latest_metrics.timestamp AND excluded.value >= run_latest_metrics.value)))",
      soci::use(run_uuid), soci::use(m.key), soci::use(value), soci::use(ts), soci::use(step);
  return Status::Ok();
}

Result<std::vector<MetricRecord>> TrackingRepo::MetricHistory(const std::string& run_uuid,
                                                              const std::string& key, int limit,
                                                              int64_t offset) {
  MetricRecord m;
  m.key = key;
  long long ts = 0, step = 0, off = offset;
  soci::statement st =
      (tx_.session().prepare << "SELECT value, timestamp, step FROM run_metrics WHERE run_uuid = "
                                ":id AND key = :k ORDER BY step, timestamp, value LIMIT :lim "
                                "OFFSET :off",
       soci::use(run_uuid), soci::use(key), soci::use(limit), soci::use(off), soci::into(m.value),
       soci::into(ts), soci::into(step));
  st.execute();
  std::vector<MetricRecord> out;
  while (st.fetch()) {
    m.timestamp = ts;
    m.step = step;
    out.push_back(m);
  }
  return out;
}

}  // namespace studio::store
