// The whole request path through real processes: wfpd, its zygote,
// dispatcher and sandboxes, configured with the real wfpctl and reached
// with real HTTP. One daemon is shared by the tests of this file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <cerrno>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

const char* kDispatcher = R"JS(
module.exports = {
  fetch: function (request, env) {
    var host = (request.headers.get("host") || "").split(":")[0];
    var name = host.split(".")[0];
    if (name === "crash") throw new Error("dispatcher secret detail");
    return env.DISPATCHER.get(name, { via: "dispatcher" }).fetch(request).then(null, function (err) {
      if (err.message.indexOf("Worker not found") === 0)
        return new Response("dispatcher: no worker " + name + "\n", { status: 404 });
      return new Response("dispatcher caught: " + err.message + "\n", { status: 502 });
    });
  }
};
)JS";

const char* kServiceWorkerA = R"JS(
addEventListener("fetch", function (event) {
  event.respondWith(new Response("A says hi to " + event.request.url));
});
)JS";

const char* kCommonJsB = R"JS(
var count = 0;
module.exports = {
  fetch: function (request, env, ctx) {
    count++;
    return new Response("B " + env.GREETING + " " + count + " " + JSON.stringify(ctx.args), {
      status: 201, headers: { "x-from": "b" }
    });
  }
};
)JS";

const char* kThrower = R"JS(
module.exports = { fetch: function () { throw new Error("boom from the thrower"); } };
)JS";

class RequestPath : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "customers"}));
    expect_ok(d->ctl({"script", "deploy", "customers", "customer-a", d->write_file("a.js", kServiceWorkerA)}));
    expect_ok(d->ctl({"script", "deploy", "customers", "customer-b", d->write_file("b.js", kCommonJsB),
               "--var", "GREETING=hello"}));
    expect_ok(d->ctl({"script", "deploy", "customers", "thrower", d->write_file("t.js", kThrower)}));
    expect_ok(d->ctl({"worker", "deploy", "dispatcher", d->write_file("d.js", kDispatcher),
               "--dispatch-namespace", "DISPATCHER=customers"}));
    expect_ok(d->ctl({"route", "add", "*/*", "dispatcher"}));
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};
Wfpd* RequestPath::d = nullptr;

TEST_F(RequestPath, RoutesBySubdomainToTwoDifferentUserWorkers) {
  HttpResult a = d->get("customer-a.example.com", "/path?q=1");
  EXPECT_EQ(a.status, 200) << a.head << a.body << d->log();
  EXPECT_EQ(a.body, "A says hi to http://customer-a.example.com/path?q=1");
  HttpResult b = d->get("customer-b.example.com");
  EXPECT_EQ(b.status, 201) << b.body;
  EXPECT_NE(b.body.find("B hello "), std::string::npos) << b.body;
  EXPECT_NE(b.body.find("{\"via\":\"dispatcher\"}"), std::string::npos) << b.body;
  EXPECT_NE(b.head.find("x-from: b"), std::string::npos) << b.head;
}

TEST_F(RequestPath, HostPortIsIgnoredAndLocalhostSubdomainsRoute) {
  HttpResult a = d->get("customer-a.localhost:8080");
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body.rfind("A says hi", 0), 0u) << a.body;
}

TEST_F(RequestPath, UnknownSubdomainGetsTheDispatchersOwn404) {
  HttpResult r = d->get("nobody.example.com");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "dispatcher: no worker nobody\n");
}

TEST_F(RequestPath, AThrowingUserWorkersMessageReachesTheDispatcher) {
  HttpResult r = d->get("thrower.example.com");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "dispatcher caught: boom from the thrower\n");
}

TEST_F(RequestPath, AnUncaughtDispatcherErrorGivesAGeneric1101) {
  HttpResult r = d->get("crash.example.com");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("Error 1101"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("secret detail"), std::string::npos) << "the message must stay in the log";
  EXPECT_TRUE(eventually([&] { return d->log().find("dispatcher secret detail") != std::string::npos; }));
}

