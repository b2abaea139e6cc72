#include "store/models_repo.h"

#include <soci/soci.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/ids.h"
#include "store/internal/dialect.h"

namespace studio::store {
namespace {

constexpr const char* kModelColumns =
    "m.id, m.project_id, m.name, m.description, m.user_id, m.last_version, m.created_at, "
    "m.updated_at";
constexpr const char* kVersionColumns =
    "v.model_id, m.name, v.version, v.source, v.run_id, v.run_link, v.description, "
    "v.current_stage, v.status, v.status_message, v.flavor, v.signature, v.metrics, "
    "v.git_commit, v.dataset_digests, v.file_digests, v.user_id, v.created_at, v.updated_at";

// A dynamically built statement: named parameters and outputs bound by reference, so every
// referenced value must outlive Run()/Fetch().
class Stmt {
 public:
  explicit Stmt(Tx& tx) : st_(tx.session()) { st_.alloc(); }
  Stmt& Use(const std::string& v, const std::string& name) {
    st_.exchange(soci::use(v, name));
    return *this;
  }
  Stmt& Use(const long long& v, const std::string& name) {
    st_.exchange(soci::use(v, name));
    return *this;
  }
  Stmt& Params(const std::vector<SqlParam>& ps) {
    for (const auto& p : ps) {
      if (p.is_int)
        Use(p.number, p.name);
      else
        Use(p.text, p.name);
    }
    return *this;
  }
  template <typename T>
  Stmt& Into(T& x) {
    st_.exchange(soci::into(x));
    return *this;
  }
  // Executes; for statements without outputs, the whole statement runs here.
  void Run(const std::string& sql, bool has_outputs) {
    st_.prepare(sql);
    st_.define_and_bind();
    st_.execute(!has_outputs);
  }
  bool Fetch() { return st_.fetch(); }
  long long Affected() { return st_.get_affected_rows(); }

 private:
  soci::statement st_;
};

struct ModelRow {
  ModelRecord r;
  long long last = 0, created = 0, updated = 0;
  void Bind(Stmt& s) {
    s.Into(r.id)
        .Into(r.project_id)
        .Into(r.name)
        .Into(r.description)
        .Into(r.user_id)
        .Into(last)
        .Into(created)
        .Into(updated);
  }
  ModelRecord Get() const {
    ModelRecord out = r;
    out.last_version = last;
    out.created_at = created;
    out.updated_at = updated;
    return out;
  }
};

struct VersionRow {
  ModelVersionRecord r;
  long long version = 0, created = 0, updated = 0;
  void Bind(Stmt& s) {
    s.Into(r.model_id)
        .Into(r.name)
        .Into(version)
        .Into(r.source)
        .Into(r.run_id)
        .Into(r.run_link)
        .Into(r.description)
        .Into(r.current_stage)
        .Into(r.status)
        .Into(r.status_message)
        .Into(r.flavor)
        .Into(r.signature_json)
        .Into(r.metrics_json)
        .Into(r.git_commit)
        .Into(r.dataset_digests_json)
        .Into(r.file_digests_json)
        .Into(r.user_id)
        .Into(created)
        .Into(updated);
  }
  ModelVersionRecord Get() const {
    ModelVersionRecord out = r;
    out.version = version;
    out.created_at = created;
    out.updated_at = updated;
    return out;
  }
};

// ":k0, :k1, ..." bound to `values`.
std::string InList(Stmt& s, const std::vector<std::string>& values, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string name = prefix + std::to_string(i);
    if (i) out += ", ";
    out += ":" + name;
    s.Use(values[i], name);
  }
  return out;
}

std::string InList(Stmt& s, const std::vector<long long>& values, const std::string& prefix) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string name = prefix + std::to_string(i);
    if (i) out += ", ";
    out += ":" + name;
    s.Use(values[i], name);
  }
  return out;
}

Status Duplicate(const std::exception& e, const Dialect& d, const std::string& what) {
  if (d.IsUniqueViolation(e)) return Status(ErrorCode::kAlreadyExists, what + " already exists");
  throw;
}

}  // namespace

