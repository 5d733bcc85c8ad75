// The supervisor's outbound HTTP/1.1 client (every worker's fetch()):
// requests written by hand, responses read with libhttp-parser in
// HTTP_RESPONSE mode, TLS through OpenSSL bufferevents, names resolved with
// evdns. Runs in the supervisor's event loop. Trusts nothing: the request
// comes from tenant JavaScript (URL, method, headers), the response from
// any server on the Internet, and DNS answers from whoever owns the name.
//
// One fetch is a chain of hops (one per redirect). A hop:
//   parse URL → resolve (evdns, or the IP literal) → check every address
//   against the network policy → an idle connection to a permitted address,
//   or connect() to permitted addresses in turn → TLS handshake → write the
//   request → parse the response → park the connection or close it.
// The address a connection uses is always one the policy checked: the
// client resolves names itself and never hands a name to anything that
// would resolve it again.
//
// Lifetimes: FetchClient::Impl owns every Fetch (by id) and every idle
// connection. libevent callbacks carry a raw Fetch* or Conn*; every event
// and bufferevent they belong to is freed with them, so no callback fires
// for a dead object. The one exception is evdns: a cancelled lookup still
// calls back later, so a lookup's argument is a small token that outlives
// the fetch (and, if need be, the client), see Resolver.
//
// Decisions:
//  - Credentials in the URL ("https://user:pass@host/") fail the fetch
//    with "Fetch API cannot load: <url>", as the Request constructor does in
//    the Fetch Standard; they are never sent as Authorization.
//  - Connections are opened with our own non-blocking connect() and only
//    then handed to a bufferevent, so a failed connect reports its own errno
//    ("Connection refused") rather than a TLS error or a stale errno.
//  - A/AAAA are two single-family evdns lookups, not one AF_UNSPEC lookup:
//    libevent's AF_UNSPEC path keeps an internal request alive after it has
//    answered, which would make freeing the evdns_base unsafe. IPv4
//    addresses are tried first: there is no Happy Eyeballs here, and a
//    black-holed IPv6 route would otherwise eat the whole timeout.
//  - "accept-encoding: identity" replaces the worker's value: bodies are
//    passed through as received, and nothing here decompresses.
#include "supervisor/fetch_client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "ipc/log.h"
#include "sandbox/url.h"
#include "supervisor/text.h"

namespace wfp {

namespace {

constexpr int kMaxRedirects = 20;                 // the Fetch Standard's limit
constexpr size_t kMaxHeadBytes = 64 * 1024;       // status line + header fields
constexpr size_t kMaxResponseHeaders = 256;       // header fields in one response

struct Fetch;
struct Conn;

// --- text ------------------------------------------------------------------

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Tenant-supplied text quoted in an error message: control bytes and
// non-ASCII shown as \xNN so a message stays one readable line.
std::string printable(std::string_view s, size_t max = 100) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

// Request headers never forwarded from the worker: hop-by-hop ones, the
// framing we compute ourselves, and accept-encoding, which we replace.
bool is_dropped_request_header(const std::string& lname) {
  static const char* const names[] = {"connection", "keep-alive", "te",
                                      "trailer",    "transfer-encoding", "upgrade",
                                      "host",       "content-length",    "accept-encoding"};
  for (const char* n : names)
    if (lname == n) return true;
  return lname.compare(0, 6, "proxy-") == 0;
}

// Response headers the worker does not see: they describe this hop only.
bool is_dropped_response_header(std::string_view name) {
  return ascii_iequals(name, "connection") || ascii_iequals(name, "keep-alive") ||
         ascii_iequals(name, "transfer-encoding");
}

// The Fetch Standard's "request-body-header name", removed when a redirect
// turns the request into a GET.
bool is_body_header(std::string_view name) {
  return ascii_iequals(name, "content-encoding") || ascii_iequals(name, "content-language") ||
         ascii_iequals(name, "content-location") || ascii_iequals(name, "content-type");
}

bool is_redirect_status(int s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

std::string cannot_load(const std::string& url) { return "Fetch API cannot load: " + url; }

// --- addresses and the pool key ------------------------------------------

struct Candidate {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string text;  // "127.0.0.1", "::1"
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
  // "127.0.0.1:80", "[::1]:80"
  std::string with_port(int port) const {
    if (ss.ss_family == AF_INET6 && text.find(':') != std::string::npos)
      return "[" + text + "]:" + std::to_string(port);
    return text + ":" + std::to_string(port);
  }
};

Candidate candidate_from(const sockaddr* sa, int port) {
  Candidate c;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&c.ss, sa, sizeof(sockaddr_in));
    reinterpret_cast<sockaddr_in*>(&c.ss)->sin_port = htons(uint16_t(port));
    c.len = sizeof(sockaddr_in);
  } else {
    std::memcpy(&c.ss, sa, sizeof(sockaddr_in6));
    reinterpret_cast<sockaddr_in6*>(&c.ss)->sin6_port = htons(uint16_t(port));
    c.len = sizeof(sockaddr_in6);
  }
  c.text = NetworkPolicy::address_text(c.sa());
  return c;
}

// Connections are shared only between requests that agree on all of this:
// the same scheme to the same address and port, and, for TLS, the same
// name the certificate was checked against.
struct PoolKey {
  std::string scheme;
  std::string address;
  int port = 0;
  std::string tls_name;
  bool operator<(const PoolKey& o) const {
    return std::tie(scheme, address, port, tls_name) <
           std::tie(o.scheme, o.address, o.port, o.tls_name);
  }
};

// --- evdns ------------------------------------------------------------------

// The evdns_base and the lookups still to call back. A cancelled
// evdns_getaddrinfo() calls back later from the loop, touching the
// evdns_base, so the base may be freed only once every lookup has called
// back; when the client is destroyed first, the last callback frees it.
struct Resolver {
  event_base* base = nullptr;
  evdns_base* dns = nullptr;
  FetchClient::Impl* owner = nullptr;  // null once the client is gone
  size_t pending = 0;                  // lookups that have not called back yet
};

struct DnsLookup {
  Resolver* resolver = nullptr;
  uint64_t fetch_id = 0;  // 0: nobody waits for the answer any more
  int family = AF_INET;
  evdns_getaddrinfo_request* request = nullptr;  // set once known to be asynchronous
};

void free_resolver_cb(evutil_socket_t, short, void* arg) {
  auto* r = static_cast<Resolver*>(arg);
  evdns_base_free(r->dns, 0);
  delete r;
}

}  // namespace

