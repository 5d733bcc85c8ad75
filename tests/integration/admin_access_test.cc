// Who reaches the admin API, through a real wfpd: the TCP admin listener
// (admin_listen) with its bearer token, the Unix socket without one, the
// rate limit per client (429, Retry-After, SIGHUP), --check-config's
// refusals of a missing or careless token file, and the places the API is
// never reachable from: the public listener and a user worker's fetch().
// Also trusted_proxies: what a worker sees as its client's address and scheme.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

using nlohmann::json;

const std::string kToken = "wfp-admin-token-0123456789abcdef0123456789abcdef";

// A token file in a directory of its own, made before the daemon starts.
// When the tests run as root, the file is given to the service user: a
// SIGHUP reads it again after wfpd has dropped to that user.
class TokenFile {
 public:
  explicit TokenFile(const std::string& token, mode_t mode = 0600) {
    char tmpl[] = "/tmp/wfp-admin-token-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    path_ = dir_ + "/admin.token";
    write(token);
    chmod(path_.c_str(), mode);
    if (geteuid() == 0)
      if (passwd* pw = getpwnam("wfp")) (void)!chown(path_.c_str(), pw->pw_uid, pw->pw_gid);
  }
  ~TokenFile() { run({"/bin/rm", "-rf", dir_}); }
  void write(const std::string& token) const { std::ofstream(path_, std::ios::trunc) << token << "\n"; }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

// The value of header `name` in a response head, or "".
std::string header_of(const std::string& head, const std::string& name) {
  std::string lower_head = head, lower_name = name;
  for (char& c : lower_head) c = (char)tolower((unsigned char)c);
  for (char& c : lower_name) c = (char)tolower((unsigned char)c);
  size_t at = lower_head.find("\r\n" + lower_name + ":");
  if (at == std::string::npos) return "";
  size_t start = at + 3 + name.size();
  size_t end = head.find("\r\n", start);
  std::string v = head.substr(start, end == std::string::npos ? std::string::npos : end - start);
  v.erase(0, v.find_first_not_of(' '));
  return v;
}

// The first error of an API envelope: (code, message), or (0, "") if none.
std::pair<int, std::string> api_error(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.contains("errors") || j["errors"].empty()) return {0, ""};
  if (j.value("success", true) != false || !j["result"].is_null()) return {0, ""};
  return {j["errors"][0].value("code", 0), j["errors"][0].value("message", "")};
}

// One request over the admin Unix socket, read until wfpd closes it.
HttpResult unix_http(const std::string& socket_path, const std::string& method, const std::string& target) {
  HttpResult r;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, socket_path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, (sockaddr*)&a, sizeof a) != 0) {
    close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string data;
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) data.append(buf, n);
  close(fd);
  if (data.compare(0, 9, "HTTP/1.1 ") == 0 && data.size() > 12) r.status = std::stoi(data.substr(9, 3));
  size_t he = data.find("\r\n\r\n");
  r.head = data.substr(0, he);
  if (he != std::string::npos) r.body = data.substr(he + 4);
  r.closed = true;
  return r;
}

HttpResult admin_tcp(int port, const std::string& method, const std::string& target,
                     const std::string& authorization = "", const std::string& body = "") {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: admin\r\n";
  if (!authorization.empty()) req += "Authorization: " + authorization + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return raw_http(port, req + "\r\n" + body);
}

int admin_port_of(const Wfpd& d) {
  CmdResult r = d.ctl({"--json", "status"});
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("admin_listen")) return 0;
  std::string addr = j["admin_listen"];
  if (addr.empty()) return 0;
  return std::stoi(addr.substr(addr.rfind(':') + 1));
}

// Replaces (or adds) `key = value` in the daemon's configuration file and
// sends SIGHUP; returns once the daemon has logged the outcome: true when
// it reloaded, false when it refused the file.
bool reload_with(const Wfpd& d, const std::string& key, const std::string& value) {
  std::string path = d.dir() + "/wfpd.conf";
  std::istringstream in(read_file(path));
  std::string out;
  bool replaced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + " ", 0) == 0 || line.rfind(key + "=", 0) == 0) {
      line = key + " = " + value;
      replaced = true;
    }
    out += line + "\n";
  }
  if (!replaced) out += key + " = " + value + "\n";
  std::ofstream(path, std::ios::trunc) << out;
  auto count = [&](const std::string& what) {
    std::string log = d.log();
    size_t n = 0;
    for (size_t at = 0; (at = log.find(what, at)) != std::string::npos; at++) n++;
    return n;
  };
  size_t reloaded = count("SIGHUP: reloaded "), refused = count("has errors; nothing was changed");
  kill(d.pid(), SIGHUP);
  bool done = eventually([&] {
    return count("SIGHUP: reloaded ") > reloaded || count("has errors; nothing was changed") > refused;
  });
  EXPECT_TRUE(done) << d.log();
  return count("SIGHUP: reloaded ") > reloaded;
}

