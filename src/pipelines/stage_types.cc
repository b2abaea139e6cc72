// The parameter table per stage type (docs/pipelines.md "Stage types"). The stages themselves
// are built later; the table is what validation and `pipeline init` agree on.
#include <map>

#include "pipelines/internal/stage_types.h"
#include "pipelines/spec.h"

namespace studio::pipelines {
namespace internal {
namespace {

using T = ParamType;

const std::vector<std::string> kDriftMethods = {
    "auto", "ks", "chisquare", "z", "wasserstein", "psi", "jensenshannon", "kl_div", "hellinger"};

const std::map<std::string, std::vector<ParamSpec>>& Table() {
  static const std::map<std::string, std::vector<ParamSpec>> kTable = {
      {"data-ingestion",
       {{"source", T::kSource, true, {}, 0, 0, "path, allow-listed https:// URL or s3:// prefix"},
        {"format", T::kEnum, false, {"csv", "ndjson"}, 0, 0, "input format (default csv)"},
        {"max_rows", T::kInt, false, {}, 1, 1e12, "stop after this many rows"}}},
      {"data-preparation",
       {{"required_columns", T::kStringList, false, {}, 0, 10000, "columns that must exist"},
        {"casts", T::kStringMap, false, {"int", "float", "string", "bool"}, 0, 0, "column → type"},
        {"nulls", T::kEnum, false, {"drop", "fill", "keep"}, 0, 0, "null handling"},
        {"dedupe", T::kBool, false, {}, 0, 0, "drop duplicate rows"},
        {"reference_fraction",
         T::kNumber,
         false,
         {},
         0.01,
         0.99,
         "share of rows that form the reference split"},
        {"split_column", T::kString, false, {}, 0, 0, "split by this column's order instead"}}},
      {"feature-store",
       {{"features", T::kFeatureList, true, {}, 0, 0, "declared features: [{name, expr}]"},
        {"table", T::kString, false, {}, 0, 0, "feature table name (default: pipeline name)"}}},
      {"model-registry",
       {{"model_name", T::kString, true, {}, 0, 0, "registered model name"},
        {"package", T::kSource, true, {}, 0, 0, "model package directory or s3:// URI"},
        {"description", T::kString, false, {}, 0, 0, "version description"}}},
      {"model-deployment",
       {{"environment", T::kEnum, true, {"dev", "staging", "prod"}, 0, 0, "target environment"},
        {"strategy",
         T::kEnum,
         false,
         {"direct", "canary", "blue-green"},
         0,
         0,
         "rollout strategy (default direct)"},
        {"canary_percent", T::kInt, false, {}, 1, 99, "canary traffic share"}}},
      {"realtime-inference",
       {{"sample_rows", T::kInt, false, {}, 1, 10000, "rows sent to the endpoint"},
        {"max_latency_ms", T::kInt, false, {}, 1, 600000, "fail above this p99"},
        {"endpoint", T::kString, false, {}, 0, 0, "invocations URL (default: the deployment's)"}}},
      {"batch-inference",
       {{"output", T::kString, true, {}, 0, 0, "predictions artifact path"},
        {"batch_size", T::kInt, false, {}, 1, 1000000, "rows per batch"}}},
      {"model-monitoring",
       {{"method", T::kEnum, false, kDriftMethods, 0, 0, "drift method (default auto)"},
        {"drift_threshold", T::kNumber, false, {}, 0, 10, "per-feature threshold"},
        {"drift_share", T::kNumber, false, {}, 0.01, 1, "share of drifted features for drift"},
        {"fail_on_drift", T::kBool, false, {}, 0, 0, "fail the stage on dataset drift"}}},
      {"cicd-enforcement",
       {{"require_locks", T::kBool, false, {}, 0, 0, "fail when a locked stage changed"},
        {"status_context", T::kString, false, {}, 0, 0, "GitHub commit-status context"}}},
      {"command",
       {{"command", T::kStringList, true, {}, 1, 256, "argv of the process to run"},
        {"env", T::kStringMap, false, {}, 0, 0, "extra environment variables"}}},
  };
  return kTable;
}

}  // namespace

const std::vector<ParamSpec>* ParamsFor(const std::string& type) {
  auto it = Table().find(type);
  return it == Table().end() ? nullptr : &it->second;
}

const char* ParamTypeName(ParamType type) {
  switch (type) {
    case T::kString:
      return "a string";
    case T::kSource:
      return "a path, https:// URL or s3:// URI";
    case T::kInt:
      return "an integer";
    case T::kNumber:
      return "a number";
    case T::kBool:
      return "true or false";
    case T::kEnum:
      return "one of the listed values";
    case T::kStringList:
      return "a list of strings";
    case T::kStringMap:
      return "a mapping of strings";
    case T::kFeatureList:
      return "a list of {name, expr}";
  }
  return "";
}

}  // namespace internal

const std::vector<std::string>& CanonicalStageTypes() {
  static const std::vector<std::string> kTypes = {
      "data-ingestion",  "data-preparation", "feature-store",
      "model-registry",  "model-deployment", "realtime-inference",
      "batch-inference", "model-monitoring", "cicd-enforcement"};
  return kTypes;
}

bool IsKnownStageType(const std::string& type) { return internal::ParamsFor(type) != nullptr; }

std::string CanonicalSpecYaml(const std::string& name, const std::string& project) {
  return "# studio-pipeline.yaml: the canonical MLOps Studio pipeline (docs/pipelines.md).\n"
         "# Validate with: studio pipeline validate studio-pipeline.yaml\n"
         "apiVersion: " +
         std::string(kApiVersion) + "\nkind: " + std::string(kKind) +
         "\nmetadata:\n"
         "  name: " +
         name + "\n  project: " + project +
         "\nspec:\n"
         "  canonical: true\n"
         "  stages:\n"
         "    - id: ingest\n"
         "      type: data-ingestion\n"
         "      with:\n"
         "        source: data/training.csv\n"
         "        format: csv\n"
         "      retry: {max_attempts: 3, interval_seconds: 10, backoff_rate: 2.0}\n"
         "      timeout_seconds: 1800\n"
         "      resources: {cpu: 1, memory: 2048}\n"
         "    - id: prepare\n"
         "      type: data-preparation\n"
         "      needs: [ingest]\n"
         "      with:\n"
         "        nulls: drop\n"
         "        dedupe: true\n"
         "        reference_fraction: 0.5\n"
         "      timeout_seconds: 1800\n"
         "    - id: features\n"
         "      type: feature-store\n"
         "      needs: [prepare]\n"
         "      with:\n"
         "        features:\n"
         "          - {name: log_amount, expr: log(amount)}\n"
         "          - {name: amount_per_item, expr: amount / items}\n"
         "    - id: register\n"
         "      type: model-registry\n"
         "      needs: [features]\n"
         "      with:\n"
         "        model_name: " +
         name +
         "\n"
         "        package: model/\n"
         "    - id: deploy\n"
         "      type: model-deployment\n"
         "      needs: [register]\n"
         "      with:\n"
         "        environment: dev\n"
         "        strategy: direct\n"
         "      retry: {max_attempts: 2, interval_seconds: 30, backoff_rate: 2.0}\n"
         "    - id: realtime\n"
         "      type: realtime-inference\n"
         "      needs: [deploy]\n"
         "      with:\n"
         "        sample_rows: 20\n"
         "    - id: batch\n"
         "      type: batch-inference\n"
         "      needs: [deploy]\n"
         "      with:\n"
         "        output: predictions/batch.csv\n"
         "      resources: {cpu: 2, memory: 4096}\n"
         "    - id: monitor\n"
         "      type: model-monitoring\n"
         "      needs: [realtime, batch]\n"
         "      with:\n"
         "        method: auto\n"
         "        drift_share: 0.5\n"
         "    - id: enforce\n"
         "      type: cicd-enforcement\n"
         "      needs: [monitor]\n"
         "      with:\n"
         "        require_locks: true\n";
}

}  // namespace studio::pipelines
