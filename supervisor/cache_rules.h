// The Cache API's rules, as Workers users know them
// (shared/notes/workers-semantics.md, "Cache API"): what put() refuses,
// what it silently skips, how long an entry stays fresh, and how match()
// answers a conditional or ranged request from a stored entry. Pure
// functions, no I/O: the supervisor calls them around the cache store.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "ipc/wire.h"

namespace wfp::cache {

// What put(request, response) does with a response.
struct PutDecision {
  enum Kind { store, skip, reject } kind = store;
  std::string error;       // reject: the TypeError message, Cloudflare's words
  int64_t ttl_seconds = 0; // store: freshness lifetime from now
};

// `method`: the request's; `status` and `headers`: the response's. `now`:
// Unix seconds (for Expires). Rules, in order: non-GET → reject "Cannot
// cache response to non-GET request."; 206 → reject "Cannot cache response
// to a range request (206 Partial Content)."; Vary: * → reject "Cannot
// cache response with 'Vary: *' header."; 304 → skip; Set-Cookie without
// Cache-Control private=Set-Cookie → skip; Cache-Control no-store or
// private (bare) → skip; freshness s-maxage, else max-age, else Expires
// (minus Date or now), else by status: 200, 203?, 206, 301 → 7200 s; 302,
// 303 → 1200 s; 404, 410 → 180 s; anything else → skip; a freshness ≤ 0 →
// skip.
PutDecision decide_put(const std::string& method, int status, const HeaderList& headers, int64_t now);

// A stored entry as match() sees it.
struct Entry {
  int status = 200;
  HeaderList headers;
  std::string body;
};

// The answer match() gives for a request with `method` and `headers`
// (If-None-Match, If-Modified-Since, Range) from a fresh stored entry.
struct MatchAnswer {
  int status = 200;
  HeaderList headers;
  std::string body;
};
// HEAD → the entry's headers without a body; If-None-Match matching the
// entry's ETag (weak comparison, "*" matches) → 304; else If-Modified-Since
// at or after Last-Modified → 304; Range: bytes=a-b / a- / -n (one range)
// satisfiable → 206 with Content-Range and the slice; unsatisfiable → 416
// with Content-Range: bytes */LEN; otherwise the entry as stored. A 304
// keeps ETag, Last-Modified, Cache-Control, Expires, Vary, Date.
MatchAnswer answer_match(const std::string& method, const HeaderList& request_headers, const Entry& entry);

// Cache keys: the absolute URL without its fragment; nullopt when the URL
// is not an absolute http(s) URL.
std::optional<std::string> cache_key(const std::string& url);

// RFC 7231 IMF-fixdate (and the two obsolete forms) → Unix seconds.
std::optional<int64_t> parse_http_date(const std::string& text);

}  // namespace wfp::cache
