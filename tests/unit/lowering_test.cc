// Unit tests of the lowering (sandbox/lowering.h): the real Babel heap from
// the embedded bytecode, and the lowered code run in a real WorkerHeap with
// the runtime prelude, so each construct is shown to behave, not just parse.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <stdexcept>

#include "sandbox/host.h"
#include "sandbox/lowering.h"
#include "sandbox/seccomp_policy.h"

namespace wfp {
namespace {

struct Recorder : HostSink {
  std::map<uint64_t, std::string> bodies;
  std::map<uint64_t, std::string> failures;
  std::vector<std::string> logs;
  void respond(uint64_t req, int, const std::string&, HeaderList, std::string body) override {
    bodies[req] = std::move(body);
  }
  void fail(uint64_t req, ErrorCode, const std::string& message, const std::string&) override {
    failures[req] = message;
  }
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests in these tests");
  }
  void log(uint64_t, const std::string& level, const std::string& text) override {
    logs.push_back(level + ": " + text);
  }
  uint64_t set_timer(uint64_t, int64_t) override { throw std::runtime_error("no timers in these tests"); }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

// Building the Babel heap takes a second or more: one for the whole suite.
Lowerer& lowerer() {
  static Lowerer instance;
  return instance;
}

const char* kBindings = R"([{"type":"plain_text","name":"GREETING","text":"hi"}])";

struct Outcome {
  bool ok = false;
  std::string body;   // the response body, when ok
  std::string error;  // lowering, load or request failure
  LowerResult lowered;
};

// Lowers `source`, loads it into a fresh WorkerHeap in the format the
// lowering chose, and answers one GET for `url`.
Outcome run_worker(const std::string& source, bool module_hint = false,
                   const std::string& url = "http://x.example/a/b?q=1") {
  Outcome out;
  out.lowered = lowerer().lower("w.js", source, module_hint);
  if (!out.lowered.ok) {
    out.error = "lowering: " + out.lowered.error;
    return out;
  }
  Recorder rec;
  WorkerHeap heap(&rec);
  heap.set_memory_limit(64 << 20);
  ErrorCode code = ErrorCode::ok;
  std::string error;
  // Generous CPU: lowered async code runs a regenerator state machine.
  if (!heap.load("ns/w", out.lowered.format, out.lowered.code, "", host_build_id(), kBindings, 2000, code,
                 error)) {
    out.error = "load: " + error + "\n--- lowered code ---\n" + out.lowered.code;
    return out;
  }
  heap.handle(1, "GET", url, {{"host", "x.example"}}, "", "", 2000);
  if (rec.bodies.count(1)) {
    out.ok = true;
    out.body = rec.bodies[1];
  } else if (rec.failures.count(1)) {
    out.error = "request: " + rec.failures[1];
  } else {
    out.error = "request: no answer";
  }
  return out;
}

// A service-worker script answering with the value of `expr` after `setup`
// (`expr` runs inside the listener, whose parameter is `e`).
std::string answer_with(const std::string& setup, const std::string& expr) {
  return setup + "\naddEventListener('fetch', function (e) { e.respondWith(new Response(String(" + expr + "))); });\n";
}

// --- the ES5 fast path ---------------------------------------------------------

TEST(Lowering, PlainEs5IsReturnedUnchangedWithoutBabel) {
  std::string src = "var n = 0;\naddEventListener('fetch', function (e) { n++; e.respondWith(new Response('n=' + n)); });\n";
  LowerResult r = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.lowered);
  EXPECT_EQ(r.code, src);
  EXPECT_EQ(r.format, "service-worker");
  EXPECT_EQ(r.line_map, "");
}

TEST(Lowering, PlainEs5CommonJsKeepsTheFastPathAndItsFormat) {
  std::string src = "module.exports = { fetch: function (r) { return new Response('cjs'); } };\n";
  LowerResult r = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.lowered);
  EXPECT_EQ(r.code, src);
  EXPECT_EQ(r.format, "commonjs");
  std::string src2 = "exports.fetch = function (r) { return new Response('cjs'); };\n";
  EXPECT_EQ(lowerer().lower("w.js", src2, false).format, "commonjs");
}

TEST(Lowering, ConstInsideStringsCommentsAndRegexesKeepsTheFastPath) {
  std::string src =
      "var a = 'const x = 1', b = \"const\"; // const y\n"
      "/* const z */ var re = /const\\/[/]const/g, q = 4 / 2 / 1;\n"
      "var o = { const: 1 }; o.const = 2;\n"
      "if (a) /const/.test(a);\n"
      "module.exports = { fetch: function () { return new Response(a); } };\n";
  LowerResult r = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.lowered);
  EXPECT_EQ(r.code, src);
}

