// Black-box tests of the HTTP front (supervisor/http.cc): a real event
// loop, real TCP sockets on 127.0.0.1 port 0, raw bytes on the wire.
// Runs in the unit-test process; trusts nothing it reads back.
#include "supervisor/http.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wfp {
namespace {

using Clock = std::chrono::steady_clock;

HttpLimits test_limits() {
  HttpLimits l;
  l.max_header_bytes = 4096;
  l.max_body_bytes = 1024;
  l.header_timeout_ms = 3000;
  l.body_timeout_ms = 3000;
  l.idle_timeout_ms = 3000;
  l.max_connections = 100;
  return l;
}

struct Response {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;
  std::string raw;  // exactly the bytes of this response
  const std::string* header(std::string_view name) const {
    for (const auto& h : headers)
      if (strcasecmp(h.name.c_str(), std::string(name).c_str()) == 0) return &h.value;
    return nullptr;
  }
};

struct Client {
  int fd = -1;
  std::string in;      // received, not yet consumed
  bool eof = false;    // recv returned 0
  bool reset = false;  // recv failed (ECONNRESET)
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
};

// One server on its own event_base, driven from the test's thread with
// EVLOOP_NONBLOCK while the test waits for a condition: deterministic, and
// the handler can be inspected and answered from the test directly.
class Harness {
 public:
  explicit Harness(HttpLimits limits = test_limits()) {
    base_ = event_base_new();
    std::string bound, error;
    int fd = http_listen_tcp("127.0.0.1:0", bound, error);
    EXPECT_GE(fd, 0) << error;
    port_ = std::stoi(bound.substr(bound.rfind(':') + 1));
    server = std::make_unique<HttpServer>(base_, fd, limits,
                                          [this](std::shared_ptr<HttpExchange> ex) {
                                            seen.push_back(ex->request());
                                            if (handler) handler(std::move(ex));
                                            else echo(*ex);
                                          });
  }
  ~Harness() {
    server.reset();
    event_base_free(base_);
  }

  // The default handler: 200, body "METHOD TARGET\n" followed by the body.
  static void echo(HttpExchange& ex) {
    HttpResponse r;
    r.headers.push_back({"Content-Type", "text/plain"});
    r.body = ex.request().method + " " + ex.request().target + "\n" + ex.request().body;
    ex.respond(std::move(r));
  }

  std::unique_ptr<Client> connect() {
    auto c = std::make_unique<Client>();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port_));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Loopback connect completes in the kernel's backlog, before accept.
    EXPECT_EQ(::connect(c->fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    return c;
  }

  void pump() { event_base_loop(base_, EVLOOP_NONBLOCK); }

  // Runs the loop and reads from `c` (if any) until pred() holds.
  bool await(Client* c, const std::function<bool()>& pred, int timeout_ms = 3000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      pump();
      if (c) read_some(*c);
      if (pred()) return true;
      if (Clock::now() >= deadline) return false;
      pollfd p{c ? c->fd : -1, POLLIN, 0};
      poll(&p, 1, 1);
    }
  }

  void send(Client& c, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(size_t(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return;  // server closed
      await(&c, [] { return true; });  // let the server drain its socket
    }
  }

  // Reads one response; for HEAD requests pass head=true.
  std::optional<Response> response(Client& c, bool head = false) {
    std::optional<Response> r;
    await(&c, [&] { return (r = take_response(c, head)).has_value() || c.eof || c.reset; });
    if (!r) r = take_response(c, head);
    return r;
  }

  // True once the server has closed the connection (after any response).
  bool closed(Client& c, int timeout_ms = 3000) {
    return await(&c, [&] { return c.eof || c.reset; }, timeout_ms);
  }

  std::unique_ptr<HttpServer> server;
  std::vector<HttpRequest> seen;
  std::function<void(std::shared_ptr<HttpExchange>)> handler;

 private:
  static void read_some(Client& c) {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, size_t(n));
        continue;
      }
      if (n == 0) c.eof = true;
      else if (errno != EAGAIN && errno != EWOULDBLOCK) c.reset = true;
      return;
    }
  }

  static std::optional<Response> take_response(Client& c, bool head) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    Response r;
    std::string head_text = c.in.substr(0, end);
    size_t eol = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, eol);
    if (status_line.size() < 12 || status_line.compare(0, 9, "HTTP/1.1 ") != 0) {
      ADD_FAILURE() << "bad status line: " << status_line;
      return std::nullopt;
    }
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = eol == std::string::npos ? head_text.size() : eol + 2;
    while (pos < head_text.size()) {
      size_t next = head_text.find("\r\n", pos);
      if (next == std::string::npos) next = head_text.size();
      std::string line = head_text.substr(pos, next - pos);
      size_t colon = line.find(':');
      r.headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
      pos = next + 2;
    }
    size_t length = 0;
    if (const std::string* cl = r.header("Content-Length"); cl && !head) length = std::stoul(*cl);
    if (c.in.size() < end + 4 + length) return std::nullopt;
    r.body = c.in.substr(end + 4, length);
    r.raw = c.in.substr(0, end + 4 + length);
    c.in.erase(0, end + 4 + length);
    return r;
  }

  event_base* base_ = nullptr;
  int port_ = 0;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: t.example\r\n" + extra + "\r\n";
}

