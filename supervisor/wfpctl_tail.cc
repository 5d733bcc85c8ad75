// `wfpctl tail`: creates a tail session, long-polls its events and prints
// them, like `wrangler tail`. Ctrl-C (or SIGTERM) ends the session on wfpd
// from the signal handler itself, with async-signal-safe calls only, so
// the poll that is waiting returns at once instead of after its timeout.
#include "supervisor/wfpctl_tail.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "supervisor/wfpctl_client.h"

namespace wfp {
namespace {

using ojson = nlohmann::ordered_json;

// What the signal handler needs, prepared before it is installed.
sockaddr_un g_addr;
char g_delete[2048];
size_t g_delete_len = 0;
volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
  int saved = errno;
  g_stop = 1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    if (connect(fd, (const sockaddr*)&g_addr, sizeof g_addr) == 0) {
      size_t off = 0;
      while (off < g_delete_len) {
        ssize_t n = write(fd, g_delete + off, g_delete_len - off);
        if (n <= 0) break;
        off += (size_t)n;
      }
      char buf[512];
      while (read(fd, buf, sizeof buf) > 0) {
      }
    }
    close(fd);
  }
  errno = saved;
}

std::string text_of(const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

std::string utc_time(const ojson& ms_value) {
  if (!ms_value.is_number()) return "-";
  int64_t ms = ms_value.get<int64_t>();
  time_t secs = (time_t)(ms / 1000);
  tm utc;
  gmtime_r(&secs, &utc);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &utc);
  char out[64];
  snprintf(out, sizeof out, "%s.%03dZ", buf, (int)(ms % 1000));
  return out;
}

