#include "monitors/egress.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "common/crypto.h"
#include "common/strings.h"

namespace studio::monitors {
namespace {

bool InV4(uint32_t a, const char* net, int bits) {
  in_addr n{};
  inet_pton(AF_INET, net, &n);
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (a & mask) == (ntohl(n.s_addr) & mask);
}

std::string BlockedV4(uint32_t a) {
  if (InV4(a, "169.254.169.254", 32)) return "cloud metadata";
  if (InV4(a, "100.100.100.200", 32)) return "cloud metadata";
  if (InV4(a, "127.0.0.0", 8)) return "loopback";
  if (InV4(a, "169.254.0.0", 16)) return "link-local";
  if (InV4(a, "10.0.0.0", 8) || InV4(a, "172.16.0.0", 12) || InV4(a, "192.168.0.0", 16))
    return "private";
  if (InV4(a, "100.64.0.0", 10)) return "private";  // carrier-grade NAT
  if (InV4(a, "0.0.0.0", 8)) return "unspecified";
  if (InV4(a, "192.0.0.0", 24) || InV4(a, "198.18.0.0", 15) || InV4(a, "240.0.0.0", 4))
    return "reserved";
  if (InV4(a, "224.0.0.0", 4)) return "multicast";
  return "";
}

bool InV6(const unsigned char* a, const unsigned char* net, int bits) {
  for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((a[i] & mask) != (net[i] & mask)) return false;
  }
  return true;
}

std::string BlockedV6(const unsigned char* a) {
  static const unsigned char kZero[16] = {};
  static const unsigned char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const unsigned char kMapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char kNat64[16] = {0, 0x64, 0xff, 0x9b};
  static const unsigned char kLinkLocal[16] = {0xfe, 0x80};
  static const unsigned char kUla[16] = {0xfc};
  static const unsigned char kMulticast[16] = {0xff};
  static const unsigned char kAwsMetadata[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
                                                 0,    0, 0,    0,    0, 0, 0x02, 0x54};
  if (InV6(a, kZero, 128)) return "unspecified";
  if (InV6(a, kLoop, 128)) return "loopback";
  // IPv4 embedded in IPv6 (mapped, NAT64): judged by the IPv4 address it reaches.
  if (InV6(a, kMapped, 96) || InV6(a, kNat64, 96)) {
    uint32_t v4 = (uint32_t{a[12]} << 24) | (uint32_t{a[13]} << 16) | (uint32_t{a[14]} << 8) |
                  uint32_t{a[15]};
    return BlockedV4(v4);
  }
  if (InV6(a, kAwsMetadata, 128)) return "cloud metadata";
  if (InV6(a, kLinkLocal, 10)) return "link-local";
  if (InV6(a, kUla, 7)) return "private";
  if (InV6(a, kMulticast, 8)) return "multicast";
  if (InV6(a, kZero, 96)) return "reserved";  // IPv4-compatible (deprecated)
  return "";
}

bool IsPrivateClass(const std::string& range) { return range == "loopback" || range == "private"; }

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

std::string UrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* out = nullptr;
  if (curl_url_get(u, part, &out, flags) != CURLUE_OK || !out) return "";
  std::string s(out);
  curl_free(out);
  return s;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* ctx = static_cast<std::pair<std::string*, size_t>*>(user);
  size_t len = size * n;
  size_t room = ctx->second > ctx->first->size() ? ctx->second - ctx->first->size() : 0;
  ctx->first->append(data, std::min(len, room));
  return len;
}

