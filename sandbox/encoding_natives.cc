// Native halves of TextEncoder, TextDecoder (UTF-8, UTF-16LE/BE), atob and btoa.
// Runs in every heap (zygote image, dispatcher, sandbox); every argument comes
// from tenant code and is hostile: lengths are checked, nothing is trusted to be a valid string.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "duktape.h"
#include "sandbox/duk_text.h"
#include "sandbox/natives.h"

// Duktape's string forms are described in duk_text.h. Everything here
// reads both forms and writes only the CESU-8 one, so strings made here have
// the UTF-16 semantics JavaScript expects (length, charCodeAt, slicing).
//
// No function here throws a C++ exception of its own: memory comes from
// Duktape buffers (counted against the heap limit, released when the stack
// unwinds) and failures are duk errors, so no NATIVE_BEGIN/END is needed.

namespace wfp {
namespace {

constexpr uint32_t kReplacement = kReplacementChar;

const uint8_t* get_string_bytes(duk_context* ctx, duk_idx_t i, size_t& n) {
  duk_size_t len = 0;
  const char* s = duk_require_lstring(ctx, i, &len);
  n = len;
  return (const uint8_t*)s;
}

// Bytes of an ArrayBuffer, typed array or DataView (its visible slice).
const uint8_t* get_buffer_source(duk_context* ctx, duk_idx_t i, size_t& n, const char* who) {
  if (!duk_is_buffer_data(ctx, i))
    duk_type_error(ctx, "%s: argument must be an ArrayBuffer or an ArrayBufferView", who);
  duk_size_t len = 0;
  void* p = duk_get_buffer_data(ctx, i, &len);
  n = p ? len : 0;  // a view past the end of a shrunk buffer has no bytes
  return p ? (const uint8_t*)p : (const uint8_t*)"";
}

// ---------------------------------------------------------------------------
// TextEncoder

// encode(string) → Uint8Array with the UTF-8 of the string's code units.
duk_ret_t native_text_encode(duk_context* ctx) {
  size_t n = 0;
  const uint8_t* s = get_string_bytes(ctx, 0, n);
  // First pass: the output size, and whether the string form already is
  // the UTF-8 wanted (no surrogate forms, nothing malformed): then copy.
  size_t out = 0;
  bool same = true;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      out++;
      i++;
      continue;
    }
    size_t start = i;
    uint32_t c = duk_next_char(s, n, i);
    if (c == kReplacement || is_high_surrogate(c) || is_low_surrogate(c)) {
      same = false;
      i = start;
      break;
    }
    out += i - start;
  }
  if (!same) {
    out = 0;
    ScalarReader r{s, n};
    size_t units;
    while (!r.done()) out += utf8_length(r.next(units));
  }
  auto* p = (uint8_t*)duk_push_fixed_buffer(ctx, out);
  if (same) {
    if (n) memcpy(p, s, n);
  } else {
    ScalarReader r{s, n};
    size_t units;
    while (!r.done()) p = put_utf8(p, r.next(units));
  }
  duk_push_buffer_object(ctx, -1, 0, out, DUK_BUFOBJ_UINT8ARRAY);
  return 1;
}

// encodeInto(string, u8) → {read, written}: stops before the first
// character whose whole UTF-8 form would not fit.
duk_ret_t native_text_encode_into(duk_context* ctx) {
  size_t n = 0;
  const uint8_t* s = get_string_bytes(ctx, 0, n);
  size_t room = 0;
  uint8_t* dst = (uint8_t*)get_buffer_source(ctx, 1, room, "TextEncoder.encodeInto");
  ScalarReader r{s, n};
  size_t read = 0, written = 0, units = 0;
  while (!r.done()) {
    size_t at = r.i;
    uint32_t c = r.next(units);
    size_t len = utf8_length(c);
    if (written + len > room) {
      r.i = at;
      break;
    }
    put_utf8(dst + written, c);
    written += len;
    read += units;
  }
  duk_push_object(ctx);
  duk_push_number(ctx, (double)read);
  duk_put_prop_string(ctx, -2, "read");
  duk_push_number(ctx, (double)written);
  duk_put_prop_string(ctx, -2, "written");
  return 1;
}

