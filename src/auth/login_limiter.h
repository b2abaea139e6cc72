#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace studio::auth {

// Counts failed logins per username and per client IP over a sliding window; past the limit
// both the key's further attempts are refused (429) before any password is checked.
class LoginLimiter {
 public:
  LoginLimiter(int max_failures = 10, int64_t window_ms = 60'000)
      : max_failures_(max_failures), window_ms_(window_ms) {}
  bool Blocked(const std::string& username, const std::string& ip, int64_t now_ms);
  void RecordFailure(const std::string& username, const std::string& ip, int64_t now_ms);

 private:
  int CountLocked(const std::string& key, int64_t now_ms);
  void PruneLocked(int64_t now_ms);

  const int max_failures_;
  const int64_t window_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
  int64_t last_prune_ = 0;
};

}  // namespace studio::auth
