// MLflow's JSON input formats (reference/registry_serving.md §2) parsed with simdjson's DOM.
#include <simdjson.h>

#include <cmath>
#include <limits>

#include "serving/server/rows.h"

namespace studio::serving {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Status CellError(const InputSchema& schema, int64_t col, int64_t row, const std::string& what) {
  return InvalidArgument("column '" + schema.ColumnName(col) + "' (row " + std::to_string(row) +
                         "): " + what)
      .WithDetail(schema.ColumnName(col), what);
}

std::string_view TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
    default:
      return "a number";
  }
}

// One JSON value into column `col` of the model.
Status Cell(element v, const InputSchema& schema, int64_t col, int64_t row, float* out) {
  const DType type = col < static_cast<int64_t>(schema.columns.size()) ? schema.columns[col].type
                                                                       : DType::kFloat32;
  const bool is_float = type == DType::kFloat32 || type == DType::kFloat64;
  switch (v.type()) {
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      if (!is_float) {
        if (type == DType::kBool || d != std::floor(d))
          return CellError(schema, col, row,
                           std::string("expects ") +
                               (type == DType::kBool ? "a boolean" : "an integer") + ", got " +
                               std::to_string(d));
      }
      *out = static_cast<float>(d);
      return Status::Ok();
    }
    case element_type::INT64:
      if (type == DType::kBool)
        return CellError(schema, col, row, "expects a boolean, got a number");
      *out = static_cast<float>(v.get_int64().value_unsafe());
      return Status::Ok();
    case element_type::UINT64:
      if (type == DType::kBool)
        return CellError(schema, col, row, "expects a boolean, got a number");
      *out = static_cast<float>(v.get_uint64().value_unsafe());
      return Status::Ok();
    case element_type::BOOL:
      if (type != DType::kBool)
        return CellError(schema, col, row,
                         "expects " + std::string(DTypeMlflowName(type)) + ", got a boolean");
      *out = v.get_bool().value_unsafe() ? 1.0f : 0.0f;
      return Status::Ok();
    case element_type::NULL_VALUE:
      if (!is_float || schema.reject_missing)
        return CellError(schema, col, row, "missing values are not allowed");
      *out = kNaN;
      return Status::Ok();
    case element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      if (is_float && (s == "NaN" || s == "nan")) {
        if (schema.reject_missing)
          return CellError(schema, col, row, "missing values are not allowed");
        *out = kNaN;
        return Status::Ok();
      }
      return CellError(schema, col, row,
                       "expects " + std::string(DTypeMlflowName(type)) + ", got a string");
    }
    default:
      return CellError(schema, col, row,
                       "expects " + std::string(DTypeMlflowName(type)) + ", got " +
                           std::string(TypeName(v.type())));
  }
}

float* NewRow(RowMatrix* out) {
  const size_t base = out->values.size();
  out->values.resize(base + out->cols, kNaN);
  ++out->rows;
  return out->values.data() + base;
}

Status WidthError(int64_t row, size_t got, int64_t want, std::string_view where) {
  return InvalidArgument(std::string(where) + " row " + std::to_string(row) + " has " +
                         std::to_string(got) + " values; the model takes " + std::to_string(want));
}

// A row given as an array of values in column order.
Status ArrayRow(simdjson::dom::array arr, const InputSchema& schema, RowMatrix* out,
                std::string_view where) {
  const int64_t row = out->rows;
  if (out->cols <= 0) out->cols = static_cast<int64_t>(arr.size());
  if (static_cast<int64_t>(arr.size()) != out->cols)
    return WidthError(row, arr.size(), out->cols, where);
  float* dst = NewRow(out);
  int64_t c = 0;
  for (element v : arr) {
    Status st = Cell(v, schema, c, row, &dst[c]);
    if (!st.ok()) return st;
    ++c;
  }
  return Status::Ok();
}

Status NeedNames(const InputSchema& schema) {
  if (schema.columns.empty())
    return InvalidArgument(
        "the model's signature names no columns; send rows as arrays in column order");
  return Status::Ok();
}

