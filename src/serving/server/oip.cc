// Open Inference Protocol v2 (KServe / Triton): reference/registry_serving.md §3.
#include <simdjson.h>

#include <cmath>
#include <limits>

#include "common/strings.h"
#include "serving/http/http_server.h"
#include "serving/server/model_server.h"
#include "serving/server/predictions.h"

namespace studio::serving {
namespace {

using simdjson::dom::element;

// OIP errors are {"error": "..."} with the mapped HTTP status.
void OipError(http::Response& res, const Status& st) {
  res.status = st.code() == ErrorCode::kResourceDoesNotExist     ? 404
               : st.code() == ErrorCode::kTemporarilyUnavailable ? 503
               : st.code() == ErrorCode::kInternalError          ? 500
                                                                 : 400;
  res.content_type = "application/json";
  res.body = "{\"error\":";
  AppendJsonString(res.body, st.message());
  res.body += '}';
  if (res.status == 503) res.headers.emplace_back("Retry-After", "1");
}

void AppendShape(std::string& out, const std::vector<int64_t>& shape) {
  out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(shape[i]);
  }
  out += ']';
}

void AppendSpecs(std::string& out, const std::vector<TensorSpec>& specs) {
  out += '[';
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    AppendJsonString(out, specs[i].name);
    out += ",\"datatype\":\"";
    out += DTypeOipName(specs[i].dtype);
    out += "\",\"shape\":";
    AppendShape(out, specs[i].shape);
    out += '}';
  }
  out += ']';
}

// Flattens nested `data` (row-major, nested or flat) into `t` converted to its dtype.
Status FillTensor(element data, DType wire, Tensor& t, int64_t& at, const std::string& name,
                  bool reject_missing) {
  if (data.is_array()) {
    for (element e : simdjson::dom::array(data.get_array().value_unsafe())) {
      Status st = FillTensor(e, wire, t, at, name, reject_missing);
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }
  if (at >= t.size())
    return InvalidArgument("input '" + name + "' has more data elements than its shape holds");
  double v = 0;
  switch (data.type()) {
    case simdjson::dom::element_type::BOOL:
      if (wire != DType::kBool)
        return InvalidArgument("input '" + name + "' is " + std::string(DTypeOipName(wire)) +
                               " but holds a boolean");
      v = data.get_bool().value_unsafe() ? 1 : 0;
      break;
    case simdjson::dom::element_type::INT64:
      v = static_cast<double>(data.get_int64().value_unsafe());
      break;
    case simdjson::dom::element_type::UINT64:
      v = static_cast<double>(data.get_uint64().value_unsafe());
      break;
    case simdjson::dom::element_type::DOUBLE:
      v = data.get_double().value_unsafe();
      if (wire != DType::kFloat32 && wire != DType::kFloat64 && v != std::floor(v))
        return InvalidArgument("input '" + name + "' is " + std::string(DTypeOipName(wire)) +
                               " but holds " + std::to_string(v));
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      if (reject_missing || (wire != DType::kFloat32 && wire != DType::kFloat64))
        return InvalidArgument("input '" + name + "' holds null; missing values are not allowed");
      v = std::numeric_limits<double>::quiet_NaN();
      break;
    default:
      return InvalidArgument("input '" + name + "' holds a " +
                             std::string(data.is_string() ? "string" : "non-numeric value") +
                             "; this model takes numbers");
  }
  if (wire == DType::kBool && data.type() != simdjson::dom::element_type::BOOL)
    return InvalidArgument("input '" + name + "' is BOOL but holds a number");
  switch (t.dtype()) {
    case DType::kFloat32:
      t.data<float>()[at] = static_cast<float>(v);
      break;
    case DType::kFloat64:
      t.data<double>()[at] = v;
      break;
    case DType::kInt32:
      t.data<int32_t>()[at] = static_cast<int32_t>(v);
      break;
    case DType::kInt64:
      t.data<int64_t>()[at] = static_cast<int64_t>(v);
      break;
    case DType::kBool:
      t.data<uint8_t>()[at] = v != 0;
      break;
    default:
      return InvalidArgument("input '" + name + "' has a type this server cannot feed (" +
                             std::string(DTypeOipName(t.dtype())) + ")");
  }
  ++at;
  return Status::Ok();
}

void AppendFlatData(std::string& out, const Tensor& t) {
  out += '[';
  for (int64_t i = 0; i < t.size(); ++i) {
    if (i) out += ',';
    AppendJsonElement(out, t, i);
  }
  out += ']';
}

}  // namespace

