// Resource exhaustion (attack catalogue 12-18, 21): hostile workers burn
// CPU inside and outside the engine, allocate without end, recurse, flood
// the log and crash in a loop, against a real wfpd-test with small limits
// (cpu_ms 100, memory_mb 64, wall_ms 3000) while neighbours are served.
// Each limit gives the client DESIGN.md's page (503, "Error 1102"), the
// supervisor logs which limit it was, and the sandbox is replaced.
#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "tests/security/attack_arena.h"

namespace wfp::test {
namespace {

enum class Limit { cpu, memory, cpu_or_memory, wall, memory_or_range_error };

struct Exhaustion {
  const char* name;    // tenant name and test name
  const char* attack;  // statements run by GET /attack
  Limit limit;
};

const Exhaustion kExhaustion[] = {
    {"loop", "while (true) {}", Limit::cpu},
    {"loop-in-finally", "try { while (true) {} } finally { while (true) {} }", Limit::cpu},
    {"loop-continuing-from-finally", "for (;;) { try { for (;;) {} } finally { continue; } }", Limit::cpu},
    // Native time the interrupt check can't reach: the supervisor's
    // watchdog must end these at the CPU limit (or the heap at its size).
    {"catastrophic-regex", "/(a+)+$/.test(new Array(31).join('a') + 'b');", Limit::cpu},
    {"huge-join", "new Array(1e8).join('x');", Limit::cpu_or_memory},
    {"microtask-storm",
     "var again = function () { return Promise.resolve().then(again); }; again();"
     " return new Promise(function () {});",
     Limit::cpu},
    // Each doubling copies the string: on a loaded machine the copies can
    // reach cpu_ms before the heap reaches memory_mb. Either limit holds it.
    {"string-doubling", "var s = 'x'; for (;;) s += s;", Limit::cpu_or_memory},
    {"array-buffer-1g", "var b = new ArrayBuffer(Math.pow(2, 30)); b = null;", Limit::memory},
    // Duktape refuses a buffer over 2^31-2 bytes before allocating, with a
    // RangeError, as V8 does in Workers: contained either way.
    {"array-buffer-2g", "var b = new ArrayBuffer(Math.pow(2, 31)); b = null;", Limit::memory_or_range_error},
    {"gigabyte-response", "return new Response('x'.repeat(Math.pow(2, 30)));", Limit::memory},
    {"never-answers", "return new Promise(function () {});", Limit::wall},
};

std::string tenant_of(const Exhaustion& e) { return std::string("res-") + e.name; }

const char* expected_text(Limit l) {
  switch (l) {
    case Limit::cpu: return "Worker exceeded CPU time limit.";
    case Limit::memory: return "Worker has exceeded memory limit.";
    case Limit::cpu_or_memory: return "Worker exceeded CPU time limit. (or the memory limit's)";
    case Limit::wall: return "Worker exceeded wall time limit.";
    case Limit::memory_or_range_error: return "Worker has exceeded memory limit. (or a RangeError)";
  }
  return "";
}

bool starts(const std::string& s, const char* prefix) { return s.compare(0, strlen(prefix), prefix) == 0; }

// Whether the supervisor's record of the failure names the right limit.
bool logged_as(Limit l, const std::string& why) {
  switch (l) {
    case Limit::cpu: return starts(why, "Worker exceeded CPU time limit.");
    case Limit::memory: return starts(why, "Worker has exceeded memory limit.");
    case Limit::cpu_or_memory:
      return starts(why, "Worker exceeded CPU time limit.") || starts(why, "Worker has exceeded memory limit.");
    case Limit::wall: return starts(why, "Worker exceeded wall time limit.");
    case Limit::memory_or_range_error:
      return starts(why, "Worker has exceeded memory limit.") || why.find("RangeError") != std::string::npos;
  }
  return false;
}

struct Recursion {
  const char* name;
  const char* expression;  // recurses without end
};

const Recursion kRecursion[] = {
    {"plain", "(function f() { return f() + 1; })()"},
    {"mutual", "(function () { var a = function () { return b() + 1; }, b = function () { return a() + 1; }; return a(); })()"},
    {"to-string-chain", "(function () { var o = { toString: function () { return '' + o; } }; return String(o); })()"},
    {"getter-chain", "(function () { var o = {}; Object.defineProperty(o, 'x', { get: function () { return this.x; } }); return o.x; })()"},
    {"proxy-get-trap", "(function () { var p = new Proxy({}, { get: function (t, k) { return p[k]; } }); return p.x; })()"},
    {"json-reviver", "JSON.parse('[[1]]', function r(k, v) { return JSON.parse('[1]', r); })"},
    {"deep-json", "JSON.parse(new Array(100001).join('[') + new Array(100001).join(']'))"},
    {"deep-source", "new Function('return ' + new Array(100001).join('(') + '1' + new Array(100001).join(')'))()"},
};

std::string recursing_worker(const Recursion& r) {
  return hostile_worker(std::string("try { ") + r.expression +
                        "; } catch (e) { return new Response('caught ' + e.name + ' in ' + __wfp_test.syscall(39)); }");
}

Wfpd* d = nullptr;  // the file's daemon, made by the suite

class Resources : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    d = new Wfpd(attack_config(), "wfpd-test");
    deploy_arena(*d);
    std::vector<std::pair<std::string, std::string>> tenants;
    for (const Exhaustion& e : kExhaustion) tenants.emplace_back(tenant_of(e), hostile_worker(e.attack));
    for (const Recursion& r : kRecursion) tenants.emplace_back(std::string("rec-") + r.name, recursing_worker(r));
    // (repeat, not Array(1 << 20).join: Duktape's join of a million
    // elements is itself a native-time bomb the watchdog ends.)
    tenants.emplace_back("flood", hostile_worker("var big = 'y'.repeat(1 << 20); for (;;) console.log(big);"));
    tenants.emplace_back("crasher", hostile_worker("__wfp_test.crash('segv');"));
    tenants.emplace_back("aborter", hostile_worker("__wfp_test.crash('abort');"));
    deploy_tenants(*d, tenants);
    ASSERT_EQ(d->get("good.tenants.example", "/warm").body, "good /warm") << log_tail(*d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};

// Resources.Limit_Loop and so on: the attack ends at its limit, the client
// gets 503 "Error 1102", the supervisor logs which limit, the sandbox is
// replaced, the neighbours never notice.
void exhaustion_case(const Exhaustion& e) {
  std::string name = tenant_of(e);
  Neighbours n(*d);
  pid_t before = alive(*d, name);
  ASSERT_GT(before, 0) << log_tail(*d);

  HttpResult r = ask(*d, name, "/attack");
  EXPECT_NE(r.status, 0) << "no answer at all";
  EXPECT_EQ(r.body.find("survived"), std::string::npos) << r.body;
  std::string why = failure_logged(*d, r, "tenants/" + name);
  bool range_error = e.limit == Limit::memory_or_range_error && why.find("RangeError") != std::string::npos;
  if (!range_error) {
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("Error 1102"), std::string::npos) << r.body;
  }
  EXPECT_TRUE(logged_as(e.limit, why)) << "wanted \"" << expected_text(e.limit) << "\", the supervisor logged \""
                                       << why << "\" for request " << request_id_of(r);

