// Unit tests of the admin API's gate (supervisor/admin_auth.cc): the token
// compare, the Authorization parser, the token file's checks, the token
// buckets and the gate's answers. Runs in the unit-test binary; time is
// passed in, so no test sleeps.
#include "supervisor/admin_auth.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace wfp;

namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";  // 32 bytes

// A file in a fresh temporary directory, with `mode`.
class TokenFile {
 public:
  TokenFile(const std::string& text, mode_t mode) {
    char tmpl[] = "/tmp/wfp-token-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/token";
    std::ofstream(path_, std::ios::binary) << text;
    chmod(path_.c_str(), mode);
  }
  ~TokenFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

std::string load_error(const std::string& text, mode_t mode) {
  TokenFile f(text, mode);
  std::string token, error;
  EXPECT_FALSE(load_admin_token(f.path(), token, error)) << text;
  EXPECT_EQ(error.rfind(f.path() + ": ", 0), 0u) << error;
  return error;
}

HttpRequest tcp_request(const std::string& peer, const std::vector<HttpHeader>& headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.target = r.path = "/status";
  r.peer = peer;
  r.headers = headers;
  return r;
}

HttpRequest unix_request(long uid) {
  HttpRequest r;
  r.method = "GET";
  r.target = r.path = "/status";
  r.peer = "unix";
  r.peer_uid = uid;
  return r;
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (auto& h : r.headers)
    if (h.name == name) return h.value;
  return "";
}

}  // namespace

TEST(AdminAuth, TokensCompareEqualOnlyWhenIdentical) {
  EXPECT_TRUE(token_equals(kToken, kToken));
  EXPECT_FALSE(token_equals(kToken + "x", kToken));
  EXPECT_FALSE(token_equals(kToken.substr(0, 31), kToken));
  EXPECT_FALSE(token_equals("", kToken));
  std::string last = kToken;
  last.back() = 'g';
  EXPECT_FALSE(token_equals(last, kToken));
  std::string first = kToken;
  first.front() = '1';
  EXPECT_FALSE(token_equals(first, kToken));
  // A NUL does not end the comparison.
  EXPECT_FALSE(token_equals(std::string("0\0", 2), std::string("0\1", 2)));
}

TEST(AdminAuth, BearerTokenIsTakenFromTheAuthorizationValue) {
  EXPECT_EQ(bearer_token("Bearer abc").value_or("-"), "abc");
  EXPECT_EQ(bearer_token("bearer   abc ").value_or("-"), "abc");
  EXPECT_EQ(bearer_token("BEARER\tabc").value_or("-"), "abc");
  EXPECT_FALSE(bearer_token("Basic YWJjOmRlZg=="));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token(""));
}

TEST(AdminAuth, ATokenFileWithOneLineOfEnoughBytesIsRead) {
  for (const std::string& text : {kToken, kToken + "\n", kToken + "\r\n"}) {
    TokenFile f(text, 0600);
    std::string token, error;
    EXPECT_TRUE(load_admin_token(f.path(), token, error)) << error;
    EXPECT_EQ(token, kToken);
  }
  TokenFile read_only(kToken, 0400);
  std::string token, error;
  EXPECT_TRUE(load_admin_token(read_only.path(), token, error)) << error;
}

TEST(AdminAuth, ATokenFileOthersCanAccessIsRefusedNamingItsMode) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660}) {
    std::string e = load_error(kToken, mode);
    char shown[8];
    snprintf(shown, sizeof shown, "%04o", unsigned(mode));
    EXPECT_NE(e.find(std::string("has mode ") + shown), std::string::npos) << e;
    EXPECT_NE(e.find("chmod 600"), std::string::npos) << e;
  }
}

TEST(AdminAuth, AShortOrMalformedTokenIsRefused) {
  EXPECT_NE(load_error(kToken.substr(0, 31), 0600).find("token of 31 bytes; at least 32"), std::string::npos);
  EXPECT_NE(load_error(kToken.substr(0, 31) + "\n", 0600).find("31 bytes"), std::string::npos);
  EXPECT_NE(load_error("", 0600).find("0 bytes"), std::string::npos);
  EXPECT_NE(load_error(kToken + " " + kToken, 0600).find("visible ASCII"), std::string::npos);
  EXPECT_NE(load_error(kToken + "\n" + kToken + "\n", 0600).find("second line"), std::string::npos);
  EXPECT_NE(load_error(kToken + "\n\n", 0600).find("second line"), std::string::npos);
  EXPECT_NE(load_error(std::string(5000, 'a'), 0600).find("more than 4096 bytes"), std::string::npos);
}

