// Test support: a real HTTP(S) origin on 127.0.0.1 with its own thread and
// libevent loop, and a throw-away PKI made with the OpenSSL 3 API. Linked
// into the unit and integration test processes; its clients are our own
// tests, but it must survive them misbehaving (rejected TLS handshakes,
// connections dropped mid-request, shutdown with connections still open).
#include "tests/support/origin.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace wfp::test {
namespace {

// ---------------------------------------------------------------------------
// The PKI
// ---------------------------------------------------------------------------

template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, FreeWith<X509_free>>;
using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, FreeWith<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, FreeWith<X509_EXTENSION_free>>;

// Throws with OpenSSL's oldest queued error, and leaves the queue empty so
// that a later, unrelated check in the same thread does not report it.
[[noreturn]] void throw_openssl(const std::string& where) {
  unsigned long e = ERR_get_error();
  char text[256] = "no OpenSSL error queued";
  if (e != 0) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  throw std::runtime_error("TestPki: " + where + " failed: " + text);
}

// P-256: generating it takes well under a millisecond, RSA 2048 up to a
// tenth of a second each, and six keys are made per TestPki.
PkeyPtr make_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw_openssl("EVP_EC_gen(P-256)");
  return key;
}

struct CertSpec {
  std::string common_name;
  std::string subject_alt_name;  // X509v3 config syntax; empty: none
  long not_before_s;             // relative to now
  long not_after_s;
  bool ca;
};

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext)
    throw_openssl(std::string("X509V3_EXT_conf_nid(") + OBJ_nid2sn(nid) + ", " + value + ")");
  if (X509_add_ext(cert, ext.get(), -1) != 1) throw_openssl("X509_add_ext");
}

// A certificate for `key`, signed by `issuer_key` under `issuer`'s name, or
// self-signed when `issuer` is null.
X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert) throw_openssl("X509_new");
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1) throw_openssl("X509_set_version");

  // A random serial: two runs' certificates never look alike to a cache.
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)))
    throw_openssl("serial number");

  if (!X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_s) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_s))
    throw_openssl("X509_gmtime_adj");
  if (X509_set_pubkey(x, key) != 1) throw_openssl("X509_set_pubkey");

  X509_NAME* subject = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1)
    throw_openssl("X509_NAME_add_entry_by_txt(CN)");
  if (X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) != 1)
    throw_openssl("X509_set_issuer_name");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  add_extension(x, &ctx, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(x, &ctx, NID_key_usage,
                spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_extension(x, &ctx, NID_subject_key_identifier, "hash");
  if (issuer) {
    // Needs the issuer's subject key identifier, which every CA here has.
    add_extension(x, &ctx, NID_authority_key_identifier, "keyid:always");
    add_extension(x, &ctx, NID_ext_key_usage, "serverAuth");
  }
  if (!spec.subject_alt_name.empty())
    add_extension(x, &ctx, NID_subject_alt_name, spec.subject_alt_name);

  if (X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) <= 0) throw_openssl("X509_sign");
  return cert;
}

BioPtr open_for_writing(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) throw_openssl("BIO_new_file(" + path + ")");
  return bio;
}

void write_cert(const std::string& path, X509* cert) {
  BioPtr bio = open_for_writing(path);
  if (PEM_write_bio_X509(bio.get(), cert) != 1 || BIO_flush(bio.get()) != 1)
    throw_openssl("PEM_write_bio_X509(" + path + ")");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  BioPtr bio = open_for_writing(path);
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      BIO_flush(bio.get()) != 1)
    throw_openssl("PEM_write_bio_PrivateKey(" + path + ")");
}

// ---------------------------------------------------------------------------
// Small helpers of the origin
// ---------------------------------------------------------------------------

constexpr int64_t kMaxBodyBytes = int64_t{256} << 20;  // /bytes, /chunked
constexpr int64_t kMaxSlowMs = 3600 * 1000;            // /slow
constexpr size_t kChunkBytes = 8192;                   // /chunked pieces

// The digits after `prefix` in `path`, within [lo, hi]; nothing else may
// follow them. False when `path` does not have that shape.
bool number_after(std::string_view path, std::string_view prefix, int64_t lo, int64_t hi,
                  int64_t& out) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  std::string_view digits = path.substr(prefix.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < lo || n > hi) return false;
  out = n;
  return true;
}

