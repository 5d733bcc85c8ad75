// The WHATWG URL Standard (basic URL parser, serializer, setters, origin,
// application/x-www-form-urlencoded) and the host's IDNA step over libidn2.
// Runs in every sandbox heap; every input is hostile: no exceptions for bad
// input, every algorithm linear in its input except punycode, which is bounded.
#include "sandbox/url.h"
#include "sandbox/duk_text.h"

#include <idn2.h>

#include <array>
#include <cstring>

namespace wfp::url {
namespace {

// ---------------------------------------------------------------------------
// Character classes and percent-encode sets

bool is_alpha(int c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
bool is_digit(int c) {
  return c >= '0' && c <= '9';
}
bool is_hex(int c) {
  return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
int hex_value(int c) {
  return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c | 0x20) : c;
}

// Each set of the standard is a bit; every set contains all non-ASCII bytes.
enum : uint8_t {
  kC0Set = 1,
  kFragmentSet = 2,
  kQuerySet = 4,
  kSpecialQuerySet = 8,
  kPathSet = 16,
  kUserinfoSet = 32,
  kComponentSet = 64,
  kFormSet = 128,
};

constexpr std::array<uint8_t, 128> make_sets() {
  std::array<uint8_t, 128> t{};
  auto add = [&t](const char* chars, uint8_t sets) {
    for (const char* p = chars; *p; ++p) t[(unsigned char)*p] |= sets;
  };
  // Each set includes all those after it in this list of supersets.
  const uint8_t all = 0xff;
  for (int c = 0; c < 0x20; c++) t[c] = all;
  t[0x7f] = all;
  add(" \"<>", all & ~kC0Set);
  add("`", kFragmentSet | kPathSet | kUserinfoSet | kComponentSet | kFormSet);
  add("#", kQuerySet | kSpecialQuerySet | kPathSet | kUserinfoSet | kComponentSet | kFormSet);
  add("'", kSpecialQuerySet | kFormSet);
  add("?^{}", kPathSet | kUserinfoSet | kComponentSet | kFormSet);
  add("/:;=@[\\]|", kUserinfoSet | kComponentSet | kFormSet);
  add("$%&+,", kComponentSet | kFormSet);
  add("!()~", kFormSet);
  return t;
}
constexpr std::array<uint8_t, 128> kSets = make_sets();

bool in_set(unsigned char c, uint8_t set) {
  return c >= 0x80 || (kSets[c] & set);
}

const char kHexUpper[] = "0123456789ABCDEF";

void append_encoded(std::string& out, unsigned char c, uint8_t set) {
  if (in_set(c, set)) {
    out += '%';
    out += kHexUpper[c >> 4];
    out += kHexUpper[c & 15];
  } else {
    out += char(c);
  }
}

void append_encoded(std::string& out, std::string_view s, uint8_t set) {
  for (unsigned char c : s) append_encoded(out, c, set);
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out += char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// UTF-8

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}


// The Encoding Standard's UTF-8 decoder (replacement mode, BOM kept): each
// maximal invalid subsequence becomes one U+FFFD.
template <typename Emit>
void decode_utf8(std::string_view in, Emit emit) {
  char32_t cp = 0;
  int needed = 0, seen = 0;
  unsigned lower_bound = 0x80, upper_bound = 0xbf;
  for (size_t i = 0; i < in.size();) {
    unsigned b = (unsigned char)in[i];
    if (needed == 0) {
      i++;
      if (b < 0x80) {
        emit(char32_t(b));
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) lower_bound = 0xa0;
        if (b == 0xed) upper_bound = 0x9f;
        needed = 2;
        cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) lower_bound = 0x90;
        if (b == 0xf4) upper_bound = 0x8f;
        needed = 3;
        cp = b & 0x7;
      } else {
        emit(char32_t(0xfffd));
      }
      continue;
    }
    if (b < lower_bound || b > upper_bound) {
      // The byte is read again as the start of what follows.
      cp = 0;
      needed = seen = 0;
      lower_bound = 0x80;
      upper_bound = 0xbf;
      emit(char32_t(0xfffd));
      continue;
    }
    i++;
    lower_bound = 0x80;
    upper_bound = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen == needed) {
      emit(cp);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) emit(char32_t(0xfffd));
}

// False also for a well-formed U+FFFD: the caller then re-encodes it, which
// changes nothing but time.
bool is_valid_utf8(std::string_view s) {
  bool ok = true;
  decode_utf8(s, [&](char32_t c) { ok &= c != 0xfffd; });
  return ok;
}

std::u32string to_code_points(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  decode_utf8(utf8, [&](char32_t c) { out += c; });
  return out;
}

std::string from_code_points(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

// ---------------------------------------------------------------------------
// Punycode (RFC 3492), on code points. Quadratic, so callers bound the label.

constexpr uint32_t kBase = 36, kTmin = 1, kTmax = 26, kSkew = 38, kDamp = 700;
constexpr uint32_t kInitialBias = 72, kInitialN = 128;
constexpr size_t kMaxPunycodeLabel = 1024;    // code points
constexpr size_t kMaxIdnaDomain = 16 * 1024;  // bytes of a host that is not all ASCII

uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first) {
  delta = first ? delta / kDamp : delta / 2;
  delta += delta / numpoints;
  uint32_t k = 0;
  while (delta > ((kBase - kTmin) * kTmax) / 2) {
    delta /= kBase - kTmin;
    k += kBase;
  }
  return k + (kBase - kTmin + 1) * delta / (delta + kSkew);
}

char punycode_digit(uint32_t d) {
  return char(d < 26 ? 'a' + d : '0' + (d - 26));
}

std::optional<std::string> punycode_encode(std::u32string_view in) {
  if (in.size() > kMaxPunycodeLabel) return std::nullopt;
  std::string out;
  for (char32_t c : in)
    if (c < 0x80) out += char(c);
  uint32_t b = (uint32_t)out.size(), h = b;
  if (b > 0) out += '-';
  uint32_t n = kInitialN, delta = 0, bias = kInitialBias;
  while (h < in.size()) {
    uint32_t m = UINT32_MAX;
    for (char32_t c : in)
      if (c >= n && c < m) m = c;
    if ((uint64_t)(m - n) * (h + 1) + delta > UINT32_MAX) return std::nullopt;
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : in) {
      if (c < n && ++delta == 0) return std::nullopt;
      if (c == n) {
        uint32_t q = delta;
        for (uint32_t k = kBase;; k += kBase) {
          uint32_t t = k <= bias ? kTmin : k >= bias + kTmax ? kTmax : k - bias;
          if (q < t) break;
          out += punycode_digit(t + (q - t) % (kBase - t));
          q = (q - t) / (kBase - t);
        }
        out += punycode_digit(q);
        bias = adapt(delta, h + 1, h == b);
        delta = 0;
        h++;
      }
    }
    delta++;
    n++;
  }
  return out;
}

