#include "registry/filter.h"

#include <gtest/gtest.h>

namespace studio::registry {
namespace {

Filter Parse(const std::string& text, FilterTarget target = FilterTarget::kVersions) {
  auto f = ParseFilter(text, target);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : Filter{};
}

std::string Error(const std::string& text, FilterTarget target = FilterTarget::kVersions) {
  auto f = ParseFilter(text, target);
  EXPECT_FALSE(f.ok()) << text;
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), ErrorCode::kInvalidParameterValue) << text;
  return f.status().message();
}

TEST(FilterParserTest, Empty) {
  EXPECT_TRUE(Parse("").clauses.empty());
  EXPECT_TRUE(Parse("   ").clauses.empty());
}

TEST(FilterParserTest, Comparisons) {
  Filter f = Parse("name LIKE '%fraud%' AND tags.team = 'risk' and version_number >= 3");
  ASSERT_EQ(f.clauses.size(), 3u);
  EXPECT_EQ(f.clauses[0].key, FilterKey::kName);
  EXPECT_EQ(f.clauses[0].op, FilterOp::kLike);
  EXPECT_EQ(f.clauses[0].values[0].text, "%fraud%");
  EXPECT_EQ(f.clauses[1].key, FilterKey::kTag);
  EXPECT_EQ(f.clauses[1].tag_key, "team");
  EXPECT_EQ(f.clauses[1].column, 25);
  EXPECT_EQ(f.clauses[2].key, FilterKey::kVersionNumber);
  EXPECT_EQ(f.clauses[2].op, FilterOp::kGe);
  EXPECT_TRUE(f.clauses[2].values[0].is_int);
  EXPECT_EQ(f.clauses[2].values[0].number, 3);
}

TEST(FilterParserTest, QuotingAndBackquotes) {
  Filter f = Parse("tags.`my key` = 'it''s' AND `name` ILIKE \"A%\" AND tags.\"x y\" != 'a\\'b'");
  ASSERT_EQ(f.clauses.size(), 3u);
  EXPECT_EQ(f.clauses[0].tag_key, "my key");
  EXPECT_EQ(f.clauses[0].values[0].text, "it's");
  EXPECT_EQ(f.clauses[1].key, FilterKey::kName);
  EXPECT_EQ(f.clauses[1].op, FilterOp::kILike);
  EXPECT_EQ(f.clauses[1].values[0].text, "A%");
  EXPECT_EQ(f.clauses[2].tag_key, "x y");
  EXPECT_EQ(f.clauses[2].op, FilterOp::kNe);
  EXPECT_EQ(f.clauses[2].values[0].text, "a'b");
}

TEST(FilterParserTest, InLists) {
  Filter f = Parse("run_id IN ('a', 'b','c') AND source_path = 's3://b/p'");
  ASSERT_EQ(f.clauses.size(), 2u);
  EXPECT_EQ(f.clauses[0].op, FilterOp::kIn);
  ASSERT_EQ(f.clauses[0].values.size(), 3u);
  EXPECT_EQ(f.clauses[0].values[2].text, "c");
  EXPECT_EQ(Parse("run_id NOT IN ('a')").clauses[0].op, FilterOp::kNotIn);
}

TEST(FilterParserTest, ErrorsNameTheColumn) {
  EXPECT_EQ(Error("name = fraud"),
            "invalid filter: at column 8: expected a quoted string, got "
            "'fraud'");
  EXPECT_NE(Error("name = 'abc").find("at column 8: unterminated string"), std::string::npos);
  EXPECT_NE(Error("name = 'a' OR 1=1").find("at column 12: OR is not supported"),
            std::string::npos);
  EXPECT_NE(Error("owner = 'x'").find("at column 1: unknown key 'owner'"), std::string::npos);
  EXPECT_NE(Error("name = 'a' AND").find("at column 15"), std::string::npos);
  EXPECT_NE(Error("name == 'a'").find("at column 6"), std::string::npos);
  EXPECT_NE(Error("name = 'a'; DROP TABLE x").find("at column 11: unexpected character ';'"),
            std::string::npos);
  EXPECT_NE(Error("version_number LIKE '1'").find("not supported"), std::string::npos);
  EXPECT_NE(Error("name IN ('a')").find("not supported"), std::string::npos);
  EXPECT_NE(Error("run_id IN ('a' 'b')").find("expected ',' or ')'"), std::string::npos);
  EXPECT_NE(Error("version_number = 'x'").find("integer"), std::string::npos);
  EXPECT_NE(Error("tags. = 'x'").find("tag key"), std::string::npos);
  EXPECT_NE(Error("`name = 'x'").find("unterminated backquoted"), std::string::npos);
  // Keys of versions are not keys of models.
  EXPECT_NE(Error("run_id = 'r'", FilterTarget::kModels).find("unknown key"), std::string::npos);
  EXPECT_NE(Error("metrics.x = 'r'").find("unknown key prefix"), std::string::npos);
}