// Byte i of every generated body is 'a' + i % 26.
void append_pattern(evbuffer* out, int64_t offset, int64_t length) {
  char block[4096];
  while (length > 0) {
    size_t n = static_cast<size_t>(std::min<int64_t>(length, sizeof block));
    for (size_t i = 0; i < n; ++i) block[i] = static_cast<char>('a' + (offset + i) % 26);
    evbuffer_add(out, block, n);
    offset += n;
    length -= n;
  }
}

std::string percent_decoded(std::string_view s) {
  std::string in(s);
  size_t len = 0;
  char* decoded = evhttp_uridecode(in.c_str(), 0, &len);  // '+' stays '+'
  if (!decoded) throw std::bad_alloc();
  std::string out(decoded, len);
  free(decoded);
  return out;
}

// "k=v&k=v" in order, repeats kept, keys and values percent-decoded; an
// item without '=' has an empty value.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> items;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    items.emplace_back(percent_decoded(key), percent_decoded(value));
  }
  return items;
}

const char* method_name(evhttp_cmd_type command) {
  switch (command) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "?";
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Sends a complete reply; `content_type` null: none is added.
void reply(evhttp_request* req, int code, const char* content_type, std::string_view body) {
  if (content_type)
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
  evbuffer_add(evhttp_request_get_output_buffer(req), body.data(), body.size());
  evhttp_send_reply(req, code, nullptr, nullptr);
}

}  // namespace

// ---------------------------------------------------------------------------
// TestPki
// ---------------------------------------------------------------------------

TestPki::TestPki(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("TestPki: create_directories(" + dir + ") failed: " + ec.message());

  const long hour = 3600, day = 24 * hour;
  const std::string local = "DNS:localhost,IP:127.0.0.1";

  PkeyPtr ca_key = make_key();
  X509Ptr ca =
      make_cert({"wfp test CA", "", -30 * day, 30 * day, true}, ca_key.get(), nullptr, nullptr);
  PkeyPtr other_ca_key = make_key();
  X509Ptr other_ca = make_cert({"wfp untrusted test CA", "", -30 * day, 30 * day, true},
                               other_ca_key.get(), nullptr, nullptr);
  ca_file = dir + "/ca.pem";
  write_cert(ca_file, ca.get());

  auto leaf = [&](const std::string& name, const std::string& san, long not_before, long not_after,
                  X509* issuer, EVP_PKEY* issuer_key, std::string& cert_path,
                  std::string& key_path) {
    PkeyPtr leaf_key = make_key();
    X509Ptr leaf_cert = make_cert({"wfp test " + name, san, not_before, not_after, false},
                                  leaf_key.get(), issuer, issuer_key);
    cert_path = dir + "/" + name + "_cert.pem";
    key_path = dir + "/" + name + "_key.pem";
    write_cert(cert_path, leaf_cert.get());
    write_key(key_path, leaf_key.get());
  };
  leaf("localhost", local, -hour, 10 * day, ca.get(), ca_key.get(), cert, key);
  leaf("wrong_host", "DNS:other.example", -hour, 10 * day, ca.get(), ca_key.get(), wrong_host_cert,
       wrong_host_key);
  leaf("expired", local, -10 * day, -day, ca.get(), ca_key.get(), expired_cert, expired_key);
  leaf("untrusted", local, -hour, 10 * day, other_ca.get(), other_ca_key.get(), untrusted_cert,
       untrusted_key);
}

// ---------------------------------------------------------------------------
// Origin
// ---------------------------------------------------------------------------
//
// Threads: the constructor sets everything up and starts the loop thread;
// from then on only that thread touches libevent and the maps below, and
// it frees them too (teardown) once the destructor has woken it: it is the
// thread with SIGPIPE blocked, and closing TLS connections writes.
// connections/requests are atomics, read from any thread; port and tls
// never change after start().
//
// Requests the origin holds on to (/slow, /hang) are the one ownership
// hazard: while the client stays connected libevent frees them with their
// connection (evhttp_free); if libevent sees the client go first, it
// detaches them (evhttp_request_get_connection() becomes null) and they
// are ours to answer (evhttp_send_reply then frees them) or to free.

struct Origin::Impl {
  struct Slow {
    Impl* impl;
    evhttp_request* req;
    event* timer;
    int64_t ms;
  };