bool ModelServer::CheckVersion(const http::Request& req, http::Response& res,
                               const LoadedModel& m) {
  if (req.Param("name") != m.source.name) {
    OipError(res, NotFound("model '" + std::string(req.Param("name")) + "' is not served here"));
    return false;
  }
  std::string_view v = req.Param("version");
  if (!v.empty() && v != m.source.version) {
    OipError(res, NotFound("model '" + m.source.name + "' version " + std::string(v) +
                           " is not loaded (serving " + m.source.version + ")"));
    return false;
  }
  return true;
}

void ModelServer::OipModelMetadata(const http::Request& req, http::Response& res) {
  auto m = model();
  if (!m) return OipError(res, Status(ErrorCode::kTemporarilyUnavailable, "the model is loading"));
  if (!CheckVersion(req, res, *m)) return;
  res.body = "{\"name\":";
  AppendJsonString(res.body, m->source.name);
  res.body += ",\"versions\":[";
  AppendJsonString(res.body, m->source.version);
  res.body += "],\"platform\":\"" + m->platform + "\",\"inputs\":";
  AppendSpecs(res.body, m->runtime->Inputs());
  res.body += ",\"outputs\":";
  AppendSpecs(res.body, m->runtime->Outputs());
  res.body += '}';
}

void ModelServer::OipModelReady(const http::Request& req, http::Response& res) {
  auto m = model();
  if (!m) {
    res.status = 503;
    res.body = "{\"name\":";
    AppendJsonString(res.body, req.Param("name"));
    res.body += ",\"ready\":false}";
    return;
  }
  if (!CheckVersion(req, res, *m)) return;
  res.body = "{\"name\":";
  AppendJsonString(res.body, m->source.name);
  res.body += ",\"ready\":true}";
}

