// The supervisor ↔ zygote control protocol: fixed-size structs over a
// SOCK_SEQPACKET socketpair, the two fds of a new child's channel attached
// with SCM_RIGHTS. Linked by the supervisor and the zygote. The zygote
// forks children and reports their births and deaths; it never sees a
// tenant's script, so it can't leak one into a later child.
#pragma once
#include <cstdint>

namespace wfp {

constexpr uint32_t kZygoteMagic = 0x77667a31;  // "wfz1"

struct SpawnRequest {
  uint32_t magic;
  uint32_t seq;        // echoed in the report
  uint8_t role;        // Role::dispatcher, sandbox or compiler
  uint8_t pad[3];
  uint32_t memory_mb;  // heap limit of the child
  uint32_t nofile;     // RLIMIT_NOFILE of the child
  char title[112];     // process title, NUL-terminated
};

enum class ZygoteReportKind : uint32_t { spawned = 1, exited = 2 };

struct ZygoteReport {
  uint32_t magic;
  ZygoteReportKind kind;
  uint32_t seq;   // spawned: the request's seq
  int32_t pid;    // spawned: the child's pid (or -1); exited: the pid
  int32_t value;  // spawned: errno on failure; exited: wait status
};

}  // namespace wfp