TEST(AdminAuth, AMissingTokenFileOrADirectoryIsRefused) {
  std::string token, error;
  EXPECT_FALSE(load_admin_token("/nonexistent/wfp-token", token, error));
  EXPECT_NE(error.find("/nonexistent/wfp-token: cannot open"), std::string::npos) << error;
  char tmpl[] = "/tmp/wfp-token-dir-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  chmod(dir.c_str(), 0700);
  EXPECT_FALSE(load_admin_token(dir, token, error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  rmdir(dir.c_str());
}

TEST(AdminAuth, TheErrorBodyIsTheApisEnvelope) {
  auto j = nlohmann::json::parse(admin_error_body(10000, "Authentication error"));
  EXPECT_EQ(j["success"], false);
  ASSERT_EQ(j["errors"].size(), 1u);
  EXPECT_EQ(j["errors"][0]["code"], 10000);
  EXPECT_EQ(j["errors"][0]["message"], "Authentication error");
  EXPECT_TRUE(j["messages"].is_array() && j["messages"].empty());
  EXPECT_TRUE(j["result"].is_null());
}

TEST(AdminAuth, ABucketAdmitsABurstOfTwiceTheRateThenTheRate) {
  RateLimiter rl;
  rl.set_rate(5);
  int64_t retry = 0;
  for (int i = 0; i < 10; i++) EXPECT_TRUE(rl.admit("a", 100.0, retry)) << i;
  EXPECT_FALSE(rl.admit("a", 100.0, retry));
  EXPECT_EQ(retry, 1);
  // 0.2 s later one token is back, and only one.
  EXPECT_TRUE(rl.admit("a", 100.2, retry));
  EXPECT_FALSE(rl.admit("a", 100.2, retry));
  // Other clients have buckets of their own.
  EXPECT_TRUE(rl.admit("b", 100.2, retry));
}

TEST(AdminAuth, RetryAfterIsTheWholeSecondsUntilATokenIsBack) {
  RateLimiter rl;
  rl.set_rate(1);
  int64_t retry = 0;
  EXPECT_TRUE(rl.admit("a", 0.0, retry));
  EXPECT_TRUE(rl.admit("a", 0.0, retry));
  EXPECT_FALSE(rl.admit("a", 0.0, retry));
  EXPECT_EQ(retry, 1);
  EXPECT_FALSE(rl.admit("a", 0.5, retry));
  EXPECT_EQ(retry, 1);  // rounded up, never 0
  EXPECT_TRUE(rl.admit("a", 1.0, retry));
}

TEST(AdminAuth, ARateOfZeroIsUnlimited) {
  RateLimiter rl;
  rl.set_rate(0);
  int64_t retry = 0;
  for (int i = 0; i < 100000; i++) ASSERT_TRUE(rl.admit("a", 0.0, retry));
  EXPECT_EQ(rl.clients(), 0u);
}

TEST(AdminAuth, IdleBucketsAreDroppedAndTheMapIsCapped) {
  RateLimiter rl(100);
  rl.set_rate(10);
  int64_t retry = 0;
  for (int i = 0; i < 1000; i++) rl.admit("client " + std::to_string(i), 1.0, retry);
  EXPECT_EQ(rl.clients(), 100u);
  // A bucket idle for 2 s is full again, the same as none: it goes.
  rl.admit("late", 3.5, retry);
  EXPECT_EQ(rl.clients(), 1u);
}

TEST(AdminAuth, ForgettingAClientOnlyEverLetsItThroughSooner) {
  RateLimiter rl(2);
  rl.set_rate(1);
  int64_t retry = 0;
  EXPECT_TRUE(rl.admit("a", 0.0, retry));
  EXPECT_TRUE(rl.admit("a", 0.0, retry));
  EXPECT_FALSE(rl.admit("a", 0.0, retry));
  rl.admit("b", 0.1, retry);
  rl.admit("c", 0.2, retry);  // the map is full: "a", least recent, goes
  EXPECT_TRUE(rl.admit("a", 0.3, retry));
}

TEST(AdminAuth, ChangingTheRateStartsEveryBucketAfresh) {
  RateLimiter rl;
  rl.set_rate(1);
  int64_t retry = 0;
  rl.admit("a", 0.0, retry);
  rl.admit("a", 0.0, retry);
  EXPECT_FALSE(rl.admit("a", 0.0, retry));
  rl.set_rate(100);
  EXPECT_TRUE(rl.admit("a", 0.0, retry));
}

TEST(AdminAuth, TheSocketNeedsNoTokenButTcpDoes) {
  AdminGate g;
  g.set_token(kToken);
  g.set_rate(0);
  EXPECT_FALSE(g.check(unix_request(1000), false, 0.0));
  EXPECT_FALSE(g.check(tcp_request("127.0.0.1:5000", {{"Authorization", "Bearer " + kToken}}), true, 0.0));

  auto missing = g.check(tcp_request("127.0.0.1:5000"), true, 0.0);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->response.status, 401);
  EXPECT_EQ(header(missing->response, "WWW-Authenticate"), "Bearer realm=\"wfpd\"");
  auto j = nlohmann::json::parse(missing->response.body);
  EXPECT_EQ(j["errors"][0]["code"], kAdminAuthError);
  EXPECT_EQ(j["errors"][0]["message"], "Authentication error");

  auto wrong = g.check(tcp_request("127.0.0.1:5000", {{"Authorization", "Bearer " + kToken + "x"}}), true, 0.0);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->response.status, 401);
  EXPECT_NE(header(wrong->response, "WWW-Authenticate").find("invalid_token"), std::string::npos);
  EXPECT_EQ(wrong->log.find(kToken), std::string::npos) << "a token in the log: " << wrong->log;

  auto basic = g.check(tcp_request("127.0.0.1:5000", {{"Authorization", "Basic " + kToken}}), true, 0.0);
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->response.status, 401);

  // Two Authorization fields are refused even when one is right.
  auto two = g.check(tcp_request("127.0.0.1:5000", {{"Authorization", "Bearer " + kToken},
                                                    {"authorization", "Bearer " + kToken}}),
                     true, 0.0);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->response.status, 401);
}