  pid_t after = alive(*d, name);
  EXPECT_GT(after, 0) << "the tenant's next request must be served\n" << log_tail(*d);
  // A sandbox that hit a limit is replaced, never reused (a RangeError
  // is not a limit: its sandbox goes on).
  if (!range_error) {
    EXPECT_NE(after, before) << "the sandbox that hit the limit served again";
  }
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

// Resources.Recursion_Plain and so on: the engine's RangeError, which the
// worker catches in the very sandbox that serves it (never SIGSEGV).
void recursion_case(const Recursion& rec) {
  std::string name = std::string("rec-") + rec.name;
  Neighbours n(*d);
  pid_t before = alive(*d, name);
  ASSERT_GT(before, 0) << log_tail(*d);
  HttpResult r = ask(*d, name, "/attack");
  EXPECT_EQ(r.status, 200) << r.body << log_tail(*d);
  EXPECT_EQ(r.body, "caught RangeError in " + std::to_string(before));
  EXPECT_FALSE(log_has_line(d->log(), {"sandbox tenants/" + name + " (pid", "killed by"})) << log_tail(*d);
  EXPECT_EQ(alive(*d, name), before);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

[[maybe_unused]] const bool kExhaustionRegistered =
    register_cases<Resources>("Resources", "Limit", kExhaustion, exhaustion_case, __FILE__, __LINE__);
[[maybe_unused]] const bool kRecursionRegistered =
    register_cases<Resources>("Resources", "Recursion", kRecursion, recursion_case, __FILE__, __LINE__);

TEST_F(Resources, ALogFloodIsCappedAndMarkedAndEndsAtTheCpuLimit) {
  Neighbours n(*d);
  ASSERT_GT(alive(*d, "flood"), 0);
  size_t log_before = d->log().size();
  HttpResult r = ask(*d, "flood", "/attack");
  EXPECT_EQ(r.status, 503) << r.body << log_tail(*d);
  EXPECT_NE(r.body.find("Error 1102"), std::string::npos) << r.body;
  EXPECT_TRUE(starts(failure_logged(*d, r, "tenants/flood"), "Worker exceeded CPU time limit."));
  EXPECT_GT(alive(*d, "flood"), 0);
  EXPECT_NEIGHBOURS_UNHARMED(n);

  std::string log = d->log().substr(log_before);
  size_t console_bytes = 0;
  int console_lines = 0;
  bool dropped = false, truncated = false;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("[tenants/flood]") != std::string::npos) {
      console_bytes += line.size() + 1;
      console_lines++;
      if (line.find("truncated") != std::string::npos) truncated = true;
    }
    if (line.find("tenants/flood") != std::string::npos && line.find("dropped") != std::string::npos) dropped = true;
  }
  // Some of the tenant's output gets through; the flood costs the disk a
  // bounded amount; and the operator is told what was cut: lines dropped
  // past the rate, and lines shortened past the size limit (catalogue 18:
  // "a rate/size cap with a 'truncated' marker").
  EXPECT_GT(console_lines, 0) << "none of the tenant's console output was logged";
  EXPECT_LE(console_bytes, 1u << 20) << console_lines << " lines of console output in one 100 ms request";
  EXPECT_TRUE(dropped) << "no line says that console lines of tenants/flood were dropped";
  EXPECT_TRUE(truncated) << "1 MiB console lines were logged shortened, with no \"truncated\" marker";
}

TEST_F(Resources, ACrashingSandboxIsReplacedAndOnlyItsRequestFails) {
  Neighbours n(*d);
  pid_t before = alive(*d, "aborter");
  ASSERT_GT(before, 0);
  HttpResult r = ask(*d, "aborter", "/attack");
  EXPECT_NE(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("survived"), std::string::npos);
  // abort() raises SIGABRT through tgkill, which the policy does not
  // allow: either way the process is gone.
  std::string pid = "(pid " + std::to_string(before) + ")";
  EXPECT_TRUE(eventually([&] {
    std::string log = d->log();
    return log_has_line(log, {"sandbox tenants/aborter " + pid, "killed by SIGABRT"}) ||
           log_has_line(log, {"sandbox tenants/aborter " + pid, "was killed by its seccomp policy"});
  }, 5000)) << log_tail(*d);
  pid_t after = alive(*d, "aborter");
  EXPECT_GT(after, 0);
  EXPECT_NE(after, before);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

TEST_F(Resources, ATenantWhoseSandboxesKeepCrashingIsThrottledNotForkedInALoop) {
  Neighbours n(*d);
  const int kRequests = 12;
  for (int i = 0; i < kRequests; i++) {
    HttpResult r = ask(*d, "crasher", "/attack");
    EXPECT_NE(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find("survived"), std::string::npos);
  }
  // Without back-off every request would fork a sandbox that dies; with
  // it, after a few deaths the tenant is refused without a fork for a
  // while (DESIGN: "throttled with back-off").
  int deaths = log_count_lines(d->log(), {"sandbox tenants/crasher (pid", "killed by SIGSEGV"});
  EXPECT_GT(deaths, 0) << log_tail(*d);
  EXPECT_LE(deaths, kRequests / 2) << deaths << " sandboxes of tenants/crasher died for " << kRequests
                                   << " requests";
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

}  // namespace
}  // namespace wfp::test