std::optional<std::u32string> punycode_decode(std::string_view in) {
  if (in.size() > kMaxPunycodeLabel) return std::nullopt;
  std::u32string out;
  size_t b = in.rfind('-');
  size_t pos = 0;
  if (b != std::string_view::npos) {
    for (size_t j = 0; j < b; j++) {
      if ((unsigned char)in[j] >= 0x80) return std::nullopt;
      out += char32_t(in[j]);
    }
    pos = b + 1;
  }
  uint32_t n = kInitialN, i = 0, bias = kInitialBias;
  while (pos < in.size()) {
    uint32_t oldi = i, w = 1;
    for (uint32_t k = kBase;; k += kBase) {
      if (pos >= in.size()) return std::nullopt;
      int c = (unsigned char)in[pos++];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0' + 26;
      else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        digit = (c | 0x20) - 'a';
      else
        return std::nullopt;
      if (digit > (UINT32_MAX - i) / w) return std::nullopt;
      i += digit * w;
      uint32_t t = k <= bias ? kTmin : k >= bias + kTmax ? kTmax : k - bias;
      if (digit < t) break;
      if (w > UINT32_MAX / (kBase - t)) return std::nullopt;
      w *= kBase - t;
    }
    uint32_t len = (uint32_t)out.size() + 1;
    bias = adapt(i - oldi, len, oldi == 0);
    if (i / len > UINT32_MAX - n) return std::nullopt;
    n += i / len;
    i %= len;
    if (n < 0x80 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return std::nullopt;
    out.insert(out.begin() + i, char32_t(n));
    i++;
  }
  return out;
}

// ---------------------------------------------------------------------------
// IDNA: UTS #46 ToASCII as the URL Standard asks for it (non-transitional,
// CheckBidi, CheckJoiners, no CheckHyphens, no STD3 rules, no DNS length).
//
// libidn2 has the Unicode tables but does more than UTS #46 in its
// non-transitional mode: IDNA2008's DISALLOWED list (which refuses symbols
// such as U+2665 that UTS #46 accepts), hyphen rules, and a 63-byte label
// limit. So a label goes through libidn2 up to twice:
//  B. as is, non-transitional: its verdict is final when it accepts, or when
//     it refuses for Bidi or ContextJ reasons; otherwise it is only used to
//     know that Bidi and ContextJ are fine;
//  A. transitional (which skips the IDNA2008 tests), with placeholders for
//     what transitional processing would change (ß, ς, ZWJ, ZWNJ) and for
//     hyphens; the mapped label is read back, the placeholders are put back
//     and the label is punycode-encoded here.
// Around that: the mappings Unicode 15.1 changed are applied first
// (kMappingsSince151: libidn2 2.3.3's tables are older), and check_u_labels
// applies the domain-wide Bidi rules that libidn2, working per label, cannot.
// Known gaps: other 15.1 table changes; Bidi inside a label that libidn2
// refused for an IDNA2008 reason is checked only as far as the RTL table and
// ASCII's classes decide it; such a label holding ZWJ/ZWNJ is refused, since
// its ContextJ rule could not be checked.

int idn_lookup(const std::string& in, int flags, std::string& out) {
  uint8_t* res = nullptr;
  int rc = idn2_lookup_u8((const uint8_t*)in.c_str(), &res, flags);
  if (rc == IDN2_OK && res) out.assign((const char*)res);
  idn2_free(res);
  return rc;
}

bool is_bidi_or_joiner_error(int rc) {
  return rc == IDN2_BIDI || rc == IDN2_CONTEXTJ || rc == IDN2_CONTEXTJ_NO_RULE;
}

// The code points of libidn2's ASCII output: A-labels decoded, dots kept.
std::optional<std::u32string> decode_ascii_domain(std::string_view ascii) {
  std::u32string out;
  size_t start = 0;
  while (true) {
    size_t dot = ascii.find('.', start);
    std::string_view label =
        ascii.substr(start, dot == std::string_view::npos ? ascii.npos : dot - start);
    if (label.size() >= 4 && (label.substr(0, 4) == "xn--" || label.substr(0, 4) == "XN--")) {
      auto cps = punycode_decode(label.substr(4));
      if (!cps) return std::nullopt;
      out += *cps;
    } else {
      for (char c : label) out += char32_t((unsigned char)c);
    }
    if (dot == std::string_view::npos) break;
    out += U'.';
    start = dot + 1;
  }
  return out;
}

// Chunks of at most ~30 code points, cut only before an ASCII letter or
// digit (which never composes with what precedes it under NFC).
std::vector<std::u32string> chunks_of(const std::u32string& s) {
  std::vector<std::u32string> out(1);
  for (char32_t c : s) {
    bool cut_ok = c < 0x80 && (is_alpha((int)c) || is_digit((int)c));
    if (cut_ok && out.back().size() >= 30) out.emplace_back();
    out.back() += c;
  }
  return out;
}

// Path A (see above) for one label that libidn2 would not take as is.
std::optional<std::string> label_via_transitional(const std::u32string& cps) {
  // Placeholders: letters that are valid, map to themselves and take part
  // in no composition, absent from the label.
  static const char32_t kCandidates[] = {0x0221, 0x0234, 0x0235, 0x0236,
                                         0x0237, 0x0238, 0x0239, 0x0138};
  static const char32_t kProtected[] = {0x00df, 0x03c2, 0x200d, 0x200c};
  char32_t placeholder[4] = {};
  size_t next = 0;
  for (int k = 0; k < 4; k++) {
    while (next < std::size(kCandidates) && cps.find(kCandidates[next]) != cps.npos) next++;
    if (next == std::size(kCandidates)) return std::nullopt;
    placeholder[k] = kCandidates[next++];
  }
  // '+' stands for '-' unless the label has something that maps to '+'.
  bool swap_hyphens = true;
  for (char32_t c : cps)
    if (c == '+' || c == 0x207a || c == 0x208a || c == 0xfb29 || c == 0xfe62 || c == 0xff0b)
      swap_hyphens = false;
  std::u32string sub = cps;
  size_t counts[5] = {};
  for (char32_t& c : sub) {
    for (int k = 0; k < 4; k++) {
      if (c == kProtected[k]) {
        c = placeholder[k];
        counts[k]++;
      }
    }
    if (swap_hyphens && c == '-') {
      c = '+';
      counts[4]++;
    }
  }
  const int flags = IDN2_TRANSITIONAL | IDN2_NFC_INPUT | IDN2_NO_ALABEL_ROUNDTRIP;
  std::u32string mapped;
  std::string out;
  int rc = idn_lookup(from_code_points(sub), flags, out);
  if (rc == IDN2_OK) {
    auto m = decode_ascii_domain(out);
    if (!m) return std::nullopt;
    mapped = std::move(*m);
  } else if (rc == IDN2_PUNYCODE_BIG_OUTPUT || rc == IDN2_TOO_BIG_LABEL ||
             rc == IDN2_TOO_BIG_DOMAIN) {
    // A label longer than DNS allows: map it in pieces.
    auto pieces = chunks_of(sub);
    for (const auto& piece : pieces) {
      if (idn_lookup(from_code_points(piece), flags, out) != IDN2_OK) return std::nullopt;
      auto m = decode_ascii_domain(out);
      if (!m) return std::nullopt;
      mapped += *m;
    }
  } else {
    return std::nullopt;
  }
  size_t seen[5] = {};
  for (char32_t& c : mapped) {
    for (int k = 0; k < 4; k++) {
      if (c == placeholder[k]) {
        c = kProtected[k];
        seen[k]++;
      }
    }
    if (swap_hyphens && c == '+') {
      c = '-';
      seen[4]++;
    }
  }
  // A placeholder made by the mapping itself would be ambiguous.
  for (int k = 0; k < 5; k++)
    if (seen[k] != counts[k]) return std::nullopt;
  std::string result;
  size_t start = 0;
  while (true) {
    size_t dot = mapped.find(U'.', start);
    std::u32string_view part =
        std::u32string_view(mapped).substr(start, dot == mapped.npos ? mapped.npos : dot - start);
    bool ascii = true;
    for (char32_t c : part)
      if (c >= 0x80) ascii = false;
    if (ascii) {
      for (char32_t c : part) result += char(c);
    } else {
      auto enc = punycode_encode(part);
      if (!enc) return std::nullopt;
      result += "xn--";
      result += *enc;
    }
    if (dot == mapped.npos) break;
    result += '.';
    start = dot + 1;
  }
  return result;
}

// One label holding non-ASCII code points (valid UTF-8, no separators).
std::optional<std::string> unicode_label_to_ascii(const std::string& label) {
  std::u32string cps = to_code_points(label);
  if (cps.size() > kMaxPunycodeLabel) return std::nullopt;
  bool has_joiner = cps.find(0x200c) != cps.npos || cps.find(0x200d) != cps.npos;
  std::string out;
  int rc = idn_lookup(label, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT, out);
  if (rc == IDN2_OK) return out;
  if (is_bidi_or_joiner_error(rc)) return std::nullopt;
  if (rc == IDN2_HYPHEN_STARTEND || rc == IDN2_2HYPHEN) {
    // Hyphens stopped libidn2 before its Bidi and ContextJ tests: run them
    // without the hyphens (which Bidi allows inside a label), then apply
    // Bidi's rules on the first and last character ourselves.
    std::string core;
    for (char c : label)
      if (c != '-') core += c;
    if (!core.empty()) {
      std::string scratch;
      int rc_core = idn_lookup(core, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT, scratch);
      if (is_bidi_or_joiner_error(rc_core)) return std::nullopt;
      if (rc_core == IDN2_OK) {
        // A label ending in an L letter fails Bidi exactly when it is an RTL label.
        bool rtl =
            idn_lookup(core + "a", IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT, scratch) == IDN2_BIDI;
        if (rtl && (label.front() == '-' || label.back() == '-')) return std::nullopt;
      } else if (has_joiner) {
        return std::nullopt;
      }
    }
  } else if (has_joiner) {
    return std::nullopt;  // ContextJ could not be checked
  }
  return label_via_transitional(cps);
}

// Bidi_Class of the right-to-left code points: R and AL (kRtl), AN (kAn).
// Generated from Unicode 14.0 (Python's unicodedata); unassigned code points
// inside a range are absorbed into it (they are invalid in a domain anyway).
enum BidiKind : uint8_t { kOther = 0, kRtl = 1, kAn = 2 };
struct BidiRange {
  char32_t first, last;
  BidiKind kind;
};
const BidiRange kRtlRanges[] = {
    {0x05BE, 0x05BE, kRtl},   {0x05C0, 0x05C0, kRtl},   {0x05C3, 0x05C3, kRtl},
    {0x05C6, 0x05C6, kRtl},   {0x05D0, 0x05F4, kRtl},   {0x0600, 0x0605, kAn},
    {0x0608, 0x0608, kRtl},   {0x060B, 0x060B, kRtl},   {0x060D, 0x060D, kRtl},
    {0x061B, 0x064A, kRtl},   {0x0660, 0x0669, kAn},    {0x066B, 0x066C, kAn},
    {0x066D, 0x066F, kRtl},   {0x0671, 0x06D5, kRtl},   {0x06DD, 0x06DD, kAn},
    {0x06E5, 0x06E6, kRtl},   {0x06EE, 0x06EF, kRtl},   {0x06FA, 0x0710, kRtl},
    {0x0712, 0x072F, kRtl},   {0x074D, 0x07A5, kRtl},   {0x07B1, 0x07EA, kRtl},
    {0x07F4, 0x07F5, kRtl},   {0x07FA, 0x07FA, kRtl},   {0x07FE, 0x0815, kRtl},
    {0x081A, 0x081A, kRtl},   {0x0824, 0x0824, kRtl},   {0x0828, 0x0828, kRtl},
    {0x0830, 0x0858, kRtl},   {0x085E, 0x088E, kRtl},   {0x0890, 0x0891, kAn},
    {0x08A0, 0x08C9, kRtl},   {0x08E2, 0x08E2, kAn},    {0x200F, 0x200F, kRtl},
    {0xFB1D, 0xFB1D, kRtl},   {0xFB1F, 0xFB28, kRtl},   {0xFB2A, 0xFD3D, kRtl},
    {0xFD50, 0xFDC7, kRtl},   {0xFDF0, 0xFDFC, kRtl},   {0xFE70, 0xFEFC, kRtl},
    {0x10800, 0x1091B, kRtl}, {0x10920, 0x10A00, kRtl}, {0x10A10, 0x10A35, kRtl},
    {0x10A40, 0x10AE4, kRtl}, {0x10AEB, 0x10B35, kRtl}, {0x10B40, 0x10D23, kRtl},
    {0x10D30, 0x10E7E, kAn},  {0x10E80, 0x10EA9, kRtl}, {0x10EAD, 0x10F45, kRtl},
    {0x10F51, 0x10F81, kRtl}, {0x10F86, 0x10FF6, kRtl}, {0x1E800, 0x1E8CF, kRtl},
    {0x1E900, 0x1E943, kRtl}, {0x1E94B, 0x1EEBB, kRtl},
};

BidiKind bidi_kind(char32_t c) {
  if (c < 0x0590) return kOther;
  size_t lo = 0, hi = std::size(kRtlRanges);
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < kRtlRanges[mid].first)
      hi = mid;
    else if (c > kRtlRanges[mid].last)
      lo = mid + 1;
    else
      return kRtlRanges[mid].kind;
  }
  return kOther;
}