TEST(Lowering, Es5PlusConstIsNotTheFastPath) {
  std::string src = "const a = 1;\nmodule.exports = { fetch: function () { return new Response(String(a)); } };\n";
  LowerResult r = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.lowered);
  EXPECT_EQ(r.code.find("const"), std::string::npos) << r.code;
  EXPECT_EQ(r.format, "commonjs");
  EXPECT_FALSE(r.line_map.empty());
}

TEST(Lowering, ConstIsBlockScopedAfterLowering) {
  std::string src = answer_with(
      "var fns = [];\n"
      "for (var i = 0; i < 3; i++) { const j = i; fns.push(function () { return j; }); }\n",
      "fns.map(function (f) { return f(); }).join(',')");
  auto o = run_worker(src);
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(o.lowered.lowered);
  EXPECT_EQ(o.body, "0,1,2");

  // Why "Duktape compiles it" is not the fast-path test: unlowered, the
  // same source runs with var semantics and every closure sees the last j.
  Recorder rec;
  WorkerHeap heap(&rec);
  ErrorCode code = ErrorCode::ok;
  std::string error;
  ASSERT_TRUE(heap.load("ns/raw", "service-worker", src, "", host_build_id(), "[]", 1000, code, error)) << error;
  heap.handle(1, "GET", "http://x.example/", {}, "", "", 1000);
  EXPECT_EQ(rec.bodies[1], "2,2,2");
}

