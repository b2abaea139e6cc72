#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/strings.h"
#include "serving/core/model_runtime.h"

namespace studio::serving {

// Element i of `t` as JSON (numbers, booleans, strings). Float32 values are widened to double,
// so the text equals what Python servers print for the same prediction.
void AppendJsonElement(std::string& out, const Tensor& t, int64_t i);
// `"name":"…","version":"…"` (no braces) for the model reference in responses.
void AppendNameVersion(std::string& out, const std::string& name, const std::string& version);

// The value of output `t` for one row, as JSON: a scalar for [N] and [N,1] tensors, a list for
// [N,K], an object {label: p} for ZipMap outputs.
void AppendRowValue(std::string& out, const Tensor& t, int64_t row);

// Records-oriented predictions, MLflow's shape: one value per row for a single-output model,
// {output_name: value} per row otherwise. Appends the JSON array.
void AppendPredictions(std::string& out, const std::vector<Tensor>& outputs,
                       const std::vector<TensorSpec>& specs);

// One row for streaming batch output: an NDJSON line {"prediction": v} (single output) or
// {"name": v, ...}, or a CSV line.
void AppendNdjsonRow(std::string& out, const std::vector<Tensor>& outputs,
                     const std::vector<TensorSpec>& specs, int64_t row);
void AppendCsvHeader(std::string& out, const std::vector<Tensor>& outputs,
                     const std::vector<TensorSpec>& specs);
void AppendCsvRow(std::string& out, const std::vector<Tensor>& outputs, int64_t row);

// Rows in an output tensor (its first dimension; 1 for scalars).
int64_t OutputRows(const Tensor& t);

}  // namespace studio::serving
