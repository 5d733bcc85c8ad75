// fetch() through a real wfpd against real local origins (tests/support):
// plain HTTP and TLS with a test CA, redirects, large bodies, timeouts and
// refusals; where user workers may go (fetch_deny_networks, every spelling
// of loopback, redirects re-checked, platform workers exempt); one sandbox
// serving many requests at once; outbound workers; the subrequest limit
// and the loop marker. No test needs DNS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/wfpd_fixture.h"
#include "tests/support/origin.h"

namespace wfp::test {
namespace {

using nlohmann::json;

// A user worker doing one fetch() as its query string says, and answering
// with what it saw (or the error it caught) as JSON; read=pass returns the
// fetched response itself.
const char* kProbe = R"JS(
export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const init = { method: q.get("method") || "GET", headers: { "x-from-worker": "probe" } };
    if (q.has("body")) init.body = q.get("body");
    if (q.has("redirect")) init.redirect = q.get("redirect");
    try {
      const res = await fetch(q.get("url"), init);
      if (q.get("read") === "pass") return res;
      const text = await res.text();
      return Response.json({
        status: res.status, url: res.url, redirected: res.redirected,
        location: res.headers.get("location"), header: res.headers.get("x-test"),
        length: text.length, text: text.length <= 4096 ? text : "",
      });
    } catch (e) {
      return Response.json({ error: `${e.name}: ${e.message}` });
    }
  },
};
)JS";

// Routes by the first label of the host, passing everything through.
const char* kFront = R"JS(
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    return env.DISPATCHER.get(name).fetch(request);
  },
};
)JS";

// GET through the dispatcher to the probe at `host`, fetching `url`.
HttpResult probe_raw(const Wfpd& d, const std::string& host, const std::string& url,
                     const std::string& extra = "") {
  return d.raw("GET /?url=" + url_encode(url) + extra + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 15000);
}

json probe(const Wfpd& d, const std::string& host, const std::string& url, const std::string& extra = "") {
  HttpResult r = probe_raw(d, host, url, extra);
  json j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded()) {
    ADD_FAILURE() << "probe of " << url << ": " << r.status << " " << r.body << "\n" << d.log();
    return json::object();
  }
  return j;
}

std::string error_of(const json& j) { return j.value("error", std::string("(no error)")); }

int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (sockaddr*)&a, sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, (sockaddr*)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

// --- a daemon whose user workers may reach 127.0.0.1 ---------------------------------------

class Fetch : public ::testing::Test {
 protected:
  static Wfpd* d;
  static TestPki* pki;
  static Origin *plain, *tls, *wrong_host, *expired, *untrusted;
  static void SetUpTestSuite() {
    pki = new TestPki(::testing::TempDir() + "/wfp-fetch-pki-" + std::to_string(getpid()));
    plain = new Origin();
    tls = new Origin(pki->cert, pki->key);
    wrong_host = new Origin(pki->wrong_host_cert, pki->wrong_host_key);
    expired = new Origin(pki->expired_cert, pki->expired_key);
    untrusted = new Origin(pki->untrusted_cert, pki->untrusted_key);
    d = new Wfpd("fetch_allow_networks = 127.0.0.1/32\n"
                 "fetch_ca_file = " + pki->ca_file + "\n"
                 "fetch_timeout_ms = 1500\n"
                 "pool_max_per_tenant = 1\n");
    expect_ok(d->ctl({"namespace", "create", "apps"}), d);
    expect_ok(d->ctl({"script", "deploy", "apps", "probe", d->write_file("probe.mjs", kProbe)}), d);
    expect_ok(d->ctl({"script", "deploy", "apps", "limited", d->write_file("limited.mjs", kLimited),
                      "--subrequests", "3"}), d);
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kFront),
                      "--dispatch-namespace", "DISPATCHER=apps"}), d);
    expect_ok(d->ctl({"route", "add", "*.apps.example/*", "front"}), d);
    // Outbound: the same probe in another namespace, reached through a
    // binding whose outbound worker sees every fetch first.
    expect_ok(d->ctl({"namespace", "create", "guarded"}), d);
    expect_ok(d->ctl({"script", "deploy", "guarded", "probe", d->write_file("probe2.mjs", kProbe)}), d);
    expect_ok(d->ctl({"worker", "deploy", "egress", d->write_file("egress.mjs", kEgress)}), d);
    expect_ok(d->ctl({"worker", "deploy", "gfront", d->write_file("gfront.mjs", kGuardedFront),
                      "--dispatch-namespace", "DISPATCHER=guarded,outbound=egress,params=TENANT:PLAN"}), d);
    expect_ok(d->ctl({"route", "add", "*.guarded.example/*", "gfront"}), d);
    // The loop marker: a platform worker that fetches its own URL.
    expect_ok(d->ctl({"worker", "deploy", "looper", d->write_file("looper.mjs", kLooper)}), d);
    expect_ok(d->ctl({"route", "add", "127.0.0.1/*", "looper"}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    delete plain;
    delete tls;
    delete wrong_host;
    delete expired;
    delete untrusted;
    delete pki;
    d = nullptr;
  }
  static const char* kLimited;
  static const char* kEgress;
  static const char* kGuardedFront;
  static const char* kLooper;
};
Wfpd* Fetch::d = nullptr;
TestPki* Fetch::pki = nullptr;
Origin *Fetch::plain = nullptr, *Fetch::tls = nullptr, *Fetch::wrong_host = nullptr, *Fetch::expired = nullptr,
       *Fetch::untrusted = nullptr;

