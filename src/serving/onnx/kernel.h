#pragma once

// The contract between the ONNX graph runtime and its operator kernels. Kernels see no
// protobuf: the loader converts each NodeProto's attributes into `Attributes` once, at load.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "serving/core/tensor.h"

namespace studio::serving::onnx {

using AttributeValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                                    std::vector<float>, std::vector<std::string>, Tensor>;

// A node's attributes by name. Getters return `fallback` when the attribute is absent.
class Attributes {
 public:
  void Set(std::string name, AttributeValue value) { values_[std::move(name)] = std::move(value); }
  bool Has(std::string_view name) const { return values_.find(name) != values_.end(); }

  int64_t Int(std::string_view name, int64_t fallback = 0) const;
  float Float(std::string_view name, float fallback = 0.0f) const;
  std::string String(std::string_view name, std::string fallback = "") const;
  std::vector<int64_t> Ints(std::string_view name) const;  // empty when absent
  std::vector<float> Floats(std::string_view name) const;  // empty when absent
  std::vector<std::string> Strings(std::string_view name) const;
  const Tensor* TensorValue(std::string_view name) const;  // nullptr when absent

  const std::map<std::string, AttributeValue, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, AttributeValue, std::less<>> values_;
};

// What a kernel factory sees about its node at load time.
struct NodeInfo {
  std::string_view domain;  // "" for ai.onnx, "ai.onnx.ml"
  std::string_view op_type;
  std::string_view name;  // node name (may be empty)
  int64_t opset = 0;      // the model's opset for this domain
  const Attributes& attributes;
  // One entry per node input: the tensor when the input is an initializer or Constant (known at
  // load), else nullptr. Empty-named (omitted optional) inputs are nullptr too.
  std::span<const Tensor* const> constant_inputs;
  size_t num_outputs = 0;
};

// One operator instance. Run() must be thread-safe (const, no mutable state): the same model
// serves many requests at once.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // `inputs` has one entry per node input, nullptr for an omitted optional input. `outputs`
  // has one default-constructed Tensor per node output for the kernel to Resize() and fill.
  virtual Status Run(std::span<const Tensor* const> inputs, std::span<Tensor> outputs) const = 0;
};

using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(const NodeInfo& node);

// Maps (domain, op_type) to a factory. The factory validates attributes and returns a load
// error naming the node on anything it does not support.
class KernelRegistry {
 public:
  void Register(std::string domain, std::string op_type, KernelFactory factory);
  KernelFactory Find(std::string_view domain, std::string_view op_type) const;
  std::vector<std::string> Names() const;  // "domain:op" for error messages and reports

  // The registry with every kernel this build has.
  static const KernelRegistry& Default();

 private:
  std::map<std::pair<std::string, std::string>, KernelFactory> factories_;
};

// Each kernel family registers itself here; Default() calls them all.
void RegisterMathKernels(KernelRegistry& r);  // ai.onnx (onnx/ops/*.cc)
void RegisterMlKernels(KernelRegistry& r);    // ai.onnx.ml except the tree ensembles
void RegisterTreeEnsembleKernels(
    KernelRegistry& r);  // ai.onnx.ml TreeEnsemble{Regressor,Classifier}

// Helper for kernels: an InvalidArgument naming the op and node.
Status NodeError(const NodeInfo& node, const std::string& message);

}  // namespace studio::serving::onnx
