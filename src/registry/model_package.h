#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace studio::registry {

struct PackageFile {
  std::string path;  // relative, '/'-separated
  int64_t size = 0;
  std::string sha256;
};

// A model package: a directory with an MLflow `MLmodel` file and the model file(s) it names.
struct ModelPackage {
  std::string flavor;              // "xgboost" or "onnx" (the first servable flavor found)
  std::string model_file;          // the flavor's data file, relative to the package root
  std::string flavor_version;      // xgb_version / onnx_version when recorded
  std::string signature_inputs;    // MLflow's JSON string (column or tensor specs), or ""
  std::string signature_outputs;   // idem
  std::vector<PackageFile> files;  // every regular file, sorted, with SHA-256
  int64_t total_bytes = 0;
};

// Reads and validates the package in `dir`: MLmodel parses; it has an xgboost or onnx flavor
// whose data file exists inside the package; signature specs, when present, are JSON arrays
// of column specs ({"name","type"}) or tensor specs ({"type":"tensor","tensor-spec":{...}});
// no symlinks, devices or paths outside `dir`. Errors name the file and the problem.
Result<ModelPackage> ReadModelPackage(const std::string& dir);

// A package already in an artifact store (e.g. s3://bucket/prefix): MLmodel (at most 1 MiB) is
// read and every file streamed once to record its SHA-256; nothing is copied. At most 10000
// files; the flavor's data file must be among them.
Result<ModelPackage> ReadRemoteModelPackage(const std::string& uri);

// Validates the text of an MLmodel file alone (the server checks uploads with it).
Result<ModelPackage> ParseMlmodel(const std::string& mlmodel_yaml);

}  // namespace studio::registry
