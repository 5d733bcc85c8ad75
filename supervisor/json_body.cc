// See json_body.h.
#include "supervisor/json_body.h"

namespace wfp {
namespace {

// A pre-scan for nesting depth, so a hostile document is refused before the
// parser builds (and later destroys, recursively) a deep tree.
bool json_depth_ok(std::string_view s, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return true;
}

}  // namespace

nlohmann::json parse_json_text(std::string_view text, std::string& error) {
  if (!json_depth_ok(text, kMaxJsonDepth)) {
    error = "nested more than " + std::to_string(kMaxJsonDepth) + " levels deep";
    return nlohmann::json::value_t::discarded;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, ...";
    // a number past a double's range is an out_of_range ("number overflow
    // parsing '1e400'"), found by fuzzing: the client's error too.
    std::string m = e.what();
    size_t close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
    error = "not valid JSON: " + m;
    return nlohmann::json::value_t::discarded;
  }
}

}  // namespace wfp