// --- the client's state -------------------------------------------------------

struct FetchClient::Impl {
  event_base* base = nullptr;
  FetchClientOptions opt;
  SSL_CTX* ssl_ctx = nullptr;
  Resolver* resolver = nullptr;
  uint64_t next_id = 1;
  uint64_t next_conn = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Fetch>> fetches;
  std::map<PoolKey, std::deque<std::unique_ptr<Conn>>> idle;

  ~Impl();
  Fetch* find(uint64_t id) {
    auto it = fetches.find(id);
    return it == fetches.end() ? nullptr : it->second.get();
  }
  void deliver(uint64_t id);
  void on_dns(DnsLookup* t, int err, evutil_addrinfo* res);
  std::unique_ptr<Conn> take_idle(const PoolKey& key);
  void park(std::unique_ptr<Conn> c);
  void drop_idle(Conn* c);
};

namespace {

// One TCP (or TLS) connection: in use by one Fetch, or parked idle.
struct Conn {
  FetchClient::Impl* impl = nullptr;
  bufferevent* bev = nullptr;
  PoolKey key;
  std::string peer;  // "127.0.0.1:80"
  uint64_t number = 0;
  bool tls = false;
  bool handshake_done = false;
  bool eof = false;          // the peer closed (or the socket failed)
  Fetch* owner = nullptr;    // null while idle
  event* idle_timer = nullptr;

  ~Conn() {
    if (idle_timer) event_free(idle_timer);
    if (bev) bufferevent_free(bev);  // closes the socket (BEV_OPT_CLOSE_ON_FREE), frees SSL
  }
};

void conn_read_cb(bufferevent*, void* arg);
void conn_event_cb(bufferevent*, short what, void* arg);
void connect_ready_cb(evutil_socket_t, short, void* arg);
void fetch_timer_cb(evutil_socket_t, short, void* arg);
void fetch_step_cb(evutil_socket_t, short, void* arg);
void idle_timer_cb(evutil_socket_t, short, void* arg);
void dns_cb(int err, evutil_addrinfo* res, void* arg);

int on_message_begin(http_parser* p);
int on_status(http_parser* p, const char* at, size_t n);
int on_header_field(http_parser* p, const char* at, size_t n);
int on_header_value(http_parser* p, const char* at, size_t n);
int on_headers_complete(http_parser* p);
int on_body(http_parser* p, const char* at, size_t n);
int on_message_complete(http_parser* p);

const http_parser_settings& parser_settings() {
  static const http_parser_settings s = [] {
    http_parser_settings x;
    http_parser_settings_init(&x);
    x.on_message_begin = on_message_begin;
    x.on_status = on_status;
    x.on_header_field = on_header_field;
    x.on_header_value = on_header_value;
    x.on_headers_complete = on_headers_complete;
    x.on_body = on_body;
    x.on_message_complete = on_message_complete;
    return x;
  }();
  return s;
}

// What the parser has read of the current response.
struct Response {
  int status = 0;
  std::string reason;
  HeaderList headers;
  std::string field, value;
  bool in_value = false;
  bool headers_done = false;
  bool complete = false;
  bool got_byte = false;  // any byte of a response arrived on this exchange
  size_t head_bytes = 0;
  std::string body;
  std::string error;  // set by a parser callback that refused the response
};

// One fetch(): the worker's request, followed through its redirects.
struct Fetch {
  FetchClient::Impl* impl = nullptr;
  uint64_t id = 0;
  FetchClient::Done done;
  FetchRequest req;  // method, headers and body change on some redirects

  // The current hop.
  url::Url url;
  std::string href, origin, host_port;  // host_port: the URL's host[:port]
  bool https = false;
  int port = 0;
  std::string tls_name;  // the URL's host without brackets (https only)
  bool ip_literal = false;
  std::string request_bytes;
  int redirects = 0;
  bool redirected = false;

  // Finding a connection.
  DnsLookup* lookups[2] = {nullptr, nullptr};  // A, AAAA
  int lookups_pending = 0;
  std::vector<Candidate> found[2];
  std::vector<Candidate> candidates;  // permitted addresses, in order of preference
  size_t next_candidate = 0;
  std::string connect_error;          // the first failed connect()
  int connect_fd = -1;
  event* connect_ev = nullptr;
  const Candidate* connecting = nullptr;
  bool use_pool = true;

  // The exchange on the connection.
  std::unique_ptr<Conn> conn;
  bool conn_reused = false;
  bool retried = false;
  uint64_t exchange = 0;  // bumped for every request written
  http_parser parser{};
  Response resp;

