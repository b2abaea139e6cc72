#pragma once

// The loaded, immutable execution plan of an ONNX graph. Values live in numbered slots,
// resolved at load so Run() does no name lookups; Run() keeps its tensors in a per-call vector,
// so one Graph serves many threads at once.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "serving/core/model_runtime.h"
#include "serving/onnx/kernel.h"

namespace studio::serving::onnx {

struct ExecNode {
  std::unique_ptr<Kernel> kernel;
  std::vector<int32_t> inputs;  // value slot per node input; -1 for an omitted input
  int32_t first_output = 0;     // outputs occupy slots [first_output, first_output + n)
  int32_t num_outputs = 0;
  std::vector<int32_t> release;  // intermediate slots whose last reader is this node
  std::string label;             // "Gemm node 'fc1'" for run-time errors
};

class Graph {
 public:
  const std::vector<TensorSpec>& inputs() const { return inputs_; }
  const std::vector<TensorSpec>& outputs() const { return outputs_; }
  const std::map<std::string, int64_t>& opsets() const { return opsets_; }
  size_t num_nodes() const { return nodes_.size(); }

  // Validates count, dtype, rank and static dimensions of the inputs (InvalidArgument
  // naming the input), then runs the nodes in topological order.
  Status Run(std::span<const Tensor> inputs, std::vector<Tensor>* outputs) const;
  // Same without validating `inputs` (the caller built them from the specs).
  Status RunUnchecked(std::span<const Tensor* const> inputs, std::vector<Tensor>* outputs) const;

  Status ValidateInput(size_t i, const Tensor& t) const;

 private:
  friend class GraphBuilder;

  std::vector<TensorSpec> inputs_;
  std::vector<bool> input_shape_known_;
  std::vector<TensorSpec> outputs_;
  std::map<std::string, int64_t> opsets_;  // "" for ai.onnx
  int32_t num_slots_ = 0;
  std::vector<int32_t> input_slots_;
  std::vector<int32_t> output_slots_;
  std::vector<bool> output_owned_;            // output slot holds a node result we may move
  std::deque<Tensor> constants_;              // stable addresses
  std::vector<const Tensor*> slot_template_;  // constants pre-filled, others nullptr
  std::vector<ExecNode> nodes_;
  size_t max_node_inputs_ = 0;
};

// Parses and plans a serialized ModelProto. Errors: InvalidArgument with a message naming
// the problem (parse failure, unsupported op "domain:op_type" and node, cycles, ...).
Result<std::unique_ptr<Graph>> LoadGraph(const void* data, size_t size);

}  // namespace studio::serving::onnx
