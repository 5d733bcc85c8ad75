// What an operator watches: the log line of each invocation, /metrics on
// both of its listeners, and `wfpctl tail` (outcomes, console output and
// exceptions of one script or platform worker, and nothing of another's).
// One daemon is shared by the tests of this file; each uses names of its own.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

const char* kDispatcher = R"JS(
export default {
  async fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    console.log("dispatching", name);
    return env.DISPATCHER.get(name).fetch(request);
  }
};
)JS";

// Logs its URL, throws on /boom, burns CPU on /spin, logs after its
// answer on /later.
const char* kTalker = R"JS(
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    console.log("talker saw", url.pathname);
    if (url.pathname === "/boom") throw new TypeError("talker blew up");
    if (url.pathname === "/spin") {
      let x = 0;
      for (let i = 0; i < 300000; i++) x = (x + i * 7) % 1000003;
      return new Response("spun " + x);
    }
    if (url.pathname === "/later")
      ctx.waitUntil(new Promise(r => setTimeout(r, 50)).then(() => console.warn("talker after the answer")));
    return new Response("talker ok");
  }
};
)JS";

const char* kOther = R"JS(
export default {
  async fetch(request) {
    console.log("OTHER-TENANT-PRIVATE " + new URL(request.url).pathname);
    return new Response("other ok");
  }
};
)JS";

class Observe : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd("metrics_listen = 127.0.0.1:0\n");
    expect_ok(d->ctl({"namespace", "create", "watch"}), d);
    expect_ok(d->ctl({"namespace", "create", "elsewhere"}), d);
    expect_ok(d->ctl({"script", "deploy", "watch", "talker", d->write_file("talker.js", kTalker)}), d);
    expect_ok(d->ctl({"script", "deploy", "watch", "other", d->write_file("other.js", kOther)}), d);
    expect_ok(d->ctl({"script", "deploy", "elsewhere", "talker", d->write_file("talker2.js", kOther)}), d);
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("d.js", kDispatcher), "--dispatch-namespace",
                      "DISPATCHER=watch"}),
              d);
    expect_ok(d->ctl({"route", "add", "*/*", "front"}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }

  // GET over the admin socket with curl (the API's own transport).
  static std::string admin_get(const std::string& path) {
    CmdResult r = run({"/usr/bin/curl", "-s", "--unix-socket", d->socket(), "http://localhost" + path});
    return r.out;
  }
  static std::string metrics_address() {
    auto s = nlohmann::json::parse(d->ctl({"status", "--json"}).out, nullptr, false);
    return s.is_object() ? s.value("metrics_listen", "") : "";
  }
};
Wfpd* Observe::d = nullptr;

// The value of one sample line of a Prometheus text, or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, series.size() + 1, series + " ") == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

// A running `wfpctl tail`, its standard output read as it comes.
class Tail {
 public:
  Tail(const Wfpd& d, const std::vector<std::string>& args) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]);
      close(err[0]);
      std::vector<std::string> argv = {bin("wfpctl"), "--socket", d.socket()};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
    fcntl(err_, F_SETFL, O_NONBLOCK);
  }
  ~Tail() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }
  // Reads what is there; true once `needle` is in the output (or `ms` pass).
  bool wait_for(const std::string& needle, int ms = 10000) {
    return eventually([&] {
      drain();
      return out.find(needle) != std::string::npos;
    }, ms);
  }
  void drain() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) out.append(buf, (size_t)n);
    while ((n = read(err_, buf, sizeof buf)) > 0) err.append(buf, (size_t)n);
  }
  // Sends `sig` and waits (up to `ms`) for the exit; its status, or -1.
  int stop(int sig, int ms = 5000) {
    kill(pid_, sig);
    return wait_exit(ms);
  }
  int wait_exit(int ms) {
    int status = 0;
    for (int waited = 0; waited < ms; waited += 20) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        drain();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  // The JSON events printed so far (--json).
  std::vector<nlohmann::json> events() {
    drain();
    std::vector<nlohmann::json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) v.push_back(j);
    }
    return v;
  }
  std::string out, err;

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
};

