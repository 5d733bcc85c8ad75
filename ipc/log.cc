// Logging for every role; runs in the supervisor and in locked children
// (which only write to their inherited stderr, fd 2).
#include "ipc/log.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace wfp {
namespace {
LogLevel g_level = LogLevel::info;  // process-wide by nature: fd 2 is too
char g_role[48] = "supervisor";
// The pid in each line's prefix, read once per process (a forked child
// sets its role, and so its pid, first): a log line costs one write.
pid_t g_pid = 0;
LogSink g_sink = nullptr;
const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}
}  // namespace

void log_set_level(LogLevel level) { g_level = level; }
void log_set_sink(LogSink sink) { g_sink = sink; }
const char* log_level_name(LogLevel level) { return level_name(level); }
bool log_enabled(LogLevel level) { return level >= g_level; }
void log_set_role(const std::string& role) {
  snprintf(g_role, sizeof g_role, "%s", role.c_str());
  g_pid = getpid();
}
bool log_parse_level(const std::string& t, LogLevel& out) {
  if (t == "debug") out = LogLevel::debug;
  else if (t == "info") out = LogLevel::info;
  else if (t == "warn") out = LogLevel::warn;
  else if (t == "error") out = LogLevel::error;
  else return false;
  return true;
}

void logf(LogLevel level, const char* fmt, ...) {
  // A locked child's lines go to the supervisor, whose level decides.
  if (!g_sink && !log_enabled(level)) return;
  int saved = errno;
  char buf[4096];
  if (g_pid == 0) g_pid = getpid();
  int n = snprintf(buf, sizeof buf, "wfpd[%d] %s %s: ", (int)g_pid, g_role, level_name(level));
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  size_t len = n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  // A log line is one line: tenant text must not forge a second one.
  for (size_t i = n; i < len; i++)
    if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
  if (g_sink) {
    g_sink(level, buf + n, len - n);
    errno = saved;
    return;
  }
  buf[len++] = '\n';
  ssize_t w = write(2, buf, len);
  (void)w;
  errno = saved;
}

void log_syscall_failure(const char* where, const char* call, int err, const std::string& extra) {
  const char* name = strerrorname_np(err);
  logf(LogLevel::error, "%s: %s failed: %s (%s)%s%s", where, call, name ? name : "?", strerror(err),
       extra.empty() ? "" : " ", extra.c_str());
}

}  // namespace wfp
