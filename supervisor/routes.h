// Route patterns and matching, by Cloudflare's rules: "HOST/PATH" where
// HOST may start with "*." or be "*", PATH may end with "*"; "*/*" matches
// everything; the port of Host is ignored; the most specific route wins
// (exact host over wildcard host, then the longer path).
// Runs in the supervisor on every request; hosts come from clients (hostile).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wfp {

struct RoutePattern {
  std::string pattern;      // as given, normalised to lower case
  int64_t worker_id = 0;
  std::string worker_name;
};

// Checks a pattern; on failure fills `error` with what is wrong.
bool valid_route_pattern(std::string_view pattern, std::string& error);

class RouteTable {
 public:
  void assign(std::vector<RoutePattern> routes);
  // host: the Host header value (port and a trailing dot are stripped,
  // case folded); path: the request target's path (no query).
  // Returns nullptr when nothing matches.
  const RoutePattern* match(std::string_view host, std::string_view path) const;
  size_t size() const { return routes_.size(); }

 private:
  std::vector<RoutePattern> routes_;  // sorted most specific first
};

}  // namespace wfp
