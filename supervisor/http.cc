// The HTTP/1.1 front: accepts connections, frames requests strictly and
// writes responses, one exchange at a time per connection. Runs in the
// supervisor's event loop. Every byte read is hostile; only the handler is trusted.
//
// How a request is framed, and why twice: Debian's libhttp-parser is built
// with HTTP_PARSER_STRICT=0 (it accepts "Content-Length : 5", spaces in
// header names, junk after chunk data), so it cannot be the authority on
// framing. Our own checker reads every byte first (request head: RFC 9112
// line syntax and the framing rules; chunked bodies: a strict chunk
// grammar); only bytes it accepted are then fed to http_parser, and the two
// must agree on the method, target, version, framing and the byte at which
// the message ends. Any disagreement is a 400 and a closed connection: a
// smuggling attack is exactly an input two parsers read differently.
#include "supervisor/http.h"
#include "supervisor/text.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <unordered_map>

#include "ipc/log.h"

namespace wfp {
namespace {

constexpr size_t kMaxHeaderCount = 100;   // more fields (or trailers) → 431
constexpr size_t kMaxChunkLine = 4096;    // size + extensions of one chunk line
constexpr size_t kReadAhead = 64 * 1024;  // buffered beyond the head limit while busy
constexpr int kLingerMs = 2000;           // after a closing response, see lingering_close()
constexpr size_t kLingerMaxBytes = 1 << 20;
constexpr int kAcceptRetryMs = 100;       // pause after EMFILE so accept does not spin

// --- character classes (RFC 9110 §5.6.2, §5.5) ------------------------------

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// field-vchar, SP and HTAB; no other control characters, no DEL.
bool is_field_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

bool iequals(std::string_view a, std::string_view b) { return ascii_iequals(a, b); }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return std::string(name ? name : "?") + " (" + std::strerror(err) + ")";
}

// --- request head -------------------------------------------------------------

// What the head says about the body, as our checker read it.
struct Framing {
  bool chunked = false;
  bool has_length = false;
  uint64_t length = 0;
  bool expect_continue = false;
  bool has_body() const { return chunked || length > 0; }
};

// 1*DIGIT, at most 19 digits so it fits in 64 bits. Signs, hex, lists,
// inner whitespace and the empty string are all refused (RFC 9110 §8.6).
bool parse_content_length(std::string_view v, uint64_t& out) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + uint64_t(c - '0');
  }
  out = n;
  return true;
}

bool parse_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  unsigned n = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + unsigned(c - '0');
  }
  return n <= 65535;
}