// Sends `raw` on a fresh connection and expects `status`, a closed
// connection, and no request reaching the handler.
void expect_refused(const std::string& raw, int status, const std::string& what) {
  SCOPED_TRACE(what);
  Harness h;
  auto c = h.connect();
  h.send(*c, raw);
  auto r = h.response(*c);
  ASSERT_TRUE(r.has_value()) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  ASSERT_NE(r->header("Connection"), nullptr);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(c->in, "") << "bytes after the error response";
  EXPECT_TRUE(h.seen.empty()) << "a request reached the handler: " << h.seen[0].target;
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch == '\r') out += "\\r";
    else if (ch == '\n') out += "\\n";
    else if (ch < 0x20 || ch >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else out += char(ch);
  }
  return out;
}

// --- keep-alive, bodies, methods ---------------------------------------------------

TEST(HttpServer, ServesTwoRequestsOnOneKeepAliveConnection) {
  Harness h;
  auto c = h.connect();
  h.send(*c, get("/one?x=1"));
  auto r1 = h.response(*c);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "GET /one?x=1\n");
  EXPECT_EQ(r1->header("Connection"), nullptr);
  EXPECT_NE(r1->header("Date"), nullptr);
  h.send(*c, get("/two"));
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "GET /two\n");
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[0].path, "/one");
  EXPECT_EQ(h.seen[0].host, "t.example");
  EXPECT_EQ(h.seen[0].peer.rfind("127.0.0.1:", 0), 0u) << h.seen[0].peer;
  EXPECT_EQ(h.seen[0].peer_uid, -1);  // no uid on TCP
  EXPECT_FALSE(c->eof);
}

TEST(HttpServer, DechunksAChunkedBody) {
  Harness h;
  auto c = h.connect();
  h.send(*c,
         "POST /up HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n1;ext=\"x y\"\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].body, "hello 0123456789");
}

TEST(HttpServer, ReadsAChunkedBodyArrivingByteByByte) {
  Harness h;
  auto c = h.connect();
  std::string raw =
      "POST /up HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
  for (char ch : raw) {
    h.send(*c, std::string(1, ch));
    h.pump();
  }
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].body, "abc");
}

TEST(HttpServer, ReadsAContentLengthBodyAndTheNextRequestAfterIt) {
  Harness h;
  auto c = h.connect();
  // A GET with a body: the body is consumed as a body, never as a request.
  h.send(*c, "GET /a HTTP/1.1\r\nHost: t.example\r\nContent-Length: 19\r\n\r\n"
             "GET /smuggled HTTP/" + get("/b"));
  auto r1 = h.response(*c);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r1 && r2);
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[0].body, "GET /smuggled HTTP/");
  EXPECT_EQ(h.seen[1].path, "/b");
}

TEST(HttpServer, PassesOptionsPatchAndOtherMethodsToTheHandler) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "OPTIONS * HTTP/1.1\r\nHost: t.example\r\n\r\n");
  h.send(*c, "OPTIONS /o HTTP/1.1\r\nHost: t.example\r\n\r\n");
  h.send(*c, "PATCH /p HTTP/1.1\r\nHost: t.example\r\nContent-Length: 2\r\n\r\n{}");
  h.send(*c, "PROPFIND /d HTTP/1.1\r\nHost: t.example\r\n\r\n");
  h.send(*c, "DELETE /x HTTP/1.1\r\nHost: t.example\r\n\r\n");
  for (int i = 0; i < 5; ++i) {
    auto r = h.response(*c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  ASSERT_EQ(h.seen.size(), 5u);
  EXPECT_EQ(h.seen[0].method, "OPTIONS");
  EXPECT_EQ(h.seen[0].path, "*");
  EXPECT_EQ(h.seen[1].method, "OPTIONS");
  EXPECT_EQ(h.seen[2].method, "PATCH");
  EXPECT_EQ(h.seen[2].body, "{}");
  EXPECT_EQ(h.seen[3].method, "PROPFIND");
  EXPECT_EQ(h.seen[4].method, "DELETE");
}

TEST(HttpServer, AnswersContinueWhenTheClientExpectsIt) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "PUT /x HTTP/1.1\r\nHost: t.example\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  auto interim = h.response(*c);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  EXPECT_TRUE(h.seen.empty());
  h.send(*c, "abc");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].body, "abc");
}