TEST(Lowering, AssigningToAConstThrowsAfterLowering) {
  auto o = run_worker(answer_with("const k = 1; var caught = 'none';\n"
                                  "try { k = 2; } catch (e) { caught = e.name; }\n",
                                  "caught + ' ' + k"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "TypeError 1");
}

// --- each modern construct, run in a worker heap ------------------------------

TEST(Lowering, LetInALoopGivesEachClosureItsOwnBinding) {
  auto o = run_worker(answer_with("let fns = [];\nfor (let i = 0; i < 3; i++) fns.push(() => i);\n"
                                  "{ let i = 'inner'; }\n",
                                  "fns.map(f => f()).join(',') + (typeof i)"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "0,1,2undefined");
}

TEST(Lowering, AsyncAwaitRunsInAWorkerHeap) {
  auto o = run_worker(
      "async function twice(p) { const v = await p; return v * 2; }\n"
      "async function main() {\n"
      "  let total = 0;\n"
      "  for (const x of [1, 2]) total += await twice(Promise.resolve(x));\n"
      "  try { await Promise.reject(new Error('boom')); } catch (e) { total += e.message.length; }\n"
      "  return total;\n"
      "}\n"
      "addEventListener('fetch', e => e.respondWith(main().then(t => new Response('total ' + t))));\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "total 10");
}

// Needs WeakMap in the worker heap (sandbox/polyfills.js): Babel lowers a
// private field to a WeakMap keyed by the instance.
TEST(Lowering, ClassesWithPrivateFieldsRun) {
  auto o = run_worker(answer_with(
      "class Counter {\n"
      "  #n = 0;\n"
      "  static made = 0;\n"
      "  constructor(start) { this.#n = start; Counter.made++; }\n"
      "  inc(by = 1) { this.#n += by; return this; }\n"
      "  get value() { return this.#n; }\n"
      "  static has(o) { return #n in o; }\n"
      "}\n"
      "const c = new Counter(5).inc().inc(2);\n",
      "c.value + ' ' + Counter.made + ' ' + Counter.has(c) + ' ' + Counter.has({}) + ' ' + "
      "Object.keys(c).length"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "8 1 true false 0");
}

// Babel's `super.x` helper calls Reflect.get with a receiver, which
// Duktape's Reflect refuses; the worker prelude must shim it (as
// sandbox/lowering_shim.js does for Babel's own heap).
TEST(Lowering, SubclassesCallingSuperMethodsRun) {
  auto o = run_worker(answer_with(
      "class A { constructor(x) { this.x = x; } hello() { return 'A' + this.x; } }\n"
      "class B extends A { constructor() { super(7); } hello() { return 'B' + super.hello(); } }\n",
      "new B().hello() + (new B() instanceof A)"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "BA7true");
}

TEST(Lowering, ClassesExtendingErrorKeepTheirTypeAndMessage) {
  auto o = run_worker(answer_with(
      "class HttpError extends Error {\n"
      "  constructor(status, message) { super(message); this.name = 'HttpError'; this.status = status; }\n"
      "}\n"
      "var err; try { throw new HttpError(404, 'not here'); } catch (x) { err = x; }\n",
      "[err instanceof HttpError, err instanceof Error, err.status, err.message, err.name].join(' ')"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "true true 404 not here HttpError");
}

TEST(Lowering, ArrowFunctionsKeepTheEnclosingThis) {
  auto o = run_worker(answer_with(
      "var obj = { n: 3, list() { return [1, 2].map(x => x * this.n); } };\n"
      "var add = (a, b) => a + b, one = () => 1;\n",
      "obj.list().join(',') + ' ' + add(one(), 2)"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "3,6 3");
}

TEST(Lowering, TemplateLiteralsInterpolate) {
  auto o = run_worker(answer_with("var who = 'world', n = 2;\n"
                                  "function tag(s, ...v) { return s.raw.join('|') + v.join('|'); }\n",
                                  "`hello ${who}, ${n + 1} times` + ' ' + tag`a${1}b${2}c`"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "hello world, 3 times a|b|c1|2");
}

TEST(Lowering, DestructuringBindsObjectsAndArrays) {
  auto o = run_worker(answer_with(
      "var { a, b: { c }, d = 'dflt' } = { a: 1, b: { c: 2 } };\n"
      "var [x, , y = 9] = [7, 8];\n"
      "var swap = [1, 2]; [swap[0], swap[1]] = [swap[1], swap[0]];\n",
      "[a, c, d, x, y, swap.join('')].join(' ')"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "1 2 dflt 7 9 21");
}

TEST(Lowering, SpreadAndRestWork) {
  auto o = run_worker(answer_with(
      "function sum(first, ...rest) { return rest.reduce((s, v) => s + v, first); }\n"
      "var parts = [2, 3];\n"
      "var { a, ...others } = { a: 1, b: 2, c: 3 };\n"
      "var merged = { ...others, d: 4 };\n",
      "sum(1, ...parts, 4) + ' ' + [0, ...parts].length + ' ' + Object.keys(merged).join('') + a"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "10 3 bcd1");
}

TEST(Lowering, DefaultParametersApply) {
  auto o = run_worker(answer_with("function f(a, b = a * 2, { c = 'c' } = {}) { return [a, b, c].join(''); }\n",
                                  "f(1) + ' ' + f(1, 5, { c: 'x' }) + ' ' + f(2, undefined)"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "12c 15x 24c");
}

TEST(Lowering, ForOfIteratesAnArray) {
  auto o = run_worker(answer_with("var out = '';\nvar list = ['a', 'b', 'c'];\n"
                                  "for (const [i, v] of list.map((v, i) => [i, v])) out += i + v;\n"
                                  "for (const ch of 'xy') out += ch;\n",
                                  "out"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "0a1b2cxy");
}

TEST(Lowering, OptionalChainingAndNullishCoalescingWork) {
  auto o = run_worker(answer_with(
      "var cfg = { a: { b: 0, f() { return 'called'; } } }, none = null;\n"
      "var x = cfg?.a?.b ?? 'dflt', y = none?.a.b ?? 'dflt', z = cfg.a.f?.(), w = cfg.nope?.();\n"
      "var n = null; n ?\?= 5; var t = 0; t ||= 3;\n",
      "[x, y, z, w, n, t].join(' ')"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "0 dflt called  5 3");
}

TEST(Lowering, DotAllAndUnicodeRegexesAreLowered) {
  auto o = run_worker(answer_with("var dot = /a.b/s.test('a\\nb'), astral = /^.$/u.test('\\ud83d\\ude00');\n",
                                  "dot + ' ' + astral"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "true true");
}

// Needs WeakMap (sandbox/polyfills.js): Babel's named-group wrapper keeps
// the group names in one.
TEST(Lowering, RegexNamedGroupsAreLowered) {
  auto o = run_worker(answer_with("var m = /(?<y>\\d{4})-(?<m>\\d\\d)/.exec('on 2024-05');\n",
                                  "m.groups.y + '/' + m.groups.m"));
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.body, "2024/05");
}

// --- module formats ------------------------------------------------------------

TEST(Lowering, AnEsModuleWithAnAsyncFetchRunsEndToEndAsCommonJs) {
  auto o = run_worker(
      "const suffix = '!';\n"
      "export default {\n"
      "  async fetch(request, env) {\n"
      "    const [, , , ...path] = request.url.split('/');\n"
      "    const pathname = `/${path.join('/')}`.replace(/\\?.*/, '');\n"
      "    const text = await Promise.resolve(`${env.GREETING} ${pathname}${suffix}`);\n"
      "    return new Response(text, { headers: { 'content-type': 'text/plain' } });\n"
      "  }\n"
      "};\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(o.lowered.lowered);
  EXPECT_EQ(o.lowered.format, "commonjs");
  EXPECT_EQ(o.body, "hi /a/b!");
}

TEST(Lowering, AnEsbuildStyleBundleExportingAsDefaultRuns) {
  // What esbuild emits for an ES-module worker: plain vars, then one
  // export statement at the end.
  auto o = run_worker(
      "var __defProp = Object.defineProperty;\n"
      "var greet = (name) => `hello ${name}`;\n"
      "var src_default = {\n"
      "  fetch(request, env) {\n"
      "    return new Response(greet(env.GREETING));\n"
      "  }\n"
      "};\n"
      "export {\n"
      "  src_default as default\n"
      "};\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.lowered.format, "commonjs");
  EXPECT_EQ(o.body, "hello hi");
}

TEST(Lowering, AnEsbuildBundleOfPlainEs5WithAnExportIsLoweredToo) {
  // No modern syntax but `export`: Duktape can't compile it, Babel can.
  auto o = run_worker("var handler = { fetch: function () { return new Response('es5 module'); } };\n"
                      "export { handler as default };\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(o.lowered.lowered);
  EXPECT_EQ(o.lowered.format, "commonjs");
  EXPECT_EQ(o.body, "es5 module");
}

TEST(Lowering, NamedExportsBecomeExportsProperties) {
  auto o = run_worker("export const version = 3;\n"
                      "export function fetch(request) { return new Response(`v${version}`); }\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.lowered.format, "commonjs");
  EXPECT_NE(o.lowered.code.find("exports.version"), std::string::npos) << o.lowered.code;
  EXPECT_NE(o.lowered.code.find("exports.fetch"), std::string::npos) << o.lowered.code;
  EXPECT_EQ(o.body, "v3");
}

TEST(Lowering, TheModuleHintMakesAnExportlessSourceAModule) {
  LowerResult r = lowerer().lower("w.js", "var a = 1;\n", true);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.lowered);
  EXPECT_EQ(r.format, "commonjs");
  EXPECT_NE(r.code.find("use strict"), std::string::npos) << r.code;
}

TEST(Lowering, AModernServiceWorkerKeepsItsFormat) {
  auto o = run_worker("addEventListener('fetch', (event) => {\n"
                      "  const { request } = event;\n"
                      "  event.respondWith(new Response(`sw ${GREETING}`));\n"
                      "});\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.lowered.format, "service-worker");
  EXPECT_EQ(o.body, "sw hi");
}

TEST(Lowering, ModernCommonJsKeepsItsFormat) {
  auto o = run_worker("const signal = { addEventListener() {} };\n"
                      "signal.addEventListener('abort', () => {});\n"
                      "module.exports = { fetch: async (req, env) => new Response(`cjs ${env.GREETING}`) };\n");
  ASSERT_TRUE(o.ok) << o.error;
  EXPECT_EQ(o.lowered.format, "commonjs");
  EXPECT_EQ(o.body, "cjs hi");
}

// --- errors and positions ----------------------------------------------------

TEST(Lowering, ASyntaxErrorInModernSourceReportsTheOriginalLineAndColumn) {
  LowerResult r = lowerer().lower("ns/w.js",
                                  "const a = 1;\n"
                                  "export default {\n"
                                  "  fetch() { return a +; }\n"
                                  "};\n",
                                  false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("ns/w.js:3:23: SyntaxError: Unexpected token", 0), 0u) << r.error;
  // Babel's code frame and "(3:23)" suffix are not part of the message.
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("(3:"), std::string::npos) << r.error;
}

TEST(Lowering, ASyntaxErrorInEs5SourceIsReportedWithLineAndColumn) {
  LowerResult r = lowerer().lower("w.js", "var a = 1;\n\nvar b = = 2;\n", false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("w.js:3:9: SyntaxError: ", 0), 0u) << r.error;
}

TEST(Lowering, SyntaxDuktapeCannotRunIsRefusedAtItsOriginalPosition) {
  struct Case {
    const char* source;
    const char* error;
  } cases[] = {
      {"let a = 1;\nlet b = 10n;\n", "w.js:2:9: SyntaxError: BigInt is not supported by this runtime"},
      {"let a = 1;\nlet r = /(?<=x)y/;\n", "w.js:2:9: SyntaxError: lookbehind in regular expressions is not supported"},
      {"let r = /a/y;\n", "w.js:1:9: SyntaxError: the regular expression flag \"y\" (sticky) is not supported"},
      {"import x from 'lib';\nexport default x;\n", "w.js:1:1: SyntaxError: import from \"lib\": a worker is one file"},
      {"export * from 'lib';\n", "w.js:1:1: SyntaxError: export from \"lib\": a worker is one file"},
      {"const m = () => import('lib');\n", "w.js:1:17: SyntaxError: import() is not supported"},
      {"await foo();\nexport default {};\n", "w.js:1:1: SyntaxError: top-level await is not supported"},
  };
  for (const Case& c : cases) {
    LowerResult r = lowerer().lower("w.js", c.source, false);
    EXPECT_FALSE(r.ok) << c.source;
    EXPECT_EQ(r.error.rfind(c.error, 0), 0u) << r.error;
  }
  // A lookbehind-looking text inside a character class is not one.
  EXPECT_TRUE(lowerer().lower("w.js", "let r = /[(?<=]x/;\n", false).ok);
}

TEST(Lowering, TheLineMapGivesTheOriginalLineOfEachLoweredLine) {
  std::string src =
      "// a comment\n"
      "const greet = (name) => {\n"
      "  return `hi ${name}`;\n"
      "};\n"
      "\n"
      "export default { fetch: () => new Response(greet('x')) };\n";
  LowerResult r = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_TRUE(r.lowered);
  ASSERT_FALSE(r.line_map.empty());
  EXPECT_EQ(r.line_map.front(), '[');
  EXPECT_EQ(r.line_map.back(), ']');
  // One entry per lowered line.
  size_t lines = 1, entries = 1;
  for (char c : r.code) lines += c == '\n';
  for (char c : r.line_map) entries += c == ',';
  EXPECT_EQ(entries, lines) << r.line_map;
  // retainLines keeps `return` on line 3; the map says so.
  size_t at = 0, line = 1;
  for (; at < r.code.size() && r.code.compare(at, 7, "return ") != 0; at++) line += r.code[at] == '\n';
  ASSERT_LT(at, r.code.size());
  EXPECT_EQ(line, 3u) << r.code;
  std::string map = r.line_map.substr(1, r.line_map.size() - 2);
  std::vector<int> values;
  for (size_t p = 0; p <= map.size();) {
    size_t q = map.find(',', p);
    if (q == std::string::npos) q = map.size();
    values.push_back(std::stoi(map.substr(p, q - p)));
    p = q + 1;
  }
  ASSERT_GE(values.size(), 3u);
  EXPECT_EQ(values[2], 3) << r.line_map;
}

TEST(Lowering, ARuntimeErrorInLoweredCodeIsOnItsOriginalLine) {
  // retainLines: Duktape's line numbers in the lowered code are the
  // original ones, so a stack reads right even before any map is applied.
  auto o = run_worker("export default {\n"
                      "  fetch() {\n"
                      "    const x = null;\n"
                      "    return new Response(String(x.boom));\n"
                      "  }\n"
                      "};\n");
  ASSERT_FALSE(o.ok);
  EXPECT_NE(o.error.find("request:"), std::string::npos) << o.error;
  size_t at = o.lowered.code.find("x.boom");
  ASSERT_NE(at, std::string::npos);
  size_t line = 1;
  for (size_t i = 0; i < at; i++) line += o.lowered.code[i] == '\n';
  EXPECT_EQ(line, 4u) << o.lowered.code;
}

TEST(Lowering, AHostileNestingFailsAsAValueAndTheLowererStaysUsable) {
  std::string deep = "let a = " + std::string(20000, '[') + std::string(20000, ']') + ";\n";
  LowerResult r = lowerer().lower("deep.js", deep, false);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("deep.js:", 0), 0u) << r.error;
  LowerResult again = lowerer().lower("w.js", "let b = 1;\n", false);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.lowered);
}

TEST(Lowering, LoadsAndLowersUnderTheCompilersSeccompPolicy) {
  // The compiler child builds its Lowerer after lock-down: loading Babel
  // and lowering must need no syscall beyond the runner's list (the first
  // version died of SIGSYS: core-js probes local-time Date methods, and
  // glibc looks at /etc/localtime for them).
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string error;
    if (!seccomp_lock(Role::compiler, error)) _exit(2);
    Lowerer l;
    LowerResult r = l.lower("w.js", "export default { fetch: async () => new Response(`${new Date(0).getHours()}`) };\n", false);
    _exit(r.ok && r.lowered ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Lowering, LoweringTheSameSourceTwiceGivesTheSameCode) {
  std::string src = "export default { fetch: async () => new Response(`x`) };\n";
  LowerResult a = lowerer().lower("w.js", src, false);
  LowerResult b = lowerer().lower("w.js", src, false);
  ASSERT_TRUE(a.ok && b.ok);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.line_map, b.line_map);
}

}  // namespace
}  // namespace wfp