TEST_F(Observe, EachInvocationLogsOneLineWithItsOutcomeAndCost) {
  HttpResult ok = d->get("talker.example.com", "/spin");
  ASSERT_EQ(ok.status, 200) << ok.body << d->log();
  HttpResult boom = d->get("talker.example.com", "/boom");
  EXPECT_EQ(boom.status, 500) << boom.body;
  std::smatch m;
  std::string log = d->log();
  // The user worker's line and its dispatcher's, one request id.
  std::regex user_line(
      R"(request id=([0-9a-f]{16}) namespace=watch script=talker status=- outcome=exception cpu_ms=([0-9.]+) wall_ms=([0-9.]+))");
  ASSERT_TRUE(eventually([&] {
    log = d->log();
    return std::regex_search(log, m, user_line);
  })) << log;
  std::string id = m[1];
  EXPECT_NE(log.find("request id=" + id + " worker=front status=500 outcome=exception"), std::string::npos) << log;
  // The error page names the same id.
  EXPECT_NE(boom.body.find(id), std::string::npos) << boom.body;

  std::regex spin_line(R"(namespace=watch script=talker status=200 outcome=ok cpu_ms=([0-9.]+) wall_ms=([0-9.]+))");
  std::string best;
  double max_cpu = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), spin_line); it != std::sregex_iterator(); ++it) {
    double cpu = std::stod((*it)[1]), wall = std::stod((*it)[2]);
    EXPECT_LE(cpu, wall + 0.05) << (*it)[0];  // CPU of a request can't exceed its wall time
    max_cpu = std::max(max_cpu, cpu);
  }
  // 300,000 iterations of interpreted JavaScript take CPU time, whatever
  // the machine's speed; a count that stayed 0 would not be measuring.
  EXPECT_GT(max_cpu, 0.0) << log;
}

