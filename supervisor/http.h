// The HTTP/1.1 front: listeners on libevent bufferevents with a strict
// request parser (libhttp-parser plus our own checks of RFC 9112's framing
// rules). Used by the public listener and by the admin API. Runs in the
// supervisor's event loop; every byte it reads comes from a hostile client.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct event_base;

namespace wfp {

struct HttpHeader {
  std::string name;   // as received (case kept)
  std::string value;  // leading/trailing whitespace stripped
};

struct HttpRequest {
  std::string method;        // every method but CONNECT is passed on, OPTIONS and PATCH too
  std::string target;        // request-target as received ("/path?query");
                             // absolute-form is reduced to origin-form
                             // (its authority must equal Host); "*" for
                             // OPTIONS; CONNECT is refused with 501
  std::string path;          // target's path, no query
  std::string host;          // the one Host header's value (as received)
  int version_minor = 1;     // HTTP/1.x
  std::vector<HttpHeader> headers;  // trailers are never merged in
  std::string body;          // de-chunked; at most max_body_bytes
  std::string peer;          // "ADDR:PORT", or "unix" for Unix sockets
  long peer_uid = -1;        // a Unix socket's peer (SO_PEERCRED); -1 on TCP
  bool keep_alive = true;
  // First header with this name (ASCII case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;  // Content-Length/Connection/Date are added
  std::string body;
  bool close = false;               // close the connection after sending
};

struct HttpLimits {
  size_t max_header_bytes = 32 * 1024;   // request line + headers; 414/431 past it
  size_t max_body_bytes = 16 * 1024 * 1024;  // 413 past it
  int header_timeout_ms = 10000;  // whole request head must arrive by then
  int body_timeout_ms = 60000;    // whole body must arrive by then
  int idle_timeout_ms = 60000;    // keep-alive connection with no request
  size_t max_connections = 10000; // past it new connections get 503 + close
};

// One request/response exchange. The handler may answer later (after IPC);
// if the client has gone away meanwhile, respond() does nothing. Use it on
// the event loop's thread only. Dropping the last reference without
// responding answers 500 and closes the connection.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;
  virtual void respond(HttpResponse response) = 0;
  virtual bool client_connected() const = 0;
};

class HttpServer {
 public:
  using Handler = std::function<void(std::shared_ptr<HttpExchange>)>;
  // Takes ownership of `listen_fd` (already bound and listening, non-blocking).
  HttpServer(event_base* base, int listen_fd, HttpLimits limits, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void set_limits(const HttpLimits& limits);
  size_t connection_count() const;
  // Stops accepting; open connections finish their current exchange.
  void stop_accepting();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Binds and listens on "ADDR:PORT" ("127.0.0.1:0", "[::1]:8080", "*:8080").
// Returns the fd (non-blocking, close-on-exec) or -1 with `error` filled;
// `bound` gets the actual address, with the port the kernel picked.
int http_listen_tcp(const std::string& addr_port, std::string& bound, std::string& error);
// Binds and listens on a Unix socket path (an existing socket file is
// replaced), then applies `mode` and, if gid >= 0, the group.
int http_listen_unix(const std::string& path, unsigned mode, long gid, std::string& error);

// Reason phrase for a status code ("Not Found").
const char* http_reason(int status);

}  // namespace wfp