// ---------------------------------------------------------------------------
// TextDecoder
//
// The decoder state lives in a plain object owned by the TextDecoder (the
// tenant can reach and spoil it, which only spoils its own decoder): `enc`
// (0 UTF-8, 1 UTF-16LE, 2 UTF-16BE), `fatal`, `ignoreBOM`, `bomSeen`, and
// `pending`: the bytes of an unfinished sequence held back by a streaming
// call, packed as count | byte0 << 8 | byte1 << 16 | byte2 << 24.

enum Encoding { kUtf8 = 0, kUtf16le = 1, kUtf16be = 2 };

// Output of one decode pass. Run twice: counting, then writing into a
// buffer of exactly the size counted.
struct Emitter {
  uint8_t* out = nullptr;  // null: count only
  size_t size = 0;
  bool strip_bom = false;  // drop a leading U+FEFF
  bool seen = false;       // a code point went out (or was dropped as the BOM)
  bool changed = false;    // output differs from the input bytes
  bool error = false;      // an invalid sequence was replaced
  void emit(uint32_t c) {
    if (!seen) {
      seen = true;
      if (strip_bom && c == 0xFEFF) {
        changed = true;
        return;
      }
    }
    if (out) out = put_duk(out, c);
    size += duk_length(c);
  }
  void fail() {
    error = true;
    changed = true;
    emit(kReplacement);
  }
};

// The WHATWG UTF-8 decoder, which replaces each maximal subpart of an
// ill-formed sequence with one U+FFFD. Returns the number of bytes
// consumed: all of them when flushing, else all but an unfinished (and so
// far valid) sequence at the end.
size_t decode_utf8(const uint8_t* p, size_t n, bool flush, Emitter& e) {
  uint32_t cp = 0;
  int needed = 0, seen = 0;
  uint8_t lower = 0x80, upper = 0xBF;
  size_t start = 0;  // first byte of the sequence in progress
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    if (needed == 0) {
      start = i;
      if (b < 0x80) {
        e.emit(b);
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1F;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2;
        cp = b & 0x0F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3;
        cp = b & 0x07;
      } else {
        e.fail();
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one maximal subpart; this byte starts anew.
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xBF;
      e.fail();
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3F);
    if (++seen == needed) {
      if (cp >= 0x10000) e.changed = true;  // 4 bytes in, two 3-byte surrogates out
      e.emit(cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) {
    if (!flush) return start;
    e.fail();
  }
  return n;
}

// The WHATWG UTF-16 decoder (either byte order).
size_t decode_utf16(const uint8_t* p, size_t n, bool big_endian, bool flush, Emitter& e) {
  e.changed = true;
  size_t i = 0;
  uint32_t lead = 0;  // a lead surrogate waiting for its trail
  size_t lead_at = 0;
  for (; i + 1 < n; i += 2) {
    uint32_t u = big_endian ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i] | p[i + 1] << 8);
    if (lead) {
      uint32_t l = lead;
      lead = 0;
      if (is_low_surrogate(u)) {
        e.emit(0x10000 + ((l - 0xD800) << 10) + (u - 0xDC00));
        continue;
      }
      e.fail();  // and `u` is looked at afresh below
    }
    if (is_high_surrogate(u)) {
      lead = u;
      lead_at = i;
    } else if (is_low_surrogate(u)) {
      e.fail();
    } else {
      e.emit(u);
    }
  }
  if (!flush) {
    if (lead) return lead_at;
    return i;
  }
  if (lead || i < n) e.fail();  // an unpaired lead surrogate, an odd byte: one error
  return n;
}

size_t run_decoder(int enc, const uint8_t* p, size_t n, bool flush, Emitter& e) {
  if (enc == kUtf8) return decode_utf8(p, n, flush, e);
  return decode_utf16(p, n, enc == kUtf16be, flush, e);
}

