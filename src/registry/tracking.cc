#include "registry/tracking.h"

#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "artifacts/artifact_store.h"
#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/strings.h"
#include "common/time_util.h"

namespace studio::registry {
namespace {

Status Bad(const std::string& msg) { return InvalidArgument(msg); }

Result<int64_t> ParseExperimentId(const std::string& id) {
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos)
    return Bad("Invalid experiment ID: '" + id + "'");
  return static_cast<int64_t>(std::stoll(id));
}

Status ValidateRunId(const std::string& id) {
  // MLflow's run id pattern: ^[a-zA-Z0-9][\w\-]{0,255}$
  bool ok = !id.empty() && id.size() <= 256 && std::isalnum(static_cast<unsigned char>(id[0]));
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') ok = false;
  return ok ? Status::Ok() : Bad("Invalid run ID: '" + id + "'");
}

// MLflow's key rule: alphanumerics, '_', '-', '.', ' ', '/', ':'; no '..' path segments, not
// absolute (keys become file names in file stores).
Status ValidateKey(const std::string& what, const std::string& key) {
  if (key.empty()) return Bad("Invalid " + what + " name: '' (must not be empty)");
  if (key.size() > kMaxEntityKeyBytes)
    return Bad(what + " name '" + key.substr(0, 32) + "...' had length " +
               std::to_string(key.size()) + ", which exceeded length limit of 250");
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != ' ' && c != '/' && c != ':')
      return Bad("Invalid " + what + " name: '" + key +
                 "'. Names may only contain alphanumerics, underscores (_), dashes (-), periods "
                 "(.), spaces ( ), colons (:) and slashes (/).");
  if (key.front() == '/' || key == ".." || key.rfind("../", 0) == 0 ||
      key.find("/../") != std::string::npos ||
      (key.size() >= 3 && key.compare(key.size() - 3, 3, "/..") == 0))
    return Bad("Invalid " + what + " name: '" + key +
               "'. Names may be treated as files in "
               "certain cases, and must not resolve to other names when treated as such.");
  return Status::Ok();
}

Status ValidateValue(const std::string& what, const std::string& key, const std::string& value,
                     size_t limit) {
  if (value.size() > limit)
    return Bad(what + " value '" + value.substr(0, 32) + "...' had length " +
               std::to_string(value.size()) + ", which exceeded length limit of " +
               std::to_string(limit) + " (key '" + key + "')");
  return Status::Ok();
}

const std::set<std::string>& RunStatuses() {
  static const std::set<std::string> k = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
  return k;
}

std::string NewRunId() {
  std::string id = NewUuidV7();
  std::string out;
  for (char c : id)
    if (c != '-') out.push_back(c);
  return out;
}

std::string EncodeOffset(int64_t offset) {
  return crypto::Base64UrlEncode(nlohmann::json{{"offset", offset}}.dump());
}

Result<int64_t> DecodeOffset(const std::string& token) {
  if (token.empty()) return int64_t{0};
  auto raw = crypto::Base64Decode(token);
  if (raw.ok()) {
    auto j = nlohmann::json::parse(*raw, nullptr, false);
    if (j.is_object() && j.contains("offset") && j["offset"].is_number_integer() &&
        j["offset"].get<int64_t>() >= 0)
      return j["offset"].get<int64_t>();
  }
  return Bad("Invalid page token, could not base64-decode");
}

// --- search filters ---------------------------------------------------------------------------
// MLflow's grammar, the subset every client uses: comparison (AND comparison)*, where a
// comparison is `[attributes.|tags.|params.|metrics.]name op value` and names may be quoted
// with backticks or double quotes. Each value becomes a bound parameter.

