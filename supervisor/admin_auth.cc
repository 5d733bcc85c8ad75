// The admin API's gate (admin_auth.h): the bearer token of the TCP admin
// listener, read from its file and compared in constant time, and the
// per-client token buckets of admin_rate_limit. Runs in the supervisor;
// the token file is the operator's, every request header is hostile.
#include "supervisor/admin_auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "supervisor/forwarded.h"
#include "supervisor/text.h"

namespace wfp {

bool token_equals(std::string_view given, std::string_view expected) {
  // Every byte of `expected` is compared, whatever `given` holds; the
  // differences are OR-ed together and looked at once, at the end. The
  // volatile accumulator keeps the compiler from turning the loop into an
  // early exit.
  volatile unsigned char diff = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); i++) {
    unsigned char g = i < given.size() ? (unsigned char)given[i] : 0;
    diff = diff | (unsigned char)(g ^ (unsigned char)expected[i]);
  }
  return diff == 0;
}

std::optional<std::string_view> bearer_token(std::string_view v) {
  v = trim_ows(v, true);
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || !ascii_iequals(v.substr(0, kScheme.size()), kScheme))
    return std::nullopt;
  std::string_view rest = v.substr(kScheme.size());
  if (rest[0] != ' ' && rest[0] != '\t') return std::nullopt;  // "Bearerx"
  rest = trim_ows(rest, true);
  if (rest.empty()) return std::nullopt;
  return rest;
}

bool load_admin_token(const std::string& path, std::string& token, std::string& error) {
  auto fail = [&](const std::string& why) {
    error = path + ": " + why;
    return false;
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(std::string("cannot open: ") + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail(std::string("cannot stat: ") + strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fail("is not a regular file");
  }
  // Whoever can read the file can administer wfpd; whoever can write it can
  // lock the operator out. Like ssh with a private key, refuse rather than warn.
  if (st.st_mode & 0077) {
    close(fd);
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return fail(std::string("has mode ") + mode +
                ": a token file must not be accessible to group or others (chmod 600 " + path + ")");
  }
  std::string text;
  char buf[1024];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return fail(std::string("cannot read: ") + strerror(err));
    }
    if (n == 0) break;
    text.append(buf, size_t(n));
    if (text.size() > kAdminTokenMaxBytes + 2) break;
  }
  close(fd);
  if (text.ends_with("\r\n")) text.resize(text.size() - 2);
  else if (text.ends_with("\n")) text.pop_back();
  if (text.size() > kAdminTokenMaxBytes)
    return fail("holds more than " + std::to_string(kAdminTokenMaxBytes) + " bytes; is this the token file?");
  for (unsigned char c : text)
    if (c < 0x21 || c > 0x7e)
      return fail("holds a space, a control character or a second line: a token is one line of "
                  "visible ASCII characters");
  if (text.size() < kAdminTokenMinBytes)
    return fail("holds a token of " + std::to_string(text.size()) + " bytes; at least " +
                std::to_string(kAdminTokenMinBytes) + " are needed (openssl rand -hex 32 makes one)");
  token = std::move(text);
  return true;
}

std::string admin_error_body(int code, std::string_view message) {
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  body["success"] = false;
  body["errors"] = nlohmann::ordered_json::array({{{"code", code}, {"message", std::string(message)}}});
  body["messages"] = nlohmann::ordered_json::array();
  body["result"] = nullptr;
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

// --- rate limit --------------------------------------------------------------

namespace {
// The burst is twice the rate, so an empty bucket is full again after this.
constexpr double kRefillSeconds = 2.0;
}  // namespace

void RateLimiter::set_rate(int64_t per_second) {
  if (per_second == rate_) return;
  rate_ = per_second < 0 ? 0 : per_second;
  buckets_.clear();
  lru_.clear();
}

void RateLimiter::forget_idle(double now) {
  while (!lru_.empty()) {
    auto it = buckets_.find(lru_.back());
    if (now - it->second.last < kRefillSeconds) break;
    buckets_.erase(it);
    lru_.pop_back();
  }
}

bool RateLimiter::admit(const std::string& client, double now, int64_t& retry_after) {
  if (rate_ == 0) return true;
  const double rate = double(rate_), burst = 2.0 * rate;
  forget_idle(now);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_ && !lru_.empty()) {
      buckets_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(client);
    it = buckets_.emplace(client, Bucket{burst, now, lru_.begin()}).first;
  } else {
    Bucket& b = it->second;
    if (now > b.last) b.tokens = std::min(burst, b.tokens + (now - b.last) * rate);
    b.last = std::max(b.last, now);
    lru_.splice(lru_.begin(), lru_, b.lru);
  }
  Bucket& b = it->second;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  retry_after = std::max<int64_t>(1, (int64_t)std::ceil((1.0 - b.tokens) / rate));
  return false;
}

// --- the gate ------------------------------------------------------------------

std::optional<AdminGate::Refusal> AdminGate::check(const HttpRequest& req, bool tcp, double now) {
  std::string client = tcp ? "address " + peer_address(req.peer)
                           : "uid " + (req.peer_uid >= 0 ? std::to_string(req.peer_uid) : std::string("?"));
  auto refusal = [&](int status, int code, const char* message) {
    Refusal r;
    r.response.status = status;
    r.response.headers.push_back({"Content-Type", "application/json"});
    r.response.body = admin_error_body(code, message);
    return r;
  };
  // A request line is the client's text: shown bounded and printable only.
  auto what = [&] {
    std::string s = req.method + " " + req.path.substr(0, 120);
    for (char& c : s)
      if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) c = '?';
    return s;
  };

  int64_t retry_after = 0;
  if (!limiter_.admit(client, now, retry_after)) {
    Refusal r = refusal(429, kAdminRateLimited, "Please wait and consider throttling your request speed");
    r.response.headers.push_back({"Retry-After", std::to_string(retry_after)});
    if (now - last_rate_log_ >= 1.0) {  // a flood writes one line a second, not one a request
      last_rate_log_ = now;
      r.log = "admin: " + client + " is over admin_rate_limit (" + std::to_string(limiter_.rate()) +
              " a second); answered 429 to " + what();
    }
    return r;
  }
  if (!tcp) return std::nullopt;  // the socket's file mode decided already

  // Exactly one Authorization field: two could be read differently by a
  // proxy in front and by us.
  const std::string* auth = nullptr;
  int fields = 0;
  for (const HttpHeader& h : req.headers)
    if (ascii_iequals(h.name, "Authorization")) {
      auth = &h.value;
      fields++;
    }
  std::optional<std::string_view> given;
  if (fields == 1) given = bearer_token(*auth);
  // With no token configured nothing matches; an empty token never does.
  bool ok = given && !token_.empty() && token_equals(*given, token_);
  if (ok) return std::nullopt;
  Refusal r = refusal(401, kAdminAuthError, "Authentication error");
  // RFC 6750 §3: a token that was sent but is wrong is "invalid_token".
  r.response.headers.push_back(
      {"WWW-Authenticate", given ? "Bearer realm=\"wfpd\", error=\"invalid_token\"" : "Bearer realm=\"wfpd\""});
  if (now - last_auth_log_ >= 1.0) {
    last_auth_log_ = now;
    // Never the token itself, nor what was sent in its place.
    r.log = "admin: " + client + " sent " + (given ? "a wrong bearer token" : "no bearer token") +
            "; answered 401 to " + what();
  }
  return r;
}

}  // namespace wfp