bool get_flag(duk_context* ctx, duk_idx_t obj, const char* key) {
  duk_get_prop_string(ctx, obj, key);
  bool v = duk_to_boolean(ctx, -1);
  duk_pop(ctx);
  return v;
}

// decode(state, bytes or undefined, stream) → string.
duk_ret_t native_text_decode(duk_context* ctx) {
  duk_require_object(ctx, 0);
  bool stream = duk_to_boolean(ctx, 2);
  duk_get_prop_string(ctx, 0, "enc");
  int enc = duk_get_int_default(ctx, -1, 0);
  duk_get_prop_string(ctx, 0, "pending");
  uint32_t pending = duk_get_uint_default(ctx, -1, 0);
  duk_pop_2(ctx);
  if (enc < kUtf8 || enc > kUtf16be) enc = kUtf8;
  bool fatal = get_flag(ctx, 0, "fatal");
  bool bom_seen = get_flag(ctx, 0, "bomSeen");
  bool ignore_bom = get_flag(ctx, 0, "ignoreBOM");

  size_t n = 0;
  const uint8_t* p = duk_is_undefined(ctx, 1) ? (const uint8_t*)""
                                              : get_buffer_source(ctx, 1, n, "TextDecoder.decode");
  size_t held = pending & 3;
  if (held) {
    // Bytes held back by the last streaming call go in front.
    auto* joined = (uint8_t*)duk_push_fixed_buffer(ctx, held + n);
    for (size_t k = 0; k < held; k++) joined[k] = (uint8_t)(pending >> (8 * (k + 1)));
    if (n) memcpy(joined + held, p, n);
    p = joined;
    n += held;
  }

  Emitter count;
  count.strip_bom = !ignore_bom && !bom_seen;
  if (held) count.changed = true;
  size_t used = run_decoder(enc, p, n, !stream, count);
  if (count.error && fatal) {
    duk_push_uint(ctx, 0);
    duk_put_prop_string(ctx, 0, "pending");
    duk_type_error(ctx, "The encoded data was not valid for encoding %s",
                   enc == kUtf8 ? "utf-8" : enc == kUtf16le ? "utf-16le" : "utf-16be");
  }
  // The result first, the state writes after: a tenant who spoiled its
  // state object with setters can run code there, but by then no byte of
  // the input is read any more.
  if (!count.changed && used == n) {
    duk_push_lstring(ctx, (const char*)p, n);
  } else {
    Emitter write;
    write.strip_bom = count.strip_bom;
    write.out = (uint8_t*)duk_push_fixed_buffer(ctx, count.size);
    run_decoder(enc, p, n, !stream, write);
    duk_buffer_to_string(ctx, -1);
  }
  // Remember an unfinished sequence (at most 3 bytes by construction).
  uint32_t keep = (uint32_t)(n - used);
  uint32_t packed = keep;
  for (uint32_t k = 0; k < keep && k < 3; k++) packed |= (uint32_t)p[used + k] << (8 * (k + 1));
  duk_push_uint(ctx, packed);
  duk_put_prop_string(ctx, 0, "pending");
  if (count.seen && !bom_seen) {
    duk_push_true(ctx);
    duk_put_prop_string(ctx, 0, "bomSeen");
  }
  return 1;
}

// ---------------------------------------------------------------------------
// atob / btoa (HTML: forgiving-base64 decode; encoding of a Latin-1 string)

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

duk_ret_t push_failure(duk_context* ctx) {
  duk_push_null(ctx);
  return 1;
}

