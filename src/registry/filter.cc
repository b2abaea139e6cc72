#include "registry/filter.h"

#include <cctype>

#include "common/strings.h"

namespace studio::registry {
namespace {

constexpr size_t kMaxFilterLength = 16 * 1024;
constexpr size_t kMaxClauses = 50;
constexpr size_t kMaxInValues = 1000;

enum class Tok { kIdent, kBackquoted, kString, kNumber, kOp, kLParen, kRParen, kComma, kDot, kEnd };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;  // identifier, unquoted string, number digits, operator
  bool double_quoted = false;
  int column = 1;
};

Status ErrorAt(int column, const std::string& what) {
  return InvalidArgument("invalid filter: at column " + std::to_string(column) + ": " + what);
}

std::string Describe(const Token& t) {
  switch (t.type) {
    case Tok::kEnd:
      return "the end of the filter";
    case Tok::kString:
      return "a string";
    case Tok::kBackquoted:
      return "`" + t.text + "`";
    default:
      return "'" + t.text + "'";
  }
}

Result<std::vector<Token>> Tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int col = static_cast<int>(i) + 1;
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    Token t;
    t.column = col;
    if (std::isalpha(c) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.type = Tok::kIdent;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (std::isdigit(c) || (c == '-' && i + 1 < s.size() &&
                                   std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && (std::isalpha(static_cast<unsigned char>(s[j])) || s[j] == '.'))
        return ErrorAt(col, "malformed number");
      t.type = Tok::kNumber;
      t.text = s.substr(i, j - i);
      if (t.text.size() > 18) return ErrorAt(col, "number out of range");
      i = j;
    } else if (c == '\'' || c == '"' || c == '`') {
      // Quotes are escaped by doubling them or with a backslash.
      char q = static_cast<char>(c);
      std::string value;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == '\\' && j + 1 < s.size() && s[j + 1] == q) {
          // \' is a quote; any other backslash stays (LIKE's escape: 'a\_b').
          value.push_back(q);
          j += 2;
        } else if (s[j] == q) {
          if (j + 1 < s.size() && s[j + 1] == q) {
            value.push_back(q);
            j += 2;
          } else {
            closed = true;
            ++j;
            break;
          }
        } else {
          value.push_back(s[j++]);
        }
      }
      if (!closed)
        return ErrorAt(col, std::string("unterminated ") +
                                (q == '`' ? "backquoted name" : "string") + " (missing " + q + ")");
      t.type = q == '`' ? Tok::kBackquoted : Tok::kString;
      t.double_quoted = q == '"';
      t.text = std::move(value);
      i = j;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      std::string op(1, static_cast<char>(c));
      if (i + 1 < s.size() && (s[i + 1] == '=' || (c == '<' && s[i + 1] == '>'))) op += s[i + 1];
      if (op == "!") return ErrorAt(col, "expected '!='");
      if (op == "==") return ErrorAt(col, "use '=' for equality");
      i += op.size();
      if (op == "<>") op = "!=";
      t.type = Tok::kOp;
      t.text = op;
    } else if (c == '(' || c == ')' || c == ',' || c == '.') {
      t.type = c == '('   ? Tok::kLParen
               : c == ')' ? Tok::kRParen
               : c == ',' ? Tok::kComma
                          : Tok::kDot;
      t.text = std::string(1, static_cast<char>(c));
      ++i;
    } else {
      return ErrorAt(col, std::string("unexpected character '") +
                              (std::isprint(c) ? std::string(1, static_cast<char>(c))
                                               : std::string("\\x") + "0123456789abcdef"[c >> 4] +
                                                     "0123456789abcdef"[c & 15]) +
                              "'");
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.column = static_cast<int>(s.size()) + 1;
  out.push_back(end);
  return out;
}

bool IsWord(const Token& t, const char* word) {
  return t.type == Tok::kIdent && ToLower(t.text) == word;
}

class Parser {
 public:
  Parser(std::vector<Token> toks, FilterTarget target) : t_(std::move(toks)), target_(target) {}

