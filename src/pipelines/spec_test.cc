#include <gtest/gtest.h>

#include "pipelines/spec.h"

namespace studio::pipelines {
namespace {

std::string Canonical() { return CanonicalSpecYaml("churn", "demo"); }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

bool HasError(const Validation& v, const std::string& needle, int line = -1) {
  for (const auto& e : v.errors)
    if ((e.message.find(needle) != std::string::npos || e.path.find(needle) != std::string::npos) &&
        (line < 0 || e.line == line))
      return true;
  return false;
}

std::string Dump(const Validation& v) {
  std::string out;
  for (const auto& e : v.errors) out += FormatProblem("f", e) + "\n";
  return out;
}

TEST(PipelineSpecTest, InitSpecIsValidAndCanonical) {
  Validation v = ValidateSpec(Canonical());
  EXPECT_TRUE(v.valid()) << Dump(v);
  EXPECT_TRUE(v.spec.canonical);
  EXPECT_EQ(v.spec.stages.size(), 9u);
  EXPECT_EQ(v.spec.name, "churn");
  EXPECT_EQ(v.spec.project, "demo");
  for (const auto& s : v.spec.stages) EXPECT_EQ(s.hash.size(), 64u);
}

TEST(PipelineSpecTest, HashIgnoresLockedFlagButNotParameters) {
  Validation a = ValidateSpec(Canonical());
  Validation b = ValidateSpec(Replace(Canonical(), "        sample_rows: 20\n",
                                      "        sample_rows: 20\n      locked: true\n"));
  Validation c = ValidateSpec(Replace(Canonical(), "sample_rows: 20", "sample_rows: 21"));
  ASSERT_TRUE(b.valid()) << Dump(b);
  EXPECT_EQ(a.spec.stages[5].hash, b.spec.stages[5].hash);
  EXPECT_TRUE(b.spec.stages[5].locked);
  EXPECT_NE(a.spec.stages[5].hash, c.spec.stages[5].hash);
  EXPECT_EQ(ChangedFields(a.spec.stages[5].definition, c.spec.stages[5].definition),
            std::vector<std::string>{"with.sample_rows"});
}

TEST(PipelineSpecTest, SyntaxErrorsHaveLineAndColumn) {
  Validation v = ValidateSpec("apiVersion: x\nkind: [unclosed\n");
  ASSERT_EQ(v.errors.size(), 1u);
  EXPECT_GT(v.errors[0].line, 0);
  EXPECT_NE(v.errors[0].message.find("YAML syntax error"), std::string::npos);
}

TEST(PipelineSpecTest, UnknownFieldsAndParametersAreNamed) {
  Validation v = ValidateSpec(Replace(Canonical(), "      timeout_seconds: 1800\n      resources",
                                      "      timeout_secs: 1800\n      resources"));
  EXPECT_TRUE(HasError(v, "unknown field 'timeout_secs'", 17)) << Dump(v);
  v = ValidateSpec(Replace(Canonical(), "format: csv", "fromat: csv"));
  EXPECT_TRUE(HasError(v, "unknown parameter 'fromat' for stage type 'data-ingestion'")) << Dump(v);
  v = ValidateSpec(Replace(Canonical(), "apiVersion:", "extra: 1\napiVersion:"));
  EXPECT_TRUE(HasError(v, "unknown field 'extra'")) << Dump(v);
}

TEST(PipelineSpecTest, WrongTypesAndRanges) {
  struct Case {
    std::string from, to, needle;
  } cases[] = {
      {"sample_rows: 20", "sample_rows: lots", "must be an integer"},
      {"sample_rows: 20", "sample_rows: \"20\"", "must be an integer"},
      {"sample_rows: 20", "sample_rows: 0", "between 1 and 10000"},
      {"format: csv", "format: parquet", "must be one of csv, ndjson"},
      {"dedupe: true", "dedupe: maybe", "true or false"},
      {"max_attempts: 3", "max_attempts: 11", "between 1 and 10"},
      {"backoff_rate: 2.0", "backoff_rate: nan", "must be a number"},
      {"timeout_seconds: 1800\n      resources", "timeout_seconds: 0\n      resources",
       "between 1 and 86400"},
      {"cpu: 1, memory: 2048", "cpu: 3, memory: 2048", "0.25, 0.5, 1, 2, 4, 8, 16"},
      {"cpu: 1, memory: 2048", "cpu: 1, memory: 100", "between 512"},
      {"environment: dev", "environment: qa", "dev, staging, prod"},
      {"source: data/training.csv", "source: ../../etc/passwd", "'..'"},
      {"source: data/training.csv", "source: ftp://x/y", "only paths"},
      {"source: data/training.csv", "source: [a, b]", "must be a string"},
      {"          - {name: log_amount, expr: log(amount)}\n", "          - {name: log_amount}\n",
       "'name' and 'expr'"},
      {"        model_name: churn\n", "", "missing required parameter 'model_name'"},
      {"  canonical: true", "  canonical: yes-please", "true or false"},
      {"needs: [ingest]", "needs: ingest", "list of strings"},
  };
  for (const auto& c : cases) {
    Validation v = ValidateSpec(Replace(Canonical(), c.from, c.to));
    EXPECT_TRUE(HasError(v, c.needle)) << c.to << "\n" << Dump(v);
    for (const auto& e : v.errors) EXPECT_GT(e.line, 0) << c.to << ": " << e.message;
  }
}

TEST(PipelineSpecTest, GraphErrors) {
  Validation v = ValidateSpec(Replace(Canonical(), "needs: [ingest]", "needs: [ingestion]"));
  EXPECT_TRUE(HasError(v, "needs 'ingestion', but no stage has that id")) << Dump(v);
  v = ValidateSpec(Replace(Canonical(), "- id: prepare", "- id: ingest"));
  EXPECT_TRUE(HasError(v, "duplicate stage id 'ingest'")) << Dump(v);
  // A cycle, named.
  std::string cyc =
      Replace(Canonical(), "    - id: ingest\n      type: data-ingestion\n",
              "    - id: ingest\n      type: data-ingestion\n      needs: [enforce]\n");
  v = ValidateSpec(cyc);
  EXPECT_TRUE(HasError(v, "cycle: ingest -> enforce -> monitor")) << Dump(v);
}

TEST(PipelineSpecTest, CanonicalOrderAndRequiredStages) {
  // features skips prepare: still after ingest, but not after data-preparation.
  Validation v = ValidateSpec(Replace(Canonical(), "needs: [prepare]", "needs: [ingest]"));
  EXPECT_TRUE(HasError(v, "stage 'features' (feature-store) must run after 'prepare'")) << Dump(v);
  // the inference stages run in parallel
  v = ValidateSpec(Replace(Canonical(), "      needs: [deploy]\n      with:\n        output",
                           "      needs: [realtime]\n      with:\n        output"));
  EXPECT_TRUE(HasError(v, "run in parallel")) << Dump(v);
  // a missing stage
  std::string no_batch = Replace(Canonical(),
                                 "    - id: batch\n      type: batch-inference\n      needs: "
                                 "[deploy]\n      with:\n        output: predictions/batch.csv\n"
                                 "      resources: {cpu: 2, memory: 4096}\n",
                                 "");
  no_batch = Replace(no_batch, "needs: [realtime, batch]", "needs: [realtime]");
  v = ValidateSpec(no_batch);
  EXPECT_TRUE(HasError(v, "missing its 'batch-inference' stage")) << Dump(v);
  // ... which is fine without canonical: true
  v = ValidateSpec(Replace(no_batch, "canonical: true", "canonical: false"));
  EXPECT_TRUE(v.valid()) << Dump(v);
}

TEST(PipelineSpecTest, CommandStagesFollowThePolicy) {
  std::string spec = Canonical() +
                     "    - id: notify\n      type: command\n      needs: [enforce]\n"
                     "      with:\n        command: [echo, done]\n";
  ValidateOptions deny;
  Validation v = ValidateSpec(spec, deny);
  EXPECT_TRUE(HasError(v, "command stages are not allowed")) << Dump(v);
  ValidateOptions allow;
  allow.allow_command_stages = true;
  EXPECT_TRUE(ValidateSpec(spec, allow).valid());
  ValidateOptions unknown;
  unknown.allow_command_stages = true;
  unknown.command_policy_known = false;
  v = ValidateSpec(spec, unknown);
  EXPECT_TRUE(v.valid());
  EXPECT_EQ(v.warnings.size(), 1u);
}

TEST(PipelineSpecTest, HostileInputs) {
  // Size cap.
  Validation v = ValidateSpec(std::string(kMaxSpecBytes + 1, '#'));
  EXPECT_TRUE(HasError(v, "the limit is")) << Dump(v);
  // Billion laughs: aliases expand exponentially when walked.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'k'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + static_cast<char>(c - 1) + ", *" +
            static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + ", *" +
            static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + "]\n";
  v = ValidateSpec(bomb);
  EXPECT_TRUE(HasError(v, "aliases count")) << Dump(v);
  // Deep nesting.
  v = ValidateSpec(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_FALSE(v.valid());
  // Not a mapping, empty, NUL bytes, scalars where mappings belong.
  EXPECT_TRUE(HasError(ValidateSpec(""), "empty"));
  EXPECT_TRUE(HasError(ValidateSpec("- 1\n- 2\n"), "must be a mapping"));
  EXPECT_TRUE(HasError(ValidateSpec(std::string("a: b\0c", 6)), "NUL"));
  v = ValidateSpec("apiVersion: mlops-studio/v1\nkind: Pipeline\nmetadata: 3\nspec: {stages: 4}\n");
  EXPECT_TRUE(HasError(v, "metadata")) << Dump(v);
  EXPECT_TRUE(HasError(v, "non-empty list of stages")) << Dump(v);
  v = ValidateSpec("apiVersion: mlops-studio/v1\nkind: Pipeline\n");
  EXPECT_TRUE(HasError(v, "missing required field 'metadata'"));
  EXPECT_TRUE(HasError(v, "missing required field 'spec'"));
  // Invalid UTF-8 (it would end up in messages and the definition JSON).
  EXPECT_TRUE(HasError(ValidateSpec(Replace(Canonical(), "data/training.csv", "data/\xff\xfe.csv")),
                       "UTF-8"));
  EXPECT_TRUE(
      ValidateSpec(Replace(Canonical(), "data/training.csv", "data/caf\xc3\xa9.csv")).valid());
  // One document only; an empty `with:` is no parameters.
  EXPECT_TRUE(HasError(ValidateSpec(Canonical() + "---\nkind: Other\n"), "one YAML document"));
  Validation empty_with =
      ValidateSpec(Replace(Canonical(), "      with:\n        sample_rows: 20\n", "      with:\n"));
  EXPECT_TRUE(empty_with.valid()) << Dump(empty_with);
  // Duplicate keys.
  v = ValidateSpec(Replace(Canonical(), "kind: Pipeline\n", "kind: Pipeline\nkind: Pipeline\n"));
  EXPECT_TRUE(HasError(v, "duplicate key 'kind'")) << Dump(v);
}

}  // namespace
}  // namespace studio::pipelines
