// Cross-tenant leakage (attack catalogue 22, 24, 27): one tenant pollutes
// everything its JavaScript can reach — globals, built-in prototypes, the
// Response class, JSON, its env — and other tenants running the very same
// script see none of it, even when the pool is full and sandboxes are
// evicted and replaced; the clock does not move while a worker computes.
// One daemon for the file, with a small pool.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/security/attack_arena.h"

namespace wfp::test {
namespace {

// The same source for every tenant; env.NAME tells them apart. /pollute
// changes what it can, /probe reports what it sees (null = pristine).
const char* kPolluter = R"JS(
module.exports = {
  fetch: function (request, env) {
    var path = new URL(request.url).pathname;
    if (path === "/pollute") {
      globalThis.stolen = "global of " + env.NAME;
      Array.prototype.leak = "array of " + env.NAME;
      Object.prototype.leak = "object of " + env.NAME;
      Response.prototype.leak = "response of " + env.NAME;
      Response.prototype.text = function () { return Promise.resolve("hijacked by " + env.NAME); };
      JSON.parse = function () { return "hijacked by " + env.NAME; };
      env.STORED = "env of " + env.NAME;
      return new Response("polluted by " + env.NAME);
    }
    var seen = {
      global: typeof globalThis.stolen === "undefined" ? null : globalThis.stolen,
      array: [].leak === undefined ? null : [].leak,
      object: Object.create(Object.prototype).leak === undefined ? null : Object.create(Object.prototype).leak,
      response: new Response("").leak === undefined ? null : new Response("").leak,
      json: JSON.parse("[1]")[0] === 1 ? null : String(JSON.parse("[1]")),
      env: env.STORED === undefined ? null : env.STORED
    };
    return new Response("x").text().then(function (t) {
      seen.text = t === "x" ? null : t;
      var out = {};
      for (var k in seen) if (Object.prototype.hasOwnProperty.call(seen, k)) out[k] = seen[k];
      return new Response(JSON.stringify(out));
    });
  }
};
)JS";

const char* kPristine =
    R"({"global":null,"array":null,"object":null,"response":null,"json":null,"env":null,"text":null})";

// Reads the real clock through the hooks (clock_gettime is allowed) around
// a busy loop, with Date.now() and performance.now() beside it.
const char* kClock = R"JS(
function realMs() {
  var ts = new Uint8Array(16);
  __wfp_test.syscall(228, 1, ts);  // clock_gettime(CLOCK_MONOTONIC, &ts)
  var sec = 0, nsec = 0;
  for (var i = 7; i >= 0; i--) { sec = sec * 256 + ts[i]; nsec = nsec * 256 + ts[8 + i]; }
  return sec * 1000 + nsec / 1e6;
}
module.exports = {
  fetch: function () {
    var real0 = realMs(), date0 = Date.now(), perf0 = performance.now(), newDate0 = new Date().getTime();
    var x = 0;
    for (var i = 0; i < 2000000 && realMs() - real0 < 5; i++) x += i % 7;
    return new Response(JSON.stringify({
      real: realMs() - real0,
      date: Date.now() - date0,
      perf: performance.now() - perf0,
      newDate: new Date().getTime() - newDate0,
      shared: typeof SharedArrayBuffer + " " + typeof Atomics
    }));
  }
};
)JS";

Wfpd* d = nullptr;  // the file's daemon, made by the suite
const char* kVictims[] = {"bob", "carol", "dave", "erin", "frank", "grace"};

class CrossTenant : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Four sandboxes at most: probing six victims evicts and replaces
    // sandboxes all the time (the "pool pressure" of catalogue 22).
    d = new Wfpd(attack_config("pool_max_total = 4\npool_spares = 1\n"), "wfpd-test");
    deploy_arena(*d);
    deploy_tenant(*d, "mallory", kPolluter, {"--var", "NAME=mallory"});
    for (const char* v : kVictims) deploy_tenant(*d, v, kPolluter, {"--var", std::string("NAME=") + v});
    deploy_tenant(*d, "clock", kClock);
    ASSERT_EQ(d->get("good.tenants.example", "/warm").body, "good /warm") << log_tail(*d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};

TEST_F(CrossTenant, ATenantsPollutionStaysInItsOwnSandbox) {
  Neighbours n(*d);
  HttpResult polluted = ask(*d, "mallory", "/pollute");
  ASSERT_EQ(polluted.body, "polluted by mallory") << polluted.status << log_tail(*d);
  // The probe sees pollution where there is some (so this test can fail).
  HttpResult own = ask(*d, "mallory", "/probe");
  EXPECT_EQ(own.status, 200) << own.body;
  auto j = nlohmann::json::parse(own.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << own.body;
  EXPECT_EQ(j["global"], "global of mallory") << own.body;
  EXPECT_EQ(j["array"], "array of mallory") << own.body;
  EXPECT_EQ(j["response"], "response of mallory") << own.body;
  EXPECT_EQ(j["text"], "hijacked by mallory") << own.body;

  for (int round = 0; round < 2; round++)
    for (const char* v : kVictims) {
      HttpResult r = ask(*d, v, "/probe");
      EXPECT_EQ(r.status, 200) << v << ": " << r.body;
      EXPECT_EQ(r.body, kPristine) << v << " (round " << round << ") sees another tenant's changes";
      EXPECT_EQ(r.body.find("mallory"), std::string::npos) << v << ": " << r.body;
    }
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

TEST_F(CrossTenant, EvictedSandboxesAreNeverReusedForAnotherTenant) {
  // Under pool pressure each victim's sandbox is a new process: a pid that
  // served mallory never serves anyone else.
  ASSERT_EQ(ask(*d, "mallory", "/pollute").body, "polluted by mallory");
  std::vector<pid_t> mallory = sandboxes_of(*d, "mallory");
  ASSERT_EQ(mallory.size(), 1u);
  for (const char* v : kVictims) {
    EXPECT_EQ(ask(*d, v, "/probe").body, kPristine) << v;
    for (pid_t p : sandboxes_of(*d, v)) EXPECT_NE(p, mallory[0]) << v << " runs in mallory's sandbox";
  }
}

TEST_F(CrossTenant, TheClockDoesNotMoveWhileAWorkerComputes) {
  Neighbours n(*d);
  HttpResult r = ask(*d, "clock", "/");
  ASSERT_EQ(r.status, 200) << r.body << log_tail(*d);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  // The loop took real time (so this test can fail) …
  EXPECT_GE(j["real"].get<double>(), 1.0) << r.body;
  // … and no clock a worker can read saw it: they move only across I/O.
  EXPECT_EQ(j["date"].get<double>(), 0) << r.body;
  EXPECT_EQ(j["perf"].get<double>(), 0) << r.body;
  EXPECT_EQ(j["newDate"].get<double>(), 0) << r.body;
  // No way to build a finer clock out of shared memory and a thread.
  EXPECT_EQ(j["shared"], "undefined undefined") << r.body;
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

}  // namespace
}  // namespace wfp::test