  Result<Filter> Parse() {
    Filter f;
    if (Peek().type == Tok::kEnd) return f;
    while (true) {
      ASSIGN_OR_RETURN(Comparison c, ParseComparison());
      f.clauses.push_back(std::move(c));
      if (f.clauses.size() > kMaxClauses)
        return ErrorAt(Peek().column, "too many conditions (at most 50)");
      const Token& next = Peek();
      if (next.type == Tok::kEnd) break;
      if (IsWord(next, "and")) {
        Next();
        continue;
      }
      if (IsWord(next, "or")) return ErrorAt(next.column, "OR is not supported; use AND");
      return ErrorAt(next.column, "expected AND or the end of the filter, got " + Describe(next));
    }
    return f;
  }

 private:
  const Token& Peek() const { return t_[pos_]; }
  const Token& Next() { return t_[pos_ < t_.size() - 1 ? pos_++ : pos_]; }

  std::string ValidKeys() const {
    return target_ == FilterTarget::kModels
               ? "name, tags.<key>"
               : "name, run_id, source_path, version_number, tags.<key>";
  }

  Result<Comparison> ParseComparison() {
    Comparison c;
    const Token& first = Next();
    c.column = first.column;
    std::string key;
    if (first.type == Tok::kIdent || first.type == Tok::kBackquoted) {
      key = first.type == Tok::kIdent ? ToLower(first.text) : first.text;
    } else {
      return ErrorAt(first.column, "expected a key (" + ValidKeys() + "), got " + Describe(first));
    }
    if (first.type == Tok::kIdent && (key == "tags" || key == "tag") && Peek().type == Tok::kDot) {
      Next();
      const Token& k = Next();
      if (k.type != Tok::kIdent && k.type != Tok::kBackquoted &&
          !(k.type == Tok::kString && k.double_quoted))
        return ErrorAt(k.column, "expected a tag key after 'tags.', got " + Describe(k));
      if (k.text.empty() || k.text.size() > 250)
        return ErrorAt(k.column, "tag keys must be 1-250 bytes");
      c.key = FilterKey::kTag;
      c.tag_key = k.text;
    } else if (Peek().type == Tok::kDot) {
      return ErrorAt(first.column,
                     "unknown key prefix '" + first.text + ".'; valid keys: " + ValidKeys());
    } else if (key == "name") {
      c.key = FilterKey::kName;
    } else if (target_ == FilterTarget::kVersions && key == "run_id") {
      c.key = FilterKey::kRunId;
    } else if (target_ == FilterTarget::kVersions && key == "source_path") {
      c.key = FilterKey::kSourcePath;
    } else if (target_ == FilterTarget::kVersions && key == "version_number") {
      c.key = FilterKey::kVersionNumber;
    } else {
      return ErrorAt(first.column, "unknown key '" + first.text + "'; valid keys: " + ValidKeys());
    }

    const Token& op = Next();
    if (op.type == Tok::kOp) {
      static const std::pair<const char*, FilterOp> kOps[] = {
          {"=", FilterOp::kEq},  {"!=", FilterOp::kNe}, {"<", FilterOp::kLt},
          {"<=", FilterOp::kLe}, {">", FilterOp::kGt},  {">=", FilterOp::kGe}};
      for (const auto& [text, value] : kOps)
        if (op.text == text) c.op = value;
    } else if (IsWord(op, "like")) {
      c.op = FilterOp::kLike;
    } else if (IsWord(op, "ilike")) {
      c.op = FilterOp::kILike;
    } else if (IsWord(op, "in")) {
      c.op = FilterOp::kIn;
    } else if (IsWord(op, "not") && IsWord(Peek(), "in")) {
      Next();
      c.op = FilterOp::kNotIn;
    } else {
      return ErrorAt(op.column,
                     "expected a comparison operator (=, !=, LIKE, ILIKE, IN, <, >), "
                     "got " +
                         Describe(op));
    }
    RETURN_IF_ERROR(CheckOp(c, op.column));

    if (c.op == FilterOp::kIn || c.op == FilterOp::kNotIn) {
      const Token& lp = Next();
      if (lp.type != Tok::kLParen) return ErrorAt(lp.column, "expected '(' after IN");
      while (true) {
        ASSIGN_OR_RETURN(FilterValue v, ParseValue(c.key));
        c.values.push_back(std::move(v));
        if (c.values.size() > kMaxInValues)
          return ErrorAt(lp.column, "too many values in IN (at most 1000)");
        const Token& sep = Next();
        if (sep.type == Tok::kRParen) break;
        if (sep.type != Tok::kComma)
          return ErrorAt(sep.column, "expected ',' or ')', got " + Describe(sep));
      }
    } else {
      ASSIGN_OR_RETURN(FilterValue v, ParseValue(c.key));
      c.values.push_back(std::move(v));
    }
    return c;
  }