struct Token {
  enum Kind { kWord, kString, kNumber, kOp, kEnd } kind = kEnd;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) {}
  Result<Token> Next() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ >= s_.size()) return Token{Token::kEnd, ""};
    char c = s_[pos_];
    if (c == '\'' || c == '"' || c == '`') {
      size_t end = s_.find(c, pos_ + 1);
      if (end == std::string::npos) return Bad("Invalid filter: unterminated quote");
      Token t{c == '`' ? Token::kWord : Token::kString, s_.substr(pos_ + 1, end - pos_ - 1)};
      if (c == '"' && quoted_word_next_) t.kind = Token::kWord;
      pos_ = end + 1;
      return t;
    }
    if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, c);
      if (pos_ + 1 < s_.size() && s_[pos_ + 1] == '=') op.push_back('=');
      pos_ += op.size();
      if (op == "!") return Bad("Invalid filter: '!' must be followed by '='");
      return Token{Token::kOp, op};
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
      size_t start = pos_++;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                  s_[pos_] == '.' || s_[pos_] == '-' || s_[pos_] == '+'))
        ++pos_;
      return Token{Token::kNumber, s_.substr(start, pos_ - start)};
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
              s_[pos_] == '.' || s_[pos_] == '-' || s_[pos_] == ':' || s_[pos_] == '/'))
        ++pos_;
      return Token{Token::kWord, s_.substr(start, pos_ - start)};
    }
    return Bad(std::string("Invalid filter: unexpected character '") + c + "'");
  }
  // After "tags." a quoted segment is a name, not a value.
  bool quoted_word_next_ = false;
  bool AtQuote() const {
    size_t p = pos_;
    return p < s_.size() && (s_[p] == '"' || s_[p] == '`');
  }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

struct Clause {
  std::string type;  // attribute | tag | param | metric
  std::string key;
  std::string op;  // = != < <= > >= LIKE ILIKE
  bool numeric = false;
  std::string text;
  double number = 0;
};

std::string EntityType(const std::string& prefix) {
  std::string p = ToLower(prefix);
  if (p == "attribute" || p == "attributes" || p == "attr" || p == "run") return "attribute";
  if (p == "tag" || p == "tags") return "tag";
  if (p == "param" || p == "params" || p == "parameter" || p == "parameters") return "param";
  if (p == "metric" || p == "metrics") return "metric";
  return "";
}

Result<std::vector<Clause>> ParseFilter(const std::string& filter) {
  std::vector<Clause> out;
  if (filter.size() > 10000) return Bad("Invalid filter: longer than 10000 characters");
  Lexer lex(filter);
  while (true) {
    ASSIGN_OR_RETURN(Token key, lex.Next());
    if (key.kind == Token::kEnd && out.empty()) return out;
    if (key.kind != Token::kWord) return Bad("Invalid filter '" + filter + "': expected a key");
    Clause c;
    size_t dot = key.text.find('.');
    if (dot != std::string::npos && !EntityType(key.text.substr(0, dot)).empty()) {
      c.type = EntityType(key.text.substr(0, dot));
      c.key = key.text.substr(dot + 1);
      if (c.key.empty() && lex.AtQuote()) {
        lex.quoted_word_next_ = true;
        ASSIGN_OR_RETURN(Token quoted, lex.Next());
        lex.quoted_word_next_ = false;
        c.key = quoted.text;
      }
    } else {
      c.type = "attribute";
      c.key = key.text;
    }
    if (c.key.empty()) return Bad("Invalid filter '" + filter + "': empty key");
    ASSIGN_OR_RETURN(Token op, lex.Next());
    if (op.kind == Token::kOp) {
      c.op = op.text;
    } else if (op.kind == Token::kWord &&
               (ToLower(op.text) == "like" || ToLower(op.text) == "ilike")) {
      c.op = ToLower(op.text) == "like" ? "LIKE" : "ILIKE";
    } else {
      return Bad("Invalid filter '" + filter + "': expected a comparison operator after '" + c.key +
                 "'");
    }
    ASSIGN_OR_RETURN(Token value, lex.Next());
    if (value.kind == Token::kString) {
      c.text = value.text;
    } else if (value.kind == Token::kNumber) {
      char* end = nullptr;
      c.number = std::strtod(value.text.c_str(), &end);
      if (*end != '\0' || !std::isfinite(c.number))
        return Bad("Invalid filter '" + filter + "': bad number '" + value.text + "'");
      c.numeric = true;
      c.text = value.text;
    } else {
      return Bad("Invalid filter '" + filter + "': expected a quoted string or a number");
    }
    out.push_back(std::move(c));
    ASSIGN_OR_RETURN(Token next, lex.Next());
    if (next.kind == Token::kEnd) return out;
    if (next.kind != Token::kWord || ToLower(next.text) != "and")
      return Bad("Invalid filter '" + filter + "': clauses are joined with AND (no OR)");
  }
}