  event* timer = nullptr;
  event* step = nullptr;
  std::function<void()> next;  // run by `step`, from the loop
  bool finished = false;
  FetchResult result;

  ~Fetch() {
    teardown_io();
    if (timer) event_free(timer);
    if (step) event_free(step);
  }

  // --- scheduling -----------------------------------------------------------

  // Runs `fn` from the loop, never from the current stack: keeps done()
  // out of start() and out of evdns's synchronous answers. A later call
  // replaces an earlier one not yet run (finish() wins over everything).
  void schedule(std::function<void()> fn) {
    next = std::move(fn);
    event_active(step, EV_TIMEOUT, 0);
  }

  void arm_timer() {
    timeval tv{static_cast<time_t>(impl->opt.timeout_ms / 1000),
               static_cast<suseconds_t>((impl->opt.timeout_ms % 1000) * 1000)};
    evtimer_add(timer, &tv);
  }

  // Frees every I/O resource of the current hop; the connection is
  // closed, not parked (callers that may park it do so first).
  void teardown_io() {
    for (auto*& t : lookups) {
      if (!t) continue;
      t->fetch_id = 0;  // its callback still comes; it finds nobody
      if (t->request) evdns_getaddrinfo_cancel(t->request);
      t = nullptr;
    }
    lookups_pending = 0;
    if (connect_ev) {
      event_free(connect_ev);
      connect_ev = nullptr;
    }
    if (connect_fd >= 0) {
      ::close(connect_fd);
      connect_fd = -1;
    }
    conn.reset();
    if (timer) evtimer_del(timer);
  }

  void finish(FetchResult r) {
    if (finished) return;
    finished = true;
    teardown_io();
    r.url = href;
    r.redirected = redirected;
    result = std::move(r);
    FetchClient::Impl* owner = impl;
    uint64_t my_id = id;
    schedule([owner, my_id] { owner->deliver(my_id); });
  }

  void fail(std::string message) {
    FetchResult r;
    r.ok = false;
    r.error = std::move(message);
    finish(std::move(r));
  }

  // --- a hop ----------------------------------------------------------------

  // Starts the hop to `url`: checks, then DNS or the literal address.
  void begin_hop() {
    href = url::href(url);
    origin = url::origin(url);
    host_port = url::host(url);
    if (url.scheme != "http" && url.scheme != "https") return fail(cannot_load(href));
    if (!url.username.empty() || !url.password.empty()) return fail(cannot_load(href));
    if (!url.host || url.host->empty()) return fail(cannot_load(href));
    https = url.scheme == "https";
    port = url.port >= 0 ? url.port : (https ? 443 : 80);
    if (!build_request()) return;

    const std::string& host = *url.host;
    tls_name = host;
    sockaddr_storage ss{};
    ip_literal = false;
    if (host.front() == '[' && host.back() == ']') {
      tls_name = host.substr(1, host.size() - 2);
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      ip_literal = inet_pton(AF_INET6, tls_name.c_str(), &in6->sin6_addr) == 1;
      if (!ip_literal) return fail(cannot_load(href));
    } else {
      // The URL parser has already turned every IPv4 spelling ("0x7f.1",
      // "2130706433") into a dotted quad.
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      ip_literal = inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1;
    }

    use_pool = true;
    retried = false;
    connect_error.clear();
    arm_timer();
    if (ip_literal) {
      std::vector<Candidate> one{candidate_from(reinterpret_cast<sockaddr*>(&ss), port)};
      return choose_addresses(std::move(one));
    }
    start_lookups(host);
  }

  // Serialises the request of this hop; false (and the fetch failed) when
  // the worker's method or headers can't be sent.
  bool build_request() {
    if (!is_token(req.method)) {
      fail("fetch failed: invalid method \"" + printable(req.method) + "\"");
      return false;
    }
    // The Fetch Standard normalises these six methods to upper case.
    for (const char* m : {"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
      if (ascii_iequals(req.method, m)) req.method = m;
    for (const char* m : {"CONNECT", "TRACE", "TRACK"}) {
      if (ascii_iequals(req.method, m)) {
        fail(std::string("fetch failed: the method ") + m + " is not allowed");
        return false;
      }
    }
    std::string target = url.path.serialized();
    if (target.empty()) target = "/";
    if (url.query) target += "?" + *url.query;

    std::string out;
    out.reserve(256 + req.body.size());
    out += req.method + " " + target + " HTTP/1.1\r\n";
    out += "Host: " + host_port + "\r\n";
    for (auto& [name, raw] : req.headers) {
      if (!is_token(name)) {
        fail("fetch failed: invalid header name \"" + printable(name) + "\"");
        return false;
      }
      std::string_view value = trim_ows(raw);
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        fail("fetch failed: invalid value for header \"" + name + "\"");
        return false;
      }
      if (is_dropped_request_header(lower(name))) continue;
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
    out += "accept-encoding: identity\r\n";
    if (impl->opt.max_idle_per_origin == 0) out += "connection: close\r\n";
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")
      out += "content-length: " + std::to_string(req.body.size()) + "\r\n";
    out += "\r\n";
    out += req.body;
    request_bytes = std::move(out);
    return true;
  }

  void start_lookups(const std::string& host) {
    Resolver* r = impl->resolver;
    found[0].clear();
    found[1].clear();
    lookups_pending = 2;
    const int families[2] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
      auto* t = new DnsLookup{r, id, families[i], nullptr};
      lookups[i] = t;
      r->pending++;
      evutil_addrinfo hints{};
      hints.ai_family = families[i];
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_protocol = IPPROTO_TCP;
      // May call dns_cb before returning (numbers, /etc/hosts): then `t`
      // is gone and the result is NULL. dns_cb only records the answer and
      // schedules the next step, so nothing here runs twice.
      evdns_getaddrinfo_request* q = evdns_getaddrinfo(r->dns, host.c_str(), nullptr, &hints,
                                                       dns_cb, t);
      if (q) t->request = q;
    }
  }

  void on_lookup(int index, int err, const evutil_addrinfo* res) {
    lookups[index] = nullptr;
    if (err == 0) {
      for (const evutil_addrinfo* ai = res; ai; ai = ai->ai_next) {
        if (!ai->ai_addr || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)) continue;
        found[index].push_back(candidate_from(ai->ai_addr, port));
      }
    }
    if (--lookups_pending > 0) return;
    schedule([this] {
      std::vector<Candidate> all = std::move(found[0]);
      for (auto& c : found[1]) all.push_back(std::move(c));
      if (all.empty())
        return fail("fetch failed: could not resolve \"" + printable(*url.host) + "\"");
      choose_addresses(std::move(all));
    });
  }

