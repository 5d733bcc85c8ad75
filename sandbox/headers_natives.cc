// Natives behind Headers (runtime.js): name/value checks, get, set, delete, sorted iteration.
// Runs in every heap (zygote image, dispatcher, sandbox); receivers and arguments are hostile.
// Trusts only the lists runtime.js keeps in the hidden slots: [name0, value0, …], lower-case names.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "duktape.h"
#include "sandbox/natives.h"

// Why native: in Duktape every access to a variable of an enclosing
// function is a lookup by name through the scope chain, and runtime.js is
// one big closure, so the JavaScript version of these paths spent most of
// its time finding its own helpers (measured with perf; the figures are in
// tests/unit/headers_test.cc's cost report).
//
// The lists stay JavaScript arrays, which Request and Response in
// runtime.js read and extend directly, but the slots that hold them are
// hidden symbols: tenant code cannot see or replace them (a JavaScript
// Symbol slot could be found with getOwnPropertySymbols), so a list a
// native finds there is one runtime.js made.
//
// Names and values are compared by Duktape's string identity: strings are
// interned, so two strings with the same bytes are one heap object.
//
// Like Duktape's own natives (Array sort, join), these are not interrupted
// by the CPU limit: each runs in time linear in the list (n log n to sort),
// and the limit stops the script at its next bytecode instruction.
//
// No function here throws a C++ exception of its own: scratch memory comes
// from Duktape buffers (counted against the heap limit, freed when the
// stack unwinds) and failures are duk errors, so no NATIVE_BEGIN/END.

