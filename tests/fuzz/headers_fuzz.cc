// libFuzzer target: the Headers natives (sandbox/headers_natives.cc) through
// the real runtime prelude in a WorkerHeap (sandbox/host.cc), as tenant code
// reaches them: new Headers(…), append, set, get, has, delete, iteration,
// getSetCookie, and Request/Response construction; and, in the same heap,
// the URL natives (sandbox/url_natives.cc) behind URL and URLSearchParams.
// One heap serves the whole run; each input is a list of operations whose
// names and values are handed to the driver below by __host_call, as raw
// bytes (the natives accept any bytes) or as well-formed strings, as the
// input chooses.
//
// Input: [mode byte] then operations: [op byte] [len] [name] [len] [value].
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/duk_text.h"
#include "sandbox/host.h"
#include "sandbox/url.h"

namespace {

struct NullSink : wfp::HostSink {
  void respond(uint64_t, int, const std::string&, wfp::HeaderList, std::string) override {}
  void fail(uint64_t, wfp::ErrorCode, const std::string&, const std::string&) override {}
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, wfp::HeaderList,
                      std::string) override {
    throw std::runtime_error("no subrequests here");
  }
  void log(uint64_t, const std::string&, const std::string&) override {}
  uint64_t set_timer(uint64_t, int64_t) override { throw std::runtime_error("no timers here"); }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

// The driver: every step's outcome is either done or a TypeError; anything
// else, or a broken invariant, makes the run's result start with "BROKEN".
const char kDriver[] = R"JS(
var SETTERS = ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname',
               'search', 'hash', 'href'];
function __fuzzHeaders() {
  var h = new Headers(), op, a, b, seen = 0, raw = __host_call('raw', '') === '1';
  function check(cond, what) { if (!cond) throw new Error('BROKEN ' + what); }
  while ((op = __host_call('op', '')) !== '') {
    a = __host_call('a', ''); b = __host_call('b', '');
    try {
      switch (op) {
      case 'a': h.append(a, b); check(h.has(a) && h.get(a) !== null, 'append'); break;
      case 's': h.set(a, b); check(h.has(a), 'set'); break;
      case 'g': h.get(a); break;
      case 'h': h.has(a); break;
      case 'd': h['delete'](a); check(!h.has(a), 'delete'); break;
      case 'e': var it = h.entries(), s;
                while (!(s = it.next()).done) seen += s.value[0].length;
                break;
      case 'k': Array.from(h.keys()); Array.from(h.values()); break;
      case 'f': h.forEach(function (v, k) { seen += k.length; }); break;
      case 'c': h.getSetCookie(); break;
      case 'n': h = new Headers(h); break;
      case 'o': var o = {}; o[a] = b; h = new Headers(o); break;
      case 'l': h = new Headers([[a, b], [b, a]]); break;
      case 'q': var rq = new Request('https://example.com/',
                                     { headers: h, method: 'POST', body: b });
                h = rq.headers; h.append(a, b); break;
      case 'r': var rs = new Response(b, { headers: h }); h = rs.headers; break;
      case 'i': var fr = new Headers(h); h.append(a, b); h = fr; break;
      // URL and URLSearchParams (url.js over sandbox/url_natives.cc).
      case 'u': var u = new URL(a); seen += (u.href + u.origin + u.host + u.pathname + u.search +
                u.hash + u.searchParams.toString()).length; break;
      case 'v': seen += new URL(a, b).href.length; break;
      case 'w': var w = new URL('https://user:pw@example.com:8080/p/q?x=1#h');
                var setter = SETTERS[b.length % SETTERS.length];
                w[setter] = a; seen += w.href.length;
                check(new URL(w.href).href === w.href, 'setter ' + setter);
                break;
      case 'x': var sp = new URLSearchParams(a); sp.append(b, a); sp.sort(); sp['delete'](a);
                seen += sp.toString().length + String(sp.get(b)).length; break;
      }
    } catch (e) {
      // Raw bytes that are no valid string of Duktape's reach its own
      // string functions (String(), regexps) on some paths, which refuse
      // them with an Error "internal error": safe, and out of a tenant's
      // reach (its strings are always well-formed).
      if (!(e instanceof TypeError) && !(raw && e.message === 'internal error')) throw e;
    }
  }
  return 'ok ' + seen;
}
'loaded'
)JS";

const char kOps[] = "asghdekfcnolqriuvwx";

struct Run {
  const uint8_t* p;
  size_t n;
  bool wellformed;
  std::string a, b;
  uint8_t u8() {
    if (!n) return 0;
    n--;
    return *p++;
  }
  std::string take() {
    size_t k = std::min<size_t>(u8(), n);
    std::string s((const char*)p, k);
    p += k;
    n -= k;
    if (wellformed) s = wfp::utf8_to_js(wfp::url::to_valid_utf8(s));
    return s;
  }
};

wfp::WorkerHeap* the_heap = nullptr;

wfp::WorkerHeap& heap() {
  static NullSink sink;
  if (!the_heap) {
    the_heap = new wfp::WorkerHeap(&sink);
    std::string result;
    if (!the_heap->eval("headers_fuzz_driver.js", kDriver, result) || result != "loaded") {
      fprintf(stderr, "headers_fuzz: the driver does not load: %s\n", result.c_str());
      abort();
    }
  }
  return *the_heap;
}

}  // namespace

// The heap is made before the first input, so what making it allocates is
// not taken for a leak of that input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (getenv("WFP_FUZZ_HEAP_TWICE")) {
    delete &heap();
    the_heap = nullptr;
  }  // to check that a heap frees all it took
  heap();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  wfp::WorkerHeap& w = heap();
  Run run{data + 1, size - 1, (data[0] & 1) != 0, {}, {}};
  int steps = 0;
  wfp::WorkerHeap::EvalHost host = [&](const std::string& op, const std::string&) -> std::string {
    if (op == "a") return run.a;
    if (op == "b") return run.b;
    if (op == "raw") return run.wellformed ? "" : "1";
    if (run.n == 0 || ++steps > 64) return "";
    char c = kOps[run.u8() % (sizeof kOps - 1)];
    run.a = run.take();
    run.b = run.take();
    return std::string(1, c);
  };
  std::string result;
  bool ok = w.eval("headers_fuzz.js", "__fuzzHeaders()", result, host);
  if (!ok || result.rfind("ok ", 0) != 0) {
    fprintf(stderr, "headers_fuzz: %s\n", result.c_str());
    __builtin_trap();
  }
  return 0;
}
