// Strict multipart/form-data parsing for script uploads (admin API).
// Runs in the supervisor's event loop; the body is admin-client input:
// every delimiter, header line and parameter is checked, nothing repaired.
#include "supervisor/multipart.h"
#include "supervisor/text.h"

#include <algorithm>
#include <set>

namespace wfp {
namespace {



// Client text quoted in an error message: printable ASCII only, bounded.
std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (s.size() > 80) out += "...";
  return out;
}

// RFC 9110 tchar.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 2046 bchars (space allowed, but not as the last character).
bool is_bchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

struct Param {
  std::string key;  // lower case
  std::string value;
};

// Parses "type; k=v; k2="quoted \"v\"""; returns false on any malformation.
// Used for Content-Type and Content-Disposition, whose grammar is the same.
bool parse_header_params(std::string_view v, std::string& type, std::vector<Param>& params,
                         std::string& error) {
  size_t i = 0, n = v.size();
  auto skip_ows = [&] {
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
  };
  skip_ows();
  size_t start = i;
  while (i < n && v[i] != ';') i++;
  type = std::string(trim_ows(v.substr(start, i - start)));
  if (type.empty()) {
    error = "has no type";
    return false;
  }
  while (i < n) {
    // At ';'.
    i++;
    skip_ows();
    if (i == n) break;  // a trailing ';' is harmless
    start = i;
    while (i < n && is_tchar(v[i])) i++;
    if (i == start || i == n || v[i] != '=') {
      error = "has a malformed parameter";
      return false;
    }
    Param p;
    for (char c : v.substr(start, i - start))
      p.key += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    i++;  // '='
    if (i < n && v[i] == '"') {
      i++;
      bool closed = false;
      while (i < n) {
        char c = v[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i == n) break;
          c = v[i++];
        }
        p.value += c;
      }
      if (!closed) {
        error = "has an unterminated quoted string";
        return false;
      }
    } else {
      start = i;
      while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t') i++;
      p.value = std::string(v.substr(start, i - start));
      if (p.value.empty()) {
        error = "has a parameter without a value";
        return false;
      }
    }
    skip_ows();
    if (i < n && v[i] != ';') {
      error = "has garbage after a parameter";
      return false;
    }
    params.push_back(std::move(p));
  }
  return true;
}

}  // namespace

bool multipart_boundary(std::string_view content_type, std::string& boundary, std::string& error) {
  std::string type, perr;
  std::vector<Param> params;
  if (!parse_header_params(content_type, type, params, perr)) {
    error = "Content-Type " + perr;
    return false;
  }
  if (!ascii_iequals(type, "multipart/form-data")) {
    error = "Content-Type must be multipart/form-data, not \"" + shown(type) + "\"";
    return false;
  }
  int found = 0;
  for (auto& p : params)
    if (p.key == "boundary") {
      boundary = p.value;
      found++;
    }
  if (found != 1) {
    error = found ? "Content-Type has more than one boundary parameter"
                  : "Content-Type multipart/form-data has no boundary parameter";
    return false;
  }
  // RFC 2046: 1..70 bchars, not ending in a space.
  bool ok = !boundary.empty() && boundary.size() <= 70 && boundary.back() != ' ' &&
            std::all_of(boundary.begin(), boundary.end(), is_bchar);
  if (!ok) {
    error = "multipart boundary \"" + shown(boundary) +
            "\" is invalid: 1 to 70 letters, digits or '()+_,-./:=? characters";
    return false;
  }
  return true;
}

bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<MultipartPart>& parts, std::string& error,
                     const MultipartLimits& limits) {
  parts.clear();
  if (boundary.empty()) {
    error = "multipart boundary is empty";
    return false;
  }
  const std::string delim = "--" + std::string(boundary);
  const std::string crlf_delim = "\r\n" + delim;

  // The first delimiter starts the body or a line after a preamble.
  size_t pos;
  if (body.substr(0, delim.size()) == delim) {
    pos = delim.size();
  } else {
    size_t p = body.find(crlf_delim);
    if (p == std::string_view::npos) {
      error = "multipart body does not contain the boundary \"" + shown(boundary) + "\"";
      return false;
    }
    pos = p + crlf_delim.size();
  }

  std::set<std::string> names;
  for (;;) {
    // After a delimiter: "--" closes the body (the epilogue is ignored);
    // otherwise transport padding (spaces, tabs) and CRLF start a part.
    if (body.substr(pos, 2) == "--") return true;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) pos++;
    if (pos >= body.size()) {
      error = "multipart body ends without the closing boundary \"--" + shown(boundary) + "--\"";
      return false;
    }
    if (body.substr(pos, 2) != "\r\n") {
      error = "multipart boundary delimiter is not followed by CRLF";
      return false;
    }
    pos += 2;
    if (parts.size() >= limits.max_parts) {
      error = "multipart body has more than " + std::to_string(limits.max_parts) + " parts";
      return false;
    }
    const std::string which = "multipart part " + std::to_string(parts.size() + 1);

    // The header block ends at the first empty line; an empty block (the
    // part starts with CRLF) is legal syntax but lacks the required name.
    std::string_view block;
    size_t content_start;
    if (body.substr(pos, 2) == "\r\n") {
      content_start = pos + 2;
    } else {
      // Search a bounded window so a huge body without CRLFCRLF costs little.
      std::string_view window = body.substr(pos, limits.max_part_header_bytes + 4);
      size_t end = window.find("\r\n\r\n");
      if (end == std::string_view::npos) {
        error = window.size() < limits.max_part_header_bytes + 4
                    ? which + " has no end of headers (CRLF CRLF)"
                    : which + " has headers over " + std::to_string(limits.max_part_header_bytes) +
                          " bytes";
        return false;
      }
      block = window.substr(0, end);
      content_start = pos + end + 4;
    }

    MultipartPart part;
    bool have_disposition = false, have_type = false;
    size_t line_start = 0;
    while (line_start < block.size()) {
      size_t eol = block.find("\r\n", line_start);
      if (eol == std::string_view::npos) eol = block.size();
      std::string_view line = block.substr(line_start, eol - line_start);
      line_start = eol + 2;
      // Obsolete line folding and bare CR/LF/NUL are refused, as in HTTP.
      if (line.empty() || line[0] == ' ' || line[0] == '\t') {
        error = which + " has a folded or empty header line";
        return false;
      }
      for (unsigned char c : line)
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          error = which + " has a control character in a header";
          return false;
        }
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          !std::all_of(line.begin(), line.begin() + colon, is_tchar)) {
        error = which + " has a malformed header line \"" + shown(line) + "\"";
        return false;
      }
      std::string_view hname = line.substr(0, colon), value = trim_ows(line.substr(colon + 1));
      if (ascii_iequals(hname, "Content-Disposition")) {
        if (have_disposition) {
          error = which + " has two Content-Disposition headers";
          return false;
        }
        have_disposition = true;
        std::string type, perr;
        std::vector<Param> params;
        if (!parse_header_params(value, type, params, perr)) {
          error = which + ": Content-Disposition " + perr;
          return false;
        }
        if (!ascii_iequals(type, "form-data")) {
          error = which + ": Content-Disposition must be form-data, not \"" + shown(type) + "\"";
          return false;
        }
        bool have_name = false, have_filename = false;
        for (auto& p : params) {
          if (p.key == "name") {
            if (have_name) {
              error = which + ": Content-Disposition has two name parameters";
              return false;
            }
            have_name = true;
            part.name = p.value;
          } else if (p.key == "filename") {
            if (have_filename) {
              error = which + ": Content-Disposition has two filename parameters";
              return false;
            }
            have_filename = true;
            part.filename = p.value;
          }
          // Other parameters (filename*) carry nothing we use.
        }
        if (!have_name || part.name.empty()) {
          error = which + " has no name in its Content-Disposition header";
          return false;
        }
      } else if (ascii_iequals(hname, "Content-Type")) {
        if (have_type) {
          error = which + " has two Content-Type headers";
          return false;
        }
        have_type = true;
        part.content_type = std::string(value);
      }
      // Other part headers (Content-Transfer-Encoding, ...) are ignored:
      // RFC 7578 deprecates them and we take the bytes as they are.
    }
    if (!have_disposition) {
      error = which + " has no Content-Disposition header";
      return false;
    }
    if (!names.insert(part.name).second) {
      error = "multipart body has two parts named \"" + shown(part.name) + "\"";
      return false;
    }

    // The content ends at CRLF + delimiter; the boundary may not occur in it.
    size_t next = body.find(crlf_delim, content_start);
    if (next == std::string_view::npos) {
      error = which + " (\"" + shown(part.name) +
              "\") is not terminated: the closing boundary \"--" + shown(boundary) +
              "--\" is missing";
      return false;
    }
    part.body = std::string(body.substr(content_start, next - content_start));
    parts.push_back(std::move(part));
    pos = next + crlf_delim.size();
  }
}

}  // namespace wfp
