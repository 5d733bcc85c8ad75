// Tests of the test origin and PKI (tests/support/origin.h) with plain
// blocking sockets and an OpenSSL client, so that the tests built on them
// stand on something known to work. Runs in the unit-test process.
#include "tests/support/origin.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace wfp::test {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking TCP connection to 127.0.0.1:port; reads give up after 5 s so
// that a broken origin fails the test instead of hanging it.
class Socket {
 public:
  explicit Socket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
  }
  ~Socket() { close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }
  void send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Bytes read, 0 at end of stream, -1 on error or timeout.
  long read_some(char* buf, size_t len) { return ::recv(fd_, buf, len, 0); }

 private:
  int fd_ = -1;
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;                                          // de-chunked
  std::vector<size_t> chunk_sizes;                           // when chunked
  const std::string* header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (strcasecmp(n.c_str(), name.c_str()) == 0) return &v;
    return nullptr;
  }
  int count(const std::string& name) const {
    int c = 0;
    for (const auto& [n, v] : headers) c += strcasecmp(n.c_str(), name.c_str()) == 0;
    return c;
  }
};

// Reads HTTP/1.1 responses one after another from one connection, framed
// by Content-Length, chunked encoding or the end of the stream.
class ResponseReader {
 public:
  explicit ResponseReader(std::function<long(char*, size_t)> read_some)
      : read_some_(std::move(read_some)) {}