  bool tls = false;
  int port = 0;
  SSL_CTX* ssl_ctx = nullptr;
  event_base* base = nullptr;
  evhttp* http = nullptr;
  int wake_fd = -1;
  event* wake = nullptr;
  std::thread loop;
  std::atomic<int> connections{0};
  std::atomic<int> requests{0};

  // Loop thread only.
  std::unordered_map<bufferevent*, int> connection_numbers;  // stale entries get overwritten
  std::unordered_map<Slow*, std::unique_ptr<Slow>> slow;
  std::vector<evhttp_request*> hung;

  void start(const std::string* cert, const std::string* key);
  void teardown() noexcept;
  ~Impl();

  static bufferevent* on_accept(event_base* base, void* arg) noexcept;
  static void on_request(evhttp_request* req, void* arg) noexcept;
  static void on_slow_timer(evutil_socket_t, short, void* arg) noexcept;
  static void on_wake(evutil_socket_t, short, void* arg) noexcept;
  static void on_close(evhttp_connection* conn, void*) noexcept;

  void route(evhttp_request* req);
  void echo(evhttp_request* req);
};

void Origin::Impl::start(const std::string* cert, const std::string* key) {
  auto fail = [](const std::string& what) {
    throw std::runtime_error("Origin: " + what + " failed");
  };
  if (cert) {
    tls = true;
    ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (!ssl_ctx) fail("SSL_CTX_new");
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cert->c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ssl_ctx, key->c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl_ctx) != 1) {
      ERR_clear_error();
      fail("loading " + *cert + " and " + *key);
    }
  }

  // libevent's default clock is CLOCK_MONOTONIC_COARSE, a jiffy coarse:
  // /slow/N could answer a few milliseconds before N had passed.
  event_config* config = event_config_new();
  if (!config) fail("event_config_new");
  event_config_set_flag(config, EVENT_BASE_FLAG_PRECISE_TIMER);
  base = event_base_new_with_config(config);
  event_config_free(config);
  if (!base) fail("event_base_new_with_config");
  http = evhttp_new(base);
  if (!http) fail("evhttp_new");
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                       EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  // Clients decide when a connection ends, not a server idle timer: an
  // hour is longer than any test.
  evhttp_set_timeout(http, 3600);
  evhttp_set_bevcb(http, &Impl::on_accept, this);
  evhttp_set_gencb(http, &Impl::on_request, this);

  evhttp_bound_socket* bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
  if (!bound) fail(std::string("bind(127.0.0.1:0): ") + strerror(errno));
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(evhttp_bound_socket_get_fd(bound), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    fail(std::string("getsockname: ") + strerror(errno));
  port = ntohs(addr.sin_port);

  // The destructor wakes the loop through an eventfd: libevent's locking
  // is off (nobody calls evthread_use_pthreads), so no other thread may
  // touch the base, not even with event_active or event_base_loopbreak.
  wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) fail(std::string("eventfd: ") + strerror(errno));
  wake = event_new(base, wake_fd, EV_READ | EV_PERSIST, &Impl::on_wake, this);
  if (!wake || event_add(wake, nullptr) != 0) fail("event_add(wake)");

  // The loop thread is born with every signal blocked: SIGPIPE from writing
  // to a client that left becomes EPIPE, and process-wide signals meant for
  // the test (SIGTERM, SIGCHLD, …) never land on this thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  try {
    loop = std::thread([this] {
      event_base_dispatch(base);
      teardown();
    });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  // Listening already: evhttp_bind_socket called listen(), so connections
  // queue in the backlog until the loop accepts them.
}

Origin::Impl::~Impl() {
  if (loop.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) != sizeof one) std::abort();  // would hang in join
    loop.join();
  } else {
    teardown();  // start() failed: no loop thread, no connection
  }
  if (wake_fd >= 0) close(wake_fd);  // written to above, even if the loop ended early
}

void Origin::Impl::teardown() noexcept {
  // Held requests first, while we can still tell whether a connection owns
  // them (see above); evhttp_free then frees the connections with the
  // requests they still own.
  for (auto& [ptr, s] : slow) {
    event_free(s->timer);
    if (!evhttp_request_get_connection(s->req)) evhttp_request_free(s->req);
  }
  slow.clear();
  for (evhttp_request* req : hung)
    if (!evhttp_request_get_connection(req)) evhttp_request_free(req);
  hung.clear();
  if (http) evhttp_free(http);  // on_close runs for each open connection
  http = nullptr;
  if (wake) event_free(wake);
  wake = nullptr;
  // Frees what bufferevents left to finalizers (OpenSSL ones: their SSL).
  if (base) event_base_free(base);
  base = nullptr;
  if (ssl_ctx) SSL_CTX_free(ssl_ctx);
  ssl_ctx = nullptr;
}