namespace wfp {
namespace {

#define LIST_SLOT DUK_HIDDEN_SYMBOL("wfpHeadersList")
#define GUARD_SLOT DUK_HIDDEN_SYMBOL("wfpHeadersGuard")
#define ITEMS_SLOT DUK_HIDDEN_SYMBOL("wfpHeadersItems")
#define POS_SLOT DUK_HIDDEN_SYMBOL("wfpHeadersPos")
// The String constructor as it was when the heap was made, in the heap
// stash: only it gives a symbol's descriptive string ("Symbol(x)").
#define STRING_STASH "wfpHeadersString"

constexpr int kGuardImmutable = 1;  // runtime.js's GUARD_IMMUTABLE

// RFC 9110 tchar.
bool is_token_byte(unsigned char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}
bool is_http_whitespace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Pushes a new array for `n` items. Duktape grows an array by an eighth
// at a time, and a write past the end goes through a slow path that turns
// the index into a string: writing the last index first sizes it at once.
// Only for small arrays: a big one written back to front would look
// sparse to Duktape, which would give up its array part.
duk_idx_t push_array_for(duk_context* ctx, duk_size_t n) {
  duk_idx_t arr = duk_push_array(ctx);
  if (n > 0 && n <= 256) {
    duk_push_undefined(ctx);
    duk_put_prop_index(ctx, arr, (duk_uarridx_t)(n - 1));
  }
  return arr;
}

// String(value) in place, as runtime.js did: ToString, except that a
// symbol gives its description instead of a TypeError.
void to_string_like_js(duk_context* ctx, duk_idx_t i) {
  i = duk_require_normalize_index(ctx, i);
  if (!duk_is_symbol(ctx, i)) {
    duk_to_string(ctx, i);
    return;
  }
  duk_push_heap_stash(ctx);
  duk_get_prop_literal(ctx, -1, STRING_STASH);
  duk_dup(ctx, i);
  duk_call(ctx, 1);
  duk_replace(ctx, i);
  duk_pop(ctx);
}

// Replaces the ASCII string at i with its lower-case form.
void lower_ascii_in_place(duk_context* ctx, duk_idx_t i) {
  i = duk_require_normalize_index(ctx, i);
  duk_size_t n = 0;
  const char* s = duk_get_lstring(ctx, i, &n);
  // Names are short: a long one takes its scratch memory from the heap.
  char small[128];
  char* lower = n <= sizeof small ? small : (char*)duk_push_fixed_buffer(ctx, n);
  for (duk_size_t k = 0; k < n; k++) {
    char c = s[k];
    lower[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  if (lower == small)
    duk_push_lstring(ctx, small, n);
  else
    duk_buffer_to_string(ctx, -1);
  duk_replace(ctx, i);
}

// Replaces the argument at i with its header name, lower-cased; throws
// TypeError('Invalid header name.') unless it is a token. Tokens are ASCII,
// so a byte at or above 0x80 (part of any other character) refuses it.
void to_header_name(duk_context* ctx, duk_idx_t i) {
  if (duk_is_symbol(ctx, i))
    duk_type_error(ctx, "Invalid header name.");  // "Symbol(…)" is no token
  duk_size_t n = 0;
  const char* s = duk_to_lstring(ctx, i, &n);
  if (n == 0) duk_type_error(ctx, "Invalid header name.");
  bool upper = false;
  for (duk_size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (!is_token_byte(c)) duk_type_error(ctx, "Invalid header name.");
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (upper) lower_ascii_in_place(ctx, i);
}

// Replaces the argument at i with its header value: HTTP whitespace cut
// from both ends, then TypeError('Invalid header value.') for CR, LF or
// NUL. Whitespace is ASCII and no byte of a longer character is below
// 0x80, so cutting and scanning bytes is safe in Duktape's string form.
void to_header_value(duk_context* ctx, duk_idx_t i) {
  i = duk_require_normalize_index(ctx, i);
  to_string_like_js(ctx, i);
  duk_size_t n = 0;
  const char* s = duk_get_lstring(ctx, i, &n);
  duk_size_t begin = 0, end = n;
  while (begin < end && is_http_whitespace((unsigned char)s[begin])) begin++;
  while (end > begin && is_http_whitespace((unsigned char)s[end - 1])) end--;
  for (duk_size_t k = begin; k < end; k++) {
    char c = s[k];
    if (c == '\r' || c == '\n' || c == '\0') duk_type_error(ctx, "Invalid header value.");
  }
  if (begin == 0 && end == n) return;
  duk_push_lstring(ctx, s + begin, end - begin);
  duk_replace(ctx, i);
}

// Pushes the list of `this`, a Headers object: TypeError('Illegal
// invocation') for anything else, and for immutable headers when `mutate`.
duk_idx_t push_this_list(duk_context* ctx, bool mutate) {
  duk_push_this(ctx);
  if (!duk_is_object(ctx, -1)) duk_type_error(ctx, "Illegal invocation");
  duk_get_prop_literal(ctx, -1, LIST_SLOT);
  if (!duk_is_array(ctx, -1)) duk_type_error(ctx, "Illegal invocation");
  if (mutate) {
    duk_get_prop_literal(ctx, -2, GUARD_SLOT);
    if (duk_get_int_default(ctx, -1, 0) == kGuardImmutable)
      duk_type_error(ctx, "Can't modify immutable headers.");
    duk_pop(ctx);
  }
  duk_remove(ctx, -2);
  return duk_get_top_index(ctx);
}

bool item_is(duk_context* ctx, duk_idx_t list, duk_uarridx_t k, void* name) {
  duk_get_prop_index(ctx, list, k);
  bool same = duk_get_heapptr(ctx, -1) == name;
  duk_pop(ctx);
  return same;
}

// The values stored under `name` (a lower-cased name at the stack index
// `name_at`), pushed one by one; returns how many.
duk_idx_t push_values_of(duk_context* ctx, duk_idx_t list, duk_idx_t name_at) {
  void* name = duk_get_heapptr(ctx, name_at);
  duk_size_t n = duk_get_length(ctx, list);
  duk_idx_t count = 0;
  for (duk_size_t k = 0; k + 1 < n; k += 2) {
    if (!item_is(ctx, list, (duk_uarridx_t)k, name)) continue;
    duk_require_stack(ctx, 1);
    duk_get_prop_index(ctx, list, (duk_uarridx_t)(k + 1));
    count++;
  }
  return count;
}

// Values joined with ", ": the `count` values on the stack top become one.
void join_values(duk_context* ctx, duk_idx_t count) {
  if (count == 0) {
    duk_push_null(ctx);
  } else if (count > 1) {
    duk_push_literal(ctx, ", ");
    duk_insert(ctx, -count - 1);
    duk_join(ctx, count);
  }
}

// Removes every entry named like the string at `name_at`; with `value_at`
// (>= 0), the first one keeps its place with that value, or the pair is
// appended when there was none. runtime.js's listReplace.
void replace_in_list(duk_context* ctx, duk_idx_t list, duk_idx_t name_at, duk_idx_t value_at) {
  void* name = duk_get_heapptr(ctx, name_at);
  duk_size_t n = duk_get_length(ctx, list);
  duk_size_t w = 0;
  bool placed = value_at < 0;
  for (duk_size_t r = 0; r + 1 < n; r += 2) {
    if (item_is(ctx, list, (duk_uarridx_t)r, name)) {
      if (placed) continue;
      placed = true;
      duk_dup(ctx, name_at);
      duk_put_prop_index(ctx, list, (duk_uarridx_t)w);
      duk_dup(ctx, value_at);
      duk_put_prop_index(ctx, list, (duk_uarridx_t)(w + 1));
    } else if (w != r) {
      duk_get_prop_index(ctx, list, (duk_uarridx_t)r);
      duk_put_prop_index(ctx, list, (duk_uarridx_t)w);
      duk_get_prop_index(ctx, list, (duk_uarridx_t)(r + 1));
      duk_put_prop_index(ctx, list, (duk_uarridx_t)(w + 1));
    }
    w += 2;
  }
  if (w != n) duk_set_length(ctx, list, w);
  if (!placed) {
    duk_dup(ctx, name_at);
    duk_put_prop_index(ctx, list, (duk_uarridx_t)w);
    duk_dup(ctx, value_at);
    duk_put_prop_index(ctx, list, (duk_uarridx_t)(w + 1));
  }
}

void append_to_list(duk_context* ctx, duk_idx_t list, duk_idx_t name_at, duk_idx_t value_at) {
  duk_size_t n = duk_get_length(ctx, list);
  duk_dup(ctx, name_at);
  duk_put_prop_index(ctx, list, (duk_uarridx_t)n);
  duk_dup(ctx, value_at);
  duk_put_prop_index(ctx, list, (duk_uarridx_t)(n + 1));
}

// One name of a list while it is sorted: its bytes stay valid because the
// list holds the string and nothing runs JavaScript meanwhile.
struct SortItem {
  const char* name;
  uint32_t size;
  uint32_t at;  // index of the name in the list; ties sort by it (stable)
};

// The Fetch spec's sort-and-combine of the list at `list`, pushed as a new
// array: names in code-unit order (ASCII tokens: byte order is the same),
// each with its values joined by ", ", except set-cookie, whose values stay
// one entry each. `which`: 0 names, 1 values, 2 [name, value] pairs.
void push_sorted(duk_context* ctx, duk_idx_t list, int which) {
  duk_size_t pairs = duk_get_length(ctx, list) / 2;
  if (pairs > UINT32_MAX / 2) duk_range_error(ctx, "too many headers");
  // Scratch memory from the heap, so its limit covers it too.
  auto* items = (SortItem*)duk_push_fixed_buffer(ctx, pairs * sizeof(SortItem));
  for (duk_size_t k = 0; k < pairs; k++) {
    duk_get_prop_index(ctx, list, (duk_uarridx_t)(2 * k));
    duk_size_t size = 0;
    const char* s = duk_get_lstring(ctx, -1, &size);
    items[k] = {s ? s : "", (uint32_t)std::min<duk_size_t>(size, UINT32_MAX), (uint32_t)(2 * k)};
    duk_pop(ctx);
  }
  std::sort(items, items + pairs, [](const SortItem& a, const SortItem& b) {
    int c = std::string_view(a.name, a.size).compare(std::string_view(b.name, b.size));
    return c != 0 ? c < 0 : a.at < b.at;
  });
  duk_idx_t out = push_array_for(ctx, pairs);
  duk_uarridx_t n_out = 0;
  constexpr std::string_view kSetCookie = "set-cookie";
  auto emit = [&](uint32_t name_at, duk_idx_t value_count) {
    // Stack: [… values(value_count)]
    if (which == 0) {
      duk_pop_n(ctx, value_count);
      duk_get_prop_index(ctx, list, name_at);
    } else {
      join_values(ctx, value_count);
      if (which == 2) {
        duk_push_array(ctx);
        duk_swap_top(ctx, -2);
        duk_put_prop_index(ctx, -2, 1);  // the last index first: one allocation
        duk_get_prop_index(ctx, list, name_at);
        duk_put_prop_index(ctx, -2, 0);
      }
    }
    duk_put_prop_index(ctx, out, n_out++);
  };
  for (duk_size_t k = 0; k < pairs;) {
    std::string_view name(items[k].name, items[k].size);
    duk_size_t end = k + 1;
    while (end < pairs && std::string_view(items[end].name, items[end].size) == name) end++;
    if (name == kSetCookie) {
      for (; k < end; k++) {
        duk_get_prop_index(ctx, list, items[k].at + 1);
        emit(items[k].at, 1);
      }
    } else {
      duk_idx_t count = 0;
      for (duk_size_t j = k; j < end; j++) {
        duk_require_stack(ctx, 1);
        duk_get_prop_index(ctx, list, items[j].at + 1);
        count++;
      }
      emit(items[k].at, count);
      k = end;
    }
  }
  duk_set_length(ctx, out, n_out);
  duk_remove(ctx, -2);  // the scratch buffer
}

// --- methods of Headers.prototype (this: a Headers) -------------------------

duk_ret_t native_get(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, false);
  to_header_name(ctx, 0);
  join_values(ctx, push_values_of(ctx, list, 0));
  return 1;
}

duk_ret_t native_has(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, false);
  to_header_name(ctx, 0);
  void* name = duk_get_heapptr(ctx, 0);
  duk_size_t n = duk_get_length(ctx, list);
  bool found = false;
  for (duk_size_t k = 0; k + 1 < n && !found; k += 2)
    found = item_is(ctx, list, (duk_uarridx_t)k, name);
  duk_push_boolean(ctx, found);
  return 1;
}

duk_ret_t native_set(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, true);
  to_header_name(ctx, 0);
  to_header_value(ctx, 1);
  replace_in_list(ctx, list, 0, 1);
  return 0;
}

duk_ret_t native_append(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, true);
  to_header_name(ctx, 0);
  to_header_value(ctx, 1);
  append_to_list(ctx, list, 0, 1);
  return 0;
}

duk_ret_t native_delete(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, true);
  to_header_name(ctx, 0);
  replace_in_list(ctx, list, 0, -1);
  return 0;
}

