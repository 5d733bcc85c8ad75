// The supervisor's side of the zygote (see zygote_client.h).
#include "supervisor/zygote_client.h"

#include <event2/event.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "ipc/log.h"
#include "sandbox/child.h"

namespace wfp {

ZygoteClient::ZygoteClient(event_base* base, OnSpawned on_spawned, OnExit on_exit)
    : base_(base), on_spawned_(std::move(on_spawned)), on_exit_(std::move(on_exit)) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error(std::string("zygote: socketpair failed: ") + strerror(errno));
  // The zygote's command line, made before the fork: the supervisor has
  // threads, so the child calls nothing that may allocate before its exec.
  char self[] = "wfpd", flag[] = "--zygote";
  char level[8];
  snprintf(level, sizeof level, "%s",
           log_enabled(LogLevel::debug)  ? "debug"
           : log_enabled(LogLevel::info) ? "info"
           : log_enabled(LogLevel::warn) ? "warn"
                                         : "error");
  char* argv[] = {self, flag, level, nullptr};
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("zygote: fork failed: ") + strerror(errno));
  if (pid == 0) {
    // Keep only stdio and the control socket: the zygote must not hold the
    // listeners, the store or the admin socket, so no child can inherit them.
    close(sv[0]);
    if (sv[1] != 3) {
      dup2(sv[1], 3);  // the copy is not close-on-exec
      close(sv[1]);
    } else {
      fcntl(3, F_SETFD, 0);
    }
    syscall(SYS_close_range, 4u, ~0u, 0u);
    // libevent's handlers would be inherited as "caught" and reset by the
    // exec anyway; a blocked or ignored signal would not be.
    for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGPIPE}) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // wfpd itself again (wfpd_main.cc, --zygote): a fresh image, so neither
    // the zygote nor a child it forks holds a copy of the supervisor's
    // memory, however long the supervisor has run before this zygote.
    execv("/proc/self/exe", argv);
    static const char kFailed[] = "wfpd: zygote: cannot run /proc/self/exe\n";
    ssize_t ignored = write(2, kFailed, sizeof kFailed - 1);
    (void)ignored;
    _exit(127);
  }
  close(sv[1]);
  pid_ = pid;
  fd_ = sv[0];
  ev_ = event_new(base_, fd_, EV_READ | EV_PERSIST, on_readable, this);
  event_add(ev_, nullptr);
}

ZygoteClient::~ZygoteClient() {
  if (ev_) event_free(ev_);
  if (fd_ >= 0) close(fd_);
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool ZygoteClient::spawn(uint32_t seq, Role role, const std::string& title, uint32_t memory_mb,
                         int shm_fd, int doorbell_fd) {
  if (fd_ < 0) return false;
  SpawnRequest req{};
  req.magic = kZygoteMagic;
  req.seq = seq;
  req.role = (uint8_t)role;
  req.memory_mb = memory_mb;
  req.nofile = 8;
  snprintf(req.title, sizeof req.title, "%s", title.c_str());
  int fds[2] = {shm_fd, doorbell_fd};
  char cbuf[CMSG_SPACE(sizeof fds)] = {};
  iovec iov{&req, sizeof req};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t n;
  do n = sendmsg(fd_, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof req) {
    log_syscall_failure("zygote", "sendmsg(spawn)", errno);
    return false;
  }
  return true;
}

void ZygoteClient::on_readable(int fd, short, void* arg) {
  auto* self = (ZygoteClient*)arg;
  for (;;) {
    ZygoteReport r;
    ssize_t n = recv(fd, &r, sizeof r, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || n != (ssize_t)sizeof r || r.magic != kZygoteMagic) {
      // The zygote is gone or broken; nothing more can be spawned through
      // it. The daemon starts another (Daemon::zygote_died).
      logf(LogLevel::error, "zygote: control channel %s", n == 0 ? "closed" : "broken");
      event_del(self->ev_);
      close(self->fd_);
      self->fd_ = -1;
      // Its socket closes as it exits, a moment before it can be waited
      // for; one that broke the channel but lives on is ended here.
      int status = 0;
      pid_t got = 0;
      for (int i = 0; i < 50 && got == 0; i++) {
        got = waitpid(self->pid_, &status, WNOHANG);
        if (got == 0) usleep(2000);
      }
      if (got == 0) {
        kill(self->pid_, SIGKILL);
        got = waitpid(self->pid_, &status, 0);
      }
      if (got == self->pid_) self->reaped_ = true;
      try {
        self->on_exit_(-1, status);
      } catch (...) {
      }
      return;
    }
    try {
      if (r.kind == ZygoteReportKind::spawned) self->on_spawned_(r.seq, r.pid, r.value);
      else if (r.kind == ZygoteReportKind::exited) self->on_exit_(r.pid, r.value);
    } catch (const std::exception& e) {
      logf(LogLevel::error, "zygote report handler: %s", e.what());
    }
  }
}

}  // namespace wfp