// Routes by the first label of the host to a user worker.
const char* kFront = R"JS(
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    return env.DISPATCHER.get(name).fetch(request);
  },
};
)JS";

// Fetches the URL in ?url= with the header in ?auth=, and answers with what
// came back or the error it caught.
const char* kProbe = R"JS(
export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    try {
      const res = await fetch(q.get("url"), { headers: { authorization: q.get("auth") || "" } });
      return Response.json({ status: res.status, text: await res.text() });
    } catch (e) {
      return Response.json({ error: `${e.name}: ${e.message}` });
    }
  },
};
)JS";

// Answers with what it was told about its client.
const char* kEcho = R"JS(
export default {
  fetch(request) {
    return Response.json({
      ip: request.headers.get("cf-connecting-ip"),
      xff: request.headers.get("x-forwarded-for"),
      proto: request.headers.get("x-forwarded-proto"),
      url: request.url,
    });
  },
};
)JS";

// --- the TCP admin listener ------------------------------------------------------------------

class AdminAccess : public ::testing::Test {
 protected:
  static TokenFile* token;
  static Wfpd* d;
  static int admin_port;
  static void SetUpTestSuite() {
    token = new TokenFile(kToken);
    d = new Wfpd("admin_listen = 127.0.0.1:0\n"
                 "admin_token_file = " + token->path() + "\n");
    admin_port = admin_port_of(*d);
    expect_ok(d->ctl({"namespace", "create", "apps"}), d);
    expect_ok(d->ctl({"script", "deploy", "apps", "probe", d->write_file("probe.mjs", kProbe)}), d);
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kFront),
                      "--dispatch-namespace", "DISPATCHER=apps"}), d);
    expect_ok(d->ctl({"route", "add", "*.apps.example/*", "front"}), d);
    expect_ok(d->ctl({"worker", "deploy", "platform", d->write_file("platform.mjs", kProbe)}), d);
    expect_ok(d->ctl({"route", "add", "platform.example/*", "platform"}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    delete token;
    d = nullptr;
  }
  json probe(const std::string& host, const std::string& url, const std::string& auth) {
    HttpResult r = d->raw("GET /?url=" + url_encode(url) + "&auth=" + url_encode(auth) +
                              " HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
                          15000);
    json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || j.is_discarded()) {
      ADD_FAILURE() << r.status << " " << r.body << "\n" << d->log();
      return json::object();
    }
    return j;
  }
};
TokenFile* AdminAccess::token = nullptr;
Wfpd* AdminAccess::d = nullptr;
int AdminAccess::admin_port = 0;

TEST_F(AdminAccess, TheBoundAddressIsLoggedAndInStatus) {
  ASSERT_GT(admin_port, 0) << d->log();
  EXPECT_NE(d->log().find("admin API on http://127.0.0.1:" + std::to_string(admin_port) +
                          " (bearer token required)"),
            std::string::npos)
      << d->log();
}

TEST_F(AdminAccess, ARequestWithoutATokenGets401) {
  HttpResult r = admin_tcp(admin_port, "GET", "/status");
  EXPECT_EQ(r.status, 401) << r.head << r.body;
  EXPECT_EQ(header_of(r.head, "WWW-Authenticate").rfind("Bearer", 0), 0u) << r.head;
  EXPECT_EQ(api_error(r.body), std::make_pair(10000, std::string("Authentication error"))) << r.body;
  // Every path, not just /status; a Basic or empty credential is no better.
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/workers/dispatch/namespaces").status, 401);
  EXPECT_EQ(admin_tcp(admin_port, "POST", "/workers/dispatch/namespaces", "", R"({"name":"sneaky"})").status,
            401);
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Basic " + kToken).status, 401);
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer").status, 401);
  EXPECT_EQ(d->ctl({"namespace", "get", "sneaky"}).status, 1) << "created without a token";
}