duk_ret_t native_get_set_cookie(duk_context* ctx) {
  duk_idx_t list = push_this_list(ctx, false);
  duk_push_literal(ctx, "set-cookie");
  duk_idx_t count = push_values_of(ctx, list, -1);
  duk_push_array(ctx);
  for (duk_idx_t k = count; k > 0; k--) {
    duk_dup(ctx, -1 - k);
    duk_put_prop_index(ctx, -2, (duk_uarridx_t)(count - k));
  }
  return 1;
}

// forEach(callback, thisArg): callback(value, name, headers) over a
// snapshot of the sorted entries, like runtime.js's loop.
duk_ret_t native_for_each(duk_context* ctx) {
  if (!duk_is_callable(ctx, 0)) duk_type_error(ctx, "Headers.forEach: callback is not a function");
  duk_idx_t list = push_this_list(ctx, false);
  push_sorted(ctx, list, 2);
  duk_idx_t entries = duk_get_top_index(ctx);
  duk_size_t n = duk_get_length(ctx, entries);
  for (duk_size_t k = 0; k < n; k++) {
    duk_dup(ctx, 0);
    duk_dup(ctx, 1);
    duk_get_prop_index(ctx, entries, (duk_uarridx_t)k);
    duk_get_prop_index(ctx, -1, 1);
    duk_get_prop_index(ctx, -2, 0);
    duk_remove(ctx, -3);
    duk_push_this(ctx);
    duk_call_method(ctx, 3);
    duk_pop(ctx);
  }
  return 0;
}

