// The Cache API's rules (supervisor/cache_rules.h): put()'s verdict on a
// response and its freshness, match()'s answer to a conditional or ranged
// request, cache keys and HTTP dates. Runs in the supervisor; every header
// read here was written by tenant code (the response a worker put, the
// request it matches with) and is hostile: nothing here throws on bad
// input, numbers saturate instead of overflowing, and a malformed field
// counts as absent unless that would store or serve more than the sender
// allowed (then it counts as the stricter reading).
#include "supervisor/cache_rules.h"

#include <algorithm>
#include <ctime>
#include <string_view>
#include <vector>

#include "sandbox/url.h"
#include "supervisor/text.h"

namespace wfp::cache {
namespace {

// --- header lists -------------------------------------------------------
// Names are matched case-insensitively: HeaderList keeps them as sent.

std::vector<std::string_view> header_values(const HeaderList& headers, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [n, v] : headers)
    if (ascii_iequals(n, name)) out.push_back(v);
  return out;
}

// RFC 9111 §4.2.1: with several Expires (or Date, ETag, …) lines a cache may
// use the first; so do we, everywhere a field is a single value.
std::optional<std::string_view> first_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers)
    if (ascii_iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

bool has_header(const HeaderList& headers, std::string_view name) {
  return first_header(headers, name).has_value();
}

void remove_header(HeaderList& headers, std::string_view name) {
  std::erase_if(headers, [&](const auto& h) { return ascii_iequals(h.first, name); });
}

void set_header(HeaderList& headers, std::string_view name, std::string value) {
  remove_header(headers, name);
  headers.emplace_back(std::string(name), std::move(value));
}

// Splits a comma-separated list (RFC 9110 §5.6.1) into trimmed, non-empty
// members. Only for lists whose members cannot contain a comma themselves.
std::vector<std::string_view> list_members(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = s.find(',');
    std::string_view m = trim_ows(s.substr(0, comma));
    if (!m.empty()) out.push_back(m);
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A run of decimal digits (nothing else, at least one) saturating at `cap`:
// a hostile "max-age=99999999999999999999" must neither overflow nor fail.
std::optional<uint64_t> parse_digits(std::string_view s, uint64_t cap) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v > (cap - unsigned(c - '0')) / 10 ? cap : v * 10 + unsigned(c - '0');
  }
  return v;
}

// --- Cache-Control (RFC 9111 §5.2) --------------------------------------

struct Directive {
  std::string name;                  // lower case
  std::optional<std::string> value;  // unquoted; nullopt when there is no "="
  bool malformed = false;            // unterminated quote, junk after the value
};

// Directives are `token [ "=" ( token / quoted-string ) ]`, separated by
// commas; a quoted value may itself hold commas (private="a, b").
void parse_cache_control(std::string_view s, std::vector<Directive>& out) {
  size_t i = 0;
  auto ows = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    while (i < s.size() && s[i] != '=' && s[i] != ',') ++i;
    Directive d;
    for (char c : trim_ows(s.substr(start, i - start))) d.name += ascii_lower(c);
    if (i < s.size() && s[i] == '=') {
      ++i;
      ows();
      std::string v;
      if (i < s.size() && s[i] == '"') {
        ++i;
        while (i < s.size() && s[i] != '"') {
          if (s[i] == '\\' && i + 1 < s.size()) ++i;  // quoted-pair
          v += s[i++];
        }
        if (i < s.size())
          ++i;
        else
          d.malformed = true;
        ows();
        if (i < s.size() && s[i] != ',') d.malformed = true;
      } else {
        size_t vs = i;
        while (i < s.size() && s[i] != ',') ++i;
        v = trim_ows(s.substr(vs, i - vs));
      }
      d.value = std::move(v);
    }
    while (i < s.size() && s[i] != ',') ++i;
    if (!d.name.empty()) out.push_back(std::move(d));
  }
}

// What put() needs from every Cache-Control line of a response together.
struct CacheControl {
  bool no_store = false;
  bool private_bare = false;        // `private` with no usable field list
  bool private_set_cookie = false;  // private=Set-Cookie (among others)
  std::optional<int64_t> s_maxage, max_age;
};

// RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31.
constexpr uint64_t kMaxDeltaSeconds = 2147483648u;

CacheControl read_cache_control(const HeaderList& headers) {
  std::vector<Directive> ds;
  for (std::string_view v : header_values(headers, "cache-control")) parse_cache_control(v, ds);
  CacheControl cc;
  for (const Directive& d : ds) {
    if (d.name == "no-store") {
      cc.no_store = true;
    } else if (d.name == "private") {
      // A field list limits `private` to those fields; one we cannot read
      // (or an empty one) is taken as bare `private`, so that a malformed
      // directive never lets a private response be stored.
      std::vector<std::string_view> fields;
      if (d.value && !d.malformed) fields = list_members(*d.value);
      if (fields.empty()) cc.private_bare = true;
      for (std::string_view f : fields)
        if (ascii_iequals(f, "set-cookie")) cc.private_set_cookie = true;
    } else if (d.name == "s-maxage" || d.name == "max-age") {
      // The first well-formed occurrence wins (RFC 9111 §4.2.1 allows the
      // first); a malformed one ("max-age=-1", "max-age=1h") is ignored.
      auto& slot = d.name == "s-maxage" ? cc.s_maxage : cc.max_age;
      if (slot || !d.value || d.malformed) continue;
      if (auto n = parse_digits(*d.value, kMaxDeltaSeconds)) slot = int64_t(*n);
    }
  }
  return cc;
}

bool has_vary_star(const HeaderList& headers) {
  for (std::string_view v : header_values(headers, "vary"))
    for (std::string_view m : list_members(v))
      if (m == "*") return true;
  return false;
}

// Cloudflare's defaults for a response without explicit freshness; 0 means
// "not cached". 206 never gets here (put() rejects it first) but is listed
// as Cloudflare lists it.
int64_t default_freshness(int status) {
  switch (status) {
    case 200:
    case 206:
    case 301:
      return 7200;
    case 302:
    case 303:
      return 1200;
    case 404:
    case 410:
      return 180;
    default:
      return 0;
  }
}

PutDecision reject(const char* message) {
  PutDecision d;
  d.kind = PutDecision::reject;
  d.error = message;
  return d;
}

PutDecision skip() {
  PutDecision d;
  d.kind = PutDecision::skip;
  return d;
}

// --- entity tags (RFC 9110 §8.8.3) --------------------------------------

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // between the quotes
};

struct TagList {
  bool any = false;  // "*"
  std::vector<EntityTag> tags;
};

// `1#entity-tag` or "*". The opaque part may contain commas, so this scans
// quoted strings rather than splitting. An unquoted member (servers that
// send `ETag: abc`, clients that echo it back) is taken whole as its own
// opaque part: it can only ever match the same unquoted text or "abc".
TagList parse_tag_list(std::string_view s) {
  TagList out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
    if (i >= s.size()) break;
    EntityTag t;
    if (s.substr(i, 2) == "W/") {
      t.weak = true;
      i += 2;
    }
    if (i < s.size() && s[i] == '"') {
      size_t close = s.find('"', i + 1);
      if (close == std::string_view::npos) break;  // unterminated: no more tags
      t.opaque = s.substr(i + 1, close - i - 1);
      out.tags.push_back(t);
      i = close + 1;
      while (i < s.size() && s[i] != ',') ++i;
    } else {
      size_t comma = std::min(s.find(',', i), s.size());
      std::string_view m = trim_ows(s.substr(i, comma - i));
      if (m == "*" && !t.weak)
        out.any = true;
      else if (!m.empty()) {
        t.opaque = m;
        out.tags.push_back(t);
      }
      i = comma;
    }
  }
  return out;
}

std::optional<EntityTag> entry_etag(const Entry& entry) {
  auto v = first_header(entry.headers, "etag");
  if (!v) return std::nullopt;
  TagList l = parse_tag_list(*v);
  if (l.tags.empty()) return std::nullopt;
  return l.tags.front();
}

