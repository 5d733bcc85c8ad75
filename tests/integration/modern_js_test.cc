// Modern worker code as authors write it — ES modules, async/await,
// classes with private fields, the web APIs — deployed with wfpctl into a
// real wfpd and reached over HTTP through a dispatcher written the same way.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

const char* kModernDispatcher = R"JS(
const notFound = (name) => new Response(`no worker named ${name}\n`, { status: 404 });

export default {
  async fetch(request, env, ctx) {
    const { hostname, pathname } = new URL(request.url);
    const [name] = hostname.split(".");
    try {
      const res = await env.DISPATCHER.get(name, { path: pathname }).fetch(request);
      const headers = new Headers(res.headers);
      headers.set("x-dispatched-by", "modern");
      return new Response(await res.text(), { status: res.status, headers });
    } catch (err) {
      if (err.message?.startsWith("Worker not found")) return notFound(name);
      return new Response(`user worker failed: ${err.message}`, { status: 502 });
    }
  },
};
)JS";

const char* kModernUser = R"JS(
class Counter {
  #count = 0;
  static #instances = new Map();
  constructor(key) { Counter.#instances.set(key, this); }
  bump(by = 1) { this.#count += by; return this.#count; }
  static get(key) { return Counter.#instances.get(key) ?? new Counter(key); }
}

const sum = (...xs) => xs.reduce((a, b) => a + b, 0);

export default {
  async fetch(request, env, { args }) {
    const url = new URL(request.url);
    const counter = Counter.get(url.pathname);
    const { a = 1, b = 2, ...rest } = Object.fromEntries(url.searchParams);
    const seen = [];
    for (const [k, v] of new Map([["x", 1], ["y", 2]])) seen.push(`${k}=${v}`);
    let blocks = [];
    for (const i of [1, 2, 3]) { const j = i * 2; blocks.push(() => j); }
    await new Promise((resolve) => setTimeout(resolve, 1));
    return Response.json({
      count: counter.bump(),
      sum: sum(Number(a), Number(b)),
      rest,
      seen,
      blocks: blocks.map((f) => f()),
      uuid: crypto.randomUUID(),
      path: args?.path,
      greeting: env.GREETING ?? "none",
    });
  },
};
)JS";

// What esbuild and wrangler emit: one file, helpers at the top, the
// handler exported by name as the default.
const char* kBundle = R"JS(
var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// src/util.ts
function greet(who) {
  return `bundled hello, ${who}`;
}
__name(greet, "greet");

// src/index.ts
var src_default = {
  async fetch(request) {
    return new Response(greet(new URL(request.url).hostname));
  }
};
export {
  src_default as default
};
)JS";

const char* kThrowsOnLine5 = R"JS(
export default {
  async fetch(request) {
    const value = await Promise.resolve(1);
    throw new Error(`thrown at line five (${value})`);
  },
};
)JS";

// Answers at once and dispatches from its waitUntil work afterwards.
const char* kBackgroundDispatcher = R"JS(
export default {
  async fetch(request, env, ctx) {
    ctx.waitUntil((async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const res = await env.DISPATCHER.get("bundle").fetch("http://after.example/");
      console.log(`after the answer: ${await res.text()}`);
    })());
    return new Response("answered first");
  },
};
)JS";

class ModernJs : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "apps"}));
    expect_ok(d->ctl({"script", "deploy", "apps", "modern", d->write_file("modern.mjs", kModernUser),
               "--var", "GREETING=hi"}));
    expect_ok(d->ctl({"script", "deploy", "apps", "bundle", d->write_file("bundle.js", kBundle)}));
    expect_ok(d->ctl({"script", "deploy", "apps", "thrower", d->write_file("thrower.mjs", kThrowsOnLine5)}));
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kModernDispatcher),
               "--dispatch-namespace", "DISPATCHER=apps"}));
    expect_ok(d->ctl({"route", "add", "*/*", "front"}));
    expect_ok(d->ctl({"worker", "deploy", "background", d->write_file("bg.mjs", kBackgroundDispatcher),
               "--dispatch-namespace", "DISPATCHER=apps"}));
    expect_ok(d->ctl({"route", "add", "background.example.com/*", "background"}));
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};
Wfpd* ModernJs::d = nullptr;

