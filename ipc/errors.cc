// Texts of the cross-process error codes; linked by every role.
#include "ipc/errors.h"

namespace wfp {

const char* error_text(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::exception: return "Worker threw an exception.";
    case ErrorCode::cpu_limit: return "Worker exceeded CPU time limit.";
    case ErrorCode::memory_limit: return "Worker has exceeded memory limit.";
    case ErrorCode::wall_limit: return "Worker exceeded wall time limit.";
    case ErrorCode::worker_not_found: return "Worker not found.";
    case ErrorCode::subrequest_limit: return "Too many subrequests.";
    case ErrorCode::process_died: return "Worker process died.";
    case ErrorCode::overloaded: return "Worker overloaded.";
    case ErrorCode::loop_limit: return "Worker call depth exceeded.";
    case ErrorCode::compile_error: return "Script failed to compile.";
    case ErrorCode::internal: return "Internal error.";
    case ErrorCode::no_handler: return "No fetch handler is registered.";
    case ErrorCode::bad_response: return "Handler did not return a Response.";
    case ErrorCode::invocation_limit: return "Too many worker invocations.";
    case ErrorCode::fetch_failed: return "fetch failed";
    case ErrorCode::throttled: return "Worker is unavailable: it keeps crashing.";
  }
  return "unknown error";
}

}  // namespace wfp