  Status CheckOp(const Comparison& c, int column) const {
    bool ok = false;
    switch (c.key) {
      case FilterKey::kName:
      case FilterKey::kSourcePath:
      case FilterKey::kTag:
        ok = c.op == FilterOp::kEq || c.op == FilterOp::kNe || c.op == FilterOp::kLike ||
             c.op == FilterOp::kILike;
        break;
      case FilterKey::kRunId:
        ok = c.op == FilterOp::kEq || c.op == FilterOp::kNe || c.op == FilterOp::kIn ||
             c.op == FilterOp::kNotIn;
        break;
      case FilterKey::kVersionNumber:
        ok = c.op != FilterOp::kLike && c.op != FilterOp::kILike && c.op != FilterOp::kIn &&
             c.op != FilterOp::kNotIn;
        break;
    }
    if (ok) return Status::Ok();
    const char* allowed = c.key == FilterKey::kRunId           ? "=, !=, IN, NOT IN"
                          : c.key == FilterKey::kVersionNumber ? "=, !=, <, <=, >, >="
                                                               : "=, !=, LIKE, ILIKE";
    return ErrorAt(
        column, std::string("this operator is not supported for this key (use ") + allowed + ")");
  }

  Result<FilterValue> ParseValue(FilterKey key) {
    const Token& v = Next();
    FilterValue out;
    if (key == FilterKey::kVersionNumber) {
      std::string digits;
      if (v.type == Tok::kNumber) {
        digits = v.text;
      } else if (v.type == Tok::kString && !v.text.empty() && v.text.size() <= 18 &&
                 v.text.find_first_not_of("0123456789") == std::string::npos) {
        digits = v.text;
      } else {
        return ErrorAt(v.column, "expected an integer version number, got " + Describe(v));
      }
      out.is_int = true;
      out.number = std::stoll(digits);
      return out;
    }
    if (v.type != Tok::kString)
      return ErrorAt(v.column, "expected a quoted string, got " + Describe(v));
    if (v.text.size() > 5000) return ErrorAt(v.column, "string longer than 5000 bytes");
    out.text = v.text;
    return out;
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  FilterTarget target_;
};

class Compiler {
 public:
  explicit Compiler(bool sqlite) : sqlite_(sqlite) {}

  std::string Param(const FilterValue& v) {
    store::SqlParam p;
    p.name = "p" + std::to_string(q_.params.size());
    p.is_int = v.is_int;
    p.text = v.text;
    p.number = v.number;
    q_.params.push_back(p);
    return ":" + p.name;
  }
  std::string Param(const std::string& text) {
    FilterValue v;
    v.text = text;
    return Param(v);
  }

  std::string Compare(const std::string& col, const Comparison& c) {
    const FilterValue& v = c.values.front();
    switch (c.op) {
      case FilterOp::kEq:
        return col + " = " + Param(v);
      case FilterOp::kNe:
        return col + " <> " + Param(v);
      case FilterOp::kLt:
        return col + " < " + Param(v);
      case FilterOp::kLe:
        return col + " <= " + Param(v);
      case FilterOp::kGt:
        return col + " > " + Param(v);
      case FilterOp::kGe:
        return col + " >= " + Param(v);
      case FilterOp::kLike:
        if (sqlite_) return col + " GLOB " + Param(LikeToGlob(v.text));
        return col + " LIKE " + Param(v);
      case FilterOp::kILike:
        if (sqlite_) return "LOWER(" + col + ") LIKE LOWER(" + Param(v) + ") ESCAPE '\\'";
        return col + " ILIKE " + Param(v);
      case FilterOp::kIn:
      case FilterOp::kNotIn: {
        std::string list;
        for (const auto& x : c.values) list += (list.empty() ? "" : ", ") + Param(x);
        return col + (c.op == FilterOp::kIn ? " IN (" : " NOT IN (") + list + ")";
      }
    }
    return "1 = 0";
  }