// host [":" port], host a reg-name of unreserved characters or an IP
// literal. Narrower than RFC 3986 on purpose: no userinfo, no
// sub-delimiters ("a, b"), no percent-encoding — each is a way to make two
// components disagree about which tenant a request is for.
bool valid_authority(std::string_view a) {
  if (a.empty()) return false;
  std::string_view port;
  bool has_port = false;
  if (a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : a.substr(1, close - 1))
      if (!is_hex(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
  } else {
    size_t colon = a.find(':');
    std::string_view host = a.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = a.substr(colon + 1);
    }
    if (host.empty()) return false;
    for (char c : host) {
      unsigned char u = static_cast<unsigned char>(c);
      if (!((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
            c == '-' || c == '.' || c == '_' || c == '~'))
        return false;
    }
  }
  return !has_port || parse_port(port);
}

// The framing headers' value with leading spaces removed and nothing else:
// a tab or trailing whitespace stays in and makes the value invalid.
// Stricter than OWS, on purpose — no client pads these, and "chunked "
// or "\t5" is how one component is made to read them differently.
std::string_view framing_value(std::string_view raw) {
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  return raw;
}

// Reads the request-target into req.target/path. Absolute-form is reduced
// to origin-form ("/x?q") so that whoever builds a URL from host + target
// uses the same authority routing used; `authority` gets the form's
// authority so the caller can compare it with Host.
int parse_target(std::string_view method, std::string_view raw, HttpRequest& req,
                 std::string& authority, std::string& reason) {
  // CONNECT asks for a tunnel, which no worker can give; and its
  // authority-form target ("victim.example:443") would make a request URL
  // whose host is not the Host that routing used.
  if (method == "CONNECT") {
    reason = "CONNECT is not supported: this server is not a proxy";
    return 501;
  }
  // A fragment is never sent (RFC 9112 §3.2); one arriving is an attempt
  // to make components split the target differently.
  if (raw.find('#') != std::string_view::npos) {
    reason = "fragment in request-target";
    return 400;
  }
  if (raw.front() == '/') {
    req.target = std::string(raw);
    req.path = std::string(raw.substr(0, raw.find('?')));
    return 0;
  }
  if (raw == "*") {
    if (method != "OPTIONS") {
      reason = "asterisk-form is only for OPTIONS";
      return 400;
    }
    req.target = req.path = "*";
    return 0;
  }
  size_t scheme_len = istarts_with(raw, "http://") ? 7 : istarts_with(raw, "https://") ? 8 : 0;
  if (scheme_len) {
    std::string_view rest = raw.substr(scheme_len);
    size_t end = rest.find_first_of("/?");
    std::string_view auth = rest.substr(0, end);
    if (auth.find('@') != std::string_view::npos || !valid_authority(auth)) {
      reason = "bad authority in absolute-form target";
      return 400;
    }
    authority = std::string(auth);
    std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    req.target = (tail.empty() || tail.front() == '?') ? "/" + std::string(tail) : std::string(tail);
    req.path = req.target.substr(0, req.target.find('?'));
    return 0;
  }
  reason = "bad request-target";
  return 400;
}

// Parses one complete head (request line through the last header line;
// every line already known to end in CRLF) into `req` and `framing`.
// Returns 0 or the status to answer with.
int parse_head(std::string_view head, HttpRequest& req, std::string& raw_target, Framing& framing,
               std::string& reason) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t crlf = head.find("\r\n");
    if (crlf == std::string_view::npos) break;
    lines.push_back(head.substr(0, crlf));
    head.remove_prefix(crlf + 2);
  }
  if (lines.empty() || !head.empty()) {
    reason = "malformed head";
    return 400;
  }

  // request-line = method SP request-target SP HTTP-version, single spaces.
  std::string_view line = lines[0];
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
      sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
    reason = "malformed request line";
    return 400;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method)
    if (!is_tchar(static_cast<unsigned char>(c))) {
      reason = "bad method";
      return 400;
    }
  for (char c : target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      reason = "bad character in request-target";
      return 400;
    }
  }
  if (version == "HTTP/1.1") {
    req.version_minor = 1;
  } else if (version == "HTTP/1.0") {
    req.version_minor = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.' &&
             version[5] >= '0' && version[5] <= '9' && version[7] >= '0' && version[7] <= '9') {
    reason = "only HTTP/1.0 and HTTP/1.1 are spoken here";
    return 505;
  } else {
    reason = "bad HTTP version";
    return 400;
  }
  req.method = std::string(method);
  raw_target = std::string(target);

  // field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).
  size_t host_count = 0, cl_count = 0, te_count = 0;
  std::string_view te_value, cl_value;
  bool conn_close = false, conn_keep_alive = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    line = lines[i];
    if (line.empty()) {
      reason = "malformed head";
      return 400;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      // obs-fold, or whitespace before the first field (RFC 9112 §2.2, §5.2).
      reason = "obsolete line folding";
      return 400;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      reason = "header line without a colon";
      return 400;
    }
    if (colon == 0) {
      reason = "empty header name";
      return 400;
    }
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_tchar(static_cast<unsigned char>(c))) {
        // Catches "Content-Length : 5" too, which a lenient parser would
        // take as Content-Length while another component would not.
        reason = "bad character in header name";
        return 400;
      }
    std::string_view raw_value = line.substr(colon + 1);
    std::string_view value = trim_ows(raw_value);
    for (char c : value)
      if (!is_field_char(static_cast<unsigned char>(c))) {
        reason = "control character in header value";
        return 400;
      }
    if (iequals(name, "host")) {
      ++host_count;
      req.host = std::string(value);
    } else if (iequals(name, "content-length")) {
      ++cl_count;
      cl_value = framing_value(raw_value);
    } else if (iequals(name, "transfer-encoding")) {
      ++te_count;
      te_value = framing_value(raw_value);
    } else if (iequals(name, "connection")) {
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view token = trim_ows(rest.substr(0, comma));
        if (iequals(token, "close")) conn_close = true;
        if (iequals(token, "keep-alive")) conn_keep_alive = true;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
    } else if (iequals(name, "expect")) {
      if (!iequals(value, "100-continue")) {
        reason = "unsupported expectation";
        return 417;
      }
      framing.expect_continue = req.version_minor >= 1;
    }
    req.headers.push_back(HttpHeader{std::string(name), std::string(value)});
  }

  // Exactly one Host (RFC 9112 §3.2): two, or none, leave routing to guess.
  if (host_count != 1) {
    reason = host_count ? "more than one Host header" : "missing Host header";
    return 400;
  }
  if (!valid_authority(req.host)) {
    reason = "bad Host header";
    return 400;
  }
  std::string authority;
  if (int status = parse_target(req.method, raw_target, req, authority, reason)) return status;
  if (!authority.empty() && !iequals(authority, req.host)) {
    // RFC 9112 §3.2.2 would have us prefer the target's authority; with
    // two candidates some component is bound to route on the other one.
    reason = "request-target authority differs from Host";
    return 400;
  }

  // Framing (RFC 9112 §6): every ambiguity is refused rather than resolved.
  if (te_count > 0 && cl_count > 0) {
    reason = "both Content-Length and Transfer-Encoding";
    return 400;
  }
  if (te_count > 0) {
    if (req.version_minor == 0) {
      reason = "Transfer-Encoding in an HTTP/1.0 request";
      return 400;
    }
    // Only "chunked" as written by every client. Coding names are
    // case-insensitive (RFC 9112 §7), but a proxy in front that does not
    // read "Chunked" as chunked would frame the body differently from us:
    // refusing it costs nothing real and closes that desync.
    if (te_count > 1 || te_value != "chunked") {
      reason = "Transfer-Encoding other than chunked";
      return 400;
    }
    framing.chunked = true;
  }
  if (cl_count > 1) {
    reason = "more than one Content-Length";
    return 400;
  }
  if (cl_count == 1) {
    if (!parse_content_length(cl_value, framing.length)) {
      reason = "malformed Content-Length";
      return 400;
    }
    framing.has_length = true;
  }

  req.keep_alive = req.version_minor >= 1 ? !conn_close : (conn_keep_alive && !conn_close);
  return 0;
}

// --- chunked body ---------------------------------------------------------------

// The chunk grammar of RFC 9112 §7.1, strictly: hex digits only (no sign,
// no "0x", no leading whitespace), chunk data followed by exactly CRLF,
// trailer lines with header syntax. It validates and counts; the data
// itself comes out of http_parser, fed only what this accepted.
class ChunkedFraming {
 public:
  void reset(size_t max_body, size_t max_trailer_bytes) {
    *this = ChunkedFraming();
    max_body_ = max_body;
    max_trailer_bytes_ = max_trailer_bytes;
  }