Result<std::string> Models::EnsureProject(const std::string& name, const std::string& owner,
                                          int64_t now, bool* created) {
  *created = false;
  std::string id;
  auto& s = tx_.session();
  s << "SELECT id FROM projects WHERE name = :name", soci::use(name), soci::into(id);
  if (s.got_data()) return id;
  // ON CONFLICT: a concurrent creator (PostgreSQL) must not abort this transaction.
  std::string new_id = NewUuidV7();
  long long ts = now;
  Stmt st(tx_);
  st.Use(new_id, "id")
      .Use(name, "name")
      .Use(owner, "owner")
      .Use(owner, "by")
      .Use(ts, "created")
      .Use(ts, "updated");
  st.Run(
      "INSERT INTO projects (id, name, description, owner, github_repo, tags, created_by, "
      "created_at, updated_at) VALUES (:id, :name, 'Models registered through the MLflow API', "
      ":owner, '', '{}', :by, :created, :updated) ON CONFLICT (name) DO NOTHING",
      false);
  *created = st.Affected() > 0;
  s << "SELECT id FROM projects WHERE name = :name", soci::use(name), soci::into(id);
  if (!s.got_data()) return Internal("cannot create project '" + name + "'");
  return id;
}

Result<int64_t> Models::CountInProject(const std::string& project_id) {
  long long n = 0;
  tx_.session() << "SELECT COUNT(*) FROM registered_models WHERE project_id = :p",
      soci::use(project_id), soci::into(n);
  return static_cast<int64_t>(n);
}

Status Models::InsertModel(const ModelRecord& m) {
  long long created = m.created_at, updated = m.updated_at;
  try {
    tx_.session() << "INSERT INTO registered_models (id, project_id, name, description, user_id, "
                     "last_version, created_at, updated_at) VALUES (:id, :p, :n, :d, :u, 0, :c, "
                     ":up)",
        soci::use(m.id), soci::use(m.project_id), soci::use(m.name), soci::use(m.description),
        soci::use(m.user_id), soci::use(created), soci::use(updated);
  } catch (const std::exception& e) {
    return Duplicate(e, tx_.dialect(), "registered model '" + m.name + "'");
  }
  for (const auto& [k, v] : m.tags) RETURN_IF_ERROR(SetModelTag(m.id, k, v));
  return Status::Ok();
}

Result<ModelRecord> Models::GetModel(const std::string& name) {
  ModelRow row;
  Stmt st(tx_);
  st.Use(name, "name");
  row.Bind(st);
  st.Run(std::string("SELECT ") + kModelColumns + " FROM registered_models m WHERE m.name = :name",
         true);
  if (!st.Fetch()) return NotFound("Registered Model with name=" + name + " not found");
  return row.Get();
}

Result<ModelRecord> Models::GetModelById(const std::string& id) {
  ModelRow row;
  Stmt st(tx_);
  st.Use(id, "id");
  row.Bind(st);
  st.Run(std::string("SELECT ") + kModelColumns + " FROM registered_models m WHERE m.id = :id",
         true);
  if (!st.Fetch()) return NotFound("registered model '" + id + "' does not exist");
  return row.Get();
}

Status Models::UpdateModel(const ModelRecord& m) {
  long long updated = m.updated_at;
  try {
    tx_.session() << "UPDATE registered_models SET name = :n, description = :d, updated_at = :u "
                     "WHERE id = :id",
        soci::use(m.name), soci::use(m.description), soci::use(updated), soci::use(m.id);
  } catch (const std::exception& e) {
    return Duplicate(e, tx_.dialect(), "registered model '" + m.name + "'");
  }
  return Status::Ok();
}

Status Models::TouchModel(const std::string& model_id, int64_t now) {
  long long ts = now;
  tx_.session() << "UPDATE registered_models SET updated_at = :u WHERE id = :id", soci::use(ts),
      soci::use(model_id);
  return Status::Ok();
}

Status Models::DeleteModel(const std::string& id) {
  auto& s = tx_.session();
  s << "DELETE FROM registered_model_aliases WHERE model_id = :id", soci::use(id);
  s << "DELETE FROM model_version_tags WHERE model_id = :id", soci::use(id);
  s << "DELETE FROM model_versions WHERE model_id = :id", soci::use(id);
  s << "DELETE FROM registered_model_tags WHERE model_id = :id", soci::use(id);
  s << "DELETE FROM registered_models WHERE id = :id", soci::use(id);
  return Status::Ok();
}

