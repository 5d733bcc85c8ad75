// Sandbox escape through the kernel (attack catalogue 1-6): a hostile
// worker in wfpd-test calls forbidden system calls through __wfp_test and
// must die of SIGSYS while its neighbours are served; every locked child
// runs under seccomp with no_new_privs on every thread and holds no fd but
// its channel. One daemon for the file.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "sandbox/seccomp_policy.h"
#include "tests/security/attack_arena.h"

namespace wfp::test {
namespace {

struct Forbidden {
  const char* name;  // tenant name and test name
  const char* call;  // JavaScript: the call through __wfp_test
};

// x86_64 numbers. Each is either outside the allow-list or a permitted
// call with an argument the policy refuses (PROT_EXEC); x32 and int80 use
// getpid, which the policy allows natively, so only the ABI check stops them.
const Forbidden kForbidden[] = {
    {"open", "__wfp_test.syscall(2, '/etc/passwd', 0)"},
    {"openat", "__wfp_test.syscall(257, -100, '/etc/passwd', 0)"},
    {"socket", "__wfp_test.syscall(41, 2, 1, 0)"},
    // connect(3, 127.0.0.1:80): the doorbell fd, a sockaddr_in as bytes.
    {"connect", "__wfp_test.syscall(42, 3, '\\x02\\x00\\x00\\x50\\x7f\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00', 16)"},
    {"execve", "__wfp_test.syscall(59, '/bin/sh', 0, 0)"},
    {"fork", "__wfp_test.syscall(57)"},
    {"clone-process", "__wfp_test.syscall(56, 17, 0, 0, 0, 0)"},  // SIGCHLD, no CLONE_THREAD
    {"ptrace", "__wfp_test.syscall(101, 0, 0, 0, 0)"},           // PTRACE_TRACEME
    {"mount", "__wfp_test.syscall(165, 'none', '/', 'tmpfs', 0, 0)"},
    {"unshare", "__wfp_test.syscall(272, 0x10000000)"},  // CLONE_NEWUSER
    {"setns", "__wfp_test.syscall(308, 3, 0)"},
    {"bpf", "__wfp_test.syscall(321, 0, 0, 0)"},
    {"perf-event-open", "__wfp_test.syscall(298, 0, 0, -1, -1, 0)"},
    {"userfaultfd", "__wfp_test.syscall(323, 0)"},
    {"keyctl", "__wfp_test.syscall(250, 0, 0)"},
    {"init-module", "__wfp_test.syscall(175, 0, 0, '')"},
    {"chroot", "__wfp_test.syscall(161, '/')"},
    {"process-vm-readv", "__wfp_test.syscall(310, 1, 0, 0, 0, 0, 0)"},
    {"kill", "__wfp_test.syscall(62, 1, 0)"},
    {"io-uring-setup", "__wfp_test.syscall(425, 1, 0)"},
    {"mmap-exec", "__wfp_test.syscall(9, 0, 4096, 7, 0x22, -1, 0)"},  // RWX, private anonymous
    {"mprotect-exec", "__wfp_test.syscall(10, 0, 4096, 4)"},
    {"x32-getpid", "__wfp_test.x32(39)"},
    {"int80-getpid", "__wfp_test.int80(20)"},
};

std::string tenant_of(const Forbidden& f) { return std::string("sys-") + f.name; }

// Whether `int $0x80` works for a plain process on this machine. Some
// kernels and hypervisors have no i386 entry: there the instruction
// itself faults (SIGSEGV) before seccomp could see a system call.
bool i386_entry_works() {
  pid_t pid = fork();
  if (pid == 0) {
    long ret, nr = 20;  // i386 getpid
    asm volatile("int $0x80" : "=a"(ret) : "a"(nr) : "memory", "r8", "r9", "r10", "r11");
    _exit(ret > 0 ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

Wfpd* d = nullptr;  // the file's daemon, made by the suite

class Syscalls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    d = new Wfpd(attack_config(), "wfpd-test");
    deploy_arena(*d);
    std::vector<std::pair<std::string, std::string>> tenants;
    for (const Forbidden& f : kForbidden)
      tenants.emplace_back(tenant_of(f), hostile_worker("var r = " + std::string(f.call) +
                                                        "; return new Response('returned ' + r);"));
    tenants.emplace_back("idle", hostile_worker(""));
    // The very first statement tries to open a file: the lock must be in
    // force before any tenant byte runs (catalogue 5).
    tenants.emplace_back("top-level",
                         "var fd = __wfp_test.syscall(2, '/', 0);\n"
                         "module.exports = { fetch: function () { return new Response('opened ' + fd); } };\n");
    deploy_tenants(*d, tenants);
    ASSERT_EQ(d->get("good.tenants.example", "/warm").body, "good /warm") << log_tail(*d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};

// Syscalls.Forbidden_Open and so on: the call kills the sandbox with
// SIGSYS, its request fails, the tenant's next request gets a fresh
// sandbox, and the neighbours never notice.
void forbidden_call_case(const Forbidden& f) {
  std::string name = tenant_of(f);
  bool want_sigsys = std::string(f.name) != "int80-getpid" || i386_entry_works();
  Neighbours n(*d);
  pid_t before = alive(*d, name);
  ASSERT_GT(before, 0) << log_tail(*d);

  HttpResult r = ask(*d, name, "/attack");
  EXPECT_EQ(r.body.find("returned"), std::string::npos) << f.call << " returned to the worker: " << r.body;
  // The sandbox died mid-request: the dispatcher's error (it does not
  // catch) or 502/1105.
  bool error_page = (r.status == 500 && r.body.find("Error 1101") != std::string::npos) ||
                    (r.status == 502 && r.body.find("Error 1105") != std::string::npos);
  EXPECT_TRUE(error_page) << r.status << " " << r.body;
  std::string who = "sandbox tenants/" + name + " (pid " + std::to_string(before) + ")";
  EXPECT_TRUE(eventually([&] {
    std::string log = d->log();
    return log_has_line(log, {who, "was killed by its seccomp policy"}) ||
           (!want_sigsys && log_has_line(log, {who, "killed by SIGSEGV"}));
  }, 5000)) << "wanted \"" << who << " was killed by its seccomp policy\""
      << (want_sigsys ? "" : " (or SIGSEGV: this machine has no i386 entry)") << "\n" << log_tail(*d);

  pid_t after = alive(*d, name);
  EXPECT_GT(after, 0) << "the tenant's next request must be served by a fresh sandbox\n" << log_tail(*d);
  EXPECT_NE(after, before);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

[[maybe_unused]] const bool kForbiddenRegistered =
    register_cases<Syscalls>("Syscalls", "Forbidden", kForbidden, forbidden_call_case, __FILE__, __LINE__);

TEST_F(Syscalls, ATenantsFirstStatementAlreadyRunsUnderSeccomp) {
  Neighbours n(*d);
  HttpResult r = ask(*d, "top-level", "/");
  EXPECT_EQ(r.body.find("opened"), std::string::npos) << r.body;
  EXPECT_NE(r.status, 200) << r.body;
  EXPECT_TRUE(eventually([&] {
    return log_has_line(d->log(), {"sandbox tenants/top-level (pid ", ") was killed by its seccomp policy"});
  }, 5000)) << log_tail(*d);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

// A process that ended between the listing and the look (a sandbox
// retired meanwhile) has no command line left: not a finding.
bool gone(pid_t p) { return proc_cmdline(p).empty(); }

// Every locked child and the zygote, by title.
std::vector<std::pair<pid_t, std::string>> locked_children(const Wfpd& d) {
  std::vector<std::pair<pid_t, std::string>> out;
  for (const char* prefix : {"wfpd: zygote", "wfpd: dispatcher", "wfpd: compiler", "wfpd: sandbox"})
    for (pid_t p : d.processes(prefix)) out.emplace_back(p, proc_cmdline(p));
  return out;
}

std::vector<std::string> dir_entries(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* e = readdir(dir))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(dir);
  }
  return out;
}

std::string status_field(const std::string& status_path, const std::string& field) {
  std::istringstream in(read_file(status_path));
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      std::string v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

TEST_F(Syscalls, EveryThreadOfEveryLockedChildShowsSeccompAndNoNewPrivs) {
  // A tenant sandbox exists, as well as the spare, the dispatcher, the
  // compilers and the zygote.
  ASSERT_GT(alive(*d, "idle"), 0);
  auto children = locked_children(*d);
  static const char* const kRoles[4] = {"zygote", "dispatcher", "compiler", "sandbox"};
  int roles[4] = {0, 0, 0, 0};
  std::string wrong;
  for (auto& [pid, title] : children) {
    for (int i = 0; i < 4; i++)
      if (title.find(kRoles[i]) != std::string::npos) roles[i]++;
    std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    auto tids = dir_entries(tasks);
    if (tids.empty() && !gone(pid)) wrong += "\n  " + title + " (pid " + std::to_string(pid) + "): no threads readable";
    for (auto& tid : tids) {
      std::string status = tasks + "/" + tid + "/status";
      std::string seccomp = status_field(status, "Seccomp"), nnp = status_field(status, "NoNewPrivs");
      if (seccomp.empty() && nnp.empty()) continue;  // the thread ended meanwhile
      if ((seccomp != "2" || nnp != "1") && !gone(pid))
        wrong += "\n  " + title + " (pid " + std::to_string(pid) + ", thread " + tid + "): Seccomp " + seccomp +
                 ", NoNewPrivs " + nnp;
    }
  }
  EXPECT_EQ(roles[0], 1) << "one zygote";
  EXPECT_GE(roles[1], 1) << "a dispatcher";
  EXPECT_GE(roles[2], 1) << "a compiler";
  EXPECT_GE(roles[3], 2) << "a tenant's sandbox and a spare";
  EXPECT_EQ(wrong, "") << "threads not locked (want Seccomp 2, NoNewPrivs 1):" << wrong;
}

// "fd → what it is" for each fd of `pid` but `keep`.
std::string fds_besides(pid_t pid, const std::string& keep, const std::string& keep_kind) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::string out;
  auto fds = dir_entries(dir);
  bool have = false;
  for (auto& fd : fds) {
    char target[512];
    ssize_t n = readlink((dir + "/" + fd).c_str(), target, sizeof target - 1);
    std::string what = n > 0 ? std::string(target, n) : "?";
    if (fd == keep && what.compare(0, keep_kind.size(), keep_kind) == 0) {
      have = true;
      continue;
    }
    out += " " + fd + "→" + what;
  }
  if (!have) out += " (no " + keep_kind + " at fd " + keep + ")";
  return out;
}

TEST_F(Syscalls, ASandboxHoldsNoFdButItsChannel) {
#ifdef WFP_SANITIZER_BUILD
  GTEST_SKIP() << "a sanitizer build keeps its report fd as fd 2 in every locked child "
                  "(sandbox/zygote.cc)";
#endif
  // The channel is the doorbell socket at fd 3 (the segment is a mapping,
  // its fd closed after mmap). Nothing else: no stdin/stdout/stderr, no
  // listener, store, admin socket, log file or another tenant's channel.
  pid_t tenant = alive(*d, "idle");
  ASSERT_GT(tenant, 0);
  std::vector<pid_t> sandboxes = d->processes("wfpd: sandbox");
  ASSERT_GE(sandboxes.size(), 2u) << "a tenant's sandbox and a spare";
  for (pid_t p : sandboxes) {
    std::string title = proc_cmdline(p), extra = fds_besides(p, "3", "socket:");
    if (!gone(p)) {
      EXPECT_EQ(extra, "") << title << " (pid " << p << ") holds more than its channel";
    }
  }
}

TEST_F(Syscalls, TheDispatcherAndTheCompilersHoldNoFdButTheirChannel) {
#ifdef WFP_SANITIZER_BUILD
  GTEST_SKIP() << "a sanitizer build keeps its report fd as fd 2 in every locked child "
                  "(sandbox/zygote.cc)";
#endif
  std::vector<pid_t> pids = d->processes("wfpd: dispatcher");
  for (pid_t p : d->processes("wfpd: compiler")) pids.push_back(p);
  ASSERT_GE(pids.size(), 2u);
  for (pid_t p : pids) {
    std::string title = proc_cmdline(p), extra = fds_besides(p, "3", "socket:");
    if (!gone(p)) {
      EXPECT_EQ(extra, "") << title << " (pid " << p << ") holds more than its channel";
    }
  }
}

}  // namespace
}  // namespace wfp::test
