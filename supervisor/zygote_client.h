// The supervisor's side of the zygote: starts it (fork, before any
// channel exists), asks it for children, hears of their deaths. Runs in
// the supervisor; the zygote's reports are checked for shape.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "ipc/messages.h"
#include "ipc/zygote_protocol.h"

struct event_base;
struct event;

namespace wfp {

class ZygoteClient {
 public:
  using OnExit = std::function<void(pid_t pid, int status)>;
  using OnSpawned = std::function<void(uint32_t seq, pid_t pid, int err)>;

  // Forks the zygote. Fatal errors throw std::runtime_error. Called at
  // start and again by the daemon when a zygote died (Daemon::zygote_died).
  ZygoteClient(event_base* base, OnSpawned on_spawned, OnExit on_exit);
  ~ZygoteClient();

  // Asks for a child with the channel fds; the answer arrives via
  // on_spawned(seq, …). Returns false if the zygote can't be reached.
  bool spawn(uint32_t seq, Role role, const std::string& title, uint32_t memory_mb,
             int shm_fd, int doorbell_fd);
  pid_t pid() const { return pid_; }
  bool alive() const { return fd_ >= 0; }

 private:
  static void on_readable(int fd, short, void* arg);
  event_base* base_;
  OnSpawned on_spawned_;
  OnExit on_exit_;
  pid_t pid_ = -1;
  bool reaped_ = false;  // waited for: pid_ is only a name in log lines now
  int fd_ = -1;
  event* ev_ = nullptr;
};

}  // namespace wfp
