#include <utility>

#include "serving/onnx/kernel.h"

namespace studio::serving::onnx {

void KernelRegistry::Register(std::string domain, std::string op_type, KernelFactory factory) {
  factories_[{std::move(domain), std::move(op_type)}] = factory;
}

KernelFactory KernelRegistry::Find(std::string_view domain, std::string_view op_type) const {
  // "ai.onnx" and "" name the same default domain.
  std::string d(domain == "ai.onnx" ? std::string_view() : domain);
  auto it = factories_.find({d, std::string(op_type)});
  return it == factories_.end() ? nullptr : it->second;
}

std::vector<std::string> KernelRegistry::Names() const {
  std::vector<std::string> out;
  for (const auto& [key, factory] : factories_) {
    out.push_back((key.first.empty() ? std::string("ai.onnx") : key.first) + ":" + key.second);
  }
  return out;
}

const KernelRegistry& KernelRegistry::Default() {
  static const KernelRegistry registry = [] {
    KernelRegistry r;
    RegisterMathKernels(r);
    RegisterMlKernels(r);
    RegisterTreeEnsembleKernels(r);
    return r;
  }();
  return registry;
}

Status NodeError(const NodeInfo& node, const std::string& message) {
  std::string where = std::string(node.op_type);
  if (!node.name.empty()) where += " node '" + std::string(node.name) + "'";
  return InvalidArgument(where + ": " + message);
}

}  // namespace studio::serving::onnx
