#include "monitoring/csv/csv_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

namespace studio::monitoring {
namespace {

Dataset MustParse(std::string_view csv, const CsvReadOptions& options = {}) {
  auto result = ParseCsv(csv, "t.csv", options);
  EXPECT_TRUE(result.ok()) << result.status().message();
  return result.ok() ? std::move(result).value() : Dataset{};
}

std::string ParseError(std::string_view csv, const CsvReadOptions& options = {}) {
  auto result = ParseCsv(csv, "t.csv", options);
  EXPECT_FALSE(result.ok());
  return result.ok() ? "" : result.status().message();
}

TEST(CsvReader, TypesColumnsAndKeepsOrder) {
  Dataset d = MustParse("a,b,c\n1,x,2.5\n-3,y,1e3\n");
  ASSERT_EQ(d.columns.size(), 3u);
  EXPECT_EQ(d.rows, 2);
  EXPECT_EQ(d.columns[0].name, "a");
  EXPECT_EQ(d.columns[0].kind, ColumnKind::kNumeric);
  EXPECT_EQ(d.columns[0].numeric, (std::vector<double>{1, -3}));
  EXPECT_EQ(d.columns[1].kind, ColumnKind::kCategorical);
  EXPECT_EQ(d.columns[1].categorical, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(d.columns[2].numeric, (std::vector<double>{2.5, 1000}));
}

TEST(CsvReader, NumbersAreCorrectlyRounded) {
  const char* fields[] = {"0.1",
                          "-0.000001",
                          "123456.789",
                          "9007199254740993",
                          "1.7976931348623157e308",
                          "4.9e-324",
                          "0.30000000000000004",
                          "+7",
                          "1.",
                          ".5",
                          " 2.5",
                          "12345678901234567890"};
  std::string csv = "x\n";
  for (const char* f : fields) csv += std::string(f) + "\n";
  Dataset d = MustParse(csv);
  ASSERT_EQ(d.columns[0].kind, ColumnKind::kNumeric);
  for (size_t i = 0; i < std::size(fields); ++i) {
    EXPECT_EQ(d.columns[0].numeric[i], std::strtod(fields[i], nullptr)) << fields[i];
  }
  EXPECT_TRUE(std::signbit(MustParse("x\n-0.0\n").columns[0].numeric[0]));
}

TEST(CsvReader, RfcQuoting) {
  Dataset d = MustParse(
      "name,\"note, with comma\"\n"
      "\"a \"\"quoted\"\" word\",\"line one\nline two\"\n"
      "plain,\"\"\n");
  ASSERT_EQ(d.columns.size(), 2u);
  EXPECT_EQ(d.columns[1].name, "note, with comma");
  EXPECT_EQ(d.columns[0].categorical[0], "a \"quoted\" word");
  EXPECT_EQ(d.columns[1].categorical[0], "line one\nline two");
  EXPECT_EQ(d.columns[1].categorical[1], "");  // quoted empty = missing
  EXPECT_EQ(d.rows, 2);
}

TEST(CsvReader, CrlfBomAndBlankLines) {
  Dataset d = MustParse("\xEF\xBB\xBFid,v\r\n1,a\r\n\r\n2,b\r\n");
  EXPECT_EQ(d.columns[0].name, "id");
  EXPECT_EQ(d.columns[0].numeric, (std::vector<double>{1, 2}));
  EXPECT_EQ(d.columns[1].categorical, (std::vector<std::string>{"a", "b"}));
  // No newline at the end of the last row.
  EXPECT_EQ(MustParse("a\n1\n2").columns[0].numeric, (std::vector<double>{1, 2}));
}

TEST(CsvReader, MissingValues) {
  Dataset d = MustParse("n,c\n1,a\n,\nNA,N/A\nnan,null\n4,b\n");
  ASSERT_EQ(d.columns[0].kind, ColumnKind::kNumeric);
  EXPECT_EQ(d.columns[0].numeric.size(), 5u);
  EXPECT_TRUE(std::isnan(d.columns[0].numeric[1]));
  EXPECT_TRUE(std::isnan(d.columns[0].numeric[2]));
  EXPECT_TRUE(std::isnan(d.columns[0].numeric[3]));
  EXPECT_EQ(d.columns[0].numeric[4], 4);
  ASSERT_EQ(d.columns[1].kind, ColumnKind::kCategorical);
  EXPECT_EQ(d.columns[1].categorical, (std::vector<std::string>{"a", "", "", "", "b"}));
  // All missing: numeric (pandas reads float64 NaN).
  EXPECT_EQ(MustParse("a,b\n,1\n,2\n").columns[0].kind, ColumnKind::kNumeric);
  // Trailing delimiter = one more (empty) field.
  Dataset t = MustParse("a,b\n1,\n");
  EXPECT_TRUE(std::isnan(t.columns[1].numeric[0]));
}

TEST(CsvReader, RaggedRowsNameTheLine) {
  EXPECT_EQ(ParseError("a,b,c\n1,2,3\n4,5\n"),
            "t.csv:3: expected 3 fields (as in the header), found 2");
  EXPECT_EQ(ParseError("a,b\n1,2\n\"x\ny\",2\n3,4,5\n"),
            "t.csv:5: expected 2 fields (as in the header), found 3");
  EXPECT_NE(ParseError("a,b\n1,\"open\n2,3\n").find("t.csv:2: unterminated quoted field"),
            std::string::npos);
  EXPECT_NE(ParseError("a,b\n1,\"x\"y\n").find("t.csv:2: unexpected character after the closing"),
            std::string::npos);
}

TEST(CsvReader, HeaderRules) {
  EXPECT_EQ(ParseError(""), "t.csv: empty file (a header row is required)");
  EXPECT_EQ(ParseError("\n\r\n"), "t.csv: empty file (a header row is required)");
  EXPECT_EQ(ParseError("a,b,a\n1,2,3\n"), "t.csv:1: duplicate column name 'a' in the header");
  Dataset d = MustParse(",x\n0,1\n");
  EXPECT_EQ(d.columns[0].name, "Unnamed: 0");
  Dataset empty = MustParse("a,b\n");
  EXPECT_EQ(empty.rows, 0);
  EXPECT_EQ(empty.columns.size(), 2u);
}

TEST(CsvReader, ColumnsSubsetAndKindOverrides) {
  CsvReadOptions o;
  o.columns = {"c", "a"};
  o.kinds = {{"a", ColumnKind::kCategorical}};
  Dataset d = MustParse("a,b,c\n1,x,2\n1.0,y,3\n", o);
  ASSERT_EQ(d.columns.size(), 2u);
  EXPECT_EQ(d.columns[0].name, "c");
  EXPECT_EQ(d.columns[1].name, "a");
  EXPECT_EQ(d.columns[1].kind, ColumnKind::kCategorical);
  EXPECT_EQ(d.columns[1].categorical, (std::vector<std::string>{"1", "1.0"}));

  CsvReadOptions unknown;
  unknown.columns = {"zz"};
  EXPECT_EQ(ParseError("a,b\n1,2\n", unknown), "t.csv: no column 'zz' (columns: a, b)");
  CsvReadOptions unknown_kind;
  unknown_kind.kinds = {{"q", ColumnKind::kNumeric}};
  EXPECT_EQ(ParseError("a,b\n1,2\n", unknown_kind), "t.csv: no column 'q' (columns: a, b)");

  CsvReadOptions numeric;
  numeric.kinds = {{"b", ColumnKind::kNumeric}};
  EXPECT_EQ(ParseError("a,b\n1,2\n3,oops\n", numeric),
            "t.csv:3: column 2: 'oops' is not a number, but the column was declared numeric");
}

TEST(CsvReader, LateNonNumberMakesTheColumnCategorical) {
  std::string csv = "id,code\n";
  for (int i = 0; i < 5000; ++i) csv += std::to_string(i) + "," + std::to_string(i % 7) + "\n";
  csv += "5000,X7\n";
  Dataset d = MustParse(csv);
  EXPECT_EQ(d.columns[0].kind, ColumnKind::kNumeric);
  ASSERT_EQ(d.columns[1].kind, ColumnKind::kCategorical);
  ASSERT_EQ(d.columns[1].categorical.size(), 5001u);
  EXPECT_EQ(d.columns[1].categorical[8], "1");
  EXPECT_EQ(d.columns[1].categorical[5000], "X7");
}

TEST(CsvReader, HugeField) {
  std::string big(5'000'000, 'z');
  Dataset d = MustParse("a,b\n\"" + big + "\",1\nq,2\n");
  EXPECT_EQ(d.columns[0].categorical[0].size(), big.size());
  EXPECT_EQ(d.columns[1].numeric, (std::vector<double>{1, 2}));
}

TEST(CsvReader, InvalidUtf8IsReadAsLatin1) {
  Dataset d = MustParse("city\nM\xFCnchen\nM\xC3\xBCnchen\n\xE2\x82\xAC\n");
  EXPECT_EQ(d.columns[0].categorical[0], "M\xC3\xBCnchen");  // Latin-1 ü → U+00FC
  EXPECT_EQ(d.columns[0].categorical[1], "M\xC3\xBCnchen");  // valid UTF-8 kept
  EXPECT_EQ(d.columns[0].categorical[2], "\xE2\x82\xAC");
}

// Enough bytes for several threads; quoted newlines near the split points must not confuse it.
TEST(CsvReader, ThreadsGiveTheSameResultAsOne) {
  std::string csv = "x,label,y\n";
  for (int i = 0; i < 200000; ++i) {
    csv += std::to_string(i * 0.25) + ",";
    csv += (i % 3 == 0) ? "\"multi\nline, " + std::to_string(i % 5) + "\"" : "plain";
    csv += "," + std::to_string(-i) + "\n";
  }
  CsvReadOptions one, four;
  one.threads = 1;
  four.threads = 4;
  Dataset a = MustParse(csv, one), b = MustParse(csv, four);
  ASSERT_EQ(a.rows, 200000);
  ASSERT_EQ(b.rows, 200000);
  EXPECT_EQ(a.columns[0].numeric, b.columns[0].numeric);
  EXPECT_EQ(a.columns[1].categorical, b.columns[1].categorical);
  EXPECT_EQ(a.columns[2].numeric, b.columns[2].numeric);
  // A stray quote inside an unquoted field breaks quote parity; the result must not change.
  std::string stray = "a,b\n";
  for (int i = 0; i < 200000; ++i) stray += (i == 10 ? "5 in\"," : "v,") + std::to_string(i) + "\n";
  Dataset c = MustParse(stray, one), e = MustParse(stray, four);
  EXPECT_EQ(c.columns[1].numeric, e.columns[1].numeric);
  EXPECT_EQ(e.rows, 200000);
}

TEST(CsvReader, ReadsFilesAndNamesThemInErrors) {
  std::string path = ::testing::TempDir() + "csv_reader_test_" + std::to_string(getpid()) + ".csv";
  {
    std::ofstream out(path);
    out << "a,b\n1,2\n3\n";
  }
  auto r = ReadCsvFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ":3: expected 2 fields (as in the header), found 1");
  std::remove(path.c_str());
  auto missing = ReadCsvFile("/nonexistent/x.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "cannot open /nonexistent/x.csv: No such file or directory");
}

}  // namespace
}  // namespace studio::monitoring
