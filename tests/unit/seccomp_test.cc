// The seccomp policies (sandbox/seccomp_policy.cc): the printed text
// against tests/golden/seccomp-ROLE.txt, and the filters themselves, each
// loaded in a forked child that then tries what its role may and may not
// do. A child reports by its exit status; the parent reads it. Runs from
// the repository root (the golden files are read relative to it).
#include "sandbox/seccomp_policy.h"

#include <asm/unistd.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace wfp {
namespace {

// Exit statuses of a test child; anything but kOk is a failure the parent
// names.
constexpr int kOk = 0;
constexpr int kWrong = 1;        // a call allowed by the policy did not work
constexpr int kLockFailed = 100;

// Forks; the child locks itself with `role`'s policy and runs `body`,
// exiting with its result. Returns the child's wait status. No core files:
// a process killed by seccomp dumps core, and core_pattern may be "core".
int run_locked(Role role, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0);
    std::string error;
    if (!seccomp_lock(role, error)) _exit(kLockFailed);
    _exit(body());
  }
  int status = -1;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by SIG") + sigabbrev_np(WTERMSIG(status));
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == kLockFailed) return "seccomp_lock failed";
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "status " + std::to_string(status);
}

::testing::AssertionResult killed_by_seccomp(int status) {
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected death by SIGSYS, got: " << describe(status);
}

::testing::AssertionResult exited_ok(int status) {
  if (WIFEXITED(status) && WEXITSTATUS(status) == kOk) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected exit status 0, got: " << describe(status);
}

// getpid through the i386 entry point (int 0x80, eax = 20), which a 64-bit
// process can still reach when the kernel has IA-32 emulation.
long int80_getpid() {
  long ret;
  asm volatile("int $0x80" : "=a"(ret) : "a"(20L) : "r8", "r9", "r10", "r11", "memory", "cc");
  return ret;
}

bool kernel_has_i386_entry() {
  pid_t pid = fork();
  if (pid == 0) _exit(int80_getpid() == getpid() ? 0 : 1);
  int status = -1;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string read_golden(Role role) {
  std::string path = std::string("tests/golden/seccomp-") + role_name(role) + ".txt";
  std::ifstream f(path, std::ios::binary);
  if (!f) return "(cannot read " + path + ": run the tests from the repository root)";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The enforced part of each row of a printed policy (action, system call,
// conditions), without the reason.
std::set<std::string> enforced_rows(const std::string& text) {
  std::set<std::string> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::string rule = line.substr(0, line.find('#'));
    while (!rule.empty() && rule.back() == ' ') rule.pop_back();
    rows.insert(rule);
  }
  return rows;
}

std::string role_param_name(const ::testing::TestParamInfo<Role>& info) { return role_name(info.param); }

const Role kLockedRoles[] = {Role::zygote, Role::dispatcher, Role::sandbox, Role::compiler};
const Role kRunnerRoles[] = {Role::dispatcher, Role::sandbox, Role::compiler};

// --- every locked role -------------------------------------------------------

class AnyRolePolicy : public ::testing::TestWithParam<Role> {};

TEST_P(AnyRolePolicy, PrintsExactlyItsGoldenFile) {
#ifdef WFP_SANITIZER_BUILD
  GTEST_SKIP() << "the golden files are the release policy; a sanitizer build adds the runtime's "
                  "rows and traps by default (sandbox/seccomp_policy.cc)";
#endif
  EXPECT_EQ(read_golden(GetParam()), seccomp_policy_text(GetParam()));
}

TEST_P(AnyRolePolicy, LetsItsLoopCallsWork) {
  EXPECT_TRUE(exited_ok(run_locked(GetParam(), [] {
    if (syscall(SYS_getpid) <= 0) return kWrong;
    timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) return kWrong;
    // A large block: glibc maps it, never executable, and unmaps it.
    void* big = malloc(8 << 20);
    if (!big) return kWrong;
    free(big);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsOpen) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(SYS_open, "/etc/passwd", O_RDONLY);
    return kOk;
  })));
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsSocket) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsExecve) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    const char* argv[] = {"/bin/true", nullptr};
    const char* envp[] = {nullptr};
    syscall(SYS_execve, argv[0], argv, envp);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsPtrace) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsAnExecutableMapping) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return kOk;
  })));
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return kWrong;
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsAnX32SystemCall) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(__X32_SYSCALL_BIT | __NR_getpid);
    return kOk;
  })));
}

TEST_P(AnyRolePolicy, KillsAnI386SystemCall) {
  if (!kernel_has_i386_entry()) GTEST_SKIP() << "int 0x80 is not a system call on this machine (no IA-32 emulation)";
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    int80_getpid();
    return kOk;
  })));
}

INSTANTIATE_TEST_SUITE_P(Seccomp, AnyRolePolicy, ::testing::ValuesIn(kLockedRoles), role_param_name);

// --- dispatcher, sandbox, compiler: single-threaded, never fork --------------

class RunnerPolicy : public ::testing::TestWithParam<Role> {};

TEST_P(RunnerPolicy, KillsClone) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    return kOk;
  })));
}

TEST_P(RunnerPolicy, KillsFork) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    if (fork() == 0) _exit(0);
    return kOk;
  })));
}

TEST_P(RunnerPolicy, KillsClone3) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    clone_args args{};
    args.exit_signal = SIGCHLD;
    syscall(SYS_clone3, &args, sizeof args);
    return kOk;
  })));
}

