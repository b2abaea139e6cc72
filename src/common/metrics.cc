#include "common/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace studio::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load();
  while (!a.compare_exchange_weak(cur, cur + v)) {
  }
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

std::string LabelKey(const Labels& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out.push_back(',');
    out += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[40];
  snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string WithLabels(const std::string& key, const std::string& extra = "") {
  if (key.empty() && extra.empty()) return "";
  if (key.empty()) return "{" + extra + "}";
  if (extra.empty()) return "{" + key + "}";
  return "{" + key + "," + extra + "}";
}

}  // namespace

void Counter::Inc(double v) { AtomicAdd(value_, v); }
void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1);
  AtomicAdd(sum_, v);
  count_.fetch_add(1);
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->assign(bounds_.size() + 1, 0);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load();
    (*cumulative)[i] = acc;
  }
  *sum = sum_.load();
  *count = acc;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

Registry::Family& Registry::GetFamily(const std::string& name, const std::string& help, Type type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(name, Family{type, help, {}, {}, {}}).first;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = GetFamily(name, help, Type::kCounter).counters[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = GetFamily(name, help, Type::kGauge).gauges[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& bounds, const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = GetFamily(name, help, Type::kHistogram).histograms[LabelKey(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  for (const auto& [name, fam] : families_) {
    const char* type = fam.type == Type::kCounter ? "counter"
                       : fam.type == Type::kGauge ? "gauge"
                                                  : "histogram";
    out << "# HELP " << name << " " << fam.help << "\n# TYPE " << name << " " << type << "\n";
    for (const auto& [key, c] : fam.counters)
      out << name << WithLabels(key) << " " << FormatValue(c->value()) << "\n";
    for (const auto& [key, g] : fam.gauges)
      out << name << WithLabels(key) << " " << FormatValue(g->value()) << "\n";
    for (const auto& [key, h] : fam.histograms) {
      std::vector<uint64_t> cum;
      double sum;
      uint64_t count;
      h->Snapshot(&cum, &sum, &count);
      for (size_t i = 0; i <= h->bounds().size(); ++i) {
        std::string le = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
        out << name << "_bucket" << WithLabels(key, "le=\"" + le + "\"") << " " << cum[i] << "\n";
      }
      out << name << "_sum" << WithLabels(key) << " " << FormatValue(sum) << "\n";
      out << name << "_count" << WithLabels(key) << " " << count << "\n";
    }
  }
  return out.str();
}

std::string RenderProcessMetrics() {
  static const double kStart = [] {
    // Boot time + process start ticks; computed once.
    std::ifstream stat("/proc/self/stat");
    std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t p = s.rfind(')');
    std::istringstream rest(s.substr(p + 2));
    std::string f;
    unsigned long long starttime = 0;
    for (int i = 3; i <= 22 && rest >> f; ++i)
      if (i == 22) starttime = std::stoull(f);
    std::ifstream st("/proc/stat");
    std::string line;
    double btime = 0;
    while (std::getline(st, line))
      if (line.rfind("btime ", 0) == 0) btime = std::stod(line.substr(6));
    return btime + static_cast<double>(starttime) / sysconf(_SC_CLK_TCK);
  }();
  std::ifstream stat("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  double utime = 0, stime = 0, vsize = 0, rss_pages = 0;
  size_t p = s.rfind(')');
  if (p != std::string::npos) {
    std::istringstream rest(s.substr(p + 2));
    std::string f;
    for (int i = 3; rest >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
      if (i == 23) vsize = std::stod(f);
      if (i == 24) {
        rss_pages = std::stod(f);
        break;
      }
    }
  }
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++fds;
    closedir(d);
    fds -= 3;  // ".", ".." and the dir's own fd
  }
  struct rlimit rl {};
  getrlimit(RLIMIT_NOFILE, &rl);
  std::ostringstream out;
  out << "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
      << "# TYPE process_cpu_seconds_total counter\n"
      << "process_cpu_seconds_total " << FormatValue((utime + stime) / ticks) << "\n"
      << "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      << "# TYPE process_resident_memory_bytes gauge\n"
      << "process_resident_memory_bytes " << FormatValue(rss_pages * sysconf(_SC_PAGESIZE)) << "\n"
      << "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
      << "# TYPE process_virtual_memory_bytes gauge\n"
      << "process_virtual_memory_bytes " << FormatValue(vsize) << "\n"
      << "# HELP process_start_time_seconds Start time of the process since unix epoch in "
         "seconds.\n"
      << "# TYPE process_start_time_seconds gauge\n"
      << "process_start_time_seconds " << FormatValue(kStart) << "\n"
      << "# HELP process_open_fds Number of open file descriptors.\n"
      << "# TYPE process_open_fds gauge\n"
      << "process_open_fds " << fds << "\n"
      << "# HELP process_max_fds Maximum number of open file descriptors.\n"
      << "# TYPE process_max_fds gauge\n"
      << "process_max_fds " << FormatValue(static_cast<double>(rl.rlim_cur)) << "\n";
  return out.str();
}

}  // namespace studio::metrics