std::string SqlOp(const std::string& op) { return op == "!=" ? "<>" : op; }

class QueryBuilder {
 public:
  std::string Text(const std::string& v) {
    q.text_params.push_back(v);
    return ":t" + std::to_string(q.text_params.size() - 1);
  }
  std::string Number(double v) {
    q.number_params.push_back(v);
    return ":n" + std::to_string(q.number_params.size() - 1);
  }
  void And(const std::string& cond) { q.where += " AND " + cond; }
  store::TrackingQuery q;
};

// `col op value` for a string comparison; LIKE/ILIKE allowed.
Result<std::string> TextCompare(QueryBuilder& b, const std::string& col, const Clause& c) {
  if (c.numeric) return Bad("Invalid filter: '" + c.key + "' compares with a quoted string");
  if (c.op == "ILIKE") return "LOWER(" + col + ") LIKE LOWER(" + b.Text(c.text) + ")";
  if (c.op == "LIKE") return col + " LIKE " + b.Text(c.text);
  if (c.op == "=" || c.op == "!=") return col + " " + SqlOp(c.op) + " " + b.Text(c.text);
  return Bad("Invalid filter: '" + c.op + "' is not supported for '" + c.key + "'");
}

Result<std::string> NumberCompare(QueryBuilder& b, const std::string& col, const Clause& c) {
  if (!c.numeric) return Bad("Invalid filter: '" + c.key + "' compares with a number");
  if (c.op == "LIKE" || c.op == "ILIKE")
    return Bad("Invalid filter: LIKE is not supported for '" + c.key + "'");
  return col + " " + SqlOp(c.op) + " " + b.Number(c.number);
}

Status AddRunClauses(QueryBuilder& b, const std::vector<Clause>& clauses) {
  static const std::map<std::string, std::string> kTextAttrs = {
      {"run_id", "r.run_uuid"},
      {"run_uuid", "r.run_uuid"},
      {"run_name", "r.run_name"},
      {"status", "r.status"},
      {"user_id", "r.user_id"},
      {"artifact_uri", "r.artifact_uri"},
      {"lifecycle_stage", "r.lifecycle_stage"}};
  static const std::map<std::string, std::string> kNumberAttrs = {{"start_time", "r.start_time"},
                                                                  {"end_time", "r.end_time"}};
  for (const Clause& c : clauses) {
    std::string cond;
    if (c.type == "attribute") {
      if (auto it = kTextAttrs.find(c.key); it != kTextAttrs.end()) {
        ASSIGN_OR_RETURN(cond, TextCompare(b, it->second, c));
      } else if (auto it2 = kNumberAttrs.find(c.key); it2 != kNumberAttrs.end()) {
        ASSIGN_OR_RETURN(cond, NumberCompare(b, it2->second, c));
      } else {
        return Bad("Invalid attribute key '" + c.key + "' in filter");
      }
    } else if (c.type == "tag" || c.type == "param") {
      std::string table = c.type == "tag" ? "run_tags" : "run_params";
      std::string key = b.Text(c.key);
      ASSIGN_OR_RETURN(std::string cmp, TextCompare(b, "x.value", c));
      cond = "EXISTS (SELECT 1 FROM " + table +
             " x WHERE x.run_uuid = r.run_uuid AND x.key = " + key + " AND " + cmp + ")";
    } else {
      std::string key = b.Text(c.key);
      ASSIGN_OR_RETURN(std::string cmp, NumberCompare(b, "x.value", c));
      cond =
          "EXISTS (SELECT 1 FROM run_latest_metrics x WHERE x.run_uuid = r.run_uuid AND "
          "x.key = " +
          key + " AND " + cmp + ")";
    }
    b.And(cond);
  }
  return Status::Ok();
}

