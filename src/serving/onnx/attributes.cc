#include <string>
#include <type_traits>
#include <vector>

#include "serving/onnx/kernel.h"

namespace studio::serving::onnx {
namespace {

template <class T>
const T* Get(const std::map<std::string, AttributeValue, std::less<>>& values,
             std::string_view name) {
  auto it = values.find(name);
  if (it == values.end()) return nullptr;
  return std::get_if<T>(&it->second);
}

}  // namespace

// A model may store an integer-valued attribute as a float or the reverse (hand-built
// models do); the getters convert rather than silently falling back.
int64_t Attributes::Int(std::string_view name, int64_t fallback) const {
  if (const auto* v = Get<int64_t>(values_, name)) return *v;
  if (const auto* f = Get<float>(values_, name)) return static_cast<int64_t>(*f);
  return fallback;
}

float Attributes::Float(std::string_view name, float fallback) const {
  if (const auto* v = Get<float>(values_, name)) return *v;
  if (const auto* i = Get<int64_t>(values_, name)) return static_cast<float>(*i);
  return fallback;
}

std::string Attributes::String(std::string_view name, std::string fallback) const {
  if (const auto* v = Get<std::string>(values_, name)) return *v;
  return fallback;
}

std::vector<int64_t> Attributes::Ints(std::string_view name) const {
  if (const auto* v = Get<std::vector<int64_t>>(values_, name)) return *v;
  if (const auto* i = Get<int64_t>(values_, name)) return {*i};
  return {};
}

std::vector<float> Attributes::Floats(std::string_view name) const {
  if (const auto* v = Get<std::vector<float>>(values_, name)) return *v;
  if (const auto* f = Get<float>(values_, name)) return {*f};
  return {};
}

std::vector<std::string> Attributes::Strings(std::string_view name) const {
  if (const auto* v = Get<std::vector<std::string>>(values_, name)) return *v;
  if (const auto* s = Get<std::string>(values_, name)) return {*s};
  return {};
}

const Tensor* Attributes::TensorValue(std::string_view name) const {
  return Get<Tensor>(values_, name);
}

}  // namespace studio::serving::onnx
