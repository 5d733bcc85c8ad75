// Black-box tests of the outbound HTTP client (supervisor/fetch_client.cc):
// a real event loop in the test's thread, the test origin (its own thread)
// for well-behaved HTTP(S), and a scripted server on the test's loop for
// responses no well-behaved server sends. No DNS beyond /etc/hosts.
#include "supervisor/fetch_client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/origin.h"

namespace wfp {
namespace {

using test::Origin;
using test::TestPki;
using Json = nlohmann::json;

constexpr int kTestDeadlineMs = 20000;  // a wedged test fails instead of hanging

std::string percent_encoded(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string header(const FetchResult& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

bool has_header(const FetchResult& r, const std::string& name) {
  for (auto& [k, v] : r.headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return true;
  return false;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = char('a' + i % 26);
  return s;
}

FetchRequest request(const std::string& url) {
  FetchRequest r;
  r.url = url;
  return r;
}

std::vector<Network> networks(const std::string& list) {
  std::vector<Network> out;
  std::string error;
  if (!parse_networks(list, out, error)) throw std::runtime_error(error);
  return out;
}

// A port nothing listens on: bound, read back, closed.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    ADD_FAILURE() << "bind: " << strerror(errno);
  close(fd);
  return ntohs(a.sin_port);
}

// A server on the test's own loop that answers each request head with what
// the test scripts, byte for byte.
class ScriptedServer {
 public:
  struct Reply {
    std::string bytes;
    bool close = false;  // close the connection once `bytes` are written
  };
  // (connection index from 0, request index on that connection, request head)
  using Script = std::function<Reply(int, int, const std::string&)>;

  ScriptedServer(event_base* base, Script script) : script_(std::move(script)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener_ = evconnlistener_new_bind(base, on_accept, this,
                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                        reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (!listener_) throw std::runtime_error("evconnlistener_new_bind failed");
    socklen_t len = sizeof a;
    getsockname(evconnlistener_get_fd(listener_), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~ScriptedServer() {
    for (auto& [bev, c] : conns_) bufferevent_free(bev);
    evconnlistener_free(listener_);
  }
  int port() const { return port_; }
  int connections() const { return accepted_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  struct Conn {
    int index = 0;
    int requests = 0;
    std::string in;
  };

  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) {
    auto* self = static_cast<ScriptedServer*>(arg);
    bufferevent* bev = bufferevent_socket_new(evconnlistener_get_base(self->listener_), fd,
                                              BEV_OPT_CLOSE_ON_FREE);
    self->conns_[bev] = Conn{self->accepted_++, 0, ""};
    bufferevent_setcb(bev, on_read, nullptr, on_event, self);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
  }
  static void on_read(bufferevent* bev, void* arg) {
    auto* self = static_cast<ScriptedServer*>(arg);
    Conn& c = self->conns_[bev];
    evbuffer* in = bufferevent_get_input(bev);
    std::string chunk(evbuffer_get_length(in), '\0');
    evbuffer_remove(in, chunk.data(), chunk.size());
    c.in += chunk;
    size_t end;
    while ((end = c.in.find("\r\n\r\n")) != std::string::npos) {
      std::string head = c.in.substr(0, end + 4);
      c.in.erase(0, end + 4);
      Reply r = self->script_(c.index, c.requests++, head);
      if (!r.bytes.empty()) bufferevent_write(bev, r.bytes.data(), r.bytes.size());
      if (r.close) {
        if (r.bytes.empty()) return self->drop(bev);
        bufferevent_setcb(bev, nullptr, on_flushed, on_event, self);
        return;
      }
    }
  }
  static void on_flushed(bufferevent* bev, void* arg) {
    static_cast<ScriptedServer*>(arg)->drop(bev);
  }
  static void on_event(bufferevent* bev, short, void* arg) {
    static_cast<ScriptedServer*>(arg)->drop(bev);
  }
  void drop(bufferevent* bev) {
    conns_.erase(bev);
    bufferevent_free(bev);
  }

  Script script_;
  evconnlistener* listener_ = nullptr;
  int port_ = 0;
  int accepted_ = 0;
  std::map<bufferevent*, Conn> conns_;
};

class FetchClientTest : public ::testing::Test {
 protected:
  FetchClientTest() : base_(event_base_new()) {}
  ~FetchClientTest() override {
    client_.reset();
    event_base_free(base_);
  }

  static FetchClientOptions options() {
    FetchClientOptions o;
    o.timeout_ms = 10000;
    return o;
  }

  FetchClient& client(FetchClientOptions o = options()) {
    if (!client_) client_ = std::make_unique<FetchClient>(base_, std::move(o));
    return *client_;
  }

  // Runs the loop until `done` holds, or fails the test at the deadline.
  void run_until(const std::function<bool()>& done, int deadline_ms = kTestDeadlineMs) {
    bool expired = false;
    event* deadline = evtimer_new(
        base_, [](evutil_socket_t, short, void* arg) { *static_cast<bool*>(arg) = true; },
        &expired);
    timeval tv{deadline_ms / 1000, (deadline_ms % 1000) * 1000};
    evtimer_add(deadline, &tv);
    // Conditions may change on the origin's thread, which does not wake
    // this loop: look again every few milliseconds.
    event* tick = event_new(base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
    timeval tick_tv{0, 5000};
    event_add(tick, &tick_tv);
    while (!done() && !expired) event_base_loop(base_, EVLOOP_ONCE);
    event_free(tick);
    event_free(deadline);
    EXPECT_FALSE(expired) << "the condition did not hold within " << deadline_ms << " ms";
  }

  FetchResult fetch(FetchRequest request) {
    std::optional<FetchResult> result;
    int calls = 0;
    client().start(std::move(request), [&](FetchResult r) {
      calls++;
      result = std::move(r);
    });
    EXPECT_EQ(calls, 0) << "done() called inside start()";
    run_until([&] { return calls > 0; });
    EXPECT_EQ(calls, 1);
    return result.value_or(FetchResult{});
  }

  FetchResult get(const std::string& url) {
    FetchRequest r;
    r.url = url;
    return fetch(std::move(r));
  }

  static Json echo(const FetchResult& r) {
    EXPECT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200) << r.body;
    try {
      return Json::parse(r.body);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << r.body;
      return Json::object();
    }
  }

  event_base* base_;
  std::unique_ptr<FetchClient> client_;
};

// --- requests and responses --------------------------------------------------

TEST_F(FetchClientTest, GetReturnsStatusHeadersAndBody) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/echo?a=1#fragment");
  req.headers = {{"X-Test", "one"}, {"X-Spaces", "  padded  "}};
  FetchResult r = fetch(req);
  Json j = echo(r);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/echo?a=1");  // no fragment on the wire
  EXPECT_EQ(j["headers"]["x-test"], "one");
  EXPECT_EQ(j["headers"]["x-spaces"], "padded");
  EXPECT_EQ(j["headers"]["host"], "127.0.0.1:" + std::to_string(origin.port()));
  EXPECT_EQ(j["headers"]["accept-encoding"], "identity");
  EXPECT_FALSE(j["headers"].contains("content-length"));
  EXPECT_EQ(r.status_text, "OK");
  EXPECT_EQ(header(r, "content-type"), "application/json");
  EXPECT_EQ(header(r, "content-length"), std::to_string(r.body.size()));
  EXPECT_EQ(r.url, req.url);
  EXPECT_FALSE(r.redirected);
}

TEST_F(FetchClientTest, PostSendsTheBodyWithContentLength) {
  Origin origin;
  FetchRequest req;
  req.method = "POST";
  req.url = origin.url("/echo");
  req.headers = {{"Content-Type", "text/plain"}};
  req.body = std::string("hello\0world", 11);
  Json j = echo(fetch(req));
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["body"], req.body);
  EXPECT_EQ(j["headers"]["content-length"], "11");
  EXPECT_EQ(j["headers"]["content-type"], "text/plain");
}

TEST_F(FetchClientTest, PostWithoutBodySendsContentLengthZero) {
  Origin origin;
  FetchRequest req;
  req.method = "post";  // normalised, as the Fetch Standard does
  req.url = origin.url("/echo");
  Json j = echo(fetch(req));
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["headers"]["content-length"], "0");
}

TEST_F(FetchClientTest, HopByHopAndFramingHeadersOfTheWorkerAreNotForwarded) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/echo");
  req.headers = {{"Connection", "close"},        {"Keep-Alive", "timeout=5"},
                 {"Transfer-Encoding", "chunked"}, {"Upgrade", "websocket"},
                 {"TE", "trailers"},              {"Trailer", "x"},
                 {"Proxy-Authorization", "x"},    {"Host", "evil.example"},
                 {"Content-Length", "99"},        {"Accept-Encoding", "gzip"},
                 {"X-Kept", "yes"}};
  Json j = echo(fetch(req));
  Json& h = j["headers"];
  for (const char* gone : {"connection", "keep-alive", "transfer-encoding", "upgrade", "te",
                           "trailer", "proxy-authorization", "content-length"})
    EXPECT_FALSE(h.contains(gone)) << gone;
  EXPECT_EQ(h["host"], "127.0.0.1:" + std::to_string(origin.port()));
  EXPECT_EQ(h["accept-encoding"], "identity");
  EXPECT_EQ(h["x-kept"], "yes");
}

TEST_F(FetchClientTest, HeaderValueWithLineBreakFailsTheFetch) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/echo");
  req.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  FetchResult r = fetch(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: invalid value for header \"X-Evil\"");
  req.headers = {{"X-Nul", std::string("a\0b", 3)}};
  EXPECT_EQ(fetch(req).error, "fetch failed: invalid value for header \"X-Nul\"");
  EXPECT_EQ(origin.requests(), 0);
}

TEST_F(FetchClientTest, InvalidHeaderNameOrMethodFailsTheFetch) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/echo");
  req.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(fetch(req).error, "fetch failed: invalid header name \"Bad Name\"");
  req.headers = {{"X\r\nY", "x"}};
  EXPECT_EQ(fetch(req).error, "fetch failed: invalid header name \"X\\x0d\\x0aY\"");
  req.headers.clear();
  req.method = "GET /x";
  EXPECT_EQ(fetch(req).error, "fetch failed: invalid method \"GET /x\"");
  req.method = "connect";
  EXPECT_EQ(fetch(req).error, "fetch failed: the method CONNECT is not allowed");
  EXPECT_EQ(origin.requests(), 0);
}

TEST_F(FetchClientTest, ResponseHeadersComeBackInOrderWithRepeats) {
  Origin origin;
  FetchResult r = get(origin.url("/headers?x-one=1&x-two=2&x-two=3"));
  ASSERT_TRUE(r.ok) << r.error;
  std::vector<std::string> twos;
  for (auto& [k, v] : r.headers)
    if (k == "x-two") twos.push_back(v);
  EXPECT_EQ(twos, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(header(r, "x-one"), "1");
  EXPECT_FALSE(has_header(r, "connection"));
  EXPECT_FALSE(has_header(r, "transfer-encoding"));
}

TEST_F(FetchClientTest, StatusCodesWithAndWithoutBodies) {
  Origin origin;
  FetchResult r = get(origin.url("/status/404"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "status 404");
  r = get(origin.url("/status/204"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  r = get(origin.url("/status/304"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 304);
  r = get(origin.url("/status/503"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "status 503");
}

TEST_F(FetchClientTest, HeadGetsHeadersWithoutBody) {
  Origin origin;
  FetchRequest req;
  req.method = "HEAD";
  req.url = origin.url("/bytes/100");
  FetchResult r = fetch(req);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(header(r, "content-length"), "100");
  EXPECT_EQ(get(origin.url("/bytes/3")).body, "abc");
}

TEST_F(FetchClientTest, ConnectionIsReusedAfterHeadButNotAfterStrayBytes) {
  ScriptedServer server(base_, [](int, int request, const std::string& head) {
    if (head.rfind("HEAD ", 0) == 0) {
      // The second HEAD is answered with a body it must not have.
      std::string stray = request == 1 ? "0123456789" : "";
      return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + stray, false};
    }
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false};
  });
  FetchRequest head;
  head.method = "HEAD";
  head.url = server.url("/");
  FetchResult r = fetch(head);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(client().idle_connections(), 1u);
  r = fetch(head);  // same connection, which now carries ten stray bytes
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(client().idle_connections(), 0u);
  EXPECT_EQ(get(server.url("/")).body, "ok");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(FetchClientTest, FiveMegabyteBodiesArriveWholeWithLengthOrChunked) {
  Origin origin;
  const size_t n = 5242880;
  FetchResult r = get(origin.url("/bytes/" + std::to_string(n)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body.size(), n);
  EXPECT_TRUE(r.body == pattern(n));
  r = get(origin.url("/chunked/" + std::to_string(n)));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body.size(), n);
  EXPECT_TRUE(r.body == pattern(n));
  EXPECT_FALSE(has_header(r, "transfer-encoding"));
}

TEST_F(FetchClientTest, BodyLargerThanTheLimitFailsTheFetch) {
  Origin origin;
  FetchClientOptions o = options();
  o.max_body_bytes = 1000;
  client(o);
  EXPECT_EQ(get(origin.url("/bytes/1000")).body.size(), 1000u);
  EXPECT_EQ(get(origin.url("/chunked/1000")).body.size(), 1000u);
  FetchResult r = get(origin.url("/bytes/1001"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the response body is larger than 1000 bytes");
  r = get(origin.url("/chunked/100000"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the response body is larger than 1000 bytes");
}

// --- redirects ------------------------------------------------------------------

TEST_F(FetchClientTest, RedirectIsFollowedByDefault) {
  Origin origin;
  std::string target = origin.url("/echo?after=redirect");
  FetchResult r = get(origin.url("/redirect/302?to=" + percent_encoded(target)));
  Json j = echo(r);
  EXPECT_EQ(j["path"], "/echo?after=redirect");
  EXPECT_TRUE(r.redirected);
  EXPECT_EQ(r.url, target);
}

TEST_F(FetchClientTest, ManualRedirectModeReturnsTheRedirect) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/redirect/301?to=%2Fecho");
  req.redirect = RedirectMode::manual;
  FetchResult r = fetch(req);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(header(r, "location"), "/echo");
  EXPECT_FALSE(r.redirected);
  EXPECT_EQ(r.url, req.url);
}

TEST_F(FetchClientTest, ErrorRedirectModeFailsOnARedirect) {
  Origin origin;
  FetchRequest req;
  req.url = origin.url("/redirect/307?to=%2Fecho");
  req.redirect = RedirectMode::error;
  FetchResult r = fetch(req);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the response is a redirect and redirect mode is \"error\"");
  req.url = origin.url("/echo");  // not a redirect: fine
  EXPECT_TRUE(fetch(req).ok);
}

TEST_F(FetchClientTest, TwentyRedirectsAreFollowedAndTheTwentyFirstFails) {
  Origin origin;
  FetchResult r = get(origin.url("/chain/20"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "end of chain");
  EXPECT_EQ(r.url, origin.url("/chain/0"));
  EXPECT_TRUE(r.redirected);
  r = get(origin.url("/chain/21"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: too many redirects (more than 20)");
}

TEST_F(FetchClientTest, RelativeRedirectsResolveAgainstTheCurrentUrl) {
  Origin origin;
  FetchResult r = get(origin.url("/redirect/302?to=..%2Fecho%3Fq%3D1"));
  EXPECT_EQ(echo(r)["path"], "/echo?q=1");
  EXPECT_EQ(r.url, origin.url("/echo?q=1"));
  r = get(origin.url("/redirect/308?to=%2F%2F127.0.0.1%3A" + std::to_string(origin.port()) +
                     "%2Fecho"));  // scheme-relative
  EXPECT_EQ(echo(r)["path"], "/echo");
}

TEST_F(FetchClientTest, SeeOtherTurnsPostIntoGetWithoutBody) {
  Origin origin;
  FetchRequest req;
  req.method = "POST";
  req.url = origin.url("/redirect/303?to=%2Fecho");
  req.headers = {{"Content-Type", "text/plain"}, {"Content-Language", "en"}, {"X-Other", "kept"}};
  req.body = "payload";
  Json j = echo(fetch(req));
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["body"], "");
  EXPECT_FALSE(j["headers"].contains("content-type"));
  EXPECT_FALSE(j["headers"].contains("content-language"));
  EXPECT_FALSE(j["headers"].contains("content-length"));
  EXPECT_EQ(j["headers"]["x-other"], "kept");
}

TEST_F(FetchClientTest, MovedTurnsPostIntoGetButTemporaryRedirectKeepsIt) {
  Origin origin;
  FetchRequest req;
  req.method = "POST";
  req.body = "payload";
  req.url = origin.url("/redirect/301?to=%2Fecho");
  EXPECT_EQ(echo(fetch(req))["method"], "GET");
  req.url = origin.url("/redirect/307?to=%2Fecho");
  Json j = echo(fetch(req));
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["body"], "payload");
  req.url = origin.url("/redirect/308?to=%2Fecho");
  req.method = "PUT";
  j = echo(fetch(req));
  EXPECT_EQ(j["method"], "PUT");
  EXPECT_EQ(j["body"], "payload");
}

TEST_F(FetchClientTest, CrossOriginRedirectDropsCredentialsSameOriginKeepsThem) {
  Origin a, b;
  FetchRequest req;
  req.headers = {{"Authorization", "Bearer secret"}, {"Cookie", "s=1"}, {"X-Other", "kept"}};
  req.url = a.url("/redirect/302?to=" + percent_encoded(b.url("/echo")));
  Json j = echo(fetch(req));
  EXPECT_FALSE(j["headers"].contains("authorization"));
  EXPECT_FALSE(j["headers"].contains("cookie"));
  EXPECT_EQ(j["headers"]["x-other"], "kept");
  req.url = a.url("/redirect/302?to=%2Fecho");
  j = echo(fetch(req));
  EXPECT_EQ(j["headers"]["authorization"], "Bearer secret");
  EXPECT_EQ(j["headers"]["cookie"], "s=1");
}

TEST_F(FetchClientTest, RedirectToAnotherSchemeFails) {
  Origin origin;
  FetchResult r = get(origin.url("/redirect/302?to=ftp%3A%2F%2Fexample.com%2Ffile"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "Fetch API cannot load: ftp://example.com/file");
}

// --- failures -------------------------------------------------------------------

TEST_F(FetchClientTest, HangingServerTimesOut) {
  Origin origin;
  FetchClientOptions o = options();
  o.timeout_ms = 200;
  client(o);
  auto started = std::chrono::steady_clock::now();
  FetchResult r = get(origin.url("/hang"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: no response from " + origin.url("") + " within 200 ms");
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(190));
  // A slow answer inside the limit is fine.
  EXPECT_EQ(get(origin.url("/slow/20")).body, "slow 20");
}

TEST_F(FetchClientTest, RefusedConnectionNamesAddressAndReason) {
  int port = free_port();
  FetchResult r = get("http://127.0.0.1:" + std::to_string(port) + "/");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: could not connect to 127.0.0.1:" + std::to_string(port) +
                         " (Connection refused)");
}

TEST_F(FetchClientTest, InvalidUrlsAndOtherSchemesCannotBeLoaded) {
  EXPECT_EQ(get("not a url").error, "Fetch API cannot load: not a url");
  EXPECT_EQ(get("").error, "Fetch API cannot load: ");
  EXPECT_EQ(get("ftp://example.com/x").error, "Fetch API cannot load: ftp://example.com/x");
  EXPECT_EQ(get("file:///etc/passwd").error, "Fetch API cannot load: file:///etc/passwd");
  EXPECT_EQ(get("data:text/plain,hi").error, "Fetch API cannot load: data:text/plain,hi");
  Origin origin;
  std::string with_credentials =
      "http://user:pass@127.0.0.1:" + std::to_string(origin.port()) + "/echo";
  EXPECT_EQ(get(with_credentials).error, "Fetch API cannot load: " + with_credentials);
  EXPECT_EQ(origin.connections(), 0);
}

TEST_F(FetchClientTest, CancelledFetchNeverCallsBack) {
  Origin origin;
  int calls = 0;
  uint64_t id = client().start(request(origin.url("/hang")),
                               [&](FetchResult) { calls++; });
  run_until([&] { return origin.requests() == 1; });
  client().cancel(id);
  // Another fetch runs to its end: the loop turned, the cancelled one stayed quiet.
  EXPECT_TRUE(get(origin.url("/echo")).ok);
  EXPECT_EQ(calls, 0);
  client().cancel(id);  // twice, or an unknown id: nothing
  client().cancel(12345);
}

TEST_F(FetchClientTest, DestroyingTheClientCancelsEverythingSilently) {
  Origin origin;
  int calls = 0;
  client().start(request(origin.url("/hang")), [&](FetchResult) { calls++; });
  client().start(request("http://localhost:" + std::to_string(origin.port()) + "/hang"),
                 [&](FetchResult) { calls++; });
  run_until([&] { return origin.requests() == 2; });
  EXPECT_TRUE(get(origin.url("/echo")).ok);  // one idle connection too
  client().start(request("nonsense"), [&](FetchResult) { calls++; });  // not yet run
  client_.reset();
  // The loop goes on without the client.
  for (int i = 0; i < 5; i++) event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(calls, 0);
}

TEST_F(FetchClientTest, ClientMayBeDestroyedFromACompletionCallback) {
  Origin origin;
  bool called = false;
  client().start(request(origin.url("/echo")), [&](FetchResult r) {
    EXPECT_TRUE(r.ok);
    called = true;
    client_.reset();
  });
  run_until([&] { return called; });
  EXPECT_EQ(client_, nullptr);
}

TEST_F(FetchClientTest, ManyConcurrentFetchesAllComplete) {
  Origin origin;
  int done = 0;
  for (int i = 0; i < 20; i++) {
    client().start(request(origin.url("/slow/" + std::to_string(i))),
                   [&, i](FetchResult r) {
                     EXPECT_EQ(r.body, "slow " + std::to_string(i));
                     done++;
                   });
  }
  run_until([&] { return done == 20; });
  EXPECT_LE(client().idle_connections(), FetchClientOptions{}.max_idle_per_origin);
}

// --- the network policy -----------------------------------------------------------

TEST_F(FetchClientTest, RestrictedFetchToLoopbackIsRefusedBeforeConnecting) {
  Origin origin;
  FetchClientOptions o = options();
  o.policy = NetworkPolicy(networks(kDefaultDenyNetworks), {});
  client(o);
  std::string url = origin.url("/echo");
  FetchResult r = get(url);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "Fetch API cannot load: " + url +
                         ": the address 127.0.0.1 is in a network this worker may not reach");
  // Other spellings of the same address meet the same rule.
  std::string port = std::to_string(origin.port());
  for (std::string spelled : {"http://2130706433:" + port + "/", "http://0x7f.1:" + port + "/",
                              "http://[::ffff:127.0.0.1]:" + port + "/",
                              "http://localhost:" + port + "/", "http://0.0.0.0:" + port + "/"}) {
    FetchResult s = get(spelled);
    EXPECT_FALSE(s.ok) << spelled;
    EXPECT_NE(s.error.find("is in a network this worker may not reach"), std::string::npos)
        << spelled << ": " << s.error;
  }
  EXPECT_EQ(origin.connections(), 0);  // not even a TCP handshake
  // Unrestricted (platform workers): no check.
  FetchRequest platform;
  platform.url = url;
  platform.restricted = false;
  EXPECT_TRUE(fetch(platform).ok);
}

TEST_F(FetchClientTest, AllowListExceptionLetsARestrictedFetchThrough) {
  Origin origin;
  FetchClientOptions o = options();
  o.policy = NetworkPolicy(networks(kDefaultDenyNetworks), networks("127.0.0.1"));
  client(o);
  EXPECT_TRUE(echo(get(origin.url("/echo"))).contains("method"));
  EXPECT_TRUE(get("http://localhost:" + std::to_string(origin.port()) + "/echo").ok);
}

TEST_F(FetchClientTest, RedirectToADeniedAddressIsRefused) {
  Origin origin;
  FetchClientOptions o = options();
  o.policy = NetworkPolicy(networks(kDefaultDenyNetworks), networks("127.0.0.1"));
  client(o);
  std::string port = std::to_string(origin.port());
  for (std::string to : {"http://127.0.0.2:" + port + "/echo", "http://2130706434:" + port + "/echo",
                         "http://[::1]:" + port + "/echo", std::string("http://169.254.169.254/latest")}) {
    FetchResult r = get(origin.url("/redirect/302?to=" + percent_encoded(to)));
    EXPECT_FALSE(r.ok) << to;
    EXPECT_NE(r.error.find("is in a network this worker may not reach"), std::string::npos)
        << to << ": " << r.error;
  }
  FetchResult r = get(origin.url("/redirect/302?to=" +
                                 percent_encoded("http://127.0.0.2:" + port + "/echo")));
  EXPECT_EQ(r.error, "Fetch API cannot load: http://127.0.0.2:" + port +
                         "/echo: the address 127.0.0.2 is in a network this worker may not reach");
}

// --- connections ------------------------------------------------------------------

TEST_F(FetchClientTest, SequentialFetchesReuseOneConnection) {
  Origin origin;
  Json first = echo(get(origin.url("/echo")));
  EXPECT_EQ(client().idle_connections(), 1u);
  Json second = echo(get(origin.url("/echo")));
  EXPECT_EQ(first["connection"], second["connection"]);
  EXPECT_EQ(client().idle_connections(), 1u);
  EXPECT_EQ(origin.connections(), 1);
}

TEST_F(FetchClientTest, NoIdleConnectionsAreKeptWhenThePoolSizeIsZero) {
  Origin origin;
  FetchClientOptions o = options();
  o.max_idle_per_origin = 0;
  client(o);
  Json first = echo(get(origin.url("/echo")));
  Json second = echo(get(origin.url("/echo")));
  EXPECT_NE(first["connection"], second["connection"]);
  EXPECT_EQ(client().idle_connections(), 0u);
}

TEST_F(FetchClientTest, IdleConnectionIsClosedAfterIdleSeconds) {
  Origin origin;
  FetchClientOptions o = options();
  o.idle_seconds = 1;
  client(o);
  EXPECT_TRUE(get(origin.url("/echo")).ok);
  EXPECT_EQ(client().idle_connections(), 1u);
  run_until([&] { return client().idle_connections() == 0; }, 5000);
}

TEST_F(FetchClientTest, IdleConnectionClosedByTheServerLeavesThePool) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true};
  });
  EXPECT_EQ(get(server.url("/")).body, "ok");
  run_until([&] { return client().idle_connections() == 0; }, 5000);
  EXPECT_EQ(get(server.url("/")).body, "ok");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(FetchClientTest, RequestOnAReusedConnectionThatCloseUnansweredIsRetriedOnce) {
  ScriptedServer server(base_, [](int conn, int request, const std::string&) {
    if (conn == 0 && request == 1) return ScriptedServer::Reply{"", true};  // the race
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false};
  });
  EXPECT_EQ(get(server.url("/")).body, "ok");
  FetchResult r = get(server.url("/"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(FetchClientTest, FreshConnectionClosedUnansweredIsNotRetried) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"", true};
  });
  FetchResult r = get(server.url("/"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the connection to http://127.0.0.1:" +
                         std::to_string(server.port()) +
                         " closed before the response was complete");
  EXPECT_EQ(server.connections(), 1);
}

// --- responses no well-behaved server sends ------------------------------------------

TEST_F(FetchClientTest, BodyDelimitedByCloseIsReadToTheEnd) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nuntil the end", true};
  });
  FetchResult r = get(server.url("/"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.body, "until the end");
  EXPECT_EQ(client().idle_connections(), 0u);
}

TEST_F(FetchClientTest, Http10ResponseIsAcceptedAndNotReused) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false};
  });
  EXPECT_EQ(get(server.url("/")).body, "ok");
  EXPECT_EQ(client().idle_connections(), 0u);
}