TEST(HttpServer, TakesThePathFromAnAbsoluteFormTarget) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "GET http://t.example/x/y?q=1 HTTP/1.1\r\nHost: t.example\r\n\r\n");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].path, "/x/y");
  EXPECT_EQ(h.seen[0].target, "/x/y?q=1");
  EXPECT_EQ(h.seen[0].host, "t.example");
}

TEST(HttpServer, RejectsAnAbsoluteFormTargetWhoseAuthorityDiffersFromHost) {
  expect_refused("GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n", 400, "authority");
  expect_refused("GET http://u@t.example/x HTTP/1.1\r\nHost: t.example\r\n\r\n", 400, "userinfo");
}

// CONNECT wants a tunnel, and its authority-form target would become a URL
// whose host differs from the Host that routed it.
TEST(HttpServer, RefusesConnectWith501) {
  expect_refused("CONNECT victim.example:443 HTTP/1.1\r\nHost: t.example\r\n\r\n", 501,
                 "authority-form");
  expect_refused("CONNECT .victim.example:443 HTTP/1.1\r\nHost: t\r\n\r\n", 501, "suffix");
  expect_refused("CONNECT / HTTP/1.1\r\nHost: t.example\r\n\r\n", 501, "origin-form");
}

// --- connection management -----------------------------------------------------------

TEST(HttpServer, ClosesAfterAnHttp10ResponseWithoutKeepAlive) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "GET /old HTTP/1.0\r\nHost: t.example\r\n\r\n");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*c));
}

TEST(HttpServer, KeepsAnHttp10ConnectionThatAsksForKeepAlive) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "GET /a HTTP/1.0\r\nHost: t.example\r\nConnection: keep-alive\r\n\r\n");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->header("Connection"), "keep-alive");
  h.send(*c, "GET /b HTTP/1.0\r\nHost: t.example\r\n\r\n");
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(h.seen.size(), 2u);
}

TEST(HttpServer, HonoursConnectionClose) {
  Harness h;
  auto c = h.connect();
  h.send(*c, get("/a", "Connection: close\r\n") + get("/never"));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(c->in, "");
  ASSERT_EQ(h.seen.size(), 1u);
}

TEST(HttpServer, ClosesWhenTheHandlerAsksForIt) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange> ex) {
    HttpResponse r;
    r.close = true;
    ex->respond(std::move(r));
  };
  auto c = h.connect();
  h.send(*c, get("/a"));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*c));
}

TEST(HttpServer, AnswersPipelinedRequestsInOrder) {
  Harness h;
  auto c = h.connect();
  h.send(*c, get("/a") + get("/b") + "POST /c HTTP/1.1\r\nHost: t.example\r\nContent-Length: 1\r\n\r\nz" +
                 get("/d"));
  for (const char* want : {"GET /a\n", "GET /b\n", "POST /c\nz", "GET /d\n"}) {
    auto r = h.response(*c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, want);
  }
  EXPECT_EQ(h.seen.size(), 4u);
}

TEST(HttpServer, DoesNotParseThePipelinedRequestBeforeAnsweringTheCurrentOne) {
  Harness h;
  std::vector<std::shared_ptr<HttpExchange>> pending;
  h.handler = [&](std::shared_ptr<HttpExchange> ex) { pending.push_back(std::move(ex)); };
  auto c = h.connect();
  h.send(*c, get("/a") + get("/b"));
  ASSERT_TRUE(h.await(c.get(), [&] { return h.seen.size() == 1; }));
  h.await(c.get(), [] { return false; }, 50);
  EXPECT_EQ(h.seen.size(), 1u);
  EXPECT_TRUE(pending[0]->client_connected());
  Harness::echo(*pending[0]);
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /a\n");
  ASSERT_TRUE(h.await(c.get(), [&] { return h.seen.size() == 2; }));
  Harness::echo(*pending[1]);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "GET /b\n");
}

TEST(HttpServer, StopsAtAnInvalidPipelinedRequest) {
  Harness h;
  auto c = h.connect();
  h.send(*c, get("/a") +
                 "GET /b HTTP/1.1\r\nHost: t.example\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx" +
                 get("/c"));
  auto r1 = h.response(*c);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 400);
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(c->in, "");
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].path, "/a");
}

TEST(HttpServer, RefusesConnectionsPastMaxConnectionsWith503) {
  HttpLimits l = test_limits();
  l.max_connections = 2;
  Harness h(l);
  auto c1 = h.connect();
  auto c2 = h.connect();
  ASSERT_TRUE(h.await(nullptr, [&] { return h.server->connection_count() == 2; }));
  auto c3 = h.connect();
  auto r = h.response(*c3);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*c3));
  EXPECT_EQ(h.server->connection_count(), 2u);
  // The others are unaffected.
  h.send(*c1, get("/one"));
  auto r1 = h.response(*c1);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  h.send(*c2, get("/two"));
  auto r2 = h.response(*c2);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
}

