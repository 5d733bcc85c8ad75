// Unit tests of route patterns and matching (supervisor/routes.cc):
// Cloudflare's precedence rules, Host normalisation, invalid patterns.
// Runs in the unit-test binary; the hosts below play hostile clients.
#include "supervisor/routes.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace wfp;

namespace {

RouteTable table_of(std::vector<std::string> patterns) {
  std::vector<RoutePattern> routes;
  int64_t id = 1;
  for (auto& p : patterns) routes.push_back(RoutePattern{p, id++, "w-" + p});
  RouteTable t;
  t.assign(std::move(routes));
  return t;
}

// The pattern that wins for host/path, or "" when none does.
std::string winner(const RouteTable& t, std::string_view host, std::string_view path) {
  const RoutePattern* r = t.match(host, path);
  return r ? r->pattern : "";
}

bool valid(std::string_view pattern) {
  std::string error;
  bool ok = valid_route_pattern(pattern, error);
  EXPECT_EQ(ok, error.empty()) << pattern << ": " << error;
  return ok;
}

}  // namespace

TEST(RoutePattern, AcceptsCloudflareShapes) {
  for (const char* p :
       {"example.com/*", "*.example.com/*", "*/*", "example.com/", "example.com/api",
        "example.com/api/*", "example.com/api*", "*/api/*", "EXAMPLE.com/Path",
        "sub.example.co.uk/a/b/c.html", "xn--bcher-kva.example/*", "localhost/*", "192.168.1.1/*"})
    EXPECT_TRUE(valid(p)) << p;
}

TEST(RoutePattern, RefusesMalformedPatternsWithAReason) {
  for (const char* p : {"",
                        "example.com",
                        "*",
                        "http://example.com/*",
                        "https://example.com/*",
                        "example.com:8080/*",
                        "ex*ample.com/*",
                        "*example.com/*",
                        "a.*.example.com/*",
                        "example.*/*",
                        "**.example.com/*",
                        "*./*",
                        "example.com/a*b",
                        "example.com/**",
                        "example.com/*/x",
                        "exa mple.com/*",
                        "example.com/a b",
                        " example.com/*",
                        "example.com/*\n",
                        "example.com/?q=1",
                        "example.com/#frag",
                        "/*",
                        "*.*/*",
                        "a..b/*",
                        ".example.com/*",
                        "example.com./*",
                        "[::1]/*",
                        "caf\xc3\xa9.com/*",
                        "exa\tmple.com/*"}) {
    std::string error;
    EXPECT_FALSE(valid_route_pattern(p, error)) << "accepted: " << p;
    EXPECT_FALSE(error.empty()) << p;
  }
}

TEST(RoutePattern, ExplainsTheCommonMistakes) {
  std::string error;
  valid_route_pattern("https://example.com/*", error);
  EXPECT_NE(error.find("scheme"), std::string::npos) << error;
  valid_route_pattern("example.com:443/*", error);
  EXPECT_NE(error.find("port"), std::string::npos) << error;
  valid_route_pattern("example.com", error);
  EXPECT_NE(error.find("\"/\""), std::string::npos) << error;
  valid_route_pattern("example.com/a*b", error);
  EXPECT_NE(error.find("only end"), std::string::npos) << error;
}

TEST(RouteTable, StarSlashStarMatchesEverything) {
  RouteTable t = table_of({"*/*"});
  EXPECT_EQ(winner(t, "example.com", "/"), "*/*");
  EXPECT_EQ(winner(t, "a.b.c", "/x/y?z"), "*/*");
  EXPECT_EQ(winner(t, "[::1]:8080", "/"), "*/*");
  EXPECT_EQ(winner(t, "127.0.0.1", "/anything"), "*/*");
  EXPECT_EQ(winner(t, "example.com", ""), "*/*");
}

TEST(RouteTable, MatchesNothingWhenEmptyOrNoPatternFits) {
  RouteTable empty;
  EXPECT_EQ(empty.match("example.com", "/"), nullptr);
  RouteTable t = table_of({"example.com/*"});
  EXPECT_EQ(winner(t, "example.org", "/"), "");
  EXPECT_EQ(winner(t, "notexample.com", "/"), "");
  EXPECT_EQ(winner(t, "example.com.evil", "/"), "");
}

TEST(RouteTable, ExactHostBeatsWildcardHostWhateverThePaths) {
  RouteTable t = table_of({"*.example.com/api/v1/*", "*/*", "api.example.com/*"});
  EXPECT_EQ(winner(t, "api.example.com", "/api/v1/users"), "api.example.com/*");
  EXPECT_EQ(winner(t, "www.example.com", "/api/v1/users"), "*.example.com/api/v1/*");
  EXPECT_EQ(winner(t, "www.example.com", "/other"), "*/*");
}

TEST(RouteTable, ALongerWildcardSuffixIsMoreSpecific) {
  RouteTable t = table_of({"*/*", "*.com/*", "*.example.com/*", "*.eu.example.com/*"});
  EXPECT_EQ(winner(t, "a.eu.example.com", "/"), "*.eu.example.com/*");
  EXPECT_EQ(winner(t, "a.us.example.com", "/"), "*.example.com/*");
  EXPECT_EQ(winner(t, "other.com", "/"), "*.com/*");
  EXPECT_EQ(winner(t, "other.org", "/"), "*/*");
}