Result<std::vector<ModelRecord>> Models::SearchModels(const SqlQuery& q, int limit,
                                                      int64_t offset) {
  long long lim = limit, off = offset;
  ModelRow row;
  Stmt st(tx_);
  st.Params(q.params).Use(lim, "lim").Use(off, "off");
  row.Bind(st);
  std::string order = q.order_by.empty() ? "" : q.order_by + ", ";
  st.Run(std::string("SELECT ") + kModelColumns + " FROM registered_models m WHERE " + q.where +
             " ORDER BY " + order + "m.name ASC, m.id ASC LIMIT :lim OFFSET :off",
         true);
  std::vector<ModelRecord> out;
  while (st.Fetch()) out.push_back(row.Get());
  return out;
}

Status Models::LoadModelExtras(std::vector<ModelRecord>& models) {
  if (models.empty()) return Status::Ok();
  std::unordered_map<std::string, ModelRecord*> by_id;
  std::vector<std::string> ids;
  for (auto& m : models) {
    m.tags.clear();
    m.aliases.clear();
    m.latest_versions.clear();
    if (by_id.emplace(m.id, &m).second) ids.push_back(m.id);
  }
  {
    std::string id, key, value;
    Stmt st(tx_);
    std::string in = InList(st, ids, "i");
    st.Into(id).Into(key).Into(value);
    st.Run("SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN (" + in + ")",
           true);
    while (st.Fetch()) by_id[id]->tags[key] = value;
  }
  {
    std::string id, alias;
    long long version = 0;
    Stmt st(tx_);
    std::string in = InList(st, ids, "i");
    st.Into(id).Into(alias).Into(version);
    st.Run("SELECT model_id, alias, version FROM registered_model_aliases WHERE model_id IN (" +
               in + ") ORDER BY alias",
           true);
    while (st.Fetch()) by_id[id]->aliases.emplace_back(alias, version);
  }
  {
    VersionRow row;
    Stmt st(tx_);
    std::string in = InList(st, ids, "i");
    row.Bind(st);
    st.Run(std::string("SELECT ") + kVersionColumns +
               " FROM model_versions v JOIN registered_models m ON m.id = v.model_id JOIN "
               "(SELECT model_id, current_stage, MAX(version) AS latest FROM model_versions "
               "WHERE model_id IN (" +
               in +
               ") GROUP BY model_id, current_stage) x ON x.model_id = v.model_id AND x.latest = "
               "v.version ORDER BY v.model_id, v.version",
           true);
    while (st.Fetch()) {
      ModelVersionRecord v = row.Get();
      by_id[v.model_id]->latest_versions.push_back(std::move(v));
    }
  }
  return Status::Ok();
}

Status Models::SetModelTag(const std::string& model_id, const std::string& key,
                           const std::string& value) {
  auto& s = tx_.session();
  s << "DELETE FROM registered_model_tags WHERE model_id = :id AND key = :k", soci::use(model_id),
      soci::use(key);
  s << "INSERT INTO registered_model_tags (model_id, key, value) VALUES (:id, :k, :v)",
      soci::use(model_id), soci::use(key), soci::use(value);
  return Status::Ok();
}

Result<bool> Models::DeleteModelTag(const std::string& model_id, const std::string& key) {
  Stmt st(tx_);
  st.Use(model_id, "id").Use(key, "k");
  st.Run("DELETE FROM registered_model_tags WHERE model_id = :id AND key = :k", false);
  return st.Affected() > 0;
}

Result<int64_t> Models::NextVersion(const std::string& model_id) {
  auto& s = tx_.session();
  s << "UPDATE registered_models SET last_version = last_version + 1 WHERE id = :id",
      soci::use(model_id);
  long long v = 0;
  s << "SELECT last_version FROM registered_models WHERE id = :id", soci::use(model_id),
      soci::into(v);
  if (!s.got_data()) return NotFound("registered model does not exist");
  return static_cast<int64_t>(v);
}