  // The policy check: every address is checked, only permitted ones are
  // ever connected to.
  void choose_addresses(std::vector<Candidate> all) {
    candidates.clear();
    next_candidate = 0;
    const Candidate* denied = nullptr;
    for (const Candidate& c : all) {
      if (req.restricted && !impl->opt.policy.permits(c.sa())) {
        if (!denied) denied = &c;
        continue;
      }
      candidates.push_back(c);
    }
    if (candidates.empty()) {
      return fail(cannot_load(href) + ": the address " + (denied ? denied->text : "?") +
                  " is in a network this worker may not reach");
    }
    if (use_pool) {
      for (const Candidate& c : candidates) {
        if (auto idle = impl->take_idle(key_for(c))) {
          conn = std::move(idle);
          conn->owner = this;
          conn_reused = true;
          return send_request();
        }
      }
    }
    connect_next();
  }

  PoolKey key_for(const Candidate& c) const {
    return PoolKey{url.scheme, c.text, port, https ? tls_name : std::string()};
  }

  void note_connect_error(const Candidate& c, int err) {
    if (connect_error.empty())
      connect_error = "fetch failed: could not connect to " + c.with_port(port) + " (" +
                      std::strerror(err) + ")";
  }

  // Tries the permitted addresses in turn, from next_candidate on.
  void connect_next() {
    while (next_candidate < candidates.size()) {
      const Candidate& c = candidates[next_candidate++];
      int fd = ::socket(c.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        note_connect_error(c, errno);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(fd, c.sa(), c.len) == 0) return connected(fd, c);
      if (errno == EINPROGRESS) {
        connect_fd = fd;
        connecting = &c;
        connect_ev = event_new(impl->base, fd, EV_WRITE, connect_ready_cb, this);
        if (!connect_ev || event_add(connect_ev, nullptr) != 0)
          return fail("fetch failed: internal error (event_add)");
        return;
      }
      note_connect_error(c, errno);
      ::close(fd);
    }
    fail(connect_error.empty() ? "fetch failed: could not connect to " + href : connect_error);
  }

  void on_connect_ready() {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(connect_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    int fd = connect_fd;
    const Candidate& c = *connecting;
    event_free(connect_ev);
    connect_ev = nullptr;
    connect_fd = -1;
    if (err != 0) {
      note_connect_error(c, err);
      ::close(fd);
      return connect_next();
    }
    connected(fd, c);
  }

  // `fd` is connected to `c`: wrap it (TLS: start the handshake) and send.
  void connected(int fd, const Candidate& c) {
    auto nc = std::make_unique<Conn>();
    nc->impl = impl;
    nc->key = key_for(c);
    nc->peer = c.with_port(port);
    nc->number = impl->next_conn++;
    nc->tls = https;
    nc->owner = this;
    const int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
    if (https) {
      SSL* ssl = SSL_new(impl->ssl_ctx);
      if (!ssl) {
        ::close(fd);
        return fail("fetch failed: TLS handshake with " + host_port + " failed: SSL_new failed");
      }
      bool setup = true;
      if (ip_literal) {
        // No SNI for IP literals (RFC 6066 §3); the certificate must name the IP.
        setup = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), tls_name.c_str()) == 1;
      } else {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        setup = SSL_set_tlsext_host_name(ssl, tls_name.c_str()) == 1 &&
                SSL_set1_host(ssl, tls_name.c_str()) == 1;
      }
      if (!setup) {
        SSL_free(ssl);
        ::close(fd);
        ERR_clear_error();
        return fail("fetch failed: TLS handshake with " + host_port +
                    " failed: the host name cannot be checked");
      }
      nc->bev = bufferevent_openssl_socket_new(impl->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                               options);
      if (!nc->bev) {
        SSL_free(ssl);
        ::close(fd);
        return fail("fetch failed: internal error (bufferevent_openssl_socket_new)");
      }
      // Servers commonly close without close_notify. Truncation is still
      // caught wherever the framing says how long the body is.
      bufferevent_openssl_set_allow_dirty_shutdown(nc->bev, 1);
    } else {
      nc->bev = bufferevent_socket_new(impl->base, fd, options);
      if (!nc->bev) {
        ::close(fd);
        return fail("fetch failed: internal error (bufferevent_socket_new)");
      }
      nc->handshake_done = true;
    }
    conn = std::move(nc);
    conn_reused = false;
    send_request();
  }

