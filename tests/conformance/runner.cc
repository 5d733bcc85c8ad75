// The in-engine conformance runner (`make conformance`, a tier of `make test`):
// runs each tests/conformance/*.js suite in a fresh WorkerHeap holding the
// whole runtime prelude, with a virtual-time event loop, and compares every
// case with tests/conformance/expected-failures.txt. Runs in the build, not
// in a sandbox; it trusts the suites and the data files of the tree.
//
// Usage: build/conformance_runner [-v] [SUITE...]   (from the repository root;
// -v also prints the console lines of every suite)
// The contract a suite relies on, all globals of its heap:
//   __data(name)                text of a data file: first under
//                               $WFP_CONFORMANCE_DIR (default
//                               ../shared/conformance), then under
//                               js/node_modules; throws if it is missing
//   __result(caseId, ok, detail) one case's outcome; each id once per suite
//   setTimeout / clearTimeout / setInterval / clearInterval
//                               virtual time: the loop runs the earliest
//                               timer whenever no microtask is pending
//   __conformance.now()         the virtual time in ms
//   __conformance.onUncaught    optional function(error) for exceptions
//                               thrown by timer callbacks (else a suite error)
//   __conformance.onEnd(fn)     fn runs once the loop has no timers left
// Case ids and details are printed, and matched against the expected
// failures, with control characters, non-ASCII and "\" written as \uXXXX
// (and "\\"), so each id fits on one tab-separated line.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/host.h"

namespace wfp {
namespace {

constexpr const char* kSuitesDir = "tests/conformance";
constexpr const char* kExpectedFailures = "tests/conformance/expected-failures.txt";
constexpr const char* kNpmDir = "js/node_modules";
constexpr long kMaxTurns = 10000000;       // timer turns per suite before giving up
constexpr size_t kMaxDetailShown = 400;    // characters of a detail printed
constexpr size_t kMaxFailuresShown = 200;  // failure lines printed per suite
constexpr size_t kLogLinesKept = 20;       // console lines shown for a broken suite

// Evaluated in each fresh heap before the suite: the virtual-time timers
// and the __data/__result contract above. The runtime's own timers exist
// only inside a request, so the suite gets these instead.
const char* kPrelude = R"JS(
(function (global) {
  'use strict';
  var hostCall = global.__host_call;
  var HOUR = 3600 * 1000;
  var now = 0;
  var nextId = 1;
  var queue = []; // ordered by due time, then by creation
  var endHooks = [];

  function define(name, value) {
    Object.defineProperty(global, name, { value: value, writable: true, enumerable: false, configurable: true });
  }
  function escapeText(s) {
    return String(s).replace(/[\u0000-\u001f\u007f-\uffff\\]/g, function (c) {
      if (c === '\\') return '\\\\';
      var h = c.charCodeAt(0).toString(16);
      return '\\u' + '0000'.slice(h.length) + h;
    });
  }
  function describe(e) {
    try {
      if (e && typeof e === 'object' && e.stack) return String(e.stack);
      return String(e);
    } catch (x) {
      return '(an exception that cannot be printed)';
    }
  }
  function delay(ms) {
    ms = Number(ms);
    return ms > 0 ? ms : 0;
  }
  function schedule(t) {
    var i = queue.length;
    while (i > 0 && queue[i - 1].at > t.at) i--;
    queue.splice(i, 0, t);
  }
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== 'function') throw new TypeError('timers of the conformance runner take a function');
    var t = { id: nextId++, at: now + delay(ms), fn: fn, args: args, every: repeat ? Math.max(delay(ms), 1) : -1 };
    schedule(t);
    return t.id;
  }
  function clearTimer(id) {
    for (var i = 0; i < queue.length; i++) {
      if (queue[i].id === id) {
        queue.splice(i, 1);
        return;
      }
    }
  }

  var conformance = {
    now: function () { return now; },
    onUncaught: null,
    onEnd: function (fn) { endHooks.push(fn); },
    // One timer per turn, so the host drains microtasks between timers.
    tick: function () {
      if (queue.length === 0) return '0';
      var t = queue.shift();
      if (t.at > now + HOUR) {
        hostCall('error', 'a timer is due more than an hour of virtual time ahead; stopping the loop');
        queue.length = 0;
        return '0';
      }
      now = t.at;
      if (t.every >= 0) {
        t.at = now + t.every;
        schedule(t);
      }
      try {
        t.fn.apply(undefined, t.args);
      } catch (e) {
        conformance.uncaught(e);
      }
      return '1';
    },
    uncaught: function (e) {
      if (typeof conformance.onUncaught === 'function') conformance.onUncaught(e);
      else hostCall('error', 'uncaught exception in a timer: ' + escapeText(describe(e)));
    },
    end: function () {
      var hooks = endHooks;
      endHooks = [];
      for (var i = 0; i < hooks.length; i++) hooks[i]();
      return '';
    }
  };