// --- helpers runtime.js calls as functions ----------------------------------

// headersSlots() → [list, guard, items, pos]: the hidden slot keys.
duk_ret_t native_slots(duk_context* ctx) {
  duk_push_array(ctx);
  const char* keys[] = {LIST_SLOT, GUARD_SLOT, ITEMS_SLOT, POS_SLOT};
  for (duk_uarridx_t k = 0; k < 4; k++) {
    duk_push_string(ctx, keys[k]);
    duk_put_prop_index(ctx, -2, k);
  }
  return 1;
}

// headersFill(init, keys) → a new list of init's entries, checked and
// lower-cased. With `keys` (Object.keys(init), taken by the caller: measured
// faster than duk_enum here, and proxies behave as Object.keys makes them),
// init is a record; without, an array of pairs, each an object whose
// length is exactly 2.
duk_ret_t native_fill(duk_context* ctx) {
  duk_set_top(ctx, 2);
  duk_uarridx_t w = 0;
  if (duk_is_array(ctx, 1)) {
    duk_size_t n = duk_get_length(ctx, 1);
    duk_idx_t list = push_array_for(ctx, 2 * n);
    for (duk_size_t k = 0; k < n; k++) {
      duk_get_prop_index(ctx, 1, (duk_uarridx_t)k);  // [… key]
      duk_dup_top(ctx);
      to_header_name(ctx, -1);  // [… key name]
      duk_swap_top(ctx, -2);    // [… name key]
      duk_get_prop(ctx, 0);     // [… name value]
      to_header_value(ctx, -1);
      duk_put_prop_index(ctx, list, w + 1);
      duk_put_prop_index(ctx, list, w);
      w += 2;
    }
    duk_set_length(ctx, list, w);
    return 1;
  }
  if (!duk_is_array(ctx, 0)) duk_type_error(ctx, "init must be an array");
  duk_idx_t list = push_array_for(ctx, 2 * duk_get_length(ctx, 0));
  // Like runtime.js's loop did, the length is read again for every pair.
  for (duk_uarridx_t k = 0; k < duk_get_length(ctx, 0); k++) {
    duk_get_prop_index(ctx, 0, k);  // [… pair]
    bool pair_ok = duk_check_type_mask(
        ctx, -1, DUK_TYPE_MASK_OBJECT | DUK_TYPE_MASK_BUFFER | DUK_TYPE_MASK_LIGHTFUNC);
    if (pair_ok) {
      duk_get_prop_literal(ctx, -1, "length");
      pair_ok = duk_is_number(ctx, -1) && duk_get_number(ctx, -1) == 2;
      duk_pop(ctx);
    }
    if (!pair_ok) duk_type_error(ctx, "Each header pair must be a sequence of exactly two items.");
    duk_get_prop_index(ctx, -1, 0);
    to_header_name(ctx, -1);
    duk_get_prop_index(ctx, -2, 1);
    to_header_value(ctx, -1);
    duk_put_prop_index(ctx, list, w + 1);
    duk_put_prop_index(ctx, list, w);
    duk_pop(ctx);
    w += 2;
  }
  duk_set_length(ctx, list, w);
  return 1;
}

