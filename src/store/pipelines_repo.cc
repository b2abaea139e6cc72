#include "store/pipelines_repo.h"

#include <soci/soci.h>

namespace studio::store {
namespace {

constexpr const char* kLockColumns =
    "project_id, pipeline, stage_id, hash, definition, locked_by, locked_at, "
    "unlock_approved_by, unlock_reason, unlocked_at";

std::vector<PipelineLockRecord> QueryLocks(Tx& tx, const std::string& where,
                                           const std::vector<const std::string*>& args) {
  PipelineLockRecord r;
  long long locked_at = 0, unlocked_at = 0;
  soci::statement st(tx.session());
  st.alloc();
  int i = 0;
  for (const std::string* a : args) st.exchange(soci::use(*a, "a" + std::to_string(i++)));
  st.exchange(soci::into(r.project_id));
  st.exchange(soci::into(r.pipeline));
  st.exchange(soci::into(r.stage_id));
  st.exchange(soci::into(r.hash));
  st.exchange(soci::into(r.definition_json));
  st.exchange(soci::into(r.locked_by));
  st.exchange(soci::into(locked_at));
  st.exchange(soci::into(r.unlock_approved_by));
  st.exchange(soci::into(r.unlock_reason));
  st.exchange(soci::into(unlocked_at));
  st.prepare(std::string("SELECT ") + kLockColumns + " FROM pipeline_stage_locks WHERE " + where +
             " ORDER BY stage_id");
  st.define_and_bind();
  st.execute();
  std::vector<PipelineLockRecord> out;
  while (st.fetch()) {
    PipelineLockRecord copy = r;
    copy.locked_at = locked_at;
    copy.unlocked_at = unlocked_at;
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

Result<PipelinePolicyRecord> Pipelines::GetPolicy(const std::string& project_id) {
  PipelinePolicyRecord p;
  p.project_id = project_id;
  int allow = 0;
  long long at = 0;
  soci::indicator ind = soci::i_ok;
  tx_.session() << "SELECT allow_command_stages, updated_by, updated_at FROM pipeline_policies "
                   "WHERE project_id = :p",
      soci::into(allow, ind), soci::into(p.updated_by), soci::into(at), soci::use(project_id);
  if (!tx_.session().got_data()) return p;
  p.allow_command_stages = allow != 0;
  p.updated_at = at;
  return p;
}

Status Pipelines::PutPolicy(const PipelinePolicyRecord& p) {
  int allow = p.allow_command_stages ? 1 : 0;
  long long at = p.updated_at;
  tx_.session() << "INSERT INTO pipeline_policies (project_id, allow_command_stages, updated_by, "
                   "updated_at) VALUES (:p, :a, :b, :t) ON CONFLICT (project_id) DO UPDATE SET "
                   "allow_command_stages = excluded.allow_command_stages, "
                   "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
      soci::use(p.project_id), soci::use(allow), soci::use(p.updated_by), soci::use(at);
  return Status::Ok();
}

Result<PipelineLockRecord> Pipelines::GetLock(const std::string& project_id,
                                              const std::string& pipeline,
                                              const std::string& stage_id) {
  auto rows = QueryLocks(tx_, "project_id = :a0 AND pipeline = :a1 AND stage_id = :a2",
                         {&project_id, &pipeline, &stage_id});
  if (rows.empty())
    return NotFound("stage '" + stage_id + "' of pipeline '" + pipeline + "' is not locked");
  return rows.front();
}

Status Pipelines::PutLock(const PipelineLockRecord& l) {
  long long at = l.locked_at;
  tx_.session() << "INSERT INTO pipeline_stage_locks (project_id, pipeline, stage_id, hash, "
                   "definition, locked_by, locked_at, unlock_approved_by, unlock_reason, "
                   "unlocked_at) VALUES (:p, :n, :s, :h, :d, :b, :t, '', '', 0) "
                   "ON CONFLICT (project_id, pipeline, stage_id) DO UPDATE SET "
                   "hash = excluded.hash, definition = excluded.definition, "
                   "locked_by = excluded.locked_by, locked_at = excluded.locked_at, "
                   "unlock_approved_by = '', unlock_reason = '', unlocked_at = 0",
      soci::use(l.project_id), soci::use(l.pipeline), soci::use(l.stage_id), soci::use(l.hash),
      soci::use(l.definition_json), soci::use(l.locked_by), soci::use(at);
  return Status::Ok();
}

Status Pipelines::MarkUnlocked(const std::string& project_id, const std::string& pipeline,
                               const std::string& stage_id, const std::string& by,
                               const std::string& reason, int64_t at) {
  long long t = at;
  soci::statement st =
      (tx_.session().prepare << "UPDATE pipeline_stage_locks SET unlock_approved_by = :b, "
                                "unlock_reason = :r, unlocked_at = :t WHERE project_id = :p AND "
                                "pipeline = :n AND stage_id = :s",
       soci::use(by), soci::use(reason), soci::use(t), soci::use(project_id), soci::use(pipeline),
       soci::use(stage_id));
  st.execute(true);
  if (st.get_affected_rows() == 0)
    return NotFound("stage '" + stage_id + "' of pipeline '" + pipeline + "' is not locked");
  return Status::Ok();
}

Result<std::vector<PipelineLockRecord>> Pipelines::ListLocks(const std::string& project_id,
                                                             const std::string& pipeline) {
  return QueryLocks(tx_, "project_id = :a0 AND pipeline = :a1", {&project_id, &pipeline});
}

}  // namespace studio::store
