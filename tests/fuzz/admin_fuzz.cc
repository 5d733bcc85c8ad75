// libFuzzer target: the admin API's request bodies (supervisor/admin_api.cc).
// An upload is Content-Type → multipart_boundary → parse_multipart
// (supervisor/multipart.cc) → the "metadata" part as JSON; other calls take
// a JSON body, parsed by supervisor/json_body.cc (a depth pre-scan to 64
// levels, then json::parse), and, for the cache purge body,
// ordered_json::parse(text, nullptr, false) with no pre-scan.
//
// Input: the Content-Type line, a NUL, then the body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "supervisor/json_body.h"
#include "supervisor/multipart.h"

namespace {

using ojson = nlohmann::ordered_json;

// The admin API's own parser (supervisor/json_body.cc): it must refuse
// bad text with a reason and never throw.
void parse_json_like_admin_api(std::string_view text) {
  std::string error;
  nlohmann::json j = wfp::parse_json_text(text, error);
  // A refusal says why, and only a refusal does.
  if (error.empty() != !j.is_discarded()) __builtin_trap();
  if (j.is_object()) {
    // read_upload's first look at the metadata.
    auto it = j.find("body_part");
    if (it != j.end() && it->is_string()) (void)it->get<std::string>();
    (void)j.dump();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in((const char*)data, size);
  size_t z = in.find('\0');
  std::string_view content_type =
      z == std::string_view::npos ? std::string_view() : in.substr(0, z);
  std::string_view body = z == std::string_view::npos ? in : in.substr(z + 1);

  // A JSON body (namespace and route calls; the cache purge).
  parse_json_like_admin_api(body);
  // The cache purge reads only "url" of what it parsed.
  ojson purge = ojson::parse(body, nullptr, false);
  if (purge.is_object()) (void)purge.find("url");

  std::string boundary, error;
  if (!wfp::multipart_boundary(content_type, boundary, error)) {
    if (error.empty()) __builtin_trap();  // a refusal always says why
    // Fuzz the body parser anyway, with a fixed boundary.
    boundary = "X";
  } else if (boundary.empty() || boundary.size() > 70) {
    __builtin_trap();
  }
  std::vector<wfp::MultipartPart> parts;
  error.clear();
  wfp::MultipartLimits limits;
  if (!wfp::parse_multipart(body, boundary, parts, error, limits)) {
    if (error.empty()) __builtin_trap();
    return 0;
  }
  if (parts.size() > limits.max_parts) __builtin_trap();
  for (const auto& p : parts) {
    if (p.name.empty()) __builtin_trap();
    // Every part's bytes lie inside the body.
    if (p.body.size() > body.size()) __builtin_trap();
    if (p.name == "metadata") parse_json_like_admin_api(p.body);
  }
  return 0;
}