// headersFromHost(pairs) → the list of header pairs from the host (the
// [[name, value], …] host.cc pushes: strings, already parsed HTTP), names
// lower-cased. Anything else, or a name that is not ASCII (JavaScript's
// toLowerCase would map it by Unicode rules), gives undefined: runtime.js
// then converts the pairs itself.
duk_ret_t native_from_host(duk_context* ctx) {
  if (!duk_is_array(ctx, 0)) return 0;
  duk_size_t n = duk_get_length(ctx, 0);
  duk_idx_t list = push_array_for(ctx, 2 * n);
  for (duk_size_t k = 0; k < n; k++) {
    duk_get_prop_index(ctx, 0, (duk_uarridx_t)k);
    duk_get_prop_index(ctx, -1, 0);
    duk_get_prop_index(ctx, -2, 1);
    if (!duk_is_string(ctx, -2) || duk_is_symbol(ctx, -2) || !duk_is_string(ctx, -1) ||
        duk_is_symbol(ctx, -1))
      return 0;
    duk_size_t size = 0;
    const char* name = duk_get_lstring(ctx, -2, &size);
    bool upper = false;
    for (duk_size_t i = 0; i < size; i++) {
      unsigned char c = (unsigned char)name[i];
      if (c >= 0x80) return 0;
      if (c >= 'A' && c <= 'Z') upper = true;
    }
    if (upper) lower_ascii_in_place(ctx, -2);
    duk_put_prop_index(ctx, list, (duk_uarridx_t)(2 * k + 1));
    duk_put_prop_index(ctx, list, (duk_uarridx_t)(2 * k));
    duk_pop(ctx);
  }
  return 1;
}

