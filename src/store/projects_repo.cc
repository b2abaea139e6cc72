#include "store/projects_repo.h"

#include <soci/soci.h>

#include "common/strings.h"
#include "store/internal/dialect.h"

namespace studio::store {
namespace {

constexpr const char* kColumns =
    "p.id, p.name, p.description, p.owner, p.github_repo, p.tags, p.created_by, p.created_at, "
    "p.updated_at";

struct Row {
  ProjectRecord r;
  long long created = 0, updated = 0;
  ProjectRecord Get() {
    r.created_at = created;
    r.updated_at = updated;
    return r;
  }
};

#define STUDIO_PROJECT_INTO(row)                                                           \
  soci::into(row.r.id), soci::into(row.r.name), soci::into(row.r.description),             \
      soci::into(row.r.owner), soci::into(row.r.github_repo), soci::into(row.r.tags_json), \
      soci::into(row.r.created_by), soci::into(row.created), soci::into(row.updated)

// LIKE pattern that matches `s` literally anywhere (escape character '\').
std::string ContainsPattern(const std::string& s) {
  std::string out = "%";
  for (char c : ToLower(s)) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

}  // namespace

Status Projects::WriteTags(const std::string& id, const std::map<std::string, std::string>& tags) {
  auto& s = tx_.session();
  s << "DELETE FROM project_tags WHERE project_id = :id", soci::use(id);
  for (const auto& [k, v] : tags) {
    s << "INSERT INTO project_tags (project_id, key, value) VALUES (:id, :k, :v)", soci::use(id),
        soci::use(k), soci::use(v);
  }
  return Status::Ok();
}

Status Projects::Insert(const ProjectRecord& p, const std::map<std::string, std::string>& tags) {
  long long created = p.created_at, updated = p.updated_at;
  try {
    tx_.session() << "INSERT INTO projects (id, name, description, owner, github_repo, tags, "
                     "created_by, created_at, updated_at) VALUES (:id, :name, :descr, :owner, "
                     ":repo, :tags, :by, :created, :updated)",
        soci::use(p.id), soci::use(p.name), soci::use(p.description), soci::use(p.owner),
        soci::use(p.github_repo), soci::use(p.tags_json), soci::use(p.created_by),
        soci::use(created), soci::use(updated);
  } catch (const std::exception& e) {
    if (tx_.dialect().IsUniqueViolation(e))
      return Status(ErrorCode::kAlreadyExists, "project '" + p.name + "' already exists");
    throw;
  }
  return WriteTags(p.id, tags);
}

Status Projects::Update(const ProjectRecord& p, const std::map<std::string, std::string>& tags) {
  long long updated = p.updated_at;
  tx_.session() << "UPDATE projects SET description = :descr, owner = :owner, github_repo = "
                   ":repo, tags = :tags, updated_at = :updated WHERE id = :id",
      soci::use(p.description), soci::use(p.owner), soci::use(p.github_repo),
      soci::use(p.tags_json), soci::use(updated), soci::use(p.id);
  return WriteTags(p.id, tags);
}

Result<ProjectRecord> Projects::Get(const std::string& id_or_name) {
  Row row;
  tx_.session() << std::string("SELECT ") + kColumns + " FROM projects p WHERE p.id = :id",
      soci::use(id_or_name), STUDIO_PROJECT_INTO(row);
  if (!tx_.session().got_data()) {
    tx_.session() << std::string("SELECT ") + kColumns + " FROM projects p WHERE p.name = :name",
        soci::use(id_or_name), STUDIO_PROJECT_INTO(row);
    if (!tx_.session().got_data()) return NotFound("project '" + id_or_name + "' does not exist");
  }
  return row.Get();
}

Status Projects::Delete(const std::string& id) {
  auto& s = tx_.session();
  s << "DELETE FROM project_tags WHERE project_id = :id", soci::use(id);
  s << "DELETE FROM projects WHERE id = :id", soci::use(id);
  return Status::Ok();
}

Result<std::vector<ProjectRecord>> Projects::List(const ProjectFilter& f, const std::string& after,
                                                  int limit) {
  // Every user-supplied value is a bound parameter; the SQL text is one of a fixed few shapes.
  std::string sql = std::string("SELECT ") + kColumns + " FROM projects p WHERE p.name > :after";
  std::string pattern = ContainsPattern(f.query);
  if (!f.query.empty())
    sql += " AND (LOWER(p.name) LIKE :q1 ESCAPE '\\' OR LOWER(p.description) LIKE :q2 ESCAPE '\\')";
  if (!f.owner.empty()) sql += " AND p.owner = :owner";
  if (!f.tag_key.empty()) {
    sql += " AND EXISTS (SELECT 1 FROM project_tags t WHERE t.project_id = p.id AND t.key = :tk";
    if (!f.tag_value.empty()) sql += " AND t.value = :tv";
    sql += ")";
  }
  sql += " ORDER BY p.name LIMIT :lim";
  Row row;
  soci::statement st(tx_.session());
  st.alloc();
  st.exchange(soci::use(after, "after"));
  if (!f.query.empty()) {
    st.exchange(soci::use(pattern, "q1"));
    st.exchange(soci::use(pattern, "q2"));
  }
  if (!f.owner.empty()) st.exchange(soci::use(f.owner, "owner"));
  if (!f.tag_key.empty()) {
    st.exchange(soci::use(f.tag_key, "tk"));
    if (!f.tag_value.empty()) st.exchange(soci::use(f.tag_value, "tv"));
  }
  st.exchange(soci::use(limit, "lim"));
  st.exchange(soci::into(row.r.id));
  st.exchange(soci::into(row.r.name));
  st.exchange(soci::into(row.r.description));
  st.exchange(soci::into(row.r.owner));
  st.exchange(soci::into(row.r.github_repo));
  st.exchange(soci::into(row.r.tags_json));
  st.exchange(soci::into(row.r.created_by));
  st.exchange(soci::into(row.created));
  st.exchange(soci::into(row.updated));
  st.prepare(sql);
  st.define_and_bind();
  st.execute();
  std::vector<ProjectRecord> out;
  while (st.fetch()) out.push_back(row.Get());
  return out;
}

Result<int64_t> Projects::Count() {
  long long n = 0;
  tx_.session() << "SELECT COUNT(*) FROM projects", soci::into(n);
  return static_cast<int64_t>(n);
}

}  // namespace studio::store
