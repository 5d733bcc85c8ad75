// The runtime prelude in the real engine: polyfills.js and runtime.js (timers, host.done, clones).
// Runs in the unit test binary: a WorkerHeap and a sink recording what the runtime asks for.
// Trusts the engine and the embedded prelude as built; the scripts are the tests' own.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sandbox/host.h"

namespace wfp {
namespace {

// Records every sink call in order, as "respond 1", "done 1", "set_timer 1 50"...
struct PreludeSink : HostSink {
  std::vector<std::string> calls;
  std::map<uint64_t, std::string> bodies;  // answered requests: body, or "fail: message"
  std::map<uint64_t, uint64_t> timers;     // live timer id → request
  std::vector<std::string> logs;
  uint64_t next_timer = 41;

  void respond(uint64_t req, int, const std::string&, HeaderList, std::string body) override {
    calls.push_back("respond " + std::to_string(req));
    bodies[req] = body;
  }
  void fail(uint64_t req, ErrorCode, const std::string& message, const std::string&) override {
    calls.push_back("fail " + std::to_string(req));
    bodies[req] = "fail: " + message;
  }
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests here");
  }
  void log(uint64_t req, const std::string& level, const std::string& text) override {
    logs.push_back(std::to_string(req) + " " + level + ": " + text);
  }
  uint64_t set_timer(uint64_t req, int64_t ms) override {
    uint64_t id = next_timer++;
    timers[id] = req;
    calls.push_back("set_timer " + std::to_string(req) + " " + std::to_string(ms));
    return id;
  }
  void clear_timer(uint64_t id) override {
    timers.erase(id);
    calls.push_back("clear_timer " + std::to_string(id));
  }
  void done(uint64_t req) override {
    calls.push_back("done " + std::to_string(req));
    for (auto it = timers.begin(); it != timers.end();) {
      if (it->second == req)
        it = timers.erase(it);  // the runner drops them
      else
        ++it;
    }
  }
};

// A CommonJS worker whose fetch handler body is `handler_body`.
struct Worker {
  PreludeSink sink;
  WorkerHeap heap{&sink};
  bool ok = false;
  ErrorCode code = ErrorCode::ok;
  std::string error;
  explicit Worker(const std::string& source) {
    heap.set_memory_limit(64 << 20);
    ok = heap.load("ns/prelude", "commonjs", source, "", host_build_id(), "[]", 1000, code, error);
  }
  std::string get(uint64_t id) {
    heap.handle(id, "GET", "http://x.example/", {}, "", "", 1000);
    auto it = sink.bodies.find(id);
    return it == sink.bodies.end() ? "(no answer)" : it->second;
  }
};

// Runs `expression_js` inside a request and returns String(result).
std::string evaluate(const std::string& expression_js) {
  Worker w("module.exports={fetch:function(){return new Response(String((function(){" +
           expression_js + "})()))}}");
  EXPECT_TRUE(w.ok) << w.error;
  return w.get(1);
}

TEST(Polyfills, MapKeepsInsertionOrderAndSameValueZeroKeys) {
  EXPECT_EQ(
      evaluate(
          "var m = new Map([[1, 'num'], ['1', 'str'], [NaN, 'nan']]); var k = {}; m.set(k, 'obj');"
          "m.set(-0, 'zero'); m.delete('1'); m.set('1', 'again');"
          "var out = []; m.forEach(function (v, key) { out.push(String(key) + '=' + v); });"
          "return [m.size, m.get(NaN), m.get(0), m.get(k), m.has({}), out.join(' ')].join('|');"),
      "5|nan|zero|obj|false|1=num NaN=nan [object Object]=obj 0=zero 1=again");
}

TEST(Polyfills, SetAndWeakMapWorkWithObjectAndFrozenKeys) {
  EXPECT_EQ(
      evaluate("var s = new Set([1, 2, 2, 3]); s.delete(2);"
               "var a = {}, f = Object.freeze({}); var w = new WeakMap([[a, 'a']]); w.set(f, 'f');"
               "var ws = new WeakSet(); ws.add(a);"
               "return [s.size, s.has(2), w.get(a), w.get(f), w.has({}), ws.has(a), ws.has(f),"
               "JSON.stringify(a), Object.keys(a).length, String(w)].join('|');"),
      "2|false|a|f|false|true|false|{}|0|[object WeakMap]");
}

TEST(Polyfills, ArraySortIsStableAndKeepsUndefinedLast) {
  EXPECT_EQ(evaluate("var a = []; for (var i = 0; i < 500; i++) a.push({ k: i % 5, i: i });"
                     "a.sort(function (x, y) { return x.k - y.k; });"
                     "for (i = 1; i < a.length; i++) if (a[i - 1].k === a[i].k && a[i - 1].i > "
                     "a[i].i) return 'unstable at ' + i;"
                     "var b = [3, undefined, 20, 1]; b.sort();"
                     "return 'stable ' + b.join(',') + ' ' + b.length;"),
            "stable 1,20,3, 4");
}

TEST(Polyfills, IterationGoesThroughSymbolIteratorAsLoweredForOfDoes) {
  // The shape Babel gives `for (const x of it)`: get the iterator, call next.
  EXPECT_EQ(
      evaluate("function each(it) { var out = [], i = it[Symbol.iterator](), s;"
               "  while (!(s = i.next()).done) out.push(String(s.value)); return out.join(''); }"
               "var m = new Map([['a', 1], ['b', 2]]);"
               "return [each([1, 2]), each('xy'),"
               "each(new Set(['p', 'q'])), each(m.keys()), each(m), each(new Uint8Array([7, 8])),"
               "(function () { return Array.from(arguments).join(''); })(4, 5),"
               "Array.from('a\\ud83d\\ude00').length, typeof Symbol.asyncIterator].join('|');"),
      "12|xy|pq|ab|a,1b,2|78|45|2|symbol");
}

TEST(Polyfills, ModernArrayStringObjectAndTypedArrayMethodsExist) {
  EXPECT_EQ(
      evaluate(
          "return [[1, [2, [3]]].flat(2).join(), [1, 2, 3].at(-1), [1, NaN].includes(NaN),"
          "[5, 12].findLast(function (x) { return x > 1; }), '7'.padStart(3, '0'), "
          "'a-b-c'.replaceAll('-', '+'),"
          "JSON.stringify(Object.fromEntries(Object.entries({ x: 1 }))), new Uint8Array([3, 1, "
          "2]).sort().join(),"
          "new Uint8Array([1, 2, 3]).slice(1).join(), Uint16Array.from([9]).length].join('|');"),
      "1,2,3|3|true|12|007|a+b+c|{\"x\":1}|1,2,3|2,3|1");
}

TEST(Polyfills, ReflectGetAndSetHonourTheReceiverAsBabelSuperNeeds) {
  EXPECT_EQ(
      evaluate("var base = { get who() { return this.name; }, set who(v) { this.got = v; } };"
               "var me = { name: 'me' };"
               "return [Reflect.get(base, 'who', me), Reflect.set(base, 'who', 5, me), me.got,"
               "Reflect.set({}, 'n', 1, me), me.n, Reflect.get({ p: 2 }, 'p')].join('|');"),
      "me|true|5|true|1|2");
}

TEST(Runtime, ATimerFiresThroughTheHostInTheRequestThatSetIt) {
  Worker w(
      "module.exports={fetch:function(){return new Promise(function(resolve){"
      "setTimeout(function(a){resolve(new Response('fired '+a))},25,'late')})}}");
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.get(3), "(no answer)");
  ASSERT_EQ(w.sink.timers.size(), 1u);
  uint64_t timer = w.sink.timers.begin()->first;
  EXPECT_EQ(w.sink.timers.begin()->second, 3u);
  w.heap.fire_timer(timer, 1000);
  EXPECT_EQ(w.sink.bodies[3], "fired late");
  EXPECT_EQ(w.sink.calls, (std::vector<std::string>{"set_timer 3 25", "respond 3", "done 3"}));
}