  define('__conformance', conformance);
  define('__data', function (name) { return hostCall('data', String(name)); });
  define('__result', function (id, ok, detail) {
    hostCall('result', (ok ? '1' : '0') + escapeText(id) + '\t' + escapeText(detail === undefined ? '' : detail));
  });
  define('setTimeout', function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), false); });
  define('setInterval', function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), true); });
  define('clearTimeout', clearTimer);
  define('clearInterval', clearTimer);
}(this));
)JS";

// The runtime's sink: no request ever starts here; console lines are kept
// to explain a broken suite.
class ConformanceSink : public HostSink {
 public:
  std::vector<std::string> logs;
  void respond(uint64_t, int, const std::string&, HeaderList, std::string) override {}
  void fail(uint64_t, ErrorCode, const std::string&, const std::string&) override {}
  uint64_t subrequest(uint64_t, const std::string&, const std::string&, const std::string&,
                      const std::string&, const std::string&, HeaderList, std::string) override {
    throw std::runtime_error("no subrequests in the conformance runner");
  }
  void log(uint64_t, const std::string& level, const std::string& text) override {
    logs.push_back(level + ": " + text);
    if (logs.size() > kLogLinesKept) logs.erase(logs.begin());
  }
  uint64_t set_timer(uint64_t, int64_t) override {
    throw std::runtime_error("runtime timers exist only inside a request");
  }
  void clear_timer(uint64_t) override {}
  void done(uint64_t) override {}
};

struct Case {
  std::string id, detail;
  bool ok = false;
};

struct SuiteRun {
  std::vector<Case> cases;
  std::vector<std::string> errors;  // the suite itself broke: each one fails it
  std::vector<std::string> logs;
};

// suite → case id → reason
using ExpectedFailures = std::map<std::string, std::map<std::string, std::string>>;

bool read_text(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

ExpectedFailures read_expected_failures(const std::string& path) {
  ExpectedFailures out;
  std::string text;
  if (!read_text(path, text)) throw std::runtime_error("cannot read " + path);
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('\t');
    size_t b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos || a == 0 || b == a + 1 || b + 1 >= line.size())
      throw std::runtime_error(path + ":" + std::to_string(n) +
                               ": want SUITE<TAB>CASE-ID<TAB>REASON");
    std::string suite = line.substr(0, a), id = line.substr(a + 1, b - a - 1);
    if (!out[suite].emplace(id, line.substr(b + 1)).second)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": listed twice: " + id);
  }
  return out;
}

std::vector<std::string> list_suites(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error("cannot open " + dir + " (run from the repository root)");
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".js") == 0)
      out.push_back(name.substr(0, name.size() - 3));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Data names are relative paths inside the data directories; nothing
// else of the file system is served.
std::string read_data(const std::vector<std::string>& roots, const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw std::runtime_error("__data: not a relative data path: " + name);
  std::string text;
  for (const std::string& root : roots)
    if (read_text(root + "/" + name, text)) return text;
  std::string where;
  for (const std::string& root : roots) where += (where.empty() ? "" : ", ") + root;
  throw std::runtime_error("missing data file " + name + " (looked in " + where + ")");
}

SuiteRun run_suite(const std::string& suite, const std::vector<std::string>& data_roots) {
  SuiteRun run;
  std::string path = std::string(kSuitesDir) + "/" + suite + ".js";
  std::string source;
  if (!read_text(path, source)) {
    run.errors.push_back("cannot read " + path);
    return run;
  }
  ConformanceSink sink;
  try {
    WorkerHeap heap(&sink);
    std::set<std::string> data_missing;
    WorkerHeap::EvalHost host = [&](const std::string& op, const std::string& arg) -> std::string {
      if (op == "data") {
        try {
          return read_data(data_roots, arg);
        } catch (const std::runtime_error& e) {
          // Missing data fails the suite even if the suite catches the throw.
          if (data_missing.insert(arg).second) run.errors.push_back(e.what());
          throw;
        }
      }
      if (op == "result") {
        size_t tab = arg.find('\t');
        if (arg.empty() || tab == std::string::npos) throw std::runtime_error("bad __result");
        run.cases.push_back({arg.substr(1, tab - 1), arg.substr(tab + 1), arg[0] == '1'});
        return "";
      }
      if (op == "error") {
        run.errors.push_back(arg);
        return "";
      }
      throw std::runtime_error("__host_call: unknown operation " + op);
    };
    std::string out;
    if (!heap.eval("conformance-prelude.js", kPrelude, out, host))
      throw std::runtime_error("the runner's prelude failed: " + out);
    if (!heap.eval(path, source, out, host)) {
      // A missing data file is already listed; its throw needs no second line.
      bool known = std::any_of(run.errors.begin(), run.errors.end(), [&](const std::string& e) {
        return out.find(e) != std::string::npos;
      });
      if (!known) run.errors.push_back(out);
    }
    long turns = 0;
    for (;;) {
      if (!heap.eval("conformance-loop.js", "__conformance.tick()", out, host)) {
        run.errors.push_back("event loop: " + out);
        break;
      }
      if (out != "1") break;
      if (++turns >= kMaxTurns) {
        run.errors.push_back("timers still pending after " + std::to_string(turns) + " turns");
        break;
      }
    }
    if (!heap.eval("conformance-end.js", "__conformance.end()", out, host))
      run.errors.push_back("end hooks: " + out);
    if (heap.tripped() != HeapTrip::none) run.errors.push_back("the heap hit a limit");
  } catch (const std::exception& e) {
    run.errors.push_back(e.what());
  }
  run.logs = sink.logs;
  return run;
}