// headersToHost(list) → [[name, value], …] for host.respond/subrequest.
duk_ret_t native_to_host(duk_context* ctx) {
  if (!duk_is_array(ctx, 0)) duk_type_error(ctx, "list must be an array");
  duk_size_t n = duk_get_length(ctx, 0) / 2;
  duk_idx_t out = push_array_for(ctx, n);
  for (duk_size_t k = 0; k < n; k++) {
    duk_push_array(ctx);
    duk_get_prop_index(ctx, 0, (duk_uarridx_t)(2 * k + 1));
    duk_put_prop_index(ctx, -2, 1);  // the last index first: one allocation
    duk_get_prop_index(ctx, 0, (duk_uarridx_t)(2 * k));
    duk_put_prop_index(ctx, -2, 0);
    duk_put_prop_index(ctx, out, (duk_uarridx_t)k);
  }
  return 1;
}

// headersSorted(headers, which) → the sorted, combined entries (see
// push_sorted), for the iterators.
duk_ret_t native_sorted(duk_context* ctx) {
  int which = duk_require_int(ctx, 1);
  if (which < 0 || which > 2) duk_range_error(ctx, "bad iterator kind");
  // The receiver check of the methods, on the first argument.
  if (!duk_is_object(ctx, 0)) duk_type_error(ctx, "Illegal invocation");
  duk_get_prop_literal(ctx, 0, LIST_SLOT);
  if (!duk_is_array(ctx, -1)) duk_type_error(ctx, "Illegal invocation");
  push_sorted(ctx, duk_get_top_index(ctx), which);
  return 1;
}

// next() of a Headers iterator (this: made by runtime.js with the items
// and position slots).
duk_ret_t native_iterator_next(duk_context* ctx) {
  duk_push_this(ctx);
  if (!duk_is_object(ctx, -1)) duk_type_error(ctx, "Illegal invocation");
  duk_get_prop_literal(ctx, -1, ITEMS_SLOT);
  if (!duk_is_array(ctx, -1)) duk_type_error(ctx, "Illegal invocation");
  duk_get_prop_literal(ctx, -2, POS_SLOT);
  double pos = duk_get_number_default(ctx, -1, 0);
  duk_pop(ctx);  // [this items]
  duk_push_object(ctx);
  if (!(pos < (double)duk_get_length(ctx, -2))) {
    duk_push_undefined(ctx);
    duk_put_prop_literal(ctx, -2, "value");
    duk_push_true(ctx);
    duk_put_prop_literal(ctx, -2, "done");
    return 1;
  }
  duk_push_number(ctx, pos + 1);
  duk_put_prop_literal(ctx, -4, POS_SLOT);
  duk_get_prop_index(ctx, -2, (duk_uarridx_t)pos);
  duk_put_prop_literal(ctx, -2, "value");
  duk_push_false(ctx);
  duk_put_prop_literal(ctx, -2, "done");
  return 1;
}

struct Method {
  const char* key;   // on __host
  const char* name;  // its `name`, as the JavaScript method had
  duk_c_function fn;
  duk_idx_t nargs;
};

const Method kHeadersFunctions[] = {
    {"headersGet", "get", native_get, 1},
    {"headersHas", "has", native_has, 1},
    {"headersSet", "set", native_set, 2},
    {"headersAppend", "append", native_append, 2},
    {"headersDelete", "delete", native_delete, 1},
    {"headersGetSetCookie", "getSetCookie", native_get_set_cookie, 0},
    {"headersForEach", "forEach", native_for_each, 2},
    {"headersIteratorNext", "next", native_iterator_next, 0},
    {"headersSlots", "headersSlots", native_slots, 0},
    {"headersFill", "headersFill", native_fill, 2},
    {"headersSorted", "headersSorted", native_sorted, 2},
    {"headersFromHost", "headersFromHost", native_from_host, 1},
    {"headersToHost", "headersToHost", native_to_host, 1},
};

}  // namespace

void register_headers_natives(duk_hthread* ctx, int host) {
  for (const Method& m : kHeadersFunctions) {
    duk_push_c_function(ctx, m.fn, m.nargs);
    duk_push_literal(ctx, "name");
    duk_push_string(ctx, m.name);
    duk_def_prop(ctx, -3, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_CONFIGURABLE);
    duk_put_prop_string(ctx, host, m.key);
  }
  duk_push_heap_stash(ctx);
  duk_get_global_literal(ctx, "String");
  duk_put_prop_literal(ctx, -2, STRING_STASH);
  duk_pop(ctx);
}

}  // namespace wfp