  void send_request() {
    Conn* c = conn.get();
    bufferevent_setcb(c->bev, conn_read_cb, nullptr, conn_event_cb, c);
    resp = Response{};
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
    exchange++;
    if (bufferevent_write(c->bev, request_bytes.data(), request_bytes.size()) != 0 ||
        bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0)
      return fail("fetch failed: internal error (bufferevent_write)");
  }

  // --- the response ---------------------------------------------------------

  void on_read() {
    evbuffer* in = bufferevent_get_input(conn->bev);
    if (evbuffer_get_length(in) == 0) return;
    resp.got_byte = true;
    while (evbuffer_get_length(in) > 0 && !resp.complete) {
      evbuffer_iovec v;
      if (evbuffer_peek(in, -1, nullptr, &v, 1) < 1) break;
      size_t n = http_parser_execute(&parser, &parser_settings(),
                                     static_cast<const char*>(v.iov_base), v.iov_len);
      evbuffer_drain(in, n);
      if (!resp.error.empty()) return fail(resp.error);
      http_errno e = HTTP_PARSER_ERRNO(&parser);
      if (e == HPE_PAUSED) break;  // the response is complete
      if (e != HPE_OK) return fail(malformed(e));
      if (n != v.iov_len) return fail(malformed(HPE_UNKNOWN));
    }
    if (resp.complete) return on_response_complete();
    // timeout_ms covers the whole head, then every gap between reads.
    if (resp.headers_done) arm_timer();
  }

  std::string malformed(http_errno e) {
    return "fetch failed: malformed response from " + origin + " (" + http_errno_description(e) +
           ")";
  }

  void on_conn_event(short what) {
    if (what & BEV_EVENT_CONNECTED) {
      conn->handshake_done = true;
      return;
    }
    // errno is only meaningful for an error (libevent saves and restores it
    // around deferred callbacks); OpenSSL's own errors say more when present.
    int err = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
    std::string ssl_error = conn->tls ? openssl_errors(conn->bev) : std::string();
    if (!conn->handshake_done) return fail(tls_failure(err, ssl_error));
    std::string detail = ssl_error;
    if (detail.empty() && err != 0) detail = std::strerror(err);
    on_closed(detail);
  }

  // Drains the bufferevent's OpenSSL errors; the first one's reason.
  static std::string openssl_errors(bufferevent* bev) {
    std::string reason;
    while (unsigned long e = bufferevent_get_openssl_error(bev)) {
      if (!reason.empty()) continue;
      if (const char* r = ERR_reason_error_string(e)) {
        reason = r;
      } else {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        reason = buf;
      }
    }
    return reason;
  }

  // The certificate check's verdict first ("certificate has expired",
  // "hostname mismatch", "unable to get local issuer certificate"): the
  // OpenSSL error for those is only "certificate verify failed".
  std::string tls_failure(int err, const std::string& ssl_error) {
    std::string reason;
    SSL* ssl = bufferevent_openssl_get_ssl(conn->bev);
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK) reason = X509_verify_cert_error_string(verify);
    if (reason.empty()) reason = ssl_error;
    if (reason.empty() && err != 0) reason = std::strerror(err);
    if (reason.empty()) reason = "the connection closed";
    return "fetch failed: TLS handshake with " + host_port + " failed: " + reason;
  }

  // The peer closed, or the connection failed (`detail` says how).
  void on_closed(const std::string& detail) {
    conn->eof = true;  // whatever happens next, this connection is not parked
    uint64_t ex = exchange;
    if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0) {
      on_read();
      if (finished || exchange != ex) return;
    }
    if (resp.got_byte) {
      // A body delimited by the end of the connection ends here.
      http_parser_execute(&parser, &parser_settings(), nullptr, 0);
      if (!resp.error.empty()) return fail(resp.error);
      if (resp.complete) return on_response_complete();
    } else if (conn_reused && !retried) {
      // The server closed an idle connection as we reused it: once more,
      // on a fresh connection.
      WFP_LOG(debug, "fetch: reused connection %s closed before answering; retrying",
              conn->peer.c_str());
      retried = true;
      use_pool = false;
      conn.reset();
      next_candidate = 0;
      return connect_next();
    }
    std::string message =
        "fetch failed: the connection to " + origin + " closed before the response was complete";
    if (!detail.empty()) message += " (" + detail + ")";
    fail(std::move(message));
  }

  void on_timeout() {
    fail("fetch failed: no response from " + origin + " within " +
         std::to_string(impl->opt.timeout_ms) + " ms");
  }

  void release_conn() {
    std::unique_ptr<Conn> c = std::move(conn);
    c->owner = nullptr;
    bool reusable = !c->eof && http_should_keep_alive(&parser) &&
                    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
                    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
                    impl->opt.max_idle_per_origin > 0;
    if (reusable) impl->park(std::move(c));
  }

  void on_response_complete() {
    release_conn();
    evtimer_del(timer);
    const std::string* location = nullptr;
    for (auto& [name, value] : resp.headers) {
      if (ascii_iequals(name, "location")) {
        location = &value;
        break;
      }
    }
    if (!is_redirect_status(resp.status) || !location || req.redirect == RedirectMode::manual)
      return succeed();
    if (req.redirect == RedirectMode::error)
      return fail("fetch failed: the response is a redirect and redirect mode is \"error\"");
    if (redirects >= kMaxRedirects)
      return fail("fetch failed: too many redirects (more than " + std::to_string(kMaxRedirects) +
                  ")");
    std::optional<url::Url> next_url = url::parse(*location, &url);
    if (!next_url)
      return fail("fetch failed: the redirect location \"" + printable(*location) +
                  "\" is not a valid URL");
    if (!next_url->fragment) next_url->fragment = url.fragment;
    redirects++;
    redirected = true;

    // Fetch Standard, HTTP-redirect fetch, step 12.
    int s = resp.status;
    if (((s == 301 || s == 302) && req.method == "POST") ||
        (s == 303 && req.method != "GET" && req.method != "HEAD")) {
      req.method = "GET";
      req.body.clear();
      std::erase_if(req.headers, [](const auto& h) { return is_body_header(h.first); });
    }
    // Credentials meant for one origin are not handed to another.
    if (url::origin(*next_url) != origin) {
      std::erase_if(req.headers, [](const auto& h) {
        return ascii_iequals(h.first, "authorization") || ascii_iequals(h.first, "cookie");
      });
    }
    url = std::move(*next_url);
    begin_hop();
  }

  void succeed() {
    FetchResult r;
    r.ok = true;
    r.status = resp.status;
    r.status_text = std::move(resp.reason);
    r.headers = std::move(resp.headers);
    r.body = std::move(resp.body);
    finish(std::move(r));
  }
};