void print_event(const ojson& e) {
  std::string when = utc_time(e.value("eventTimestamp", ojson()));
  std::string id = text_of(e.value("requestId", ojson("-")));
  if (e.value("afterResponse", false)) {
    printf("%s  (after the response) request %s\n", when.c_str(), printable(id).c_str());
  } else {
    const ojson ev = e.value("event", ojson::object());
    const ojson req = ev.is_object() ? ev.value("request", ojson::object()) : ojson::object();
    std::string method = text_of(req.value("method", ojson("")));
    std::string url = text_of(req.value("url", ojson("")));
    std::string status = "-";
    if (ev.is_object() && ev.contains("response") && ev["response"].is_object())
      status = text_of(ev["response"].value("status", ojson("-")));
    double cpu = e.value("cpuTime", 0.0), wall = e.value("wallTime", 0.0);
    printf("%s  %s %s -> %s %s  (cpu %.2f ms, wall %.2f ms, request %s)\n", when.c_str(),
           method.empty() ? "?" : printable(method).c_str(), url.empty() ? "?" : printable(url).c_str(),
           status.c_str(), printable(text_of(e.value("outcome", ojson("-")))).c_str(), cpu, wall,
           printable(id).c_str());
  }
  for (auto& l : e.value("logs", ojson::array())) {
    std::string text;
    for (auto& part : l.value("message", ojson::array())) text += (text.empty() ? "" : " ") + text_of(part);
    printf("  (%s) %s\n", printable(text_of(l.value("level", ojson("log")))).c_str(), printable(text).c_str());
  }
  for (auto& x : e.value("exceptions", ojson::array())) {
    printf("  (exception) %s: %s\n", printable(text_of(x.value("name", ojson("Error")))).c_str(),
           printable(text_of(x.value("message", ojson("")))).c_str());
    std::string stack = x.value("stack", std::string());
    size_t start = 0;
    while (start < stack.size()) {
      size_t nl = stack.find('\n', start);
      std::string line = stack.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      // The first line of a stack repeats the message.
      if (start > 0 && !line.empty()) printf("      %s\n", printable(line).c_str());
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
}

// The API's envelope: the result, or false with the errors printed (each
// after `why`, unless `quiet`).
bool read_envelope(const AdminReply& reply, ojson& result, bool quiet, const char* why = "") {
  ojson body = ojson::parse(reply.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    if (!quiet) fprintf(stderr, "wfpctl: %swfpd answered HTTP %d with no API envelope\n", why, reply.status);
    return false;
  }
  if (body.value("success", false) != true || reply.status >= 400) {
    if (quiet) return false;
    bool any = false;
    for (auto& e : body.value("errors", ojson::array()))
      if (e.is_object() && e.contains("message")) {
        fprintf(stderr, "wfpctl: %s%s\n", why, printable(text_of(e["message"])).c_str());
        any = true;
      }
    if (!any) fprintf(stderr, "wfpctl: %swfpd refused the request (HTTP %d)\n", why, reply.status);
    return false;
  }
  result = body.value("result", ojson());
  return true;
}

// One request; false with the failure printed after `why`.
bool call(const std::string& socket, const std::string& method, const std::string& target, AdminReply& reply,
          const char* why = "") {
  AdminCallResult r = admin_call(socket, method, target, "", "", reply);
  if (r.status == AdminCallStatus::ok) return true;
  if (g_stop) return false;
  if (r.status == AdminCallStatus::connect_failed) {
    const char* hint = (r.errno_value == ENOENT || r.errno_value == ECONNREFUSED) ? " (is wfpd running?)"
                       : (r.errno_value == EACCES || r.errno_value == EPERM)
                           ? " (is your user in wfpd's group, wfp by default?)"
                           : "";
    fprintf(stderr, "wfpctl: %scannot connect to wfpd at %s: %s%s\n", why, socket.c_str(), r.error.c_str(), hint);
  } else {
    fprintf(stderr, "wfpctl: %slost the connection to wfpd at %s: %s\n", why, socket.c_str(), r.error.c_str());
  }
  return false;
}

}  // namespace

int run_tail(const std::string& socket, const std::string& base, const std::string& what, bool json) {
  AdminReply reply;
  if (!call(socket, "POST", base + "/tails", reply)) return 1;
  ojson session;
  if (!read_envelope(reply, session, false)) return 1;
  std::string id = session.is_object() ? text_of(session.value("id", ojson(""))) : "";
  if (id.empty() || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    fprintf(stderr, "wfpctl: wfpd gave no usable tail id\n");
    return 1;
  }
  std::string session_path = base + "/tails/" + id;

  // The signal handler's request, made now (it may not allocate).
  memset(&g_addr, 0, sizeof g_addr);
  g_addr.sun_family = AF_UNIX;
  if (socket.size() < sizeof g_addr.sun_path) memcpy(g_addr.sun_path, socket.data(), socket.size());
  std::string del = "DELETE " + session_path + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n" +
                    "Connection: close\r\n\r\n";
  if (del.size() < sizeof g_delete) {
    memcpy(g_delete, del.data(), del.size());
    g_delete_len = del.size();
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  // A closed pipe (`wfpctl tail … | head`) ends the tail through EPIPE.
  signal(SIGPIPE, SIG_IGN);

  if (!json) fprintf(stderr, "wfpctl: tailing %s; Ctrl-C ends it\n", what.c_str());
  int status = 0;
  while (!g_stop) {
    AdminReply r;
    // Once the session runs, a poll that fails means wfpd ended it: it
    // stopped (its listener may reset a poll it had not accepted yet), or
    // the session was deleted or expired.
    const char* ended = "wfpd ended the tail: ";
    if (!call(socket, "GET", session_path + "/events?wait=25", r, ended)) {
      status = g_stop ? 0 : 1;
      break;
    }
    ojson result;
    if (!read_envelope(r, result, g_stop, ended)) {
      status = g_stop ? 0 : 1;
      break;
    }
    for (auto& e : result.value("events", ojson::array())) {
      if (json) printf("%s\n", e.dump(-1, ' ', false, ojson::error_handler_t::replace).c_str());
      else print_event(e);
    }
    uint64_t dropped = result.value("dropped", (uint64_t)0);
    if (dropped) fprintf(stderr, "wfpctl: %llu events were dropped: the tail fell behind\n", (unsigned long long)dropped);
    if (fflush(stdout) != 0 || ferror(stdout)) {
      fprintf(stderr, "wfpctl: cannot write to standard output: %s\n", strerror(errno));
      status = 1;
      break;
    }
    if (result.value("closed", false) && !g_stop) {
      fprintf(stderr, "wfpctl: wfpd ended the tail (it is stopping, or the session was deleted)\n");
      return 1;
    }
  }
  if (!g_stop) {
    AdminReply ignored;
    admin_call(socket, "DELETE", session_path, "", "", ignored);
  }
  return status;
}

}  // namespace wfp