TEST(Runtime, ATimerAtTheTopLevelFailsTheLoadWithAClearMessage) {
  Worker w("setTimeout(function(){},1); module.exports={fetch:function(){}}");
  EXPECT_FALSE(w.ok);
  EXPECT_NE(w.error.find("setTimeout() is only possible while handling a request"),
            std::string::npos)
      << w.error;
}

TEST(Runtime, DoneIsCalledOnceAfterTheAnswerAndAfterEveryWaitUntilPromise) {
  Worker w(
      "module.exports={fetch:function(r,env,ctx){"
      "ctx.waitUntil(new Promise(function(res){setTimeout(res,10)}));"
      "ctx.waitUntil(Promise.reject(new Error('background failed')));"
      "return new Response('answer')}}");
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.get(8), "answer");
  EXPECT_EQ(w.sink.calls, (std::vector<std::string>{"set_timer 8 10", "respond 8"}));
  ASSERT_EQ(w.sink.logs.size(), 1u);
  EXPECT_EQ(w.sink.logs[0].rfind("8 error: Uncaught (in waitUntil) Error: background failed", 0),
            0u)
      << w.sink.logs[0];
  w.heap.fire_timer(w.sink.timers.begin()->first, 1000);
  EXPECT_EQ(w.sink.calls, (std::vector<std::string>{"set_timer 8 10", "respond 8", "done 8"}));
}