std::string shorten(const std::string& s) {
  return s.size() <= kMaxDetailShown ? s : s.substr(0, kMaxDetailShown) + "…";
}

struct Counts {
  long passed = 0, failed = 0, skipped = 0;
};

// Prints the failures of one suite, then its one summary line.
Counts report_suite(const std::string& suite, const SuiteRun& run,
                    const std::map<std::string, std::string>& expected, bool verbose) {
  Counts c;
  size_t shown = 0;
  auto problem = [&](const std::string& text) {
    c.failed++;
    if (shown++ < kMaxFailuresShown) printf("  %s\n", text.c_str());
  };
  for (const std::string& e : run.errors) problem("ERROR " + suite + ": " + shorten(e));
  if (run.cases.empty() && run.errors.empty()) problem("ERROR " + suite + ": reported no cases");
  std::set<std::string> seen;
  for (const Case& k : run.cases) {
    if (!seen.insert(k.id).second) {
      problem("FAIL " + suite + ": " + k.id + ": case id reported more than once");
      continue;
    }
    auto x = expected.find(k.id);
    if (k.ok && x == expected.end()) {
      c.passed++;
    } else if (k.ok) {
      problem("UNEXPECTED PASS " + suite + ": " + k.id + " (expected to fail: " + x->second +
              "): remove it from expected-failures.txt");
    } else if (x != expected.end()) {
      c.skipped++;
      printf("  skip %s: %s: %s\n", suite.c_str(), k.id.c_str(), x->second.c_str());
    } else {
      problem("FAIL " + suite + ": " + k.id + ": " + shorten(k.detail));
    }
  }
  // A listed case the suite no longer reports is a stale entry; when the
  // suite broke, its error already says why cases are missing.
  if (run.errors.empty())
    for (auto& [id, reason] : expected)
      if (!seen.count(id))
        problem("STALE " + suite + ": " + id + ": listed in expected-failures.txt, not reported");
  if (shown > kMaxFailuresShown)
    printf("  … and %zu more problems in %s\n", shown - kMaxFailuresShown, suite.c_str());
  if (!run.errors.empty() || verbose)
    for (const std::string& l : run.logs) printf("  console %s\n", shorten(l).c_str());
  printf("%s: %ld passed, %ld failed, %ld skipped\n", suite.c_str(), c.passed, c.failed,
         c.skipped);
  fflush(stdout);
  return c;
}

// A suite that never finishes (a loop in tenant-free but buggy test code)
// must not hang `make test`: SIGALRM ends the run with this message.
void on_alarm(int) {
  const char msg[] = "conformance_runner: a suite ran past WFP_CONFORMANCE_TIMEOUT seconds\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

int run_all(int argc, char** argv) {
  bool verbose = false;
  std::vector<std::string> only;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "-v") verbose = true;
    else if (a == "-h" || a == "--help") {
      printf("usage: conformance_runner [-v] [SUITE...]  (run from the repository root)\n");
      return 0;
    } else only.push_back(a);
  }
  const char* env_dir = getenv("WFP_CONFORMANCE_DIR");
  std::vector<std::string> data_roots = {env_dir && *env_dir ? env_dir : "../shared/conformance",
                                         kNpmDir};
  const char* env_timeout = getenv("WFP_CONFORMANCE_TIMEOUT");
  unsigned timeout = env_timeout ? (unsigned)atoi(env_timeout) : 600;

  ExpectedFailures expected = read_expected_failures(kExpectedFailures);
  std::vector<std::string> suites = list_suites(kSuitesDir);
  Counts total;
  for (const std::string& want : only)
    if (!std::count(suites.begin(), suites.end(), want)) {
      printf("  ERROR no suite %s/%s.js\n", kSuitesDir, want.c_str());
      total.failed++;
    }
  if (only.empty()) {
    for (auto& [suite, cases] : expected)
      if (!std::count(suites.begin(), suites.end(), suite)) {
        printf("  STALE expected-failures.txt names suite %s, which does not exist\n",
               suite.c_str());
        total.failed++;
      }
  } else {
    std::erase_if(suites, [&](const std::string& s) {
      return !std::count(only.begin(), only.end(), s);
    });
  }
  signal(SIGALRM, on_alarm);
  for (const std::string& suite : suites) {
    alarm(timeout);
    SuiteRun run = run_suite(suite, data_roots);
    alarm(0);
    Counts c = report_suite(suite, run, expected[suite], verbose);
    total.passed += c.passed;
    total.failed += c.failed;
    total.skipped += c.skipped;
  }
  printf("%ld passed, %ld failed, %ld skipped\n", total.passed, total.failed, total.skipped);
  return total.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace wfp

int main(int argc, char** argv) {
  try {
    return wfp::run_all(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "conformance_runner: %s\n", e.what());
    return 2;
  }
}
