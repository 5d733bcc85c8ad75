// Small ASCII text helpers shared by the parsers of wfpd and wfpctl (HTTP,
// multipart, configuration). Header-only: both programs link it.
#pragma once
#include <string_view>

namespace wfp {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// ASCII case-insensitive equality (header names, tokens, media types).
inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Strips spaces and tabs (HTTP's optional whitespace) from both ends; with
// `cr`, a carriage return at the end too (lines split on '\n' alone).
inline std::string_view trim_ows(std::string_view s, bool cr = false) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || (cr && s.back() == '\r')))
    s.remove_suffix(1);
  return s;
}

}  // namespace wfp