Status Models::InsertVersion(const ModelVersionRecord& v) {
  long long version = v.version, created = v.created_at, updated = v.updated_at;
  Stmt st(tx_);
  st.Use(v.model_id, "mid")
      .Use(version, "ver")
      .Use(v.source, "src")
      .Use(v.run_id, "run")
      .Use(v.run_link, "link")
      .Use(v.description, "descr")
      .Use(v.current_stage, "stage")
      .Use(v.status, "status")
      .Use(v.status_message, "smsg")
      .Use(v.flavor, "flavor")
      .Use(v.signature_json, "sig")
      .Use(v.metrics_json, "metrics")
      .Use(v.git_commit, "git")
      .Use(v.dataset_digests_json, "ds")
      .Use(v.file_digests_json, "fd")
      .Use(v.user_id, "uid")
      .Use(created, "created")
      .Use(updated, "updated");
  st.Run(
      "INSERT INTO model_versions (model_id, version, source, run_id, run_link, description, "
      "current_stage, status, status_message, flavor, signature, metrics, git_commit, "
      "dataset_digests, file_digests, user_id, created_at, updated_at) VALUES (:mid, :ver, :src, "
      ":run, :link, :descr, :stage, :status, :smsg, :flavor, :sig, :metrics, :git, :ds, :fd, "
      ":uid, :created, :updated)",
      false);
  for (const auto& [k, val] : v.tags) RETURN_IF_ERROR(SetVersionTag(v.model_id, v.version, k, val));
  return Status::Ok();
}

Result<ModelVersionRecord> Models::GetVersion(const ModelRecord& m, int64_t version) {
  long long ver = version;
  VersionRow row;
  Stmt st(tx_);
  st.Use(m.id, "mid").Use(ver, "ver");
  row.Bind(st);
  st.Run(std::string("SELECT ") + kVersionColumns +
             " FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE "
             "v.model_id = :mid AND v.version = :ver",
         true);
  if (!st.Fetch())
    return NotFound("Model Version (name=" + m.name + ", version=" + std::to_string(version) +
                    ") not found");
  return row.Get();
}

Status Models::UpdateVersion(const ModelVersionRecord& v) {
  long long version = v.version, updated = v.updated_at;
  Stmt st(tx_);
  st.Use(v.description, "d")
      .Use(v.current_stage, "stage")
      .Use(v.status, "status")
      .Use(v.status_message, "smsg")
      .Use(updated, "u")
      .Use(v.model_id, "mid")
      .Use(version, "ver");
  st.Run(
      "UPDATE model_versions SET description = :d, current_stage = :stage, status = :status, "
      "status_message = :smsg, updated_at = :u WHERE model_id = :mid AND version = :ver",
      false);
  return Status::Ok();
}

Status Models::DeleteVersion(const std::string& model_id, int64_t version) {
  long long ver = version;
  auto& s = tx_.session();
  s << "DELETE FROM registered_model_aliases WHERE model_id = :id AND version = :v",
      soci::use(model_id), soci::use(ver);
  s << "DELETE FROM model_version_tags WHERE model_id = :id AND version = :v", soci::use(model_id),
      soci::use(ver);
  s << "DELETE FROM model_versions WHERE model_id = :id AND version = :v", soci::use(model_id),
      soci::use(ver);
  return Status::Ok();
}

Result<std::vector<int64_t>> Models::VersionsInStage(const std::string& model_id,
                                                     const std::string& stage, int64_t except) {
  long long ex = except, v = 0;
  Stmt st(tx_);
  st.Use(model_id, "mid").Use(stage, "stage").Use(ex, "ex").Into(v);
  st.Run(
      "SELECT version FROM model_versions WHERE model_id = :mid AND current_stage = :stage AND "
      "version <> :ex ORDER BY version",
      true);
  std::vector<int64_t> out;
  while (st.Fetch()) out.push_back(v);
  return out;
}

Result<std::vector<ModelVersionRecord>> Models::SearchVersions(const SqlQuery& q, int limit,
                                                               int64_t offset) {
  long long lim = limit, off = offset;
  VersionRow row;
  Stmt st(tx_);
  st.Params(q.params).Use(lim, "lim").Use(off, "off");
  row.Bind(st);
  std::string order = q.order_by.empty() ? "" : q.order_by + ", ";
  st.Run(std::string("SELECT ") + kVersionColumns +
             " FROM model_versions v JOIN registered_models m ON m.id = v.model_id WHERE " +
             q.where + " ORDER BY " + order + "m.name ASC, v.version DESC LIMIT :lim OFFSET :off",
         true);
  std::vector<ModelVersionRecord> out;
  while (st.Fetch()) out.push_back(row.Get());
  return out;
}

