// Microbenchmark of the hot Workers APIs (`make bench`): µs per operation
// inside Duktape, in a WorkerHeap with the whole runtime prelude, and of a
// whole trivial request through WorkerHeap::handle. Runs in the build, not
// in a sandbox; trusts its own JavaScript. Prints figures, asserts none.
//
// Usage: build/api_bench [--json FILE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/host.h"

namespace wfp {
namespace {

constexpr int kRuns = 5;                 // timed runs per figure; the median is printed
constexpr double kTargetSeconds = 0.15;  // length of one timed run
constexpr int64_t kCpuMs = 10000;        // per handle() call: never the limit here

// One JavaScript operation: `setup` runs once per timed run (before the
// loop, inside the same function), `body` N times with the index in `i`.
// `check`, if set, is evaluated after one untimed iteration and must give
// `expect`.
struct JsOp {
  const char* key;
  const char* label;
  const char* setup;
  const char* body;
  const char* check = nullptr;
  const char* expect = nullptr;
};

const JsOp kOps[] = {
    {"url_parse_simple", "new URL('https://example.com/path?q=1')", "",
     "new URL('https://example.com/path?q=1');"},
    {"url_parse", "new URL(...) with credentials, port, dot segments, query, fragment", "",
     "new URL('https://user:pass@sub.example.com:8080/a/b/../c/d.html?query=1&x=y#frag');"},
    {"headers_get", "Headers get (5 headers)",
     "var h = new Headers({'Content-Type': 'application/json', 'Accept': '*/*', "
     "'X-Request-Id': 'abc123', 'Cache-Control': 'no-cache', 'User-Agent': 'bench/1'});",
     "h.get('x-request-id');"},
    {"headers_set", "Headers set (5 headers)",
     "var h = new Headers({'Content-Type': 'application/json', 'Accept': '*/*', "
     "'X-Request-Id': 'abc123', 'Cache-Control': 'no-cache', 'User-Agent': 'bench/1'});",
     "h.set('X-Bench', 'value');"},
    // The callbacks run in the microtask drain that ends the timed eval.
    {"promise_hop", "Promise hop: Promise.resolve(v).then(callback)",
     "var g = globalThis; g.__hops = 0; var f = function () { g.__hops++; };",
     "Promise.resolve(i).then(f);", "String(globalThis.__hops)", "1"},
    {"text_encoder_1k", "TextEncoder.encode of 1 KB",
     "var e = new TextEncoder(); var s = new Array(1025).join('a');", "e.encode(s);"},
    {"response_json", "Response.json({...})", "",
     "Response.json({ok: true, id: i, name: 'bench', tags: ['a', 'b', 'c'], nested: {x: 1, y: 2}});"},
};

const char* kHelloWorker =
    "module.exports = { fetch: function () { return new Response('Hello, world!'); } };";

class BenchSink : public HostSink {
 public:
  long answered = 0;
  std::string last_error;
  void respond(uint64_t, int, const std::string&, HeaderList, std::string) override {
    answered++;
  }
  void fail(uint64_t, ErrorCode, const std::string& message, const std::string&) override {
    last_error = message;
  }
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests in the benchmark");
  }
  void log(uint64_t, const std::string&, const std::string&) override {}
  uint64_t set_timer(uint64_t, int64_t) override { throw std::runtime_error("no timers here"); }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

double seconds_of(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Grows N until one run of `run(N)` lasts about kTargetSeconds, then
// returns the median over kRuns of (seconds(N) - baseline(N)) / N in µs.
double per_op_us(const std::function<double(long)>& run, const std::function<double(long)>& base) {
  long n = 16;
  for (;;) {
    double s = run(n);
    if (s >= kTargetSeconds / 4 || n >= (1L << 24)) {
      n = std::max(16L, (long)(n * kTargetSeconds / std::max(s, 1e-6)));
      break;
    }
    n *= 4;
  }
  std::vector<double> samples;
  for (int r = 0; r < kRuns; r++) samples.push_back((run(n) - base(n)) / n * 1e6);
  return median(samples);
}

std::string js_loop(const JsOp& op, long n, bool empty) {
  return "(function () {" + std::string(op.setup) + "\nfor (var i = 0; i < " + std::to_string(n) +
         "; i++) {" + (empty ? "" : op.body) + "}\n})();";
}

struct Row {
  std::string key, label;
  double us = -1;  // < 0: failed
  std::string error;
};

Row bench_js(WorkerHeap& heap, const JsOp& op) {
  Row row;
  row.key = op.key;
  row.label = op.label;
  std::string out;
  // Once for correctness before any timing: an API that throws is a row
  // with its error, not a figure.
  if (!heap.eval("api_bench.js", js_loop(op, 1, false), out)) {
    row.error = out;
    return row;
  }
  if (op.check && (!heap.eval("api_bench.js", op.check, out) || out != op.expect)) {
    row.error = std::string(op.check) + " gave " + out + ", not " + op.expect;
    return row;
  }
  bool failed = false;
  auto timed = [&](long n, bool empty) {
    std::string src = js_loop(op, n, empty);
    return seconds_of([&] {
      if (!heap.eval("api_bench.js", src, out)) failed = true;
    });
  };
  row.us = per_op_us([&](long n) { return timed(n, false); },
                     [&](long n) { return timed(n, true); });
  if (failed) {
    row.us = -1;
    row.error = out;
  }
  return row;
}

Row bench_request() {
  Row row;
  row.key = "request_hello";
  row.label = "whole request through WorkerHeap::handle (hello world)";
  BenchSink sink;
  WorkerHeap heap(&sink);
  ErrorCode code = ErrorCode::ok;
  std::string error;
  if (!heap.load("bench/hello", "commonjs", kHelloWorker, "", "", "[]", kCpuMs, code, error)) {
    row.error = error;
    return row;
  }
  uint64_t id = 1;
  HeaderList headers = {{"host", "bench.example"}, {"user-agent", "api_bench"}};
  auto requests = [&](long n) {
    return seconds_of([&] {
      for (long k = 0; k < n; k++)
        heap.handle(id++, "GET", "http://bench.example/", headers, "", "", kCpuMs);
    });
  };
  long before = sink.answered;
  requests(1);
  if (sink.answered != before + 1) {
    row.error = sink.last_error.empty() ? "no answer" : sink.last_error;
    return row;
  }
  row.us = per_op_us(requests, [](long) { return 0.0; });
  return row;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += (char)c;
    else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += (char)c;
  }
  return o;
}

int run(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json") && i + 1 < argc) json_path = argv[++i];
    else {
      fprintf(stderr, "usage: api_bench [--json FILE]\n");
      return 2;
    }
  }
  std::vector<Row> rows;
  BenchSink sink;
  WorkerHeap heap(&sink);
  for (const JsOp& op : kOps) rows.push_back(bench_js(heap, op));
  rows.push_back(bench_request());

  printf("api_bench: µs per operation inside Duktape (median of %d runs, loop cost subtracted)\n",
         kRuns);
  for (const Row& r : rows) {
    if (r.us >= 0) printf("  %-70s %10.2f\n", r.label.c_str(), r.us);
    else printf("  %-70s      error: %s\n", r.label.c_str(), r.error.c_str());
  }
  fflush(stdout);
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << "{\"unit\": \"us_per_op\", \"runs\": " << kRuns << ", \"ops\": {";
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      f << (i ? ", " : "") << "\"" << r.key << "\": ";
      if (r.us >= 0) f << r.us;
      else f << "{\"error\": \"" << json_escape(r.error) << "\"}";
    }
    f << "}}\n";
    if (!f) {
      fprintf(stderr, "api_bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace wfp

int main(int argc, char** argv) {
  try {
    return wfp::run(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "api_bench: %s\n", e.what());
    return 1;
  }
}
