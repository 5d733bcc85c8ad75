// Conversions between Duktape's internal string bytes and UTF-8, shared by
// the natives (encoding, URL). Runs in every heap; the bytes may come from
// tenant code or from raw input, so every reader accepts any bytes.
//
// Duktape keeps strings in its own byte form: UTF-8 for BMP characters,
// each UTF-16 surrogate as its own 3-byte sequence (CESU-8) when the string
// came from JavaScript, but a 4-byte UTF-8 sequence, counted as ONE
// character, when a native pushed real UTF-8.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wfp {

constexpr uint32_t kReplacementChar = 0xFFFD;

// One character of Duktape's string form at s[i], advancing i. Surrogates
// come back as themselves; a 4-byte form as its code point; a byte that does
// not start a well-formed sequence as U+FFFD (one per byte).
uint32_t duk_next_char(const uint8_t* s, size_t n, size_t& i);

inline bool is_high_surrogate(uint32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
inline bool is_low_surrogate(uint32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
inline size_t utf8_length(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

// Writes `c` as UTF-8 at o; returns the end.
uint8_t* put_utf8(uint8_t* o, uint32_t c);
void append_utf8(std::string& out, uint32_t c);

// A scalar value in Duktape's form: above the BMP, as two surrogates.
uint8_t* put_duk(uint8_t* o, uint32_t c);
inline size_t duk_length(uint32_t c) { return c < 0x10000 ? utf8_length(c) : 6; }

// Reads the string form as UTF-16 would see it and yields scalar values: a
// surrogate pair joins, a lone surrogate becomes U+FFFD (WebIDL's
// USVString). `units` counts characters as Duktape indexes them.
struct ScalarReader {
  const uint8_t* s;
  size_t n;
  size_t i = 0;
  bool done() const { return i >= n; }
  uint32_t next(size_t& units);
};

// A JavaScript string's bytes → well-formed UTF-8 (lone surrogates and
// stray bytes become U+FFFD).
std::string js_to_utf8(std::string_view js);
// Well-formed UTF-8 → Duktape's form (non-BMP as surrogate pairs), so the
// string has the length and indexing JavaScript expects.
std::string utf8_to_js(std::string_view utf8);

}  // namespace wfp