// --- http_parser callbacks: no exception may cross into C ------------------

Fetch& fetch_of(http_parser* p) { return *static_cast<Fetch*>(p->data); }

int refuse(Fetch& f, std::string message) {
  f.resp.error = std::move(message);
  return -1;
}

int count_head(Fetch& f, size_t n) {
  f.resp.head_bytes += n;
  if (f.resp.head_bytes > kMaxHeadBytes)
    return refuse(f, "fetch failed: the response head from " + f.origin + " is larger than " +
                         std::to_string(kMaxHeadBytes) + " bytes");
  return 0;
}

// Ends the header field being read. Debian's http_parser is built lax
// (HTTP_PARSER_STRICT=0) and lets spaces into field names; such a name
// could not even be put into the worker's Headers, so the response is
// refused. Values are checked by the parser itself (no CR, LF or NUL).
int push_header(Fetch& f) {
  Response& r = f.resp;
  if (!r.in_value) {
    if (r.field.empty()) return 0;
    return refuse(f, f.malformed(HPE_INVALID_HEADER_TOKEN));  // a name without a value
  }
  if (!is_token(r.field)) return refuse(f, f.malformed(HPE_INVALID_HEADER_TOKEN));
  if (!is_dropped_response_header(r.field))
    r.headers.emplace_back(std::move(r.field), std::string(trim_ows(r.value)));
  r.field.clear();
  r.value.clear();
  r.in_value = false;
  return 0;
}

int on_message_begin(http_parser* p) {
  // A new message: the first, or the one after an informational (1xx) response.
  Response& r = fetch_of(p).resp;
  r.status = 0;
  r.reason.clear();
  r.headers.clear();
  r.field.clear();
  r.value.clear();
  r.in_value = false;
  r.headers_done = false;
  r.body.clear();
  return 0;
}

int on_status(http_parser* p, const char* at, size_t n) {
  Fetch& f = fetch_of(p);
  try {
    if (count_head(f, n)) return -1;
    f.resp.reason.append(at, n);
    return 0;
  } catch (...) {
    return refuse(f, "fetch failed: out of memory");
  }
}

int on_header_field(http_parser* p, const char* at, size_t n) {
  Fetch& f = fetch_of(p);
  Response& r = f.resp;
  if (r.headers_done) return 0;  // trailers are not merged into the headers
  try {
    if (count_head(f, n)) return -1;
    if (r.in_value) {
      if (push_header(f)) return -1;
      if (r.headers.size() >= kMaxResponseHeaders)
        return refuse(f, "fetch failed: the response from " + f.origin + " has more than " +
                             std::to_string(kMaxResponseHeaders) + " header fields");
    }
    r.field.append(at, n);
    return 0;
  } catch (...) {
    return refuse(f, "fetch failed: out of memory");
  }
}

int on_header_value(http_parser* p, const char* at, size_t n) {
  Fetch& f = fetch_of(p);
  Response& r = f.resp;
  if (r.headers_done) return 0;
  try {
    if (count_head(f, n)) return -1;
    r.in_value = true;
    r.value.append(at, n);
    return 0;
  } catch (...) {
    return refuse(f, "fetch failed: out of memory");
  }
}

int on_headers_complete(http_parser* p) {
  Fetch& f = fetch_of(p);
  Response& r = f.resp;
  try {
    if (push_header(f)) return -1;
  } catch (...) {
    return refuse(f, "fetch failed: out of memory");
  }
  r.headers_done = true;
  r.status = p->status_code;
  if (r.status == 101)  // we never ask for an upgrade
    return refuse(f, "fetch failed: " + f.origin + " switched protocols (101) unasked");
  if (r.status < 100 || r.status > 999) return refuse(f, f.malformed(HPE_INVALID_STATUS));
  // A body the server announces as too large fails now, not after reading it.
  int64_t max = f.impl->opt.max_body_bytes;
  if ((p->flags & F_CONTENTLENGTH) && p->content_length != ULLONG_MAX &&
      p->content_length > uint64_t(max) && f.req.method != "HEAD" && r.status >= 200 &&
      r.status != 204 && r.status != 304)
    return refuse(f, "fetch failed: the response body is larger than " + std::to_string(max) +
                         " bytes");
  // 1 tells the parser there is no body, whatever the headers say: the
  // answer to HEAD, informational responses, 204 and 304 (RFC 9112 §6.3).
  if (f.req.method == "HEAD" || r.status < 200 || r.status == 204 || r.status == 304) return 1;
  return 0;
}