TEST(HttpServer, ClosesAnIdleKeepAliveConnection) {
  HttpLimits l = test_limits();
  l.idle_timeout_ms = 100;
  Harness h(l);
  auto c = h.connect();
  h.send(*c, get("/a"));
  ASSERT_TRUE(h.response(*c));
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(c->in, "");
  EXPECT_TRUE(h.await(nullptr, [&] { return h.server->connection_count() == 0; }));
}

TEST(HttpServer, ClosesASlowlorisConnectionAtTheHeaderDeadline) {
  HttpLimits l = test_limits();
  l.header_timeout_ms = 300;
  Harness h(l);
  auto c = h.connect();
  auto start = Clock::now();
  h.send(*c, "GET / HTTP/1.1\r\n");
  // A byte every 20 ms: a per-byte inactivity timer would never fire.
  for (int i = 0; i < 100 && !c->eof && !c->reset; ++i) {
    h.send(*c, "X");
    h.await(c.get(), [&] { return c->eof || c->reset; }, 20);
  }
  EXPECT_TRUE(c->eof || c->reset);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_GE(elapsed.count(), 250);
  EXPECT_LT(elapsed.count(), 1500);
  EXPECT_EQ(c->in.compare(0, 12, "HTTP/1.1 408"), 0) << c->in;
  EXPECT_TRUE(h.seen.empty());
}

TEST(HttpServer, ClosesAConnectionThatNeverSendsAnything) {
  HttpLimits l = test_limits();
  l.header_timeout_ms = 100;
  Harness h(l);
  auto c = h.connect();
  EXPECT_TRUE(h.closed(*c));
  EXPECT_EQ(c->in, "");
}

TEST(HttpServer, ClosesASlowBodyAtTheBodyDeadline) {
  HttpLimits l = test_limits();
  l.body_timeout_ms = 200;
  Harness h(l);
  auto c = h.connect();
  h.send(*c, "POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 10\r\n\r\nabc");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(h.closed(*c));
  EXPECT_TRUE(h.seen.empty());
}

TEST(HttpServer, StopAcceptingClosesIdleConnectionsAndFinishesBusyOnes) {
  Harness h;
  std::vector<std::shared_ptr<HttpExchange>> pending;
  h.handler = [&](std::shared_ptr<HttpExchange> ex) { pending.push_back(std::move(ex)); };
  auto idle = h.connect();
  auto busy = h.connect();
  h.send(*busy, get("/slow"));
  ASSERT_TRUE(h.await(busy.get(), [&] { return pending.size() == 1; }));
  ASSERT_TRUE(h.await(nullptr, [&] { return h.server->connection_count() == 2; }));
  h.server->stop_accepting();
  EXPECT_TRUE(h.closed(*idle));
  Harness::echo(*pending[0]);
  auto r = h.response(*busy);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(*r->header("Connection"), "close");
  EXPECT_TRUE(h.closed(*busy));
}

// --- request smuggling: framing headers ----------------------------------------------------

TEST(HttpServer, RejectsContentLengthWithTransferEncoding) {
  // CL.TE: the smuggled GET must never reach the handler.
  expect_refused(
      "POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nX: x",
      400, "CL.TE");
  // TE.CL.
  expect_refused(
      "POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
      "5c\r\nGET /smuggled HTTP/1.1\r\nHost: t.example\r\n\r\n0\r\n\r\n",
      400, "TE.CL");
}

TEST(HttpServer, RejectsEveryTransferEncodingOtherThanChunked) {
  const std::string body = "\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t.example\r\n\r\n";
  const std::vector<std::string> variants = {
      "Transfer-Encoding: xchunked",
      "Transfer-Encoding: chunked ",
      "Transfer-Encoding: chunked\t",
      "Transfer-Encoding:\tchunked",
      "Transfer-Encoding: gzip, chunked",
      "Transfer-Encoding: chunked, chunked",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
      "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
      "Transfer-Encoding: identity",
      "Transfer-Encoding: chunked;q=1",
      "Transfer-Encoding:\r\n chunked",
      "Transfer-Encoding: \x0b" "chunked",
      std::string("Transfer-Encoding: chunked\0", 27),
      "Transfer-Encoding : chunked",
      "Transfer_Encoding: chunked\r\nTransfer-Encoding: gzip",
      "Transfer-Encoding: \"chunked\"",
      // Case-insensitive by RFC 9112 §7, but a proxy in front that does not
      // read these as chunked would frame the body otherwise: refused.
      "Transfer-Encoding: Chunked",
      "Transfer-Encoding: CHUNKED",
  };
  for (const std::string& te : variants)
    expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\n" + te + body, 400, escape(te));
}

