// The supervisor's side of the zygote (see zygote_client.h).
#include "supervisor/zygote_client.h"

#include <event2/event.h>
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
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("zygote: fork failed: ") + strerror(errno));
  if (pid == 0) {
    // Keep only stdio and the control socket: the zygote must not hold the
    // listeners, the store or the admin socket, so no child can inherit them.
    close(sv[0]);
    if (sv[1] != 3) {
      dup2(sv[1], 3);
      close(sv[1]);
    }
    syscall(SYS_close_range, 4u, ~0u, 0u);
    _exit(zygote_main(3));
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
  if (pid_ > 0) {
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
      // The zygote is gone or broken; nothing more can be spawned. The
      // daemon notices alive() == false and exits (systemd restarts it).
      logf(LogLevel::error, "zygote: control channel %s", n == 0 ? "closed" : "broken");
      event_del(self->ev_);
      close(self->fd_);
      self->fd_ = -1;
      int status = 0;
      if (waitpid(self->pid_, &status, WNOHANG) > 0) self->pid_ = -1;
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