  store::SqlQuery Compile(const Filter& f, FilterTarget target) {
    std::vector<std::string> parts;
    for (const Comparison& c : f.clauses) {
      switch (c.key) {
        case FilterKey::kName:
          parts.push_back(Compare("m.name", c));
          break;
        case FilterKey::kRunId:
          parts.push_back(Compare("v.run_id", c));
          break;
        case FilterKey::kSourcePath:
          parts.push_back(Compare("v.source", c));
          break;
        case FilterKey::kVersionNumber:
          parts.push_back(Compare("v.version", c));
          break;
        case FilterKey::kTag: {
          std::string key = Param(c.tag_key);
          if (target == FilterTarget::kModels)
            parts.push_back(
                "EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.model_id = m.id AND "
                "t.key = " +
                key + " AND " + Compare("t.value", c) + ")");
          else
            parts.push_back(
                "EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model_id = v.model_id AND "
                "t.version = v.version AND t.key = " +
                key + " AND " + Compare("t.value", c) + ")");
          break;
        }
      }
    }
    if (!parts.empty()) q_.where = "(" + Join(parts, ") AND (") + ")";
    return q_;
  }

 private:
  bool sqlite_;
  store::SqlQuery q_;
};

}  // namespace

Result<Filter> ParseFilter(const std::string& text, FilterTarget target) {
  if (text.size() > kMaxFilterLength) return InvalidArgument("invalid filter: longer than 16 KiB");
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
      return ErrorAt(static_cast<int>(i) + 1, "control characters are not allowed");
  }
  ASSIGN_OR_RETURN(std::vector<Token> toks, Tokenize(text));
  return Parser(std::move(toks), target).Parse();
}

store::SqlQuery CompileFilter(const Filter& filter, FilterTarget target, bool sqlite) {
  return Compiler(sqlite).Compile(filter, target);
}

std::string LikeToGlob(const std::string& like) {
  std::string out;
  for (size_t i = 0; i < like.size(); ++i) {
    char c = like[i];
    if (c == '\\' && i + 1 < like.size())
      c = like[++i];
    else if (c == '%') {
      out.push_back('*');
      continue;
    } else if (c == '_') {
      out.push_back('?');
      continue;
    }
    if (c == '*' || c == '?' || c == '[') {
      out += '[';
      out.push_back(c);
      out += ']';
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::string> CompileOrderBy(const std::vector<std::string>& order_by, FilterTarget target) {
  std::vector<std::string> parts;
  if (order_by.size() > 10) return InvalidArgument("order_by: at most 10 clauses");
  for (const std::string& clause : order_by) {
    std::vector<std::string> words;
    for (const auto& w : SplitAndTrim(clause, ' '))
      if (!w.empty()) words.push_back(w);
    if (words.empty() || words.size() > 2)
      return InvalidArgument("invalid order_by clause '" + clause +
                             "': expected '<column> [ASC|DESC]'");
    std::string col = words[0];
    if (col.size() >= 2 && col.front() == '`' && col.back() == '`')
      col = col.substr(1, col.size() - 2);
    std::string dir = "ASC";
    if (words.size() == 2) {
      dir = ToLower(words[1]) == "asc" ? "ASC" : ToLower(words[1]) == "desc" ? "DESC" : "";
      if (dir.empty())
        return InvalidArgument("invalid order_by clause '" + clause +
                               "': direction must be ASC or DESC");
    }
    std::string sql;
    std::string p = target == FilterTarget::kModels ? "m." : "v.";
    if (col == "name")
      sql = "m.name";
    else if (col == "last_updated_timestamp" || col == "timestamp")
      sql = p + "updated_at";
    else if (col == "creation_timestamp")
      sql = p + "created_at";
    else if (target == FilterTarget::kVersions && col == "version_number")
      sql = "v.version";
    else
      return InvalidArgument(
          "invalid order_by clause '" + clause + "': unknown column; valid: " +
          (target == FilterTarget::kModels
               ? "name, last_updated_timestamp, creation_timestamp"
               : "name, version_number, last_updated_timestamp, creation_timestamp"));
    parts.push_back(sql + " " + dir);
  }
  return Join(parts, ", ");
}

}  // namespace studio::registry
