#include "serving/server/predictions.h"

#include <charconv>
#include <cmath>

#include "common/strings.h"

namespace studio::serving {
namespace {

int64_t RowWidth(const Tensor& t) {
  if (t.rank() <= 1) return 1;
  return t.size() / std::max<int64_t>(t.dim(0), 1);
}

}  // namespace

void AppendJsonElement(std::string& out, const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kString:
      AppendJsonString(out, t.strings()[i]);
      break;
    case DType::kBool:
      out += t.data<uint8_t>()[i] ? "true" : "false";
      break;
    case DType::kInt64:
      out += std::to_string(t.data<int64_t>()[i]);
      break;
    case DType::kInt32:
      out += std::to_string(t.data<int32_t>()[i]);
      break;
    case DType::kUInt64:
      out += std::to_string(t.data<uint64_t>()[i]);
      break;
    case DType::kFloat32:
      AppendJsonNumber(out, t.data<float>()[i]);
      break;
    case DType::kFloat64:
      AppendJsonNumber(out, t.data<double>()[i]);
      break;
    default:
      AppendJsonNumber(out, t.AsDouble(i));
      break;
  }
}

void AppendNameVersion(std::string& out, const std::string& name, const std::string& version) {
  out += "\"name\":";
  AppendJsonString(out, name);
  out += ",\"version\":";
  AppendJsonString(out, version);
}

namespace {

std::string OutputName(const std::vector<TensorSpec>& specs, size_t i) {
  return i < specs.size() ? specs[i].name : "output_" + std::to_string(i);
}

}  // namespace

int64_t OutputRows(const Tensor& t) { return t.rank() == 0 ? 1 : t.dim(0); }

void AppendRowValue(std::string& out, const Tensor& t, int64_t row) {
  const int64_t width = RowWidth(t);
  const int64_t base = row * width;
  if (t.map_keys) {
    out += '{';
    const auto& keys = *t.map_keys;
    for (int64_t k = 0; k < width; ++k) {
      if (k) out += ',';
      if (!keys.strings.empty())
        AppendJsonString(out, keys.strings[k]);
      else
        out += '"' + std::to_string(keys.ints[k]) + '"';
      out += ':';
      AppendJsonElement(out, t, base + k);
    }
    out += '}';
    return;
  }
  if (t.rank() <= 1 || (t.rank() == 2 && width == 1)) {
    AppendJsonElement(out, t, base);
    return;
  }
  out += '[';
  for (int64_t k = 0; k < width; ++k) {
    if (k) out += ',';
    AppendJsonElement(out, t, base + k);
  }
  out += ']';
}

void AppendPredictions(std::string& out, const std::vector<Tensor>& outputs,
                       const std::vector<TensorSpec>& specs) {
  out += '[';
  if (outputs.empty()) {
    out += ']';
    return;
  }
  const int64_t rows = OutputRows(outputs[0]);
  for (int64_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    if (outputs.size() == 1) {
      AppendRowValue(out, outputs[0], r);
      continue;
    }
    out += '{';
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, OutputName(specs, i));
      out += ':';
      AppendRowValue(out, outputs[i], r);
    }
    out += '}';
  }
  out += ']';
}

void AppendNdjsonRow(std::string& out, const std::vector<Tensor>& outputs,
                     const std::vector<TensorSpec>& specs, int64_t row) {
  out += '{';
  if (outputs.size() == 1) {
    out += "\"prediction\":";
    AppendRowValue(out, outputs[0], row);
  } else {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, OutputName(specs, i));
      out += ':';
      AppendRowValue(out, outputs[i], row);
    }
  }
  out += "}\n";
}

void AppendCsvHeader(std::string& out, const std::vector<Tensor>& outputs,
                     const std::vector<TensorSpec>& specs) {
  bool first = true;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const int64_t w = RowWidth(outputs[i]);
    const std::string base = outputs.size() == 1 ? "prediction" : OutputName(specs, i);
    for (int64_t k = 0; k < w; ++k) {
      if (!first) out += ',';
      first = false;
      out += base;
      if (w > 1) {
        out += '_';
        if (outputs[i].map_keys && !outputs[i].map_keys->strings.empty())
          out += outputs[i].map_keys->strings[k];
        else if (outputs[i].map_keys)
          out += std::to_string(outputs[i].map_keys->ints[k]);
        else
          out += std::to_string(k);
      }
    }
  }
  out += '\n';
}

void AppendCsvRow(std::string& out, const std::vector<Tensor>& outputs, int64_t row) {
  bool first = true;
  for (const auto& t : outputs) {
    const int64_t w = RowWidth(t);
    for (int64_t k = 0; k < w; ++k) {
      if (!first) out += ',';
      first = false;
      const int64_t i = row * w + k;
      if (t.dtype() == DType::kString) {
        const std::string& v = t.strings()[i];
        if (v.find_first_of(",\"\n\r") == std::string::npos) {
          out += v;
        } else {
          out += '"';
          for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
          out += '"';
        }
      } else {
        const size_t mark = out.size();
        AppendJsonElement(out, t, i);
        if (out.compare(mark, 4, "null") == 0) out.resize(mark);  // empty cell = missing
      }
    }
  }
  out += '\n';
}

}  // namespace studio::serving