TEST(HttpServer, RejectsTransferEncodingInAnHttp10Request) {
  expect_refused(
      "POST / HTTP/1.0\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
      "TE in HTTP/1.0");
}

TEST(HttpServer, RejectsEveryMalformedOrDuplicateContentLength) {
  const std::vector<std::string> variants = {
      "Content-Length: 5\r\nContent-Length: 6",
      "Content-Length: 5\r\nContent-Length: 5",
      "Content-Length: 5, 6",
      "Content-Length: 5,5",
      "Content-Length: +5",
      "Content-Length: -0",
      "Content-Length: 0x5",
      "Content-Length: 1_0",
      "Content-Length: 5 5",
      "Content-Length:\t5",
      "Content-Length: 5 ",
      "Content-Length: 5\t",
      "Content-Length: ",
      "Content-Length:",
      "Content-Length: 99999999999999999999",
      "Content-Length: 184467440737095516160",
      "Content-Length: 5.0",
      "Content-Length: \x0b" "5",
      "Content-Length : 5",
      "Content-Length:\r\n 5",
  };
  for (const std::string& cl : variants)
    expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\n" + cl +
                       "\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: t.example\r\n\r\n",
                   400, escape(cl));
}

TEST(HttpServer, AcceptsAContentLengthWithLeadingZeros) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 003\r\n\r\nabc");
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_EQ(h.seen[0].body, "abc");
}

TEST(HttpServer, RejectsBadChunkFraming) {
  const std::vector<std::string> variants = {
      "0x5\r\nhello\r\n0\r\n\r\n",
      "+5\r\nhello\r\n0\r\n\r\n",
      " 5\r\nhello\r\n0\r\n\r\n",
      "-0\r\n\r\n",
      "g\r\n\r\n",
      "\r\n\r\n",
      "5 5\r\nhello\r\n0\r\n\r\n",
      "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
      "5\r\nhelloXX0\r\n\r\n",           // data longer than its size
      "5\r\nhello0\r\n\r\n",             // no CRLF after the data
      "5\nhello\n0\n\n",                 // bare LF
      "5\rhello\r\n0\r\n\r\n",           // bare CR
      "5;" + std::string(65536, 'e') + "\r\nhello\r\n0\r\n\r\n",  // 64 KB extension
      "5;a\x01\r\nhello\r\n0\r\n\r\n",  // control byte in an extension
      "0\r\n X: folded\r\n\r\n",         // obs-fold in trailers
      "0\r\nBad Name: x\r\n\r\n",
      "0\r\n\r\r\n",
  };
  for (const std::string& body : variants)
    expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
                       "GET /smuggled HTTP/1.1\r\nHost: t.example\r\n\r\n",
                   400, escape(body.substr(0, 40)));
}

TEST(HttpServer, AcceptsAChunkExtension) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5;name=value\r\nhello\r\n5 ; x\r\nworld\r\n0\r\n\r\n" + get("/next"));
  auto r = h.response(*c);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r && r2);
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[0].body, "helloworld");
  EXPECT_EQ(h.seen[1].path, "/next");
}

TEST(HttpServer, DiscardsTrailersInsteadOfMergingThem) {
  Harness h;
  auto c = h.connect();
  h.send(*c,
         "POST /t HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\nHost: victim.example\r\nContent-Length: 0\r\nAuthorization: x\r\n"
         "X-Tenant: B\r\n\r\n" +
             get("/next"));
  auto r1 = h.response(*c);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r2->status, 200);
  ASSERT_EQ(h.seen.size(), 2u);
  const HttpRequest& req = h.seen[0];
  EXPECT_EQ(req.body, "hello");
  EXPECT_EQ(req.host, "t.example");
  EXPECT_EQ(req.header("X-Tenant"), nullptr);
  EXPECT_EQ(req.header("Authorization"), nullptr);
  EXPECT_EQ(req.header("Content-Length"), nullptr);
  EXPECT_EQ(*req.header("host"), "t.example");
  EXPECT_EQ(h.seen[1].path, "/next");
}

TEST(HttpServer, IgnoresFramingHeadersSentAsTrailers) {
  Harness h;
  auto c = h.connect();
  h.send(*c,
         "POST /t HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n"
         "2\r\nhi\r\n0\r\nContent-Length: 7\r\nTransfer-Encoding: gzip\r\n\r\n" +
             get("/next"));
  auto r1 = h.response(*c);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r1 && r2);
  ASSERT_EQ(h.seen.size(), 2u);
  EXPECT_EQ(h.seen[0].body, "hi");
  EXPECT_EQ(h.seen[1].path, "/next");
}

// --- header syntax -------------------------------------------------------------------