  // Throws when the stream ends or fails before a whole response.
  Response next(bool head_request = false) {
    Response r;
    std::string head = line_until("\r\n\r\n");
    head += "\r\n";  // every line, the last one too, ends in CRLF
    size_t eol = head.find("\r\n");
    std::string status_line = head.substr(0, eol);
    if (status_line.rfind("HTTP/1.", 0) != 0) throw std::runtime_error("bad status line");
    r.status = std::stoi(status_line.substr(9, 3));
    for (size_t pos = eol + 2; pos < head.size();) {
      size_t end = head.find("\r\n", pos);
      std::string line = head.substr(pos, end - pos);
      pos = end + 2;
      size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    if (head_request || r.status == 204 || r.status == 304) return r;
    if (const std::string* te = r.header("Transfer-Encoding"); te && *te == "chunked") {
      for (;;) {
        size_t size = std::stoul(line_until("\r\n"), nullptr, 16);
        if (size == 0) {
          line_until("\r\n");  // no trailers here
          return r;
        }
        r.chunk_sizes.push_back(size);
        r.body += take(size);
        take(2);
      }
    }
    if (const std::string* cl = r.header("Content-Length")) {
      r.body = take(std::stoul(*cl));
      return r;
    }
    while (fill()) {
    }
    r.body = std::exchange(buf_, "");
    return r;
  }

 private:
  bool fill() {
    char chunk[16384];
    long n = read_some_(chunk, sizeof chunk);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  std::string line_until(const std::string& end) {
    size_t at;
    while ((at = buf_.find(end)) == std::string::npos)
      if (!fill()) throw std::runtime_error("stream ended inside a response head");
    std::string line = buf_.substr(0, at);
    buf_.erase(0, at + end.size());
    return line;
  }
  std::string take(size_t n) {
    while (buf_.size() < n)
      if (!fill()) throw std::runtime_error("stream ended inside a response body");
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  std::function<long(char*, size_t)> read_some_;
  std::string buf_;
};

ResponseReader reader_for(Socket& s) {
  return ResponseReader([&s](char* b, size_t n) { return s.read_some(b, n); });
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

std::string pattern(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('a' + i % 26);
  return s;
}

TEST(Origin, AnswersEchoWithMethodPathHeadersBodyAndConnectionNumber) {
  Origin origin;
  Socket s(origin.port());
  s.send_all(
      "POST /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twice: one\r\nx-twice: two\r\n"
      "Content-Length: 5\r\n\r\nhello");
  ResponseReader reader = reader_for(s);
  Response r = reader.next();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(*r.header("Content-Type"), "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/echo?x=1");
  EXPECT_EQ(j["headers"]["x-twice"], "one, two");
  EXPECT_EQ(j["headers"]["host"], "127.0.0.1");
  EXPECT_EQ(j["body"], "hello");
  EXPECT_EQ(j["connection"], 1);
  EXPECT_EQ(origin.url("/echo"), "http://127.0.0.1:" + std::to_string(origin.port()) + "/echo");
}

TEST(Origin, ServesBytesAsTheAlphabetRepeatedWithContentLength) {
  Origin origin;
  Socket s(origin.port());
  ResponseReader reader = reader_for(s);
  s.send_all(get("/bytes/10"));
  Response r = reader.next();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcdefghij");
  EXPECT_EQ(*r.header("Content-Length"), "10");
  s.send_all(get("/bytes/100000"));
  EXPECT_EQ(reader.next().body, pattern(100000));
}

TEST(Origin, CountsTwoRequestsOnOneKeepAliveConnectionAsOneConnection) {
  Origin origin;
  {
    Socket s(origin.port());
    ResponseReader reader = reader_for(s);
    s.send_all(get("/echo"));
    EXPECT_EQ(nlohmann::json::parse(reader.next().body)["connection"], 1);
    s.send_all(get("/echo"));
    EXPECT_EQ(nlohmann::json::parse(reader.next().body)["connection"], 1);
    EXPECT_EQ(origin.connections(), 1);
    EXPECT_EQ(origin.requests(), 2);
  }
  Socket second(origin.port());
  ResponseReader reader = reader_for(second);
  second.send_all(get("/echo"));
  EXPECT_EQ(nlohmann::json::parse(reader.next().body)["connection"], 2);
  EXPECT_EQ(origin.connections(), 2);
  EXPECT_EQ(origin.requests(), 3);
}

TEST(Origin, SendsChunkedBodiesInPiecesOfAtMost8KiB) {
  Origin origin;
  Socket s(origin.port());
  ResponseReader reader = reader_for(s);
  s.send_all(get("/chunked/20000"));
  Response r = reader.next();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Length"), nullptr);
  EXPECT_EQ(r.body, pattern(20000));
  EXPECT_EQ(r.chunk_sizes, (std::vector<size_t>{8192, 8192, 3616}));
  s.send_all(get("/chunked/0"));  // and the connection is still usable
  r = reader.next();
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(r.chunk_sizes.empty());
}

TEST(Origin, AnswersStatusRedirectChainHeadersAndUnknownRoutes) {
  Origin origin;
  Socket s(origin.port());
  ResponseReader reader = reader_for(s);
  auto ask = [&](const std::string& path) {
    s.send_all(get(path));
    return reader.next();
  };

  Response r = ask("/status/418");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, "status 418");
  r = ask("/status/204");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("Content-Length"), nullptr);
  r = ask("/status/503");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "status 503");

  r = ask("/redirect/307?to=http%3A%2F%2Fexample.test%2Fa%3Fb%3D1+2");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(*r.header("Location"), "http://example.test/a?b=1+2");
  r = ask("/redirect/303?to=/echo");
  EXPECT_EQ(r.status, 303);
  EXPECT_EQ(*r.header("Location"), "/echo");

  r = ask("/chain/2");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(*r.header("Location"), "/chain/1");
  r = ask("/chain/0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "end of chain");

  r = ask("/headers?x-k=1&x-k=2&x-other=a%20b");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.count("x-k"), 2);
  EXPECT_EQ(*r.header("x-other"), "a b");

  for (const char* path : {"/nope", "/status/abc", "/bytes/", "/redirect/200?to=/", "/echo/x"}) {
    r = ask(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "not found") << path;
  }
}

TEST(Origin, KeepsAnsweringOthersWhileASlowRequestWaits) {
  Origin origin;
  Socket slow(origin.port());
  ResponseReader slow_reader = reader_for(slow);
  auto start = Clock::now();
  slow.send_all(get("/slow/400"));

  Socket quick(origin.port());
  ResponseReader quick_reader = reader_for(quick);
  quick.send_all(get("/bytes/1"));
  EXPECT_EQ(quick_reader.next().body, "a");
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(350));

