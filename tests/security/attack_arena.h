// The attack suite's arena: a real wfpd-test (the build with __wfp_test,
// sandbox/test_hooks.cc) with small limits, a dispatch worker in front of
// the namespace of user workers, and neighbours — a well-behaved tenant and
// a platform worker — asked every ~10 ms by a background thread while an
// attack runs. "Contained" (notes/attack-catalogue.md) means the attack
// fails AND every neighbour answer was exactly right.
#pragma once
#include <sys/types.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {

// The attack suite's configuration: small limits, so each attack ends
// quickly; `overrides` ("key = value" lines) replace its keys or add more.
std::string attack_config(const std::string& overrides = "");

// Everything a test file needs before its first attack: namespace
// "tenants"; the platform worker "front" routed at *.tenants.example/*,
// dispatching by the first label of the host and catching nothing (so a
// user worker's failure reaches the client as the error table says); the
// neighbour "good" (a user worker in "tenants") and the platform worker
// "plat" routed at plat.example/*.
void deploy_arena(Wfpd& d);

// Deploys `source` as user worker `name` in "tenants".
void deploy_tenant(Wfpd& d, const std::string& name, const std::string& source,
                   const std::vector<std::string>& extra_args = {});

// GET http://NAME.tenants.example/path through the dispatcher, with a
// deadline far above the wall-clock limit.
HttpResult ask(const Wfpd& d, const std::string& name, const std::string& path = "/");

// The request id of an error page ("request id: …"), or "".
std::string request_id_of(const HttpResult& r);
// What the supervisor logged for that request's call to `label`
// ("tenants/NAME"): the text after "failed: " on its line. Waits for it.
std::string failure_logged(const Wfpd& d, const HttpResult& r, const std::string& label);

// The last lines of the daemon's log (about `bytes` of it), for failure messages.
std::string log_tail(const Wfpd& d, size_t bytes = 6000);

// Whether one line of `log` contains every one of `parts`.
bool log_has_line(const std::string& log, const std::vector<std::string>& parts);
// How many lines of `log` contain every one of `parts`.
int log_count_lines(const std::string& log, const std::vector<std::string>& parts);

// Pids of the sandboxes of tenants/NAME (by process title).
std::vector<pid_t> sandboxes_of(const Wfpd& d, const std::string& name);

// A hostile user worker (ES5, CommonJS: no lowering at deploy): GET /ok
// answers "alive PID" (its sandbox's pid, through __wfp_test), any other
// path runs `attack` (statements; `request` and `env` are in scope) and,
// if it gets that far, answers "survived". `helpers` go before the module.
std::string hostile_worker(const std::string& attack, const std::string& helpers = "");
// JavaScript functions that write message payloads as ipc/wire.h does
// (u8, u32, u64, i64, str, pairs) into byte strings for __wfp_test.frame.
extern const char* const kWireJs;
// The PID of an "alive PID" answer, or 0.
pid_t alive_pid(const HttpResult& r);
// Asks NAME /ok until it answers "alive PID" (a sandbox that died is
// replaced on demand); returns PID, or 0 if it never does.
pid_t alive(const Wfpd& d, const std::string& name);

// Deploys several user workers at once (two at a time: there are two
// compilers), for a suite's set-up.
void deploy_tenants(Wfpd& d, const std::vector<std::pair<std::string, std::string>>& name_and_source);

// The neighbours' traffic, from construction to stop().
class Neighbours {
 public:
  explicit Neighbours(const Wfpd& d);
  ~Neighbours();
  Neighbours(const Neighbours&) = delete;
  Neighbours& operator=(const Neighbours&) = delete;

  // Waits until at least `n` more answers have come back (so an attack is
  // surrounded by traffic on both sides), then stops the thread.
  void stop(int at_least_more = 5);
  int answered() const { return answered_; }
  int wrong() const { return wrong_; }
  // The first wrong answers, for the failure message.
  std::string report() const;

 private:
  void loop();
  const Wfpd& d_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0}, wrong_{0};
  mutable std::mutex mu_;
  std::vector<std::string> first_wrong_;
  std::thread thread_;
};

// "catastrophic-regex" → "CatastrophicRegex", for test names.
std::string pascal_case(const char* dashed);

// One test per case, each in `Fixture`'s own suite and named
// PREFIX_CaseName, so that the cases share the suite's daemon (a TEST_P
// suite is a suite of its own, and runs after every plain test). Call at
// namespace scope: `const bool registered = register_cases<Fixture>(…);`.
template <class Fixture>
class CaseTest : public Fixture {
 public:
  explicit CaseTest(std::function<void()> body) : body_(std::move(body)) {}
  void TestBody() override { body_(); }

 private:
  std::function<void()> body_;
};

template <class Fixture, class Case, size_t N>
bool register_cases(const char* suite, const char* prefix, const Case (&cases)[N], void (*body)(const Case&),
                    const char* file, int line) {
  for (const Case& c : cases) {
    std::string name = std::string(prefix) + "_" + pascal_case(c.name);
    const Case* one = &c;
    ::testing::RegisterTest(suite, name.c_str(), nullptr, nullptr, file, line, [one, body]() -> Fixture* {
      return new CaseTest<Fixture>([one, body] { body(*one); });
    });
  }
  return true;
}

// Asserts, for gtest, that the neighbours saw nothing wrong.
#define EXPECT_NEIGHBOURS_UNHARMED(n)                                        \
  do {                                                                       \
    (n).stop();                                                              \
    EXPECT_GT((n).answered(), 0) << "no neighbour traffic ran";              \
    EXPECT_EQ((n).wrong(), 0) << (n).report();                               \
  } while (0)

}  // namespace wfp::test