TEST_F(AdminAccess, AWrongTokenGets401AndIsNeverLogged) {
  std::string wrong = kToken.substr(0, kToken.size() - 1) + "X";
  HttpResult r = admin_tcp(admin_port, "GET", "/status", "Bearer " + wrong);
  EXPECT_EQ(r.status, 401) << r.head << r.body;
  EXPECT_NE(header_of(r.head, "WWW-Authenticate").find("invalid_token"), std::string::npos) << r.head;
  EXPECT_EQ(api_error(r.body).first, 10000) << r.body;
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + kToken + "X").status, 401);
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + kToken.substr(0, 10)).status, 401);
  std::string log = d->log();
  EXPECT_EQ(log.find(wrong), std::string::npos) << "a token in the log";
  EXPECT_EQ(log.find(kToken), std::string::npos) << "the token in the log";
}

TEST_F(AdminAccess, TheRightTokenServesTheWholeApi) {
  HttpResult r = admin_tcp(admin_port, "GET", "/status", "Bearer " + kToken);
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  json j = json::parse(r.body, nullptr, false);
  EXPECT_EQ(j.value("success", false), true) << r.body;
  EXPECT_EQ(j["result"].value("admin_listen", ""), "127.0.0.1:" + std::to_string(admin_port));
  // The scheme is case-insensitive; a write over TCP is seen on the socket.
  HttpResult created = admin_tcp(admin_port, "POST", "/accounts/any/workers/dispatch/namespaces",
                                 "bearer " + kToken, R"({"name":"over-tcp"})");
  EXPECT_EQ(created.status, 200) << created.body;
  CmdResult got = d->ctl({"namespace", "get", "over-tcp"});
  EXPECT_EQ(got.status, 0) << got.out << got.err;
}

TEST_F(AdminAccess, TheUnixSocketNeedsNoToken) {
  HttpResult r = unix_http(d->socket(), "GET", "/status");
  EXPECT_EQ(r.status, 200) << r.head << r.body;
}

TEST_F(AdminAccess, ThePublicListenerNeverServesTheApi) {
  for (const std::string path : {"/status", "/workers/dispatch/namespaces", "/accounts/x/workers/scripts",
                                 "/backup", "/workers/routes"}) {
    for (const std::string& host : {std::string("localhost"), "127.0.0.1:" + std::to_string(d->port())}) {
      HttpResult r = d->raw("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " +
                            kToken + "\r\n\r\n");
      EXPECT_EQ(r.status, 404) << path << " " << r.body;
      EXPECT_EQ(r.body, "No worker is routed for this host and path.\n") << path;
      EXPECT_EQ(r.body.find("\"success\""), std::string::npos) << path;
    }
  }
  // A routed host gets its worker, whatever the path looks like.
  HttpResult routed = d->raw("GET /status?url=" + url_encode("http://127.0.0.1:1/") +
                             " HTTP/1.1\r\nHost: platform.example\r\n\r\n");
  EXPECT_EQ(routed.body.find("\"uptime_seconds\""), std::string::npos) << routed.body;
}

TEST_F(AdminAccess, AUserWorkerCannotFetchTheAdminListener) {
  std::string url = "http://127.0.0.1:" + std::to_string(admin_port) + "/status";
  for (const std::string& u : {url, "http://localhost:" + std::to_string(admin_port) + "/status",
                               "http://[::ffff:127.0.0.1]:" + std::to_string(admin_port) + "/status"}) {
    json j = probe("probe.apps.example", u, "Bearer " + kToken);
    EXPECT_NE(j.value("error", "").find("may not reach"), std::string::npos) << u << ": " << j.dump();
    EXPECT_FALSE(j.contains("status")) << u << ": " << j.dump();
  }
}

// Platform workers are exempt from fetch_deny_networks (wfpd.conf(5) says
// so): they reach the listener, and the token is all that stops them.
TEST_F(AdminAccess, APlatformWorkerReachesItButStillNeedsTheToken) {
  std::string url = "http://127.0.0.1:" + std::to_string(admin_port) + "/status";
  json j = probe("platform.example", url, "");
  EXPECT_EQ(j.value("status", 0), 401) << j.dump();
}