void Origin::Impl::on_wake(evutil_socket_t, short, void* arg) noexcept {
  event_base_loopbreak(static_cast<Impl*>(arg)->base);
}

// evhttp closes connections (after "Connection: close", on errors, in
// evhttp_free) by shutdown(2) and close(2) alone; without this, TLS clients
// would see every close as a truncation attack instead of a clean end.
void Origin::Impl::on_close(evhttp_connection* conn, void*) noexcept {
  if (SSL* ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(conn))) {
    SSL_shutdown(ssl);  // one close_notify, no waiting for the client's
    ERR_clear_error();
  }
}

// evhttp asks for each accepted connection's bufferevent here, before any
// byte is read: the one place that sees every TCP connection, TLS or not.
bufferevent* Origin::Impl::on_accept(event_base* base, void* arg) noexcept {
  auto* self = static_cast<Impl*>(arg);
  int number = self->connections.fetch_add(1) + 1;
  bufferevent* bev = nullptr;
  if (self->ssl_ctx) {
    SSL* ssl = SSL_new(self->ssl_ctx);
    if (!ssl) return nullptr;  // evhttp falls back to plain TCP; the client's handshake fails
    // On failure, whether libevent 2.1 already freed `ssl` depends on where
    // it failed: leak it rather than risk a double free (out of memory only).
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (!bev) return nullptr;
    // A client closing without close_notify is an ordinary end of stream.
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  } else {
    bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) return nullptr;
  }
  try {
    self->connection_numbers[bev] = number;
  } catch (...) {
    // /echo reports connection 0 for this one; nothing else depends on it.
  }
  return bev;
}

void Origin::Impl::on_request(evhttp_request* req, void* arg) noexcept {
  auto* self = static_cast<Impl*>(arg);
  self->requests.fetch_add(1);
  // Set here, not at accept: only connections that carried a request have
  // finished their handshake and may be shut down with close_notify.
  if (evhttp_connection* conn = evhttp_request_get_connection(req); conn && self->tls)
    evhttp_connection_set_closecb(conn, &Impl::on_close, nullptr);
  try {
    self->route(req);
  } catch (const std::exception& e) {
    // Every route throws (bad_alloc, json) before it starts its reply.
    try {
      reply(req, 500, "text/plain", std::string("origin error: ") + e.what());
    } catch (...) {
    }
  }
}

void Origin::Impl::on_slow_timer(evutil_socket_t, short, void* arg) noexcept {
  auto* s = static_cast<Slow*>(arg);
  auto it = s->impl->slow.find(s);
  std::unique_ptr<Slow> owned = std::move(it->second);
  s->impl->slow.erase(it);
  event_free(s->timer);  // allowed inside its own (non-persistent) callback
  try {
    reply(s->req, 200, "text/plain", "slow " + std::to_string(s->ms));
  } catch (...) {
    // Out of memory: answer without a body rather than hold the request.
    evhttp_send_reply(s->req, 500, nullptr, nullptr);
  }
}

