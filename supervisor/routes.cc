// Route patterns and the per-request match, by Cloudflare's rules (routes.h).
// Runs in the supervisor on every public request; the Host header and path
// come from clients and are hostile: matching never allocates per route and
// never trusts their length or characters. Patterns come from the store,
// which admitted them through valid_route_pattern().
#include "supervisor/routes.h"

#include <algorithm>
#include <tuple>

#include "ipc/log.h"

namespace wfp {
namespace {

constexpr size_t kMaxHostLength = 253;  // RFC 1035's limit for a name
constexpr size_t kMaxPatternLength = 2048;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// A pattern split into its parts; the views point into the pattern string.
struct Parts {
  enum class HostKind { exact, wildcard_suffix, any };
  HostKind host_kind = HostKind::exact;
  std::string_view host;  // exact: the host; wildcard_suffix: ".example.com"; any: ""
  std::string_view path;  // without a trailing '*'
  bool path_prefix = false;
};

Parts split(std::string_view pattern) {
  Parts p;
  size_t slash = pattern.find('/');
  std::string_view host = pattern.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "/" : pattern.substr(slash);
  if (host == "*") {
    p.host_kind = Parts::HostKind::any;
  } else if (host.size() > 2 && host[0] == '*' && host[1] == '.') {
    p.host_kind = Parts::HostKind::wildcard_suffix;
    p.host = host.substr(1);  // keep the dot: ".example.com" never matches "badexample.com"
  } else {
    p.host = host;
  }
  if (!path.empty() && path.back() == '*') {
    p.path_prefix = true;
    path.remove_suffix(1);
  }
  p.path = path;
  return p;
}

// Most specific first: the host decides (exact, then the longer wildcard
// suffix, then "*"), then the longer literal path, then an exact path over
// a prefix of the same length. The pattern text breaks remaining ties so
// the order never depends on insertion order.
auto specificity_key(const RoutePattern& r) {
  Parts p = split(r.pattern);
  return std::make_tuple(static_cast<int>(p.host_kind), -static_cast<int64_t>(p.host.size()),
                         -static_cast<int64_t>(p.path.size()), p.path_prefix ? 1 : 0,
                         std::string_view(r.pattern));
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool valid_host_part(std::string_view host, std::string& error) {
  if (host.empty()) {
    error = "the host part is empty (use \"*\" for any host)";
    return false;
  }
  if (host == "*") return true;
  std::string_view name = host;
  if (name.size() >= 2 && name[0] == '*' && name[1] == '.') name.remove_prefix(2);
  if (name.find('*') != std::string_view::npos) {
    error = "a \"*\" in the host may only start it, as \"*.\", or be the whole host";
    return false;
  }
  if (name.find(':') != std::string_view::npos) {
    error = "a route pattern takes no port (routes match every port)";
    return false;
  }
  if (name.size() > kMaxHostLength) {
    error = "the host is longer than 253 characters";
    return false;
  }
  for (char c : name) {
    if (!host_char(c)) {
      error = "the host may only hold letters, digits, '-', '_' and '.'";
      return false;
    }
  }
  if (name.empty() || name.front() == '.' || name.back() == '.' ||
      name.find("..") != std::string_view::npos) {
    error = "the host has an empty label";
    return false;
  }
  return true;
}

bool valid_path_part(std::string_view path, std::string& error) {
  // path starts with '/', guaranteed by the caller.
  for (size_t i = 0; i < path.size(); i++) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f) {
      error = "the path may not hold spaces, control or non-ASCII characters";
      return false;
    }
    if (c == '?' || c == '#') {
      error = "a route pattern takes no query string or fragment";
      return false;
    }
    if (c == '*' && i + 1 != path.size()) {
      error = "a \"*\" in the path may only end it";
      return false;
    }
  }
  return true;
}

// Host names are case-insensitive, paths are not: fold the host part only.
// (store.cc folds the same way before storing, so UNIQUE sees one spelling.)
std::string fold_host_part(std::string_view pattern) {
  std::string out(pattern);
  size_t slash = out.find('/');
  for (size_t i = 0; i < std::min(slash, out.size()); i++) out[i] = ascii_lower(out[i]);
  return out;
}

}  // namespace

bool valid_route_pattern(std::string_view pattern, std::string& error) {
  if (pattern.empty()) {
    error = "the route pattern is empty";
    return false;
  }
  if (pattern.size() > kMaxPatternLength) {
    error = "the route pattern is longer than 2048 characters";
    return false;
  }
  for (unsigned char c : pattern) {
    if (c <= 0x20 || c >= 0x7f) {
      error = "the route pattern may not hold spaces, control or non-ASCII characters";
      return false;
    }
  }
  if (pattern.find("://") != std::string_view::npos) {
    error = "a route pattern takes no scheme: write HOST/PATH, e.g. \"example.com/*\"";
    return false;
  }
  size_t slash = pattern.find('/');
  if (slash == std::string_view::npos) {
    error = "a route pattern is HOST/PATH and this one has no \"/\" (e.g. \"example.com/*\")";
    return false;
  }
  return valid_host_part(pattern.substr(0, slash), error) &&
         valid_path_part(pattern.substr(slash), error);
}

void RouteTable::assign(std::vector<RoutePattern> routes) {
  std::vector<RoutePattern> kept;
  kept.reserve(routes.size());
  for (auto& r : routes) {
    std::string error;
    if (!valid_route_pattern(r.pattern, error)) {
      // The store admits only valid patterns; a bad one here is a hand-edited
      // database. Serving the rest beats refusing all routes.
      WFP_LOG(warn, "routes: ignoring invalid pattern \"%s\": %s", r.pattern.c_str(),
              error.c_str());
      continue;
    }
    r.pattern = fold_host_part(r.pattern);
    kept.push_back(std::move(r));
  }
  std::stable_sort(kept.begin(), kept.end(), [](const RoutePattern& a, const RoutePattern& b) {
    return specificity_key(a) < specificity_key(b);
  });
  routes_ = std::move(kept);
}

const RoutePattern* RouteTable::match(std::string_view host, std::string_view path) const {
  // Strip the port: "[v6]:port" keeps its brackets; otherwise cut at ':'.
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // A longer Host can match nothing but "*"; cap what we copy and compare.
  bool host_too_long = host.size() > kMaxHostLength;
  char folded[kMaxHostLength];
  size_t n = host_too_long ? 0 : host.size();
  for (size_t i = 0; i < n; i++) folded[i] = ascii_lower(host[i]);
  std::string_view h(folded, n);
  if (path.empty()) path = "/";

  for (const RoutePattern& r : routes_) {
    Parts p = split(r.pattern);
    switch (p.host_kind) {
      case Parts::HostKind::any:
        break;
      case Parts::HostKind::exact:
        if (host_too_long || h != p.host) continue;
        break;
      case Parts::HostKind::wildcard_suffix:
        // "*.example.com" matches "a.example.com" and "a.b.example.com",
        // never "example.com" itself (Cloudflare's rule).
        if (host_too_long || h.size() <= p.host.size() || !h.ends_with(p.host)) continue;
        break;
    }
    if (p.path_prefix ? path.starts_with(p.path) : path == p.path) return &r;
  }
  return nullptr;
}

}  // namespace wfp