TEST(HttpServer, RejectsAMissingHost) {
  expect_refused("GET / HTTP/1.1\r\nX: y\r\n\r\n", 400, "missing Host");
  expect_refused("GET / HTTP/1.0\r\n\r\n", 400, "missing Host, HTTP/1.0");
}

TEST(HttpServer, RejectsADuplicateHost) {
  expect_refused("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400, "two Hosts");
  expect_refused("GET / HTTP/1.1\r\nHost: a.example\r\nhost: a.example\r\n\r\n", 400, "same twice");
}

TEST(HttpServer, RejectsAmbiguousHostValues) {
  for (const char* host : {"a, b", "u@a.example", "a.example:x", "a b", "", "[::1", "a.example:99999"})
    expect_refused(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n", 400, host);
}

TEST(HttpServer, RejectsMalformedHeaderLines) {
  const std::vector<std::string> heads = {
      "GET / HTTP/1.1\r\nHost: t.example\r\nX-A : b\r\n\r\n",         // space before colon
      "GET / HTTP/1.1\r\nHost: t.example\r\nX A: b\r\n\r\n",          // space in name
      "GET / HTTP/1.1\r\nHost: t.example\r\nX-A: b\r\n c\r\n\r\n",    // obs-fold
      "GET / HTTP/1.1\r\nHost: t.example\r\nX-A: b\r\n\tc\r\n\r\n",   // obs-fold, tab
      "GET / HTTP/1.1\r\n Host: t.example\r\n\r\n",                   // whitespace before first field
      "GET / HTTP/1.1\r\nHost: t.example\r\n: x\r\n\r\n",             // empty name
      std::string("GET / HTTP/1.1\r\nHost: t.example\r\nX-A: a\0b\r\n\r\n", 44),  // NUL in value
      std::string("GET / HTTP/1.1\r\nHost: t.example\r\nX\0A: b\r\n\r\n", 42),    // NUL in name
      "GET / HTTP/1.1\r\nHost: t.example\r\nX-A: a\rb\r\n\r\n",       // bare CR
      "GET / HTTP/1.1\nHost: t.example\n\n",                          // bare LF
      "GET / HTTP/1.1\r\nHost: t.example\r\n\xc3\xa9: x\r\n\r\n",      // non-ASCII name
      "GET / HTTP/1.1\r\nHost: t.example\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: t.example\r\nX-A: a\x7f\r\n\r\n",       // DEL
      "GET /  HTTP/1.1\r\nHost: t.example\r\n\r\n",                   // two spaces
      "GET /\xff HTTP/1.1\r\nHost: t.example\r\n\r\n",                 // non-ASCII target
      "GET /#frag HTTP/1.1\r\nHost: t.example\r\n\r\n",
      "GET * HTTP/1.1\r\nHost: t.example\r\n\r\n",
      "GET x HTTP/1.1\r\nHost: t.example\r\n\r\n",
      "GET / HTTP/1.1 \r\nHost: t.example\r\n\r\n",
      "GET / http/1.1\r\nHost: t.example\r\n\r\n",
      "GET /\r\nHost: t.example\r\n\r\n",                               // HTTP/0.9 style
      "get / HTTP/1.1\r\nHost: t.example\r\n\r\n",                    // unknown to http_parser
      "G@T / HTTP/1.1\r\nHost: t.example\r\n\r\n",
  };
  for (const std::string& head : heads) expect_refused(head, 400, escape(head));
}

TEST(HttpServer, RejectsOtherHttpVersionsWith505) {
  expect_refused("GET / HTTP/2.0\r\nHost: t.example\r\n\r\n", 505, "HTTP/2.0");
}

// --- size limits -----------------------------------------------------------------------

TEST(HttpServer, RejectsATooLongRequestLineWith414) {
  expect_refused("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: t.example\r\n\r\n", 414,
                 "long URL");
}

TEST(HttpServer, RejectsTooLargeHeadersWith431) {
  expect_refused(get("/", "X-Big: " + std::string(5000, 'b') + "\r\n"), 431, "big header");
}

TEST(HttpServer, RejectsMoreThanAHundredHeadersWith431) {
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  expect_refused(get("/", many), 431, "101 headers");
  // A hundred is fine.
  Harness h;
  auto c = h.connect();
  many.clear();
  for (int i = 0; i < 99; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  h.send(*c, get("/", many));  // 99 + Host = 100
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServer, RejectsATooLargeBodyWith413) {
  // Announced: refused before any body byte is read.
  expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 1025\r\n\r\n", 413, "CL");
  expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 999999999999\r\n\r\n", 413,
                 "huge CL, no body");
  // Chunked: refused once the chunks add up past the limit.
  expect_refused("POST / HTTP/1.1\r\nHost: t.example\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" +
                     std::string(512, 'a') + "\r\n201\r\n" + std::string(513, 'b') + "\r\n0\r\n\r\n",
                 413, "chunked");
}

TEST(HttpServer, AppliesNewLimitsToLaterRequests) {
  Harness h;
  auto c = h.connect();
  h.send(*c, "POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  HttpLimits l = test_limits();
  l.max_body_bytes = 10;
  h.server->set_limits(l);
  h.send(*c, "POST / HTTP/1.1\r\nHost: t.example\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'));
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 413);
  EXPECT_TRUE(h.closed(*c));
}

// --- exchanges and responses ------------------------------------------------------------

TEST(HttpServer, IgnoresADelayedRespondAfterTheClientClosed) {
  Harness h;
  std::vector<std::shared_ptr<HttpExchange>> pending;
  h.handler = [&](std::shared_ptr<HttpExchange> ex) { pending.push_back(std::move(ex)); };
  auto c = h.connect();
  h.send(*c, get("/slow"));
  ASSERT_TRUE(h.await(c.get(), [&] { return pending.size() == 1; }));
  EXPECT_TRUE(pending[0]->client_connected());
  ::close(c->fd);
  c->fd = -1;
  ASSERT_TRUE(h.await(nullptr, [&] { return h.server->connection_count() == 0; }));
  EXPECT_FALSE(pending[0]->client_connected());
  Harness::echo(*pending[0]);  // harmless
  EXPECT_EQ(pending[0]->request().path, "/slow");
  h.pump();
  // And an exchange that outlives the server is harmless too.
  auto c2 = h.connect();
  h.send(*c2, get("/later"));
  ASSERT_TRUE(h.await(c2.get(), [&] { return pending.size() == 2; }));
  h.server.reset();
  EXPECT_FALSE(pending[1]->client_connected());
  Harness::echo(*pending[1]);
  pending.clear();
}

TEST(HttpServer, Answers500WhenTheHandlerDropsTheExchange) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange>) {};
  auto c = h.connect();
  h.send(*c, get("/dropped"));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(h.closed(*c));
}

TEST(HttpServer, Answers500WhenTheHandlerThrows) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange>) { throw std::runtime_error("boom"); };
  auto c = h.connect();
  h.send(*c, get("/throws"));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(h.closed(*c));
}

