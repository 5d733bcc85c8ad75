// A full pool (pool_max_total sandboxes, every one busy): calls to other
// tenants wait in order for a sandbox (queue_max), and past the queue
// fail at once with "Worker overloaded.". A pool of one makes it plain.
#include <gtest/gtest.h>

#include <future>
#include <sstream>
#include <string>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

// Not catching: an overloaded user worker reaches the client as 503/1200.
const char* kDispatcher = R"JS(
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    return env.DISPATCHER.get(name).fetch(request);
  }
};
)JS";

// Holds its sandbox busy for a while.
const char* kSlow = R"JS(
export default {
  async fetch() {
    await new Promise(r => setTimeout(r, 1500));
    return new Response("slow done");
  }
};
)JS";

const char* kQuick = R"JS(
export default { fetch(request) { return new Response("quick " + new URL(request.url).hostname); } };
)JS";

void deploy(Wfpd& d) {
  expect_ok(d.ctl({"namespace", "create", "q"}), &d);
  expect_ok(d.ctl({"script", "deploy", "q", "slow", d.write_file("slow.js", kSlow)}), &d);
  for (const char* n : {"one", "two"})
    expect_ok(d.ctl({"script", "deploy", "q", n, d.write_file(std::string(n) + ".js", kQuick)}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("d.js", kDispatcher), "--dispatch-namespace",
                   "DISPATCHER=q"}),
            &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
}

double queue_depth(const Wfpd& d) {
  CmdResult r = run({"/usr/bin/curl", "-s", "--unix-socket", d.socket(), "http://localhost/metrics"});
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("wfp_queue_depth ", 0) == 0) return std::stod(line.substr(16));
  return -1;
}

// The slow tenant's request starts and holds the only sandbox.
std::future<HttpResult> occupy(const Wfpd& d) {
  auto f = std::async(std::launch::async, [&d] { return d.get("slow.example.com"); });
  EXPECT_TRUE(eventually([&] { return d.processes("wfpd: sandbox q/slow").size() == 1; })) << d.log();
  return f;
}

TEST(Queue, ACallToAFullPoolWaitsForASandboxAndIsServed) {
  Wfpd d("pool_max_total = 1\npool_max_per_tenant = 1\nqueue_max = 4\nwall_ms = 10000\n");
  deploy(d);
  auto slow = occupy(d);
  auto quick = std::async(std::launch::async, [&d] { return d.get("one.example.com"); });
  // While the slow one holds the pool, the quick one is queued.
  EXPECT_TRUE(eventually([&] { return queue_depth(d) == 1; })) << d.log();
  HttpResult q = quick.get();
  EXPECT_EQ(q.status, 200) << q.body << d.log();
  EXPECT_EQ(q.body, "quick one.example.com");
  HttpResult s = slow.get();
  EXPECT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.body, "slow done");
  EXPECT_EQ(queue_depth(d), 0);
  // The slow tenant's sandbox made way for the queued one.
  EXPECT_NE(d.log().find("evicted (least recently used)"), std::string::npos) << d.log();
}

TEST(Queue, PastQueueMaxACallFailsAtOnceAsOverloaded) {
  Wfpd d("pool_max_total = 1\npool_max_per_tenant = 1\nqueue_max = 1\nwall_ms = 10000\n");
  deploy(d);
  auto slow = occupy(d);
  auto first = std::async(std::launch::async, [&d] { return d.get("one.example.com"); });
  ASSERT_TRUE(eventually([&] { return queue_depth(d) == 1; })) << d.log();
  // The queue is full: the next call is refused while the slow one runs.
  HttpResult second = d.get("two.example.com");
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_NE(second.body.find("1200"), std::string::npos) << second.body;
  EXPECT_NE(second.head.find("Retry-After: 1"), std::string::npos) << second.head;
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(slow.get().status, 200);
  // With room again, the same call is served.
  EXPECT_EQ(d.get("two.example.com").status, 200);
}

TEST(Queue, QueueMaxZeroMeansNoWaiting) {
  Wfpd d("pool_max_total = 1\npool_max_per_tenant = 1\nqueue_max = 0\nwall_ms = 10000\n");
  deploy(d);
  auto slow = occupy(d);
  HttpResult r = d.get("one.example.com");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(slow.get().status, 200);
}

// A queued call whose caller gives up (its wall-clock limit) is dropped,
// and the daemon goes on serving.
TEST(Queue, AQueuedCallWhoseCallerTimedOutIsDropped) {
  Wfpd d("pool_max_total = 1\npool_max_per_tenant = 1\nqueue_max = 4\nwall_ms = 700\n");
  deploy(d);
  // The slow worker outlives wall_ms: its sandbox is ended at the limit.
  auto slow = std::async(std::launch::async, [&d] { return d.get("slow.example.com"); });
  ASSERT_TRUE(eventually([&] { return d.processes("wfpd: sandbox q/slow").size() == 1; })) << d.log();
  HttpResult queued = d.get("one.example.com");
  EXPECT_TRUE(queued.status == 200 || queued.status == 503) << queued.status << queued.body;
  slow.get();
  EXPECT_TRUE(eventually([&] { return queue_depth(d) == 0; })) << d.log();
  EXPECT_EQ(d.get("two.example.com").status, 200) << d.log();
}

}  // namespace
}  // namespace wfp::test