// --- match() ------------------------------------------------------------

// The fields a 304 (RFC 9110 §15.4.5) carries over from the stored entry;
// a 416 carries the same, so that an empty body never travels with the
// entry's Content-Type or Content-Encoding.
constexpr std::string_view kValidatorFields[] = {
    "cache-control", "content-location", "date", "etag", "expires", "last-modified", "vary",
};

HeaderList validator_headers(const HeaderList& headers) {
  HeaderList out;
  for (const auto& h : headers)
    for (std::string_view keep : kValidatorFields)
      if (ascii_iequals(h.first, keep)) {
        out.push_back(h);
        break;
      }
  return out;
}

// RFC 9110 §13.1.2-3 for GET and HEAD: If-None-Match decides alone when
// present (weak comparison; "*" matches because the entry is a current
// representation); otherwise If-Modified-Since against Last-Modified.
bool not_modified(const HeaderList& request, const Entry& entry) {
  auto inm = header_values(request, "if-none-match");
  if (!inm.empty()) {
    auto etag = entry_etag(entry);
    for (std::string_view v : inm) {
      TagList l = parse_tag_list(v);
      if (l.any) return true;
      if (etag)
        for (const EntityTag& t : l.tags)
          if (t.opaque == etag->opaque) return true;
    }
    return false;
  }
  // §13.1.3: ignored unless it is exactly one valid HTTP-date.
  auto ims = header_values(request, "if-modified-since");
  if (ims.size() != 1) return false;
  auto since = parse_http_date(std::string(ims.front()));
  auto lm = first_header(entry.headers, "last-modified");
  if (!since || !lm) return false;
  auto modified = parse_http_date(std::string(*lm));
  return modified && *modified <= *since;
}

// RFC 9110 §13.1.5: a Range applies only if If-Range (when sent) still
// names this entry: an entity-tag by strong comparison, a date by exact
// equality with Last-Modified. Anything else, unreadable included, means
// "send the whole entry", never a slice of something else.
bool if_range_holds(const HeaderList& request, const Entry& entry) {
  auto ir = header_values(request, "if-range");
  if (ir.empty()) return true;
  if (ir.size() != 1) return false;
  std::string_view v = trim_ows(ir.front());
  if (v.starts_with('"') || v.starts_with("W/")) {
    TagList l = parse_tag_list(v);
    auto etag = entry_etag(entry);
    return l.tags.size() == 1 && !l.tags[0].weak && etag && !etag->weak &&
           l.tags[0].opaque == etag->opaque;
  }
  auto date = parse_http_date(std::string(v));
  auto lm = first_header(entry.headers, "last-modified");
  if (!date || !lm) return false;
  auto modified = parse_http_date(std::string(*lm));
  return modified && *modified == *date;
}

enum class RangeResult { none, partial, unsatisfiable };

// One `bytes=` range-spec (RFC 9110 §14.1.2) against a body of `len` bytes.
// `none`: no Range, a malformed one, another unit, or several ranges (we
// never build multipart/byteranges; §14.2 lets a server ignore Range).
RangeResult read_range(std::string_view value, uint64_t len, uint64_t& first, uint64_t& last) {
  value = trim_ows(value);
  size_t eq = value.find('=');
  if (eq == std::string_view::npos || !ascii_iequals(trim_ows(value.substr(0, eq)), "bytes"))
    return RangeResult::none;
  auto specs = list_members(value.substr(eq + 1));
  if (specs.size() != 1) return RangeResult::none;
  std::string_view spec = specs.front();
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeResult::none;
  constexpr uint64_t cap = UINT64_MAX;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  if (a.empty()) {  // suffix-range: the last n bytes
    auto n = parse_digits(b, cap);
    if (!n) return RangeResult::none;
    if (*n == 0 || len == 0) return RangeResult::unsatisfiable;
    first = len - std::min(*n, len);
    last = len - 1;
    return RangeResult::partial;
  }
  auto start = parse_digits(a, cap);
  std::optional<uint64_t> end;
  if (!b.empty() && !(end = parse_digits(b, cap))) return RangeResult::none;
  if (!start || (end && *end < *start)) return RangeResult::none;  // invalid spec
  if (*start >= len) return RangeResult::unsatisfiable;
  first = *start;
  last = end ? std::min(*end, len - 1) : len - 1;  // past the end: clamp
  return RangeResult::partial;
}