int on_body(http_parser* p, const char* at, size_t n) {
  Fetch& f = fetch_of(p);
  int64_t max = f.impl->opt.max_body_bytes;
  if (int64_t(f.resp.body.size() + n) > max)
    return refuse(f, "fetch failed: the response body is larger than " + std::to_string(max) +
                         " bytes");
  try {
    f.resp.body.append(at, n);
    return 0;
  } catch (...) {
    return refuse(f, "fetch failed: out of memory");
  }
}

int on_message_complete(http_parser* p) {
  Fetch& f = fetch_of(p);
  if (f.resp.status < 200) return 0;  // 1xx: the real response follows
  f.resp.complete = true;
  // Stop here: anything after this response is not ours to read.
  http_parser_pause(p, 1);
  return 0;
}

// --- libevent callbacks: nothing may escape into C --------------------------

// Runs `fn` on the fetch; an exception fails that fetch (if it still exists).
template <typename F>
void guarded(FetchClient::Impl* impl, uint64_t id, const char* where, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    WFP_LOG(error, "fetch: %s: %s", where, e.what());
    try {
      if (Fetch* f = impl->find(id)) f->fail(std::string("fetch failed: internal error (") + e.what() + ")");
    } catch (...) {
    }
  } catch (...) {
    WFP_LOG(error, "fetch: %s: unknown exception", where);
  }
}

void conn_read_cb(bufferevent*, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  FetchClient::Impl* impl = c->impl;
  if (!c->owner) {
    // Bytes on an idle connection: nothing may come unasked; close it.
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) impl->drop_idle(c);
    return;
  }
  Fetch* f = c->owner;
  guarded(impl, f->id, "read", [f] { f->on_read(); });
}

void conn_event_cb(bufferevent*, short what, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  FetchClient::Impl* impl = c->impl;
  if (!c->owner) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) impl->drop_idle(c);
    return;
  }
  Fetch* f = c->owner;
  guarded(impl, f->id, "event", [f, what] { f->on_conn_event(what); });
}

void connect_ready_cb(evutil_socket_t, short, void* arg) {
  auto* f = static_cast<Fetch*>(arg);
  guarded(f->impl, f->id, "connect", [f] { f->on_connect_ready(); });
}

void fetch_timer_cb(evutil_socket_t, short, void* arg) {
  auto* f = static_cast<Fetch*>(arg);
  guarded(f->impl, f->id, "timer", [f] { f->on_timeout(); });
}

void fetch_step_cb(evutil_socket_t, short, void* arg) {
  auto* f = static_cast<Fetch*>(arg);
  // `fn` may destroy the fetch (deliver) and with it this event: nothing
  // after it may touch `f`.
  guarded(f->impl, f->id, "step", [f] {
    std::function<void()> fn = std::move(f->next);
    f->next = nullptr;
    if (fn) fn();
  });
}

void idle_timer_cb(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  c->impl->drop_idle(c);
}

void dns_cb(int err, evutil_addrinfo* res, void* arg) {
  auto* t = static_cast<DnsLookup*>(arg);
  Resolver* r = t->resolver;
  r->pending--;
  if (r->owner && t->fetch_id) {
    FetchClient::Impl* impl = r->owner;
    guarded(impl, t->fetch_id, "dns", [impl, t, err, res] { impl->on_dns(t, err, res); });
  }
  if (res) evutil_freeaddrinfo(res);
  delete t;
  if (!r->owner && r->pending == 0) {
    // The client is gone and this was the last lookup: free the evdns_base
    // from the loop, outside evdns's own call stack.
    timeval zero{0, 0};
    if (event_base_once(r->base, -1, EV_TIMEOUT, free_resolver_cb, r, &zero) != 0)
      WFP_LOG(warn, "fetch: could not schedule freeing the resolver; leaked");
  }
}

// --- TLS context ---------------------------------------------------------------

SSL_CTX* make_ssl_ctx(const std::string& ca_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) throw std::runtime_error("fetch: SSL_CTX_new failed");
  auto openssl_reason = [] {
    unsigned long e = ERR_peek_last_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    std::string s = r ? r : "unknown OpenSSL error";
    ERR_clear_error();
    return s;
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
  if (ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      std::string why = openssl_reason();
      SSL_CTX_free(ctx);
      throw std::runtime_error("fetch: the system's trust store: " + why);
    }
    return ctx;
  }
  // fopen first: OpenSSL's own reason for a missing file is "system lib".
  if (FILE* f = std::fopen(ca_file.c_str(), "r")) {
    std::fclose(f);
  } else {
    int err = errno;
    SSL_CTX_free(ctx);
    throw std::runtime_error("fetch_ca_file " + ca_file + ": " + std::strerror(err));
  }
  if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
    std::string why = openssl_reason();
    SSL_CTX_free(ctx);
    throw std::runtime_error("fetch_ca_file " + ca_file + ": " + why);
  }
  return ctx;
}

}  // namespace

// --- FetchClient::Impl ------------------------------------------------------

FetchClient::Impl::~Impl() {
  for (auto& [id, f] : fetches) f->teardown_io();
  fetches.clear();
  idle.clear();
  if (resolver) {
    resolver->owner = nullptr;
    if (resolver->pending == 0) {
      evdns_base_free(resolver->dns, 0);
      delete resolver;
    }
    // else: cancelled lookups still call back; the last one frees it.
  }
  if (ssl_ctx) SSL_CTX_free(ssl_ctx);
}

