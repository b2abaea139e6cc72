#include "store/internal/pg_uri.h"
#include "store/metadata_store.h"

#include <vector>

namespace studio::store {
namespace {

Result<std::string> PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !isxdigit(static_cast<unsigned char>(s[i + 2])))
        return InvalidArgument("bad percent-encoding in database URI");
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace

Result<std::string> PostgresUriToConninfo(const std::string& uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return InvalidArgument("not a postgresql:// URI");
  std::string rest = uri.substr(scheme + 3);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  std::string path;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    path = rest.substr(slash + 1);
    rest.resize(slash);
  }
  std::string userinfo;
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  std::vector<std::pair<std::string, std::string>> kv;
  if (!userinfo.empty()) {
    size_t colon = userinfo.find(':');
    ASSIGN_OR_RETURN(std::string user, PercentDecode(userinfo.substr(0, colon)));
    if (!user.empty()) kv.emplace_back("user", user);
    if (colon != std::string::npos) {
      ASSIGN_OR_RETURN(std::string pw, PercentDecode(userinfo.substr(colon + 1)));
      kv.emplace_back("password", pw);
    }
  }
  if (!rest.empty()) {
    std::string host = rest, port;
    if (rest[0] == '[') {
      size_t end = rest.find(']');
      if (end == std::string::npos) return InvalidArgument("bad IPv6 host in database URI");
      host = rest.substr(1, end - 1);
      if (end + 1 < rest.size() && rest[end + 1] == ':') port = rest.substr(end + 2);
    } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    ASSIGN_OR_RETURN(host, PercentDecode(host));
    if (!host.empty()) kv.emplace_back("host", host);
    if (!port.empty()) kv.emplace_back("port", port);
  }
  if (!path.empty()) {
    ASSIGN_OR_RETURN(std::string db, PercentDecode(path));
    kv.emplace_back("dbname", db);
  }
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string::npos)
      return InvalidArgument("bad parameter '" + pair + "' in database URI");
    ASSIGN_OR_RETURN(std::string k, PercentDecode(pair.substr(0, eq)));
    ASSIGN_OR_RETURN(std::string v, PercentDecode(pair.substr(eq + 1)));
    kv.emplace_back(k, v);
  }
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out.push_back(' ');
    out += k + "=" + Quote(v);
  }
  return out;
}

std::string RedactDbUri(const std::string& uri) {
  size_t scheme = uri.find("://");
  size_t at = uri.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return uri;
  size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon + 1) + "***" + uri.substr(at);
}

}  // namespace studio::store
