#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace studio::monitors {

// Outbound HTTP to user-supplied URLs (webhooks, serving /metrics) without SSRF: MLflow's
// webhook CVEs (reference/registry_serving.md §4: CVE-2026-2393, CVE-2026-64849) reached cloud
// metadata directly, through redirects and through DNS rebinding. So: http/https only, no
// userinfo, the host is resolved once and every address checked, the connection goes to that
// checked address (curl never resolves again), and redirects are never followed.
struct EgressPolicy {
  // Host names or IP literals (exact, case-insensitive) that may resolve to blocked ranges:
  // the `allowed_webhook_hosts` config key. Tests list 127.0.0.1 here.
  std::vector<std::string> allowed_hosts;
  // Loopback and private ranges (RFC 1918, ULA, CGNAT) allowed too: serving endpoints live on
  // the private network. Link-local and cloud metadata stay refused unless allow-listed.
  bool allow_private = false;
};

struct EgressTarget {
  std::string url;     // as given
  std::string scheme;  // http | https
  std::string host;    // as in the URL (brackets stripped for IPv6)
  int port = 0;
  std::string ip;  // the checked address curl connects to
};

// The range an address falls in when it is refused ("loopback", "link-local", "private",
// "cloud metadata", ...); "" when it is a public address.
std::string BlockedRange(const std::string& ip);

// Parses, resolves and checks `url`. INVALID_PARAMETER_VALUE naming the problem otherwise.
Result<EgressTarget> CheckUrl(const std::string& url, const EgressPolicy& policy);

struct HttpResult {
  long status = 0;
  std::string body;  // at most the cap given
};

// The request goes to target.ip; redirects are answered as they are (3xx), not followed.
Result<HttpResult> HttpPost(const EgressTarget& target, const std::string& body,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            long timeout_ms);
Result<HttpResult> HttpGet(const EgressTarget& target, long timeout_ms, size_t max_bytes);

// Lowercase hex HMAC-SHA256(key, data).
std::string HmacSha256Hex(const std::string& key, const std::string& data);

}  // namespace studio::monitors