TEST_F(AdminAccess, SighupReadsTheTokenFileAgain) {
  const std::string next = "next-admin-token-fedcba9876543210fedcba9876543210";
  token->write(next);
  EXPECT_TRUE(reload_with(*d, "log_level", "debug"));
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + next).status, 200) << d->log();
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + kToken).status, 401);
  // A token file gone bad is refused by the reload, and the token in use stays.
  token->write("short");
  EXPECT_FALSE(reload_with(*d, "log_level", "debug"));
  token->write(kToken);
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + next).status, 200) << d->log();
  EXPECT_NE(d->log().find("holds a token of 5 bytes"), std::string::npos) << d->log();
  EXPECT_TRUE(reload_with(*d, "log_level", "debug"));
  EXPECT_EQ(admin_tcp(admin_port, "GET", "/status", "Bearer " + kToken).status, 200) << d->log();
}

// --- --check-config ---------------------------------------------------------------------------

CmdResult check_config(const std::string& dir, const std::string& lines) {
  std::string path = dir + "/check.conf";
  std::ofstream(path) << "data_dir = " << dir << "/data\nadmin_socket = " << dir << "/admin.sock\n" << lines;
  return run({bin("wfpd"), "--check-config", "-c", path});
}

TEST(AdminAccessConfig, AdminListenWithoutATokenFileIsRefused) {
  TokenFile t(kToken);
  CmdResult r = check_config(t.dir(), "admin_listen = 127.0.0.1:0\n");
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("admin_listen: set, but admin_token_file is not"), std::string::npos) << r.err;
}

TEST(AdminAccessConfig, ATokenFileOthersCanReadIsRefusedNamingPathAndMode) {
  TokenFile t(kToken, 0644);
  CmdResult r = check_config(t.dir(), "admin_listen = 127.0.0.1:0\nadmin_token_file = " + t.path() + "\n");
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("admin_token_file: " + t.path() + ": has mode 0644"), std::string::npos) << r.err;
  chmod(t.path().c_str(), 0600);
  r = check_config(t.dir(), "admin_listen = 127.0.0.1:0\nadmin_token_file = " + t.path() + "\n");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST(AdminAccessConfig, AShortTokenIsRefused) {
  TokenFile t("too-short");
  CmdResult r = check_config(t.dir(), "admin_listen = 127.0.0.1:0\nadmin_token_file = " + t.path() + "\n");
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("holds a token of 9 bytes; at least 32"), std::string::npos) << r.err;
}

// --- the rate limit ---------------------------------------------------------------------------

TEST(AdminAccessRate, AClientOverTheLimitGets429UntilItWaits) {
  TokenFile t(kToken);
  Wfpd d("admin_rate_limit = 1\n"
         "admin_listen = 127.0.0.1:0\n"
         "admin_token_file = " + t.path() + "\n");
  int port = 0;
  ASSERT_TRUE(eventually([&] { return (port = admin_port_of(d)) > 0; })) << d.log();

  // A burst of twice the rate is allowed, then 429 with the envelope.
  HttpResult refused;
  int ok = 0;
  for (int i = 0; i < 40 && refused.status == 0; i++) {
    HttpResult r = unix_http(d.socket(), "GET", "/status");
    if (r.status == 200) ok++;
    else refused = r;
  }
  ASSERT_EQ(refused.status, 429) << refused.head << refused.body;
  EXPECT_LE(ok, 3);
  EXPECT_EQ(header_of(refused.head, "Retry-After"), "1") << refused.head;
  EXPECT_EQ(api_error(refused.body),
            std::make_pair(971, std::string("Please wait and consider throttling your request speed")))
      << refused.body;

  // wfpctl prints the daemon's message and exits 1. (A token comes back
  // each second: empty the bucket again right before.)
  // A slow start of wfpctl may let that token come back first: try again.
  CmdResult ctl;
  for (int attempt = 0; attempt < 5 && ctl.status != 1; attempt++) {
    eventually([&] { return unix_http(d.socket(), "GET", "/status").status == 429; }, 3000);
    ctl = d.ctl({"namespace", "list"});
  }
  EXPECT_EQ(ctl.status, 1) << ctl.out << ctl.err;
  EXPECT_NE(ctl.err.find("Please wait and consider throttling your request speed"), std::string::npos) << ctl.err;
  EXPECT_NE(d.log().find("is over admin_rate_limit (1 a second)"), std::string::npos) << d.log();

  // The TCP listener counts its clients on their own (by address), and
  // counts requests without a token too.
  int tcp_refused = 0;
  for (int i = 0; i < 40 && tcp_refused == 0; i++)
    if (admin_tcp(port, "GET", "/status").status == 429) tcp_refused++;
  EXPECT_EQ(tcp_refused, 1);

  // Refusals take no token: a waiting client is served again.
  EXPECT_TRUE(eventually([&] { return unix_http(d.socket(), "GET", "/status").status == 200; }, 10000));
}