const char* Fetch::kLimited = R"JS(
export default {
  async fetch(request) {
    const url = new URL(request.url).searchParams.get("url");
    let done = 0;
    try {
      for (let i = 0; i < 5; i++) { await fetch(url); done++; }
      return new Response(`all ${done}`);
    } catch (e) {
      return new Response(`after ${done}: ${e.message}`);
    }
  },
};
)JS";

const char* Fetch::kEgress = R"JS(
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname.startsWith("/status/403"))
      return new Response(`refused by egress for ${env.TENANT}`, { status: 403 });
    const res = await fetch(request);
    const headers = new Headers(res.headers);
    headers.set("x-test", `egress saw ${env.TENANT} on ${env.PLAN} (${env.OTHER})`);
    return new Response(res.body, { status: res.status, headers });
  },
};
)JS";

const char* Fetch::kGuardedFront = R"JS(
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    return env.DISPATCHER.get(name, {}, { outbound: { TENANT: "tenant-" + name, PLAN: "gold", OTHER: "x" } })
      .fetch(request);
  },
};
)JS";

const char* Fetch::kLooper = R"JS(
export default { fetch: (request) => fetch(request.url) };
)JS";

TEST_F(Fetch, GetsAndPostsWithHeadersBothWays) {
  json g = probe(*d, "probe.apps.example", plain->url("/echo?x=1"));
  ASSERT_EQ(g.value("status", 0), 200) << g.dump();
  json echo = json::parse(g.value("text", ""), nullptr, false);
  ASSERT_TRUE(echo.is_object()) << g.dump();
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/echo?x=1");
  EXPECT_EQ(echo["headers"].value("x-from-worker", ""), "probe");
  EXPECT_EQ(echo["headers"].value("host", ""), "127.0.0.1:" + std::to_string(plain->port()));

  json p = probe(*d, "probe.apps.example", plain->url("/echo"), "&method=POST&body=hello%20origin");
  echo = json::parse(p.value("text", ""), nullptr, false);
  ASSERT_TRUE(echo.is_object()) << p.dump();
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["body"], "hello origin");

  json h = probe(*d, "probe.apps.example", plain->url("/headers?x-test=from%20origin"));
  EXPECT_EQ(h.value("header", ""), "from origin") << h.dump();
}

TEST_F(Fetch, FollowsRedirectsOrNotAsAsked) {
  std::string target = plain->url("/echo");
  std::string redirect = plain->url("/redirect/302?to=" + url_encode(target));
  json f = probe(*d, "probe.apps.example", redirect);
  EXPECT_EQ(f.value("status", 0), 200) << f.dump();
  EXPECT_EQ(f.value("redirected", false), true);
  EXPECT_EQ(f.value("url", ""), target);

  json m = probe(*d, "probe.apps.example", redirect, "&redirect=manual");
  EXPECT_EQ(m.value("status", 0), 302) << m.dump();
  EXPECT_EQ(m.value("location", ""), target);
  EXPECT_EQ(m.value("redirected", true), false);

  json e = probe(*d, "probe.apps.example", redirect, "&redirect=error");
  EXPECT_NE(error_of(e).find("TypeError"), std::string::npos) << e.dump();
  EXPECT_NE(error_of(e).find("redirect"), std::string::npos) << e.dump();

  json twenty = probe(*d, "probe.apps.example", plain->url("/chain/20"));
  EXPECT_EQ(twenty.value("status", 0), 200) << twenty.dump();
  EXPECT_EQ(twenty.value("text", ""), "end of chain");
  json too_many = probe(*d, "probe.apps.example", plain->url("/chain/21"));
  EXPECT_NE(error_of(too_many).find("too many redirects"), std::string::npos) << too_many.dump();
}