  Response r = slow_reader.next();
  EXPECT_EQ(r.body, "slow 400");
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(400));
}

TEST(Origin, ShutsDownWithHungRequestsAndOpenConnectionsAndClosesThem) {
  auto origin = std::make_unique<Origin>();
  Socket hung(origin->port());
  hung.send_all(get("/hang"));
  Socket idle(origin->port());
  ResponseReader idle_reader = reader_for(idle);
  idle.send_all(get("/bytes/1"));
  ASSERT_EQ(idle_reader.next().body, "a");
  {
    // A held request whose client is already gone when the origin stops.
    Socket gone(origin->port());
    gone.send_all(get("/hang"));
    gone.send_all(get("/slow/60000"));
  }
  Socket slow(origin->port());
  slow.send_all(get("/slow/60000"));
  // Wait until all of them have reached the origin.
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       origin->requests() < 4 && Clock::now() < deadline;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(origin->requests(), 4);  // the pipelined /slow waits behind /hang

  auto start = Clock::now();
  origin.reset();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));  // not the 60 s of /slow
  char c;
  EXPECT_EQ(hung.read_some(&c, 1), 0);  // closed without an answer
  EXPECT_EQ(idle.read_some(&c, 1), 0);
  EXPECT_EQ(slow.read_some(&c, 1), 0);
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

class OriginTls : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = testing::TempDir() + "wfp-origin-pki-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = new std::string(tmpl);
    auto start = Clock::now();
    pki_ = new TestPki(*dir_ + "/pki");  // also creates the missing directory
    pki_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  }
  static void TearDownTestSuite() {
    delete pki_;
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string* dir_;
  static TestPki* pki_;
  static long pki_ms_;
};
std::string* OriginTls::dir_;
TestPki* OriginTls::pki_;
long OriginTls::pki_ms_;

// A blocking TLS client connection to the origin. When `ca_file` is set,
// the handshake verifies the certificate against it for `name` (a DNS name,
// or an IP address when `ip`).
class TlsClient {
 public:
  TlsClient(int port, const std::string& ca_file, const std::string& name, bool ip = false)
      : socket_(port), reader_([this](char* b, size_t n) -> long {
          return SSL_read(ssl_.get(), b, static_cast<int>(n));
        }) {
    if (!ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr) != 1)
        throw std::runtime_error("SSL_CTX_load_verify_locations failed");
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), socket_.fd());
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), name.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
      SSL_set1_host(ssl_.get(), name.c_str());
    }
    handshake_ok_ = SSL_connect(ssl_.get()) == 1;
    verify_result_ = SSL_get_verify_result(ssl_.get());
    ERR_clear_error();
  }
  bool handshake_ok() const { return handshake_ok_; }
  long verify_result() const { return verify_result_; }

  Response get(const std::string& path, const std::string& extra = "") {
    std::string request = test::get(path, extra);
    if (SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size())) <= 0)
      throw std::runtime_error("SSL_write failed");
    return reader_.next();
  }
  void send(const std::string& request) {
    if (SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size())) <= 0)
      throw std::runtime_error("SSL_write failed");
  }
  // Whether the stream ends now, with the origin's close_notify.
  bool ends_cleanly() {
    char c;
    int n = SSL_read(ssl_.get(), &c, 1);
    bool clean = n <= 0 && SSL_get_error(ssl_.get(), n) == SSL_ERROR_ZERO_RETURN;
    ERR_clear_error();
    return clean;
  }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_{SSL_CTX_new(TLS_client_method()),
                                                         SSL_CTX_free};
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl_{nullptr, SSL_free};
  Socket socket_;
  ResponseReader reader_;
  bool handshake_ok_ = false;
  long verify_result_ = X509_V_OK;
};

int connection_of(const Response& r) {
  return nlohmann::json::parse(r.body)["connection"];
}

