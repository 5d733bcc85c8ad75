// The attack suite's arena (see attack_arena.h). Runs in the test process;
// drives a real wfpd-test over real HTTP and the real wfpctl.
#include "tests/security/attack_arena.h"

#include <chrono>
#include <sstream>

#include "sandbox/seccomp_policy.h"

namespace wfp::test {

namespace {

void expect_ok_tail(const Wfpd& d, const CmdResult& r) {
  if (r.status != 0) ADD_FAILURE() << r.out << r.err << log_tail(d);
}

// cpu_ms, memory_mb and wall_ms as the attack suite wants them: small
// enough that every attack ends in well under the suite's time budget.
// pool_max_per_tenant 1: one sandbox per tenant, so "the tenant's next
// request" is served by the replacement of the one that died. Under the
// sanitizers (make asan) the same work costs several times the CPU: a deep
// recursion would reach the CPU limit before its RangeError, a log flood
// before the log's rate limit.
#ifdef WFP_SANITIZER_BUILD
#define WFP_ATTACK_CPU_MS "400"
#else
#define WFP_ATTACK_CPU_MS "100"
#endif
const char* kAttackConfig =
    "cpu_ms = " WFP_ATTACK_CPU_MS "\n"
    "memory_mb = 64\n"
    "wall_ms = 3000\n"
    "pool_max_total = 32\n"
    "pool_max_per_tenant = 1\n";

std::string key_of(const std::string& line) {
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos || line[b] == '#') return "";
  return line.substr(b, line.find_first_of(" \t=", b) - b);
}

const char* kFront = R"JS(
module.exports = {
  fetch: function (request, env) {
    var host = (request.headers.get("host") || "").split(":")[0];
    return env.DISPATCHER.get(host.split(".")[0]).fetch(request);
  }
};
)JS";

const char* kGood = R"JS(
module.exports = {
  fetch: function (request) { return new Response("good " + new URL(request.url).pathname); }
};
)JS";

const char* kPlat = R"JS(
module.exports = {
  fetch: function (request) { return new Response("plat " + new URL(request.url).pathname); }
};
)JS";

}  // namespace

std::string attack_config(const std::string& overrides) {
  std::string out;
  std::istringstream ours(kAttackConfig);
  for (std::string line; std::getline(ours, line);) {
    bool replaced = false;
    std::istringstream theirs(overrides);
    for (std::string o; std::getline(theirs, o);) replaced = replaced || key_of(o) == key_of(line);
    if (!replaced) out += line + "\n";
  }
  return out + overrides;
}

void deploy_arena(Wfpd& d) {
  expect_ok_tail(d, d.ctl({"namespace", "create", "tenants"}));
  expect_ok_tail(d, d.ctl({"worker", "deploy", "front", d.write_file("front.js", kFront), "--dispatch-namespace",
                   "DISPATCHER=tenants"}));
  expect_ok_tail(d, d.ctl({"worker", "deploy", "plat", d.write_file("plat.js", kPlat)}));
  expect_ok_tail(d, d.ctl({"route", "add", "*.tenants.example/*", "front"}));
  expect_ok_tail(d, d.ctl({"route", "add", "plat.example/*", "plat"}));
  deploy_tenant(d, "good", kGood);
}

void deploy_tenant(Wfpd& d, const std::string& name, const std::string& source,
                   const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"script", "deploy", "tenants", name, d.write_file(name + ".js", source)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  expect_ok_tail(d, d.ctl(args));
}

HttpResult ask(const Wfpd& d, const std::string& name, const std::string& path) {
  return d.raw("GET " + path + " HTTP/1.1\r\nHost: " + name + ".tenants.example\r\n\r\n", 20000);
}