TEST_F(Fetch, CarriesLargeBodiesReadOrPassedThrough) {
  const size_t n = 5 * 1024 * 1024;
  json read = probe(*d, "probe.apps.example", plain->url("/bytes/" + std::to_string(n)));
  EXPECT_EQ(read.value("length", 0u), n) << read.dump().substr(0, 300);

  for (const char* path : {"/bytes/", "/chunked/"}) {
    HttpResult pass = probe_raw(*d, "probe.apps.example", plain->url(path + std::to_string(n)), "&read=pass");
    ASSERT_EQ(pass.status, 200) << path << pass.body.substr(0, 300) << d->log();
    ASSERT_EQ(pass.body.size(), n) << path;
    bool same = true;
    for (size_t i = 0; i < n && same; i++) same = pass.body[i] == (char)('a' + i % 26);
    EXPECT_TRUE(same) << path << ": the body changed on its way";
  }
}

TEST_F(Fetch, FailsWithATypeErrorThatSaysWhy) {
  json hang = probe(*d, "probe.apps.example", plain->url("/hang"));
  EXPECT_NE(error_of(hang).find("TypeError"), std::string::npos) << hang.dump();
  EXPECT_NE(error_of(hang).find("no response"), std::string::npos) << hang.dump();

  json refused = probe(*d, "probe.apps.example", "http://127.0.0.1:" + std::to_string(closed_port()) + "/");
  EXPECT_NE(error_of(refused).find("could not connect"), std::string::npos) << refused.dump();

  json invalid = probe(*d, "probe.apps.example", "not a url");
  EXPECT_NE(error_of(invalid).find("TypeError"), std::string::npos) << invalid.dump();
  EXPECT_NE(error_of(invalid).find("Invalid URL"), std::string::npos) << invalid.dump();

  json scheme = probe(*d, "probe.apps.example", "ftp://127.0.0.1/file");
  EXPECT_NE(error_of(scheme).find("TypeError: Fetch API cannot load"), std::string::npos) << scheme.dump();
  // The daemon goes on serving.
  EXPECT_EQ(probe(*d, "probe.apps.example", plain->url("/status/201")).value("status", 0), 201);
}

TEST_F(Fetch, VerifiesCertificatesAgainstTheConfiguredCa) {
  json ok = probe(*d, "probe.apps.example", tls->url("/echo"));
  EXPECT_EQ(ok.value("status", 0), 200) << ok.dump() << d->log();

  json host = probe(*d, "probe.apps.example", wrong_host->url("/echo"));
  json old = probe(*d, "probe.apps.example", expired->url("/echo"));
  json stranger = probe(*d, "probe.apps.example", untrusted->url("/echo"));
  for (const json* j : {&host, &old, &stranger}) {
    EXPECT_NE(error_of(*j).find("TypeError"), std::string::npos) << j->dump();
    EXPECT_NE(error_of(*j).find("TLS"), std::string::npos) << j->dump();
  }
  EXPECT_NE(error_of(old).find("expired"), std::string::npos) << old.dump();
  // Three different reasons, each named.
  EXPECT_NE(error_of(host), error_of(old));
  EXPECT_NE(error_of(host), error_of(stranger));
  EXPECT_NE(error_of(old), error_of(stranger));
}

TEST_F(Fetch, OneSandboxServesManyRequestsWhileTheyWait) {
  const int n = 20;
  std::vector<HttpResult> results(n);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; i++)
    threads.emplace_back([&, i] { results[i] = probe_raw(*d, "probe.apps.example", plain->url("/slow/500")); });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (int i = 0; i < n; i++) {
    EXPECT_EQ(results[i].status, 200) << results[i].body;
    EXPECT_NE(results[i].body.find("slow 500"), std::string::npos) << results[i].body;
  }
  // One after another they would take 10 s; together, about one wait.
  EXPECT_LT(seconds, n * 0.5 / 2) << "the requests did not overlap";
  EXPECT_EQ(d->processes("wfpd: sandbox apps/probe").size(), 1u);
}

