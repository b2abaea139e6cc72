#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "common/strings.h"
#include "common/time_util.h"

namespace studio::log {
namespace {

std::atomic<Format> g_format{Format::kJson};
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;
thread_local std::string t_request_id;
thread_local std::string t_user;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Field::Field(std::string_view k, double v) : key(k), number(true) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.6g", v);
  value = buf;
}

void Configure(Format format, Level min_level) {
  g_format = format;
  g_level = min_level;
}

bool ParseFormat(std::string_view name, Format* out) {
  if (name == "json")
    *out = Format::kJson;
  else if (name == "text")
    *out = Format::kText;
  else
    return false;
  return true;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (level < g_level.load()) return;
  std::string line;
  std::string ts = FormatRfc3339(NowMillis());
  if (g_format.load() == Format::kJson) {
    line = "{\"ts\":\"" + ts + "\",\"level\":\"" + LevelName(level) + "\",\"msg\":";
    AppendJsonString(line, msg);
    if (!t_request_id.empty()) {
      line += ",\"request_id\":";
      AppendJsonString(line, t_request_id);
    }
    if (!t_user.empty()) {
      line += ",\"user\":";
      AppendJsonString(line, t_user);
    }
    for (const Field& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.key);
      line.push_back(':');
      if (f.number)
        line += f.value;
      else
        AppendJsonString(line, f.value);
    }
    line += "}\n";
  } else {
    line = ts + " " + LevelName(level) + " " + std::string(msg);
    if (!t_request_id.empty()) line += " request_id=" + t_request_id;
    if (!t_user.empty()) line += " user=" + t_user;
    for (const Field& f : fields) line += " " + f.key + "=" + f.value;
    line += "\n";
  }
  std::lock_guard<std::mutex> lock(g_mu);
  // One write() per line so lines from concurrent processes sharing stderr stay whole.
  ssize_t unused = ::write(2, line.data(), line.size());
  (void)unused;
}

ScopedContext::ScopedContext(std::string request_id) {
  t_request_id = std::move(request_id);
  t_user.clear();
}
ScopedContext::~ScopedContext() {
  t_request_id.clear();
  t_user.clear();
}
void ScopedContext::SetUser(std::string user) { t_user = std::move(user); }

}  // namespace studio::log