  // Scans at most n bytes, stopping just after the message's last byte.
  // Returns 0, or an error status with `reason`.
  int scan(const unsigned char* p, size_t n, size_t& used, bool& done, std::string& reason) {
    size_t i = 0;
    done = false;
    while (i < n && state_ != State::done) {
      unsigned char c = p[i];
      switch (state_) {
        case State::size_first:
          if (!is_hex(c)) return fail(reason, "bad chunk size");
          size_ = uint64_t(hex_value(c));
          line_len_ = 1;
          state_ = State::size;
          break;
        case State::size:
          if (++line_len_ > kMaxChunkLine) return fail(reason, "chunk line too long");
          if (is_hex(c)) {
            if (size_ > (UINT64_MAX >> 4)) return fail(reason, "chunk size overflows");
            size_ = (size_ << 4) | uint64_t(hex_value(c));
          } else if (c == ';') {
            state_ = State::ext;
          } else if (c == ' ' || c == '\t') {
            state_ = State::size_bws;  // BWS is allowed only before ";"
          } else if (c == '\r') {
            state_ = State::size_lf;
          } else {
            return fail(reason, "bad chunk size");
          }
          break;
        case State::size_bws:
          if (++line_len_ > kMaxChunkLine) return fail(reason, "chunk line too long");
          if (c == ';') state_ = State::ext;
          else if (c != ' ' && c != '\t') return fail(reason, "bad chunk size");
          break;
        case State::ext:
          // Extensions are ignored, but bounded and free of control bytes.
          if (++line_len_ > kMaxChunkLine) return fail(reason, "chunk extension too long");
          if (c == '\r') state_ = State::size_lf;
          else if (!is_field_char(c)) return fail(reason, "bad chunk extension");
          break;
        case State::size_lf:
          if (c != '\n') return fail(reason, "chunk line without CRLF");
          if (size_ == 0) {
            state_ = State::trailer_start;
          } else {
            // Refuse before reading: the size alone says the body is too big.
            if (size_ > max_body_ || total_ > max_body_ - size_) {
              reason = "body larger than the limit";
              return 413;
            }
            remaining_ = size_;
            state_ = State::data;
          }
          break;
        case State::data: {
          size_t take = size_t(std::min<uint64_t>(remaining_, n - i));
          remaining_ -= take;
          total_ += take;
          i += take;
          if (remaining_ == 0) state_ = State::data_cr;
          continue;
        }
        case State::data_cr:
          if (c != '\r') return fail(reason, "chunk data longer than its size");
          state_ = State::data_lf;
          break;
        case State::data_lf:
          if (c != '\n') return fail(reason, "chunk data without CRLF");
          state_ = State::size_first;
          break;
        case State::trailer_start:
          if (c == '\r') {
            state_ = State::final_lf;
            break;
          }
          if (c == ' ' || c == '\t') return fail(reason, "obsolete line folding in trailer");
          if (++trailer_count_ > kMaxHeaderCount) {
            reason = "too many trailer fields";
            return 431;
          }
          in_name_ = true;
          name_len_ = 0;
          state_ = State::trailer_line;
          continue;  // the same byte starts the field name
        case State::trailer_line:
          if (in_name_) {
            if (c == ':') {
              if (name_len_ == 0) return fail(reason, "empty trailer name");
              in_name_ = false;
            } else if (is_tchar(c)) {
              ++name_len_;
            } else {
              return fail(reason, "bad trailer name");
            }
          } else if (c == '\r') {
            state_ = State::trailer_lf;
          } else if (!is_field_char(c)) {
            return fail(reason, "control character in trailer");
          }
          break;
        case State::trailer_lf:
          if (c != '\n') return fail(reason, "trailer without CRLF");
          state_ = State::trailer_start;
          break;
        case State::final_lf:
          if (c != '\n') return fail(reason, "chunked body without final CRLF");
          state_ = State::done;
          break;
        case State::done:
          break;
      }
      if (state_ >= State::trailer_start && ++trailer_bytes_ > max_trailer_bytes_) {
        reason = "trailers too large";
        return 431;
      }
      ++i;
    }
    used = i;
    done = state_ == State::done;
    return 0;
  }

 private:
  enum class State {
    size_first, size, size_bws, ext, size_lf, data, data_cr, data_lf,
    trailer_start, trailer_line, trailer_lf, final_lf, done
  };
  static int fail(std::string& reason, const char* why) {
    reason = why;
    return 400;
  }
  State state_ = State::size_first;
  uint64_t size_ = 0, remaining_ = 0, total_ = 0;
  size_t line_len_ = 0, trailer_bytes_ = 0, trailer_count_ = 0, name_len_ = 0;
  size_t max_body_ = 0, max_trailer_bytes_ = 0;
  bool in_name_ = false;
};

// --- response -----------------------------------------------------------------

bool valid_response_header(const HttpHeader& h) {
  if (h.name.empty()) return false;
  for (char c : h.name)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  // No CR, LF or NUL (nor any other control byte): a value carrying
  // "\r\nSet-Cookie: ..." must never become a second header on the wire.
  for (char c : h.value)
    if (!is_field_char(static_cast<unsigned char>(c))) return false;
  return true;
}

// Headers the server frames itself; a handler's copy would contradict ours.
bool server_owned_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection") || iequals(name, "date") || iequals(name, "keep-alive");
}