TEST_F(RequestPath, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string two = "GET / HTTP/1.1\r\nHost: customer-a.example.com\r\n\r\n"
                    "GET / HTTP/1.1\r\nHost: customer-b.example.com\r\nConnection: close\r\n\r\n";
  HttpResult r = d->raw(two, 5000, true);
  EXPECT_TRUE(r.closed);
  EXPECT_NE(r.body.find("A says hi"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("B hello"), std::string::npos) << r.body;
}

TEST_F(RequestPath, RedeployChangesTheNextResponse) {
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "redeployed",
                    d->write_file("r1.js", "module.exports={fetch:function(){return new Response('v1')}}")})
                .status, 0);
  EXPECT_EQ(d->get("redeployed.example.com").body, "v1");
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "redeployed",
                    d->write_file("r2.js", "module.exports={fetch:function(){return new Response('v2')}}")})
                .status, 0);
  EXPECT_EQ(d->get("redeployed.example.com").body, "v2");
}

TEST_F(RequestPath, ChildrenAreSeparateLockedProcessesWithTitles) {
  ASSERT_EQ(d->get("customer-a.example.com").status, 200);
  ASSERT_EQ(d->get("customer-b.example.com").status, 201);
  // A child the zygote has just forked (the spare replacing the one taken)
  // bears the zygote's title until it sets its own, a moment later.
  std::vector<pid_t> zygote;
  EXPECT_TRUE(eventually([&] { return (zygote = d->processes("wfpd: zygote")).size() == 1; }));
  auto dispatcher = d->processes("wfpd: dispatcher 0");
  auto sandbox_a = d->processes("wfpd: sandbox customers/customer-a");
  auto sandbox_b = d->processes("wfpd: sandbox customers/customer-b");
  ASSERT_EQ(zygote.size(), 1u);
  ASSERT_EQ(dispatcher.size(), 1u);
  ASSERT_EQ(sandbox_a.size(), 1u);
  ASSERT_EQ(sandbox_b.size(), 1u);
  EXPECT_NE(sandbox_a[0], sandbox_b[0]);
  for (pid_t p : {dispatcher[0], sandbox_a[0], sandbox_b[0]}) {
    EXPECT_EQ(proc_status_field(p, "Seccomp"), "2") << proc_cmdline(p);
    EXPECT_EQ(proc_status_field(p, "NoNewPrivs"), "1") << proc_cmdline(p);
    // Its root is an empty directory that no longer exists (user
    // namespaces are allowed here; wfpd(8) says what happens where not).
    char root[256] = {0};
    ssize_t n = readlink(("/proc/" + std::to_string(p) + "/root").c_str(), root, sizeof root - 1);
    std::string r(root, n > 0 ? (size_t)n : 0);
    EXPECT_NE(r.find("wfp-empty-"), std::string::npos) << proc_cmdline(p) << " has root " << r;
    EXPECT_NE(r.find("(deleted)"), std::string::npos) << proc_cmdline(p) << " has root " << r;
  }
  // Started as root, nothing but the supervisor's start-up runs as root.
  if (geteuid() == 0) {
    for (pid_t p : {d->pid(), zygote[0], dispatcher[0], sandbox_a[0], sandbox_b[0]}) {
      std::string uid = proc_status_field(p, "Uid");
      EXPECT_NE(uid.substr(0, 2), "0\t") << proc_cmdline(p) << " runs as root: " << uid;
    }
  }
}

TEST_F(RequestPath, AKilledSandboxIsReplacedForTheNextRequest) {
  ASSERT_EQ(d->get("customer-a.example.com").status, 200);
  auto before = d->processes("wfpd: sandbox customers/customer-a");
  ASSERT_EQ(before.size(), 1u);
  kill(before[0], SIGKILL);
  // Gone means reaped: a dying process loses its command line before it
  // closes its fds, so an empty process list alone can come too early.
  ASSERT_TRUE(eventually([&] { return kill(before[0], 0) != 0 && errno == ESRCH; }));
  HttpResult r = d->get("customer-a.example.com");
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  auto after = d->processes("wfpd: sandbox customers/customer-a");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], before[0]);
}

