// Seccomp allow-lists (libseccomp), one table per locked role. Loaded by
// the zygote once its runtime image is built, and by each locked child as
// the last step of its lock-down, before any tenant byte is read. What a
// locked process asks of the kernel is hostile once tenant code could have
// taken it over: anything not in its table kills it.
//
// Read the tables like OpenSSH's sandbox-seccomp-filter.c: one system call
// per row, sorted, a deny-with-errno group first, then the allow group, and
// on each row who needs it. A row's conditions are ANDed; two rows for one
// system call are ORed. Adding a row is a commit of its own (STYLE.md).
//
// Filters stack. A child forked by the zygote runs under the zygote's
// filter and then its own, and the kernel applies the stricter answer, so:
//   - the zygote's table must allow everything child_main does before the
//     child's own filter is loaded (sandbox/zygote.cc), and
//   - every row of a child's table must also be a row of the zygote's
//     (tests/unit/seccomp_test.cc checks this).
#include "sandbox/seccomp_policy.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

namespace wfp {
namespace {

// One condition on one argument of a system call.
struct Cond {
  enum Kind : uint8_t {
    none,
    eq,      // the whole 64-bit argument equals `value`
    eq32,    // an int argument: its low 32 bits (all the kernel reads) equal `value`
    masked,  // (argument & mask) == value
  };
  Kind kind = none;
  unsigned arg = 0;
  const char* arg_name = nullptr;
  uint64_t mask = 0;
  const char* mask_name = nullptr;
  uint64_t value = 0;
  const char* value_name = nullptr;
};

// The macros spell a value with the same tokens the filter is built from,
// so the printed policy cannot drift from the enforced one.
#define WFP_EQ(arg, name, v) Cond{Cond::eq, arg, name, 0, nullptr, (uint64_t)(v), #v}
#define WFP_EQ32(arg, name, v) Cond{Cond::eq32, arg, name, 0xffffffffu, nullptr, (uint64_t)(uint32_t)(v), #v}
#define WFP_MASKED(arg, name, m, v) Cond{Cond::masked, arg, name, (uint64_t)(m), #m, (uint64_t)(v), #v}

constexpr uint32_t kAllow = SCMP_ACT_ALLOW;
constexpr uint32_t kEnosys = SCMP_ACT_ERRNO(ENOSYS);

struct Rule {
  const char* name;
  uint32_t action;  // kAllow or kEnosys
  Cond cond[2];
  const char* why;
};

// Executable memory is never mapped after lock-down: no JIT, no dlopen.
// (mprotect is in no table at all: nothing calls it once locked, and even
// without PROT_EXEC it could make read-only memory such as RELRO writable.)
#define WFP_NO_EXEC WFP_MASKED(2, "prot", PROT_EXEC, 0)

// Dispatchers and sandboxes: the same loop (sandbox/runner.cc), the same
// runtime, the same needs. Single-threaded: no clone, no thread exit.
const Rule kWorkerRules[] = {
    {"brk", kAllow, {}, "glibc malloc: growing and trimming the main arena"},
    {"clock_gettime", kAllow, {}, "the CPU deadline (CLOCK_THREAD_CPUTIME_ID is not in the vDSO); the clock if the vDSO falls back"},
    {"exit_group", kAllow, {}, "_exit: shutdown, the supervisor hung up, or a protocol error"},
    {"futex", kAllow, {WFP_EQ32(1, "op", FUTEX_WAKE_PRIVATE)}, "glibc's pthread_once wakes waiters after a first run (OpenSSL's run-once)"},
    {"getpid", kAllow, {}, "logf puts the pid in each line's prefix"},
    {"getrandom", kAllow, {}, "crypto.getRandomValues() and crypto.randomUUID()"},
    {"gettimeofday", kAllow, {}, "Duktape's clock if the vDSO falls back to the kernel"},
    {"mmap", kAllow, {WFP_NO_EXEC}, "glibc malloc: large blocks, never executable"},
    {"mremap", kAllow, {}, "glibc realloc of a large block"},
    {"munmap", kAllow, {}, "glibc free of a large block"},
    {"poll", kAllow, {}, "the channel loop waits on the doorbell"},
    {"read", kAllow, {}, "draining the doorbell"},
    {"restart_syscall", kAllow, {}, "the kernel resuming a poll interrupted by SIGSTOP/SIGCONT (an operator, a debugger, a cgroup freeze)"},
    {"sendto", kAllow, {}, "ringing the doorbell (send with MSG_DONTWAIT|MSG_NOSIGNAL)"},
};

// The compiler: the same loop, but it only lowers and compiles (Babel and
// Duktape's compiler); it never runs a worker, so no getrandom.
const Rule kCompilerRules[] = {
    {"brk", kAllow, {}, "glibc malloc: growing and trimming the main arena (Babel's heap is large)"},
    {"clock_gettime", kAllow, {}, "Duktape's clock if the vDSO falls back to the kernel"},
    {"exit_group", kAllow, {}, "_exit: shutdown, the supervisor hung up, or a protocol error"},
    {"futex", kAllow, {WFP_EQ32(1, "op", FUTEX_WAKE_PRIVATE)}, "glibc's pthread_once wakes waiters after a first run"},
    {"getpid", kAllow, {}, "logf puts the pid in each line's prefix"},
    {"gettimeofday", kAllow, {}, "Duktape's clock if the vDSO falls back to the kernel"},
    {"mmap", kAllow, {WFP_NO_EXEC}, "glibc malloc: large blocks, never executable"},
    {"mremap", kAllow, {}, "glibc realloc of a large block (Babel's output)"},
    {"munmap", kAllow, {}, "glibc free of a large block"},
    {"poll", kAllow, {}, "the channel loop waits on the doorbell"},
    {"read", kAllow, {}, "draining the doorbell"},
    {"restart_syscall", kAllow, {}, "the kernel resuming a poll interrupted by SIGSTOP/SIGCONT (an operator, a debugger, a cgroup freeze)"},
    {"sendto", kAllow, {}, "ringing the doorbell (send with MSG_DONTWAIT|MSG_NOSIGNAL)"},
};

// The zygote: its own loop (poll, a spawn request with two fds, fork, reap,
// report), plus everything a freshly forked child does in child_main before
// its own filter is loaded, plus every row of the children's tables (the
// filters stack). It never runs JavaScript once locked.
const Rule kZygoteRules[] = {
    {"clone3", kEnosys, {}, "glibc falls back to clone, whose flags a filter can see (clone3 keeps them in memory)"},
    {"brk", kAllow, {}, "glibc malloc, here and in children"},
    {"chroot", kAllow, {}, "a child's empty root: the removed directory it is in (its own user namespace)"},
    {"clock_gettime", kAllow, {}, "children's CPU deadline and clock"},
    {"clone", kAllow, {WFP_EQ(0, "flags", CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)}, "fork(): glibc's flags exactly; no thread, no namespace"},
    {"close", kAllow, {}, "the fds of a spawn request once passed on; a child dropping the zygote's fds"},
    {"close_range", kAllow, {WFP_EQ32(2, "flags", 0)}, "a child closing every fd but its channel"},
    {"dup2", kAllow, {}, "a child moving its doorbell to fd 3"},
    {"exit_group", kAllow, {}, "_exit: the supervisor hung up; a child's exit"},
    {"fchdir", kAllow, {}, "a child entering the empty directory it then makes its root"},
    {"futex", kAllow, {WFP_EQ32(1, "op", FUTEX_WAKE_PRIVATE)}, "glibc's pthread_once wakes waiters after a first run"},
    {"getpid", kAllow, {}, "logf puts the pid in each line's prefix"},
    {"getppid", kAllow, {}, "a child checks that the zygote is still its parent"},
    {"getrandom", kAllow, {}, "sandboxes' crypto.getRandomValues() and crypto.randomUUID()"},
    {"gettimeofday", kAllow, {}, "children's clock if the vDSO falls back"},
    {"mmap", kAllow, {WFP_NO_EXEC}, "glibc malloc; a child mapping its channel (MAP_SHARED); never executable"},
    {"mremap", kAllow, {}, "glibc realloc, in children"},
    {"munmap", kAllow, {}, "glibc free, in children"},
    {"poll", kAllow, {}, "the zygote's loop; children's channel loop"},
    {"prctl", kAllow, {WFP_EQ32(0, "option", PR_SET_DUMPABLE), WFP_EQ(1, "arg2", 0)}, "a child makes itself not dumpable"},
    {"prctl", kAllow, {WFP_EQ32(0, "option", PR_SET_NO_NEW_PRIVS), WFP_EQ(1, "arg2", 1)}, "a child sets no-new-privileges (and libseccomp again)"},
    {"prctl", kAllow, {WFP_EQ32(0, "option", PR_SET_PDEATHSIG), WFP_EQ(1, "arg2", SIGKILL)}, "a child asks to die with the zygote"},
    {"prlimit64", kAllow, {WFP_EQ32(0, "pid", 0)}, "a child's setrlimit (glibc's is prlimit64 on itself)"},
    {"read", kAllow, {}, "draining the SIGCHLD signalfd; children's doorbell"},
    {"recvmsg", kAllow, {}, "a spawn request and its two fds (SCM_RIGHTS)"},
    {"restart_syscall", kAllow, {}, "the kernel resuming an interrupted poll after SIGSTOP/SIGCONT, here and in children"},
    {"rt_sigprocmask", kAllow, {}, "a child unblocks SIGCHLD"},
    {"seccomp", kAllow, {WFP_EQ32(0, "op", SECCOMP_SET_MODE_FILTER), WFP_EQ32(1, "flags", 0)}, "a child loads its own filter (libseccomp probed the kernel here, before this one)"},
    {"sendto", kAllow, {}, "reports to the supervisor; children's doorbell"},
    {"set_robust_list", kAllow, {}, "glibc's fork: the child registers its robust-futex list again"},
    {"unshare", kAllow, {WFP_EQ(0, "flags", CLONE_NEWUSER)}, "a child's own user namespace, for its empty root"},
    {"wait4", kAllow, {}, "reaping children (waitpid with WNOHANG)"},
    {"write", kAllow, {}, "the zygote's log lines to stderr (children log over their channel)"},
};

#ifdef WFP_SANITIZER_BUILD
// A sanitizer build only (`make asan`), appended to each table: what the
// ASan/UBSan runtime asks of the kernel inside a locked process. A release
// build has none of these rows (tests/golden/seccomp-*.txt).
#define WFP_SANITIZER_ROWS                                                                       \
  {"gettid", kAllow, {}, "sanitizer build only: a report names the thread"},                     \
  {"ioctl", kAllow, {WFP_EQ32(1, "request", TCGETS)},                                            \
   "sanitizer build only: isatty(), for a report's colours"},                                    \
  {"madvise", kAllow, {}, "sanitizer build only: ASan hands freed memory and shadow back"},       \
  {"open", kEnosys, {WFP_EQ32(1, "flags", O_RDONLY), WFP_EQ32(2, "mode", 0660)},                 \
   "sanitizer build only: refused: UBSan starting at its first report reads /proc/self/*"},      \
  {"pipe2", kAllow, {WFP_EQ32(1, "flags", 0)},                                                   \
   "sanitizer build only: UBSan's vptr check probes a vtable by writing it to a pipe"},          \
  {"readlink", kEnosys, {},                                                                      \
   "sanitizer build only: refused: UBSan starting at its first report reads /proc/self/exe"},    \
  {"sched_yield", kAllow, {}, "sanitizer build only: the sanitizer runtime's spin locks"},        \
  {"sigaltstack", kAllow, {WFP_EQ(0, "ss", 0)},                                                  \
   "sanitizer build only: ASan asks which stack it is on before a noreturn call (_exit)"}
// clang-format off
const Rule kSanitizerRunnerRules[] = {
    WFP_SANITIZER_ROWS,
    {"close", kAllow, {}, "sanitizer build only: closing UBSan's probe pipe (pipe2)"},
    {"write", kAllow, {}, "sanitizer build only: reports and the debug trap's line to the report fd"},
};
// The compiler's table has no getrandom; under ASan something in it asks.
const Rule kSanitizerCompilerRules[] = {
    WFP_SANITIZER_ROWS,
    {"close", kAllow, {}, "sanitizer build only: closing UBSan's probe pipe (pipe2)"},
    {"getrandom", kAllow, {}, "sanitizer build only: asked for under ASan (a release compiler never does)"},
    {"write", kAllow, {}, "sanitizer build only: reports and the debug trap's line to the report fd"},
};
const Rule kSanitizerZygoteRules[] = {WFP_SANITIZER_ROWS};
// clang-format on
#undef WFP_SANITIZER_ROWS
#endif

#undef WFP_NO_EXEC
#undef WFP_MASKED
#undef WFP_EQ32
#undef WFP_EQ

std::span<const Rule> rules_of(Role role) {
  switch (role) {
    case Role::zygote: return kZygoteRules;
    case Role::dispatcher:
    case Role::sandbox: return kWorkerRules;
    case Role::compiler: return kCompilerRules;
    case Role::supervisor: break;
  }
  return {};
}

// The rows a sanitizer build adds to the role's table; none in a release build.
std::span<const Rule> sanitizer_rules_of(Role role) {
#ifdef WFP_SANITIZER_BUILD
  if (role == Role::zygote) return kSanitizerZygoteRules;
  if (role == Role::compiler) return kSanitizerCompilerRules;
  if (!rules_of(role).empty()) return kSanitizerRunnerRules;
#else
  (void)role;
#endif
  return {};
}

#ifdef WFP_SANITIZER_BUILD
// The debug trap. Everything here is async-signal-safe: the fd, role and
// number are written with write(2), formatted by hand.
int g_trap_fd = 2;
const char* g_trap_role = "?";
bool g_trap_installed = false;

char* put_str(char* p, char* end, const char* s) {
  while (*s && p < end) *p++ = *s++;
  return p;
}
char* put_num(char* p, char* end, long v) {
  char digits[24];
  int n = 0;
  unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
  do digits[n++] = (char)('0' + u % 10);
  while ((u /= 10) && n < 24);
  if (v < 0 && p < end) *p++ = '-';
  while (n > 0 && p < end) *p++ = digits[--n];
  return p;
}

void on_sigsys(int, siginfo_t* si, void* context) {
  char line[200];
  char* end = line + sizeof line - 1;
  char* p = put_str(line, end, "wfp seccomp debug trap: the ");
  p = put_str(p, end, g_trap_role);
  p = put_str(p, end, " (pid ");
  p = put_num(p, end, getpid());
  p = put_str(p, end, ") made system call ");
  p = put_num(p, end, si->si_syscall);
  p = put_str(p, end, ", not in its policy: dying of SIGSYS\n");
  ssize_t ignored = write(g_trap_fd, line, p - line);
  (void)ignored;
  // The same call again, with the same arguments: the filter traps it
  // again, and as SIGSYS is blocked inside its own handler the kernel
  // kills the process with it. So a sanitizer build dies of SIGSYS where
  // a release build does, and the supervisor and the tests see the same.
  const greg_t* r = ((const ucontext_t*)context)->uc_mcontext.gregs;
  syscall(si->si_syscall, r[REG_RDI], r[REG_RSI], r[REG_RDX], r[REG_R10], r[REG_R8], r[REG_R9]);
  _exit(128 + SIGSYS);  // not reached
}

// Installed once, before the first filter (rt_sigaction is in no table):
// children inherit it from the zygote across fork.
bool install_trap(std::string& error) {
  if (g_trap_installed) return true;
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) {
    error = std::string("sigaction(SIGSYS) for the seccomp debug trap failed: ") + strerror(errno);
    return false;
  }
  g_trap_installed = true;
  return true;
}
#endif

// What an unlisted system call gets: death, or in a sanitizer build the
// debug trap (which dies too, after naming the call).
#ifdef WFP_SANITIZER_BUILD
constexpr uint32_t kDefaultAction = SCMP_ACT_TRAP;
constexpr const char* kDefaultActionName = "SCMP_ACT_TRAP";
constexpr const char* kDefaultText = "trap, report, kill";
#else
constexpr uint32_t kDefaultAction = SCMP_ACT_KILL_PROCESS;
constexpr const char* kDefaultActionName = "SCMP_ACT_KILL_PROCESS";
constexpr const char* kDefaultText = "kill the process";
#endif

scmp_arg_cmp to_libseccomp(const Cond& c) {
  switch (c.kind) {
    case Cond::eq: return {c.arg, SCMP_CMP_EQ, c.value, 0};
    case Cond::eq32:
    case Cond::masked: return {c.arg, SCMP_CMP_MASKED_EQ, c.mask, c.value};
    case Cond::none: break;
  }
  abort();  // callers skip Cond::none
}

std::string cond_text(const Cond& c) {
  switch (c.kind) {
    case Cond::eq: return std::string(c.arg_name) + " == " + c.value_name;
    case Cond::eq32: return std::string("(int)") + c.arg_name + " == " + c.value_name;
    case Cond::masked: return std::string("(") + c.arg_name + " & " + c.mask_name + ") == " + c.value_name;
    case Cond::none: break;
  }
  return "";
}

// One line of the printed policy: action, system call, conditions, reason.
std::string row(const std::string& action, const std::string& what, const std::string& conds,
                const char* why) {
  std::string line = action;
  line.append(line.size() < 13 ? 13 - line.size() : 1, ' ');
  line += what;
  if (!conds.empty()) {
    line.append(line.size() < 29 ? 29 - line.size() : 1, ' ');
    line += conds;
  }
  line.append(line.size() < 63 ? 63 - line.size() : 1, ' ');
  return line + "# " + why + "\n";
}

using FilterPtr = std::unique_ptr<void, decltype(&seccomp_release)>;

}  // namespace

