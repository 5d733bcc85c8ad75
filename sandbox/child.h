// Entry points of the processes the zygote makes. Runs in the zygote and
// in locked children; includes nothing from supervisor/ (include direction
// is trust direction).
#pragma once
#include <memory>

#include "ipc/messages.h"
#include "ipc/zygote_protocol.h"

namespace wfp {

class WorkerHeap;

// The zygote's loop: reads SpawnRequests from `ctl_fd`, forks children,
// reports births and deaths. Returns the exit status for the process.
int zygote_main(int ctl_fd);

// A freshly forked child: attaches its channel, locks itself down in the
// documented order, then serves its channel until the supervisor hangs up.
[[noreturn]] void child_main(const SpawnRequest& req, int shm_fd, int doorbell_fd,
                             std::unique_ptr<WorkerHeap> preloaded);

}  // namespace wfp
