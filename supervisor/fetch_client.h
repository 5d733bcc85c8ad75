// The supervisor's outbound HTTP client: every fetch() of every worker
// ends here (sandboxes cannot open sockets). HTTP/1.1 over libevent
// bufferevents, HTTPS through OpenSSL bufferevents with SNI and
// certificate and hostname verification (the system store, or
// fetch_ca_file). Resolves names itself (evdns) so that the address it
// connects to is the one the network policy checked, on the first request
// and again on every redirect. Idle keep-alive connections are reused per
// origin (scheme, address, port, TLS name).
//
// Errors are reported as one line fit for a TypeError's message, e.g.
// "fetch failed: could not connect to 127.0.0.1:9 (Connection refused)".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ipc/wire.h"
#include "supervisor/netpolicy.h"

struct event_base;

namespace wfp {

enum class RedirectMode : uint8_t { follow = 0, manual = 1, error = 2 };

struct FetchRequest {
  std::string method = "GET";
  std::string url;        // absolute http: or https: URL
  HeaderList headers;     // as the worker set them (hop-by-hop ones dropped)
  std::string body;
  RedirectMode redirect = RedirectMode::follow;
  bool restricted = true; // apply the network policy (user workers)
};

struct FetchResult {
  bool ok = false;
  std::string error;      // when !ok: the TypeError message
  int status = 0;
  std::string status_text;
  HeaderList headers;     // as received, minus hop-by-hop headers
  std::string body;       // decoded (chunked removed), at most max_body_bytes
  std::string url;        // the final URL, after redirects
  bool redirected = false;
};

struct FetchClientOptions {
  int64_t timeout_ms = 30000;           // for the response head, and then between reads
  int64_t max_body_bytes = 16 << 20;    // a larger response body fails the fetch
  std::string ca_file;                  // empty: the system's trust store
  NetworkPolicy policy;                 // for restricted requests
  size_t max_idle_per_origin = 8;
  int idle_seconds = 30;
};

class FetchClient {
 public:
  using Done = std::function<void(FetchResult)>;
  // Throws std::runtime_error with a readable message when the CA file
  // can't be loaded.
  FetchClient(event_base* base, FetchClientOptions options);
  ~FetchClient();  // cancels everything in flight; no callbacks
  FetchClient(const FetchClient&) = delete;
  FetchClient& operator=(const FetchClient&) = delete;

  // Starts a fetch; `done` is called exactly once, always from the event
  // loop (never inside start()), unless cancel() comes first.
  uint64_t start(FetchRequest request, Done done);
  void cancel(uint64_t id);

  size_t idle_connections() const;  // open keep-alive connections (tests)

  // SIGHUP: new limits and network policy for fetches started from now on.
  void update(int64_t timeout_ms, int64_t max_body_bytes, NetworkPolicy policy);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wfp