Result<HttpResult> Perform(const EgressTarget& t, const std::string* body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           long timeout_ms, size_t max_bytes) {
  static const bool kInit = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  if (!kInit) return Internal("libcurl initialisation failed");
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Internal("libcurl initialisation failed");
  CURL* c = curl.get();
  // Pin the checked address: curl connects there and never resolves the name itself.
  std::string ip = t.ip.find(':') != std::string::npos ? "[" + t.ip + "]" : t.ip;
  std::string pin = t.host + ":" + std::to_string(t.port) + ":" + ip;
  curl_slist* resolve = curl_slist_append(nullptr, pin.c_str());
  curl_slist* hdrs = nullptr;
  for (const auto& [k, v] : headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
  hdrs = curl_slist_append(hdrs, "Expect:");
  std::string response;
  std::pair<std::string*, size_t> sink{&response, max_bytes};
  curl_easy_setopt(c, CURLOPT_URL, t.url.c_str());
  curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // a proxy would resolve the name again
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnWrite);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mlops-studio-monitors/1");
  if (body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hdrs);
  curl_slist_free_all(resolve);
  if (rc != CURLE_OK)
    return Status(ErrorCode::kTemporarilyUnavailable,
                  std::string("request to ") + t.host + " failed: " + curl_easy_strerror(rc));
  return HttpResult{status, std::move(response)};
}

}  // namespace

std::string BlockedRange(const std::string& ip) {
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return BlockedV4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) return BlockedV6(v6.s6_addr);
  return "unparseable";
}

Result<EgressTarget> CheckUrl(const std::string& url, const EgressPolicy& policy) {
  auto bad = [&](const std::string& why) { return InvalidArgument("URL refused: " + why); };
  if (url.empty()) return bad("empty");
  if (url.size() > 2048) return bad("longer than 2048 bytes");
  for (char ch : url)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == '\\' || ch == 0x7f)
      return bad("contains whitespace, control characters or a backslash");
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return bad("not a valid absolute URL");
  EgressTarget t;
  t.url = url;
  t.scheme = ToLower(UrlPart(u.get(), CURLUPART_SCHEME));
  if (t.scheme != "http" && t.scheme != "https") return bad("scheme must be http or https");
  if (!UrlPart(u.get(), CURLUPART_USER).empty() || !UrlPart(u.get(), CURLUPART_PASSWORD).empty())
    return bad("credentials in the URL are not allowed");
  t.host = UrlPart(u.get(), CURLUPART_HOST);
  if (t.host.size() > 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  if (size_t pct = t.host.find('%'); pct != std::string::npos) return bad("zone ids not allowed");
  if (t.host.empty()) return bad("no host");
  std::string port = UrlPart(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  t.port = std::atoi(port.c_str());
  if (t.port <= 0 || t.port > 65535) return bad("invalid port");

  bool allowed = false;
  for (const auto& h : policy.allowed_hosts)
    if (ToLower(h) == ToLower(t.host)) allowed = true;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(t.host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res) return bad("host '" + t.host + "' does not resolve");
  std::vector<std::string> ips;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof(buf));
    else if (ai->ai_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                sizeof(buf));
    else
      continue;
    ips.emplace_back(buf);
  }
  freeaddrinfo(res);
  if (ips.empty()) return bad("host '" + t.host + "' has no IPv4/IPv6 address");
  // Every address must pass: a name with one public and one internal address could otherwise
  // be steered to the internal one.
  for (const auto& ip : ips) {
    for (const auto& h : policy.allowed_hosts)
      if (h == ip) allowed = true;
  }
  if (!allowed) {
    for (const auto& ip : ips) {
      std::string range = BlockedRange(ip);
      if (range.empty() || (policy.allow_private && IsPrivateClass(range))) continue;
      return bad("host '" + t.host + "' resolves to " + ip + ", a " + range +
                 " address (add the host to allowed_webhook_hosts to permit it)");
    }
  }
  t.ip = ips.front();
  return t;
}

Result<HttpResult> HttpPost(const EgressTarget& target, const std::string& body,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            long timeout_ms) {
  return Perform(target, &body, headers, timeout_ms, 64 * 1024);
}

Result<HttpResult> HttpGet(const EgressTarget& target, long timeout_ms, size_t max_bytes) {
  return Perform(target, nullptr, {}, timeout_ms, max_bytes);
}

std::string HmacSha256Hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return crypto::HexEncode(std::string(reinterpret_cast<char*>(out), len));
}

}  // namespace studio::monitors