TEST(Runtime, ASimpleRequestIsDoneRightAfterItsAnswer) {
  Worker w("module.exports={fetch:function(){return new Response('x')}}");
  ASSERT_TRUE(w.ok) << w.error;
  w.get(1);
  w.get(2);
  EXPECT_EQ(w.sink.calls, (std::vector<std::string>{"respond 1", "done 1", "respond 2", "done 2"}));
}

TEST(Runtime, StructuredCloneCopiesACyclicMap) {
  EXPECT_EQ(
      evaluate(
          "var key = { k: 1 }; var m = new Map([[key, [key]]]); m.set('self', m);"
          "var c = structuredClone(m); var ck = c.keys().next().value;"
          "return [c instanceof Map, c !== m, c.get('self') === c, ck !== key, c.get(ck)[0] === ck,"
          "c.size].join('|');"),
      "true|true|true|true|true|2");
}

TEST(Runtime, StructuredCloneCopiesTheBytesOfARequestBody) {
  Worker w(
      "module.exports={fetch:function(r){return r.arrayBuffer().then(function(b){"
      "var u=new Uint8Array(b), v=structuredClone({u:u, body:r.body}); u[0]=0;"
      "return new Response([v.u.length, v.u[0], v.u.buffer!==b, "
      "v.body===null||v.body.length].join())})}}");
  ASSERT_TRUE(w.ok) << w.error;
  w.heap.handle(1, "POST", "http://x.example/", {}, "abc", "", 1000);
  EXPECT_EQ(w.sink.bodies[1], "3,97,true,3");
}

TEST(Runtime, AbortSignalTimeoutAbortsWhenItsTimerFires) {
  Worker w(
      "module.exports={fetch:function(){var s=AbortSignal.timeout(100);return new "
      "Promise(function(res){"
      "s.addEventListener('abort',function(){res(new Response(s.reason.name+' '+s.aborted))})})}}");
  ASSERT_TRUE(w.ok) << w.error;
  w.get(1);
  ASSERT_EQ(w.sink.timers.size(), 1u);
  w.heap.fire_timer(w.sink.timers.begin()->first, 1000);
  EXPECT_EQ(w.sink.bodies[1], "TimeoutError true");
}

TEST(Runtime, ApisNotProvidedYetSayWhichOneIsMissing) {
  EXPECT_EQ(
      evaluate("try { new ReadableStream(); } catch (e) { return e.name + ': ' + e.message; }"),
      "TypeError: ReadableStream is not supported by wfp yet (see wfp-runtime(7))");
  Worker w("module.exports={scheduled:function(){}}");
  EXPECT_FALSE(w.ok);
  EXPECT_EQ(w.code, ErrorCode::no_handler);
  EXPECT_NE(w.error.find("Scheduled handlers are not supported"), std::string::npos) << w.error;
}

}  // namespace
}  // namespace wfp
