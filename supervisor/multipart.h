// A strict multipart/form-data parser (RFC 7578 over RFC 2046) for the
// admin API's script uploads. Runs in the supervisor's event loop; the body
// comes from an admin client and is checked byte by byte, never trusted.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wfp {

struct MultipartPart {
  std::string name;          // Content-Disposition's name (never empty)
  std::string filename;      // Content-Disposition's filename, if any
  std::string content_type;  // the part's Content-Type as sent; empty when absent
  std::string body;
};

struct MultipartLimits {
  size_t max_parts = 64;
  size_t max_part_header_bytes = 8 * 1024;  // one part's header block
};

// Extracts the boundary from a request's Content-Type
// ("multipart/form-data; boundary=XYZ", the boundary quoted or not).
// False with `error` set when the type is not multipart/form-data or the
// boundary is missing or not 1..70 of RFC 2046's bchars.
bool multipart_boundary(std::string_view content_type, std::string& boundary, std::string& error);

// Splits `body` into parts. The first delimiter may follow a preamble; the
// close delimiter ("--BOUNDARY--") is required; lines end in CRLF. Each part
// needs a "Content-Disposition: form-data; name=..." header; part names are
// unique. False with `error` set (a sentence naming what is wrong) otherwise.
bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<MultipartPart>& parts, std::string& error,
                     const MultipartLimits& limits = MultipartLimits());

}  // namespace wfp
