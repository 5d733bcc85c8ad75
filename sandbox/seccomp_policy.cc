// Seccomp allow-lists (libseccomp). Runs in each locked child after its
// fds are closed and its rlimits set, before any tenant byte is compiled.
// Default action: kill the process. One syscall per row, with who needs
// it; adding one is a commit of its own (STYLE.md).
#include "sandbox/seccomp_policy.h"

#include <cerrno>
#include <cstring>
#include <sys/mman.h>
#include <seccomp.h>

namespace wfp {
namespace {

enum Arg { any, no_exec };  // no_exec: argument 2 (prot) without PROT_EXEC

struct Rule {
  const char* name;
  Arg arg;
  const char* why;
};

// What a runner (dispatcher, sandbox, compiler) needs once locked: its
// poll loop over the channel, the allocator, the clock, and exit.
const Rule kRunnerRules[] = {
    {"brk", any, "glibc malloc: growing the main arena"},
    {"clock_gettime", any, "CPU deadline (thread CPU clock is not in the vDSO)"},
    {"clock_nanosleep", any, "none expected; harmless"},
    {"close", any, "closing the channel at exit"},
    {"exit", any, "thread exit"},
    {"exit_group", any, "process exit"},
    {"futex", any, "glibc locks (stdio, malloc)"},
    {"getpid", any, "log lines carry the pid"},
    {"getrandom", any, "glibc malloc and hash seeds"},
    {"gettimeofday", any, "Date.now() when the vDSO falls back"},
    {"madvise", any, "glibc malloc returning memory"},
    {"mmap", no_exec, "glibc malloc: large blocks and arenas, never executable"},
    {"mprotect", no_exec, "glibc malloc arena growth, never executable"},
    {"mremap", any, "glibc realloc of large blocks"},
    {"munmap", any, "glibc free of large blocks"},
    {"poll", any, "the channel loop waits on the doorbell"},
    {"ppoll", any, "the channel loop (glibc may use ppoll)"},
    {"read", any, "draining the doorbell"},
    {"recvfrom", any, "draining the doorbell (socket reads)"},
    {"rt_sigprocmask", any, "glibc abort path"},
    {"rt_sigreturn", any, "return from a signal handler"},
    {"sched_yield", any, "glibc lock back-off"},
    {"sendto", any, "ringing the doorbell (send with MSG_NOSIGNAL)"},
    {"write", any, "ringing the doorbell; log lines to stderr"},
    {"writev", any, "glibc stderr writes"},
};

}  // namespace

bool seccomp_lock(Role role, std::string& error) {
  (void)role;  // every runner has the same list for now
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!f) {
    error = "seccomp_init failed";
    return false;
  }
  int rc = 0;
  for (const Rule& r : kRunnerRules) {
    int nr = seccomp_syscall_resolve_name(r.name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (r.arg == no_exec)
      rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    else
      rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
    if (rc != 0) {
      error = std::string("seccomp_rule_add(") + r.name + ") failed: " + strerror(-rc);
      seccomp_release(f);
      return false;
    }
  }
  rc = seccomp_load(f);
  seccomp_release(f);
  if (rc != 0) {
    error = std::string("seccomp_load failed: ") + strerror(-rc);
    return false;
  }
  return true;
}

std::string seccomp_policy_text(Role role) {
  std::string out = std::string("# seccomp policy of the ") + role_name(role) +
                    " role\n# default: kill the process; x32 and i386 entry points: kill\n";
  for (const Rule& r : kRunnerRules) {
    out += "allow ";
    out += r.name;
    if (r.arg == no_exec) out += " (prot without PROT_EXEC)";
    out += "\t# ";
    out += r.why;
    out += "\n";
  }
  return out;
}

}  // namespace wfp