Status AddExperimentClauses(QueryBuilder& b, const std::vector<Clause>& clauses) {
  for (const Clause& c : clauses) {
    std::string cond;
    if (c.type == "attribute" && c.key == "name") {
      ASSIGN_OR_RETURN(cond, TextCompare(b, "e.name", c));
    } else if (c.type == "attribute" && (c.key == "creation_time" || c.key == "last_update_time")) {
      ASSIGN_OR_RETURN(cond, NumberCompare(b, "e." + c.key, c));
    } else if (c.type == "tag") {
      std::string key = b.Text(c.key);
      ASSIGN_OR_RETURN(std::string cmp, TextCompare(b, "x.value", c));
      cond =
          "EXISTS (SELECT 1 FROM experiment_tags x WHERE x.experiment_id = e.experiment_id "
          "AND x.key = " +
          key + " AND " + cmp + ")";
    } else {
      return Bad("Invalid filter: '" + c.key + "' is not a searchable experiment field");
    }
    b.And(cond);
  }
  return Status::Ok();
}

// "attributes.start_time DESC" → "r.start_time DESC"; only fixed column names reach the SQL.
Result<std::string> OrderBy(const std::vector<std::string>& order_by,
                            const std::map<std::string, std::string>& columns,
                            const std::string& fallback, const std::string& tiebreak) {
  std::string out;
  for (const std::string& item : order_by) {
    std::vector<std::string> parts;
    for (const std::string& p : SplitAndTrim(item, ' '))
      if (!p.empty()) parts.push_back(p);
    if (parts.empty() || parts.size() > 2) return Bad("Invalid order_by clause '" + item + "'");
    std::string key = parts[0];
    size_t dot = key.find('.');
    if (dot != std::string::npos) {
      if (EntityType(key.substr(0, dot)) != "attribute")
        return Bad("Invalid order_by clause '" + item + "': only attributes can be ordered by");
      key = key.substr(dot + 1);
    }
    auto it = columns.find(key);
    if (it == columns.end()) return Bad("Invalid order_by clause '" + item + "'");
    std::string dir = parts.size() == 2 ? ToLower(parts[1]) : "asc";
    if (dir != "asc" && dir != "desc") return Bad("Invalid order_by clause '" + item + "'");
    if (!out.empty()) out += ", ";
    out += it->second + (dir == "asc" ? " ASC" : " DESC");
  }
  if (out.empty()) out = fallback;
  return out + ", " + tiebreak;
}

Status CheckActive(const store::RunRecord& r) {
  if (r.lifecycle_stage != "active")
    return Bad("The run " + r.run_uuid + " must be in the 'active' state. Current state is " +
               r.lifecycle_stage + ".");
  return Status::Ok();
}

Status AuditAppend(store::Tx& tx, const auth::Actor& actor, const std::string& action,
                   const std::string& type, const std::string& id, const nlohmann::json& details) {
  return audit::Append(tx, {actor.username, action, type, id, actor.request_id, details.dump()});
}

}  // namespace

Status ValidateArtifactLocation(const std::string& location, const std::string& root) {
  const Status refused =
      Bad("artifact_location '" + location +
          "' is not allowed: it must be an mlflow-artifacts:/ path or lie inside the server's "
          "artifact store (" +
          root + ")");
  if (location.find_first_of("?#\\") != std::string::npos ||
      location.find('\0') != std::string::npos)
    return refused;
  std::string rel;
  const std::string proxy = "mlflow-artifacts:/";
  std::string base = root;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (location.rfind(proxy, 0) == 0 && location.rfind(proxy + "/", 0) != 0) {
    rel = location.substr(proxy.size());
  } else if (location == base) {
    return Status::Ok();
  } else if (location.rfind(base + "/", 0) == 0) {
    rel = location.substr(base.size() + 1);
  } else {
    return refused;
  }
  if (rel.empty()) return Status::Ok();
  if (!artifacts::NormalizeArtifactPath(rel).ok()) return refused;
  return Status::Ok();
}