// A stopped and continued sandbox (an operator, a debugger, a cgroup
// freeze) resumes its interrupted poll through restart_syscall: its
// seccomp policy must allow that, or SIGCONT would kill it.
TEST_F(RequestPath, AStoppedAndContinuedSandboxKeepsServing) {
  ASSERT_EQ(d->get("customer-a.example.com").status, 200);
  auto before = d->processes("wfpd: sandbox customers/customer-a");
  ASSERT_EQ(before.size(), 1u);
  kill(before[0], SIGSTOP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(before[0], SIGCONT);
  HttpResult r = d->get("customer-a.example.com");
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  auto after = d->processes("wfpd: sandbox customers/customer-a");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0], before[0]) << d->log();
  EXPECT_EQ(d->log().find("killed by its seccomp policy"), std::string::npos) << d->log();
}

TEST_F(RequestPath, ContentLengthWithTransferEncodingGets400AndClose) {
  HttpResult r = d->raw(
      "POST / HTTP/1.1\r\nHost: customer-a.example.com\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: customer-a.example.com\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.body.find("A says hi"), std::string::npos);
}

TEST_F(RequestPath, ARequestWithoutHostGets400) {
  HttpResult r = d->raw("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, 400);
}

TEST_F(RequestPath, PostBodiesAndAllMethodsReachTheWorker) {
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "echo",
                    d->write_file("echo.js",
                                  "module.exports={fetch:function(r){return r.text().then(function(t){"
                                  "return new Response(r.method+' '+t)})}}")})
                .status, 0);
  HttpResult r = d->raw("PATCH / HTTP/1.1\r\nHost: echo.example.com\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PATCH hello");
  r = d->raw("OPTIONS / HTTP/1.1\r\nHost: echo.example.com\r\n\r\n");
  EXPECT_EQ(r.body, "OPTIONS ");
}

TEST_F(RequestPath, AnInfiniteLoopIsStoppedAtTheCpuLimit) {
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "spin",
                    d->write_file("spin.js", "module.exports={fetch:function(){for(;;){try{for(;;){}}finally{continue}}}}")})
                .status, 0);
  HttpResult r = d->get("spin.example.com");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "dispatcher caught: Worker exceeded CPU time limit.\n");
  // And the daemon still serves everyone else.
  EXPECT_EQ(d->get("customer-a.example.com").status, 200);
}

TEST_F(RequestPath, ASecretIsReadFromStdinNeverShownAndKeptAcrossRedeploys) {
  std::string src = "module.exports={fetch:function(r,env){return new Response('token='+env.TOKEN)}}";
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "secretive", d->write_file("s.js", src), "--secret", "TOKEN"},
                   "s3cr3t-value\n").status, 0);
  EXPECT_EQ(d->get("secretive.example.com").body, "token=s3cr3t-value");
  CmdResult got = d->ctl({"--json", "script", "get", "customers", "secretive"});
  EXPECT_EQ(got.status, 0);
  EXPECT_EQ(got.out.find("s3cr3t-value"), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("TOKEN"), std::string::npos) << got.out;
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "secretive", d->write_file("s.js", src)}).status, 0);
  EXPECT_EQ(d->get("secretive.example.com").body, "token=s3cr3t-value");
  EXPECT_EQ(d->log().find("s3cr3t-value"), std::string::npos) << "secrets never reach the log";
}

TEST_F(RequestPath, SighupLeavesTheDaemonServing) {
  kill(d->pid(), SIGHUP);
  EXPECT_TRUE(eventually([&] { return d->log().find("SIGHUP") != std::string::npos; }));
  EXPECT_EQ(d->get("customer-a.example.com").status, 200);
}

TEST_F(RequestPath, AServiceWorkerThatMentionsExportsStillRunsAsOne) {
  ASSERT_EQ(d->ctl({"script", "deploy", "customers", "mentions",
                    d->write_file("m.js", "// unlike module.exports = {...}, this uses exports.nothing\n"
                                          "addEventListener('fetch', function (e) { e.respondWith(new Response('sw')) });")})
                .status, 0);
  EXPECT_EQ(d->get("mentions.example.com").body, "sw");
}

}  // namespace
}  // namespace wfp::test

