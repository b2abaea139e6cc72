// ModelProto → Graph: opsets, initializers, Constant folding, topological order, kernels and
// value slots; and Graph::Run.

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <exception>
#include <queue>
#include <unordered_map>

#include "serving/onnx/internal/graph.h"
#include "serving/onnx/internal/tensor_proto.h"

namespace studio::serving::onnx {

namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string NodeLabel(const ::onnx::NodeProto& n) {
  const std::string domain = n.domain().empty() || n.domain() == "ai.onnx" ? "ai.onnx" : n.domain();
  std::string label = domain + ":" + n.op_type();
  label += n.name().empty()
               ? " node (unnamed, output " + Quote(n.output_size() ? n.output(0) : "") + ")"
               : " node " + Quote(n.name());
  return label;
}

Result<AttributeValue> ConvertAttribute(const ::onnx::AttributeProto& a, const std::string& where) {
  using A = ::onnx::AttributeProto;
  auto type = a.type();
  if (type == A::UNDEFINED) {  // IR < 3 models leave the type out
    if (a.has_i())
      type = A::INT;
    else if (a.has_f())
      type = A::FLOAT;
    else if (a.has_s())
      type = A::STRING;
    else if (a.has_t())
      type = A::TENSOR;
    else if (a.ints_size())
      type = A::INTS;
    else if (a.floats_size())
      type = A::FLOATS;
    else if (a.strings_size())
      type = A::STRINGS;
  }
  switch (type) {
    case A::INT:
      return AttributeValue(static_cast<int64_t>(a.i()));
    case A::FLOAT:
      return AttributeValue(a.f());
    case A::STRING:
      return AttributeValue(a.s());
    case A::INTS:
      return AttributeValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case A::FLOATS:
      return AttributeValue(std::vector<float>(a.floats().begin(), a.floats().end()));
    case A::STRINGS:
      return AttributeValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    case A::TENSOR: {
      ASSIGN_OR_RETURN(Tensor t, TensorFromProto(a.t(), where + " attribute " + Quote(a.name())));
      return AttributeValue(std::move(t));
    }
    default:
      return InvalidArgument(where + ": attribute " + Quote(a.name()) +
                             " has an unsupported type (" + A::AttributeType_Name(type) + ")");
  }
}

// The value of a Constant node as a tensor.
Result<Tensor> ConstantValue(const Attributes& attrs, const std::string& where) {
  if (const Tensor* t = attrs.TensorValue("value")) return *t;
  auto scalar = [](DType d, std::vector<int64_t> shape) { return Tensor(d, std::move(shape)); };
  if (attrs.Has("value_float")) {
    Tensor t = scalar(DType::kFloat32, {});
    t.data<float>()[0] = attrs.Float("value_float");
    return t;
  }
  if (attrs.Has("value_int")) {
    Tensor t = scalar(DType::kInt64, {});
    t.data<int64_t>()[0] = attrs.Int("value_int");
    return t;
  }
  if (attrs.Has("value_floats")) {
    auto v = attrs.Floats("value_floats");
    Tensor t = scalar(DType::kFloat32, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<float>());
    return t;
  }
  if (attrs.Has("value_ints")) {
    auto v = attrs.Ints("value_ints");
    Tensor t = scalar(DType::kInt64, {static_cast<int64_t>(v.size())});
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    return t;
  }
  if (attrs.Has("value_string")) {
    Tensor t = scalar(DType::kString, {});
    t.strings()[0] = attrs.String("value_string");
    return t;
  }
  if (attrs.Has("value_strings")) {
    auto v = attrs.Strings("value_strings");
    Tensor t = scalar(DType::kString, {static_cast<int64_t>(v.size())});
    t.strings() = std::move(v);
    return t;
  }
  return InvalidArgument(where + ": no supported value attribute (sparse_value is not supported)");
}

Result<TensorSpec> SpecOf(const ::onnx::ValueInfoProto& v, bool* shape_known,
                          const std::string& what) {
  TensorSpec spec;
  spec.name = v.name();
  *shape_known = false;
  if (!v.has_type()) {
    spec.dtype = DType::kUndefined;
    return spec;
  }
  if (v.type().has_sequence_type() && v.type().sequence_type().elem_type().has_map_type()) {
    // ZipMap's seq(map(int64|string, float)): a float [rows, classes] tensor with map_keys.
    spec.dtype = DType::kFloat32;
    spec.shape = {-1, -1};
    return spec;
  }
  if (!v.type().has_tensor_type()) {
    return InvalidArgument(
        what + " " + Quote(v.name()) +
        " is not a tensor (sequence, map and optional values are not supported)");
  }
  const auto& tt = v.type().tensor_type();
  auto dtype = DTypeFromOnnx(tt.elem_type());
  if (!dtype) {
    return InvalidArgument(what + " " + Quote(v.name()) + " has unsupported element type " +
                           OnnxTypeName(tt.elem_type()));
  }
  spec.dtype = *dtype;
  if (tt.has_shape()) {
    *shape_known = true;
    for (const auto& d : tt.shape().dim()) {
      spec.shape.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
    }
  }
  return spec;
}

}  // namespace

