// wfpctl's HTTP client for the admin socket: blocking AF_UNIX, one request
// per connection, and the encoders the requests need.
// Runs in wfpctl; wfpd's answer is parsed defensively (bounded, checked framing).
#include "supervisor/wfpctl_client.h"
#include "supervisor/text.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <random>

namespace wfp {
namespace {

// A script's source is at most max_script_bytes (10 MiB by default); this
// bounds what a confused peer can make us buffer.
constexpr size_t kMaxReplyBytes = 256u * 1024 * 1024;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};



bool dechunk(std::string_view in, std::string& out) {
  out.clear();
  size_t pos = 0;
  for (;;) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string_view line = in.substr(pos, eol - pos);
    size_t semi = line.find(';');  // chunk extensions are ignored
    line = trim_ows(line.substr(0, semi), true);
    size_t size = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (line.empty() || ec != std::errc() || p != line.data() + line.size()) return false;
    pos = eol + 2;
    if (size == 0) return true;  // trailers, if any, are not needed
    if (size > in.size() - pos || in.size() - pos - size < 2) return false;
    out.append(in.substr(pos, size));
    pos += size;
    if (in.substr(pos, 2) != "\r\n") return false;
    pos += 2;
  }
}

AdminCallResult transport_error(std::string text) {
  return AdminCallResult{AdminCallStatus::transport_failed, 0, std::move(text)};
}

}  // namespace

AdminCallResult admin_call(const std::string& socket_path, const std::string& method,
                           const std::string& target, const std::string& content_type,
                           const std::string& body, AdminReply& reply) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path))
    return AdminCallResult{AdminCallStatus::connect_failed, ENAMETOOLONG,
                           socket_path.empty() ? "empty socket path" : "socket path is too long"};
  memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  Fd s;
  s.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.fd < 0) return AdminCallResult{AdminCallStatus::connect_failed, errno, strerror(errno)};
  int rc;
  do rc = connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return AdminCallResult{AdminCallStatus::connect_failed, errno, strerror(errno)};

  std::string head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" +
                     "Connection: close\r\nUser-Agent: wfpctl\r\nAccept: application/json\r\n";
  if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";

  for (const std::string* chunk : {static_cast<const std::string*>(&head), &body}) {
    size_t off = 0;
    while (off < chunk->size()) {
      // MSG_NOSIGNAL: a daemon that closes early must not kill us with SIGPIPE.
      ssize_t n = send(s.fd, chunk->data() + off, chunk->size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        // The daemon may have answered early (413) and closed: read that answer.
        if (errno == EPIPE || errno == ECONNRESET) break;
        return transport_error(std::string("write failed: ") + strerror(errno));
      }
      off += size_t(n);
    }
  }

  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(s.fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == ECONNRESET && !raw.empty()) break;
      return transport_error(std::string("read failed: ") + strerror(errno));
    }
    if (n == 0) break;
    raw.append(buf, size_t(n));
    if (raw.size() > kMaxReplyBytes) return transport_error("answer is too large");
  }
  if (raw.empty()) return transport_error("wfpd closed the connection without answering");

  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return transport_error("answer has no end of headers");
  std::string_view h(raw.data(), head_end);
  size_t eol = h.find("\r\n");
  std::string_view status_line = h.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ')
    return transport_error("answer has a malformed status line");
  int status = 0;
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
  if (ec != std::errc() || p != status_line.data() + 12 || status < 100 || status > 599)
    return transport_error("answer has a malformed status code");

  bool chunked = false, have_length = false;
  size_t length = 0;
  reply = AdminReply();
  reply.status = status;
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : h.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return transport_error("answer has a malformed header");
    std::string_view name = line.substr(0, colon), value = trim_ows(line.substr(colon + 1), true);
    if (ascii_iequals(name, "Content-Type")) {
      reply.content_type = std::string(value);
    } else if (ascii_iequals(name, "Transfer-Encoding")) {
      chunked = ascii_iequals(value, "chunked");
    } else if (ascii_iequals(name, "Content-Length")) {
      auto [q, ec2] = std::from_chars(value.data(), value.data() + value.size(), length);
      if (ec2 != std::errc() || q != value.data() + value.size())
        return transport_error("answer has a malformed Content-Length");
      have_length = true;
    }
  }
  std::string_view payload(raw.data() + head_end + 4, raw.size() - head_end - 4);
  if (chunked) {
    if (!dechunk(payload, reply.body))
      return transport_error("answer has a malformed chunked body");
  } else if (have_length) {
    if (payload.size() < length) return transport_error("answer was cut short");
    reply.body = std::string(payload.substr(0, length));
  } else {
    reply.body = std::string(payload);
  }
  return AdminCallResult{};
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : char(c);
  return out;
}

std::string percent_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string build_multipart(const std::vector<UploadPart>& parts, std::string& content_type) {
  std::random_device rd;
  std::string boundary;
  for (;;) {
    boundary = "wfpctl-";
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) boundary += hex[rd() & 15];
    bool clash = false;
    for (auto& p : parts)
      if (p.body.find(boundary) != std::string::npos) clash = true;
    if (!clash) break;
  }
  std::string out;
  for (auto& p : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) out += "; filename=\"" + p.filename + "\"";
    out += "\r\n";
    if (!p.content_type.empty()) out += "Content-Type: " + p.content_type + "\r\n";
    out += "\r\n";
    out += p.body;
    out += "\r\n";
  }
  out += "--" + boundary + "--\r\n";
  content_type = "multipart/form-data; boundary=" + boundary;
  return out;
}

}  // namespace wfp