// Checks on the U-labels of a domain that libidn2 makes per label or not at
// all: UTS #46's "must not begin with xn--" and the parts of the Bidi Rule
// (RFC 5893) that the right-to-left table above and ASCII's known classes
// (letters L, digits EN) can decide, across the whole domain.
bool check_u_labels(std::string_view ascii_domain) {
  std::vector<std::u32string> labels;
  auto decoded = decode_ascii_domain(ascii_domain);
  if (!decoded) return false;
  labels.emplace_back();
  for (char32_t c : *decoded) {
    if (c == U'.')
      labels.emplace_back();
    else
      labels.back() += c;
  }
  bool bidi_domain = false;
  for (const auto& l : labels) {
    if (l.size() >= 4 && l.compare(0, 4, U"xn--") == 0) return false;
    for (char32_t c : l)
      if (bidi_kind(c) != kOther) bidi_domain = true;
  }
  if (!bidi_domain) return true;
  auto ascii_letter = [](char32_t c) { return c < 0x80 && is_alpha((int)c); };
  auto ascii_digit = [](char32_t c) { return c < 0x80 && is_digit((int)c); };
  for (const auto& l : labels) {
    if (l.empty()) continue;
    bool rtl_label = bidi_kind(l.front()) == kRtl;
    bool has_rtl = false, has_an = false, has_en = false, has_l = false;
    for (char32_t c : l) {
      BidiKind k = bidi_kind(c);
      has_rtl |= k != kOther;
      has_an |= k == kAn;
      has_en |= ascii_digit(c);
      has_l |= ascii_letter(c);
    }
    char32_t first = l.front(), last = l.back();
    if (rtl_label) {
      if (has_l) return false;                              // rule 2
      if (last < 0x80 && !ascii_digit(last)) return false;  // rule 3
      if (has_en && has_an) return false;                   // rule 4
    } else {
      if (has_rtl) return false;                                                   // rules 1 and 5
      if (first < 0x80 && !ascii_letter(first)) return false;                      // rule 1
      if (last < 0x80 && !ascii_letter(last) && !ascii_digit(last)) return false;  // rule 6
    }
  }
  return true;
}