class GraphBuilder {
 public:
  Result<std::unique_ptr<Graph>> Build(const ::onnx::ModelProto& model);

 private:
  int32_t NewSlot() { return g_->num_slots_++; }
  int32_t AddConstant(const std::string& name, Tensor t) {
    g_->constants_.push_back(std::move(t));
    const int32_t slot = NewSlot();
    constant_of_slot_[slot] = &g_->constants_.back();
    slot_of_[name] = slot;
    return slot;
  }

  std::unique_ptr<Graph> g_ = std::make_unique<Graph>();
  std::unordered_map<std::string, int32_t> slot_of_;
  std::unordered_map<int32_t, const Tensor*> constant_of_slot_;
};

Result<std::unique_ptr<Graph>> GraphBuilder::Build(const ::onnx::ModelProto& model) {
  if (!model.has_graph()) return InvalidArgument("the ONNX model has no graph");
  const auto& graph = model.graph();
  for (const auto& op : model.opset_import()) {
    const std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    g_->opsets_[domain] = op.version();
  }
  if (model.opset_import_size() == 0) g_->opsets_[""] = 1;  // IR 1-2 models: no opset import
  if (graph.sparse_initializer_size() > 0) {
    return InvalidArgument("sparse initializers are not supported");
  }

  for (const auto& init : graph.initializer()) {
    ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, "initializer " + Quote(init.name())));
    AddConstant(init.name(), std::move(t));
  }
  for (const auto& in : graph.input()) {
    if (slot_of_.count(in.name())) continue;  // an initializer with a default value
    bool known = false;
    ASSIGN_OR_RETURN(TensorSpec spec, SpecOf(in, &known, "graph input"));
    if (spec.dtype == DType::kUndefined) {
      return InvalidArgument("graph input " + Quote(in.name()) + " has no type");
    }
    const int32_t slot = NewSlot();
    slot_of_[in.name()] = slot;
    g_->inputs_.push_back(std::move(spec));
    g_->input_shape_known_.push_back(known);
    g_->input_slots_.push_back(slot);
  }

  // Topological order (Kahn), keeping the file's order among ready nodes.
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& out : graph.node(i).output()) {
      if (out.empty()) continue;
      if (slot_of_.count(out) || !producer.emplace(out, i).second) {
        return InvalidArgument("value " + Quote(out) + " is produced more than once (" +
                               NodeLabel(graph.node(i)) + ")");
      }
    }
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (int i = 0; i < n; ++i) {
    for (const auto& in : graph.node(i).input()) {
      if (in.empty() || slot_of_.count(in)) continue;
      auto it = producer.find(in);
      if (it == producer.end()) {
        return InvalidArgument(NodeLabel(graph.node(i)) + " reads " + Quote(in) +
                               ", which is no graph input, initializer or node output");
      }
      ++pending[i];
      consumers[it->second].push_back(i);
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[i]) {
      if (--pending[c] == 0) ready.push(c);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (pending[i] > 0) {
        return InvalidArgument("the graph has a cycle through " + NodeLabel(graph.node(i)));
      }
    }
  }

  const KernelRegistry& registry = KernelRegistry::Default();
  std::vector<int32_t> last_reader;  // by slot: index into nodes_, -1 none
  for (int idx : order) {
    const auto& node = graph.node(idx);
    const std::string label = NodeLabel(node);
    Attributes attrs;
    for (const auto& a : node.attribute()) {
      if (!a.ref_attr_name().empty()) {
        return InvalidArgument(label + ": attribute references are only valid in functions");
      }
      ASSIGN_OR_RETURN(AttributeValue v, ConvertAttribute(a, label));
      attrs.Set(a.name(), std::move(v));
    }
    const std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    if (domain.empty() && node.op_type() == "Constant") {
      if (node.output_size() != 1) return InvalidArgument(label + ": expects one output");
      ASSIGN_OR_RETURN(Tensor t, ConstantValue(attrs, label));
      AddConstant(node.output(0), std::move(t));
      continue;
    }
    auto opset_it = g_->opsets_.find(domain);
    if (opset_it == g_->opsets_.end()) {
      return InvalidArgument(label + ": the model imports no opset for domain " +
                             Quote(domain.empty() ? "ai.onnx" : domain));
    }
    KernelFactory factory = registry.Find(domain, node.op_type());
    if (!factory) {
      return InvalidArgument(
          "unsupported operator " + (domain.empty() ? "ai.onnx" : domain) + ":" + node.op_type() +
          " in node " +
          Quote(node.name().empty() ? (node.output_size() ? node.output(0) : "") : node.name()));
    }
    std::vector<const Tensor*> constant_inputs;
    std::vector<int32_t> input_slots;
    bool all_constant = node.input_size() > 0;
    for (const auto& in : node.input()) {
      if (in.empty()) {
        constant_inputs.push_back(nullptr);
        input_slots.push_back(-1);
        continue;
      }
      const int32_t slot = slot_of_.at(in);
      auto c = constant_of_slot_.find(slot);
      constant_inputs.push_back(c == constant_of_slot_.end() ? nullptr : c->second);
      if (c == constant_of_slot_.end()) all_constant = false;
      input_slots.push_back(slot);
    }
    NodeInfo info{domain,
                  node.op_type(),
                  node.name(),
                  opset_it->second,
                  attrs,
                  constant_inputs,
                  static_cast<size_t>(node.output_size())};
    auto kernel = factory(info);
    if (!kernel.ok()) {
      const Status& st = kernel.status();
      // Factories name the op and node (NodeError); make sure the message always does.
      if (st.message().find(node.op_type()) == std::string::npos) {
        return Status(st.code(), label + ": " + st.message());
      }
      return st;
    }
    if (all_constant) {
      // Every input is known at load: run the node once and keep its outputs as constants.
      std::vector<Tensor> outs(node.output_size());
      Status st = (*kernel)->Run(constant_inputs, outs);
      if (!st.ok()) return Status(st.code(), label + ": " + st.message());
      for (int o = 0; o < node.output_size(); ++o) {
        if (!node.output(o).empty()) AddConstant(node.output(o), std::move(outs[o]));
      }
      continue;
    }
    ExecNode exec;
    exec.kernel = std::move(kernel).value();
    exec.inputs = std::move(input_slots);
    exec.first_output = g_->num_slots_;
    exec.num_outputs = node.output_size();
    exec.label = label;
    for (int o = 0; o < node.output_size(); ++o) {
      const int32_t slot = NewSlot();
      if (!node.output(o).empty()) slot_of_[node.output(o)] = slot;
    }
    g_->max_node_inputs_ = std::max(g_->max_node_inputs_, exec.inputs.size());
    last_reader.resize(g_->num_slots_, -1);
    for (int32_t s : exec.inputs) {
      if (s >= 0) last_reader[s] = static_cast<int32_t>(g_->nodes_.size());
    }
    g_->nodes_.push_back(std::move(exec));
  }

  std::vector<bool> is_output(g_->num_slots_, false);
  for (const auto& out : graph.output()) {
    auto it = slot_of_.find(out.name());
    if (it == slot_of_.end()) {
      return InvalidArgument("graph output " + Quote(out.name()) + " is not produced by the graph");
    }
    bool known = false;
    ASSIGN_OR_RETURN(TensorSpec spec, SpecOf(out, &known, "graph output"));
    g_->outputs_.push_back(std::move(spec));
    const int32_t slot = it->second;
    const bool node_result =
        !constant_of_slot_.count(slot) &&
        std::find(g_->input_slots_.begin(), g_->input_slots_.end(), slot) == g_->input_slots_.end();
    // The same value listed twice as an output: move it once, copy it otherwise.
    g_->output_owned_.push_back(node_result && !is_output[slot]);
    is_output[slot] = true;
    g_->output_slots_.push_back(slot);
  }
  if (g_->outputs_.empty()) return InvalidArgument("the graph has no outputs");

  // Free each intermediate after its last reader (inputs and constants are not ours).
  last_reader.resize(g_->num_slots_, -1);
  for (const auto& node : g_->nodes_) {
    for (int32_t s = node.first_output; s < node.first_output + node.num_outputs; ++s) {
      if (!is_output[s] && last_reader[s] >= 0) g_->nodes_[last_reader[s]].release.push_back(s);
    }
  }
  g_->slot_template_.assign(g_->num_slots_, nullptr);
  for (const auto& [slot, tensor] : constant_of_slot_) g_->slot_template_[slot] = tensor;
  return std::move(g_);
}