Result<std::string> Tracking::CreateExperiment(const auth::Actor& actor,
                                               const ExperimentInput& in) {
  if (in.name.empty()) return Bad("Invalid experiment name: ''");
  if (in.name.size() > 500) return Bad("Invalid experiment name: longer than 500 characters");
  if (in.artifact_location && !in.artifact_location->empty())
    RETURN_IF_ERROR(ValidateArtifactLocation(*in.artifact_location, artifact_root_));
  for (const auto& t : in.tags) {
    RETURN_IF_ERROR(ValidateKey("Tag", t.key));
    RETURN_IF_ERROR(ValidateValue("Tag", t.key, t.value, kMaxTagValueBytes));
  }
  store::ExperimentRecord e;
  e.name = in.name;
  e.creation_time = e.last_update_time = NowMillis();
  for (const auto& t : in.tags) e.tags[t.key] = t.value;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(e.experiment_id, repo.NextExperimentId());
    e.artifact_location = in.artifact_location && !in.artifact_location->empty()
                              ? *in.artifact_location
                              : "mlflow-artifacts:/" + std::to_string(e.experiment_id);
    RETURN_IF_ERROR(repo.InsertExperiment(e));
    return AuditAppend(tx, actor, "experiment.create", "experiment",
                       std::to_string(e.experiment_id),
                       {{"name", e.name}, {"artifact_location", e.artifact_location}});
  }));
  return std::to_string(e.experiment_id);
}

Result<store::ExperimentRecord> Tracking::GetExperiment(const std::string& experiment_id) {
  ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  Result<store::ExperimentRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) {
    out = store::TrackingRepo(tx).GetExperiment(id);
    return Status::Ok();
  }));
  return out;
}

Result<store::ExperimentRecord> Tracking::GetExperimentByName(const std::string& name) {
  Result<store::ExperimentRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) {
    out = store::TrackingRepo(tx).GetExperimentByName(name);
    return Status::Ok();
  }));
  return out;
}

Result<Page<store::ExperimentRecord>> Tracking::SearchExperiments(const SearchRequest& req) {
  if (req.max_results < 1 || req.max_results > kMaxSearchResults)
    return Bad("Invalid value " + std::to_string(req.max_results) +
               " for parameter 'max_results' supplied. It must be between 1 and 50000");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(req.page_token));
  ASSIGN_OR_RETURN(auto clauses, ParseFilter(req.filter));
  QueryBuilder b;
  if (req.view_type == "ACTIVE_ONLY" || req.view_type.empty())
    b.And("e.lifecycle_stage = 'active'");
  else if (req.view_type == "DELETED_ONLY")
    b.And("e.lifecycle_stage = 'deleted'");
  else if (req.view_type != "ALL")
    return Bad("Invalid view_type '" + req.view_type + "'");
  RETURN_IF_ERROR(AddExperimentClauses(b, clauses));
  ASSIGN_OR_RETURN(b.q.order_by, OrderBy(req.order_by,
                                         {{"name", "e.name"},
                                          {"experiment_id", "e.experiment_id"},
                                          {"creation_time", "e.creation_time"},
                                          {"last_update_time", "e.last_update_time"}},
                                         "e.creation_time DESC", "e.experiment_id ASC"));
  Page<store::ExperimentRecord> page;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(page.items,
                     store::TrackingRepo(tx).SearchExperiments(b.q, req.max_results + 1, offset));
    return Status::Ok();
  }));
  if (static_cast<int>(page.items.size()) > req.max_results) {
    page.items.resize(req.max_results);
    page.next_page_token = EncodeOffset(offset + req.max_results);
  }
  return page;
}

Status Tracking::SetExperimentTag(const auth::Actor& actor, const std::string& experiment_id,
                                  const KeyValue& tag) {
  ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  RETURN_IF_ERROR(ValidateKey("Tag", tag.key));
  RETURN_IF_ERROR(ValidateValue("Tag", tag.key, tag.value, kMaxTagValueBytes));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto e, repo.GetExperiment(id));
    RETURN_IF_ERROR(repo.SetExperimentTag(id, tag.key, tag.value));
    RETURN_IF_ERROR(repo.TouchExperiment(id, NowMillis()));
    return AuditAppend(tx, actor, "experiment.set_tag", "experiment", experiment_id,
                       {{"key", tag.key}});
  });
}

