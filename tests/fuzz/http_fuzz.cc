// libFuzzer target: the HTTP/1.1 front (supervisor/http.cc: our strict
// framing checks, then libhttp-parser on the bytes they accepted). One real
// HttpServer on a Unix socket runs on its own event_base; each input is sent
// by a new client in up to four writes, with the loop run in between, until
// the server has answered and gone quiet or closed. The connection must then
// be released once the client hangs up. Every request the handler sees must
// respect the limits the server was given.
//
// The head and chunk checkers are file-local in http.cc, so the server is
// driven whole; a cheaper target would need them exposed (see the report).
// Input: [split byte] then the bytes a client sends.
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "supervisor/http.h"

namespace {

using Clock = std::chrono::steady_clock;

wfp::HttpLimits fuzz_limits() {
  wfp::HttpLimits l;
  l.max_header_bytes = 4096;
  l.max_body_bytes = 8192;
  // Long enough never to fire during one input: deadlines are not fuzzed.
  l.header_timeout_ms = 60000;
  l.body_timeout_ms = 60000;
  l.idle_timeout_ms = 60000;
  l.max_connections = 16;
  return l;
}

struct Server {
  event_base* base = nullptr;
  std::unique_ptr<wfp::HttpServer> http;
  std::string path;
  size_t requests = 0;

  Server() {
    char dir[] = "/tmp/wfp-http-fuzz-XXXXXX";
    if (!mkdtemp(dir)) abort();
    path = std::string(dir) + "/s";
    base = event_base_new();
    std::string error;
    int fd = wfp::http_listen_unix(path, 0600, -1, error);
    if (fd < 0) {
      fprintf(stderr, "http_fuzz: %s\n", error.c_str());
      abort();
    }
    // The socket file is only needed to connect; the listener keeps the fd.
    http = std::make_unique<wfp::HttpServer>(base, fd, fuzz_limits(),
                                             [this](std::shared_ptr<wfp::HttpExchange> ex) {
                                               handle(*ex);
                                             });
  }

  void handle(wfp::HttpExchange& ex) {
    const wfp::HttpRequest& r = ex.request();
    requests++;
    if (r.method.empty() || r.target.empty()) __builtin_trap();
    if (r.body.size() > fuzz_limits().max_body_bytes) __builtin_trap();
    if (r.headers.size() > 100) __builtin_trap();
    wfp::HttpResponse resp;
    // Some answers close the connection, some echo back what was read.
    resp.close = (r.body.size() & 1) != 0;
    resp.headers.push_back({"Content-Type", "text/plain"});
    resp.body = r.method + " " + r.target + "\n" + r.body;
    ex.respond(std::move(resp));
  }

  int connect_client() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (connect(fd, (sockaddr*)&sa, sizeof sa) != 0) {
      perror("http_fuzz: connect");
      abort();
    }
    return fd;
  }

  void pump() { event_base_loop(base, EVLOOP_NONBLOCK); }
};

Server* the_server = nullptr;

// The socket's directory goes when the run ends (libFuzzer ends with exit()).
void remove_socket() {
  if (!the_server) return;
  unlink(the_server->path.c_str());
  rmdir(the_server->path.substr(0, the_server->path.rfind('/')).c_str());
}

Server& server() {
  if (!the_server) {
    the_server = new Server();  // lives for the whole run
    atexit(remove_socket);
  }
  return *the_server;
}

// Reads what the server wrote; false once it closed or reset.
bool drain(int fd, size_t& got) {
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      got += size_t(n);
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Server& s = server();
  int splits = 1 + data[0] % 4;
  std::string_view in((const char*)data + 1, size - 1);

  int fd = s.connect_client();
  s.pump();  // accept
  size_t got = 0;
  bool open = true;
  size_t chunk = in.size() / splits + 1;
  for (size_t off = 0; off < in.size() && open; off += chunk) {
    std::string_view part = in.substr(off, chunk);
    while (!part.empty() && open) {
      ssize_t n = send(fd, part.data(), part.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        part.remove_prefix(size_t(n));
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        open = false;  // the server closed: the rest is never read
      }
      s.pump();
      open = open && drain(fd, got);
    }
  }
  // Until the server has said all it will: a few quiet turns of the loop.
  for (int quiet = 0; open && quiet < 3;) {
    size_t before = got;
    s.pump();
    open = drain(fd, got);
    quiet = got == before ? quiet + 1 : 0;
  }
  close(fd);
  // The server notices the hang-up and frees the connection (a closing
  // response lingers until then).
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (s.http->connection_count() > 0) {
    if (Clock::now() > deadline) {
      fprintf(stderr, "http_fuzz: a connection outlived its client\n");
      __builtin_trap();
    }
    s.pump();
    if (s.http->connection_count() > 0) poll(nullptr, 0, 1);
  }
  return 0;
}