bool is_ascii_whitespace(uint8_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

// atob(string) → the decoded bytes as a string of code units 0–255, or null
// when the input is not forgiving-base64 (the caller throws the DOMException).
duk_ret_t native_atob(duk_context* ctx) {
  size_t n = 0;
  const uint8_t* s = get_string_bytes(ctx, 0, n);
  // Whitespace out; anything not ASCII fails (every non-ASCII character's
  // string form has only bytes ≥ 0x80).
  auto* t = (uint8_t*)duk_push_fixed_buffer(ctx, n);
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] >= 0x80) return push_failure(ctx);
    if (!is_ascii_whitespace(s[i])) t[len++] = s[i];
  }
  if (len % 4 == 0 && len > 0 && t[len - 1] == '=') {
    len--;
    if (t[len - 1] == '=') len--;
  }
  if (len % 4 == 1) return push_failure(ctx);
  size_t out = 0;
  for (size_t i = 0; i < len; i++) {
    int v = base64_value(t[i]);
    if (v < 0) return push_failure(ctx);
    t[i] = (uint8_t)v;
  }
  size_t bytes = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
  // Code units 0x80–0xFF take two bytes in the string form: decode once
  // into the tail of the worst-case buffer, then widen in place forwards.
  auto* o = (uint8_t*)duk_push_fixed_buffer(ctx, bytes * 2);
  uint8_t* raw = o + bytes;
  size_t k = 0;
  for (size_t i = 0; i + 3 < len; i += 4) {
    uint32_t v = (uint32_t)t[i] << 18 | (uint32_t)t[i + 1] << 12 | (uint32_t)t[i + 2] << 6 | t[i + 3];
    raw[k++] = (uint8_t)(v >> 16);
    raw[k++] = (uint8_t)(v >> 8);
    raw[k++] = (uint8_t)v;
  }
  size_t rest = len % 4, at = len - rest;
  if (rest >= 2) {
    uint32_t v = (uint32_t)t[at] << 18 | (uint32_t)t[at + 1] << 12;
    if (rest == 3) v |= (uint32_t)t[at + 2] << 6;
    raw[k++] = (uint8_t)(v >> 16);
    if (rest == 3) raw[k++] = (uint8_t)(v >> 8);
  }
  // The r-th raw byte sits at bytes + r and is read before its (at most
  // two) output bytes are written at or below 2r + 1 < bytes + r + 1: the
  // writes never reach a raw byte still to be read.
  for (size_t r = 0; r < k; r++) {
    uint8_t b = raw[r];
    if (b < 0x80) {
      o[out++] = b;
    } else {
      o[out++] = (uint8_t)(0xC0 | (b >> 6));
      o[out++] = (uint8_t)(0x80 | (b & 0x3F));
    }
  }
  duk_push_lstring(ctx, (const char*)o, out);
  return 1;
}

// btoa(string) → base64 of its code units, or null if one is above 0xFF.
duk_ret_t native_btoa(duk_context* ctx) {
  size_t n = 0;
  const uint8_t* s = get_string_bytes(ctx, 0, n);
  auto* raw = (uint8_t*)duk_push_fixed_buffer(ctx, n);
  size_t len = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c = duk_next_char(s, n, i);
    if (c > 0xFF) return push_failure(ctx);
    raw[len++] = (uint8_t)c;
  }
  size_t out = (len + 2) / 3 * 4;
  auto* o = (uint8_t*)duk_push_fixed_buffer(ctx, out);
  size_t w = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
    o[w++] = kBase64[v >> 18];
    o[w++] = kBase64[(v >> 12) & 63];
    o[w++] = kBase64[(v >> 6) & 63];
    o[w++] = kBase64[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)raw[i] << 16;
    o[w++] = kBase64[v >> 18];
    o[w++] = kBase64[(v >> 12) & 63];
    o[w++] = '=';
    o[w++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8;
    o[w++] = kBase64[v >> 18];
    o[w++] = kBase64[(v >> 12) & 63];
    o[w++] = kBase64[(v >> 6) & 63];
    o[w++] = '=';
  }
  duk_push_lstring(ctx, (const char*)o, w);
  return 1;
}

const duk_function_list_entry kEncodingFunctions[] = {
    {"textEncode", native_text_encode, 1},
    {"textEncodeInto", native_text_encode_into, 2},
    {"textDecode", native_text_decode, 3},
    {"atob", native_atob, 1},
    {"btoa", native_btoa, 1},
    {nullptr, nullptr, 0},
};

}  // namespace

void register_encoding_natives(duk_hthread* ctx, int host) {
  duk_put_function_list(ctx, host, kEncodingFunctions);
}

}  // namespace wfp