TEST_F(FetchClientTest, InformationalResponsesAreSkipped) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
        false};
  });
  FetchResult r = get(server.url("/"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.status_text, "Created");
  EXPECT_EQ(r.body, "done");
  EXPECT_FALSE(has_header(r, "link"));
}

TEST_F(FetchClientTest, EmptyAndPaddedHeaderValuesAreKept) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{
        "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Padded: \t value \t\r\nContent-Length: 0\r\n\r\n",
        false};
  });
  FetchResult r = get(server.url("/"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(has_header(r, "x-empty"));
  EXPECT_EQ(header(r, "x-empty"), "");
  EXPECT_EQ(header(r, "x-padded"), "value");
}

TEST_F(FetchClientTest, ResponseCutShortFails) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true};
  });
  FetchResult r = get(server.url("/"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the connection to http://127.0.0.1:" +
                         std::to_string(server.port()) +
                         " closed before the response was complete");
}

TEST_F(FetchClientTest, MalformedResponsesAreRefused) {
  for (std::string bytes : {std::string("garbage\r\n\r\n"),
                            std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
                            std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                        "Content-Length: 3\r\n\r\nok"),
                            std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        "zz\r\nok\r\n0\r\n\r\n"),
                            std::string("HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"),
                            std::string("HTTP/1.1 101 Switching Protocols\r\n\r\n")}) {
    ScriptedServer server(base_, [&](int, int, const std::string&) {
      return ScriptedServer::Reply{bytes, true};
    });
    FetchResult r = get(server.url("/"));
    EXPECT_FALSE(r.ok) << bytes;
    EXPECT_EQ(r.error.rfind("fetch failed: ", 0), 0u) << r.error;
    EXPECT_NE(r.error.find("http://127.0.0.1:" + std::to_string(server.port())), std::string::npos)
        << r.error;
  }
}