Status Tracking::RenameExperiment(const auth::Actor& actor, const std::string& experiment_id,
                                  const std::string& new_name) {
  ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  if (new_name.empty() || new_name.size() > 500)
    return Bad("Invalid experiment name: must be 1-500 characters");
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto e, repo.GetExperiment(id));
    if (e.lifecycle_stage != "active") return Bad("Cannot rename a non-active experiment.");
    std::string old_name = e.name;
    e.name = new_name;
    e.last_update_time = NowMillis();
    RETURN_IF_ERROR(repo.UpdateExperiment(e));
    return AuditAppend(tx, actor, "experiment.rename", "experiment", experiment_id,
                       {{"from", old_name}, {"to", new_name}});
  });
}

Status Tracking::SetExperimentStage(const auth::Actor& actor, const std::string& experiment_id,
                                    bool deleted) {
  ASSIGN_OR_RETURN(int64_t id, ParseExperimentId(experiment_id));
  if (id == 0 && deleted) return Bad("Cannot delete the default experiment '0'.");
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto e, repo.GetExperiment(id));
    e.lifecycle_stage = deleted ? "deleted" : "active";
    e.last_update_time = NowMillis();
    RETURN_IF_ERROR(repo.UpdateExperiment(e));
    RETURN_IF_ERROR(repo.SetExperimentRunsStage(id, e.lifecycle_stage));
    return AuditAppend(tx, actor, deleted ? "experiment.delete" : "experiment.restore",
                       "experiment", experiment_id, {{"name", e.name}});
  });
}

Result<store::RunRecord> Tracking::CreateRun(const auth::Actor& actor, const RunInput& in) {
  ASSIGN_OR_RETURN(int64_t experiment_id, ParseExperimentId(in.experiment_id));
  for (const auto& t : in.tags) {
    RETURN_IF_ERROR(ValidateKey("Tag", t.key));
    RETURN_IF_ERROR(ValidateValue("Tag", t.key, t.value, kMaxTagValueBytes));
  }
  if (in.run_name.size() > 250) return Bad("run_name must be at most 250 characters");
  store::RunRecord r;
  r.run_uuid = NewRunId();
  r.experiment_id = experiment_id;
  // The authenticated caller, not the deprecated client-supplied user_id: attribution must not
  // be forgeable (the audit log records the same name).
  r.user_id = actor.username;
  r.status = "RUNNING";
  r.start_time = in.start_time.value_or(NowMillis());
  for (const auto& t : in.tags) r.tags[t.key] = t.value;
  // run_name and the mlflow.runName tag are the same thing (MLflow keeps them in step).
  r.run_name = in.run_name;
  if (r.run_name.empty() && r.tags.count("mlflow.runName")) r.run_name = r.tags["mlflow.runName"];
  if (r.run_name.empty()) r.run_name = "run-" + r.run_uuid.substr(r.run_uuid.size() - 8);
  r.tags["mlflow.runName"] = r.run_name;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto e, repo.GetExperiment(experiment_id));
    if (e.lifecycle_stage != "active")
      return Bad("The experiment " + in.experiment_id + " must be in the 'active' state.");
    r.artifact_uri = e.artifact_location + "/" + r.run_uuid + "/artifacts";
    RETURN_IF_ERROR(repo.InsertRun(r));
    return AuditAppend(tx, actor, "run.create", "run", r.run_uuid,
                       {{"experiment_id", in.experiment_id}, {"run_name", r.run_name}});
  }));
  return r;
}

Result<store::RunRecord> Tracking::GetRun(const std::string& run_id) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  Result<store::RunRecord> out = NotFound("");
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    out = repo.GetRun(run_id);
    if (out.ok()) RETURN_IF_ERROR(repo.LoadRunData(*out));
    return Status::Ok();
  }));
  return out;
}

Result<store::RunRecord> Tracking::UpdateRun(const auth::Actor& actor, const std::string& run_id,
                                             const RunUpdate& u) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  if (u.status && !RunStatuses().count(*u.status))
    return Bad("Invalid value '" + *u.status + "' for parameter 'status'");
  if (u.run_name && u.run_name->size() > 250) return Bad("run_name must be at most 250 characters");
  store::RunRecord r;
  RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(r, repo.GetRun(run_id));
    RETURN_IF_ERROR(CheckActive(r));
    nlohmann::json changed = nlohmann::json::object();
    if (u.status) r.status = changed["status"] = *u.status;
    if (u.end_time) {
      r.end_time = *u.end_time;
      changed["end_time"] = *u.end_time;
    }
    if (u.run_name && !u.run_name->empty()) {
      r.run_name = changed["run_name"] = *u.run_name;
      RETURN_IF_ERROR(repo.SetRunTag(run_id, "mlflow.runName", r.run_name));
    }
    RETURN_IF_ERROR(repo.UpdateRun(r));
    return AuditAppend(tx, actor, "run.update", "run", run_id, {{"changed", changed}});
  }));
  return r;
}