// Month and day names: RFC 9111 §4.2 asks caches to match dates
// case-insensitively, though the grammar spells them in one case.
constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::string_view kLongDays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (ascii_iequals(m, kMonths[i])) return i;
  return -1;
}

template <size_t N>
bool is_one_of(std::string_view s, const std::string_view (&names)[N]) {
  for (std::string_view n : names)
    if (ascii_iequals(s, n)) return true;
  return false;
}

// Exactly `n` digits.
bool fixed_digits(std::string_view s, size_t n, int& out) {
  if (s.size() != n) return false;
  out = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// "HH:MM:SS"; a second of 60 is a leap second (RFC 9110 §5.6.7).
bool parse_time_of_day(std::string_view s, std::tm& tm) {
  return s.size() == 8 && s[2] == ':' && s[5] == ':' &&
         fixed_digits(s.substr(0, 2), 2, tm.tm_hour) &&
         fixed_digits(s.substr(3, 2), 2, tm.tm_min) && fixed_digits(s.substr(6, 2), 2, tm.tm_sec) &&
         tm.tm_hour <= 23 && tm.tm_min <= 59 && tm.tm_sec <= 60;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::optional<int64_t> to_unix(int year, int month, int day, std::tm tm) {
  static constexpr int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 0 || day < 1) return std::nullopt;
  if (day > kDaysIn[month] + (month == 1 && is_leap(year))) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_isdst = 0;
  return int64_t(timegm(&tm));
}

// RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the
// most recent past year with those digits. "Now" is the system clock's: the
// rule is about the calendar, not the cache's (test-settable) clock.
int expand_two_digit_year(int yy) {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  gmtime_r(&t, &now);
  int this_year = now.tm_year + 1900;
  int year = this_year - this_year % 100 + yy;
  if (year > this_year + 50) year -= 100;
  if (year <= this_year - 50) year += 100;
  return year;
}

}  // namespace

PutDecision decide_put(const std::string& method, int status, const HeaderList& headers,
                       int64_t now) {
  // Methods arrive normalised by the Request constructor ("get" → "GET");
  // anything else, HEAD included, is refused as Cloudflare refuses it.
  if (method != "GET") return reject("Cannot cache response to non-GET request.");
  if (status == 206)
    return reject("Cannot cache response to a range request (206 Partial Content).");
  if (has_vary_star(headers)) return reject("Cannot cache response with 'Vary: *' header.");
  if (status == 304) return skip();

  CacheControl cc = read_cache_control(headers);
  // private=Set-Cookie: the response is stored and its headers, Set-Cookie
  // included, are kept as the caller has them (nothing is stripped here).
  if (has_header(headers, "set-cookie") && !cc.private_set_cookie) return skip();
  if (cc.no_store || cc.private_bare) return skip();

  int64_t ttl;
  if (cc.s_maxage) {
    ttl = *cc.s_maxage;
  } else if (cc.max_age) {
    ttl = *cc.max_age;
  } else if (auto expires = first_header(headers, "expires")) {
    // RFC 9111 §5.3: an invalid Expires ("0", "-1", garbage) is in the past.
    auto at = parse_http_date(std::string(*expires));
    if (!at) return skip();
    std::optional<int64_t> date;
    if (auto d = first_header(headers, "date")) date = parse_http_date(std::string(*d));
    ttl = *at - (date ? *date : now);
  } else {
    ttl = default_freshness(status);
  }
  if (ttl <= 0) return skip();
  PutDecision d;
  d.kind = PutDecision::store;
  d.ttl_seconds = ttl;
  return d;
}

