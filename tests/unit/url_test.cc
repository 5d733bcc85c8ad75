// Unit tests of the C++ WHATWG URL implementation (sandbox/url.cc) against
// the WPT data in the shared conformance directory, plus limits and edge cases.
// Runs in the unit-test binary; the data files are trusted test fixtures.
#include "sandbox/url.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "duktape.h"
#include "sandbox/natives.h"

extern "C" const char wfp_url_js[];

namespace wfp::url {
namespace {

using nlohmann::json;

std::string conformance_dir() {
  const char* env = std::getenv("WFP_CONFORMANCE_DIR");
  return env && *env ? env : "../shared/conformance";
}

// The parsed data file, or null when the conformance data is not there.
std::optional<json> load(const std::string& name) {
  std::ifstream f(conformance_dir() + "/" + name);
  if (!f) return std::nullopt;
  return json::parse(f);
}

#define LOAD_OR_SKIP(var, name)                                              \
  auto var##_opt = load(name);                                               \
  if (!var##_opt) GTEST_SKIP() << "no " << conformance_dir() << "/" << name; \
  const json& var = *var##_opt

// Failures known and accepted, with their reasons (see the report in each test).
// A failure not listed here fails the test, and so does a listed case that passes.
const std::map<std::string, std::string> kKnownUrlFailures = {};
const std::map<std::string, std::string> kKnownToAsciiFailures = {};

struct Tally {
  int passed = 0;
  std::vector<std::string> failures;  // unexpected failures
  std::vector<std::string> known;     // expected failures seen
  std::vector<std::string> unexpected_passes;
  void record(const std::string& id, bool ok, const std::string& detail,
              const std::map<std::string, std::string>& known_list, const std::string& key) {
    bool is_known = known_list.count(key) > 0;
    if (ok && !is_known)
      passed++;
    else if (ok)
      unexpected_passes.push_back(id);
    else if (is_known)
      known.push_back(id + ": " + known_list.at(key));
    else
      failures.push_back(id + ": " + detail);
  }
  void report(const char* what) {
    std::cout << what << ": " << passed << " passed, " << failures.size() + known.size()
              << " failed (" << known.size() << " known)\n";
    for (auto& k : known) std::cout << "  known: " << k << "\n";
    for (auto& f : failures) ADD_FAILURE() << what << ": " << f;
    for (auto& u : unexpected_passes) ADD_FAILURE() << what << ": unexpected pass: " << u;
  }
};

std::string get(const Url& u, const std::string& attr) {
  if (attr == "href") return href(u);
  if (attr == "origin") return origin(u);
  if (attr == "protocol") return protocol(u);
  if (attr == "username") return u.username;
  if (attr == "password") return u.password;
  if (attr == "host") return host(u);
  if (attr == "hostname") return hostname(u);
  if (attr == "port") return port(u);
  if (attr == "pathname") return pathname(u);
  if (attr == "search") return search(u);
  if (attr == "hash") return hash(u);
  if (attr == "searchParams") {
    std::string q = search(u);
    return form_serialize(form_parse(q.empty() ? q : q.substr(1)));
  }
  return "<unknown attribute " + attr + ">";
}

TEST(UrlParser, PassesWptUrlTestData) {
  LOAD_OR_SKIP(data, "wpt/url/urltestdata.json");
  Tally t;
  int index = 0;
  for (const json& c : data) {
    index++;
    if (!c.is_object()) continue;
    std::string input = c["input"];
    std::string id = std::to_string(index) + " " + input;
    std::optional<Url> base;
    if (c["base"].is_string()) {
      base = parse(c["base"].get<std::string>());
      if (!base) {
        t.record(id, false, "base failed to parse", kKnownUrlFailures, input);
        continue;
      }
    }
    auto u = parse(input, base ? &*base : nullptr);
    if (c.value("failure", false)) {
      t.record(id, !u, u ? "parsed as " + href(*u) : "", kKnownUrlFailures, input);
      continue;
    }
    if (!u) {
      t.record(id, false, "failed to parse", kKnownUrlFailures, input);
      continue;
    }
    std::string detail;
    for (const char* attr : {"href", "origin", "protocol", "username", "password", "host",
                             "hostname", "port", "pathname", "search", "hash", "searchParams"}) {
      if (!c.contains(attr)) continue;
      std::string want = c[attr], got = get(*u, attr);
      if (got != want) detail += std::string(attr) + "=" + got + " (want " + want + ") ";
    }
    t.record(id, detail.empty(), detail, kKnownUrlFailures, input);
  }
  t.report("urltestdata.json");
}

TEST(UrlParser, PassesWptSettersTests) {
  LOAD_OR_SKIP(data, "wpt/url/setters_tests.json");
  Tally t;
  for (auto& [attr, cases] : data.items()) {
    if (attr == "comment") continue;
    int index = 0;
    for (const json& c : cases) {
      index++;
      std::string id = attr + " " + std::to_string(index) + " " + c["href"].get<std::string>() +
                       " <- " + c["new_value"].get<std::string>();
      auto u = parse(c["href"].get<std::string>());
      if (!u) {
        t.record(id, false, "href failed to parse", {}, "");
        continue;
      }
      std::string value = c["new_value"];
      if (attr == "href") {
        auto v = parse(value);
        if (v) *u = *v;
      } else {
        auto which = setter_named(attr);
        ASSERT_TRUE(which.has_value()) << attr;
        set(*u, *which, value);
      }
      std::string detail;
      for (auto& [key, want] : c["expected"].items()) {
        std::string got = get(*u, key);
        if (got != want.get<std::string>())
          detail += key + "=" + got + " (want " + want.get<std::string>() + ") ";
      }
      t.record(id, detail.empty(), detail, {}, "");
    }
  }
  t.report("setters_tests.json");
}

TEST(UrlParser, PassesWptToAsciiThroughParserAndHostSetters) {
  LOAD_OR_SKIP(data, "wpt/url/toascii.json");
  Tally t;
  int index = 0;
  for (const json& c : data) {
    index++;
    if (!c.is_object()) continue;
    std::string input = c["input"];
    std::optional<std::string> want;
    if (c["output"].is_string()) want = c["output"].get<std::string>();
    std::string id = std::to_string(index) + " " + input;
    auto u = parse("https://" + input + "/x");
    if (want) {
      bool ok = u && host(*u) == *want && hostname(*u) == *want && pathname(*u) == "/x" &&
                href(*u) == "https://" + *want + "/x";
      t.record(id + " (parser)", ok, u ? href(*u) : "failure", kKnownToAsciiFailures, input);
    } else {
      t.record(id + " (parser)", !u, u ? href(*u) : "", kKnownToAsciiFailures, input);
    }
    for (auto which : {Setter::host, Setter::hostname}) {
      auto x = parse("https://x/x");
      set(*x, which, input);
      std::string got = which == Setter::host ? host(*x) : hostname(*x);
      std::string name = which == Setter::host ? " (host setter)" : " (hostname setter)";
      t.record(id + name, got == want.value_or("x"), got, kKnownToAsciiFailures, input);
    }
  }
  t.report("toascii.json");
}

TEST(UrlParser, PassesWptPercentEncodingForUtf8) {
  LOAD_OR_SKIP(data, "wpt/url/percent-encoding.json");
  Tally t;
  int index = 0;
  for (const json& c : data) {
    index++;
    if (!c.is_object()) continue;
    std::string input = c["input"], want = c["output"]["utf-8"];
    auto u = parse("https://doesnotmatter.invalid/?" + input + "#" + input);
    bool ok = u && search(*u) == "?" + want && hash(*u) == "#" + want;
    t.record(std::to_string(index) + " " + input, ok, u ? href(*u) : "failure", {}, "");
  }
  t.report("percent-encoding.json");
}

TEST(UrlForm, PassesWptUrlencodedParserData) {
  LOAD_OR_SKIP(data, "wpt/url/urlencoded-parser-data.json");
  Tally t;
  int index = 0;
  for (const json& c : data) {
    index++;
    if (!c.is_object()) continue;
    std::string input = c["input"];
    FormList want;
    for (const json& pair : c["output"]) want.emplace_back(pair[0], pair[1]);
    FormList got = form_parse(input);
    t.record(std::to_string(index) + " " + input, got == want, form_serialize(got), {}, "");
  }
  t.report("urlencoded-parser-data.json");
}

// ---------------------------------------------------------------------------
// Cases the data files do not cover

TEST(UrlParser, RefusesInputBeyondTheSizeLimit) {
  std::string big = "https://example.com/" + std::string(kMaxInput, 'a');
  EXPECT_FALSE(parse(big).has_value());
  auto u = parse("https://example.com/");
  set(*u, Setter::pathname, big);
  EXPECT_EQ(href(*u), "https://example.com/");
}

TEST(UrlParser, ReadsInvalidUtf8AsReplacementCharacters) {
  auto u = parse("https://example.com/\xff\xc3");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(pathname(*u), "/%EF%BF%BD%EF%BF%BD");
}

TEST(UrlParser, RefusesHugeNonAsciiLabelsInsteadOfQuadraticPunycode) {
  std::string label;
  for (int i = 0; i < 5000; i++) label += "\xc3\xa9";  // é
  EXPECT_FALSE(parse("https://" + label + ".com/").has_value());
  // A big ASCII host costs nothing special.
  EXPECT_TRUE(parse("https://" + std::string(100000, 'a') + ".com/").has_value());
}

TEST(UrlParser, SerializesIpv4AndIpv6Hosts) {
  EXPECT_EQ(href(*parse("http://0x7f.1/")), "http://127.0.0.1/");
  EXPECT_EQ(href(*parse("http://4294967295/")), "http://255.255.255.255/");
  EXPECT_FALSE(parse("http://4294967296/").has_value());
  EXPECT_FALSE(parse("http://999999999999999999999999999/").has_value());
  EXPECT_EQ(href(*parse("http://[0:0:0:0:0:0:0:1]/")), "http://[::1]/");
  EXPECT_EQ(href(*parse("http://[1:0:0:2:0:0:0:3]/")), "http://[1:0:0:2::3]/");
  EXPECT_EQ(href(*parse("http://[::ffff:1.2.3.4]/")), "http://[::ffff:102:304]/");
}

TEST(UrlForm, SerializesWithPlusForSpaceAndEncodesEverythingElse) {
  FormList l = {{"a b", "c&d=e"}, {"\xe2\x80\xa0", "*-._~"}};
  EXPECT_EQ(form_serialize(l), "a+b=c%26d%3De&%E2%80%A0=*-._%7E");
  EXPECT_EQ(form_serialize({}), "");
}

TEST(UrlOrigin, IsTheInnerHttpOriginForBlobUrlsAndNullOtherwise) {
  EXPECT_EQ(origin(*parse("blob:https://a.example:8443/x")), "https://a.example:8443");
  EXPECT_EQ(origin(*parse("blob:ws://a.example/")), "null");
  EXPECT_EQ(origin(*parse("file:///etc/passwd")), "null");
  EXPECT_EQ(origin(*parse("HTTP://A.EXAMPLE:80/")), "http://a.example");
}

// ---------------------------------------------------------------------------
// url.js with the real natives, in a bare heap (the whole prelude is the
// conformance runner's job: tests/conformance/url*.js).

duk_ret_t eval_url_js(duk_context* ctx, void*) {
  duk_eval_string_noresult(ctx, wfp_url_js);
  return 0;
}

class UrlHeap {
 public:
  UrlHeap() {
    ctx_ = duk_create_heap_default();
    duk_push_global_object(ctx_);
    duk_push_object(ctx_);
    register_url_natives(ctx_, duk_get_top_index(ctx_));
    duk_put_prop_string(ctx_, -2, "__host");
    duk_pop(ctx_);
    ok_ = duk_safe_call(ctx_, eval_url_js, nullptr, 0, 1) == 0;
    error_ = duk_safe_to_string(ctx_, -1);
    duk_pop(ctx_);
  }
  ~UrlHeap() { duk_destroy_heap(ctx_); }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // The script's value as a string, or "error: …".
  std::string eval(const std::string& js) {
    std::string out;
    if (duk_peval_lstring(ctx_, js.data(), js.size()) != 0) out = "error: ";
    out += duk_safe_to_string(ctx_, -1);
    duk_pop(ctx_);
    return out;
  }

 private:
  duk_context* ctx_;
  bool ok_ = false;
  std::string error_;
};

// Each line of the script is `check(name, got, want)`; the result lists the
// failed ones.
const char* kChecks = R"JS(
var failed = [];
function check(name, got, want) {
  if (got !== want) failed.push(name + ': ' + JSON.stringify(got) + ' !== ' + JSON.stringify(want));
}
function throwsType(f) { try { f(); return 'no throw'; } catch (e) { return e instanceof TypeError; } }
var u = new URL('https://example.com/path?a=1&b=2#h');
var sp = u.searchParams;
check('searchParams is one object', u.searchParams === sp, true);
sp.append('c', '3 4');
check('append updates the URL', u.href, 'https://example.com/path?a=1&b=2&c=3+4#h');
u.search = '?x=y';
check('search setter updates the params', sp.get('x') + ',' + sp.get('a'), 'y,null');
sp.delete('x');
check('an empty list removes the query', u.href + '|' + u.search, 'https://example.com/path#h|');
u.href = 'http://a/?q=1';
check('href setter updates the params', sp.get('q'), '1');
var s = new URLSearchParams('z=b&a=b&z=a&a=a');
s.sort();
check('sort is stable', s.toString(), 'a=b&a=a&z=b&z=a');
s = new URLSearchParams([['\uFFFD', 'x'], ['\uFB03', '1'], ['\uD83C\uDF08', '2']]);
s.sort();
check('sort compares UTF-16 code units', s.toString(), '%F0%9F%8C%88=2&%EF%AC%83=1&%EF%BF%BD=x');
check('record init', new URLSearchParams({ a: '1', b: 2 }).toString(), 'a=1&b=2');
check('URLSearchParams init', new URLSearchParams(new URLSearchParams('a=1&a=2')).getAll('a').join(), '1,2');
check('pairs of length 2 only', throwsType(function () { new URLSearchParams([['a']]); }), true);
check('leading ? stripped', new URLSearchParams('?a=b').get('a'), 'b');
check('size', new URLSearchParams('a=1&b=2&a=3').size, 3);
check('has(name, value)', new URLSearchParams('a=1&a=2').has('a', '2') + ',' + new URLSearchParams('a=1').has('a', '3'), 'true,false');
var d = new URLSearchParams('a=1&a=2&b=3');
d.delete('a', '2');
check('delete(name, value)', d.toString(), 'a=1&b=3');
d = new URLSearchParams('a=1&b=2&a=3');
d.set('a', 'x');
check('set replaces the first, drops the rest', d.toString(), 'a=x&b=2');
check('lone surrogates become U+FFFD', new URLSearchParams([['x\uD800', '1']]).get('x\uFFFD'), '1');
check('lone surrogates in a string', new URLSearchParams('x\uD800=1').get('x\uFFFD'), '1');
check('non-BMP decoded as a surrogate pair', new URLSearchParams('a=%F0%9F%98%80').get('a'), '\uD83D\uDE00');
var keys = [], it = new URLSearchParams('a=1&b=2').keys();
for (var step = it.next(); !step.done; step = it.next()) keys.push(step.value);
check('keys()', keys.join(), 'a,b');
check('Symbol.iterator', new URLSearchParams()[Symbol.iterator] === URLSearchParams.prototype.entries, true);
var seen = [], live = new URLSearchParams('a=1&b=2&c=3');
live.forEach(function (v, k, o) { seen.push(k); if (k === 'a') o.delete('b'); });
check('forEach sees changes', seen.join(), 'a,c');
check('toStringTag', Object.prototype.toString.call(new URL('http://a')), '[object URL]');
check('toJSON', JSON.stringify({ u: new URL('http://a/b') }), '{"u":"http://a/b"}');
check('no own enumerable keys', Object.keys(new URL('http://a/b')).length, 0);
check('canParse', URL.canParse('x', 'http://a/') + ',' + URL.canParse('x'), 'true,false');
check('parse', URL.parse('x') + ',' + URL.parse('/y', 'http://a/b').href, 'null,http://a/y');
check('a URL as base', new URL('c', new URL('http://a/b/')).href, 'http://a/b/c');
check('invalid', (function () { try { new URL('nope'); } catch (e) { return e instanceof TypeError && e.message; } })(), 'Invalid URL: nope');
check('needs new', throwsType(function () { URL('http://a'); }), true);
check('URL.length', URL.length, 1);
check('globals are not enumerable', Object.keys(this).indexOf('URL') + Object.keys(this).indexOf('URLSearchParams'), -2);
var w = new URL('http://user:pw@h.example:8080/p?q#f');
check('origin', w.origin, 'http://h.example:8080');
w.port = '80';
check('default port dropped', w.host, 'h.example');
w.protocol = 'https';
check('protocol setter', w.href, 'https://user:pw@h.example/p?q#f');
check('blob origin', new URL('blob:https://x.example/uuid').origin, 'https://x.example');
check('non-BMP in a path', new URL('http://a/\uD83D\uDE00').pathname, '/%F0%9F%98%80');
check('lone surrogate in a path', new URL('http://a/\uD800').pathname, '/%EF%BF%BD');
check('IDN host', new URL('http://B\u00FCcher.de/').host, 'xn--bcher-kva.de');
check('getter on a non-URL', throwsType(function () { return URL.prototype.href; }), true);
check('method on a non-params', throwsType(function () { URLSearchParams.prototype.get.call({}, 'a'); }), true);
check('symbol argument', throwsType(function () { new URL(Symbol('x')); }), true);
failed.join('\n')
)JS";

TEST(UrlInEngine, ImplementsTheUrlAndUrlSearchParamsApi) {
  UrlHeap heap;
  ASSERT_TRUE(heap.ok()) << heap.error();
  EXPECT_EQ(heap.eval(kChecks), "");
}

TEST(UrlInEngine, NativesRefuseWhatUrlJsNeverSends) {
  UrlHeap heap;
  ASSERT_TRUE(heap.ok()) << heap.error();
  // __host is still global in this bare heap (runtime.js deletes it).
  EXPECT_EQ(heap.eval("try { __host.urlParse({}) } catch (e) { e.name }"), "TypeError");
  EXPECT_EQ(heap.eval("try { __host.urlSet('http://a/', 'nope', 'x') } catch (e) { e.name }"),
            "TypeError");
  EXPECT_EQ(heap.eval("try { __host.formSerialize(['a']) } catch (e) { e.name }"), "RangeError");
  EXPECT_EQ(heap.eval("try { __host.formSerialize(['a', 1]) } catch (e) { e.name }"), "TypeError");
  EXPECT_EQ(
      heap.eval("try { __host.formParse(new Array(100002).join('a&')) } catch (e) { e.name }"),
      "RangeError");
  EXPECT_EQ(heap.eval("__host.formParse(new Array(200000).join('&')).length"), "0");
  EXPECT_EQ(heap.eval("__host.urlSet('http://a/', 'hash', '') === undefined"), "true");
}

// Cost of `new URL(...)` inside Duktape: reported, not asserted (the
// machine is noisy: the best of several rounds).
TEST(UrlInEngine, ReportsTheCostOfNewUrl) {
  UrlHeap heap;
  ASSERT_TRUE(heap.ok()) << heap.error();
  const char* bench = R"JS(
    (function () {
      var n = 5000, best = [Infinity, Infinity], u;
      for (var round = 0; round < 8; round++) {
        var t0 = performance.now();
        for (var i = 0; i < n; i++) u = new URL('https://example.com/a/b?c=d#e');
        var t1 = performance.now();
        for (i = 0; i < n; i++) { u = new URL('https://example.com/a/b?c=d#e'); u.pathname; u.searchParams.get('c'); }
        var t2 = performance.now();
        best[0] = Math.min(best[0], (t1 - t0) * 1000 / n);
        best[1] = Math.min(best[1], (t2 - t1) * 1000 / n);
      }
      if (u.href !== 'https://example.com/a/b?c=d#e') throw new Error(u.href);
      return best.join(' ');
    })()
  )JS";
  std::string r = heap.eval(bench);
  std::istringstream in(r);
  double parse_us = 0, with_getters_us = 0;
  ASSERT_TRUE(in >> parse_us >> with_getters_us) << r;
  std::cout << "new URL(\"https://example.com/a/b?c=d#e\"): " << parse_us << " us per call; "
            << "with .pathname and .searchParams.get('c'): " << with_getters_us << " us\n";
  RecordProperty("new_url_us", std::to_string(parse_us));
}

}  // namespace
}  // namespace wfp::url
