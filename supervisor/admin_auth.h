// The admin API's gate: who may call it and how often. The Unix socket is
// authorised by its file mode; the TCP listener (admin_listen) by a bearer
// token read from admin_token_file; both are rate-limited per client (the
// peer's uid on the socket, its address on TCP). Runs in the supervisor's
// event loop; every header it reads comes from an unauthenticated client.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "supervisor/http.h"

namespace wfp {

// The error codes of the gate's refusals, Cloudflare's numbers and texts:
constexpr int kAdminAuthError = 10000;   // 401 "Authentication error"
constexpr int kAdminRateLimited = 971;   // 429 "Please wait and consider throttling your request speed"

// Size bounds of a token and of its file.
constexpr size_t kAdminTokenMinBytes = 32;
constexpr size_t kAdminTokenMaxBytes = 4096;

// True when `given` equals `expected`. The time taken depends on the length
// of `expected` only, never on where the first difference is, so a client
// cannot learn the token a byte at a time.
bool token_equals(std::string_view given, std::string_view expected);

// The token of an Authorization value "Bearer TOKEN" (the scheme in any
// case, RFC 9110 §11.1); nullopt for another scheme or no token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// Reads admin_token_file: a regular file not accessible to group or others
// (mode 0600 or 0400), holding one token of visible ASCII characters,
// kAdminTokenMinBytes to kAdminTokenMaxBytes long, and at most one trailing
// newline. False with `error` naming the path and what is wrong.
bool load_admin_token(const std::string& path, std::string& token, std::string& error);

// The admin API's error envelope, as admin_api.cc writes it:
// {"success":false,"errors":[{"code":C,"message":M}],"messages":[],"result":null}
std::string admin_error_body(int code, std::string_view message);

// Token buckets, one per client: `rate` tokens a second, at most 2 × rate
// held (the burst). Bounded: a bucket idle long enough to be full again
// (2 s) is the same as none and is dropped; past `max_clients` the least
// recently seen client is forgotten, which can only ever let it through
// sooner. Time is the caller's (seconds on a steady clock), for the tests.
class RateLimiter {
 public:
  explicit RateLimiter(size_t max_clients = 4096) : max_clients_(max_clients) {}
  // 0 = unlimited. A change of rate forgets every bucket.
  void set_rate(int64_t per_second);
  int64_t rate() const { return rate_; }
  // Takes a token from `client`'s bucket. False when it is empty, with
  // `retry_after` the whole seconds (at least 1) until one is back.
  bool admit(const std::string& client, double now, int64_t& retry_after);
  size_t clients() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    double last;  // when `tokens` was last brought up to date
    std::list<std::string>::iterator lru;
  };
  void forget_idle(double now);
  size_t max_clients_;
  int64_t rate_ = 0;
  std::unordered_map<std::string, Bucket> buckets_;
  std::list<std::string> lru_;  // front: seen most recently
};

// The gate in front of handle_admin_request on both admin listeners.
class AdminGate {
 public:
  // The bearer token of the TCP listener; empty refuses every TCP request.
  void set_token(std::string token) { token_ = std::move(token); }
  bool has_token() const { return !token_.empty(); }
  void set_rate(int64_t per_second) { limiter_.set_rate(per_second); }
  size_t clients() const { return limiter_.clients(); }

  struct Refusal {
    HttpResponse response;
    std::string log;  // a line for the log, or "" when one was written lately
  };
  // nullopt when `req` may go on to the API. Over the rate: 429 with
  // Retry-After. On TCP (`tcp`), without the right bearer token: 401 with
  // WWW-Authenticate. The rate is checked first, so guessing tokens is
  // rate-limited too.
  std::optional<Refusal> check(const HttpRequest& req, bool tcp, double now);

 private:
  std::string token_;
  RateLimiter limiter_;
  double last_auth_log_ = -1e18, last_rate_log_ = -1e18;
};

}  // namespace wfp