namespace wfp::test {
namespace {

// If the supervisor dies, every child notices and exits (PR_SET_PDEATHSIG
// along the chain supervisor → zygote → children): no orphan keeps a
// tenant's code running.
TEST(SupervisorDeath, EveryChildExitsWhenTheSupervisorIsKilled) {
  Wfpd d;
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  expect_ok(d.ctl({"script", "deploy", "apps", "a", d.write_file("a.js",
                   "addEventListener('fetch', function (e) { e.respondWith(new Response('a')); });")}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.js",
                   "module.exports = { fetch: function (r, env) { return env.NS.get('a').fetch(r); } };"),
                   "--dispatch-namespace", "NS=apps"}), &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
  ASSERT_EQ(d.get("x.example").body, "a");
  std::vector<pid_t> children = d.processes("wfpd: ");
  ASSERT_GE(children.size(), 4u);  // zygote, dispatcher, compilers, sandboxes
  kill(d.pid(), SIGKILL);
  EXPECT_TRUE(eventually([&] {
    for (pid_t p : children)
      if (kill(p, 0) == 0 && proc_status_field(p, "State").rfind("Z", 0) != 0) return false;
    return true;
  })) << "a child outlived the supervisor";
}


// SIGTERM: no new work, the requests in flight are answered, then wfpd
// exits 0 (systemd's stop, and DESIGN's drain).
TEST(Shutdown, SigtermAnswersTheRequestsInFlightThenExits) {
  Wfpd d;
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  expect_ok(d.ctl({"script", "deploy", "apps", "slow", d.write_file("slow.mjs",
                   "export default { async fetch() { await new Promise((r) => setTimeout(r, 1500));"
                   " return new Response('finished'); } };")}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.js",
                   "module.exports = { fetch: function (r, env) { return env.NS.get('slow').fetch(r); } };"),
                   "--dispatch-namespace", "NS=apps"}), &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
  ASSERT_EQ(d.get("x.example").body, "finished");
  HttpResult slow;
  std::thread t([&] { slow = d.get("x.example"); });
  ASSERT_TRUE(eventually([&] { return d.log().find("stopping;") == std::string::npos &&
                                      d.processes("wfpd: sandbox apps/slow").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the request is in flight
  kill(d.pid(), SIGTERM);
  t.join();
  EXPECT_EQ(slow.status, 200) << slow.body << d.log();
  EXPECT_EQ(slow.body, "finished");
  int st = d.wait_exit(10000);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st << d.log();
  EXPECT_NE(d.log().find("1 request in flight"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("drained: every request answered"), std::string::npos) << d.log();
}


// SIGHUP reads the file again: reloadable keys apply at once, the others
// are named as needing a restart, and a file with errors changes nothing.
TEST(Reload, SighupAppliesReloadableKeysAndNamesTheOthers) {
  Wfpd d;
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  expect_ok(d.ctl({"script", "deploy", "apps", "fan", d.write_file("fan.mjs",
                   "export default { async fetch(r, env) { let n = 0;"
                   " try { for (;;) { await caches.open('c').then((c) => c.match('https://x.example/')); n++; } }"
                   " catch (e) { return new Response(`${n}: ${e.message}`); } } };")}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.js",
                   "module.exports = { fetch: function (r, env) { return env.NS.get('fan').fetch(r); } };"),
                   "--dispatch-namespace", "NS=apps"}), &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
  EXPECT_EQ(d.get("x.example").body, "50: Too many subrequests.");
  std::string conf = d.dir() + "/wfpd.conf";
  std::string text = read_file(conf);
  std::ofstream(conf) << text << "subrequests = 7\nfetch_ca_file = /nonexistent.pem\n";
  kill(d.pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("SIGHUP: reloaded") != std::string::npos; })) << d.log();
  EXPECT_NE(d.log().find("applied: subrequests"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("only applied by a restart: fetch_ca_file"), std::string::npos) << d.log();
  EXPECT_EQ(d.get("x.example").body, "7: Too many subrequests.");
  // A broken file: each error named, nothing changed.
  std::ofstream(conf) << text << "subrequests = lots\n";
  kill(d.pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return d.log().find("has errors; nothing was changed") != std::string::npos; }));
  EXPECT_NE(d.log().find("subrequests: \"lots\" is not a decimal integer"), std::string::npos) << d.log();
  EXPECT_EQ(d.get("x.example").body, "7: Too many subrequests.");
}

}  // namespace
}  // namespace wfp::test