Status Tracking::DeleteRun(const auth::Actor& actor, const std::string& run_id) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto r, repo.GetRun(run_id));
    r.lifecycle_stage = "deleted";
    RETURN_IF_ERROR(repo.UpdateRun(r));
    return AuditAppend(tx, actor, "run.delete", "run", run_id, nlohmann::json::object());
  });
}

Status Tracking::RestoreRun(const auth::Actor& actor, const std::string& run_id) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto r, repo.GetRun(run_id));
    r.lifecycle_stage = "active";
    RETURN_IF_ERROR(repo.UpdateRun(r));
    return AuditAppend(tx, actor, "run.restore", "run", run_id, nlohmann::json::object());
  });
}

Status Tracking::LogBatch(const auth::Actor& actor, const std::string& run_id,
                          const std::vector<store::MetricRecord>& metrics,
                          const std::vector<KeyValue>& params, const std::vector<KeyValue>& tags) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  if (metrics.size() > kMaxBatchMetrics)
    return Bad("A batch logging request can contain at most 1000 metrics. Got " +
               std::to_string(metrics.size()) +
               " metrics. Please split up metrics across "
               "multiple requests and try again.");
  if (params.size() > kMaxBatchParams)
    return Bad("A batch logging request can contain at most 100 params. Got " +
               std::to_string(params.size()) +
               " params. Please split up params across "
               "multiple requests and try again.");
  if (tags.size() > kMaxBatchTags)
    return Bad("A batch logging request can contain at most 100 tags. Got " +
               std::to_string(tags.size()) +
               " tags. Please split up tags across multiple "
               "requests and try again.");
  size_t total = metrics.size() + params.size() + tags.size();
  if (total > kMaxBatchTotal)
    return Bad(
        "The total number of metrics, params, and tags in a batch logging request can be "
        "at most 1000. Got " +
        std::to_string(total) + ".");
  for (const auto& m : metrics) {
    RETURN_IF_ERROR(ValidateKey("Metric", m.key));
    if (!std::isfinite(m.value))
      return Bad("Got invalid value for metric '" + m.key + "': must be a finite number");
  }
  std::map<std::string, std::string> batch_params;
  for (const auto& p : params) {
    RETURN_IF_ERROR(ValidateKey("Param", p.key));
    RETURN_IF_ERROR(ValidateValue("Param", p.key, p.value, kMaxParamValueBytes));
    auto [it, fresh] = batch_params.emplace(p.key, p.value);
    if (!fresh && it->second != p.value)
      return Bad("Duplicate parameter keys have been submitted: '" + p.key +
                 "' with different values.");
  }
  for (const auto& t : tags) {
    RETURN_IF_ERROR(ValidateKey("Tag", t.key));
    RETURN_IF_ERROR(ValidateValue("Tag", t.key, t.value, kMaxTagValueBytes));
  }
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto r, repo.GetRun(run_id));
    RETURN_IF_ERROR(CheckActive(r));
    for (const auto& [key, value] : batch_params) {
      auto existing = repo.GetParam(run_id, key);
      if (existing.ok()) {
        if (*existing != value)
          return Bad("Changing param values is not allowed. Param with key='" + key +
                     "' was already logged with value='" + *existing + "' for run ID='" + run_id +
                     "'. Attempted logging new value '" + value + "'.");
        continue;
      }
      RETURN_IF_ERROR(repo.InsertParam(run_id, key, value));
    }
    for (const auto& m : metrics) RETURN_IF_ERROR(repo.InsertMetric(run_id, m));
    for (const auto& t : tags) {
      RETURN_IF_ERROR(repo.SetRunTag(run_id, t.key, t.value));
      if (t.key == "mlflow.runName") {
        r.run_name = t.value;
        RETURN_IF_ERROR(repo.UpdateRun(r));
      }
    }
    nlohmann::json details = {{"metrics", metrics.size()}, {"tags", tags.size()}};
    nlohmann::json param_keys = nlohmann::json::array();
    for (const auto& [key, value] : batch_params) param_keys.push_back(key);
    details["params"] = param_keys;
    return AuditAppend(tx, actor, "run.log", "run", run_id, details);
  });
}