TEST(AdminAuth, WithoutATokenNothingAuthenticatesOnTcp) {
  AdminGate g;
  g.set_rate(0);
  auto r = g.check(tcp_request("127.0.0.1:5000", {{"Authorization", "Bearer "}}), true, 0.0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->response.status, 401);
}

TEST(AdminAuth, TheGateCountsPerUidOnTheSocketAndPerAddressOnTcp) {
  AdminGate g;
  g.set_token(kToken);
  g.set_rate(1);
  EXPECT_FALSE(g.check(unix_request(1000), false, 0.0));
  EXPECT_FALSE(g.check(unix_request(1000), false, 0.0));
  auto over = g.check(unix_request(1000), false, 0.0);
  ASSERT_TRUE(over);
  EXPECT_EQ(over->response.status, 429);
  EXPECT_EQ(header(over->response, "Retry-After"), "1");
  auto j = nlohmann::json::parse(over->response.body);
  EXPECT_EQ(j["errors"][0]["code"], kAdminRateLimited);
  EXPECT_EQ(j["errors"][0]["message"], "Please wait and consider throttling your request speed");
  EXPECT_NE(over->log.find("uid 1000"), std::string::npos) << over->log;
  // Another uid is not held up by the first.
  EXPECT_FALSE(g.check(unix_request(1001), false, 0.0));

  // On TCP the port does not make another client; wrong tokens count too.
  EXPECT_TRUE(g.check(tcp_request("192.0.2.1:1"), true, 0.0));
  EXPECT_TRUE(g.check(tcp_request("192.0.2.1:2"), true, 0.0));
  auto tcp_over = g.check(tcp_request("192.0.2.1:3", {{"Authorization", "Bearer " + kToken}}), true, 0.0);
  ASSERT_TRUE(tcp_over);
  EXPECT_EQ(tcp_over->response.status, 429);
  EXPECT_FALSE(g.check(tcp_request("[2001:db8::1]:4", {{"Authorization", "Bearer " + kToken}}), true, 0.0));
}

TEST(AdminAuth, AFloodOfRefusalsWritesOneLogLineASecond) {
  AdminGate g;
  g.set_token(kToken);
  g.set_rate(0);
  int lines = 0;
  for (int i = 0; i < 100; i++) {
    auto r = g.check(tcp_request("192.0.2.1:1"), true, 10.0 + i * 0.01);
    ASSERT_TRUE(r);
    if (!r->log.empty()) lines++;
  }
  EXPECT_EQ(lines, 1);
}
