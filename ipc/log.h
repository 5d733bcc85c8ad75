// Logging shared by every role: one line per event on standard error,
// "wfpd[pid] role level: text". The supervisor's stderr is the journal.
#pragma once
#include <string>

namespace wfp {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void log_set_level(LogLevel level);
// Parses "debug", "info", "warn", "error"; false for anything else.
bool log_parse_level(const std::string& text, LogLevel& out);
void log_set_role(const std::string& role);
// A locked child has no stderr: its lines go to the supervisor instead,
// which writes them under its own name for the child. The sink gets the
// level and the text alone (no pid or role: those come from the channel).
using LogSink = void (*)(LogLevel level, const char* text, size_t len);
void log_set_sink(LogSink sink);
const char* log_level_name(LogLevel level);
bool log_enabled(LogLevel level);
void logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The one shape for a failed system call:
// "where: call(args) failed: ERRNO (text) key=value".
void log_syscall_failure(const char* where, const char* call_and_args, int err,
                         const std::string& extra = "");

}  // namespace wfp

#define WFP_LOG(level, ...)                                   \
  do {                                                        \
    if (::wfp::log_enabled(::wfp::LogLevel::level))           \
      ::wfp::logf(::wfp::LogLevel::level, __VA_ARGS__);       \
  } while (0)