MatchAnswer answer_match(const std::string& method, const HeaderList& request_headers,
                         const Entry& entry) {
  MatchAnswer a{entry.status, entry.headers, entry.body};
  bool get = method == "GET", head = method == "HEAD";
  // Another method reaches here only through match(…, {ignoreMethod}):
  // preconditions and ranges are defined for GET (and HEAD) only.
  if (!get && !head) return a;

  // RFC 9110 §13.2.1: preconditions apply only where the unconditional
  // answer would be a 2xx; a stored 404 is served as a 404.
  if (entry.status >= 200 && entry.status <= 299 && not_modified(request_headers, entry)) {
    a.status = 304;
    a.headers = validator_headers(entry.headers);
    a.body.clear();
    return a;
  }
  if (head) {
    a.body.clear();
    return a;
  }

  // §14.2: Range only for GET and only on a whole 200 representation.
  auto range = header_values(request_headers, "range");
  if (entry.status != 200 || range.size() != 1 || !if_range_holds(request_headers, entry)) return a;
  uint64_t len = entry.body.size(), first = 0, last = 0;
  switch (read_range(range.front(), len, first, last)) {
    case RangeResult::none:
      return a;
    case RangeResult::unsatisfiable:
      a.status = 416;
      a.headers = validator_headers(entry.headers);
      a.headers.emplace_back("Content-Range", "bytes */" + std::to_string(len));
      a.headers.emplace_back("Content-Length", "0");
      a.body.clear();
      return a;
    case RangeResult::partial:
      a.status = 206;
      set_header(a.headers, "Content-Range",
                 "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                     std::to_string(len));
      set_header(a.headers, "Content-Length", std::to_string(last - first + 1));
      a.body = entry.body.substr(first, last - first + 1);
      return a;
  }
  return a;
}

std::optional<std::string> cache_key(const std::string& url) {
  auto u = wfp::url::parse(url);
  if (!u || (u->scheme != "http" && u->scheme != "https")) return std::nullopt;
  u->fragment.reset();
  return wfp::url::href(*u);
}

std::optional<int64_t> parse_http_date(const std::string& text) {
  std::string_view s = trim_ows(text);
  std::tm tm{};
  int day = 0, year = 0;
  if (s.size() == 29 && s[3] == ',') {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if (!is_one_of(s.substr(0, 3), kDays) || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[25] != ' ' || !ascii_iequals(s.substr(26), "gmt") ||
        !fixed_digits(s.substr(5, 2), 2, day) || !fixed_digits(s.substr(12, 4), 4, year) ||
        !parse_time_of_day(s.substr(17, 8), tm))
      return std::nullopt;
    return to_unix(year, month_index(s.substr(8, 3)), day, tm);
  }
  if (size_t comma = s.find(','); comma != std::string_view::npos) {
    // rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
    std::string_view r = s.substr(comma + 1);
    int yy = 0;
    if (!is_one_of(s.substr(0, comma), kLongDays) || r.size() != 23 || r[0] != ' ' || r[3] != '-' ||
        r[7] != '-' || r[10] != ' ' || r[19] != ' ' || !ascii_iequals(r.substr(20), "gmt") ||
        !fixed_digits(r.substr(1, 2), 2, day) || !fixed_digits(r.substr(8, 2), 2, yy) ||
        !parse_time_of_day(r.substr(11, 8), tm))
      return std::nullopt;
    return to_unix(expand_two_digit_year(yy), month_index(r.substr(4, 3)), day, tm);
  }
  // asctime-date: "Sun Nov  6 08:49:37 1994" (the day is " 6" or "06")
  if (s.size() != 24 || !is_one_of(s.substr(0, 3), kDays) || s[3] != ' ' || s[7] != ' ' ||
      s[10] != ' ' || s[19] != ' ' || !parse_time_of_day(s.substr(11, 8), tm) ||
      !fixed_digits(s.substr(20, 4), 4, year))
    return std::nullopt;
  std::string_view d = s.substr(8, 2);
  if (d[0] == ' ') d.remove_prefix(1);
  if (!fixed_digits(d, d.size(), day)) return std::nullopt;
  return to_unix(year, month_index(s.substr(4, 3)), day, tm);
}

}  // namespace wfp::cache