TEST(HttpServer, NeverPutsCrLfOrNulFromResponseHeadersOnTheWire) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange> ex) {
    HttpResponse r;
    r.status = 201;
    r.headers = {{"X-Inject", "a\r\nSet-Cookie: x=1"},
                 {"X-Fold", "a\r\n b"},
                 {"X-Lf", "a\nSet-Cookie: y=1"},
                 {"X-Nul", std::string("a\0b", 3)},
                 {"Bad Name", "v"},
                 {"X-Colon:", "v"},
                 {"Bad\r\nName", "v"},
                 {"", "v"},
                 {"Content-Length", "999"},
                 {"Transfer-Encoding", "chunked"},
                 {"X-Good", "fine"}};
    r.body = "ok";
    ex->respond(std::move(r));
  };
  auto c = h.connect();
  h.send(*c, get("/"));
  auto r = h.response(*c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->raw.find("Set-Cookie"), std::string::npos) << r->raw;
  EXPECT_EQ(r->raw.find('\0'), std::string::npos);
  EXPECT_EQ(r->raw.find("X-Inject"), std::string::npos);
  EXPECT_EQ(r->raw.find("Bad"), std::string::npos);
  EXPECT_EQ(r->raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(r->raw.find("\r\n "), std::string::npos);
  EXPECT_EQ(*r->header("X-Good"), "fine");
  EXPECT_EQ(*r->header("Content-Length"), "2");
  EXPECT_EQ(r->body, "ok");
  // Every line of the head ends in CRLF and nothing else.
  std::string head = r->raw.substr(0, r->raw.find("\r\n\r\n") + 2);
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n') {
      EXPECT_EQ(head[i - 1], '\r');
    }
    if (head[i] == '\r') {
      EXPECT_EQ(head[i + 1], '\n');
    }
  }
}

TEST(HttpServer, SendsALargeBodyAndThenServesTheNextRequest) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange> ex) {
    HttpResponse r;
    r.body = ex->request().path == "/big" ? std::string(4 << 20, 'x') : "small";
    ex->respond(std::move(r));
  };
  auto c = h.connect();
  h.send(*c, get("/big") + get("/small"));
  auto r1 = h.response(*c);
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body.size(), size_t(4 << 20));
  EXPECT_EQ(r1->body.find_first_not_of('x'), std::string::npos);
  auto r2 = h.response(*c);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "small");
}

