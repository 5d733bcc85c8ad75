// The zygote and the start of every locked child. The zygote is forked by
// the supervisor at start-up, before any channel or tenant exists; it
// holds a Duktape heap with the runtime prelude already evaluated and only
// forks: a new sandbox inherits that image copy-on-write, so a cold start
// costs loading bytecode, not building a runtime. It trusts the supervisor
// (its only peer) but checks every request's shape anyway.
#include <bsd/unistd.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "ipc/channel.h"
#include "ipc/log.h"
#include "ipc/wire.h"
#include "sandbox/child.h"
#include "sandbox/host.h"
#include "sandbox/natives.h"
#include "sandbox/seccomp_policy.h"

#ifdef WFP_SANITIZER_BUILD
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

namespace wfp {

void run_worker_loop(Role role, Channel& ch, size_t memory_bytes,
                     std::unique_ptr<WorkerHeap> preloaded);

namespace {

// Receives one SpawnRequest and its two fds. Returns false on EOF or a
// malformed message (the caller stops: the supervisor is gone or broken).
bool recv_spawn(int fd, SpawnRequest& req, int fds[2]) {
  char cbuf[CMSG_SPACE(2 * sizeof(int))];
  iovec iov{&req, sizeof req};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n;
  do n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  int got = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      int* p = (int*)CMSG_DATA(c);
      for (int i = 0; i < count; i++) {
        if (got < 2) fds[got++] = p[i];
        else close(p[i]);
      }
    }
  }
  bool ok = n == (ssize_t)sizeof req && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) && got == 2 &&
            req.magic == kZygoteMagic &&
            (req.role == (uint8_t)Role::dispatcher || req.role == (uint8_t)Role::sandbox ||
             req.role == (uint8_t)Role::compiler);
  if (!ok) {
    for (int i = 0; i < got; i++) close(fds[i]);
    return false;
  }
  req.title[sizeof req.title - 1] = '\0';
  return true;
}