TEST(AdminAccessRate, SighupChangesTheRate) {
  Wfpd d("admin_rate_limit = 1\n");
  eventually([&] { return unix_http(d.socket(), "GET", "/status").status == 429; }, 3000);
  EXPECT_TRUE(reload_with(d, "admin_rate_limit", "0"));
  for (int i = 0; i < 50; i++) ASSERT_EQ(unix_http(d.socket(), "GET", "/status").status, 200) << i;
  EXPECT_TRUE(reload_with(d, "admin_rate_limit", "2"));
  EXPECT_TRUE(eventually([&] { return unix_http(d.socket(), "GET", "/status").status == 429; }, 3000));
}

// --- trusted_proxies --------------------------------------------------------------------------

json echo(const Wfpd& d, const std::string& extra_headers) {
  HttpResult r = d.raw("GET /path?q=1 HTTP/1.1\r\nHost: echo.example\r\n" + extra_headers + "\r\n");
  json j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded()) {
    ADD_FAILURE() << r.status << " " << r.body << "\n" << d.log();
    return json::object();
  }
  return j;
}

void deploy_echo(const Wfpd& d) {
  expect_ok(d.ctl({"worker", "deploy", "echo", d.write_file("echo.mjs", kEcho)}), &d);
  expect_ok(d.ctl({"route", "add", "echo.example/*", "echo"}), &d);
}

const std::string kSpoofed =
    "X-Forwarded-For: 198.51.100.2, 203.0.113.7\r\n"
    "X-Forwarded-Proto: https\r\n"
    "CF-Connecting-IP: 192.0.2.66\r\n";

TEST(TrustedProxies, AnUntrustedPeersForwardingHeadersAreReplaced) {
  Wfpd d("trusted_proxies = 192.0.2.0/24\n");
  deploy_echo(d);
  json j = echo(d, kSpoofed);
  EXPECT_EQ(j.value("ip", ""), "127.0.0.1") << j.dump();
  EXPECT_EQ(j.value("xff", ""), "127.0.0.1") << j.dump();
  EXPECT_EQ(j.value("proto", ""), "http") << j.dump();
  EXPECT_EQ(j.value("url", ""), "http://echo.example/path?q=1") << j.dump();
}

TEST(TrustedProxies, ATrustedProxyIsBelievedAndSighupChangesTheList) {
  Wfpd d("trusted_proxies = 127.0.0.1/32\n");
  deploy_echo(d);
  json j = echo(d, kSpoofed);
  EXPECT_EQ(j.value("ip", ""), "203.0.113.7") << j.dump();
  EXPECT_EQ(j.value("xff", ""), "198.51.100.2, 203.0.113.7, 127.0.0.1") << j.dump();
  EXPECT_EQ(j.value("proto", ""), "https") << j.dump();
  EXPECT_EQ(j.value("url", ""), "https://echo.example/path?q=1") << j.dump();

  // Without forwarding headers the proxy itself is the client.
  json bare = echo(d, "");
  EXPECT_EQ(bare.value("ip", ""), "127.0.0.1") << bare.dump();
  EXPECT_EQ(bare.value("xff", ""), "127.0.0.1") << bare.dump();
  EXPECT_EQ(bare.value("url", ""), "http://echo.example/path?q=1") << bare.dump();

  EXPECT_TRUE(reload_with(d, "trusted_proxies", ""));
  json after = echo(d, kSpoofed);
  EXPECT_EQ(after.value("ip", ""), "127.0.0.1") << after.dump();
  EXPECT_EQ(after.value("url", ""), "http://echo.example/path?q=1") << after.dump();
}

}  // namespace
}  // namespace wfp::test