TEST_F(OriginTls, GeneratesThePkiQuicklyAsPemFiles) {
  EXPECT_LT(pki_ms_, 5000);  // about 10 ms; far more would mean RSA or worse
  for (const std::string* f :
       {&pki_->ca_file, &pki_->cert, &pki_->key, &pki_->wrong_host_cert, &pki_->wrong_host_key,
        &pki_->expired_cert, &pki_->expired_key, &pki_->untrusted_cert, &pki_->untrusted_key})
    EXPECT_TRUE(std::filesystem::file_size(*f) > 0) << *f;
}

TEST_F(OriginTls, ServesTheValidCertificateThatVerifiesForLocalhostAndTheLoopbackAddress) {
  Origin origin(pki_->cert, pki_->key);
  EXPECT_EQ(origin.url("/x"), "https://127.0.0.1:" + std::to_string(origin.port()) + "/x");

  TlsClient by_name(origin.port(), pki_->ca_file, "localhost");
  ASSERT_TRUE(by_name.handshake_ok()) << X509_verify_cert_error_string(by_name.verify_result());
  Response r = by_name.get("/echo", "Connection: close\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(connection_of(r), 1);
  EXPECT_TRUE(by_name.ends_cleanly());

  TlsClient by_ip(origin.port(), pki_->ca_file, "127.0.0.1", true);
  ASSERT_TRUE(by_ip.handshake_ok()) << X509_verify_cert_error_string(by_ip.verify_result());
  EXPECT_EQ(connection_of(by_ip.get("/echo")), 2);
  EXPECT_EQ(origin.connections(), 2);
}

TEST_F(OriginTls, ClientRejectsExpiredUntrustedAndWrongHostCertificatesForDistinctReasons) {
  struct Case {
    const std::string& cert;
    const std::string& key;
    long expected;
  };
  for (const Case& c :
       {Case{pki_->expired_cert, pki_->expired_key, X509_V_ERR_CERT_HAS_EXPIRED},
        Case{pki_->untrusted_cert, pki_->untrusted_key,
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
        Case{pki_->wrong_host_cert, pki_->wrong_host_key, X509_V_ERR_HOSTNAME_MISMATCH}}) {
    Origin origin(c.cert, c.key);
    TlsClient rejected(origin.port(), pki_->ca_file, "localhost");
    EXPECT_FALSE(rejected.handshake_ok()) << c.cert;
    EXPECT_EQ(rejected.verify_result(), c.expected)
        << c.cert << ": " << X509_verify_cert_error_string(rejected.verify_result());

    // The origin survives the failed handshake and still serves a client
    // that does not verify.
    TlsClient unverified(origin.port(), "", "localhost");
    ASSERT_TRUE(unverified.handshake_ok()) << c.cert;
    Response r = unverified.get("/echo");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(connection_of(r), 2);
  }
}

TEST_F(OriginTls, ShutsDownWithOpenTlsConnectionsEndingThemWithCloseNotify) {
  auto origin = std::make_unique<Origin>(pki_->cert, pki_->key);
  TlsClient idle(origin->port(), pki_->ca_file, "localhost");
  ASSERT_TRUE(idle.handshake_ok());
  EXPECT_EQ(idle.get("/bytes/3").body, "abc");
  TlsClient hung(origin->port(), pki_->ca_file, "localhost");
  ASSERT_TRUE(hung.handshake_ok());
  hung.send(get("/hang"));
  TlsClient handshake_only(origin->port(), pki_->ca_file, "localhost");
  ASSERT_TRUE(handshake_only.handshake_ok());
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       origin->requests() < 2 && Clock::now() < deadline;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(origin->requests(), 2);

  origin.reset();
  EXPECT_TRUE(idle.ends_cleanly());
  EXPECT_TRUE(hung.ends_cleanly());
  EXPECT_FALSE(handshake_only.ends_cleanly());  // never carried a request: plain close
}

TEST_F(OriginTls, ThrowsWhenTheKeyDoesNotMatchTheCertificate) {
  EXPECT_THROW(Origin(pki_->cert, pki_->expired_key), std::runtime_error);
  EXPECT_THROW(TestPki("/proc/wfp-cannot-create-this"), std::runtime_error);
}

}  // namespace
}  // namespace wfp::test