void report(int fd, ZygoteReportKind kind, uint32_t seq, int32_t pid, int32_t value) {
  ZygoteReport r{kZygoteMagic, kind, seq, pid, value};
  ssize_t n;
  do n = send(fd, &r, sizeof r, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
}

// A locked child's log sink (ipc/log.h): a log message the supervisor
// writes under its own name for this child.
Channel* g_log_channel = nullptr;
void log_to_channel(LogLevel level, const char* text, size_t len) {
  if (!g_log_channel) return;
  std::string lv = std::string("sys.") + log_level_name(level);
  g_log_channel->send(MsgType::log, 0,
                      WireWriter().str(lv).str(std::string_view(text, std::min(len, kLogTextMax))).data());
}

// The directory every child makes its root: created empty, opened, then
// removed, so it has no entries and can never get one. -1 when it could
// not be made (children then keep the real root).
int g_empty_dir = -1;

void make_empty_dir() {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/wfp-empty-XXXXXX";
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  if (!mkdtemp(path.data())) {
    log_syscall_failure("zygote", "mkdtemp (empty root)", errno, "children keep the real root");
    return;
  }
  int fd = open(path.data(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  rmdir(path.data());
  if (fd < 0) {
    log_syscall_failure("zygote", "open (empty root)", errno, "children keep the real root");
    return;
  }
  // Out of the way of the fds a child arranges (its doorbell goes to 3).
  g_empty_dir = fcntl(fd, F_DUPFD_CLOEXEC, 100);
  close(fd);
}

// In a user namespace of its own (where chroot needs no privilege on the
// host), the child makes the removed directory its root: no file of the
// host is reachable by path any more. Where the kernel refuses user
// namespaces, the child goes on with the real root, which the seccomp
// filter keeps out anyway; the zygote logs that once per child.
void enter_empty_root() {
  if (g_empty_dir < 0) return;
  if (unshare(CLONE_NEWUSER) != 0) {
    log_syscall_failure("lockdown", "unshare(CLONE_NEWUSER)", errno, "no empty root");
    return;
  }
  if (fchdir(g_empty_dir) != 0 || chroot(".") != 0) {
    log_syscall_failure("lockdown", "chroot(empty directory)", errno);
    _exit(71);
  }
}

void set_limit(int resource, rlim_t value, const char* name) {
  rlimit rl{value, value};
  if (setrlimit(resource, &rl) != 0) {
    std::string call = std::string("setrlimit(") + name + ")";
    log_syscall_failure("lockdown", call.c_str(), errno);
    _exit(71);
  }
}

#ifdef WFP_SANITIZER_BUILD
// A sanitizer build only (`make asan`). A locked process can open no file
// and a child has no stderr, so the sanitizer reports of the zygote and of
// every child go to one fd opened here before the zygote locks itself: the
// zygote's own report file when ASAN_OPTIONS has log_path (`make asan`
// counts those files), else a copy of stderr. A child keeps it as its fd 2:
// GCC's UBSan is a runtime of its own that starts at its first report,
// after lock-down, with no options (it cannot read them any more), and so
// writes to stderr.
int g_report_fd = -1;

void prepare_sanitizers_for_lockdown() {
  // The module list and the binary's name are read now, from /proc, for
  // the reports to come; one symbolization loads the debug information, so
  // a report later names functions and lines without opening a file.
  __sanitizer_sandbox_arguments args{0, -1, 0};
  __sanitizer_sandbox_on_notify(&args);
  char where[256];
  __sanitizer_symbolize_pc((void*)&prepare_sanitizers_for_lockdown, "%F %L", where, sizeof where);
  const char* path = __sanitizer_get_report_path();  // "" when reports go to stderr
  int fd = path && path[0] ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  if (fd < 0) fd = dup(2);
  if (fd < 0) return;
  g_report_fd = fcntl(fd, F_DUPFD_CLOEXEC, 101);
  close(fd);
  if (g_report_fd < 0) return;
  __sanitizer_set_report_fd((void*)(intptr_t)g_report_fd);
  seccomp_set_report_fd(g_report_fd);
}
#endif

}  // namespace

int zygote_main(int ctl_fd) {
  log_set_role("zygote");
  setproctitle("zygote");
#ifdef WFP_SANITIZER_BUILD
  // No leak check in a locked process: LeakSanitizer stops the world with
  // ptrace, which seccomp forbids. The zygote and its children only ever
  // leave through _exit (no check runs there); allocations from here on
  // are not even tracked, should a path ever reach exit().
  __lsan_disable();
#endif
  // The zygote dies with the supervisor, and its children die with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_DUMPABLE, 0);

  // Libraries that read files at first use are set up here, before any
  // child locks itself down: OpenSSL's configuration, and the time zone
  // (Duktape's Date calls localtime_r, which would open /etc/localtime).
  // Workers run in UTC, as Cloudflare's do; "UTC0" is a POSIX rule, so
  // glibc reads no zone file for it.
  setenv("TZ", "UTC0", 1);
  tzset();
  init_crypto_before_lockdown();
  make_empty_dir();

  // Build the runtime image once; children inherit it.
  std::unique_ptr<WorkerHeap> image;
  try {
    image = std::make_unique<WorkerHeap>(nullptr);
    // Free the prelude's load-time garbage once, here, rather than in
    // every sandbox after the fork (where it would dirty shared pages).
    image->collect_garbage();
  } catch (const std::exception& e) {
    logf(LogLevel::error, "cannot build the runtime image: %s", e.what());
    return 70;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    log_syscall_failure("zygote", "signalfd(SIGCHLD)", errno);
    return 71;
  }

  // Locked from here on, before the first spawn request is read: the
  // zygote's table allows its loop, fork(), and what a child does in
  // child_main until it stacks its own filter (sandbox/seccomp_policy.cc).
  // libseccomp probes the kernel here, once; children inherit the answers.
#ifdef WFP_SANITIZER_BUILD
  prepare_sanitizers_for_lockdown();
#endif
  std::string error;
  if (!seccomp_lock(Role::zygote, error)) {
    logf(LogLevel::error, "lockdown: %s", error.c_str());
    return 71;
  }

  for (;;) {
    pollfd p[2] = {{ctl_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log_syscall_failure("zygote", "poll", errno);
      return 71;
    }
    if (p[1].revents) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        report(ctl_fd, ZygoteReportKind::exited, 0, pid, status);
    }
    if (p[0].revents) {
      SpawnRequest req;
      int fds[2];
      if (!recv_spawn(ctl_fd, req, fds)) return 0;  // supervisor gone
      pid_t pid = fork();
      if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &mask, nullptr);
        close(sfd);
        // A sandbox gets the pre-built image; the other roles build their
        // own heaps (a dispatcher has one per platform worker).
        std::unique_ptr<WorkerHeap> heap;
        if (req.role == (uint8_t)Role::sandbox) heap = std::move(image);
        else image.release();  // the fork's copy: not ours to free
        close(ctl_fd);
        child_main(req, fds[0], fds[1], std::move(heap));
      }
      int err = pid < 0 ? errno : 0;
      close(fds[0]);
      close(fds[1]);
      report(ctl_fd, ZygoteReportKind::spawned, req.seq, pid < 0 ? -1 : pid, err);
    }
  }
}