Status Models::LoadVersionExtras(std::vector<ModelVersionRecord>& versions) {
  if (versions.empty()) return Status::Ok();
  // One query per kind over the models and version numbers involved; the cross product is
  // filtered here.
  std::set<std::string> id_set;
  std::set<long long> ver_set;
  std::map<std::pair<std::string, long long>, std::vector<ModelVersionRecord*>> index;
  for (auto& v : versions) {
    v.tags.clear();
    v.aliases.clear();
    id_set.insert(v.model_id);
    ver_set.insert(v.version);
    index[{v.model_id, v.version}].push_back(&v);
  }
  std::vector<std::string> ids(id_set.begin(), id_set.end());
  std::vector<long long> vers(ver_set.begin(), ver_set.end());
  {
    std::string id, key, value;
    long long ver = 0;
    Stmt st(tx_);
    std::string in_ids = InList(st, ids, "i");
    std::string in_vers = InList(st, vers, "n");
    st.Into(id).Into(ver).Into(key).Into(value);
    st.Run("SELECT model_id, version, key, value FROM model_version_tags WHERE model_id IN (" +
               in_ids + ") AND version IN (" + in_vers + ")",
           true);
    while (st.Fetch()) {
      auto it = index.find({id, ver});
      if (it != index.end())
        for (auto* v : it->second) v->tags[key] = value;
    }
  }
  {
    std::string id, alias;
    long long ver = 0;
    Stmt st(tx_);
    std::string in_ids = InList(st, ids, "i");
    std::string in_vers = InList(st, vers, "n");
    st.Into(id).Into(ver).Into(alias);
    st.Run("SELECT model_id, version, alias FROM registered_model_aliases WHERE model_id IN (" +
               in_ids + ") AND version IN (" + in_vers + ") ORDER BY alias",
           true);
    while (st.Fetch()) {
      auto it = index.find({id, ver});
      if (it != index.end())
        for (auto* v : it->second) v->aliases.push_back(alias);
    }
  }
  return Status::Ok();
}

Status Models::SetVersionTag(const std::string& model_id, int64_t version, const std::string& key,
                             const std::string& value) {
  long long ver = version;
  auto& s = tx_.session();
  s << "DELETE FROM model_version_tags WHERE model_id = :id AND version = :v AND key = :k",
      soci::use(model_id), soci::use(ver), soci::use(key);
  s << "INSERT INTO model_version_tags (model_id, version, key, value) VALUES (:id, :v, :k, :val)",
      soci::use(model_id), soci::use(ver), soci::use(key), soci::use(value);
  return Status::Ok();
}

Result<bool> Models::DeleteVersionTag(const std::string& model_id, int64_t version,
                                      const std::string& key) {
  long long ver = version;
  Stmt st(tx_);
  st.Use(model_id, "id").Use(ver, "v").Use(key, "k");
  st.Run("DELETE FROM model_version_tags WHERE model_id = :id AND version = :v AND key = :k",
         false);
  return st.Affected() > 0;
}

Status Models::SetAlias(const std::string& model_id, const std::string& alias, int64_t version) {
  long long ver = version;
  auto& s = tx_.session();
  s << "DELETE FROM registered_model_aliases WHERE model_id = :id AND alias = :a",
      soci::use(model_id), soci::use(alias);
  s << "INSERT INTO registered_model_aliases (model_id, alias, version) VALUES (:id, :a, :v)",
      soci::use(model_id), soci::use(alias), soci::use(ver);
  return Status::Ok();
}

Result<bool> Models::DeleteAlias(const std::string& model_id, const std::string& alias) {
  Stmt st(tx_);
  st.Use(model_id, "id").Use(alias, "a");
  st.Run("DELETE FROM registered_model_aliases WHERE model_id = :id AND alias = :a", false);
  return st.Affected() > 0;
}

Result<int64_t> Models::GetAlias(const std::string& model_id, const std::string& alias) {
  long long v = 0;
  auto& s = tx_.session();
  s << "SELECT version FROM registered_model_aliases WHERE model_id = :id AND alias = :a",
      soci::use(model_id), soci::use(alias), soci::into(v);
  if (!s.got_data()) return static_cast<int64_t>(0);
  return static_cast<int64_t>(v);
}

}  // namespace studio::store
