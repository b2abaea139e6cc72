#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace studio::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError };
enum class Format { kJson, kText };

void Configure(Format format, Level min_level);
bool ParseFormat(std::string_view name, Format* out);

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, long long v) : key(k), value(std::to_string(v)), number(true) {}
  Field(std::string_view k, int v) : key(k), value(std::to_string(v)), number(true) {}
  Field(std::string_view k, double v);
  std::string key;
  std::string value;
  bool number = false;
};

// One line on stderr: {"ts","level","msg","request_id","user",...fields}.
void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}

// Request-scoped fields for every line this thread writes while the scope lives.
class ScopedContext {
 public:
  explicit ScopedContext(std::string request_id);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;
  static void SetUser(std::string user);
};

}  // namespace studio::log