// Lock-down, in this order (wfpd(8) documents it): die with the zygote;
// title; attach the channel; close every other fd (0-2 too: log lines go
// over the channel from then on); rlimits; not dumpable; no new
// privileges; seccomp. Only
// then does the loop read a frame, so no tenant byte is seen unlocked.
[[noreturn]] void child_main(const SpawnRequest& req, int shm_fd, int doorbell_fd,
                             std::unique_ptr<WorkerHeap> preloaded) {
  Role role = (Role)req.role;
#ifdef WFP_SANITIZER_BUILD
  __lsan_disable();  // as in the zygote: no leak check once locked
#endif
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) _exit(0);  // the zygote died before we got here
  log_set_role(role_name(role));
  setproctitle("%s", req.title);

  std::string error;
  auto ch = Channel::attach(shm_fd, doorbell_fd, role, error);
  if (!ch) {
    logf(LogLevel::error, "%s", error.c_str());
    _exit(71);
  }
  // Move the doorbell to fd 3 so "every fd but the channel" is one range.
  int bell = ch->doorbell_fd();
  if (bell != 3) {
    if (dup2(bell, 3) < 0) {
      log_syscall_failure("lockdown", "dup2(doorbell, 3)", errno);
      _exit(71);
    }
    close(bell);
  }
  enter_empty_root();
  unsigned last_std_closed = 2;
#ifdef WFP_SANITIZER_BUILD
  // The sanitizer build's report fd stays, as stderr (prepare_sanitizers_for_lockdown).
  if (g_report_fd >= 0 && dup2(g_report_fd, 2) == 2) {
    __sanitizer_set_report_fd((void*)(intptr_t)2);
    seccomp_set_report_fd(2);
    last_std_closed = 1;
  }
#endif
  if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0) {
    log_syscall_failure("lockdown", "close_range(4, ~0)", errno);
    _exit(71);
  }
  // From here on log lines go over the channel, and the fd table holds
  // the channel alone: standard input, output and error are closed.
  g_log_channel = ch.get();
  log_set_sink(log_to_channel);
  if (syscall(SYS_close_range, 0u, last_std_closed, 0u) != 0) {
    log_syscall_failure("lockdown", "close_range(0, 2)", errno);
    _exit(71);
  }
  size_t memory = (size_t)req.memory_mb << 20;
  set_limit(RLIMIT_NOFILE, req.nofile ? req.nofile : 8, "NOFILE");
  set_limit(RLIMIT_NPROC, 0, "NPROC");
  // A sanitizer build's report fd (stderr here) is a regular file.
#ifndef WFP_SANITIZER_BUILD
  set_limit(RLIMIT_FSIZE, 0, "FSIZE");
#endif
  set_limit(RLIMIT_CORE, 0, "CORE");
  // Address space: the backstop behind the heap limit the allocator keeps.
  // The compiler's lowering heap (Babel) has no allocator limit of its own,
  // so this is what bounds one hostile deploy; it is generous because
  // Babel's peak grows with the script.
  // Not in a sanitizer build: ASan reserves terabytes of shadow at start,
  // so any limit that lets it run bounds nothing.
#ifndef WFP_SANITIZER_BUILD
  rlim_t as_mb = role == Role::compiler ? 4 * (rlim_t)req.memory_mb + 512 : 2 * (rlim_t)req.memory_mb + 512;
  set_limit(RLIMIT_AS, as_mb << 20, "AS");
#endif
  if (prctl(PR_SET_DUMPABLE, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    log_syscall_failure("lockdown", "prctl(DUMPABLE/NO_NEW_PRIVS)", errno);
    _exit(71);
  }
  if (!seccomp_lock(role, error)) {
    logf(LogLevel::error, "lockdown: %s", error.c_str());
    _exit(71);
  }
  ch->adopt_doorbell(3);
  run_worker_loop(role, *ch, memory, std::move(preloaded));
  _exit(0);
}

}  // namespace wfp