// UTS #46 mappings that changed in Unicode 15.1, which libidn2 2.3.3's
// older tables do not have (to == 0: the code point is ignored). Applied
// before libidn2 sees the domain; all other mappings are libidn2's.
struct Remap {
  char32_t from, to;
};
const Remap kMappingsSince151[] = {
    {0x04C0, 0x04CF}, {0x180E, 0}, {0x180F, 0},      {0x1E9E, 0x00DF},
    {0x206A, 0},      {0x206B, 0}, {0x206C, 0},      {0x206D, 0},
    {0x206E, 0},      {0x206F, 0}, {0x2183, 0x2184}, {0x2F868, 0x36FC},
};

std::string apply_newer_mappings(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  decode_utf8(utf8, [&](char32_t c) {
    for (const Remap& r : kMappingsSince151) {
      if (r.from == c) {
        if (r.to) append_utf8(out, r.to);
        return;
      }
    }
    append_utf8(out, c);
  });
  return out;
}

bool is_forbidden_host(unsigned char c) {
  switch (c) {
    case 0:
    case '\t':
    case '\n':
    case '\r':
    case ' ':
    case '#':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '^':
    case '|':
      return true;
    default:
      return false;
  }
}
bool is_forbidden_domain(unsigned char c) {
  return is_forbidden_host(c) || c < 0x20 || c == '%' || c == 0x7f;
}
constexpr std::array<bool, 256> make_forbidden_domain() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; c++) t[c] = true;
  for (unsigned char c : std::string_view(" #/:<>?@[\\]^|%\x7f")) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kForbiddenDomain = make_forbidden_domain();

// ---------------------------------------------------------------------------
// Hosts

// IPv4 number parser: the value (saturated at 2^40, which no valid address
// reaches), or nullopt.
std::optional<uint64_t> parse_ipv4_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    radix = 16;
  } else if (s.size() >= 2 && s[0] == '0') {
    s.remove_prefix(1);
    radix = 8;
  }
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (radix == 16 && is_hex(c))
      d = hex_value(c);
    else if (is_digit(c) && c - '0' < radix)
      d = c - '0';
    else
      return std::nullopt;
    v = v * radix + d;
    if (v > (1ull << 40)) v = 1ull << 40;
  }
  return v;
}

bool ends_in_a_number(std::string_view s) {
  if (!s.empty() && s.back() == '.') {
    if (s.size() == 1) return false;  // one empty part
    s.remove_suffix(1);
  }
  size_t dot = s.rfind('.');
  std::string_view last = dot == s.npos ? s : s.substr(dot + 1);
  if (!last.empty()) {
    bool digits = true;
    for (char c : last)
      if (!is_digit(c)) digits = false;
    if (digits) return true;
  }
  return parse_ipv4_number(last).has_value();
}

std::optional<uint32_t> parse_ipv4(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == s.npos ? s.npos : dot - start));
    if (dot == s.npos) break;
    start = dot + 1;
    if (parts.size() > 5) return std::nullopt;
  }
  if (parts.back().empty() && parts.size() > 1) parts.pop_back();
  if (parts.size() > 4) return std::nullopt;
  uint64_t numbers[4];
  for (size_t i = 0; i < parts.size(); i++) {
    auto n = parse_ipv4_number(parts[i]);
    if (!n) return std::nullopt;
    numbers[i] = *n;
  }
  size_t count = parts.size();
  for (size_t i = 0; i + 1 < count; i++)
    if (numbers[i] > 255) return std::nullopt;
  if (numbers[count - 1] >= (1ull << (8 * (5 - count)))) return std::nullopt;
  uint64_t ipv4 = numbers[count - 1];
  for (size_t i = 0; i + 1 < count; i++) ipv4 += numbers[i] << (8 * (3 - i));
  return (uint32_t)ipv4;
}

