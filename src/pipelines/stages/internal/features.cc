#include "pipelines/stages/internal/features.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "common/strings.h"

namespace studio::pipelines::stages::internal {
namespace {

constexpr size_t kMaxOneHotCategories = 100;

std::string Trim(std::string s) {
  auto sp = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && sp(s.front())) s.erase(0, 1);
  while (!s.empty() && sp(s.back())) s.pop_back();
  return s;
}

bool ValidColumnRef(const std::string& s) {
  return !s.empty() && s.find_first_of("()/,[]") == std::string::npos;
}

std::string Num(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : "";
}

Result<size_t> Col(const Table& t, const std::string& col, const std::string& feature) {
  int c = t.Find(col);
  if (c < 0) {
    std::string have;
    for (const auto& n : t.columns) have += (have.empty() ? "" : ", ") + n;
    return InvalidArgument("feature '" + feature + "': no column '" + col +
                           "' in the prepared data (columns: " + have + ")");
  }
  return static_cast<size_t>(c);
}

Status NeedNumeric(const Table& ref, const Table& cur, size_t c, const std::string& col,
                   const std::string& feature) {
  for (const Table* t : {&ref, &cur})
    for (size_t r = 0; r < t->rows.size(); ++r) {
      const std::string& f = t->rows[r][c];
      double d;
      if (!IsMissing(f) && !ParseFloat(f, &d))
        return InvalidArgument("feature '" + feature + "': column '" + col + "' is not numeric (" +
                               (t == &ref ? "reference" : "current") + " row " +
                               std::to_string(r + 1) + " has '" + f + "')");
    }
  return Status::Ok();
}

}  // namespace

Result<FeatureExpr> ParseFeatureExpr(const std::string& name, const std::string& expr_in) {
  FeatureExpr f;
  f.name = name;
  std::string expr = Trim(expr_in);
  auto bad = [&](const std::string& why) {
    return InvalidArgument("feature '" + name + "': cannot read expression '" + expr_in +
                           "': " + why +
                           " (expected col, a / b, log(x), one_hot(col) or "
                           "bucketize(col, [e1, e2, ...]))");
  };
  if (name.empty() || name.find_first_of(",\"\r\n") != std::string::npos)
    return InvalidArgument("feature names may not be empty or contain commas, quotes or newlines");
  size_t open = expr.find('(');
  if (open != std::string::npos) {
    if (expr.back() != ')') return bad("missing ')' at the end");
    std::string fn = ToLower(Trim(expr.substr(0, open)));
    std::string args = expr.substr(open + 1, expr.size() - open - 2);
    if (fn == "log") {
      f.kind = FeatureExpr::kLog;
      f.a = Trim(args);
    } else if (fn == "one_hot" || fn == "one-hot" || fn == "onehot") {
      f.kind = FeatureExpr::kOneHot;
      f.a = Trim(args);
    } else if (fn == "bucketize") {
      f.kind = FeatureExpr::kBucketize;
      size_t comma = args.find(',');
      if (comma == std::string::npos) return bad("bucketize needs a column and a list of edges");
      f.a = Trim(args.substr(0, comma));
      std::string list = Trim(args.substr(comma + 1));
      if (list.size() < 2 || list.front() != '[' || list.back() != ']')
        return bad("the edges must be a list like [0, 10, 100]");
      for (const auto& e : SplitAndTrim(list.substr(1, list.size() - 2), ',')) {
        double d;
        auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), d);
        if (e.empty() || ec != std::errc() || p != e.data() + e.size() || !std::isfinite(d))
          return bad("edge '" + e + "' is not a number");
        if (!f.edges.empty() && d <= f.edges.back())
          return bad("edges must be strictly increasing");
        f.edges.push_back(d);
      }
      if (f.edges.empty()) return bad("bucketize needs at least one edge");
    } else {
      return bad("unknown function '" + fn + "'");
    }
    if (!ValidColumnRef(f.a)) return bad("'" + f.a + "' is not a column name");
    return f;
  }
  if (size_t slash = expr.find('/'); slash != std::string::npos) {
    f.kind = FeatureExpr::kRatio;
    f.a = Trim(expr.substr(0, slash));
    f.b = Trim(expr.substr(slash + 1));
    if (!ValidColumnRef(f.a) || !ValidColumnRef(f.b)) return bad("a ratio is column / column");
    return f;
  }
  f.kind = FeatureExpr::kColumn;
  f.a = expr;
  if (!ValidColumnRef(f.a)) return bad("not a column name");
  return f;
}