bool seccomp_lock(Role role, std::string& error) {
  std::span<const Rule> rules = rules_of(role);
  if (rules.empty()) {
    error = std::string("no seccomp policy for the ") + role_name(role) + " role";
    return false;
  }
#ifdef WFP_SANITIZER_BUILD
  if (!install_trap(error)) return false;
  g_trap_role = role_name(role);
#endif
  FilterPtr f(seccomp_init(kDefaultAction), seccomp_release);
  if (!f) {
    error = std::string("seccomp_init(") + kDefaultActionName + ") failed";
    return false;
  }
  // Only x86_64 is in the filter. Another architecture's entry point
  // (i386's int 0x80) fails the architecture check, and libseccomp sends
  // x86_64 numbers with __X32_SYSCALL_BIT set (x32) to the same action:
  // both kill the process, not just the thread (the default). No new
  // privileges is libseccomp's default; set here so it cannot change.
  int rc = seccomp_attr_set(f.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0) rc = seccomp_attr_set(f.get(), SCMP_FLTATR_CTL_NNP, 1);
  if (rc != 0) {
    error = std::string("seccomp_attr_set failed: ") + strerror(-rc);
    return false;
  }
  std::span<const Rule> extra = sanitizer_rules_of(role);
  for (const std::span<const Rule> table : {rules, extra}) {
    for (const Rule& r : table) {
      int nr = seccomp_syscall_resolve_name(r.name);
      if (nr == __NR_SCMP_ERROR) {
        // A name libseccomp does not know is a typo in a table: refuse
        // rather than load a policy other than the one printed.
        error = std::string("seccomp: unknown system call ") + r.name;
        return false;
      }
      scmp_arg_cmp args[2];
      unsigned n = 0;
      for (const Cond& c : r.cond)
        if (c.kind != Cond::none) args[n++] = to_libseccomp(c);
      rc = seccomp_rule_add_exact_array(f.get(), r.action, nr, n, args);
      if (rc != 0) {
        error = std::string("seccomp_rule_add(") + r.name + ") failed: " + strerror(-rc);
        return false;
      }
    }
  }
  rc = seccomp_load(f.get());
  if (rc != 0) {
    error = std::string("seccomp_load failed: ") + strerror(-rc);
    return false;
  }
  return true;
}

