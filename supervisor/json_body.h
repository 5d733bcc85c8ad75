// JSON documents from the admin API's clients: untrusted text parsed with
// bounds, so a hostile document is refused with a reason, never an
// internal error or a deep recursion. Used by the admin API; fuzzed on its
// own (tests/fuzz/admin_fuzz.cc).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace wfp {

// Deepest nesting of arrays and objects the admin API accepts.
constexpr size_t kMaxJsonDepth = 64;

// Parses `text`; on failure returns a discarded value and sets `error` to
// what was wrong ("nested more than 64 levels deep", "not valid JSON:
// parse error at line 1, column 3: ..."). Never throws for bad input.
nlohmann::json parse_json_text(std::string_view text, std::string& error);

}  // namespace wfp
