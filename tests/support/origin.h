// Test support, linked into the unit and the integration tests: a real
// local HTTP(S) origin on 127.0.0.1 (its own thread and libevent loop) and
// a test PKI generated with OpenSSL at run time. No DNS is ever needed.
//
// Routes of the origin:
//   /echo[?…]           200, JSON {"method","path","headers":{lower-case name: value
//                       (repeated ones joined with ", ")},"body","connection"} where
//                       "connection" is the number of the TCP connection (1, 2, …)
//   /status/N           status N, body "status N" (no body for 204/304)
//   /redirect/N?to=URL  status N (301, 302, 303, 307, 308), Location: URL (URL percent-decoded)
//   /chain/N            302 to the relative "/chain/N-1"; /chain/0 → 200 "end of chain"
//   /bytes/N            200, N bytes: byte i is 'a' + i % 26, with Content-Length
//   /chunked/N          the same N bytes, Transfer-Encoding: chunked, in pieces of ≤ 8 KiB
//   /slow/MS            200 "slow MS" after MS milliseconds (other requests go on meanwhile)
//   /hang               never answers (the connection stays open)
//   /headers?k=v&k=v    200, each k: v added to the response headers (repeats kept)
//   anything else       404 "not found"
#pragma once
#include <atomic>
#include <memory>
#include <string>

namespace wfp::test {

// A CA and leaf certificates signed by it, written as PEM files into `dir`.
struct TestPki {
  explicit TestPki(const std::string& dir);
  std::string ca_file;                 // the CA certificate (what fetch_ca_file names)
  std::string cert, key;               // valid now, SAN: DNS localhost, IP 127.0.0.1
  std::string wrong_host_cert, wrong_host_key;  // valid, SAN: DNS other.example only
  std::string expired_cert, expired_key;        // SAN as `cert`, expired a day ago
  std::string untrusted_cert, untrusted_key;    // SAN as `cert`, signed by another CA
};

class Origin {
 public:
  Origin();                                          // plain HTTP
  Origin(const std::string& cert, const std::string& key);  // HTTPS
  ~Origin();
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT" + path (https:// when TLS).
  std::string url(const std::string& path) const;
  int connections() const;  // TCP connections accepted so far
  int requests() const;     // requests answered or started so far

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wfp::test
