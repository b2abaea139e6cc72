#include "auth/login_limiter.h"

namespace studio::auth {

int LoginLimiter::CountLocked(const std::string& key, int64_t now_ms) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  auto& q = it->second;
  while (!q.empty() && q.front() <= now_ms - window_ms_) q.pop_front();
  return static_cast<int>(q.size());
}

void LoginLimiter::PruneLocked(int64_t now_ms) {
  if (now_ms - last_prune_ < window_ms_) return;
  last_prune_ = now_ms;
  for (auto it = failures_.begin(); it != failures_.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front() <= now_ms - window_ms_) q.pop_front();
    it = q.empty() ? failures_.erase(it) : std::next(it);
  }
}

bool LoginLimiter::Blocked(const std::string& username, const std::string& ip, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return CountLocked("u:" + username, now_ms) >= max_failures_ ||
         CountLocked("ip:" + ip, now_ms) >= max_failures_;
}

void LoginLimiter::RecordFailure(const std::string& username, const std::string& ip,
                                 int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PruneLocked(now_ms);
  failures_["u:" + username].push_back(now_ms);
  failures_["ip:" + ip].push_back(now_ms);
}

}  // namespace studio::auth