TEST_P(RunnerPolicy, KillsTheZygotesLockDownCalls) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    prctl(PR_SET_DUMPABLE, 0);
    return kOk;
  })));
  EXPECT_TRUE(killed_by_seccomp(run_locked(GetParam(), [] {
    dup2(2, 3);
    return kOk;
  })));
}

INSTANTIATE_TEST_SUITE_P(Seccomp, RunnerPolicy, ::testing::ValuesIn(kRunnerRoles), role_param_name);

// --- the zygote ----------------------------------------------------------------

TEST(SeccompZygotePolicy, LetsForkWork) {
  EXPECT_TRUE(exited_ok(run_locked(Role::zygote, [] {
    pid_t pid = fork();
    if (pid == 0) _exit(kOk);
    if (pid < 0) return kWrong;
    int status = -1;
    if (waitpid(pid, &status, 0) != pid) return kWrong;
    return WIFEXITED(status) && WEXITSTATUS(status) == kOk ? kOk : kWrong;
  })));
}

TEST(SeccompZygotePolicy, KillsCloneIntoANewUserNamespace) {
  EXPECT_TRUE(killed_by_seccomp(run_locked(Role::zygote, [] {
    syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    return kOk;
  })));
}

TEST(SeccompZygotePolicy, KillsCloneWithFlagsOtherThanForks) {
  // fork()'s own flags minus the tid bookkeeping: still not what glibc asks.
  EXPECT_TRUE(killed_by_seccomp(run_locked(Role::zygote, [] {
    syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    return kOk;
  })));
}

TEST(SeccompZygotePolicy, AnswersClone3WithEnosysSoGlibcFallsBackToClone) {
  EXPECT_TRUE(exited_ok(run_locked(Role::zygote, [] {
    clone_args args{};
    args.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &args, sizeof args);
    if (r == 0) _exit(kWrong);  // a child: clone3 went through
    return r == -1 && errno == ENOSYS ? kOk : kWrong;
  })));
}

// What child_main does between fork and its own filter (sandbox/zygote.cc),
// then a runner's calls, all under the zygote's filter too: the filters
// stack, and nothing a child needs may die on the zygote's.
TEST(SeccompZygotePolicy, LetsAForkedChildLockItselfDownAsEachRunner) {
  for (Role role : kRunnerRoles) {
    SCOPED_TRACE(role_name(role));
    int sv[2];
    ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    int shm = memfd_create("seccomp-test", MFD_CLOEXEC);
    ASSERT_GE(shm, 0);
    ASSERT_EQ(0, ftruncate(shm, 1 << 20));
    int status = run_locked(Role::zygote, [&] {
      pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) _exit(kWrong);
        void* seg = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
        if (seg == MAP_FAILED) _exit(kWrong);
        close(shm);
        if (dup2(sv[1], 3) != 3) _exit(kWrong);
        if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0) _exit(kWrong);
        for (int resource : {RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_CORE}) {
          rlimit rl{resource == RLIMIT_NOFILE ? 8u : 0u, resource == RLIMIT_NOFILE ? 8u : 0u};
          if (setrlimit(resource, &rl) != 0) _exit(kWrong);
        }
        rlimit as;
        if (getrlimit(RLIMIT_AS, &as) != 0 || setrlimit(RLIMIT_AS, &as) != 0) _exit(kWrong);
        if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kWrong);
        std::string error;
        if (!seccomp_lock(role, error)) _exit(kLockFailed);
        // The runner's loop: doorbell, clock, allocator, randomness.
        char bell = 1;
        if (send(3, &bell, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1) _exit(kWrong);
        pollfd p{3, POLLIN, 0};
        if (poll(&p, 1, 0) < 0) _exit(kWrong);
        char buf[16];
        if (read(3, buf, sizeof buf) >= 0 || errno != EAGAIN) _exit(kWrong);
        timespec t;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) _exit(kWrong);
        void* big = malloc(16 << 20);
        if (!big) _exit(kWrong);
        big = realloc(big, 32 << 20);
        if (!big) _exit(kWrong);
        free(big);
        if (role != Role::compiler && getrandom(buf, sizeof buf, 0) != (ssize_t)sizeof buf) _exit(kWrong);
        ((volatile char*)seg)[0] = 1;
        _exit(kOk);
      }
      if (pid < 0) return kWrong;
      int st = -1;
      if (waitpid(pid, &st, 0) != pid) return kWrong;
      if (WIFSIGNALED(st)) return 50 + WTERMSIG(st);  // 50 + SIGSYS: a call died
      return WIFEXITED(st) ? WEXITSTATUS(st) : kWrong;
    });
    close(sv[0]);
    close(sv[1]);
    close(shm);
    EXPECT_TRUE(exited_ok(status)) << "(50 + n: the grandchild was killed by signal n)";
  }
}

// --- the tables ------------------------------------------------------------------

TEST(SeccompPolicy, TheZygoteAllowsEveryRowOfItsChildrensPolicies) {
  std::set<std::string> zygote = enforced_rows(seccomp_policy_text(Role::zygote));
  for (Role role : kRunnerRoles) {
    for (const std::string& row : enforced_rows(seccomp_policy_text(role)))
      EXPECT_TRUE(zygote.count(row)) << role_name(role) << " row not in the zygote's policy: " << row;
  }
}

TEST(SeccompPolicy, TheSupervisorHasNone) {
  EXPECT_EQ("", seccomp_policy_text(Role::supervisor));
  std::string error;
  EXPECT_FALSE(seccomp_lock(Role::supervisor, error));
  EXPECT_NE(std::string::npos, error.find("supervisor")) << error;
}

}  // namespace
}  // namespace wfp
