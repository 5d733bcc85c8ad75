// Service bindings through a real wfpd: a dispatcher that asks an auth
// worker first, a user worker calling a platform worker, and the chain
// limits of DESIGN.md (call depth 16 → 508/1019, 32 invocations).
#include <gtest/gtest.h>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

const char* kAuth = R"JS(
export default {
  async fetch(request) {
    if (request.headers.get("x-token") !== "let-me-in") return new Response("denied\n", { status: 401 });
    return new Response("user-42");
  },
};
)JS";

const char* kFront = R"JS(
export default {
  async fetch(request, env) {
    const auth = await env.AUTH.fetch(request);
    if (auth.status !== 200) return auth;
    const user = await auth.text();
    const name = new URL(request.url).hostname.split(".")[0];
    const res = await env.DISPATCHER.get(name, { user }).fetch(request);
    return new Response(`${user}: ${await res.text()}`, res);
  },
};
)JS";

const char* kHelper = R"JS(
export default {
  async fetch(request) { return new Response(`helped ${new URL(request.url).pathname}`); },
};
)JS";

const char* kUserWithService = R"JS(
export default {
  async fetch(request, env, ctx) {
    const res = await env.HELPER.fetch("http://helper/from-user");
    return new Response(`${ctx.args.user} got "${await res.text()}"`);
  },
};
)JS";

// Calls itself through its own binding, without end.
const char* kLoop = R"JS(
export default { fetch: (request, env) => env.SELF.fetch(request) };
)JS";

const char* kFanOut = R"JS(
export default {
  async fetch(request, env) {
    for (let i = 0; i < 40; i++) {
      try {
        await env.HELPER.fetch("http://helper/" + i);
      } catch (e) {
        return new Response(`call ${i}: ${e.message}`);
      }
    }
    return new Response("no limit");
  },
};
)JS";

// Makes three service calls, or does about a million bytecodes of work.
const char* kBusy = R"JS(
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/work") {
      let x = 0;
      for (let i = 0; i < 300000; i++) x += i % 7;
      return new Response(`worked ${x > 0}`);
    }
    try {
      for (let i = 0; i < 3; i++) await env.HELPER.fetch("http://helper/" + i);
      return new Response("3 calls");
    } catch (e) {
      return new Response(e.message);
    }
  },
};
)JS";

// Passes the limits from its query string to get().
const char* kLimiter = R"JS(
export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const limits = {};
    if (q.has("cpu")) limits.cpuMs = Number(q.get("cpu"));
    if (q.has("subs")) limits.subRequests = Number(q.get("subs"));
    try {
      const res = await env.DISPATCHER.get("busy", {}, { limits }).fetch(request);
      return new Response(await res.text());
    } catch (e) {
      return new Response(`caught: ${e.message}`);
    }
  },
};
)JS";

class ServiceBindings : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "users"}));
    expect_ok(d->ctl({"worker", "deploy", "auth", d->write_file("auth.mjs", kAuth)}));
    expect_ok(d->ctl({"worker", "deploy", "helper", d->write_file("helper.mjs", kHelper)}));
    expect_ok(d->ctl({"script", "deploy", "users", "alice", d->write_file("alice.mjs", kUserWithService),
               "--service", "HELPER=helper"}));
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kFront), "--service", "AUTH=auth",
               "--dispatch-namespace", "DISPATCHER=users"}));
    expect_ok(d->ctl({"worker", "deploy", "loop", d->write_file("loop.mjs", kLoop), "--service", "SELF=loop"}));
    expect_ok(d->ctl({"worker", "deploy", "fanout", d->write_file("fanout.mjs", kFanOut), "--service", "HELPER=helper"}));
    expect_ok(d->ctl({"route", "add", "*.users.example/*", "front"}));
    expect_ok(d->ctl({"route", "add", "loop.example/*", "loop"}));
    expect_ok(d->ctl({"route", "add", "fanout.example/*", "fanout"}));
    expect_ok(d->ctl({"script", "deploy", "users", "busy", d->write_file("busy.mjs", kBusy),
                      "--service", "HELPER=helper"}));
    expect_ok(d->ctl({"worker", "deploy", "limiter", d->write_file("limiter.mjs", kLimiter),
                      "--dispatch-namespace", "DISPATCHER=users"}));
    expect_ok(d->ctl({"route", "add", "limiter.example/*", "limiter"}));
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};
Wfpd* ServiceBindings::d = nullptr;

TEST_F(ServiceBindings, ADispatcherAsksItsAuthWorkerBeforeDispatching) {
  HttpResult denied = d->get("alice.users.example");
  EXPECT_EQ(denied.status, 401) << denied.body << d->log();
  EXPECT_EQ(denied.body, "denied\n");
  HttpResult r = d->raw("GET /x HTTP/1.1\r\nHost: alice.users.example\r\nx-token: let-me-in\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  EXPECT_EQ(r.body, "user-42: user-42 got \"helped /from-user\"");
}

TEST_F(ServiceBindings, AWorkerCallingItselfStopsAtTheDepthLimitWith1019) {
  HttpResult r = d->get("loop.example");
  EXPECT_EQ(r.status, 508) << r.body << d->log();
  EXPECT_NE(r.body.find("Error 1019"), std::string::npos) << r.body;
  // The daemon goes on serving.
  EXPECT_EQ(d->raw("GET / HTTP/1.1\r\nHost: alice.users.example\r\nx-token: let-me-in\r\n\r\n").status, 200);
}

TEST_F(ServiceBindings, OneRequestRunsAtMost32Workers) {
  HttpResult r = d->get("fanout.example");
  EXPECT_EQ(r.status, 200) << r.body;
  // The fan-out worker itself is the first invocation.
  EXPECT_EQ(r.body, "call 31: Too many worker invocations.");
}

TEST_F(ServiceBindings, ABindingNameTheScriptDoesNotHaveIsRefused) {
  // A user worker can only use its own bindings; guessing another name
  // gets an error, not another worker.
  ASSERT_EQ(d->ctl({"script", "deploy", "users", "guesser",
                    d->write_file("guess.mjs",
                                  "export default { async fetch(r, env) {"
                                  " try { await env.HELPER.fetch('http://x/'); return new Response('reached'); }"
                                  " catch (e) { return new Response(String(e.message)); } } };")})
                .status, 0);
  HttpResult r = d->raw("GET / HTTP/1.1\r\nHost: guesser.users.example\r\nx-token: let-me-in\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("reached"), std::string::npos) << r.body;
}

TEST_F(ServiceBindings, PerCallLimitsOfGetLowerTheScriptsOwn) {
  EXPECT_EQ(d->get("limiter.example", "/calls").body, "3 calls");
  EXPECT_EQ(d->get("limiter.example", "/calls?subs=2").body, "Too many subrequests.");
  EXPECT_EQ(d->get("limiter.example", "/work").body, "worked true");
  EXPECT_EQ(d->get("limiter.example", "/work?cpu=1").body, "caught: Worker exceeded CPU time limit.");
  // A limit above the configured one does not raise it.
  EXPECT_EQ(d->get("limiter.example", "/calls?subs=100000").body, "3 calls");
}

}  // namespace
}  // namespace wfp::test