TEST_F(ModernJs, AWorkerWrittenTheWayTheDocsWriteItAnswersThroughAModernDispatcher) {
  HttpResult r = d->get("modern.example.com", "/counter?a=5&b=6&c=7");
  ASSERT_EQ(r.status, 200) << r.body << d->log();
  EXPECT_NE(r.head.find("x-dispatched-by: modern"), std::string::npos) << r.head;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["count"], 1);
  EXPECT_EQ(j["sum"], 11);
  EXPECT_EQ(j["rest"], nlohmann::json({{"c", "7"}}));
  EXPECT_EQ(j["seen"], nlohmann::json({"x=1", "y=2"}));
  EXPECT_EQ(j["blocks"], nlohmann::json({2, 4, 6})) << "const in a loop must be block scoped";
  EXPECT_EQ(j["path"], "/counter");
  EXPECT_EQ(j["greeting"], "hi");
  std::string uuid = j["uuid"];
  EXPECT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  // The private field keeps its state between requests in one sandbox.
  auto j2 = nlohmann::json::parse(d->get("modern.example.com", "/counter").body, nullptr, false);
  EXPECT_EQ(j2["count"], 2);
}

TEST_F(ModernJs, AnEsbuildStyleBundleRuns) {
  HttpResult r = d->get("bundle.example.com");
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  EXPECT_EQ(r.body, "bundled hello, bundle.example.com");
}

TEST_F(ModernJs, AnUnknownWorkerGetsTheDispatchersOwn404) {
  HttpResult r = d->get("nobody.example.com");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "no worker named nobody\n");
}

TEST_F(ModernJs, ASyntaxErrorInModernSourceNamesTheOriginalLineAndColumnAndStoresNothing) {
  std::string src = "export default {\n  async fetch(request) {\n    const x = ;\n  },\n};\n";
  CmdResult r = d->ctl({"script", "deploy", "apps", "broken", d->write_file("broken.mjs", src)});
  EXPECT_EQ(r.status, 1);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find(":3:15"), std::string::npos) << all;
  EXPECT_NE(all.find("SyntaxError"), std::string::npos) << all;
  CmdResult get = d->ctl({"script", "get", "apps", "broken"});
  EXPECT_EQ(get.status, 1) << "nothing may be stored: " << get.out;
}

TEST_F(ModernJs, ARuntimeExceptionReportsTheOriginalLine) {
  HttpResult r = d->get("thrower.example.com");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "user worker failed: thrown at line five (1)");
  EXPECT_TRUE(eventually([&] { return d->log().find("thrown at line five") != std::string::npos; }));
  std::string log = d->log();
  size_t at = log.find("thrown at line five");
  std::string tail = log.substr(at, 2000);
  EXPECT_NE(tail.find("apps/thrower.js:5"), std::string::npos) << tail;
}

TEST_F(ModernJs, WaitUntilWorkMayDispatchAfterTheAnswer) {
  HttpResult r = d->get("background.example.com");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "answered first");
  EXPECT_TRUE(eventually([&] {
    return d->log().find("after the answer: bundled hello, after.example") != std::string::npos;
  })) << d->log();
  EXPECT_EQ(d->log().find("does not hold"), std::string::npos) << "no dispatcher may be killed for it";
}

TEST_F(ModernJs, ASlowDeployDoesNotHoldUpAnotherOne) {
  // A few KB of modern code keeps one compiler busy in Babel for seconds.
  std::string big = "export default { async fetch() { return new Response(String(f0())); } };\n";
  for (int i = 0; i < 40; i++)
    big += "const f" + std::to_string(i) + " = async (...xs) => { const { a = 1, ...rest } = { a: " +
           std::to_string(i) + " }; return [...xs, a, rest]?.length ?? 0; };\n";
  std::atomic<bool> big_done{false};
  CmdResult big_result;
  std::thread slow([&] {
    big_result = d->ctl({"script", "deploy", "apps", "big", d->write_file("big.mjs", big)});
    big_done = true;
  });
  // Once a compiler is busy with the big one, deploy a small ES5 script.
  bool seen = eventually([&] {
    if (big_done) return true;
    auto st = nlohmann::json::parse(d->ctl({"--json", "status"}).out, nullptr, false);
    if (st.is_discarded()) return false;
    for (auto& c : st["children"])
      if (c.value("compiling", "") == "apps/big.js") return true;
    return false;
  }, 30000);
  if (!seen || big_done) {
    // The big deploy finished before a status poll saw it compiling (a
    // fast or an overloaded machine): there was no overlap to test.
    slow.join();  // never leave the thread running past this point
    EXPECT_EQ(big_result.status, 0) << big_result.out << big_result.err;
    GTEST_SKIP() << "the big deploy was never seen compiling; no overlap to test";
  }
  CmdResult small = d->ctl({"script", "deploy", "apps", "small",
                            d->write_file("small.js", "module.exports={fetch:function(){return new Response('s')}}")});
  bool small_finished_first = !big_done;
  slow.join();
  EXPECT_EQ(small.status, 0) << small.out << small.err;
  EXPECT_EQ(big_result.status, 0) << big_result.out << big_result.err;
  EXPECT_TRUE(small_finished_first) << "the small deploy waited for the big one";
  EXPECT_EQ(d->get("small.example.com").body, "s");
}

}  // namespace
}  // namespace wfp::test