TEST_F(FetchClientTest, HugeResponseHeadIsRefused) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 100; i++)
      head += "X-Filler-" + std::to_string(i) + ": " + std::string(1000, 'x') + "\r\n";
    return ScriptedServer::Reply{head + "Content-Length: 0\r\n\r\n", true};
  });
  FetchResult r = get(server.url("/"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: the response head from " + server.url("") +
                         " is larger than 65536 bytes");
}

TEST_F(FetchClientTest, ResponseWithTooManyHeaderFieldsIsRefused) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    std::string head = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 300; i++) head += "X-" + std::to_string(i) + ": x\r\n";
    return ScriptedServer::Reply{head + "Content-Length: 0\r\n\r\n", true};
  });
  FetchResult r = get(server.url("/"));
  EXPECT_EQ(r.error, "fetch failed: the response from " + server.url("") +
                         " has more than 256 header fields");
}

TEST_F(FetchClientTest, DeclaredContentLengthOverTheLimitFailsAtOnce) {
  ScriptedServer server(base_, [](int, int, const std::string&) {
    return ScriptedServer::Reply{"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", false};
  });
  FetchClientOptions o = options();
  o.max_body_bytes = 1000;
  client(o);
  EXPECT_EQ(get(server.url("/")).error, "fetch failed: the response body is larger than 1000 bytes");
}