Status Tracking::DeleteTag(const auth::Actor& actor, const std::string& run_id,
                           const std::string& key) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  return store_.Write([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto r, repo.GetRun(run_id));
    RETURN_IF_ERROR(CheckActive(r));
    RETURN_IF_ERROR(repo.LoadRunData(r));
    if (!r.tags.count(key))
      return NotFound("No tag with name: " + key + " in run with id " + run_id);
    RETURN_IF_ERROR(repo.DeleteRunTag(run_id, key));
    return AuditAppend(tx, actor, "run.delete_tag", "run", run_id, {{"key", key}});
  });
}

Result<Page<store::MetricRecord>> Tracking::MetricHistory(const std::string& run_id,
                                                          const std::string& key, int max_results,
                                                          const std::string& page_token) {
  RETURN_IF_ERROR(ValidateRunId(run_id));
  if (max_results < 1 || max_results > 25000) return Bad("max_results must be between 1 and 25000");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(page_token));
  Page<store::MetricRecord> page;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    store::TrackingRepo repo(tx);
    ASSIGN_OR_RETURN(auto r, repo.GetRun(run_id));
    ASSIGN_OR_RETURN(page.items, repo.MetricHistory(run_id, key, max_results + 1, offset));
    return Status::Ok();
  }));
  if (static_cast<int>(page.items.size()) > max_results) {
    page.items.resize(max_results);
    page.next_page_token = EncodeOffset(offset + max_results);
  }
  return page;
}

Result<Page<store::RunRecord>> Tracking::SearchRuns(const SearchRequest& req) {
  if (req.max_results < 1 || req.max_results > kMaxSearchResults)
    return Bad("Invalid value " + std::to_string(req.max_results) +
               " for parameter 'max_results' supplied. It must be between 1 and 50000");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffset(req.page_token));
  ASSIGN_OR_RETURN(auto clauses, ParseFilter(req.filter));
  QueryBuilder b;
  if (req.experiment_ids.empty()) {
    b.And("1 = 0");  // MLflow searches the given experiments only
  } else {
    std::string in;
    for (const std::string& id : req.experiment_ids) {
      ASSIGN_OR_RETURN(int64_t eid, ParseExperimentId(id));
      in += (in.empty() ? "" : ", ") + b.Number(static_cast<double>(eid));
    }
    b.And("r.experiment_id IN (" + in + ")");
  }
  if (req.view_type == "ACTIVE_ONLY" || req.view_type.empty())
    b.And("r.lifecycle_stage = 'active'");
  else if (req.view_type == "DELETED_ONLY")
    b.And("r.lifecycle_stage = 'deleted'");
  else if (req.view_type != "ALL")
    return Bad("Invalid run_view_type '" + req.view_type + "'");
  RETURN_IF_ERROR(AddRunClauses(b, clauses));
  ASSIGN_OR_RETURN(b.q.order_by, OrderBy(req.order_by,
                                         {{"start_time", "r.start_time"},
                                          {"end_time", "r.end_time"},
                                          {"run_name", "r.run_name"},
                                          {"status", "r.status"},
                                          {"user_id", "r.user_id"},
                                          {"experiment_id", "r.experiment_id"},
                                          {"run_id", "r.run_uuid"}},
                                         "r.start_time DESC", "r.run_uuid ASC"));
  Page<store::RunRecord> page;
  RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(page.items,
                     store::TrackingRepo(tx).SearchRuns(b.q, req.max_results + 1, offset));
    return Status::Ok();
  }));
  if (static_cast<int>(page.items.size()) > req.max_results) {
    page.items.resize(req.max_results);
    page.next_page_token = EncodeOffset(offset + req.max_results);
  }
  return page;
}

}  // namespace studio::registry