TEST(FilterParserTest, MaliciousInputStaysAValue) {
  // The classic injection is a single quoted value; only the value changes, never the SQL.
  Filter f = Parse("name = ''' OR 1=1 --'");
  ASSERT_EQ(f.clauses.size(), 1u);
  EXPECT_EQ(f.clauses[0].values[0].text, "' OR 1=1 --");
  store::SqlQuery q = CompileFilter(f, FilterTarget::kVersions, true);
  EXPECT_EQ(q.where, "(m.name = :p0)");
  ASSERT_EQ(q.params.size(), 1u);
  EXPECT_EQ(q.params[0].text, "' OR 1=1 --");
  Error("name = '' OR 1=1");
  Error(std::string("name = 'a\0b'", 12));
}

TEST(FilterCompileTest, ParameterizedOnBothDialects) {
  Filter f = Parse("name LIKE 'a%' AND tags.k ILIKE '%V%' AND run_id IN ('r1','r2')");
  store::SqlQuery sqlite = CompileFilter(f, FilterTarget::kVersions, true);
  EXPECT_EQ(sqlite.where,
            "(m.name GLOB :p0) AND (EXISTS (SELECT 1 FROM model_version_tags t WHERE t.model_id "
            "= v.model_id AND t.version = v.version AND t.key = :p1 AND LOWER(t.value) LIKE "
            "LOWER(:p2) ESCAPE '\\')) AND (v.run_id IN (:p3, :p4))");
  EXPECT_EQ(sqlite.params[0].text, "a*");
  store::SqlQuery pg = CompileFilter(f, FilterTarget::kVersions, false);
  EXPECT_NE(pg.where.find("m.name LIKE :p0"), std::string::npos);
  EXPECT_NE(pg.where.find("t.value ILIKE :p2"), std::string::npos);
  EXPECT_EQ(pg.params[0].text, "a%");
  store::SqlQuery models =
      CompileFilter(Parse("tags.t = 'x'", FilterTarget::kModels), FilterTarget::kModels, false);
  EXPECT_NE(models.where.find("registered_model_tags t WHERE t.model_id = m.id"),
            std::string::npos);
}

TEST(FilterCompileTest, LikeToGlob) {
  EXPECT_EQ(LikeToGlob("%a_b%"), "*a?b*");
  EXPECT_EQ(LikeToGlob("a*b?c[d"), "a[*]b[?]c[[]d");
  EXPECT_EQ(LikeToGlob("100\\%"), "100%");
  EXPECT_EQ(LikeToGlob("x\\_y"), "x_y");
}

TEST(FilterCompileTest, OrderBy) {
  EXPECT_EQ(*CompileOrderBy({"name", "last_updated_timestamp DESC"}, FilterTarget::kModels),
            "m.name ASC, m.updated_at DESC");
  EXPECT_EQ(*CompileOrderBy({"version_number desc"}, FilterTarget::kVersions), "v.version DESC");
  EXPECT_EQ(*CompileOrderBy({}, FilterTarget::kModels), "");
  EXPECT_FALSE(CompileOrderBy({"version_number"}, FilterTarget::kModels).ok());
  EXPECT_FALSE(CompileOrderBy({"name; DROP TABLE x"}, FilterTarget::kModels).ok());
  EXPECT_FALSE(CompileOrderBy({"name SIDEWAYS"}, FilterTarget::kModels).ok());
  EXPECT_FALSE(CompileOrderBy({"name ASC extra"}, FilterTarget::kModels).ok());
}

}  // namespace
}  // namespace studio::registry