std::string serialize_ipv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::optional<std::array<uint16_t, 8>> parse_ipv6(std::string_view in) {
  std::array<uint16_t, 8> address{};
  int piece = 0, compress = -1;
  size_t p = 0, n = in.size();
  auto c_at = [&](size_t i) { return i < n ? (unsigned char)in[i] : -1; };
  if (c_at(p) == ':') {
    if (c_at(p + 1) != ':') return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (c_at(p) != -1) {
    if (piece == 8) return std::nullopt;
    if (c_at(p) == ':') {
      if (compress != -1) return std::nullopt;
      p++;
      compress = ++piece;
      continue;
    }
    unsigned value = 0, length = 0;
    while (length < 4 && is_hex(c_at(p))) {
      value = value * 16 + hex_value(c_at(p));
      p++;
      length++;
    }
    if (c_at(p) == '.') {
      if (length == 0) return std::nullopt;
      p -= length;
      if (piece > 6) return std::nullopt;
      int numbers_seen = 0;
      while (c_at(p) != -1) {
        int ipv4_piece = -1;
        if (numbers_seen > 0) {
          if (c_at(p) == '.' && numbers_seen < 4)
            p++;
          else
            return std::nullopt;
        }
        if (!is_digit(c_at(p))) return std::nullopt;
        while (is_digit(c_at(p))) {
          int number = c_at(p) - '0';
          if (ipv4_piece == -1)
            ipv4_piece = number;
          else if (ipv4_piece == 0)
            return std::nullopt;
          else
            ipv4_piece = ipv4_piece * 10 + number;
          if (ipv4_piece > 255) return std::nullopt;
          p++;
        }
        address[piece] = uint16_t(address[piece] * 0x100 + ipv4_piece);
        numbers_seen++;
        if (numbers_seen == 2 || numbers_seen == 4) piece++;
      }
      if (numbers_seen != 4) return std::nullopt;
      break;
    } else if (c_at(p) == ':') {
      p++;
      if (c_at(p) == -1) return std::nullopt;
    } else if (c_at(p) != -1) {
      return std::nullopt;
    }
    address[piece] = uint16_t(value);
    piece++;
  }
  if (compress != -1) {
    int swaps = piece - compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(address[piece], address[compress + swaps - 1]);
      piece--;
      swaps--;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  return address;
}

std::string serialize_ipv6(const std::array<uint16_t, 8>& a) {
  // The first longest run of two or more zero pieces is compressed.
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (a[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && a[j] == 0) j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out = "[";
  static const char kHexLower[] = "0123456789abcdef";
  bool ignore0 = false;
  for (int i = 0; i < 8; i++) {
    if (ignore0 && a[i] == 0) continue;
    ignore0 = false;
    if (i == best) {
      out += i == 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      int d = (a[i] >> shift) & 15;
      if (d || started || shift == 0) {
        out += kHexLower[d];
        started = true;
      }
    }
    if (i != 7) out += ':';
  }
  out += ']';
  return out;
}

std::optional<std::string> parse_opaque_host(std::string_view in) {
  for (unsigned char c : in)
    if (is_forbidden_host(c)) return std::nullopt;
  std::string out;
  append_encoded(out, in, kC0Set);
  return out;
}

// The host parser; the result is already serialized.
std::optional<std::string> parse_host(std::string_view in, bool is_opaque) {
  if (!in.empty() && in[0] == '[') {
    if (in.back() != ']' || in.size() < 2) return std::nullopt;
    auto a = parse_ipv6(in.substr(1, in.size() - 2));
    if (!a) return std::nullopt;
    return serialize_ipv6(*a);
  }
  if (is_opaque) return parse_opaque_host(in);
  std::optional<std::string> ascii;
  if (in.find('%') == in.npos && is_ascii(in)) {
    ascii = domain_to_ascii(in);
  } else {
    std::string decoded = percent_decode(in);
    ascii = domain_to_ascii(is_valid_utf8(decoded) ? decoded : to_valid_utf8(decoded));
  }
  if (!ascii) return std::nullopt;
  if (ends_in_a_number(*ascii)) {
    auto v4 = parse_ipv4(*ascii);
    if (!v4) return std::nullopt;
    return serialize_ipv4(*v4);
  }
  return ascii;
}

// ---------------------------------------------------------------------------
// Schemes and paths

// -2: not special; -1: special without a default port (file); else the port.
int special_port(std::string_view scheme) {
  switch (scheme.size()) {
    case 2:
      return scheme == "ws" ? 80 : -2;
    case 3:
      return scheme == "ftp" ? 21 : scheme == "wss" ? 443 : -2;
    case 4:
      return scheme == "http" ? 80 : scheme == "file" ? -1 : -2;
    case 5:
      return scheme == "https" ? 443 : -2;
    default:
      return -2;
  }
}
bool is_special(std::string_view scheme) {
  return special_port(scheme) != -2;
}

bool is_windows_drive_letter(std::string_view s) {
  return s.size() == 2 && is_alpha(s[0]) && (s[1] == ':' || s[1] == '|');
}
bool is_normalized_windows_drive_letter(std::string_view s) {
  return s.size() == 2 && is_alpha(s[0]) && s[1] == ':';
}
bool starts_with_windows_drive_letter(std::string_view s) {
  return s.size() >= 2 && is_windows_drive_letter(s.substr(0, 2)) &&
         (s.size() == 2 || s[2] == '/' || s[2] == '\\' || s[2] == '?' || s[2] == '#');
}

bool is_single_dot(std::string_view s) {
  return s == "." || (s.size() == 3 && s[0] == '%' && s[1] == '2' && (s[2] | 0x20) == 'e');
}
bool is_double_dot(std::string_view s) {
  auto dot_at = [&](size_t& i) {
    if (i < s.size() && s[i] == '.') {
      i++;
      return true;
    }
    if (i + 2 < s.size() && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e') {
      i += 3;
      return true;
    }
    return false;
  };
  size_t i = 0;
  return dot_at(i) && dot_at(i) && i == s.size();
}

void shorten_path(Url& u) {
  if (u.scheme == "file" && u.path.size() == 1 && is_normalized_windows_drive_letter(u.path[0]))
    return;
  if (!u.path.empty()) u.path.pop_back();
}

bool includes_credentials(const Url& u) {
  return !u.username.empty() || !u.password.empty();
}
bool cannot_have_credentials_or_port(const Url& u) {
  return !u.host || u.host->empty() || u.scheme == "file";
}

// ---------------------------------------------------------------------------
// The basic URL parser

enum class State {
  scheme_start,
  scheme,
  no_scheme,
  special_relative_or_authority,
  path_or_authority,
  relative,
  relative_slash,
  special_authority_slashes,
  special_authority_ignore_slashes,
  authority,
  host,
  hostname,
  port,
  file,
  file_slash,
  file_host,
  path_start,
  path,
  opaque_path,
  query,
  fragment,
  none,
};

constexpr int kEof = -1;

// Copies the run of characters from `from` on that need no encoding in
// `set` and end no state ('/', '\\'; '?' and '#' are in every set used
// here, '%' passes as the standard says); returns its length.
ptrdiff_t copy_plain_run(std::string_view in, ptrdiff_t from, uint8_t set, std::string& out) {
  ptrdiff_t q = from, n = (ptrdiff_t)in.size();
  while (q < n) {
    unsigned char d = in[q];
    if (in_set(d, set) || d == '/' || d == '\\' || d == '?' || d == '#') break;
    q++;
  }
  out.append(in.data() + from, q - from);
  return q - from;
}

// Runs the state machine over `raw` into `url`. With a state override (the
// setters) the URL is changed in place as the standard says. Returns false
// for failure; a plain return of the standard (setters only) is true.
bool basic_parse(std::string_view raw, const Url* base, Url& url, State override_state) {
  const bool has_override = override_state != State::none;
  std::string_view in = raw;
  if (!has_override) {
    while (!in.empty() && (unsigned char)in.front() <= 0x20) in.remove_prefix(1);
    while (!in.empty() && (unsigned char)in.back() <= 0x20) in.remove_suffix(1);
  }
  std::string cleaned;
  bool has_tab_or_newline = false;
  for (char c : in) has_tab_or_newline |= c == '\t' || c == '\n' || c == '\r';
  if (has_tab_or_newline) {
    cleaned.reserve(in.size());
    for (char c : in)
      if (c != '\t' && c != '\n' && c != '\r') cleaned += c;
    in = cleaned;
  }
  State state = has_override ? override_state : State::scheme_start;
  std::string buffer;
  bool at_sign_seen = false, inside_brackets = false, password_token_seen = false;
  bool special = is_special(url.scheme);
  const ptrdiff_t n = (ptrdiff_t)in.size();
  auto remaining_starts = [&](ptrdiff_t p, char ch) { return p + 1 < n && in[p + 1] == ch; };

  for (ptrdiff_t p = 0;; p++) {
    const int c = p < n ? (unsigned char)in[p] : kEof;
    switch (state) {
      case State::scheme_start:
        if (is_alpha(c)) {
          buffer += lower(char(c));
          state = State::scheme;
        } else if (!has_override) {
          state = State::no_scheme;
          p--;
        } else {
          return false;
        }
        break;

      case State::scheme:
        if (c != kEof && (is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) {
          buffer += lower(char(c));
        } else if (c == ':') {
          if (has_override) {
            bool buffer_special = is_special(buffer);
            if (special != buffer_special) return true;
            if ((includes_credentials(url) || url.port != -1) && buffer == "file") return true;
            if (url.scheme == "file" && url.host && url.host->empty()) return true;
          }
          url.scheme = buffer;
          special = is_special(url.scheme);
          if (has_override) {
            if (url.port != -1 && url.port == special_port(url.scheme)) url.port = -1;
            return true;
          }
          buffer.clear();
          if (url.scheme == "file") {
            state = State::file;
          } else if (special && base && base->scheme == url.scheme) {
            state = State::special_relative_or_authority;
          } else if (special) {
            state = State::special_authority_slashes;
          } else if (remaining_starts(p, '/')) {
            state = State::path_or_authority;
            p++;
          } else {
            url.opaque = true;
            url.opaque_path.clear();
            state = State::opaque_path;
          }
        } else if (!has_override) {
          buffer.clear();
          state = State::no_scheme;
          p = -1;
        } else {
          return false;
        }
        break;

      case State::no_scheme:
        if (!base || (base->opaque && c != '#')) return false;
        if (base->opaque && c == '#') {
          url.scheme = base->scheme;
          special = is_special(url.scheme);
          url.opaque = true;
          url.opaque_path = base->opaque_path;
          url.query = base->query;
          url.fragment = "";
          state = State::fragment;
        } else if (base->scheme != "file") {
          state = State::relative;
          p--;
        } else {
          state = State::file;
          p--;
        }
        break;

      case State::special_relative_or_authority:
        if (c == '/' && remaining_starts(p, '/')) {
          state = State::special_authority_ignore_slashes;
          p++;
        } else {
          state = State::relative;
          p--;
        }
        break;

      case State::path_or_authority:
        if (c == '/') {
          state = State::authority;
        } else {
          state = State::path;
          p--;
        }
        break;

      case State::relative:
        url.scheme = base->scheme;
        special = is_special(url.scheme);
        if (c == '/' || (special && c == '\\')) {
          state = State::relative_slash;
        } else {
          url.username = base->username;
          url.password = base->password;
          url.host = base->host;
          url.port = base->port;
          url.path = base->path;
          url.query = base->query;
          if (c == '?') {
            url.query = "";
            state = State::query;
          } else if (c == '#') {
            url.fragment = "";
            state = State::fragment;
          } else if (c != kEof) {
            url.query.reset();
            shorten_path(url);
            state = State::path;
            p--;
          }
        }
        break;

      case State::relative_slash:
        if (special && (c == '/' || c == '\\')) {
          state = State::special_authority_ignore_slashes;
        } else if (c == '/') {
          state = State::authority;
        } else {
          url.username = base->username;
          url.password = base->password;
          url.host = base->host;
          url.port = base->port;
          state = State::path;
          p--;
        }
        break;

      case State::special_authority_slashes:
        if (c == '/' && remaining_starts(p, '/')) {
          state = State::special_authority_ignore_slashes;
          p++;
        } else {
          state = State::special_authority_ignore_slashes;
          p--;
        }
        break;

      case State::special_authority_ignore_slashes:
        if (c != '/' && c != '\\') {
          state = State::authority;
          p--;
        }
        break;

      case State::authority:
        if (buffer.empty() && !at_sign_seen) {
          // Without an '@' before the authority ends, all of it is the host:
          // go there at once rather than buffer it and read it again.
          ptrdiff_t q = p;
          while (q < n && in[q] != '@' && in[q] != '/' && in[q] != '?' && in[q] != '#' &&
                 !(special && in[q] == '\\'))
            q++;
          if (q == n || in[q] != '@') {
            state = State::host;
            p--;
            break;
          }
        }
        if (c == '@') {
          if (at_sign_seen) buffer.insert(0, "%40");
          at_sign_seen = true;
          for (unsigned char b : buffer) {
            if (b == ':' && !password_token_seen) {
              password_token_seen = true;
              continue;
            }
            append_encoded(password_token_seen ? url.password : url.username, b, kUserinfoSet);
          }
          buffer.clear();
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (special && c == '\\')) {
          if (at_sign_seen && buffer.empty()) return false;
          p -= (ptrdiff_t)buffer.size() + 1;
          buffer.clear();
          state = State::host;
        } else {
          buffer += char(c);
        }
        break;

      case State::host:
      case State::hostname:
        if (has_override && url.scheme == "file") {
          p--;
          state = State::file_host;
        } else if (c == ':' && !inside_brackets) {
          if (buffer.empty()) return false;
          if (override_state == State::hostname) return false;
          auto h = parse_host(buffer, !special);
          if (!h) return false;
          url.host = std::move(*h);
          buffer.clear();
          state = State::port;
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (special && c == '\\')) {
          p--;
          if (special && buffer.empty()) return false;
          if (has_override && buffer.empty() && (includes_credentials(url) || url.port != -1))
            return false;
          auto h = parse_host(buffer, !special);
          if (!h) return false;
          url.host = std::move(*h);
          buffer.clear();
          state = State::path_start;
          if (has_override) return true;
        } else {
          if (c == '[') inside_brackets = true;
          if (c == ']') inside_brackets = false;
          buffer += char(c);
        }
        break;

      case State::port:
        if (is_digit(c)) {
          buffer += char(c);
        } else if (c == kEof || c == '/' || c == '?' || c == '#' || (special && c == '\\') ||
                   has_override) {
          if (!buffer.empty()) {
            uint32_t port = 0;
            for (char d : buffer) {
              port = port * 10 + (d - '0');
              if (port > 65535) return false;
            }
            url.port = (int)port == special_port(url.scheme) ? -1 : (int32_t)port;
            buffer.clear();
            if (has_override) return true;
          }
          if (has_override) return false;
          state = State::path_start;
          p--;
        } else {
          return false;
        }
        break;

      case State::file:
        url.scheme = "file";
        special = true;
        url.host = "";
        if (c == '/' || c == '\\') {
          state = State::file_slash;
        } else if (base && base->scheme == "file") {
          url.host = base->host;
          url.path = base->path;
          url.query = base->query;
          if (c == '?') {
            url.query = "";
            state = State::query;
          } else if (c == '#') {
            url.fragment = "";
            state = State::fragment;
          } else if (c != kEof) {
            url.query.reset();
            if (!starts_with_windows_drive_letter(in.substr(p)))
              shorten_path(url);
            else
              url.path.clear();
            state = State::path;
            p--;
          }
        } else {
          state = State::path;
          p--;
        }
        break;

      case State::file_slash:
        if (c == '/' || c == '\\') {
          state = State::file_host;
        } else {
          if (base && base->scheme == "file") {
            url.host = base->host;
            if (!starts_with_windows_drive_letter(p < n ? in.substr(p) : std::string_view()) &&
                !base->path.empty() && is_normalized_windows_drive_letter(base->path[0]))
              url.path.push_back(base->path[0]);
          }
          state = State::path;
          p--;
        }
        break;

      case State::file_host:
        if (c == kEof || c == '/' || c == '\\' || c == '?' || c == '#') {
          p--;
          if (!has_override && is_windows_drive_letter(buffer)) {
            // The drive letter quirk: the buffer goes on into the path.
            state = State::path;
          } else if (buffer.empty()) {
            url.host = "";
            if (has_override) return true;
            state = State::path_start;
          } else {
            auto h = parse_host(buffer, !special);
            if (!h) return false;
            if (*h == "localhost") h->clear();
            url.host = std::move(*h);
            if (has_override) return true;
            buffer.clear();
            state = State::path_start;
          }
        } else {
          buffer += char(c);
        }
        break;

      case State::path_start:
        if (special) {
          state = State::path;
          if (c != '/' && c != '\\') p--;
        } else if (!has_override && c == '?') {
          url.query = "";
          state = State::query;
        } else if (!has_override && c == '#') {
          url.fragment = "";
          state = State::fragment;
        } else if (c != kEof) {
          state = State::path;
          if (c != '/') p--;
        } else if (has_override && !url.host) {
          url.path.push_back("");
        }
        break;

      case State::path:
        if (c == kEof || c == '/' || (special && c == '\\') ||
            (!has_override && (c == '?' || c == '#'))) {
          bool slash = c == '/' || (special && c == '\\');
          if (is_double_dot(buffer)) {
            shorten_path(url);
            if (!slash) url.path.push_back("");
          } else if (is_single_dot(buffer) && !slash) {
            url.path.push_back("");
          } else if (!is_single_dot(buffer)) {
            if (url.scheme == "file" && url.path.empty() && is_windows_drive_letter(buffer))
              buffer[1] = ':';
            url.path.push_back(buffer);
          }
          buffer.clear();
          if (c == '?') {
            url.query = "";
            state = State::query;
          } else if (c == '#') {
            url.fragment = "";
            state = State::fragment;
          }
        } else {
          append_encoded(buffer, (unsigned char)c, kPathSet);
          p += copy_plain_run(in, p + 1, kPathSet, buffer);
        }
        break;

      case State::opaque_path:
        if (c == '?') {
          url.query = "";
          state = State::query;
        } else if (c == '#') {
          url.fragment = "";
          state = State::fragment;
        } else if (c == ' ') {
          // A space just before the query or fragment is encoded, so that
          // removing those later cannot leave a trailing space.
          bool before = remaining_starts(p, '?') || remaining_starts(p, '#');
          url.opaque_path += before ? "%20" : " ";
        } else if (c != kEof) {
          append_encoded(url.opaque_path, (unsigned char)c, kC0Set);
        }
        break;

      case State::query:
        if ((!has_override && c == '#') || c == kEof) {
          if (c == '#') {
            url.fragment = "";
            state = State::fragment;
          }
        } else {
          if (!url.query) url.query = "";
          uint8_t set = special ? kSpecialQuerySet : kQuerySet;
          append_encoded(*url.query, (unsigned char)c, set);
          p += copy_plain_run(in, p + 1, set, *url.query);
        }
        break;

      case State::fragment:
        if (c != kEof) {
          if (!url.fragment) url.fragment = "";
          append_encoded(*url.fragment, (unsigned char)c, kFragmentSet);
          p += copy_plain_run(in, p + 1, kFragmentSet, *url.fragment);
        }
        break;

      case State::none:
        return false;
    }
    if (p >= n) break;
  }
  return true;
}

std::string_view usable_input(std::string_view in, std::string& storage) {
  if (is_ascii(in) || is_valid_utf8(in)) return in;
  storage = to_valid_utf8(in);
  return storage;
}

void append_path(const Url& u, std::string& out) {
  if (u.opaque) {
    out += u.opaque_path;
    return;
  }
  out += u.path.serialized();
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API

std::string to_valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  decode_utf8(in, [&](char32_t c) { append_utf8(out, c); });
  return out;
}

std::optional<std::string> domain_to_ascii(std::string_view domain) {
  std::string result;
  // libidn2 takes C strings; NUL is a forbidden code point anyway.
  if (domain.find('\0') != domain.npos) return std::nullopt;
  std::string remapped;
  if (!is_ascii(domain)) {
    // Punycode is quadratic in a label (bounded by kMaxPunycodeLabel); this
    // bounds the number of such labels, so one host costs milliseconds at
    // most. DNS allows 253 bytes; the standard sets no limit.
    if (domain.size() > kMaxIdnaDomain) return std::nullopt;
    remapped = apply_newer_mappings(domain);
    domain = remapped;
    if (domain.empty()) return std::nullopt;
  }
  if (remapped.empty()) {
    // The fast path the URL Standard allows for ASCII input (and the
    // conformance data expects for every ASCII domain): lower-casing.
    result.resize(domain.size());
    for (size_t i = 0; i < domain.size(); i++) {
      unsigned char c = domain[i];
      if (kForbiddenDomain[c]) return std::nullopt;
      result[i] = lower(char(c));
    }
    return result;
  } else {
    // Labels are split at the four dots UTS #46 maps to U+002E.
    std::string label;
    auto finish_label = [&]() -> bool {
      if (label.empty()) return true;
      if (is_ascii(label)) {
        for (char& c : label) c = lower(c);
        if (label.size() >= 4 && label.compare(0, 4, "xn--") == 0) {
          // An A-label must decode to a valid U-label that encodes back to it.
          auto u = punycode_decode(std::string_view(label).substr(4));
          if (!u || u->empty()) return false;
          bool all_ascii = true;
          for (char32_t cp : *u)
            if (cp >= 0x80) all_ascii = false;
          if (all_ascii) return false;
          auto again = unicode_label_to_ascii(from_code_points(*u));
          if (!again || *again != label) return false;
        }
        result += label;
      } else {
        auto a = unicode_label_to_ascii(label);
        if (!a) return false;
        result += *a;
      }
      label.clear();
      return true;
    };
    for (size_t i = 0; i < domain.size();) {
      unsigned char c = domain[i];
      size_t sep = 0;
      if (c == '.')
        sep = 1;
      else if (domain.compare(i, 3, "\xe3\x80\x82") == 0 ||
               domain.compare(i, 3, "\xef\xbc\x8e") == 0 ||
               domain.compare(i, 3, "\xef\xbd\xa1") == 0)
        sep = 3;
      if (sep) {
        if (!finish_label()) return std::nullopt;
        result += '.';
        i += sep;
      } else {
        label += char(c);
        i++;
      }
    }
    if (!finish_label()) return std::nullopt;
    if (!check_u_labels(result)) return std::nullopt;
  }
  if (result.empty()) return std::nullopt;
  for (unsigned char c : result)
    if (c >= 0x80 || is_forbidden_domain(c)) return std::nullopt;
  return result;
}

std::optional<Url> parse(std::string_view input, const Url* base) {
  if (input.size() > kMaxInput) return std::nullopt;
  std::string storage;
  std::string_view in = usable_input(input, storage);
  Url url;
  if (!basic_parse(in, base, url, State::none)) return std::nullopt;
  return url;
}

HrefParts href_parts(const Url& u) {
  HrefParts r;
  std::string& out = r.href;
  auto span_from = [&out](size_t begin) { return Span{begin, out.size() - begin}; };
  out.reserve(u.scheme.size() + 32);
  out += u.scheme;
  out += ':';
  r.protocol = span_from(0);
  if (u.host) {
    out += "//";
    if (includes_credentials(u)) {
      size_t at = out.size();
      out += u.username;
      r.username = span_from(at);
      if (!u.password.empty()) {
        out += ':';
        at = out.size();
        out += u.password;
        r.password = span_from(at);
      }
      out += '@';
    }
    size_t at = out.size();
    out += *u.host;
    r.hostname = span_from(at);
    if (u.port != -1) {
      out += ':';
      at = out.size();
      out += std::to_string(u.port);
      r.port = span_from(at);
    }
  } else if (!u.opaque && u.path.size() > 1 && u.path[0].empty()) {
    out += "/.";
  }
  size_t at = out.size();
  append_path(u, out);
  r.pathname = span_from(at);
  if (u.query) {
    at = out.size();
    out += '?';
    out += *u.query;
    if (!u.query->empty()) r.search = span_from(at);
  }
  if (u.fragment) {
    at = out.size();
    out += '#';
    out += *u.fragment;
    if (!u.fragment->empty()) r.hash = span_from(at);
  }
  return r;
}

std::string href(const Url& u) {
  return href_parts(u).href;
}

std::string origin(const Url& u) {
  if (u.scheme == "blob") {
    auto inner = parse(pathname(u));
    if (inner && (inner->scheme == "http" || inner->scheme == "https")) return origin(*inner);
    return "null";
  }
  int sp = special_port(u.scheme);
  if (sp == -2 || u.scheme == "file") return "null";
  std::string out = u.scheme + "://" + host(u);
  return out;
}

std::string protocol(const Url& u) {
  return u.scheme + ":";
}

std::string host(const Url& u) {
  if (!u.host) return "";
  if (u.port == -1) return *u.host;
  return *u.host + ":" + std::to_string(u.port);
}

std::string hostname(const Url& u) {
  return u.host ? *u.host : std::string();
}

std::string port(const Url& u) {
  return u.port == -1 ? std::string() : std::to_string(u.port);
}

std::string pathname(const Url& u) {
  std::string out;
  append_path(u, out);
  return out;
}

std::string search(const Url& u) {
  if (!u.query || u.query->empty()) return "";
  return "?" + *u.query;
}

std::string hash(const Url& u) {
  if (!u.fragment || u.fragment->empty()) return "";
  return "#" + *u.fragment;
}

std::optional<Setter> setter_named(std::string_view name) {
  static const std::pair<std::string_view, Setter> kNames[] = {
      {"protocol", Setter::protocol}, {"username", Setter::username},
      {"password", Setter::password}, {"host", Setter::host},
      {"hostname", Setter::hostname}, {"port", Setter::port},
      {"pathname", Setter::pathname}, {"search", Setter::search},
      {"hash", Setter::hash},
  };
  for (const auto& [n, s] : kNames)
    if (n == name) return s;
  return std::nullopt;
}

bool set(Url& u, Setter which, std::string_view raw) {
  if (raw.size() > kMaxInput) return true;
  std::string storage;
  std::string_view value = usable_input(raw, storage);
  switch (which) {
    case Setter::protocol: {
      std::string v(value);
      v += ':';
      basic_parse(v, nullptr, u, State::scheme_start);
      break;
    }
    case Setter::username:
      if (cannot_have_credentials_or_port(u)) break;
      u.username.clear();
      append_encoded(u.username, value, kUserinfoSet);
      break;
    case Setter::password:
      if (cannot_have_credentials_or_port(u)) break;
      u.password.clear();
      append_encoded(u.password, value, kUserinfoSet);
      break;
    case Setter::host:
      if (u.opaque) break;
      basic_parse(value, nullptr, u, State::host);
      break;
    case Setter::hostname:
      if (u.opaque) break;
      basic_parse(value, nullptr, u, State::hostname);
      break;
    case Setter::port:
      if (cannot_have_credentials_or_port(u)) break;
      if (value.empty())
        u.port = -1;
      else
        basic_parse(value, nullptr, u, State::port);
      break;
    case Setter::pathname:
      if (u.opaque) break;
      u.path.clear();
      basic_parse(value, nullptr, u, State::path_start);
      break;
    case Setter::search:
      if (value.empty()) {
        u.query.reset();
        break;
      }
      if (value[0] == '?') value.remove_prefix(1);
      u.query = "";
      basic_parse(value, nullptr, u, State::query);
      break;
    case Setter::hash:
      if (value.empty()) {
        u.fragment.reset();
        break;
      }
      if (value[0] == '#') value.remove_prefix(1);
      u.fragment = "";
      basic_parse(value, nullptr, u, State::fragment);
      break;
  }
  return true;
}

FormList form_parse(std::string_view input) {
  FormList out;
  auto decode = [](std::string_view s) {
    std::string bytes;
    bytes.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
      char c = s[i];
      if (c == '+') {
        bytes += ' ';
      } else if (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
        bytes += char(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
        i += 2;
      } else {
        bytes += c;
      }
    }
    return is_ascii(bytes) ? bytes : to_valid_utf8(bytes);
  };
  size_t start = 0;
  while (start <= input.size()) {
    size_t amp = input.find('&', start);
    std::string_view seq = input.substr(start, amp == input.npos ? input.npos : amp - start);
    if (!seq.empty()) {
      size_t eq = seq.find('=');
      std::string_view name = eq == seq.npos ? seq : seq.substr(0, eq);
      std::string_view value = eq == seq.npos ? std::string_view() : seq.substr(eq + 1);
      out.emplace_back(decode(name), decode(value));
    }
    if (amp == input.npos) break;
    start = amp + 1;
  }
  return out;
}

void form_encode(std::string_view in, std::string& out) {
  for (unsigned char c : in) {
    if (c == ' ')
      out += '+';
    else
      append_encoded(out, c, kFormSet);
  }
}

std::string form_serialize(const FormList& list) {
  std::string out;
  bool first = true;
  for (const auto& [name, value] : list) {
    if (!first) out += '&';
    first = false;
    form_encode(name, out);
    out += '=';
    form_encode(value, out);
  }
  return out;
}

}  // namespace wfp::url