TEST_F(Observe, MetricsCountInvocationsPerNamespaceOnBothListeners) {
  std::string before = admin_get("/metrics");
  double ok0 = std::max(0.0, sample(before, R"(wfp_invocations_total{namespace="watch",outcome="ok"})"));
  double ex0 = std::max(0.0, sample(before, R"(wfp_invocations_total{namespace="watch",outcome="exception"})"));
  double dispatch0 = std::max(0.0, sample(before, R"(wfp_subrequests_total{platform="true",kind="dispatch"})"));
  for (int i = 0; i < 5; i++) ASSERT_EQ(d->get("other.example.com", "/m").status, 200);
  ASSERT_EQ(d->get("talker.example.com", "/boom").status, 500);
  std::string after;
  ASSERT_TRUE(eventually([&] {
    after = admin_get("/metrics");
    return sample(after, R"(wfp_invocations_total{namespace="watch",outcome="exception"})") >= ex0 + 1;
  })) << after;
  EXPECT_EQ(sample(after, R"(wfp_invocations_total{namespace="watch",outcome="ok"})"), ok0 + 5) << after;
  EXPECT_EQ(sample(after, R"(wfp_invocations_total{namespace="watch",outcome="exception"})"), ex0 + 1);
  EXPECT_EQ(sample(after, R"(wfp_subrequests_total{platform="true",kind="dispatch"})"), dispatch0 + 6);
  EXPECT_GE(sample(after, R"(wfp_errors_total{namespace="watch"})"), 1);
  EXPECT_GE(sample(after, R"(wfp_cold_starts_total{namespace="watch"})"), 1);
  EXPECT_GT(sample(after, R"(wfp_cpu_seconds_total{namespace="watch"})"), 0);
  EXPECT_GE(sample(after, R"(wfp_children{role="dispatcher"})"), 1);
  EXPECT_GE(sample(after, "wfp_sandboxes"), 1);
  EXPECT_GE(sample(after, "wfp_requests_total"), 6);
  EXPECT_EQ(sample(after, "wfp_evictions_total"), 0);
  EXPECT_EQ(sample(after, "wfp_queue_depth"), 0);
  for (const char* family : {"wfp_requests_in_flight", "wfp_spare_sandboxes", "wfp_wall_seconds_total",
                             "wfp_cache_hits_total"})
    EXPECT_NE(after.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  // The same text on metrics_listen.
  std::string addr = metrics_address();
  ASSERT_FALSE(addr.empty()) << d->ctl({"status", "--json"}).out;
  CmdResult tcp = run({"/usr/bin/curl", "-s", "http://" + addr + "/metrics"});
  EXPECT_NE(tcp.out.find(R"(wfp_invocations_total{namespace="watch",outcome="ok"})"), std::string::npos) << tcp.out;
}

TEST_F(Observe, StatusCountsRequestsAndSandboxesPerNamespace) {
  ASSERT_EQ(d->get("other.example.com", "/s").status, 200);
  auto s = nlohmann::json::parse(d->ctl({"status", "--json"}).out, nullptr, false);
  ASSERT_TRUE(s.is_object());
  bool found = false;
  for (auto& n : s["namespaces"])
    if (n["name"] == "watch") {
      found = true;
      EXPECT_EQ(n["scripts"], 2);
      EXPECT_GE(n["requests"].get<int>(), 1);
      EXPECT_GE(n["sandboxes"].get<int>(), 1);
    }
  EXPECT_TRUE(found) << s.dump();
  CmdResult human = d->ctl({"status"});
  EXPECT_EQ(human.status, 0);
  EXPECT_NE(human.out.find("REQUESTS"), std::string::npos) << human.out;
}

TEST_F(Observe, TailShowsOutcomesLogsAndExceptionsOfItsScriptOnly) {
  Tail t(*d, {"--json", "tail", "watch/talker"});
  // The session starts when wfpctl has made it: request until one shows.
  bool seen = false;
  for (int i = 0; i < 100 && !seen; i++) {
    d->get("talker.example.com", "/warmup");
    seen = t.wait_for("/warmup", 100);
  }
  ASSERT_TRUE(seen) << t.out << t.err << d->log();
  ASSERT_EQ(d->get("other.example.com", "/secret-path").status, 200);
  ASSERT_EQ(d->get("talker.example.com", "/first").status, 200);
  ASSERT_EQ(d->get("talker.example.com", "/boom").status, 500);
  ASSERT_EQ(d->get("talker.example.com", "/later").status, 200);
  ASSERT_TRUE(t.wait_for("talker after the answer")) << t.out << t.err;
  auto events = t.events();
  const nlohmann::json* first = nullptr;
  const nlohmann::json* boom = nullptr;
  for (auto& e : events) {
    std::string url = e["event"].is_object() ? e["event"]["request"].value("url", "") : "";
    if (url.find("/first") != std::string::npos) first = &e;
    if (url.find("/boom") != std::string::npos) boom = &e;
  }
  ASSERT_NE(first, nullptr) << t.out;
  EXPECT_EQ((*first)["outcome"], "ok");
  EXPECT_EQ((*first)["scriptName"], "talker");
  EXPECT_EQ((*first)["dispatchNamespace"], "watch");
  EXPECT_EQ((*first)["event"]["request"]["method"], "GET");
  EXPECT_EQ((*first)["event"]["response"]["status"], 200);
  ASSERT_EQ((*first)["logs"].size(), 1u) << first->dump();
  EXPECT_EQ((*first)["logs"][0]["level"], "log");
  EXPECT_EQ((*first)["logs"][0]["message"][0], "talker saw /first");
  EXPECT_GE((*first)["cpuTime"].get<double>(), 0);
  ASSERT_NE(boom, nullptr) << t.out;
  EXPECT_EQ((*boom)["outcome"], "exception");
  ASSERT_EQ((*boom)["exceptions"].size(), 1u) << boom->dump();
  EXPECT_EQ((*boom)["exceptions"][0]["name"], "TypeError");
  EXPECT_EQ((*boom)["exceptions"][0]["message"], "talker blew up");
  // Another script's lines (same namespace, and a same-named script of
  // another namespace) never reach this tail; nor does the dispatcher's.
  EXPECT_EQ(t.out.find("OTHER-TENANT-PRIVATE"), std::string::npos) << t.out;
  EXPECT_EQ(t.out.find("dispatching"), std::string::npos) << t.out;
  // Ctrl-C ends the tail at once and its session on wfpd.
  EXPECT_EQ(t.stop(SIGINT), 0) << t.err;
  EXPECT_TRUE(eventually([&] { return d->log().find("of watch/talker ended") != std::string::npos; })) << d->log();
}

TEST_F(Observe, TailOfAScriptInAnotherNamespaceSeesOnlyThatOne) {
  Tail t(*d, {"--json", "tail", "elsewhere/talker"});
  // elsewhere/talker is not routed: a request to talker reaches watch/talker.
  for (int i = 0; i < 10; i++) d->get("talker.example.com", "/not-yours");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  t.drain();
  EXPECT_EQ(t.out.find("/not-yours"), std::string::npos) << t.out;
  EXPECT_EQ(t.stop(SIGTERM), 0) << t.err;
}

TEST_F(Observe, TailOfAPlatformWorkerShowsItsRequestsInHumanForm) {
  Tail t(*d, {"tail", "front"});
  bool seen = false;
  for (int i = 0; i < 100 && !seen; i++) {
    d->get("other.example.com", "/via-front-" + std::to_string(i));
    seen = t.wait_for("(log) dispatching other", 100);
  }
  ASSERT_TRUE(seen) << t.out << t.err;
  EXPECT_NE(t.out.find("GET http://other.example.com/via-front-"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("-> 200 ok"), std::string::npos) << t.out;
  EXPECT_NE(t.err.find("tailing front"), std::string::npos) << t.err;
  EXPECT_EQ(t.stop(SIGINT), 0);
}

TEST_F(Observe, TailRefusesUnknownAndInvalidTargets) {
  CmdResult missing = d->ctl({"tail", "watch/nobody"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  CmdResult no_ns = d->ctl({"tail", "nowhere/talker"});
  EXPECT_EQ(no_ns.status, 1);
  EXPECT_NE(no_ns.err.find("nowhere"), std::string::npos) << no_ns.err;
  CmdResult no_worker = d->ctl({"tail", "ghost"});
  EXPECT_EQ(no_worker.status, 1);
  EXPECT_NE(no_worker.err.find("ghost"), std::string::npos) << no_worker.err;
  CmdResult bad = d->ctl({"tail", "watch/bad name"});
  EXPECT_EQ(bad.status, 2);
  CmdResult none = d->ctl({"tail"});
  EXPECT_EQ(none.status, 2);
  CmdResult down = run({bin("wfpctl"), "--socket", d->dir() + "/no-such.sock", "tail", "watch/talker"});
  EXPECT_EQ(down.status, 1);
  EXPECT_NE(down.err.find("cannot connect"), std::string::npos) << down.err;
}

TEST_F(Observe, AnUnknownTailSessionIs404) {
  std::string body = admin_get("/workers/dispatch/namespaces/watch/scripts/talker/tails/0123abcd/events?wait=0");
  EXPECT_NE(body.find("not found"), std::string::npos) << body;
  body = admin_get("/workers/dispatch/namespaces/watch/scripts/talker/tails/0123abcd/events?wait=99");
  EXPECT_NE(body.find("wait must be"), std::string::npos) << body;
}

// The request lines are at level info: log_level = warn leaves them out,
// and SIGHUP brings them back.
TEST(ObserveLevels, LogLevelWarnHidesRequestLinesUntilReloaded) {
  Wfpd d("log_level = warn\n");
  expect_ok(d.ctl({"worker", "deploy", "hello", d.write_file("h.js",
                   "export default { fetch() { return new Response('hi'); } };")}), &d);
  expect_ok(d.ctl({"route", "add", "*/*", "hello"}), &d);
  ASSERT_EQ(d.get("x.example.com").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(d.log().find("worker=hello status=200"), std::string::npos) << d.log();
  // Back to info.
  std::string conf = read_file(d.dir() + "/wfpd.conf");
  size_t at = conf.find("log_level = warn");
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, 16, "log_level = info");
  {
    FILE* f = fopen((d.dir() + "/wfpd.conf").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(conf.c_str(), f);
    fclose(f);
  }
  kill(d.pid(), SIGHUP);
  bool seen = eventually([&] {
    d.get("x.example.com");
    return d.log().find("worker=hello status=200 outcome=ok") != std::string::npos;
  });
  EXPECT_TRUE(seen) << d.log();
}

// wfpd stopping ends a running tail with exit 1 and says why.
TEST(ObserveStop, ATailEndsWhenWfpdStops) {
  Wfpd d;
  expect_ok(d.ctl({"worker", "deploy", "hello", d.write_file("h.js",
                   "export default { fetch() { return new Response('hi'); } };")}), &d);
  Tail t(d, {"tail", "hello"});
  ASSERT_TRUE(eventually([&] { return d.log().find("admin: tail ") != std::string::npos; })) << d.log();
  d.stop();
  EXPECT_EQ(t.wait_exit(10000), 1) << t.err;
  EXPECT_NE(t.err.find("wfpd ended the tail"), std::string::npos) << t.err;
}

}  // namespace
}  // namespace wfp::test