TEST_F(Fetch, CountsFetchesAsSubrequests) {
  HttpResult r = d->raw("GET /?url=" + url_encode(plain->url("/echo")) +
                        " HTTP/1.1\r\nHost: limited.apps.example\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  EXPECT_EQ(r.body, "after 3: Too many subrequests.");
}

TEST_F(Fetch, OutboundWorkerSeesEveryFetchWithTheDispatchersParameters) {
  json j = probe(*d, "probe.guarded.example", plain->url("/echo"));
  EXPECT_EQ(j.value("status", 0), 200) << j.dump() << d->log();
  // The declared parameters arrive; OTHER was not declared.
  EXPECT_EQ(j.value("header", ""), "egress saw tenant-probe on gold (undefined)") << j.dump();
  json blocked = probe(*d, "probe.guarded.example", plain->url("/status/403"));
  EXPECT_EQ(blocked.value("status", 0), 403) << blocked.dump();
  EXPECT_EQ(blocked.value("text", ""), "refused by egress for tenant-probe");
  // The same script in a namespace without an outbound worker: untouched.
  json direct = probe(*d, "probe.apps.example", plain->url("/echo"));
  EXPECT_TRUE(direct["header"].is_null()) << direct.dump();
}

TEST_F(Fetch, AWorkerFetchingItselfStopsAtTheDepthLimit) {
  HttpResult r = d->get("127.0.0.1:" + std::to_string(d->port()));
  EXPECT_EQ(r.status, 508) << r.body << d->log();
  EXPECT_NE(r.body.find("1019"), std::string::npos) << r.body;
  // And the daemon keeps serving.
  EXPECT_EQ(probe(*d, "probe.apps.example", plain->url("/status/200")).value("status", 0), 200);
}

// --- a daemon with the default deny list ----------------------------------------------------

class FetchDestinations : public ::testing::Test {
 protected:
  static Wfpd* d;
  static Origin* origin;
  static void SetUpTestSuite() {
    origin = new Origin();
    d = new Wfpd();
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
    delete origin;
    d = nullptr;
  }
};
Wfpd* FetchDestinations::d = nullptr;
Origin* FetchDestinations::origin = nullptr;

TEST_F(FetchDestinations, UserWorkersCannotReachInternalAddressesInAnySpelling) {
  std::string port = std::to_string(origin->port());
  int before = origin->connections();
  for (std::string url : {"http://127.0.0.1:" + port + "/echo", "http://0x7f000001:" + port + "/echo",
                          "http://2130706433:" + port + "/echo", "http://127.1:" + port + "/echo",
                          "http://[::ffff:127.0.0.1]:" + port + "/echo", "http://[::1]:" + port + "/echo",
                          "http://0.0.0.0:" + port + "/echo", "http://localhost:" + port + "/echo",
                          std::string("http://169.254.169.254/latest/meta-data/"),
                          std::string("http://10.1.2.3/"), std::string("http://192.168.0.1/"),
                          std::string("https://[fd00::1]/")}) {
    json j = probe(*d, "probe.apps.example", url);
    EXPECT_NE(error_of(j).find("TypeError"), std::string::npos) << url << ": " << j.dump();
    EXPECT_NE(error_of(j).find("may not reach"), std::string::npos) << url << ": " << j.dump();
  }
  EXPECT_EQ(origin->connections(), before) << "a refused fetch reached the origin";
}

TEST_F(FetchDestinations, PlatformWorkersAreExempt) {
  json j = probe(*d, "platform.example", origin->url("/echo"));
  EXPECT_EQ(j.value("status", 0), 200) << j.dump() << d->log();
}

// The allow list makes an exception; a redirect from the allowed origin to
// another loopback address is checked again and refused.
TEST(FetchAllowList, AllowsOneAddressAndChecksEveryRedirect) {
  Origin origin;
  Wfpd d("fetch_allow_networks = 127.0.0.1/32\n");
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  expect_ok(d.ctl({"script", "deploy", "apps", "probe", d.write_file("probe.mjs", kProbe)}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.mjs", kFront),
                   "--dispatch-namespace", "DISPATCHER=apps"}), &d);
  expect_ok(d.ctl({"route", "add", "*.apps.example/*", "front"}), &d);
  json ok = probe(d, "probe.apps.example", origin.url("/echo"));
  EXPECT_EQ(ok.value("status", 0), 200) << ok.dump() << d.log();
  std::string port = std::to_string(origin.port());
  for (std::string to : {"http://127.0.0.2:" + port + "/echo", "http://[::1]:" + port + "/echo",
                         std::string("http://169.254.169.254/")}) {
    json j = probe(d, "probe.apps.example", origin.url("/redirect/302?to=" + url_encode(to)));
    EXPECT_NE(error_of(j).find("may not reach"), std::string::npos) << to << ": " << j.dump();
  }
}

}  // namespace
}  // namespace wfp::test