Result<std::unique_ptr<Graph>> LoadGraph(const void* data, size_t size) {
  ::onnx::ModelProto model;
  if (size > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(data, static_cast<int>(size))) {
    return InvalidArgument("not a valid ONNX model: the protobuf message does not parse");
  }
  try {
    return GraphBuilder().Build(model);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("invalid ONNX model: ") + e.what());
  }
}

Status Graph::ValidateInput(size_t i, const Tensor& t) const {
  const TensorSpec& spec = inputs_[i];
  if (t.dtype() != spec.dtype) {
    return InvalidArgument("input '" + spec.name + "' must be " +
                           std::string(DTypeOipName(spec.dtype)) + ", got " +
                           std::string(DTypeOipName(t.dtype())));
  }
  if (!input_shape_known_[i]) return Status::Ok();
  bool ok = t.rank() == static_cast<int64_t>(spec.shape.size());
  for (size_t d = 0; ok && d < spec.shape.size(); ++d) {
    ok = spec.shape[d] < 0 || spec.shape[d] == t.dim(d);
  }
  if (!ok) {
    return InvalidArgument("input '" + spec.name + "' must have shape " +
                           ShapeToString(spec.shape) + " (-1: any), got " +
                           ShapeToString(t.shape()));
  }
  return Status::Ok();
}