std::string http_date(time_t now) {
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// Status line and headers. `body_length` is announced even when no body
// follows (HEAD); 1xx, 204 and 304 get no Content-Length at all.
std::string serialize_head(int status, const std::vector<HttpHeader>& headers, size_t body_length,
                           bool close, bool http10_keep_alive, const std::string& date) {
  std::string out;
  out.reserve(128 + headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http_reason(status);
  out += "\r\n";
  for (const HttpHeader& h : headers) {
    if (server_owned_header(h.name)) continue;
    if (!valid_response_header(h)) {
      WFP_LOG(debug, "http: dropped response header with invalid name or value");
      continue;
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  out += "Date: ";
  out += date;
  out += "\r\n";
  if (!(status < 200 || status == 204 || status == 304)) {
    out += "Content-Length: ";
    out += std::to_string(body_length);
    out += "\r\n";
  }
  if (close) out += "Connection: close\r\n";
  else if (http10_keep_alive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

std::string peer_string(const sockaddr* sa) {
  char addr[INET6_ADDRSTRLEN] = "?";
  switch (sa->sa_family) {
    case AF_INET: {
      auto* in = reinterpret_cast<const sockaddr_in*>(sa);
      inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
      return std::string(addr) + ":" + std::to_string(ntohs(in->sin_port));
    }
    case AF_INET6: {
      auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
      inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
      return "[" + std::string(addr) + "]:" + std::to_string(ntohs(in6->sin6_port));
    }
    case AF_UNIX:
      return "unix";
    default:
      return "?";
  }
}

timeval ms_to_timeval(int ms) {
  if (ms < 0) ms = 0;
  return timeval{ms / 1000, (ms % 1000) * 1000};
}

void free_string(const void*, size_t, void* extra) { delete static_cast<std::string*>(extra); }

enum class Phase {
  head,       // reading a request head (or idle between requests)
  body,       // reading its body
  handling,   // the handler has the exchange; input is buffered, not parsed
  writing,    // the response is being flushed
  lingering,  // closing: our side is shut, the client's bytes are discarded
};

struct Conn;

class ExchangeImpl final : public HttpExchange {
 public:
  ExchangeImpl(std::weak_ptr<Conn> conn, uint64_t seq, HttpRequest request)
      : conn_(std::move(conn)), seq_(seq), request_(std::move(request)) {}
  ~ExchangeImpl() override;
  const HttpRequest& request() const override { return request_; }
  void respond(HttpResponse response) override;
  bool client_connected() const override;

 private:
  std::shared_ptr<Conn> current() const;
  // Weak: an exchange held by a handler must not keep a connection (and its
  // fd) alive after the client has gone.
  std::weak_ptr<Conn> conn_;
  uint64_t seq_;
  HttpRequest request_;
  bool responded_ = false;
};

}  // namespace

struct HttpServer::Impl {
  event_base* base = nullptr;
  evconnlistener* listener = nullptr;
  event* accept_retry = nullptr;
  HttpLimits limits;
  Handler handler;
  bool stopping = false;
  std::unordered_map<Conn*, std::shared_ptr<Conn>> conns;
  time_t date_time = 0;
  std::string date_text;
  time_t busy_logged = 0;
  time_t accept_error_logged = 0;
  unsigned accept_errors_unlogged = 0;

  const std::string& date() {
    time_t now = time(nullptr);
    if (now != date_time) {
      date_time = now;
      date_text = http_date(now);
    }
    return date_text;
  }
  void accept(evutil_socket_t fd, const sockaddr* sa);
  void reject_busy(evutil_socket_t fd);
  ~Impl();
};

namespace {

int cb_url(http_parser* p, const char* at, size_t n);
int cb_headers_complete(http_parser* p);
int cb_body(http_parser* p, const char* at, size_t n);
int cb_message_complete(http_parser* p);

// No header callbacks: the head's fields are taken from our own checker,
// and trailers (which http_parser reports through the same callbacks) are
// thereby dropped, never merged into the request's headers.
const http_parser_settings kParserSettings = [] {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_url = cb_url;
  s.on_headers_complete = cb_headers_complete;
  s.on_body = cb_body;
  s.on_message_complete = cb_message_complete;
  return s;
}();

struct Conn : std::enable_shared_from_this<Conn> {
  HttpServer::Impl* srv;
  bufferevent* bev = nullptr;
  event* timer = nullptr;
  std::string peer;
  long peer_uid = -1;
  bool closed = false;
  Phase phase = Phase::head;
  HttpLimits lim;  // captured when a request starts; set_limits applies to the next

  // Head scanning, resumable across reads (offsets into the input buffer).
  size_t scan_pos = 0, line_start = 0, head_begin = 0, lines = 0;
  bool request_started = false;

  // The request being read.
  HttpRequest req;
  Framing framing;
  uint64_t body_remaining = 0;
  ChunkedFraming chunks;
  http_parser parser;
  std::string parser_url;
  bool headers_complete = false, message_complete = false;
  int cb_status = 0;
  const char* cb_reason = "";

  // The exchange in flight.
  uint64_t seq = 0;
  bool is_head = false, req_keep_alive = true, req_http10 = false, close_after = false;
  size_t linger_bytes = 0;

  Conn(HttpServer::Impl* s, std::string p) : srv(s), peer(std::move(p)) {}
  ~Conn() {
    if (timer) event_free(timer);
    if (bev) bufferevent_free(bev);
  }

  evbuffer* input() { return bufferevent_get_input(bev); }

  void arm_timer(int ms) {
    timeval tv = ms_to_timeval(ms);
    evtimer_add(timer, &tv);
  }

  void close() {
    if (closed) return;
    closed = true;
    if (timer) {
      event_free(timer);
      timer = nullptr;
    }
    if (bev) {
      bufferevent_free(bev);  // closes the fd; no callback runs after this
      bev = nullptr;
    }
    srv->conns.erase(this);  // callers hold a shared_ptr, so *this survives the call
  }

  void begin_request(bool first) {
    phase = Phase::head;
    lim = srv->limits;
    scan_pos = line_start = head_begin = lines = 0;
    req = HttpRequest();
    framing = Framing();
    body_remaining = 0;
    parser_url.clear();
    headers_complete = message_complete = false;
    cb_status = 0;
    is_head = false;
    req_keep_alive = true;
    req_http10 = false;
    close_after = false;
    // Enough to hold the next head while busy; past it libevent stops
    // reading, which is the backpressure for clients that pipeline hard.
    bufferevent_setwatermark(bev, EV_READ, 0, lim.max_header_bytes + kReadAhead);
    timeval wt = ms_to_timeval(lim.idle_timeout_ms);
    bufferevent_set_timeouts(bev, nullptr, &wt);  // a client that never reads
    // A new connection's head deadline runs from accept (a client that
    // connects and sends nothing is a slowloris too); between keep-alive
    // requests the idle timeout applies until the next request's first byte.
    request_started = first;
    arm_timer(first ? lim.header_timeout_ms : lim.idle_timeout_ms);
  }

  void process_input() {
    while (!closed) {
      Phase before = phase;
      if (phase == Phase::head) read_head();
      else if (phase == Phase::body) read_body();
      else return;
      if (closed || phase == before) return;
    }
  }

  void read_head() {
    evbuffer* in = input();
    size_t len = evbuffer_get_length(in);
    if (len == 0) return;
    if (!request_started) {
      // The request starts now; limits changed while the connection sat
      // idle apply to it.
      request_started = true;
      lim = srv->limits;
      bufferevent_setwatermark(bev, EV_READ, 0, lim.max_header_bytes + kReadAhead);
      arm_timer(lim.header_timeout_ms);  // total, never re-armed per byte
    }
    size_t n = std::min(len, lim.max_header_bytes);
    const unsigned char* p = evbuffer_pullup(in, ssize_t(n));
    if (!p && n) throw std::bad_alloc();
    size_t head_end = 0;
    size_t i = scan_pos;
    for (; i < n; ++i) {
      unsigned char c = p[i];
      if (c == '\n') return send_error(400, "bare LF in head");
      if (c == 0) return send_error(400, "NUL in head");
      if (c != '\r') continue;
      if (i + 1 >= n) break;  // wait for the byte after CR
      if (p[i + 1] != '\n') return send_error(400, "bare CR in head");
      if (i == line_start) {
        if (lines > 0) {
          head_end = i + 2;
          break;
        }
        line_start = i + 2;  // empty lines before the request line are ignored
      } else {
        if (lines++ == 0) head_begin = line_start;
        if (lines > 1 + kMaxHeaderCount) return send_error(431, "too many header fields");
        line_start = i + 2;
      }
      ++i;
    }
    if (head_end == 0) {
      scan_pos = i;
      if (len >= lim.max_header_bytes) {
        // The limit was reached without an end: still in the request line
        // means the URL is too long, otherwise the fields are.
        if (lines == 0) return send_error(414, "request line too long");
        return send_error(431, "request head too large");
      }
      return;
    }

    std::string_view head(reinterpret_cast<const char*>(p) + head_begin, head_end - head_begin);
    std::string raw_target, reason;
    if (int status = parse_head(head.substr(0, head.size() - 2), req, raw_target, framing, reason))
      return send_error(status, reason);
    is_head = req.method == "HEAD";
    req_keep_alive = req.keep_alive;
    req_http10 = req.version_minor == 0;

    // Cross-check with http_parser, fed exactly the head we accepted.
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    size_t used = http_parser_execute(&parser, &kParserSettings, head.data(), head.size());
    if (cb_status) return send_error(cb_status, cb_reason);
    http_errno err = HTTP_PARSER_ERRNO(&parser);
    if ((err != HPE_OK && err != HPE_PAUSED) || used != head.size() || !headers_complete)
      return send_error(400, http_errno_description(err));
    bool agree = parser_url == raw_target &&
                 req.method == http_method_str(static_cast<http_method>(parser.method)) &&
                 parser.http_major == 1 && int(parser.http_minor) == req.version_minor &&
                 bool(parser.flags & F_CHUNKED) == framing.chunked &&
                 (!framing.has_length ||
                  ((parser.flags & F_CONTENTLENGTH) && parser.content_length == framing.length)) &&
                 message_complete == !framing.has_body();
    if (!agree) {
      WFP_LOG(warn, "http: request head read differently by http_parser, refused peer=%s",
              peer.c_str());
      return send_error(400, "ambiguous request");
    }
    evbuffer_drain(in, head_end);
    req.peer = peer;
    req.peer_uid = peer_uid;

    if (!framing.has_body()) return dispatch();
    if (framing.has_length && framing.length > lim.max_body_bytes)
      return send_error(413, "body larger than the limit");
    if (framing.expect_continue) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      evbuffer_add(bufferevent_get_output(bev), kContinue, sizeof kContinue - 1);
    }
    body_remaining = framing.length;
    chunks.reset(lim.max_body_bytes, lim.max_header_bytes);
    phase = Phase::body;
    arm_timer(lim.body_timeout_ms);  // total for the body, like the head's
  }

  void read_body() {
    evbuffer* in = input();
    while (phase == Phase::body && !closed) {
      if (evbuffer_get_length(in) == 0) return;
      evbuffer_iovec v;
      if (evbuffer_peek(in, -1, nullptr, &v, 1) < 1 || v.iov_len == 0) return;
      const auto* data = static_cast<const unsigned char*>(v.iov_base);
      size_t take = 0;
      bool done = false;
      if (framing.chunked) {
        std::string reason;
        if (int status = chunks.scan(data, v.iov_len, take, done, reason))
          return send_error(status, reason);
      } else {
        take = size_t(std::min<uint64_t>(v.iov_len, body_remaining));
        body_remaining -= take;
        done = body_remaining == 0;
      }
      if (take == 0) return;  // never pass 0 bytes: http_parser reads that as EOF
      size_t used =
          http_parser_execute(&parser, &kParserSettings, reinterpret_cast<const char*>(data), take);
      if (cb_status) return send_error(cb_status, cb_reason);
      http_errno err = HTTP_PARSER_ERRNO(&parser);
      if ((err != HPE_OK && err != HPE_PAUSED) || used != take || message_complete != done) {
        if (err == HPE_OK || err == HPE_PAUSED)
          WFP_LOG(warn, "http: body framing read differently by http_parser, refused peer=%s",
                  peer.c_str());
        return send_error(400, err == HPE_OK || err == HPE_PAUSED ? "ambiguous body framing"
                                                                 : http_errno_description(err));
      }
      evbuffer_drain(in, take);
      if (done) return dispatch();
    }
  }

  void dispatch() {
    event_del(timer);
    phase = Phase::handling;
    ++seq;
    auto exchange = std::make_shared<ExchangeImpl>(weak_from_this(), seq, std::move(req));
    req = HttpRequest();
    try {
      srv->handler(std::move(exchange));
    } catch (const std::exception& e) {
      WFP_LOG(error, "http: handler threw: %s peer=%s", e.what(), peer.c_str());
      if (!closed && phase == Phase::handling) send_error(500, "internal error");
    }
  }

  void send_error(int status, std::string_view reason) {
    WFP_LOG(debug, "http: %d (%.*s) peer=%s", status, int(reason.size()), reason.data(),
            peer.c_str());
    HttpResponse r;
    r.status = status;
    r.close = true;
    r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    r.body = std::to_string(status) + " " + http_reason(status) + ": " + std::string(reason) + "\n";
    send_response(std::move(r));
  }

  void send_response(HttpResponse r) {
    if (closed) return;
    event_del(timer);
    if (r.status < 200 || r.status > 599) {
      // A 1xx cannot end an exchange and 6xx does not exist; sending either
      // would leave the client waiting or guessing.
      WFP_LOG(warn, "http: handler answered status %d, sent 500 instead peer=%s", r.status,
              peer.c_str());
      r = HttpResponse{500, {}, "", true};
    }
    for (const HttpHeader& h : r.headers)
      if (iequals(h.name, "connection") && iequals(trim_ows(h.value), "close")) r.close = true;
    close_after = r.close || !req_keep_alive || srv->stopping;
    bool bodyless = r.status == 204 || r.status == 304;
    std::string head = serialize_head(r.status, r.headers, r.body.size(), close_after,
                                      req_http10, srv->date());
    evbuffer* out = bufferevent_get_output(bev);
    evbuffer_add(out, head.data(), head.size());
    if (!is_head && !bodyless && !r.body.empty()) {
      // Hand the body over without copying it (it can be megabytes).
      auto* body = new std::string(std::move(r.body));
      if (evbuffer_add_reference(out, body->data(), body->size(), free_string, body) != 0) {
        delete body;
        throw std::bad_alloc();
      }
    }
    phase = Phase::writing;
    bufferevent_enable(bev, EV_WRITE);
  }

  // The response is on the wire.
  void finished_writing() {
    if (close_after) return lingering_close();
    begin_request(false);
    process_input();  // a pipelined request may be waiting
  }

  // Closing right after a response while the client still sends (the rest
  // of a refused body, pipelined requests) makes the kernel answer with a
  // RST, which can destroy the response before the client reads it. So:
  // shut our side, discard what comes for a bounded time, then close.
  void lingering_close() {
    phase = Phase::lingering;
    shutdown(bufferevent_getfd(bev), SHUT_WR);
    evbuffer_drain(input(), evbuffer_get_length(input()));
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    bufferevent_enable(bev, EV_READ);
    arm_timer(kLingerMs);
  }

  void on_read() {
    if (phase == Phase::lingering) {
      size_t n = evbuffer_get_length(input());
      evbuffer_drain(input(), n);
      linger_bytes += n;
      if (linger_bytes > kLingerMaxBytes) close();
      return;
    }
    // In handling/writing the bytes wait in the buffer: the next request is
    // not parsed before this one is answered.
    process_input();
  }

  void on_write() {
    if (phase == Phase::writing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
      finished_writing();
  }

  void on_event(short what) {
    // EOF or an error in any phase ends the connection: the client is gone
    // (a half-close is treated as gone, as nginx does), and an exchange in
    // flight finds client_connected() false and respond() a no-op.
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) close();
  }

  void on_timer() {
    switch (phase) {
      case Phase::head:
        // Nothing of a request yet: just close. Part of one: tell the client.
        if (evbuffer_get_length(input()) == 0) return close();
        return send_error(408, "request head not received in time");
      case Phase::body:
        return send_error(408, "request body not received in time");
      case Phase::lingering:
        return close();
      case Phase::handling:
      case Phase::writing:
        return;
    }
  }
};

Conn* conn_of(http_parser* p) { return static_cast<Conn*>(p->data); }

int cb_url(http_parser* p, const char* at, size_t n) {
  try {
    conn_of(p)->parser_url.append(at, n);
    return 0;
  } catch (...) {
    conn_of(p)->cb_status = 500;
    conn_of(p)->cb_reason = "out of memory";
    return -1;
  }
}

int cb_headers_complete(http_parser* p) {
  conn_of(p)->headers_complete = true;
  return 0;
}

int cb_body(http_parser* p, const char* at, size_t n) {
  Conn* c = conn_of(p);
  if (c->req.body.size() + n > c->lim.max_body_bytes) {
    c->cb_status = 413;
    c->cb_reason = "body larger than the limit";
    return -1;
  }
  try {
    c->req.body.append(at, n);
    return 0;
  } catch (...) {  // nothing may unwind through C code
    c->cb_status = 500;
    c->cb_reason = "out of memory";
    return -1;
  }
}

int cb_message_complete(http_parser* p) {
  conn_of(p)->message_complete = true;
  // Stop right here: the bytes after this message belong to the next
  // request, which is not parsed before this one is answered.
  http_parser_pause(p, 1);
  return 0;
}

// libevent callbacks: nothing may escape into C; a failure closes the connection.
template <typename F>
void guarded(void* arg, const char* where, F&& f) {
  std::shared_ptr<Conn> self;
  try {
    self = static_cast<Conn*>(arg)->shared_from_this();  // lives through close()
    f(*self);
  } catch (const std::exception& e) {
    WFP_LOG(error, "http: %s: %s; connection closed", where, e.what());
    if (self) self->close();
  } catch (...) {
    WFP_LOG(error, "http: %s: unknown exception; connection closed", where);
    if (self) self->close();
  }
}

void on_read_cb(bufferevent*, void* arg) {
  guarded(arg, "read", [](Conn& c) { c.on_read(); });
}
void on_write_cb(bufferevent*, void* arg) {
  guarded(arg, "write", [](Conn& c) { c.on_write(); });
}
void on_event_cb(bufferevent*, short what, void* arg) {
  guarded(arg, "event", [what](Conn& c) { c.on_event(what); });
}
void on_timer_cb(evutil_socket_t, short, void* arg) {
  guarded(arg, "timer", [](Conn& c) { c.on_timer(); });
}

ExchangeImpl::~ExchangeImpl() {
  if (responded_) return;
  try {
    // The handler dropped the exchange without answering; the client would
    // otherwise wait until it gives up.
    if (auto c = current()) {
      WFP_LOG(warn, "http: exchange dropped without a response peer=%s", c->peer.c_str());
      c->send_error(500, "no response");
    }
  } catch (...) {
  }
}

std::shared_ptr<Conn> ExchangeImpl::current() const {
  auto c = conn_.lock();
  if (!c || c->closed || c->phase != Phase::handling || c->seq != seq_) return nullptr;
  return c;
}

void ExchangeImpl::respond(HttpResponse response) {
  if (responded_) return;
  responded_ = true;
  auto c = current();
  if (!c) return;  // the client went away meanwhile
  try {
    c->send_response(std::move(response));
  } catch (const std::exception& e) {
    WFP_LOG(error, "http: respond: %s; connection closed peer=%s", e.what(), c->peer.c_str());
    c->close();
  }
}

bool ExchangeImpl::client_connected() const { return current() != nullptr; }

void on_accept_cb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int, void* arg) {
  try {
    static_cast<HttpServer::Impl*>(arg)->accept(fd, sa);
  } catch (const std::exception& e) {
    WFP_LOG(error, "http: accept: %s", e.what());
  } catch (...) {
    WFP_LOG(error, "http: accept: unknown exception");
  }
}

void on_accept_error_cb(evconnlistener* listener, void* arg) {
  int err = EVUTIL_SOCKET_ERROR();
  auto* impl = static_cast<HttpServer::Impl*>(arg);
  // Out of descriptors the failure repeats every retry: at most one line
  // a second, saying how many it stands for.
  time_t now = time(nullptr);
  if (now != impl->accept_error_logged) {
    std::string extra;
    if (impl->accept_errors_unlogged)
      extra = "(and " + std::to_string(impl->accept_errors_unlogged) + " more since the last line)";
    log_syscall_failure("http", "accept()", err, extra);
    impl->accept_error_logged = now;
    impl->accept_errors_unlogged = 0;
  } else {
    impl->accept_errors_unlogged++;
  }
  if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
    // Out of descriptors: the pending connection stays queued and the
    // listener would fire again at once; pause instead of spinning.
    evconnlistener_disable(listener);
    timeval tv = ms_to_timeval(kAcceptRetryMs);
    evtimer_add(impl->accept_retry, &tv);
  }
}

void on_accept_retry_cb(evutil_socket_t, short, void* arg) {
  auto* impl = static_cast<HttpServer::Impl*>(arg);
  if (!impl->stopping && impl->listener) evconnlistener_enable(impl->listener);
}

}  // namespace

void HttpServer::Impl::accept(evutil_socket_t fd, const sockaddr* sa) {
  if (conns.size() >= limits.max_connections) return reject_busy(fd);
  if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
    int one = 1;  // responses are written whole; don't let Nagle hold the tail
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto c = std::make_shared<Conn>(this, peer_string(sa));
  if (sa->sa_family == AF_UNIX) {
    // Who connected, as the kernel saw it at connect(): the admin API's
    // rate limit counts per uid on its socket.
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) c->peer_uid = long(cred.uid);
  }
  c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!c->bev) {
    ::close(fd);
    WFP_LOG(error, "http: bufferevent_socket_new failed; connection dropped");
    return;
  }
  c->timer = evtimer_new(base, on_timer_cb, c.get());
  if (!c->timer) {
    WFP_LOG(error, "http: evtimer_new failed; connection dropped");
    return;  // c's destructor frees the bufferevent and so the fd
  }
  bufferevent_setcb(c->bev, on_read_cb, on_write_cb, on_event_cb, c.get());
  conns.emplace(c.get(), c);
  c->begin_request(true);
  bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

// Past max_connections: a prompt 503, written straight to the socket so the
// refusal costs no buffers or timers, then closed.
void HttpServer::Impl::reject_busy(evutil_socket_t fd) {
  static const char kBody[] = "503 Service Unavailable: too many connections\n";
  std::string msg = serialize_head(503, {{"Content-Type", "text/plain; charset=utf-8"}},
                                   sizeof kBody - 1, true, false, date()) +
                    kBody;
  (void)!send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  shutdown(fd, SHUT_WR);
  // Discard what the client already sent, so close() sends a FIN, not a
  // RST that could destroy the 503 in flight.
  char buf[4096];
  for (int i = 0; i < 16 && recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0; ++i) {
  }
  ::close(fd);
  time_t now = time(nullptr);
  if (now != busy_logged) {  // at most one line a second under a flood
    busy_logged = now;
    WFP_LOG(warn, "http: max_connections (%zu) reached; refusing new connections with 503",
            limits.max_connections);
  }
}

HttpServer::Impl::~Impl() {
  if (listener) evconnlistener_free(listener);
  if (accept_retry) event_free(accept_retry);
  // Connections go with the server; exchanges still held by handlers see
  // their weak reference expire and respond() becomes a no-op.
  auto all = std::move(conns);
  for (auto& [ptr, c] : all) c->closed = true;
  all.clear();
}

HttpServer::HttpServer(event_base* base, int listen_fd, HttpLimits limits, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  // A write to a socket the client has closed raises SIGPIPE, whose default
  // action would kill the daemon; libevent writes with writev(), which
  // cannot ask for MSG_NOSIGNAL.
  struct sigaction old;
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
    signal(SIGPIPE, SIG_IGN);
  impl_->base = base;
  impl_->limits = limits;
  impl_->handler = std::move(handler);
  impl_->accept_retry = evtimer_new(base, on_accept_retry_cb, impl_.get());
  impl_->listener = evconnlistener_new(base, on_accept_cb, impl_.get(),
                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
  if (!impl_->listener || !impl_->accept_retry) {
    if (!impl_->listener) ::close(listen_fd);
    throw std::runtime_error("http: cannot create the listener");
  }
  evconnlistener_set_error_cb(impl_->listener, on_accept_error_cb);
}

HttpServer::~HttpServer() = default;

void HttpServer::set_limits(const HttpLimits& limits) { impl_->limits = limits; }

size_t HttpServer::connection_count() const { return impl_->conns.size(); }

void HttpServer::stop_accepting() {
  impl_->stopping = true;
  if (impl_->listener) evconnlistener_disable(impl_->listener);
  if (impl_->accept_retry) event_del(impl_->accept_retry);
  // Idle keep-alive connections have no exchange to finish; the others
  // close after their current response (send_response sees `stopping`).
  std::vector<std::shared_ptr<Conn>> idle;
  for (auto& [ptr, c] : impl_->conns)
    if (c->phase == Phase::head && evbuffer_get_length(c->input()) == 0) idle.push_back(c);
  for (auto& c : idle) c->close();
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const HttpHeader& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

int http_listen_tcp(const std::string& addr_port, std::string& bound, std::string& error) {
  size_t colon = addr_port.rfind(':');
  if (colon == std::string::npos || !parse_port(std::string_view(addr_port).substr(colon + 1))) {
    error = "listen address \"" + addr_port + "\": expected ADDR:PORT";
    return -1;
  }
  std::string host = addr_port.substr(0, colon);
  int port = std::stoi(addr_port.substr(colon + 1));
  sockaddr_storage ss{};
  socklen_t len;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(uint16_t(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &in6->sin6_addr) != 1) {
      error = "listen address \"" + addr_port + "\": bad IPv6 address";
      return -1;
    }
    len = sizeof *in6;
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(uint16_t(port));
    if (host == "*") {
      in->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) != 1) {
      error = "listen address \"" + addr_port +
              "\": expected a numeric IPv4 address, [IPv6 address] or *";
      return -1;
    }
    len = sizeof *in;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "socket() failed: " + errno_text(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // [::]:80 means IPv6 only; "*:80" is the way to ask for IPv4.
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    error = "bind(" + addr_port + ") failed: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  if (listen(fd, SOMAXCONN) != 0) {
    error = "listen(" + addr_port + ") failed: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&got), &got_len) != 0) {
    error = "getsockname(" + addr_port + ") failed: " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  bound = peer_string(reinterpret_cast<sockaddr*>(&got));
  return fd;
}

int http_listen_unix(const std::string& path, unsigned mode, long gid, std::string& error) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path) {
    error = "socket path \"" + path + "\": empty or too long";
    return -1;
  }
  std::memcpy(sun.sun_path, path.data(), path.size());
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    // A stale socket from an earlier run is replaced; anything else at
    // that path is someone's file and is left alone.
    if (!S_ISSOCK(st.st_mode)) {
      error = "socket path \"" + path + "\" exists and is not a socket";
      return -1;
    }
    if (unlink(path.c_str()) != 0) {
      error = "unlink(" + path + ") failed: " + errno_text(errno);
      return -1;
    }
  } else if (errno != ENOENT) {
    error = "lstat(" + path + ") failed: " + errno_text(errno);
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = "socket(AF_UNIX) failed: " + errno_text(errno);
    return -1;
  }
  auto fail = [&](const std::string& call) {
    error = call + " failed: " + errno_text(errno);
    ::close(fd);
    return -1;
  };
  if (bind(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) return fail("bind(" + path + ")");
  // Permissions are set before listen(): until then a connect() is refused,
  // so no client gets in under the umask's looser mode. lchown: never
  // follow a symlink someone put in place of the socket.
  if (chmod(path.c_str(), mode) != 0) return fail("chmod(" + path + ")");
  if (gid >= 0 && lchown(path.c_str(), uid_t(-1), gid_t(gid)) != 0)
    return fail("lchown(" + path + ", gid=" + std::to_string(gid) + ")");
  if (listen(fd, SOMAXCONN) != 0) return fail("listen(" + path + ")");
  return fd;
}

const char* http_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 511: return "Network Authentication Required";
    default: break;
  }
  if (status >= 100 && status < 200) return "Informational";
  if (status >= 200 && status < 300) return "Success";
  if (status >= 300 && status < 400) return "Redirection";
  if (status >= 400 && status < 500) return "Client Error";
  return "Server Error";
}

}  // namespace wfp