// A row given as {column: value}.
Status RecordRow(simdjson::dom::object obj, const InputSchema& schema, RowMatrix* out) {
  Status st = NeedNames(schema);
  if (!st.ok()) return st;
  const int64_t row = out->rows;
  float* dst = NewRow(out);
  thread_local std::vector<char> seen;
  seen.assign(schema.columns.size(), 0);
  for (auto field : obj) {
    int p = schema.Find(field.key);
    if (p < 0)
      return InvalidArgument("unknown column '" + std::string(field.key) + "' (row " +
                             std::to_string(row) + ")")
          .WithDetail(std::string(field.key), "not in the model's signature");
    seen[p] = 1;
    st = Cell(field.value, schema, p, row, &dst[p]);
    if (!st.ok()) return st;
  }
  for (size_t p = 0; p < seen.size(); ++p) {
    if (seen[p]) continue;
    if (schema.columns[p].required || schema.reject_missing)
      return InvalidArgument("missing column '" + schema.columns[p].name + "' (row " +
                             std::to_string(row) + ")")
          .WithDetail(schema.columns[p].name, "required by the model's signature");
  }
  return Status::Ok();
}

// Rows as a list: arrays, records, or scalars (a flat list is one row, or one value per row
// for a single-column model).
Status RowList(simdjson::dom::array list, const InputSchema& schema, RowMatrix* out,
               std::string_view key) {
  bool all_scalars = true;
  for (element v : list) {
    if (v.is_array() || v.is_object()) {
      all_scalars = false;
      break;
    }
  }
  if (all_scalars && list.size() > 0) {
    if (out->cols == 1) {
      int64_t row = out->rows;
      for (element v : list) {
        Status st = Cell(v, schema, 0, row++, NewRow(out));
        if (!st.ok()) return st;
      }
      return Status::Ok();
    }
    return ArrayRow(list, schema, out, key);
  }
  for (element v : list) {
    Status st;
    if (v.is_array())
      st = ArrayRow(v.get_array().value_unsafe(), schema, out, key);
    else if (v.is_object())
      st = RecordRow(v.get_object().value_unsafe(), schema, out);
    else
      st = InvalidArgument(std::string(key) + " mixes rows and scalar values");
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status DataframeSplit(element v, const InputSchema& schema, RowMatrix* out) {
  simdjson::dom::object obj;
  if (v.get_object().get(obj)) return InvalidArgument("dataframe_split must be an object");
  element columns, data;
  bool has_columns = !obj["columns"].get(columns);
  if (obj["data"].get(data) || !data.is_array())
    return InvalidArgument("dataframe_split needs \"data\": a list of rows");
  for (auto field : obj) {
    if (field.key != "columns" && field.key != "data" && field.key != "index")
      return InvalidArgument("dataframe_split has an unknown key '" + std::string(field.key) + "'");
  }
  if (!has_columns) {
    for (element r : simdjson::dom::array(data.get_array().value_unsafe())) {
      if (!r.is_array()) return InvalidArgument("dataframe_split data must be a list of lists");
      Status st = ArrayRow(r.get_array().value_unsafe(), schema, out, "dataframe_split");
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  if (!columns.is_array()) return InvalidArgument("dataframe_split columns must be a list");
  std::vector<std::string_view> names;
  for (element c : simdjson::dom::array(columns.get_array().value_unsafe())) {
    if (!c.is_string()) return InvalidArgument("dataframe_split columns must be strings");
    names.push_back(c.get_string().value_unsafe());
  }
  std::vector<int> positions;
  Status st = MapColumns(names, schema, &positions);
  if (!st.ok()) return st;
  if (out->cols <= 0) out->cols = static_cast<int64_t>(names.size());
  for (element r : simdjson::dom::array(data.get_array().value_unsafe())) {
    if (!r.is_array()) return InvalidArgument("dataframe_split data must be a list of lists");
    auto arr = r.get_array().value_unsafe();
    const int64_t row = out->rows;
    if (arr.size() != names.size())
      return WidthError(row, arr.size(), names.size(), "dataframe_split");
    float* dst = NewRow(out);
    size_t i = 0;
    for (element cell : arr) {
      st = Cell(cell, schema, positions[i], row, &dst[positions[i]]);
      if (!st.ok()) return st;
      ++i;
    }
  }
  return Status::Ok();
}

// {"inputs": {col: [values]}} (columnar) or {col: value} (one record).
Status ColumnarInputs(simdjson::dom::object obj, const InputSchema& schema, RowMatrix* out) {
  Status st = NeedNames(schema);
  if (!st.ok()) return st;
  bool any_list = false, any_scalar = false;
  size_t n = 0;
  for (auto f : obj) {
    if (f.value.is_array()) {
      size_t len = f.value.get_array().value_unsafe().size();
      if (any_list && len != n)
        return InvalidArgument("inputs columns have different lengths ('" + std::string(f.key) +
                               "' has " + std::to_string(len) + ")");
      n = len;
      any_list = true;
    } else {
      any_scalar = true;
    }
  }
  if (!any_list) return RecordRow(obj, schema, out);
  if (any_scalar) return InvalidArgument("inputs mixes lists and scalar values");
  const int64_t first = out->rows;
  for (size_t r = 0; r < n; ++r) NewRow(out);
  std::vector<char> seen(schema.columns.size(), 0);
  for (auto f : obj) {
    int p = schema.Find(f.key);
    if (p < 0)
      return InvalidArgument("unknown column '" + std::string(f.key) + "'")
          .WithDetail(std::string(f.key), "not in the model's signature");
    seen[p] = 1;
    int64_t r = first;
    for (element v : simdjson::dom::array(f.value.get_array().value_unsafe())) {
      st = Cell(v, schema, p, r, &out->values[r * out->cols + p]);
      if (!st.ok()) return st;
      ++r;
    }
  }
  for (size_t p = 0; p < seen.size(); ++p)
    if (!seen[p] && (schema.columns[p].required || schema.reject_missing))
      return InvalidArgument("missing column '" + schema.columns[p].name + "'")
          .WithDetail(schema.columns[p].name, "required by the model's signature");
  return Status::Ok();
}

}  // namespace

Status ParseJsonRows(std::string_view body, const InputSchema& schema, RowMatrix* out) {
  thread_local simdjson::dom::parser parser;
  element doc;
  if (auto err = parser.parse(body.data(), body.size(), true).get(doc))
    return Status(ErrorCode::kBadRequest,
                  std::string("the body is not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (doc.get_object().get(obj))
    return Status(ErrorCode::kBadRequest,
                  "the body must be a JSON object with one of dataframe_split, dataframe_records, "
                  "instances or inputs");
  element value;
  std::string_view key;
  int found = 0;
  for (auto f : obj) {
    if (f.key == "params") continue;
    if (f.key != "dataframe_split" && f.key != "dataframe_records" && f.key != "instances" &&
        f.key != "inputs")
      return Status(ErrorCode::kBadRequest,
                    "unknown key '" + std::string(f.key) +
                        "'; use one of dataframe_split, dataframe_records, instances or inputs");
    key = f.key;
    value = f.value;
    ++found;
  }
  if (found != 1)
    return Status(ErrorCode::kBadRequest,
                  "the body must have exactly one of dataframe_split, dataframe_records, "
                  "instances or inputs");
  if (out->cols <= 0 && schema.width > 0) out->cols = schema.width;
  if (key == "dataframe_split") return DataframeSplit(value, schema, out);
  if (key == "dataframe_records") {
    if (!value.is_array()) return InvalidArgument("dataframe_records must be a list of records");
    for (element r : simdjson::dom::array(value.get_array().value_unsafe())) {
      if (!r.is_object()) return InvalidArgument("dataframe_records must be a list of records");
      Status st = RecordRow(r.get_object().value_unsafe(), schema, out);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  if (value.is_object()) {
    if (key == "instances") return RecordRow(value.get_object().value_unsafe(), schema, out);
    return ColumnarInputs(value.get_object().value_unsafe(), schema, out);
  }
  if (!value.is_array()) return InvalidArgument(std::string(key) + " must be a list or an object");
  return RowList(value.get_array().value_unsafe(), schema, out, key);
}

}  // namespace studio::serving

namespace studio::serving {

Status ParseJsonRow(std::string_view row_json, const InputSchema& schema,
                    const std::vector<int>* positions, RowMatrix* out) {
  thread_local simdjson::dom::parser parser;
  element v;
  if (auto err = parser.parse(row_json.data(), row_json.size(), true).get(v))
    return Status(
        ErrorCode::kBadRequest,
        "row " + std::to_string(out->rows) + " is not valid JSON: " + simdjson::error_message(err));
  if (v.is_object()) return RecordRow(v.get_object().value_unsafe(), schema, out);
  if (!v.is_array()) {
    if (out->cols != 1)
      return InvalidArgument("row " + std::to_string(out->rows) + " is not a list");
    const int64_t row = out->rows;
    return Cell(v, schema, 0, row, NewRow(out));
  }
  auto arr = v.get_array().value_unsafe();
  if (!positions) return ArrayRow(arr, schema, out, "batch");
  const int64_t row = out->rows;
  if (arr.size() != positions->size())
    return WidthError(row, arr.size(), positions->size(), "batch");
  float* dst = NewRow(out);
  size_t i = 0;
  for (element cell : arr) {
    const int p = (*positions)[i++];
    Status st = Cell(cell, schema, p, row, &dst[p]);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace studio::serving
