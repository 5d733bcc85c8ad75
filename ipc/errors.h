// The kinds of outcome that cross a process boundary. Append-only: each
// code keeps its number and text forever. Tenant text (an exception's
// message) travels beside a code as bounded data; receivers decide on the
// code alone.
#pragma once
#include <cstdint>

namespace wfp {

enum class ErrorCode : uint16_t {
  ok = 0,
  exception = 1,         // uncaught exception in a worker
  cpu_limit = 2,         // Worker exceeded CPU time limit.
  memory_limit = 3,      // Worker has exceeded memory limit.
  wall_limit = 4,        // Worker exceeded wall time limit.
  worker_not_found = 5,  // Worker not found.
  subrequest_limit = 6,  // Too many subrequests.
  process_died = 7,      // the child running the worker died mid-request
  overloaded = 8,        // every slot busy and the queue full
  loop_limit = 9,        // call depth exceeded
  compile_error = 10,    // the script does not compile
  internal = 11,         // a bug or broken environment on our side
  no_handler = 12,       // the script registered no fetch handler
  bad_response = 13,     // the handler did not produce a Response
  invocation_limit = 14, // Too many worker invocations.
  fetch_failed = 15,     // a fetch() failed (network, TLS, destination refused)
  throttled = 16,        // a user worker whose sandboxes keep dying, refused a while
};

// One-line text of a code; for codes a worker sees, the exact Workers string.
const char* error_text(ErrorCode code);

}  // namespace wfp
