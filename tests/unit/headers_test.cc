// Headers and the Promise job queue in the real engine: their semantics
// through a WorkerHeap with the whole runtime prelude, and their costs.
// Runs in the unit test binary; trusts the engine and the embedded prelude as built.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "sandbox/host.h"

namespace wfp {
namespace {

struct QuietSink : HostSink {
  std::vector<std::string> logs;
  HeaderList last_headers;  // of the last respond()
  std::string last_body;
  void respond(uint64_t, int, const std::string&, HeaderList headers, std::string body) override {
    last_headers = std::move(headers);
    last_body = std::move(body);
  }
  void fail(uint64_t, ErrorCode, const std::string&, const std::string&) override {}
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests here");
  }
  void log(uint64_t, const std::string& level, const std::string& text) override {
    logs.push_back(level + ": " + text);
  }
  uint64_t set_timer(uint64_t, int64_t) override { throw std::runtime_error("no timers here"); }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

struct Engine {
  QuietSink sink;
  WorkerHeap heap{&sink};
  // The program's completion value as a string, or "error: …". The
  // microtask queue is drained before this returns.
  std::string run(const std::string& js) {
    std::string out;
    if (!heap.eval("headers_test.js", js, out)) return "error: " + out;
    return out;
  }
};

// ---------------------------------------------------------------------------
// Semantics, checked in the engine (tests/js/runtime_harness.js checks the
// same runtime.js under node with fakes of the natives).

TEST(HeadersInEngine, NamesAreCaseInsensitiveAndGetJoinsValuesWithACommaAndSpace) {
  Engine e;
  EXPECT_EQ(e.run("var h = new Headers(); h.append('Accept', 'a'); h.append('ACCEPT', 'b');"
                  "h.set('X-One', '1');"
                  "[h.get('accept'), h.has('x-ONE'), h.has('x-two'), h.get('missing')].join('|')"),
            "a, b|true|false|");
  EXPECT_EQ(e.run("h.get('missing') === null"), "true");
  EXPECT_EQ(e.run("h.set('accept', 'c'); h.get('Accept')"), "c");
  EXPECT_EQ(e.run("h.delete('Accept'); h.has('accept') + ' ' + h.get('x-one')"), "false 1");
}

TEST(HeadersInEngine, SetReplacesTheFirstOccurrenceInPlaceAndDropsTheOthers) {
  Engine e;
  EXPECT_EQ(e.run("var h = new Headers([['a', '1'], ['b', '2'], ['A', '3'], ['c', '4']]);"
                  "h.set('a', '9'); var out = [];"
                  "h.forEach(function (v, k) { out.push(k + '=' + v); }); out.join(' ')"),
            "a=9 b=2 c=4");
  EXPECT_EQ(e.run("h.append('d', '5'); h.delete('b'); h.set('e', '6');"
                  "Array.from(h.keys()).join()"),
            "a,c,d,e");
}

TEST(HeadersInEngine, IterationIsSortedWithValuesCombinedAndSetCookieKeptApart) {
  Engine e;
  EXPECT_EQ(e.run("var h = new Headers([['Zeta', 'z'], ['set-cookie', 'a=1'], ['Alpha', '1'],"
                  "['Set-Cookie', 'b=2'], ['alpha', '2']]);"
                  "var out = [], it = h.entries(), s;"
                  "while (!(s = it.next()).done) out.push(s.value[0] + '=' + s.value[1]);"
                  "out.join(' ')"),
            "alpha=1, 2 set-cookie=a=1 set-cookie=b=2 zeta=z");
  EXPECT_EQ(e.run("Array.from(h.values()).join('|') + ' ' + h.getSetCookie().join('|')"),
            "1, 2|a=1|b=2|z a=1|b=2");
  EXPECT_EQ(e.run("var f = []; h.forEach(function (v, k, o) { f.push(k + (o === h) + this.t); },"
                  "{ t: 1 }); f.join()"),
            "alphatrue1,set-cookietrue1,set-cookietrue1,zetatrue1");
  EXPECT_EQ(e.run("Object.prototype.toString.call(h) + ' ' + "
                  "Object.prototype.toString.call(h.keys())"),
            "[object Headers] [object Headers Iterator]");
  // An iterator is a snapshot: changes after it was made are not seen.
  EXPECT_EQ(e.run("var it2 = h.keys(); h.append('beta', 'x'); Array.from(it2).join()"),
            "alpha,set-cookie,set-cookie,zeta");
}

TEST(HeadersInEngine, AreBuiltFromHeadersPairsPlainObjectsAndIterables) {
  Engine e;
  EXPECT_EQ(e.run("[new Headers(new Headers({ A: '1' })).get('a'),"
                  "new Headers({ 'Content-Type': 'text/html', n: 5 }).get('N'),"
                  "new Headers({ 'Content-Type': 'text/html' }).get('CONTENT-type'),"
                  "new Headers([['a', '1'], ['a', '2']]).get('a'),"
                  "new Headers(new Headers([['b', '2']]).entries()).get('b'),"
                  "new Headers(new Map([['m', 'v']])).get('M'),"
                  "new Headers(null).has('a'), new Headers(undefined).has('a')].join('|')"),
            "1|5|text/html|1, 2|2|v|false|false");
  EXPECT_EQ(e.run("var src = new Headers({ a: '1' }); var copy = new Headers(src);"
                  "copy.set('a', '2'); src.get('a')"),
            "1");
  for (const char* bad :
       {"new Headers([['a', '1', 'x']])", "new Headers([['a']])", "new Headers(['ab'])",
        "new Headers('a: b')", "new Headers(5)", "Headers()"}) {
    EXPECT_EQ(e.run(std::string("try { ") + bad + "; 'no throw' } catch (e) { e.name }"),
              "TypeError")
        << bad;
  }
}

TEST(HeadersInEngine, RefuseNamesThatAreNotTokensAndValuesWithCrLfOrNul) {
  Engine e;
  for (const char* name :
       {"'bad name'", "'bad:name'", "''", "'na\\u00efve'", "'a\\nb'", "'\\u0100'", "'a\\u0000'"}) {
    for (const char* op : {"append", "set", "get", "has", "delete"}) {
      std::string call = std::string("new Headers().") + op + "(" + name + ", 'v')";
      EXPECT_EQ(e.run("try { " + call + "; 'no throw' } catch (e) { e.name + ': ' + e.message }"),
                "TypeError: Invalid header name.")
          << call;
    }
  }
  for (const char* value : {"'a\\rb'", "'a\\nb'", "'a\\u0000b'"}) {
    EXPECT_EQ(e.run(std::string("try { new Headers({ a: ") + value +
                    " }); 'no throw' } catch (e) { e.name + ': ' + e.message }"),
              "TypeError: Invalid header value.")
        << value;
  }
  EXPECT_EQ(e.run("JSON.stringify(new Headers({ a: ' \\t padded\\t \\r\\n' }).get('a'))"),
            "\"padded\"");
  EXPECT_EQ(e.run("JSON.stringify(new Headers({ a: ' \\r\\n ' }).get('a'))"), "\"\"");
  EXPECT_EQ(
      e.run("new Headers({ \"!#$%&'*+-.^_`|~09AZaz\": 'ok' }).get(\"!#$%&'*+-.^_`|~09azaz\")"),
      "ok");
  // Non-ASCII values (Latin-1 and beyond) pass through untouched.
  EXPECT_EQ(e.run("new Headers({ a: 'caf\\u00e9 \\u20ac' }).get('a') === 'caf\\u00e9 \\u20ac'"),
            "true");
  // Names and values are converted with String(), like WebIDL ByteString.
  EXPECT_EQ(e.run("var h = new Headers(); h.append({ toString: function () { return 'X-N' } }, 42);"
                  "h.get('x-n') + typeof h.get('x-n')"),
            "42string");
}

TEST(HeadersInEngine, ImmutableHeadersRefuseChangesButCanBeReadAndCopied) {
  Engine e;
  EXPECT_EQ(e.run("var h = Response.redirect('https://a.example/x', 302).headers;"
                  "var msgs = [];"
                  "['append', 'set', 'delete'].forEach(function (op) {"
                  "  try { h[op]('location', 'v'); msgs.push('no throw'); }"
                  "  catch (e) { msgs.push(e.name + ': ' + e.message); } });"
                  "msgs.join('|') + '|' + h.get('Location')"),
            "TypeError: Can't modify immutable headers.|TypeError: Can't modify immutable "
            "headers.|TypeError: Can't modify immutable headers.|https://a.example/x");
  EXPECT_EQ(e.run("var c = new Headers(h); c.set('location', 'y'); c.get('location')"), "y");
}

TEST(HeadersInEngine, MethodsOnAForeignReceiverThrowIllegalInvocation) {
  Engine e;
  for (const char* call :
       {"Headers.prototype.get.call({}, 'a')",
        "Headers.prototype.set.call(Object.create(Headers.prototype), 'a', 'b')",
        "Headers.prototype.entries.call([])", "Headers.prototype.getSetCookie.call(null)"}) {
    EXPECT_EQ(e.run(std::string("try { ") + call + "; 'no throw' } catch (e) { e.name }"),
              "TypeError")
        << call;
  }
}

TEST(HeadersInEngine, RequestAndResponseAddTheirContentTypeOnlyWhenMissing) {
  Engine e;
  EXPECT_EQ(
      e.run("[new Request('https://a/', { method: 'POST', body: 'x' }).headers.get('content-type'),"
            "new Request('https://a/', { method: 'POST', body: 'x', headers: { 'Content-Type':"
            "'text/csv' } }).headers.get('content-type'),"
            "new Response('x', { headers: [['a', '1']] }).headers.get('content-type'),"
            "Response.json({}).headers.get('content-type')].join('|')"),
      "text/plain;charset=UTF-8|text/csv|text/plain;charset=UTF-8|application/json");
}

TEST(HeadersInEngine, KeepTheirListInASlotTenantCodeCannotSee) {
  Engine e;
  EXPECT_EQ(
      e.run("var h = new Headers({ a: '1' });"
            "[Object.getOwnPropertySymbols(h).length, Object.getOwnPropertyNames(h).length,"
            "JSON.stringify(h), Object.getOwnPropertySymbols(Headers.prototype).length].join('|')"),
      "0|0|{}|2");  // the prototype's: Symbol.iterator and Symbol.toStringTag
  EXPECT_EQ(e.run("var it = h.keys(); Object.getOwnPropertySymbols(it).length + ' ' + "
                  "Object.getOwnPropertyNames(it).length"),
            "0 0");
}

TEST(HeadersInEngine, MethodsKeepTheirNamesAndLengths) {
  Engine e;
  EXPECT_EQ(e.run("var p = Headers.prototype; ['get', 'has', 'set', 'append', 'delete', "
                  "'getSetCookie', 'forEach', 'keys', 'values'].map(function (m) {"
                  "return p[m].name + p[m].length; }).join(' ') + ' ' + "
                  "new Headers().keys().next.name + ' ' + Object.keys(p).length"),
            "get1 has1 set2 append2 delete1 getSetCookie0 forEach2 keys0 values0 next 0");
}

TEST(HeadersInEngine, ConvertNamesAndValuesLikeStringDoes) {
  Engine e;
  EXPECT_EQ(e.run("var h = new Headers(); h.set('a', Symbol('s')); h.append('b', null);"
                  "h.append('c', undefined); h.append(1, true);"
                  "[h.get('a'), h.get('b'), h.get('c'), h.get('1')].join('|')"),
            "Symbol(s)|null|undefined|true");
  EXPECT_EQ(e.run("try { h.get(Symbol('x')); 'no throw' } catch (e) { e.message }"),
            "Invalid header name.");
  EXPECT_EQ(e.run("try { h.set('a', { toString: function () { throw new RangeError('mine') } });"
                  "'no throw' } catch (e) { e.name + ' ' + e.message + ' ' + h.get('a') }"),
            "RangeError mine Symbol(s)");
  EXPECT_EQ(e.run("var seen = []; var init = {};"
                  "Object.defineProperty(init, 'X-Got', { enumerable: true, get: function () {"
                  "  seen.push('get'); return 'v'; } });"
                  "Object.defineProperty(init, 'hidden', { enumerable: false, value: 'no' });"
                  "var p = new Proxy({ 'P-Key': 'p' }, {});"
                  "[new Headers(init).get('x-got'), new Headers(init).has('hidden'), seen.length,"
                  "new Headers(p).get('p-key')].join('|')"),
            "v|false|2|p");
}

TEST(HeadersInEngine, LongListsKeepOrderCombineAndSortAcrossTheSmallArrayLimit) {
  Engine e;
  EXPECT_EQ(
      e.run("var pairs = []; for (var i = 0; i < 600; i++) pairs.push(['X-' + (i % 7), 'v' + i]);"
            "var h = new Headers(pairs); var names = Array.from(h.keys());"
            "[names.length, names.join(), h.get('x-3').split(', ').length,"
            "h.get('x-3').split(', ')[1]].join('|')"),
      "7|x-0,x-1,x-2,x-3,x-4,x-5,x-6|86|v10");
  EXPECT_EQ(e.run("for (i = 0; i < 300; i++) h.append('set-cookie', 'c' + i);"
                  "var sc = h.getSetCookie(); var all = Array.from(h.entries());"
                  "h.delete('x-0'); h.set('x-1', 'one');"
                  "[sc.length, sc[299], all.length, all[0][0], all[300][0] + '=' +"
                  "all[300][1].split(', ').slice(0, 3).join(', '),"
                  "Array.from(h.keys()).length, h.get('x-1'), h.has('x-0')].join('|')"),
            "300|c299|307|set-cookie|x-0=v0, v7, v14|306|one|false");
}

TEST(HeadersInEngine, ForEachWorksOnASnapshotAndLetsCallbackErrorsThrough) {
  Engine e;
  EXPECT_EQ(
      e.run("var h = new Headers({ b: '2', a: '1' }); var out = [];"
            "h.forEach(function (v, k) { out.push(k); h.append('z', 'late'); h.delete('b'); });"
            "out.join() + ' ' + Array.from(h.keys()).join()"),
      "a,b a,z");
  EXPECT_EQ(e.run("try { h.forEach(function () { throw new Error('cb'); }); 'no throw' }"
                  "catch (e) { e.message }"),
            "cb");
  EXPECT_EQ(e.run("try { h.forEach('nope'); 'no throw' } catch (e) { e.name + ': ' + e.message }"),
            "TypeError: Headers.forEach: callback is not a function");
}

TEST(HeadersInEngine, HeadersFromTheHostAreLowerCasedAndGoBackAsPairs) {
  QuietSink sink;
  WorkerHeap heap(&sink);
  ErrorCode code = ErrorCode::ok;
  std::string error;
  ASSERT_TRUE(heap.load("ns/headers", "commonjs",
                        "module.exports = { fetch: function (r) { var out = [];"
                        "  r.headers.forEach(function (v, k) { out.push(k + '=' + v); });"
                        "  return new Response(out.join(' '), { headers: [['X-B', '2'],"
                        "    ['x-a', '1'], ['Set-Cookie', 's=1'], ['set-cookie', 's=2']] }); } };",
                        "", host_build_id(), "[]", 1000, code, error))
      << error;
  heap.handle(1, "GET", "http://x.example/", {{"Host", "x.example"}, {"X-Mixed-Case", "V"}}, "", "",
              1000);
  EXPECT_EQ(sink.last_body, "host=x.example x-mixed-case=V");
  EXPECT_EQ(sink.last_headers, (HeaderList{{"x-b", "2"},
                                           {"x-a", "1"},
                                           {"set-cookie", "s=1"},
                                           {"set-cookie", "s=2"},
                                           {"content-type", "text/plain;charset=UTF-8"}}));
  // A name that is not ASCII (not a token, but the host passes what it got)
  // is lower-cased by JavaScript's rules, as before the natives.
  heap.handle(2, "GET", "http://x.example/", {{"X-\xC0", "latin-1"}}, "", "", 1000);
  EXPECT_EQ(sink.last_body, "x-\xC3\xA0=latin-1");
}

TEST(PromiseQueueInEngine, RunsJobsInOrderAndReportsAThrowingMicrotaskWithoutStopping) {
  Engine e;
  EXPECT_EQ(e.run("var log = []; globalThis.log = log;"
                  "Promise.resolve(1).then(function (v) { log.push('a' + v); });"
                  "queueMicrotask(function () { log.push('m'); throw new Error('boom'); });"
                  "Promise.reject(2).catch(function (v) { log.push('r' + v); });"
                  "queueMicrotask(function () { log.push('n'); });"
                  "Promise.resolve().then(function () { return Promise.resolve(3); })"
                  "  .then(function (v) { log.push('t' + v); });"
                  "'queued'"),
            "queued");
  EXPECT_EQ(e.run("log.join(' ')"), "a1 m r2 n t3");
  ASSERT_EQ(e.sink.logs.size(), 1u);
  EXPECT_NE(e.sink.logs[0].find("Uncaught Error: boom"), std::string::npos) << e.sink.logs[0];
}

TEST(PromiseQueueInEngine, ALongChainAndManyWaitingJobsAllRun) {
  Engine e;
  EXPECT_EQ(e.run("var n = 0, w = 0; globalThis.count = function () { return n + ' ' + w; };"
                  "function step() { if (++n < 20000) return Promise.resolve().then(step); }"
                  "Promise.resolve().then(step);"
                  "for (var i = 0; i < 10000; i++) Promise.resolve(i).then(function () { w++; });"
                  "'queued'"),
            "queued");
  EXPECT_EQ(e.run("count()"), "20000 10000");
  EXPECT_EQ(e.run("var m = 0; queueMicrotask(function () { m++; }); 'x'"), "x");
  EXPECT_EQ(e.run("m"), "1");
}

// ---------------------------------------------------------------------------
// Costs: reported, never asserted (the machine is noisy). Each figure is
// the median of several timed runs of a loop inside one eval(), which ends
// with the microtask drain, so promise jobs are counted where they run.

// `async function chain() { let s = 0; for (let i = 0; i < 10; i++) s += await i; return s; }`
// as sandbox/lowering.cc lowers it (Babel 8's regenerator and asyncToGenerator
// helpers), so an await chain costs what a deployed worker pays.
const char* kLoweredAwaitChain = R"JS(
function _regenerator() {var e,t,r = "function" == typeof Symbol ? Symbol : {},n = r.iterator || "@@iterator",o = r.toStringTag || "@@toStringTag";function i(r, n, o, i) {var c = n && n.prototype instanceof Generator ? n : Generator,u = Object.create(c.prototype);return _regeneratorDefine2(u, "_invoke", function (r, n, o) {var i,c,u,f = 0,p = o || [],y = !1,G = { p: 0, n: 0, v: e, a: d, f: d.bind(e, 4), d: function d(t, r) {return i = t, c = 0, u = e, G.n = r, a;} };function d(r, n) {for (c = r, u = n, t = 0; !y && f && !o && t < p.length; t++) {var o,i = p[t],d = G.p,l = i[2];r > 3 ? (o = l === n) && (u = i[(c = i[4]) ? 5 : (c = 3, 3)], i[4] = i[5] = e) : i[0] <= d && ((o = r < 2 && d < i[1]) ? (c = 0, G.v = n, G.n = i[1]) : d < l && (o = r < 3 || i[0] > n || n > l) && (i[4] = r, i[5] = n, G.n = l, c = 0));}if (o || r > 1) return a;throw y = !0, n;}return function (o, p, l) {if (f > 1) throw TypeError("Generator is already running");for (y && 1 === p && d(p, l), c = p, u = l; (t = c < 2 ? e : u) || !y;) {i || (c ? c < 3 ? (c > 1 && (G.n = -1), d(c, u)) : G.n = u : G.v = u);try {if (f = 2, i) {if (c || (o = "next"), t = i[o]) {if (!(t = t.call(i, u))) throw TypeError("iterator result is not an object");if (!t.done) return t;u = t.value, c < 2 && (c = 0);} else 1 === c && (t = i.return) && t.call(i), c < 2 && (u = TypeError("The iterator does not provide a '" + o + "' method"), c = 1);i = e;} else if ((t = (y = G.n < 0) ? u : r.call(n, G)) !== a) break;} catch (t) {i = e, c = 1, u = t;} finally {f = 1;}}return { value: t, done: y };};}(r, o, i), !0), u;}var a = {};function Generator() {}function GeneratorFunction() {}function GeneratorFunctionPrototype() {}t = Object.getPrototypeOf;var c = [][n] ? t(t([][n]())) : (_regeneratorDefine2(t = {}, n, function () {return this;}), t),u = GeneratorFunctionPrototype.prototype = Generator.prototype = Object.create(c);function f(e) {return Object.setPrototypeOf ? Object.setPrototypeOf(e, GeneratorFunctionPrototype) : (e.__proto__ = GeneratorFunctionPrototype, _regeneratorDefine2(e, o, "GeneratorFunction")), e.prototype = Object.create(u), e;}return GeneratorFunction.prototype = GeneratorFunctionPrototype, _regeneratorDefine2(u, "constructor", GeneratorFunctionPrototype), _regeneratorDefine2(GeneratorFunctionPrototype, "constructor", GeneratorFunction), GeneratorFunction.displayName = "GeneratorFunction", _regeneratorDefine2(GeneratorFunctionPrototype, o, "GeneratorFunction"), _regeneratorDefine2(u), _regeneratorDefine2(u, o, "Generator"), _regeneratorDefine2(u, n, function () {return this;}), _regeneratorDefine2(u, "toString", function () {return "[object Generator]";}), (_regenerator = function _regenerator() {return { w: i, m: f };})();}function _regeneratorDefine2(e, r, n, t) {var i = Object.defineProperty;try {i({}, "", {});} catch (e) {i = 0;}_regeneratorDefine2 = function _regeneratorDefine(e, r, n, t) {function o(r, n) {_regeneratorDefine2(e, r, function (e) {return this._invoke(r, n, e);});}r ? i ? i(e, r, { value: n, enumerable: !t, configurable: !t, writable: !t }) : e[r] = n : (o("next", 0), o("throw", 1), o("return", 2));}, _regeneratorDefine2(e, r, n, t);}function asyncGeneratorStep(n, t, e, r, o, a, c) {try {var i = n[a](c),u = i.value;} catch (n) {return void e(n);}i.done ? t(u) : Promise.resolve(u).then(r, o);}function _asyncToGenerator(n) {return function () {var t = this,e = arguments;return new Promise(function (r, o) {var a = n.apply(t, e);function _next(n) {asyncGeneratorStep(a, r, o, _next, _throw, "next", n);}function _throw(n) {asyncGeneratorStep(a, r, o, _next, _throw, "throw", n);}_next(void 0);});};}
globalThis.chain = function () {var _chain = _asyncToGenerator(_regenerator().m(function _callee() {var s, i, _t;return _regenerator().w(function (_context) {while (1) switch (_context.n) {case 0:s = 0;i = 0;case 1:if (!(i < 10)) {_context.n = 4;break;}_t = s;_context.n = 2;return i;case 2:s = _t += _context.v;case 3:i++;_context.n = 1;break;case 4:return _context.a(2, s);}}, _callee);}));function chain() {return _chain.apply(this, arguments);}return chain;}();
'ok'
)JS";

struct CostCase {
  const char* label;
  const char* setup;  // once per timed run, before the loop
  const char* body;   // n times, with the index in `i`
  const char* check;  // evaluated after a run; must give `expect`
  const char* expect;
};

const char* kTenHeaders =
    "var init = globalThis.init = { 'Content-Type': 'application/json', 'Accept': '*/*', "
    "'X-Request-Id': 'abc123',"
    "'Cache-Control': 'no-cache', 'User-Agent': 'bench/1', 'Accept-Encoding': 'gzip, br',"
    "'Accept-Language': 'en', 'Authorization': 'Bearer t0k3n', 'Cookie': 'a=1; b=2',"
    "'X-Forwarded-For': '192.0.2.1' };";

const CostCase kCosts[] = {
    {"loop overhead (empty body)", "", "", "'ok'", "ok"},
    {"new Headers(object with 10 entries)", "", "new Headers(init);",
     "String(new Headers(init).get('cookie'))", "a=1; b=2"},
    {"new Headers(array of 10 pairs)",
     "var pairs = []; for (var k in init) pairs.push([k, init[k]]);", "new Headers(pairs);",
     "String(new Headers(init).get('accept'))", "*/*"},
    {"headers.get('content-type'), 10 entries", "var h = new Headers(init);",
     "h.get('content-type');", "new Headers(init).get('content-type')", "application/json"},
    {"headers.has('x-missing'), 10 entries", "var h = new Headers(init);", "h.has('x-missing');",
     "String(new Headers(init).has('x-missing'))", "false"},
    {"headers.set('X-Bench', v), 10 entries", "var h = new Headers(init);",
     "h.set('X-Bench', 'value');", "'ok'", "ok"},
    {"headers.append + delete, 10 entries", "var h = new Headers(init);",
     "h.append('X-Bench', 'v'); h.delete('X-Bench');", "'ok'", "ok"},
    {"iterate entries(), 10 entries", "var h = new Headers(init); var s;",
     "for (var it = h.entries(); !(s = it.next()).done;) s.value;", "'ok'", "ok"},
    {"headers.forEach, 10 entries", "var h = new Headers(init); var f = function () {};",
     "h.forEach(f);", "'ok'", "ok"},
    {"Promise hop: Promise.resolve(i).then(f) + drain",
     "var g = globalThis; g.hops = 0; var f = function () { g.hops++; };",
     "Promise.resolve(i).then(f);", "String(globalThis.hops > 0)", "true"},
    {"new Promise(executor).then(f) + drain",
     "var g = globalThis; g.hops = 0; var f = function () { g.hops++; };"
     "var ex = function (res) { res(1); };",
     "new Promise(ex).then(f);", "String(globalThis.hops > 0)", "true"},
    {"queueMicrotask(f) + drain",
     "var g = globalThis; g.jobs = 0; var f = function () { g.jobs++; };", "queueMicrotask(f);",
     "String(globalThis.jobs > 0)", "true"},
    {"then-chain of 10 hops + drain", "var f = function (v) { return v + 1; };",
     "Promise.resolve(0).then(f).then(f).then(f).then(f).then(f).then(f).then(f).then(f)"
     ".then(f).then(f);",
     "'ok'", "ok"},
    {"lowered async function with 10 awaits + drain",
     "var g = globalThis; g.sum = 0; var add = function (s) { g.sum += s; };", "chain().then(add);",
     "String(globalThis.sum % 45)", "0"},
};

// Thread CPU time: other processes on a busy machine do not count.
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct Cost {
  double best_us = 0;  // fastest run: the least disturbed
  double median_us = 0;
};

// µs per iteration of `c` over several runs of a loop long enough to time.
Cost cost_of(Engine& e, const CostCase& c, std::string& error) {
  std::string fn = std::string("globalThis.costLoop = function (n) {") + kTenHeaders + c.setup +
                   "for (var i = 0; i < n; i++) {" + c.body + "} }; 'ok'";
  std::string r = e.run(fn);
  if (r != "ok") {
    error = r;
    return {};
  }
  long n = 16;
  for (;;) {
    double t0 = cpu_seconds();
    r = e.run("costLoop(" + std::to_string(n) + "); 'ok'");
    if (r != "ok") {
      error = r;
      return {};
    }
    if (cpu_seconds() - t0 > 0.02 || n > (1L << 24)) break;
    n *= 2;
  }
  std::vector<double> runs;
  for (int k = 0; k < 7; k++) {
    double t0 = cpu_seconds();
    e.run("costLoop(" + std::to_string(n) + ")");
    runs.push_back((cpu_seconds() - t0) * 1e6 / (double)n);
  }
  std::sort(runs.begin(), runs.end());
  r = e.run(c.check);
  if (r != c.expect) error = "check gave " + r + ", not " + c.expect;
  return {runs.front(), runs[runs.size() / 2]};
}

TEST(HeadersAndPromiseCost, ReportsMicrosecondsPerOperationInsideDuktape) {
  Engine e;
  ASSERT_EQ(e.run(kLoweredAwaitChain), "ok");
  for (const CostCase& c : kCosts) {
    std::string error;
    Cost cost = cost_of(e, c, error);
    EXPECT_EQ(error, "") << c.label;
    std::printf("[   cost   ] %-50s best %7.2f us, median %7.2f us\n", c.label, cost.best_us,
                cost.median_us);
    char value[32];
    std::snprintf(value, sizeof value, "%.2f", cost.best_us);
    RecordProperty(c.label, value);
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace wfp