void Origin::Impl::route(evhttp_request* req) {
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const char* raw_query = uri ? evhttp_uri_get_query(uri) : nullptr;
  std::string_view path = raw_path ? raw_path : "";
  std::string_view query = raw_query ? raw_query : "";
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  int64_t n = 0;

  if (path == "/echo") return echo(req);

  if (path == "/hang") {
    hung.push_back(req);
    return;
  }

  if (path == "/headers") {
    auto items = parse_query(query);
    bool content_type = false;
    for (const auto& [name, value] : items) {
      if (evhttp_add_header(out, name.c_str(), value.c_str()) != 0) {
        evhttp_clear_headers(out);
        return reply(req, 400, "text/plain", "bad header " + name);
      }
      content_type = content_type || lower(name) == "content-type";
    }
    return reply(req, 200, content_type ? nullptr : "text/plain", "");
  }

  if (number_after(path, "/status/", 200, 599, n)) {
    if (n == 204 || n == 304) return reply(req, static_cast<int>(n), nullptr, "");
    return reply(req, static_cast<int>(n), "text/plain", "status " + std::to_string(n));
  }

  if (number_after(path, "/redirect/", 301, 308, n) && n != 304 && n != 305 && n != 306) {
    for (const auto& [name, value] : parse_query(query)) {
      if (name != "to") continue;
      if (evhttp_add_header(out, "Location", value.c_str()) != 0)
        return reply(req, 400, "text/plain", "bad Location");
      return reply(req, static_cast<int>(n), nullptr, "");
    }
    return reply(req, 400, "text/plain", "missing to=");
  }

  if (number_after(path, "/chain/", 0, INT32_MAX, n)) {
    if (n == 0) return reply(req, 200, "text/plain", "end of chain");
    evhttp_add_header(out, "Location", ("/chain/" + std::to_string(n - 1)).c_str());
    return reply(req, 302, nullptr, "");
  }

  if (number_after(path, "/bytes/", 0, kMaxBodyBytes, n)) {
    evhttp_add_header(out, "Content-Type", "text/plain");
    evhttp_add_header(out, "Content-Length", std::to_string(n).c_str());
    append_pattern(evhttp_request_get_output_buffer(req), 0, n);
    evhttp_send_reply(req, 200, nullptr, nullptr);
    return;
  }

  if (number_after(path, "/chunked/", 0, kMaxBodyBytes, n)) {
    evbuffer* piece = evbuffer_new();
    if (!piece) throw std::bad_alloc();
    evhttp_add_header(out, "Content-Type", "text/plain");
    evhttp_send_reply_start(req, 200, nullptr);  // chunked for HTTP/1.1 clients
    for (int64_t offset = 0; offset < n; offset += kChunkBytes) {
      append_pattern(piece, offset, std::min<int64_t>(kChunkBytes, n - offset));
      evhttp_send_reply_chunk(req, piece);  // one chunk each
      // Drained already unless no body goes out (HEAD), where it is kept.
      evbuffer_drain(piece, evbuffer_get_length(piece));
    }
    evhttp_send_reply_end(req);
    evbuffer_free(piece);
    return;
  }

  if (number_after(path, "/slow/", 0, kMaxSlowMs, n)) {
    auto s = std::make_unique<Slow>(Slow{this, req, nullptr, n});
    s->timer = evtimer_new(base, &Impl::on_slow_timer, s.get());
    if (!s->timer) throw std::bad_alloc();
    timeval tv{static_cast<time_t>(n / 1000), static_cast<suseconds_t>(n % 1000 * 1000)};
    Slow* key = s.get();
    slow.emplace(key, std::move(s));
    evtimer_add(key->timer, &tv);
    return;
  }

  reply(req, 404, "text/plain", "not found");
}

void Origin::Impl::echo(evhttp_request* req) {
  nlohmann::json headers = nlohmann::json::object();
  evkeyvalq* in = evhttp_request_get_input_headers(req);
  for (evkeyval* h = in->tqh_first; h; h = h->next.tqe_next) {
    std::string name = lower(h->key);
    auto it = headers.find(name);
    if (it == headers.end())
      headers[name] = h->value;
    else
      *it = it->get<std::string>() + ", " + h->value;
  }

  evbuffer* input = evhttp_request_get_input_buffer(req);
  std::string body(evbuffer_get_length(input), '\0');
  evbuffer_copyout(input, body.data(), body.size());

  int number = 0;
  if (evhttp_connection* conn = evhttp_request_get_connection(req)) {
    auto it = connection_numbers.find(evhttp_connection_get_bufferevent(conn));
    if (it != connection_numbers.end()) number = it->second;
  }

  nlohmann::json answer = {
      {"method", method_name(evhttp_request_get_command(req))},
      {"path", evhttp_request_get_uri(req)},
      {"headers", std::move(headers)},
      {"body", std::move(body)},
      {"connection", number},
  };
  reply(req, 200, "application/json",
        answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Origin::Origin() : impl_(std::make_unique<Impl>()) {
  impl_->start(nullptr, nullptr);
}

Origin::Origin(const std::string& cert, const std::string& key) : impl_(std::make_unique<Impl>()) {
  impl_->start(&cert, &key);
}

Origin::~Origin() = default;

int Origin::port() const {
  return impl_->port;
}

std::string Origin::url(const std::string& path) const {
  return std::string(impl_->tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port) + path;
}

int Origin::connections() const {
  return impl_->connections.load();
}

int Origin::requests() const {
  return impl_->requests.load();
}

}  // namespace wfp::test