void ModelServer::OipInfer(const http::Request& req, http::Response& res) {
  auto m = model();
  if (!m) return OipError(res, Status(ErrorCode::kTemporarilyUnavailable, "the model is loading"));
  if (!CheckVersion(req, res, *m)) return;
  thread_local simdjson::dom::parser parser;
  element doc;
  if (auto err = parser.parse(req.body.data(), req.body.size(), true).get(doc))
    return OipError(res, InvalidArgument(std::string("the body is not valid JSON: ") +
                                         simdjson::error_message(err)));
  simdjson::dom::array inputs;
  if (doc["inputs"].get_array().get(inputs))
    return OipError(res, InvalidArgument("the request needs \"inputs\": a list of tensors"));
  const auto& specs = m->runtime->Inputs();
  std::vector<Tensor> tensors(specs.size());
  std::vector<bool> given(specs.size(), false);
  for (element in : inputs) {
    std::string_view name, datatype;
    simdjson::dom::array shape_arr;
    element data;
    if (in["name"].get_string().get(name) || in["datatype"].get_string().get(datatype) ||
        in["shape"].get_array().get(shape_arr) || in["data"].get(data))
      return OipError(
          res, InvalidArgument("each input needs \"name\", \"shape\", \"datatype\" and \"data\""));
    // A single-input model takes its one tensor under any name (KServe's tabular servers do).
    int idx = -1;
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].name == name) idx = static_cast<int>(i);
    if (idx < 0 && specs.size() == 1 && inputs.size() == 1) idx = 0;
    if (idx < 0) return OipError(res, InvalidArgument("unknown input '" + std::string(name) + "'"));
    if (given[idx])
      return OipError(res, InvalidArgument("input '" + std::string(name) + "' given twice"));
    given[idx] = true;
    auto wire = DTypeFromOipName(datatype);
    if (!wire || *wire == DType::kString)
      return OipError(res, InvalidArgument("input '" + std::string(name) + "': datatype '" +
                                           std::string(datatype) + "' is not supported here"));
    std::vector<int64_t> shape;
    for (element d : shape_arr) {
      int64_t v = 0;
      if (d.get_int64().get(v) || v < 0)
        return OipError(res, InvalidArgument("input '" + std::string(name) +
                                             "': shape must be non-negative integers"));
      shape.push_back(v);
    }
    // Bounded before multiplying: no overflow, no huge allocation from a header.
    int64_t elements = 1;
    for (int64_t d : shape) {
      if (d > (int64_t{1} << 28) || (d > 0 && elements > (int64_t{1} << 28) / d))
        return OipError(res, InvalidArgument("input '" + std::string(name) + "' is too large"));
      elements *= d;
    }
    Tensor& t = tensors[idx];
    t.Resize(specs[idx].dtype, shape);
    int64_t at = 0;
    Status st = FillTensor(data, *wire, t, at, std::string(name), m->schema.reject_missing);
    if (!st.ok()) return OipError(res, st);
    if (at != t.size())
      return OipError(
          res, InvalidArgument("input '" + std::string(name) + "' has " + std::to_string(at) +
                               " data elements; shape " + ShapeToString(shape) + " needs " +
                               std::to_string(t.size())));
  }
  for (size_t i = 0; i < specs.size(); ++i)
    if (!given[i]) return OipError(res, InvalidArgument("missing input '" + specs[i].name + "'"));
  std::vector<Tensor> outputs;
  Status st = m->runtime->Run(tensors, &outputs);
  if (!st.ok()) return OipError(res, st);
  if (!tensors.empty()) metrics_.AddPredictions(tensors[0].rank() ? tensors[0].dim(0) : 1);
  // Requested outputs (all when absent).
  std::vector<bool> wanted(outputs.size(), true);
  simdjson::dom::array requested;
  if (!doc["outputs"].get_array().get(requested)) {
    wanted.assign(outputs.size(), false);
    for (element o : requested) {
      std::string_view oname;
      if (o["name"].get_string().get(oname))
        return OipError(res, InvalidArgument("each requested output needs a \"name\""));
      bool found = false;
      for (size_t i = 0; i < outputs.size(); ++i)
        if (m->runtime->Outputs()[i].name == oname) wanted[i] = found = true;
      if (!found)
        return OipError(res, InvalidArgument("unknown output '" + std::string(oname) + "'"));
    }
  }
  res.body = "{\"model_name\":";
  AppendJsonString(res.body, m->source.name);
  res.body += ",\"model_version\":";
  AppendJsonString(res.body, m->source.version);
  std::string_view id;
  if (!doc["id"].get_string().get(id)) {
    res.body += ",\"id\":";
    AppendJsonString(res.body, id);
  }
  res.body += ",\"outputs\":[";
  bool first = true;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!wanted[i]) continue;
    if (!first) res.body += ',';
    first = false;
    const Tensor& t = outputs[i];
    res.body += "{\"name\":";
    AppendJsonString(res.body, m->runtime->Outputs()[i].name);
    res.body += ",\"datatype\":\"";
    res.body += DTypeOipName(t.dtype());
    res.body += "\",\"shape\":";
    AppendShape(res.body, t.shape());
    res.body += ",\"data\":";
    AppendFlatData(res.body, t);
    res.body += '}';
  }
  res.body += "]}";
}

void ModelServer::RepositoryLoad(const http::Request& req, http::Response& res) {
  auto m = model();
  std::string uri;
  // {"parameters": {"uri": "models:/name/3"}} loads that; no uri re-resolves the URI last
  // loaded (so an alias that moved is followed).
  if (!req.body.empty()) {
    thread_local simdjson::dom::parser parser;
    element doc;
    if (parser.parse(req.body.data(), req.body.size(), true).get(doc) || !doc.is_object())
      return OipError(res, InvalidArgument("the body must be a JSON object"));
    element p;
    if (!doc["parameters"].get(p)) {
      element u;
      if (!p["uri"].get(u)) {
        std::string_view s;
        if (u.get_string().get(s))
          return OipError(res, InvalidArgument("parameters.uri must be a string"));
        uri = std::string(s);
      }
    }
  }
  if (m && req.Param("name") != m->source.name)
    return OipError(res, NotFound("this server serves model '" + m->source.name + "'"));
  Status st = uri.empty() ? Reload() : Load(uri);
  if (!st.ok()) return OipError(res, st);
  auto now = model();
  res.body = "{";
  AppendNameVersion(res.body, now->source.name, now->source.version);
  res.body += ",\"state\":\"READY\"}";
}

}  // namespace studio::serving
