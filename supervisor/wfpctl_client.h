// wfpctl's side of the admin API: one blocking HTTP/1.1 request over wfpd's
// Unix socket, plus the encodings a request needs (percent-encoding, multipart).
// Runs in wfpctl; it trusts wfpd's answers only as far as parsing them safely.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace wfp {

struct AdminReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

enum class AdminCallStatus {
  ok,               // a response was read (any HTTP status)
  connect_failed,   // no connection: error holds strerror text, errno_value the errno
  transport_failed  // connected, but writing or reading failed or the answer was garbled
};

struct AdminCallResult {
  AdminCallStatus status = AdminCallStatus::ok;
  int errno_value = 0;
  std::string error;
};

// Connects to `socket_path`, sends one request with Host: localhost,
// Connection: close and Content-Length, and reads the whole answer (by
// Content-Length, chunked, or to EOF).
AdminCallResult admin_call(const std::string& socket_path, const std::string& method,
                           const std::string& target, const std::string& content_type,
                           const std::string& body, AdminReply& reply);

// Text from wfpd (or a worker, through it) made safe for a terminal:
// control characters but tab shown as '?', so it can't move the cursor or
// forge a line.
std::string printable(std::string_view s);

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string percent_encode(std::string_view s);

struct UploadPart {
  std::string name;
  std::string filename;  // empty: no filename parameter
  std::string content_type;
  std::string body;
};

// Builds a multipart/form-data body with a random boundary that occurs in
// no part; `content_type` gets the request's Content-Type header value.
std::string build_multipart(const std::vector<UploadPart>& parts, std::string& content_type);

}  // namespace wfp
