// Conversions between Duktape's string bytes and UTF-8 (see duk_text.h).
// Runs in every heap; input bytes are never trusted to be well-formed.
#include "sandbox/duk_text.h"

namespace wfp {
namespace {
bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }
}  // namespace

uint32_t duk_next_char(const uint8_t* s, size_t n, size_t& i) {
  uint8_t b = s[i];
  if (b < 0x80) {
    i += 1;
    return b;
  }
  if (b >= 0xC2 && b <= 0xDF && i + 1 < n && is_cont(s[i + 1])) {
    uint32_t c = ((b & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
    i += 2;
    return c;
  }
  if (b >= 0xE0 && b <= 0xEF && i + 2 < n && is_cont(s[i + 1]) && is_cont(s[i + 2]) &&
      (b != 0xE0 || s[i + 1] >= 0xA0)) {
    uint32_t c = ((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
    i += 3;
    return c;
  }
  if (b >= 0xF0 && b <= 0xF4 && i + 3 < n && is_cont(s[i + 1]) && is_cont(s[i + 2]) &&
      is_cont(s[i + 3]) && (b != 0xF0 || s[i + 1] >= 0x90) && (b != 0xF4 || s[i + 1] <= 0x8F)) {
    uint32_t c = ((b & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
                 (s[i + 3] & 0x3Fu);
    i += 4;
    return c;
  }
  i += 1;
  return kReplacementChar;
}

uint8_t* put_utf8(uint8_t* o, uint32_t c) {
  if (c < 0x80) {
    *o++ = (uint8_t)c;
  } else if (c < 0x800) {
    *o++ = (uint8_t)(0xC0 | (c >> 6));
    *o++ = (uint8_t)(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    *o++ = (uint8_t)(0xE0 | (c >> 12));
    *o++ = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    *o++ = (uint8_t)(0x80 | (c & 0x3F));
  } else {
    *o++ = (uint8_t)(0xF0 | (c >> 18));
    *o++ = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    *o++ = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    *o++ = (uint8_t)(0x80 | (c & 0x3F));
  }
  return o;
}

void append_utf8(std::string& out, uint32_t c) {
  uint8_t buf[4];
  uint8_t* end = put_utf8(buf, c);
  out.append((const char*)buf, end - buf);
}

uint8_t* put_duk(uint8_t* o, uint32_t c) {
  if (c < 0x10000) return put_utf8(o, c);
  c -= 0x10000;
  o = put_utf8(o, 0xD800 + (c >> 10));
  return put_utf8(o, 0xDC00 + (c & 0x3FF));
}

uint32_t ScalarReader::next(size_t& units) {
  uint32_t c = duk_next_char(s, n, i);
  units = 1;
  if (is_high_surrogate(c) && i < n) {
    size_t j = i;
    uint32_t d = duk_next_char(s, n, j);
    if (is_low_surrogate(d)) {
      i = j;
      units = 2;
      return 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
    }
  }
  if (is_high_surrogate(c) || is_low_surrogate(c)) return kReplacementChar;
  return c;
}

std::string js_to_utf8(std::string_view js) {
  std::string out;
  out.reserve(js.size());
  ScalarReader r{(const uint8_t*)js.data(), js.size()};
  size_t units;
  while (!r.done()) append_utf8(out, r.next(units));
  return out;
}

std::string utf8_to_js(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  const uint8_t* s = (const uint8_t*)utf8.data();
  for (size_t i = 0; i < utf8.size();) {
    uint32_t c = duk_next_char(s, utf8.size(), i);
    uint8_t buf[6];
    uint8_t* end = put_duk(buf, c);
    out.append((const char*)buf, end - buf);
  }
  return out;
}

}  // namespace wfp
