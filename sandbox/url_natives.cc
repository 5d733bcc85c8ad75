// Natives behind URL and URLSearchParams (url.js): parse, setters, origin,
// x-www-form-urlencoded. Runs in every heap; arguments come from tenant code
// (hostile): types are checked, sizes bounded, nothing is read past a length Duktape gave.
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "duktape.h"
#include "sandbox/duk_text.h"
#include "sandbox/natives.h"
#include "sandbox/url.h"

namespace wfp {
namespace {

// A list of name/value pairs costs about 70 bytes of C++ memory per pair
// while it is parsed or serialized, outside the heap's limit: bounded here.
constexpr size_t kMaxFormPairs = 100000;
constexpr size_t kMaxFormItems = 2 * kMaxFormPairs;  // names plus values

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

void push_utf8(duk_context* ctx, const std::string& s) {
  bool wide = false;
  for (unsigned char c : s)
    if (c >= 0xf0) wide = true;
  if (!wide) {
    duk_push_lstring(ctx, s.data(), s.size());
  } else {
    std::string js = utf8_to_js(s);
    duk_push_lstring(ctx, js.data(), js.size());
  }
}

// The string argument at `i` as raw bytes; a TypeError for anything else,
// a RangeError past the size limit. Valid while the value stays on the stack.
std::string_view require_string(duk_context* ctx, duk_idx_t i, const char* what) {
  if (!duk_is_string(ctx, i) || duk_is_symbol(ctx, i))
    duk_error(ctx, DUK_ERR_TYPE_ERROR, "%s must be a string", what);
  duk_size_t n = 0;
  const char* p = duk_get_lstring(ctx, i, &n);
  if (n > url::kMaxInput) duk_error(ctx, DUK_ERR_RANGE_ERROR, "%s is too long", what);
  return std::string_view(p, n);
}

// Into UTF-8, without a copy for the usual all-ASCII string.
std::string_view as_utf8(std::string_view js, std::string& storage) {
  if (is_ascii(js)) return js;
  storage = js_to_utf8(js);
  return storage;
}

// The components url.js caches, in its order:
// [href, protocol, username, password, hostname, port, pathname, search, hash].
// Every one is ASCII (the parser percent-encodes everything else) and a
// substring of href.
void push_components(duk_context* ctx, const url::HrefParts& p) {
  duk_push_bare_array(ctx);
  duk_push_lstring(ctx, p.href.data(), p.href.size());
  duk_put_prop_index(ctx, -2, 0);
  const url::Span* spans[8] = {&p.protocol, &p.username, &p.password, &p.hostname,
                               &p.port,     &p.pathname, &p.search,   &p.hash};
  for (duk_uarridx_t k = 0; k < 8; k++) {
    duk_push_lstring(ctx, p.href.data() + spans[k]->begin, spans[k]->size);
    duk_put_prop_index(ctx, -2, k + 1);
  }
}

// Natives convert our C++ exceptions (only std::bad_alloc is expected) into
// a JS Error after leaving the try block, so Duktape unwinds with its own
// exception type only; Duktape is never called inside the try.
#define NATIVE_BEGIN    \
  std::string wfp_err_; \
  try {
#define NATIVE_END                  \
  }                                 \
  catch (const std::exception& e) { \
    wfp_err_ = e.what();            \
  }                                 \
  if (!wfp_err_.empty()) duk_error(ctx, DUK_ERR_ERROR, "%s", wfp_err_.c_str());

// urlParse(input, base?) → components, or null when either fails to parse.
duk_ret_t native_url_parse(duk_context* ctx) {
  std::string_view input = require_string(ctx, 0, "url");
  bool has_base = !duk_is_null_or_undefined(ctx, 1);
  std::string_view base = has_base ? require_string(ctx, 1, "base") : std::string_view();
  bool ok = false;
  url::HrefParts out;
  NATIVE_BEGIN
  std::string s1, s2;
  std::optional<url::Url> b;
  if (has_base) b = url::parse(as_utf8(base, s2));
  if (!has_base || b) {
    auto u = url::parse(as_utf8(input, s1), b ? &*b : nullptr);
    if (u) {
      out = url::href_parts(*u);
      ok = true;
    }
  }
  NATIVE_END
  if (!ok) {
    duk_push_null(ctx);
    return 1;
  }
  push_components(ctx, out);
  return 1;
}

// urlCanParse(input, base?) → boolean, without building components.
duk_ret_t native_url_can_parse(duk_context* ctx) {
  std::string_view input = require_string(ctx, 0, "url");
  bool has_base = !duk_is_null_or_undefined(ctx, 1);
  std::string_view base = has_base ? require_string(ctx, 1, "base") : std::string_view();
  bool ok = false;
  NATIVE_BEGIN
  std::string s1, s2;
  std::optional<url::Url> b;
  if (has_base) b = url::parse(as_utf8(base, s2));
  if (!has_base || b) ok = url::parse(as_utf8(input, s1), b ? &*b : nullptr).has_value();
  NATIVE_END
  duk_push_boolean(ctx, ok);
  return 1;
}

// urlSet(href, setter, value) → the new components, or undefined when the
// URL did not change (so url.js keeps what it has).
duk_ret_t native_url_set(duk_context* ctx) {
  std::string_view href = require_string(ctx, 0, "href");
  std::string_view name = require_string(ctx, 1, "setter");
  std::string_view value = require_string(ctx, 2, "value");
  auto which = url::setter_named(name);
  if (!which) duk_error(ctx, DUK_ERR_TYPE_ERROR, "unknown URL setter");
  bool changed = false, valid = false;
  url::HrefParts out;
  NATIVE_BEGIN
  std::string s1, s2;
  auto u = url::parse(as_utf8(href, s1));
  if (u) {
    valid = true;
    url::set(*u, *which, as_utf8(value, s2));
    out = url::href_parts(*u);
    changed = out.href != href;
  }
  NATIVE_END
  if (!valid) duk_error(ctx, DUK_ERR_TYPE_ERROR, "not a URL");
  if (!changed) return 0;
  push_components(ctx, out);
  return 1;
}

// urlOrigin(href) → the serialized origin (url.js asks only for blob: URLs).
duk_ret_t native_url_origin(duk_context* ctx) {
  std::string_view href = require_string(ctx, 0, "href");
  std::string out = "null";
  NATIVE_BEGIN
  std::string s1;
  auto u = url::parse(as_utf8(href, s1));
  if (u) out = url::origin(*u);
  NATIVE_END
  duk_push_lstring(ctx, out.data(), out.size());
  return 1;
}

// formParse(string) → [name0, value0, name1, value1, …].
duk_ret_t native_form_parse(duk_context* ctx) {
  std::string_view input = require_string(ctx, 0, "query");
  size_t pairs = 0;  // non-empty '&'-separated sequences
  for (size_t i = 0; i < input.size(); i++)
    pairs += input[i] != '&' && (i == 0 || input[i - 1] == '&');
  if (pairs > kMaxFormPairs) duk_error(ctx, DUK_ERR_RANGE_ERROR, "too many parameters");
  url::FormList list;
  NATIVE_BEGIN
  std::string s1;
  list = url::form_parse(as_utf8(input, s1));
  NATIVE_END
  duk_push_array(ctx);
  duk_uarridx_t k = 0;
  for (const auto& [name, value] : list) {
    push_utf8(ctx, name);
    duk_put_prop_index(ctx, -2, k++);
    push_utf8(ctx, value);
    duk_put_prop_index(ctx, -2, k++);
  }
  return 1;
}

// formSerialize([name0, value0, …]) → "name0=value0&…". Every item must be
// a string; the list's length is read from the array and bounded.
duk_ret_t native_form_serialize(duk_context* ctx) {
  if (!duk_is_array(ctx, 0)) duk_error(ctx, DUK_ERR_TYPE_ERROR, "list must be an array");
  duk_size_t n = duk_get_length(ctx, 0);
  if (n > kMaxFormItems || n % 2) duk_error(ctx, DUK_ERR_RANGE_ERROR, "bad parameter list");
  // Each item is kept on the stack while it is encoded.
  std::string out;
  size_t total = 0;
  for (duk_size_t k = 0; k < n; k++) {
    duk_get_prop_index(ctx, 0, (duk_uarridx_t)k);
    std::string_view item = require_string(ctx, -1, "parameter");
    total += item.size();
    if (total > url::kMaxInput) duk_error(ctx, DUK_ERR_RANGE_ERROR, "parameters are too long");
    NATIVE_BEGIN
    std::string s1;
    if (k > 0) out += k % 2 ? '=' : '&';
    url::form_encode(as_utf8(item, s1), out);
    NATIVE_END
    duk_pop(ctx);
  }
  duk_push_lstring(ctx, out.data(), out.size());
  return 1;
}

const duk_function_list_entry kUrlFunctions[] = {
    {"urlParse", native_url_parse, 2},
    {"urlCanParse", native_url_can_parse, 2},
    {"urlSet", native_url_set, 3},
    {"urlOrigin", native_url_origin, 1},
    {"formParse", native_form_parse, 1},
    {"formSerialize", native_form_serialize, 1},
    {nullptr, nullptr, 0},
};

}  // namespace

void register_url_natives(duk_hthread* ctx, int host) {
  duk_put_function_list(ctx, host, kUrlFunctions);
}

}  // namespace wfp