std::string seccomp_policy_text(Role role) {
  std::span<const Rule> rules = rules_of(role);
  if (rules.empty()) return "";
  std::string name = role_name(role);
  std::string out = "# seccomp policy of the " + name + " role (wfpd --print-seccomp-policy " + name + ")\n";
  out += role == Role::zygote
             ? "# Loaded by the zygote once its runtime image is built; every child\n"
               "# inherits it and stacks its own, so a child's call must pass both.\n"
             : "# Loaded last in the " + name + "'s lock-down, on top of the zygote's policy:\n" +
                   "# a call must pass both.\n";
  out += "# (int)ARG: an int argument's low 32 bits, all that the kernel reads.\n";
  out += row("arch", "x86_64 only", "", "i386 (int 0x80) or any other: kill the process");
  out += row("arch", "nr < 0x40000000", "", "x32 (__X32_SYSCALL_BIT set): kill the process");
  std::span<const Rule> extra = sanitizer_rules_of(role);
  for (const std::span<const Rule> table : {rules, extra}) {
    for (const Rule& r : table) {
      std::string conds;
      for (const Cond& c : r.cond) {
        if (c.kind == Cond::none) continue;
        if (!conds.empty()) conds += " && ";
        conds += cond_text(c);
      }
      out += row(r.action == kAllow ? "allow" : "errno ENOSYS", r.name, conds, r.why);
    }
  }
  out += row("default", kDefaultText, "", "any other system call (SIGSYS)");
  return out;
}

#ifdef WFP_SANITIZER_BUILD
void seccomp_set_report_fd(int fd) { g_trap_fd = fd; }
#endif

}  // namespace wfp