Status Graph::Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const {
  if (inputs.size() != inputs_.size()) {
    std::string names;
    for (const auto& s : inputs_) names += (names.empty() ? "" : ", ") + s.name;
    return InvalidArgument("the model takes " + std::to_string(inputs_.size()) + " inputs (" +
                           names + "), got " + std::to_string(inputs.size()));
  }
  std::vector<const Tensor*> ptrs(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    RETURN_IF_ERROR(ValidateInput(i, inputs[i]));
    ptrs[i] = &inputs[i];
  }
  return RunUnchecked(ptrs, outputs);
}

Status Graph::RunUnchecked(std::span<const Tensor* const> inputs,
                           std::vector<Tensor>* outputs) const {
  std::vector<const Tensor*> vals(slot_template_);
  std::vector<Tensor> store(static_cast<size_t>(num_slots_));
  for (size_t i = 0; i < inputs.size(); ++i) vals[input_slots_[i]] = inputs[i];
  std::vector<const Tensor*> args(max_node_inputs_);
  try {
    for (const ExecNode& node : nodes_) {
      const size_t nin = node.inputs.size();
      for (size_t k = 0; k < nin; ++k) {
        args[k] = node.inputs[k] >= 0 ? vals[node.inputs[k]] : nullptr;
      }
      std::span<Tensor> outs(store.data() + node.first_output, node.num_outputs);
      Status st = node.kernel->Run(std::span<const Tensor* const>(args.data(), nin), outs);
      if (!st.ok()) return Status(st.code(), node.label + ": " + st.message());
      for (int32_t o = 0; o < node.num_outputs; ++o) {
        vals[node.first_output + o] = &store[node.first_output + o];
      }
      for (int32_t s : node.release) store[s] = Tensor();
    }
  } catch (const std::exception& e) {
    return Internal(std::string("ONNX graph execution failed: ") + e.what());
  }
  outputs->resize(output_slots_.size());
  // Copies first: a value listed twice is moved out only after it was copied.
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    if (!output_owned_[i]) (*outputs)[i] = *vals[output_slots_[i]];
  }
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    if (output_owned_[i]) (*outputs)[i] = std::move(store[output_slots_[i]]);
  }
  return Status::Ok();
}

}  // namespace studio::serving::onnx