Result<FeatureColumns> ComputeFeature(const FeatureExpr& f, const Table& ref, const Table& cur,
                                      Table* ref_out, Table* cur_out) {
  FeatureColumns out;
  ASSIGN_OR_RETURN(size_t a, Col(ref, f.a, f.name));
  size_t b = 0;
  if (f.kind == FeatureExpr::kRatio) {
    ASSIGN_OR_RETURN(b, Col(ref, f.b, f.name));
    RETURN_IF_ERROR(NeedNumeric(ref, cur, b, f.b, f.name));
  }
  if (f.kind == FeatureExpr::kRatio || f.kind == FeatureExpr::kLog ||
      f.kind == FeatureExpr::kBucketize)
    RETURN_IF_ERROR(NeedNumeric(ref, cur, a, f.a, f.name));

  if (f.kind == FeatureExpr::kOneHot) {
    std::set<std::string> cats;
    for (const auto& r : ref.rows)
      if (!IsMissing(r[a])) cats.insert(r[a]);
    if (cats.size() > kMaxOneHotCategories)
      return InvalidArgument("feature '" + f.name + "': column '" + f.a + "' has " +
                             std::to_string(cats.size()) + " categories (one-hot allows " +
                             std::to_string(kMaxOneHotCategories) + ")");
    out.categories.assign(cats.begin(), cats.end());
    for (const auto& c : out.categories) out.names.push_back(f.name + "_" + c);
    for (const auto& n : out.names)
      if (n.find_first_of("\r\n") != std::string::npos)
        return InvalidArgument("feature '" + f.name + "': a category contains a newline");
    for (auto [in, dst] : {std::pair{&ref, ref_out}, std::pair{&cur, cur_out}}) {
      for (size_t r = 0; r < in->rows.size(); ++r)
        for (const auto& c : out.categories)
          dst->rows[r].push_back(in->rows[r][a] == c ? "1" : "0");
    }
    for (const auto& n : out.names) {
      ref_out->columns.push_back(n);
      cur_out->columns.push_back(n);
    }
    return out;
  }

  out.names.push_back(f.name);
  ref_out->columns.push_back(f.name);
  cur_out->columns.push_back(f.name);
  for (auto [in, dst] : {std::pair{&ref, ref_out}, std::pair{&cur, cur_out}}) {
    int64_t& invalid = in == &ref ? out.invalid_reference : out.invalid_current;
    for (size_t r = 0; r < in->rows.size(); ++r) {
      const std::string& x = in->rows[r][a];
      std::string v;
      double d = 0, e = 0;
      switch (f.kind) {
        case FeatureExpr::kColumn:
          v = x;
          break;
        case FeatureExpr::kLog:
          if (ParseFloat(x, &d)) {
            if (d > 0 && std::isfinite(d))
              v = Num(std::log(d));
            else
              ++invalid;
          }
          break;
        case FeatureExpr::kRatio:
          if (ParseFloat(x, &d) && ParseFloat(in->rows[r][b], &e)) {
            if (e != 0 && std::isfinite(d / e))
              v = Num(d / e);
            else
              ++invalid;
          }
          break;
        case FeatureExpr::kBucketize:
          if (ParseFloat(x, &d) && !std::isnan(d))
            v = std::to_string(std::upper_bound(f.edges.begin(), f.edges.end(), d) -
                               f.edges.begin());
          break;
        case FeatureExpr::kOneHot:
          break;
      }
      dst->rows[r].push_back(std::move(v));
    }
  }
  return out;
}

}  // namespace studio::pipelines::stages::internal