void FetchClient::Impl::deliver(uint64_t id) {
  auto it = fetches.find(id);
  if (it == fetches.end()) return;
  Done done = std::move(it->second->done);
  FetchResult result = std::move(it->second->result);
  fetches.erase(it);  // frees the event running this: touch nothing of it after
  // `done` may start fetches, cancel them or destroy the client: it is the
  // last thing that happens here.
  try {
    if (done) done(std::move(result));
  } catch (const std::exception& e) {
    WFP_LOG(error, "fetch: completion callback threw: %s", e.what());
  } catch (...) {
    WFP_LOG(error, "fetch: completion callback threw");
  }
}

void FetchClient::Impl::on_dns(DnsLookup* t, int err, evutil_addrinfo* res) {
  Fetch* f = find(t->fetch_id);
  if (!f) return;
  int index = t->family == AF_INET ? 0 : 1;
  if (f->lookups[index] != t) return;
  f->on_lookup(index, err, res);
}

std::unique_ptr<Conn> FetchClient::Impl::take_idle(const PoolKey& key) {
  auto it = idle.find(key);
  if (it == idle.end()) return nullptr;
  auto& list = it->second;
  std::unique_ptr<Conn> c;
  // The most recently parked first: the least likely to have been closed.
  while (!list.empty() && !c) {
    c = std::move(list.back());
    list.pop_back();
    if (c->eof || evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) c.reset();
  }
  if (list.empty()) idle.erase(it);
  if (c && c->idle_timer) {
    event_free(c->idle_timer);
    c->idle_timer = nullptr;
  }
  return c;
}

void FetchClient::Impl::park(std::unique_ptr<Conn> c) {
  c->idle_timer = evtimer_new(base, idle_timer_cb, c.get());
  if (!c->idle_timer) return;  // closed instead
  timeval tv{opt.idle_seconds, 0};
  evtimer_add(c->idle_timer, &tv);
  // Reading stays on, so a close by the peer is noticed while idle.
  bufferevent_enable(c->bev, EV_READ);
  auto& list = idle[c->key];
  list.push_back(std::move(c));
  while (list.size() > opt.max_idle_per_origin) list.pop_front();  // the oldest goes
}

void FetchClient::Impl::drop_idle(Conn* c) {
  auto it = idle.find(c->key);
  if (it == idle.end()) return;
  auto& list = it->second;
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->get() == c) {
      list.erase(i);  // destroys c
      break;
    }
  }
  if (list.empty()) idle.erase(it);
}

// --- FetchClient ----------------------------------------------------------------

FetchClient::FetchClient(event_base* base, FetchClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  // A write to a socket the server has closed raises SIGPIPE, whose default
  // action would kill the daemon; libevent and OpenSSL write with write()
  // and writev(), which cannot ask for MSG_NOSIGNAL.
  struct sigaction old;
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);

  impl_->base = base;
  impl_->opt = std::move(options);
  impl_->ssl_ctx = make_ssl_ctx(impl_->opt.ca_file);

  auto* r = new Resolver;
  r->base = base;
  r->owner = impl_.get();
  // resolv.conf and /etc/hosts; a missing resolv.conf means a nameserver on
  // 127.0.0.1 (libevent's default). DISABLE_WHEN_INACTIVE: an idle resolver
  // does not keep the loop alive.
  r->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  if (!r->dns) {
    WFP_LOG(warn, "fetch: /etc/resolv.conf could not be used; resolving through 127.0.0.1");
    r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (r->dns) {
      evdns_base_load_hosts(r->dns, "/etc/hosts");
      evdns_base_nameserver_ip_add(r->dns, "127.0.0.1");
    }
  }
  if (!r->dns) {
    delete r;
    throw std::runtime_error("fetch: evdns_base_new failed");
  }
  impl_->resolver = r;
}

FetchClient::~FetchClient() = default;

uint64_t FetchClient::start(FetchRequest request, Done done) {
  Impl& impl = *impl_;
  uint64_t id = impl.next_id++;
  auto f = std::make_unique<Fetch>();
  Fetch* fp = f.get();
  fp->impl = &impl;
  fp->id = id;
  fp->done = std::move(done);
  fp->req = std::move(request);
  fp->timer = evtimer_new(impl.base, fetch_timer_cb, fp);
  fp->step = event_new(impl.base, -1, 0, fetch_step_cb, fp);
  if (!fp->timer || !fp->step) throw std::runtime_error("fetch: event_new failed");
  impl.fetches.emplace(id, std::move(f));
  fp->schedule([fp] {
    std::optional<url::Url> u = url::parse(fp->req.url);
    fp->href = fp->req.url;
    if (!u) return fp->fail(cannot_load(fp->req.url));
    fp->url = std::move(*u);
    fp->begin_hop();
  });
  return id;
}

void FetchClient::cancel(uint64_t id) { impl_->fetches.erase(id); }

void FetchClient::update(int64_t timeout_ms, int64_t max_body_bytes, NetworkPolicy policy) {
  impl_->opt.timeout_ms = timeout_ms;
  impl_->opt.max_body_bytes = max_body_bytes;
  impl_->opt.policy = std::move(policy);
}

size_t FetchClient::idle_connections() const {
  size_t n = 0;
  for (auto& [key, list] : impl_->idle) n += list.size();
  return n;
}

}  // namespace wfp