TEST(HttpServer, SendsContentLengthButNoBodyForHead) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange> ex) {
    HttpResponse r;
    r.body = "hello";
    ex->respond(std::move(r));
  };
  auto c = h.connect();
  h.send(*c, "HEAD /x HTTP/1.1\r\nHost: t.example\r\n\r\n" + get("/y"));
  auto r = h.response(*c, /*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r->header("Content-Length"), "5");
  auto r2 = h.response(*c);  // would be misread if HEAD had carried a body
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hello");
  EXPECT_EQ(h.seen.size(), 2u);
}

TEST(HttpServer, SendsNoBodyWith204Or304) {
  Harness h;
  h.handler = [](std::shared_ptr<HttpExchange> ex) {
    HttpResponse r;
    r.status = ex->request().path == "/204" ? 204 : 304;
    r.body = "ignored";
    ex->respond(std::move(r));
  };
  auto c = h.connect();
  h.send(*c, get("/204") + get("/304") + get("/204"));
  for (int status : {204, 304, 204}) {
    auto r = h.response(*c);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->header("Content-Length"), nullptr);
    EXPECT_EQ(r->body, "");
  }
  h.await(c.get(), [] { return false; }, 20);
  EXPECT_EQ(c->in, "");
}

TEST(HttpServer, KnowsReasonPhrases) {
  EXPECT_STREQ(http_reason(200), "OK");
  EXPECT_STREQ(http_reason(404), "Not Found");
  EXPECT_STREQ(http_reason(431), "Request Header Fields Too Large");
  EXPECT_STREQ(http_reason(599), "Server Error");
}

// --- listeners -------------------------------------------------------------------------

TEST(HttpListen, BindsTcpAddressesAndReportsThePort) {
  std::string bound, error;
  int fd = http_listen_tcp("127.0.0.1:0", bound, error);
  ASSERT_GE(fd, 0) << error;
  EXPECT_EQ(bound.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(bound, "127.0.0.1:0");
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK);
  // Rebinding the same port while it listens fails with a useful message.
  std::string bound2;
  EXPECT_EQ(http_listen_tcp(bound, bound2, error), -1);
  EXPECT_NE(error.find("EADDRINUSE"), std::string::npos) << error;
  ::close(fd);

  fd = http_listen_tcp("*:0", bound, error);
  ASSERT_GE(fd, 0) << error;
  EXPECT_EQ(bound.rfind("0.0.0.0:", 0), 0u) << bound;
  ::close(fd);

  fd = http_listen_tcp("[::1]:0", bound, error);
  if (fd >= 0) {
    EXPECT_EQ(bound.rfind("[::1]:", 0), 0u) << bound;
    ::close(fd);
  } else {
    EXPECT_NE(error.find("bind"), std::string::npos) << error;  // no IPv6 here
  }
}

TEST(HttpListen, RefusesMalformedTcpAddresses) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:80",
                          "[::1:80", "::1:80", "1.2.3:80", "127.0.0.1:8x", "[zz]:80"}) {
    std::string bound, error;
    EXPECT_EQ(http_listen_tcp(bad, bound, error), -1) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(HttpListen, ReplacesAStaleUnixSocketAndSetsItsMode) {
  char dir_template[] = "/tmp/wfp-http-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/admin.sock";
  std::string error;
  int fd1 = http_listen_unix(path, 0600, -1, error);
  ASSERT_GE(fd1, 0) << error;
  ::close(fd1);  // leaves a stale socket file behind
  int fd = http_listen_unix(path, 0660, long(getgid()), error);
  ASSERT_GE(fd, 0) << error;
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);

  // Serve on it: the peer is "unix", with the uid the kernel saw connect.
  event_base* base = event_base_new();
  std::vector<std::string> peers;
  long peer_uid = -1;
  {
    HttpServer server(base, fd, test_limits(), [&](std::shared_ptr<HttpExchange> ex) {
      peers.push_back(ex->request().peer);
      peer_uid = ex->request().peer_uid;
      Harness::echo(*ex);
    });
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::strcpy(sun.sun_path, path.c_str());
    ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&sun), sizeof sun), 0);
    std::string req = get("/u");
    ASSERT_EQ(::send(c, req.data(), req.size(), 0), ssize_t(req.size()));
    fcntl(c, F_SETFL, O_NONBLOCK);
    std::string got;
    auto deadline = Clock::now() + std::chrono::seconds(3);
    while (got.find("GET /u") == std::string::npos && Clock::now() < deadline) {
      event_base_loop(base, EVLOOP_NONBLOCK);
      char buf[512];
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, size_t(n));
      pollfd p{c, POLLIN, 0};
      poll(&p, 1, 1);
    }
    EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
    ::close(c);
  }
  event_base_free(base);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0], "unix");
  EXPECT_EQ(peer_uid, long(getuid()));

  // A regular file at the path is somebody's data: left alone.
  unlink(path.c_str());
  int file = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0);
  ::close(file);
  EXPECT_EQ(http_listen_unix(path, 0660, -1, error), -1);
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  unlink(path.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace wfp