std::string request_id_of(const HttpResult& r) {
  size_t at = r.body.find("request id: ");
  if (at == std::string::npos) return "";
  at += 12;
  size_t end = r.body.find_first_of("\r\n", at);
  return r.body.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string failure_logged(const Wfpd& d, const HttpResult& r, const std::string& label) {
  std::string id = request_id_of(r);
  if (id.empty()) return "";
  std::string needle = "request " + id + ": " + label + " failed: ";
  std::string found;
  eventually([&] {
    std::string log = d.log();
    size_t at = log.find(needle);
    if (at == std::string::npos) return false;
    at += needle.size();
    found = log.substr(at, log.find('\n', at) - at);
    return true;
  }, 5000);
  return found;
}

std::string pascal_case(const char* dashed) {
  std::string s;
  bool up = true;
  for (const char* p = dashed; *p; p++) {
    if (*p == '-') {
      up = true;
      continue;
    }
    s += up ? (char)toupper((unsigned char)*p) : *p;
    up = false;
  }
  return s;
}

std::string log_tail(const Wfpd& d, size_t bytes) {
  std::string log = d.log();
  if (log.size() <= bytes) return log;
  size_t from = log.find('\n', log.size() - bytes);
  return "…\n" + log.substr(from == std::string::npos ? log.size() - bytes : from + 1);
}

int log_count_lines(const std::string& log, const std::vector<std::string>& parts) {
  int n = 0;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (auto& p : parts) all = all && line.find(p) != std::string::npos;
    n += all;
  }
  return n;
}

bool log_has_line(const std::string& log, const std::vector<std::string>& parts) {
  return log_count_lines(log, parts) > 0;
}

std::vector<pid_t> sandboxes_of(const Wfpd& d, const std::string& name) {
  // The title is exact: "wfpd: sandbox tenants/NAME", nothing after.
  std::vector<pid_t> out;
  std::string title = "wfpd: sandbox tenants/" + name;
  for (pid_t p : d.processes(title))
    if (proc_cmdline(p) == title) out.push_back(p);
  return out;
}

const char* const kWireJs = R"JS(
function u8(n) { return String.fromCharCode(n & 255); }
function u32(n) { return String.fromCharCode(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255); }
function u64(n) { return u32(n % 4294967296) + u32(Math.floor(n / 4294967296)); }
function i64(n) { return u64(n); }
function str(s) { return u32(s.length) + s; }
function pairs(p) {
  var out = u32(p.length);
  for (var i = 0; i < p.length; i++) out += str(p[i][0]) + str(p[i][1]);
  return out;
}
)JS";

std::string hostile_worker(const std::string& attack, const std::string& helpers) {
  return helpers +
         "\nmodule.exports = {\n"
         "  fetch: function (request, env) {\n"
         "    if (new URL(request.url).pathname === \"/ok\") return new Response(\"alive \" + __wfp_test.syscall(39));\n"
         "    " + attack + "\n"
         "    return new Response(\"survived\");\n"
         "  }\n"
         "};\n";
}

pid_t alive_pid(const HttpResult& r) {
  if (r.status != 200 || r.body.compare(0, 6, "alive ") != 0) return 0;
  return (pid_t)atoi(r.body.c_str() + 6);
}

pid_t alive(const Wfpd& d, const std::string& name) {
  pid_t pid = 0;
  eventually([&] { return (pid = alive_pid(ask(d, name, "/ok"))) > 0; }, 15000);
  return pid;
}

void deploy_tenants(Wfpd& d, const std::vector<std::pair<std::string, std::string>>& name_and_source) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < name_and_source.size();)
      deploy_tenant(d, name_and_source[i].first, name_and_source[i].second);
  };
  std::thread other(work);
  work();
  other.join();
}

Neighbours::Neighbours(const Wfpd& d) : d_(d) {
  // The first answers come before the attack starts.
  thread_ = std::thread([this] { loop(); });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (answered_ < 4 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

Neighbours::~Neighbours() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Neighbours::stop(int at_least_more) {
  if (!thread_.joinable()) return;
  int target = answered_ + at_least_more;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (answered_ < target && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop_ = true;
  thread_.join();
}

void Neighbours::loop() {
  for (int i = 0; !stop_; i++) {
    // Alternately a user worker behind the shared dispatcher, and a
    // platform worker of the dispatcher: each answer is checked exactly.
    bool user = i % 2 == 0;
    std::string path = "/n/" + std::to_string(i);
    std::string host = user ? "good.tenants.example" : "plat.example";
    std::string want = (user ? "good " : "plat ") + path;
    HttpResult r = d_.raw("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 20000);
    answered_++;
    if (r.status != 200 || r.body != want) {
      wrong_++;
      std::lock_guard<std::mutex> lock(mu_);
      if (first_wrong_.size() < 5)
        first_wrong_.push_back(host + path + " → " + std::to_string(r.status) + " \"" + r.body.substr(0, 200) +
                               "\" (wanted 200 \"" + want + "\")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Neighbours::report() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  out << wrong_ << " of " << answered_ << " neighbour answers were wrong:";
  for (auto& w : first_wrong_) out << "\n  " << w;
  return out.str();
}

}  // namespace wfp::test