// --- TLS -----------------------------------------------------------------------------

class FetchClientTlsTest : public FetchClientTest {
 protected:
  FetchClientTlsTest() {
    char dir_template[] = "/tmp/fetch_client_test.XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    pki_ = std::make_unique<TestPki>(dir_);
  }
  ~FetchClientTlsTest() override {
    client_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  FetchClient& trusting_client() {
    FetchClientOptions o = options();
    o.ca_file = pki_->ca_file;
    return client(o);
  }
  std::string dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(FetchClientTlsTest, GoodCertificateWorksForIpAndName) {
  Origin origin(pki_->cert, pki_->key);
  trusting_client();
  Json j = echo(get(origin.url("/echo")));
  EXPECT_EQ(j["method"], "GET");
  std::string by_name = "https://localhost:" + std::to_string(origin.port()) + "/echo";
  Json k = echo(get(by_name));
  EXPECT_EQ(k["headers"]["host"], "localhost:" + std::to_string(origin.port()));
  EXPECT_EQ(get(origin.url("/chunked/100000")).body, pattern(100000));
}

TEST_F(FetchClientTlsTest, TlsConnectionsAreReusedPerName) {
  Origin origin(pki_->cert, pki_->key);
  trusting_client();
  Json first = echo(get(origin.url("/echo")));
  Json second = echo(get(origin.url("/echo")));
  EXPECT_EQ(first["connection"], second["connection"]);
  // Same address and port, but checked against another name: its own connection.
  Json third = echo(get("https://localhost:" + std::to_string(origin.port()) + "/echo"));
  EXPECT_NE(third["connection"], first["connection"]);
  EXPECT_EQ(client().idle_connections(), 2u);
}

TEST_F(FetchClientTlsTest, CertificateForAnotherNameFails) {
  Origin origin(pki_->wrong_host_cert, pki_->wrong_host_key);
  trusting_client();
  std::string port = std::to_string(origin.port());
  FetchResult r = get("https://localhost:" + port + "/echo");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: TLS handshake with localhost:" + port +
                         " failed: hostname mismatch");
  r = get(origin.url("/echo"));
  EXPECT_EQ(r.error, "fetch failed: TLS handshake with 127.0.0.1:" + port +
                         " failed: IP address mismatch");
}

TEST_F(FetchClientTlsTest, ExpiredCertificateFails) {
  Origin origin(pki_->expired_cert, pki_->expired_key);
  trusting_client();
  FetchResult r = get(origin.url("/echo"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "fetch failed: TLS handshake with 127.0.0.1:" +
                         std::to_string(origin.port()) + " failed: certificate has expired");
}

TEST_F(FetchClientTlsTest, CertificateFromAnotherCaFails) {
  Origin origin(pki_->untrusted_cert, pki_->untrusted_key);
  trusting_client();
  FetchResult r = get(origin.url("/echo"));
  EXPECT_FALSE(r.ok);
  std::string prefix =
      "fetch failed: TLS handshake with 127.0.0.1:" + std::to_string(origin.port()) + " failed: ";
  EXPECT_TRUE(r.error == prefix + "unable to get local issuer certificate" ||
              r.error == prefix + "self-signed certificate in certificate chain")
      << r.error;
}

TEST_F(FetchClientTlsTest, SystemTrustStoreDoesNotTrustTheTestCa) {
  Origin origin(pki_->cert, pki_->key);
  client();  // no ca_file
  FetchResult r = get(origin.url("/echo"));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("unable to get local issuer certificate"), std::string::npos) << r.error;
}

TEST_F(FetchClientTlsTest, HttpsToAPlainHttpServerFails) {
  Origin plain;
  trusting_client();
  std::string port = std::to_string(plain.port());
  FetchResult r = get("https://127.0.0.1:" + port + "/echo");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("fetch failed: TLS handshake with 127.0.0.1:" + port + " failed: ", 0),
            0u)
      << r.error;
}

TEST_F(FetchClientTlsTest, MissingOrBadCaFileThrows) {
  FetchClientOptions o = options();
  o.ca_file = dir_ + "/missing.pem";
  try {
    FetchClient c(base_, o);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "fetch_ca_file " + o.ca_file + ": No such file or directory");
  }
  o.ca_file = pki_->key;  // a PEM file, but no certificate in it
  try {
    FetchClient c(base_, o);
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("fetch_ca_file " + o.ca_file + ": ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace wfp