TEST(RouteTable, WildcardHostMatchesSubdomainsButNotTheApex) {
  RouteTable t = table_of({"*.example.com/*"});
  EXPECT_EQ(winner(t, "a.example.com", "/"), "*.example.com/*");
  EXPECT_EQ(winner(t, "a.b.example.com", "/"), "*.example.com/*");
  EXPECT_EQ(winner(t, "example.com", "/"), "");
  EXPECT_EQ(winner(t, "badexample.com", "/"), "");
  EXPECT_EQ(winner(t, ".example.com", "/"), "");
}

TEST(RouteTable, TheLongerPathWinsForTheSameHost) {
  RouteTable t = table_of({"example.com/*", "example.com/api/*", "example.com/api/v2/*"});
  EXPECT_EQ(winner(t, "example.com", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "example.com", "/api/x"), "example.com/api/*");
  EXPECT_EQ(winner(t, "example.com", "/api/v2/x"), "example.com/api/v2/*");
  EXPECT_EQ(winner(t, "example.com", "/api"), "example.com/*");  // "/api/*" needs the slash
}

TEST(RouteTable, APathWithoutStarMatchesExactly) {
  RouteTable t = table_of({"example.com/login", "example.com/login*"});
  EXPECT_EQ(winner(t, "example.com", "/login"), "example.com/login");
  EXPECT_EQ(winner(t, "example.com", "/login/x"), "example.com/login*");
  EXPECT_EQ(winner(t, "example.com", "/loginx"), "example.com/login*");
  RouteTable only_exact = table_of({"example.com/"});
  EXPECT_EQ(winner(only_exact, "example.com", "/"), "example.com/");
  EXPECT_EQ(winner(only_exact, "example.com", "/x"), "");
}

TEST(RouteTable, PathsAreCaseSensitive) {
  RouteTable t = table_of({"example.com/API/*"});
  EXPECT_EQ(winner(t, "example.com", "/API/x"), "example.com/API/*");
  EXPECT_EQ(winner(t, "example.com", "/api/x"), "");
}

TEST(RouteTable, IgnoresThePortOfTheHostHeader) {
  RouteTable t = table_of({"example.com/*"});
  EXPECT_EQ(winner(t, "example.com:8080", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "example.com:443", "/x"), "example.com/*");
  EXPECT_EQ(winner(t, "example.com:", "/x"), "example.com/*");
}

TEST(RouteTable, FoldsTheCaseOfHostAndPattern) {
  RouteTable t = table_of({"Example.COM/*", "*.Other.com/*"});
  EXPECT_EQ(winner(t, "EXAMPLE.com", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "example.com", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "A.OTHER.COM", "/"), "*.other.com/*");
}

TEST(RouteTable, StripsATrailingDotFromTheHost) {
  RouteTable t = table_of({"example.com/*", "*.example.org/*"});
  EXPECT_EQ(winner(t, "example.com.", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "example.com.:8080", "/"), "example.com/*");
  EXPECT_EQ(winner(t, "a.example.org.", "/"), "*.example.org/*");
}

TEST(RouteTable, HostileHostsMatchOnlyStar) {
  RouteTable t = table_of({"example.com/*", "*.example.com/*"});
  std::string huge = std::string(100000, 'a') + ".example.com";
  EXPECT_EQ(winner(t, huge, "/"), "");
  EXPECT_EQ(winner(t, std::string("example.com\0.evil", 17), "/"), "");
  EXPECT_EQ(winner(t, "", "/"), "");
  EXPECT_EQ(winner(t, "[::1", "/"), "");
  RouteTable any = table_of({"*/*"});
  EXPECT_EQ(winner(any, huge, "/"), "*/*");
}

TEST(RouteTable, IgnoresInvalidPatternsItIsGiven) {
  RouteTable t = table_of({"bad pattern", "example.com/*"});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(winner(t, "example.com", "/"), "example.com/*");
}

TEST(RouteTable, TheWinnerDoesNotDependOnInsertionOrder) {
  std::vector<std::string> patterns = {"*/*", "*.example.com/*", "www.example.com/*",
                                       "www.example.com/a/*", "*.example.com/a/b/*"};
  for (int rotation = 0; rotation < 5; rotation++) {
    std::rotate(patterns.begin(), patterns.begin() + 1, patterns.end());
    RouteTable t = table_of(patterns);
    EXPECT_EQ(winner(t, "www.example.com", "/a/b/c"), "www.example.com/a/*");
    EXPECT_EQ(winner(t, "x.example.com", "/a/b/c"), "*.example.com/a/b/*");
    EXPECT_EQ(winner(t, "x.example.com", "/a"), "*.example.com/*");
    EXPECT_EQ(winner(t, "example.com", "/a"), "*/*");
  }
}

TEST(RouteTable, KeepsTheWorkerOfTheMatchingRoute) {
  std::vector<RoutePattern> routes = {{"a.com/*", 7, "alpha"}, {"b.com/*", 9, "beta"}};
  RouteTable t;
  t.assign(routes);
  const RoutePattern* r = t.match("b.com", "/");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->worker_id, 9);
  EXPECT_EQ(r->worker_name, "beta");
}
