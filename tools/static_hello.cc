// The ceiling of tools/bench-http: the least an HTTP server on libevent's
// evhttp can do, answering "hello" to every request. Runs on the build
// machine as the invoking user, on loopback only; trusts nothing it reads.
// Usage: static_hello  (binds 127.0.0.1 on a free port, prints the port
// on stdout, serves until SIGTERM or SIGINT)
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

void answer_hello(evhttp_request* req, void*) {
  evbuffer* body = evbuffer_new();
  if (!body) {
    evhttp_send_error(req, HTTP_INTERNAL, nullptr);
    return;
  }
  evbuffer_add(body, "hello\n", 6);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
  evhttp_send_reply(req, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

void stop_loop(evutil_socket_t, short, void* base) { event_base_loopexit(static_cast<event_base*>(base), nullptr); }

}  // namespace

int main() {
  std::signal(SIGPIPE, SIG_IGN);
  event_base* base = event_base_new();
  if (!base) {
    std::fprintf(stderr, "static_hello: event_base_new() failed\n");
    return 1;
  }
  evhttp* http = evhttp_new(base);
  evhttp_set_gencb(http, answer_hello, nullptr);
  evhttp_bound_socket* sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!sock) {
    std::fprintf(stderr, "static_hello: cannot bind 127.0.0.1:0\n");
    return 1;
  }
  sockaddr_storage ss{};
  ev_socklen_t len = sizeof ss;
  getsockname(evhttp_bound_socket_get_fd(sock), reinterpret_cast<sockaddr*>(&ss), &len);
  std::printf("%d\n", ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
  std::fflush(stdout);

  event* term = evsignal_new(base, SIGTERM, stop_loop, base);
  event* intr = evsignal_new(base, SIGINT, stop_loop, base);
  event_add(term, nullptr);
  event_add(intr, nullptr);
  event_base_dispatch(base);

  event_free(term);
  event_free(intr);
  evhttp_free(http);
  event_base_free(base);
  return 0;
}
