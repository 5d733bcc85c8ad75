// The Duktape host (see host.h). Runs in locked children. Every native
// here is reachable from tenant JavaScript through runtime.js's closures:
// arguments are checked and bounded, C++ exceptions are turned into JS
// errors before they reach Duktape, and Duktape's own exception type
// (duk_internal_exception) is never caught here.
#include "sandbox/host.h"
#ifdef WFP_TEST_HOOKS
#include "sandbox/test_hooks.h"
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "duktape.h"
#include "ipc/log.h"
#include "ipc/messages.h"
#include "sandbox/natives.h"

extern "C" const char wfp_polyfills_js[], wfp_url_js[], wfp_encoding_js[], wfp_crypto_js[],
    wfp_runtime_js[];

#ifndef WFP_BUILD_ID
#define WFP_BUILD_ID "dev"
#endif

namespace wfp {

const char* host_build_id() { return WFP_BUILD_ID; }

struct WorkerHeap::State {
  size_t limit = 0;
  size_t used = 0;
  bool memory_tripped = false;
  bool cpu_tripped = false;
  bool deadline_armed = false;
  timespec deadline{};
  timespec armed_cpu{};          // the thread's CPU clock when armed
  timespec wall_deadline{};      // CLOCK_MONOTONIC: before it, `deadline` can't have passed
  uint64_t cpu_used_us = 0;      // CPU of the calls since take_cpu_used_us()
  HostSink* sink = nullptr;
  bool cache_default = false;  // caches.default allowed (WorkerHeap::set_cache_default)
};

namespace {

constexpr size_t kAllocHeader = 16;  // keeps malloc's 16-byte alignment
constexpr size_t kMaxHeaders = 1000;
constexpr size_t kMaxHeaderItem = 256 * 1024;

timespec thread_cpu_now() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t;
}
bool after(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}
timespec plus_ms(timespec t, int64_t ms) {
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}
// The thread's CPU clock is a system call (not in the vDSO, ~1.6 µs here);
// the monotonic clock is not. A thread's CPU time can't grow faster than
// the wall clock, so until `cpu_ms` of wall time have passed the CPU
// deadline can't have either, and the interrupt check reads only the
// monotonic clock. Arming and disarming read the CPU clock once each;
// their difference is the call's CPU time.
//
// Calls made one right after the other (in one wake-up of the runner,
// less than a millisecond apart) share a reading: the next call's start is
// the last one's end, and what ran between them, the runner's own
// bookkeeping, is counted to the next call.
timespec g_cpu_mark{};
timespec g_cpu_mark_at{};        // CLOCK_MONOTONIC when g_cpu_mark was read
bool g_cpu_mark_valid = false;   // cleared at each wake-up (host_clock_advance)
bool g_cpu_runner_mode = false;  // host_cpu_runner_mode(): the mark never goes stale
void arm_deadline(WorkerHeap::State* st, int64_t cpu_ms) {
  timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  bool recent = g_cpu_mark_valid && (g_cpu_runner_mode || !after(mono, plus_ms(g_cpu_mark_at, 1)));
  st->armed_cpu = recent ? g_cpu_mark : thread_cpu_now();
  st->deadline = plus_ms(st->armed_cpu, cpu_ms);
  st->wall_deadline = plus_ms(recent ? g_cpu_mark_at : mono, cpu_ms);
  st->deadline_armed = true;
}
void disarm_deadline(WorkerHeap::State* st) {
  if (!st->deadline_armed) return;
  timespec now = thread_cpu_now();
  int64_t ns = (int64_t)(now.tv_sec - st->armed_cpu.tv_sec) * 1000000000L + (now.tv_nsec - st->armed_cpu.tv_nsec);
  if (ns > 0) st->cpu_used_us += (uint64_t)ns / 1000;
  st->deadline_armed = false;
  g_cpu_mark = now;
  clock_gettime(CLOCK_MONOTONIC, &g_cpu_mark_at);
  g_cpu_mark_valid = true;
}

// The allocator keeps the heap's byte count so the memory limit is a
// property of this heap, not of the process (a dispatcher has several).
void* heap_alloc(void* udata, duk_size_t n) {
  auto* st = (WorkerHeap::State*)udata;
  if (st->limit && st->used + n > st->limit) {
    st->memory_tripped = true;
    return nullptr;
  }
  // A zero-byte block still gets a byte past the header: the pointer
  // handed out then points inside its block, not one past its end, where
  // LeakSanitizer would count nothing as referencing it.
  auto* p = (size_t*)malloc(n + kAllocHeader + (n == 0));
  if (!p) return nullptr;
  p[0] = n;
  st->used += n;
  return (char*)p + kAllocHeader;
}
void heap_free(void* udata, void* ptr) {
  if (!ptr) return;
  auto* st = (WorkerHeap::State*)udata;
  auto* p = (size_t*)((char*)ptr - kAllocHeader);
  st->used -= p[0];
  free(p);
}
void* heap_realloc(void* udata, void* ptr, duk_size_t n) {
  auto* st = (WorkerHeap::State*)udata;
  if (!ptr) return heap_alloc(udata, n);
  auto* p = (size_t*)((char*)ptr - kAllocHeader);
  size_t old = p[0];
  if (n > old && st->limit && st->used + (n - old) > st->limit) {
    st->memory_tripped = true;
    return nullptr;
  }
  auto* q = (size_t*)realloc(p, n + kAllocHeader + (n == 0));
  if (!q) return nullptr;
  q[0] = n;
  st->used = st->used - old + n;
  return (char*)q + kAllocHeader;
}

// Duktape calls this when it cannot continue (its invariants broke). The
// heap is unusable; the process dies and the supervisor replaces it.
void heap_fatal(void*, const char* msg) {
  logf(LogLevel::error, "duktape fatal error: %s", msg ? msg : "(none)");
  _exit(70);
}

WorkerHeap::State* state_of(duk_context* ctx) {
  duk_memory_functions f;
  duk_get_memory_functions(ctx, &f);
  return (WorkerHeap::State*)f.udata;
}

uint64_t require_id(duk_context* ctx, duk_idx_t i) {
  double d = duk_require_number(ctx, i);
  if (!(d >= 0 && d < 9007199254740992.0)) duk_error(ctx, DUK_ERR_RANGE_ERROR, "invalid id");
  return (uint64_t)d;
}

std::string get_string(duk_context* ctx, duk_idx_t i, size_t max) {
  duk_size_t n = 0;
  const char* s = duk_safe_to_lstring(ctx, i, &n);
  return std::string(s, n > max ? max : n);
}

// Bytes of a body: a buffer object (Uint8Array…), a string, or nothing.
std::string get_bytes(duk_context* ctx, duk_idx_t i) {
  if (duk_is_null_or_undefined(ctx, i)) return {};
  if (duk_is_buffer_data(ctx, i)) {
    duk_size_t n = 0;
    void* p = duk_get_buffer_data(ctx, i, &n);
    return std::string((const char*)p, n);
  }
  duk_size_t n = 0;
  const char* s = duk_safe_to_lstring(ctx, i, &n);
  return std::string(s, n);
}

std::string latin1_of(const std::string& s);

HeaderList get_pairs(duk_context* ctx, duk_idx_t i) {
  HeaderList out;
  if (duk_is_null_or_undefined(ctx, i)) return out;
  if (!duk_is_array(ctx, i)) duk_error(ctx, DUK_ERR_TYPE_ERROR, "headers must be an array");
  duk_size_t n = duk_get_length(ctx, i);
  if (n > kMaxHeaders) duk_error(ctx, DUK_ERR_RANGE_ERROR, "too many headers");
  for (duk_size_t k = 0; k < n; k++) {
    duk_get_prop_index(ctx, i, (duk_uarridx_t)k);
    duk_get_prop_index(ctx, -1, 0);
    duk_get_prop_index(ctx, -2, 1);
    out.emplace_back(latin1_of(get_string(ctx, -2, kMaxHeaderItem)),
                     latin1_of(get_string(ctx, -1, kMaxHeaderItem)));
    duk_pop_3(ctx);
  }
  return out;
}

// Header bytes are Latin-1 on the wire (RFC 9110 byte strings). Pushed
// raw, a value starting with 0x80-0x82 or 0xFF would become a Duktape
// symbol (a hidden one for 0xFF): every byte becomes its own code point.
void push_latin1(duk_context* ctx, const std::string& bytes) {
  bool ascii = true;
  for (unsigned char c : bytes)
    if (c >= 0x80) ascii = false;
  if (ascii) {
    duk_push_lstring(ctx, bytes.data(), bytes.size());
    return;
  }
  std::string utf8;
  utf8.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      utf8 += (char)c;
    } else {
      utf8 += (char)(0xC0 | (c >> 6));
      utf8 += (char)(0x80 | (c & 0x3F));
    }
  }
  duk_push_lstring(ctx, utf8.data(), utf8.size());
}

// The reverse for strings from JS: code points up to U+00FF become one
// byte each; a string with anything above stays UTF-8 (Workers would have
// refused it; we pass it on rather than garble it).
std::string latin1_of(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) {
      out += (char)c;
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < s.size() && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
      out += (char)(((c & 0x03) << 6) | ((unsigned char)s[i + 1] & 0x3F));
      i++;
    } else {
      return s;
    }
  }
  return out;
}

void push_pairs(duk_context* ctx, const HeaderList& h) {
  duk_idx_t arr = duk_push_array(ctx);
  duk_uarridx_t k = 0;
  for (auto& [name, value] : h) {
    duk_push_array(ctx);
    push_latin1(ctx, name);
    duk_put_prop_index(ctx, -2, 0);
    push_latin1(ctx, value);
    duk_put_prop_index(ctx, -2, 1);
    duk_put_prop_index(ctx, arr, k++);
  }
}

void push_bytes(duk_context* ctx, const std::string& body) {
  if (body.empty()) {
    duk_push_null(ctx);
    return;
  }
  void* p = duk_push_fixed_buffer(ctx, body.size());
  memcpy(p, body.data(), body.size());
  duk_push_buffer_object(ctx, -1, 0, body.size(), DUK_BUFOBJ_UINT8ARRAY);
  duk_remove(ctx, -2);
}

ErrorCode fail_kind(const std::string& kind) {
  if (kind == "bad_response") return ErrorCode::bad_response;
  if (kind == "no_handler") return ErrorCode::no_handler;
  return ErrorCode::exception;
}

// Natives. Each converts our C++ exceptions to a JS Error after leaving
// the try block, so Duktape unwinds with its own exception type only.
#define NATIVE_BEGIN std::string wfp_err_; try {
#define NATIVE_END                                                         \
  } catch (const std::exception& e) { wfp_err_ = e.what(); }              \
  if (!wfp_err_.empty()) duk_error(ctx, DUK_ERR_ERROR, "%s", wfp_err_.c_str());

duk_ret_t native_respond(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t req = require_id(ctx, 0);
  int status = duk_require_int(ctx, 1);
  std::string text = get_string(ctx, 2, 1024);
  HeaderList headers = get_pairs(ctx, 3);
  // A number is the handle of a body the supervisor holds.
  if (duk_is_number(ctx, 4)) {
    uint64_t handle = require_id(ctx, 4);
    NATIVE_BEGIN
    st->sink->respond_held(req, status, text, std::move(headers), handle);
    NATIVE_END
    return 0;
  }
  std::string body = get_bytes(ctx, 4);
  NATIVE_BEGIN
  st->sink->respond(req, status, text, std::move(headers), std::move(body));
  NATIVE_END
  return 0;
}

duk_ret_t native_fail(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t req = require_id(ctx, 0);
  std::string kind = get_string(ctx, 1, 64);
  std::string message = get_string(ctx, 2, 4096);
  std::string stack = get_string(ctx, 3, 16384);
  NATIVE_BEGIN
  st->sink->fail(req, fail_kind(kind), message, stack);
  NATIVE_END
  return 0;
}

duk_ret_t native_subrequest(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t parent = require_id(ctx, 0);
  std::string binding = get_string(ctx, 1, 256);
  std::string script = get_string(ctx, 2, 256);
  std::string args = get_string(ctx, 3, 1 << 20);
  std::string method = get_string(ctx, 4, 64);
  std::string url = get_string(ctx, 5, 64 * 1024);
  HeaderList headers = get_pairs(ctx, 6);
  HostSink::CallLimits limits;
  std::string body;
  if (duk_is_number(ctx, 7)) limits.body_handle = require_id(ctx, 7);
  else body = get_bytes(ctx, 7);
  if (duk_is_string(ctx, 10)) limits.outbound_json = get_string(ctx, 10, 64 * 1024);
  // Optional per-call limits; anything but a positive number means none.
  auto limit = [&](duk_idx_t i) -> int64_t {
    if (!duk_is_number(ctx, i)) return 0;
    double v = duk_get_number(ctx, i);
    return v >= 1 && v < 1e9 ? (int64_t)v : 0;
  };
  limits.cpu_ms = limit(8);
  limits.subrequests = limit(9);
  uint64_t id = 0;
  NATIVE_BEGIN
  id = st->sink->subrequest_with_limits(parent, binding, script, args, method, url, std::move(headers),
                                        std::move(body), limits);
  NATIVE_END
  duk_push_number(ctx, (double)id);
  return 1;
}

duk_ret_t native_fetch(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t parent = require_id(ctx, 0);
  std::string method = get_string(ctx, 1, 64);
  std::string url = get_string(ctx, 2, 64 * 1024);
  HeaderList headers = get_pairs(ctx, 3);
  uint64_t handle = 0;
  std::string body;
  if (duk_is_number(ctx, 4)) handle = require_id(ctx, 4);
  else body = get_bytes(ctx, 4);
  int redirect = duk_get_int_default(ctx, 5, 0);
  if (redirect < 0 || redirect > 2) redirect = 0;
  uint64_t id = 0;
  NATIVE_BEGIN
  id = st->sink->fetch(parent, method, url, std::move(headers), std::move(body), handle, redirect);
  NATIVE_END
  duk_push_number(ctx, (double)id);
  return 1;
}

duk_ret_t native_cache_op(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t parent = require_id(ctx, 0);
  HostSink::CacheCall call;
  call.op = duk_require_int(ctx, 1);
  if (call.op < 0 || call.op > 2) duk_error(ctx, DUK_ERR_RANGE_ERROR, "invalid cache operation");
  call.is_default = duk_to_boolean(ctx, 2);
  call.name = get_string(ctx, 3, 4096);
  call.url = get_string(ctx, 4, 64 * 1024);
  call.method = get_string(ctx, 5, 64);
  call.request_headers = get_pairs(ctx, 6);
  call.ignore_method = duk_to_boolean(ctx, 7);
  call.status = duk_get_int_default(ctx, 8, 0);
  call.response_headers = get_pairs(ctx, 9);
  if (duk_is_number(ctx, 10)) call.body_handle = require_id(ctx, 10);
  else call.body = get_bytes(ctx, 10);
  uint64_t id = 0;
  NATIVE_BEGIN
  id = st->sink->cache_op(parent, std::move(call));
  NATIVE_END
  duk_push_number(ctx, (double)id);
  return 1;
}

duk_ret_t native_cache_default(duk_context* ctx) {
  duk_push_boolean(ctx, state_of(ctx)->cache_default);
  return 1;
}

duk_ret_t native_read_body(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t parent = require_id(ctx, 0);
  uint64_t handle = require_id(ctx, 1);
  uint64_t id = 0;
  NATIVE_BEGIN
  id = st->sink->read_body(parent, handle);
  NATIVE_END
  duk_push_number(ctx, (double)id);
  return 1;
}

duk_ret_t native_log(duk_context* ctx) {
  auto* st = state_of(ctx);
  std::string level = get_string(ctx, 0, 16);
  uint64_t req = duk_is_number(ctx, 1) ? require_id(ctx, 1) : 0;
  // One line is at most 4000 bytes; a longer one says how long it was.
  constexpr size_t kLine = 4000;
  duk_size_t n = 0;
  const char* p = duk_safe_to_lstring(ctx, 2, &n);
  std::string text(p, std::min<size_t>(n, kLine));
  if (n > kLine) text += "... [truncated: " + std::to_string(n) + " bytes]";
  NATIVE_BEGIN
  st->sink->log(req, level, text);
  NATIVE_END
  return 0;
}

duk_ret_t native_set_timer(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t req = require_id(ctx, 0);
  double ms = duk_require_number(ctx, 1);
  if (!(ms >= 0)) ms = 0;
  if (ms > 1e9) ms = 1e9;
  uint64_t id = 0;
  NATIVE_BEGIN
  id = st->sink->set_timer(req, (int64_t)ms);
  NATIVE_END
  duk_push_number(ctx, (double)id);
  return 1;
}

duk_ret_t native_clear_timer(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t id = require_id(ctx, 0);
  NATIVE_BEGIN
  st->sink->clear_timer(id);
  NATIVE_END
  return 0;
}

duk_ret_t native_done(duk_context* ctx) {
  auto* st = state_of(ctx);
  uint64_t req = require_id(ctx, 0);
  NATIVE_BEGIN
  st->sink->done(req);
  NATIVE_END
  return 0;
}

const duk_function_list_entry kHostFunctions[] = {
    {"setTimer", native_set_timer, 2},
    {"clearTimer", native_clear_timer, 1},
    {"done", native_done, 1},
    {"respond", native_respond, 5},
    {"fail", native_fail, 4},
    {"subrequest", native_subrequest, 11},
    {"fetch", native_fetch, 6},
    {"readBody", native_read_body, 2},
    {"cacheOp", native_cache_op, 11},
    {"cacheDefault", native_cache_default, 0},
    {"log", native_log, 3},
    {nullptr, nullptr, 0},
};

// "message" of the error at the stack top, with its line when it has one.
std::string describe_error(duk_context* ctx, const std::string& filename) {
  std::string text = get_string(ctx, -1, 4096);
  if (duk_is_error(ctx, -1)) {
    duk_get_prop_string(ctx, -1, "lineNumber");
    if (duk_is_number(ctx, -1)) {
      std::string line = std::to_string(duk_get_int(ctx, -1));
      duk_pop(ctx);
      return filename + ":" + line + ": " + text;
    }
    duk_pop(ctx);
  }
  // Compile errors carry their line only in the message: "(line 3)".
  size_t at = text.rfind("(line ");
  if (at != std::string::npos) {
    size_t end = at + 6;
    while (end < text.size() && isdigit((unsigned char)text[end])) end++;
    if (end > at + 6) return filename + ":" + text.substr(at + 6, end - at - 6) + ": " + text;
  }
  return filename + ": " + text;
}

}  // namespace

WorkerHeap::WorkerHeap(HostSink* sink) : state_(std::make_unique<State>()), sink_(sink) {
  state_->sink = sink;
  ctx_ = duk_create_heap(heap_alloc, heap_realloc, heap_free, state_.get(), heap_fatal);
  if (!ctx_) throw std::runtime_error("duk_create_heap failed");
  duk_context* ctx = ctx_;
  duk_push_global_object(ctx);
  duk_push_object(ctx);
  duk_put_function_list(ctx, -1, kHostFunctions);
  duk_idx_t host = duk_get_top_index(ctx);
  register_url_natives(ctx, host);
  register_headers_natives(ctx, host);
  register_encoding_natives(ctx, host);
  register_crypto_natives(ctx, host);
  duk_put_prop_string(ctx, -2, "__host");
  duk_pop(ctx);

  // The prelude, in order: each file captures the natives it needs from
  // __host in its own closure; runtime.js, last, removes __host.
  struct PreludeFile {
    const char* name;
    const char* source;
  };
  const PreludeFile prelude[] = {
      {"polyfills.js", wfp_polyfills_js}, {"url.js", wfp_url_js},
      {"encoding.js", wfp_encoding_js},   {"crypto.js", wfp_crypto_js},
      {"runtime.js", wfp_runtime_js},
  };
  for (const PreludeFile& f : prelude) {
    duk_push_string(ctx, f.name);
    if (duk_pcompile_string_filename(ctx, 0, f.source) != 0 || duk_pcall(ctx, 0) != 0) {
      std::string err = describe_error(ctx, f.name);
      throw std::runtime_error("runtime prelude failed: " + err);
    }
    duk_pop(ctx);
  }
  // Keep the runtime's entry points where only the host can reach them,
  // then take every host-only name out of the global scope.
  duk_push_heap_stash(ctx);
  duk_push_global_object(ctx);
  duk_get_prop_string(ctx, -1, "__wfp");
  if (!duk_is_object(ctx, -1)) throw std::runtime_error("runtime prelude defined no __wfp");
  duk_put_prop_string(ctx, -3, "wfp");
  duk_del_prop_string(ctx, -1, "__wfp");
  duk_del_prop_string(ctx, -1, "__host");
  // The Duktape object reaches bytecode loading and internals (attack
  // catalogue 11); workers never need it.
  duk_del_prop_string(ctx, -1, "Duktape");
  duk_pop_2(ctx);
#ifdef WFP_TEST_HOOKS
  // Only in build/wfpd-test, for the attack suite (tests/security).
  test_hooks_register(ctx);
#endif
}

WorkerHeap::~WorkerHeap() {
  if (ctx_) {
    state_->limit = 0;
    duk_destroy_heap(ctx_);
  }
}

void WorkerHeap::set_sink(HostSink* sink) {
  sink_ = sink;
  state_->sink = sink;
}

void WorkerHeap::set_memory_limit(size_t bytes) { state_->limit = bytes; }
size_t WorkerHeap::memory_used() const { return state_->used; }
void WorkerHeap::collect_garbage() { duk_gc(ctx_, 0); }

HeapTrip WorkerHeap::tripped() const {
  if (state_->cpu_tripped) return HeapTrip::cpu;
  if (state_->memory_tripped) return HeapTrip::memory;
  return HeapTrip::none;
}

CompileOutput WorkerHeap::compile(const std::string& filename, const std::string& source) {
  CompileOutput out;
  duk_context* ctx = ctx_;
  duk_push_lstring(ctx, filename.data(), filename.size());
  if (duk_pcompile_lstring_filename(ctx, 0, source.data(), source.size()) != 0) {
    out.error = describe_error(ctx, filename);
    duk_pop(ctx);
    return out;
  }
  duk_dump_function(ctx);
  duk_size_t n = 0;
  void* p = duk_get_buffer_data(ctx, -1, &n);
  out.bytecode.assign((const char*)p, n);
  out.ok = true;
  duk_pop(ctx);
  // What a compile leaves is mostly freed by reference counting; the rest
  // (each function's prototype cycle) waits for a collection, which walks
  // the whole heap: ~170 µs here, two thirds of a small deploy's compile.
  // So one collection per 256 KB of source compiled, not one per script.
  compiled_since_gc_ += source.size() + 4096;
  if (compiled_since_gc_ >= 256 * 1024) {
    duk_gc(ctx, 0);
    compiled_since_gc_ = 0;
  }
  return out;
}

namespace {
struct LoadArgs {
  const std::string* bytecode;
};
duk_ret_t safe_json_decode(duk_context* ctx, void*) {
  duk_json_decode(ctx, -1);
  return 1;
}
duk_ret_t safe_load_bytecode(duk_context* ctx, void* udata) {
  auto* a = (LoadArgs*)udata;
  void* p = duk_push_fixed_buffer(ctx, a->bytecode->size());
  memcpy(p, a->bytecode->data(), a->bytecode->size());
  duk_load_function(ctx);
  return 1;
}
}  // namespace

bool WorkerHeap::load(const std::string& label, const std::string& format,
                      const std::string& source, const std::string& bytecode,
                      const std::string& build_id, const std::string& bindings_json,
                      int64_t cpu_ms, ErrorCode& code, std::string& error) {
  duk_context* ctx = ctx_;
  duk_idx_t base = duk_get_top(ctx);
  std::string filename = label + ".js";
  // Bytecode is trusted only from this very build; anything else is
  // compiled again from source (DESIGN: lazily, on first use).
  bool have_fn = false;
  if (!bytecode.empty() && build_id == host_build_id()) {
    LoadArgs a{&bytecode};
    if (duk_safe_call(ctx, safe_load_bytecode, &a, 0, 1) == 0) have_fn = true;
    else duk_pop(ctx);
  }
  if (!have_fn) {
    duk_push_lstring(ctx, filename.data(), filename.size());
    if (duk_pcompile_lstring_filename(ctx, 0, source.data(), source.size()) != 0) {
      code = ErrorCode::compile_error;
      error = describe_error(ctx, filename);
      duk_set_top(ctx, base);
      return false;
    }
  }
  // [fn] → prepare(format, bindings), then run the top level.
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, "wfp");
  duk_remove(ctx, -2);
  duk_get_prop_string(ctx, -1, "prepare");
  duk_dup(ctx, -2);
  duk_push_lstring(ctx, format.data(), format.size());
  duk_push_lstring(ctx, bindings_json.data(), bindings_json.size());
  // Bindings arrive as JSON text made by the supervisor; decode it in a
  // protected call so even a bad document is an error, not a fatal one.
  if (duk_safe_call(ctx, safe_json_decode, nullptr, 1, 1) != 0) {
    code = ErrorCode::internal;
    error = "bindings: " + get_string(ctx, -1, 1024);
    duk_set_top(ctx, base);
    return false;
  }
  bool ok = true;
  arm_deadline(state_.get(), cpu_ms);
  if (duk_pcall_method(ctx, 2) != 0) {
    ok = false;
    code = ErrorCode::internal;
    error = describe_error(ctx, filename);
  }
  duk_pop(ctx);  // prepare's result / error
  if (ok) {
    duk_dup(ctx, base);  // the script function
    if (duk_pcall(ctx, 0) != 0) {
      ok = false;
      code = ErrorCode::exception;
      error = describe_error(ctx, filename);
    }
    duk_pop(ctx);
  }
  if (ok) {
    duk_get_prop_string(ctx, -1, "finish");
    duk_dup(ctx, -2);
    if (duk_pcall_method(ctx, 0) != 0) {
      ok = false;
      code = ErrorCode::internal;
      error = describe_error(ctx, filename);
    } else if (duk_is_string(ctx, -1) && duk_get_length(ctx, -1) > 0) {
      ok = false;
      code = ErrorCode::no_handler;
      error = get_string(ctx, -1, 4096);
    }
    duk_pop(ctx);
  }
  if (ok) {
    duk_get_prop_string(ctx, -1, "drain");
    duk_dup(ctx, -2);
    if (duk_pcall_method(ctx, 0) != 0) ok = false;
    duk_pop(ctx);
  }
  disarm_deadline(state_.get());
  if (state_->cpu_tripped) {
    code = ErrorCode::cpu_limit;
    error = error_text(code);
    ok = false;
  } else if (state_->memory_tripped) {
    code = ErrorCode::memory_limit;
    error = error_text(code);
    ok = false;
  }
  duk_set_top(ctx, base);
  return ok;
}

// Calls __wfp[fn](args…) (the args are on the stack top), then drains the
// microtask queue, all under one CPU deadline.
void WorkerHeap::call_runtime(const char* fn, int nargs, int64_t cpu_ms) {
  duk_context* ctx = ctx_;
  duk_idx_t args_at = duk_get_top(ctx) - nargs;
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, "wfp");
  duk_remove(ctx, -2);               // [args… wfp]
  duk_get_prop_string(ctx, -1, fn);  // [args… wfp fn]
  duk_insert(ctx, args_at);          // [fn args… wfp]
  duk_insert(ctx, args_at + 1);      // [fn wfp args…]
  arm_deadline(state_.get(), cpu_ms);
  if (duk_pcall_method(ctx, nargs) != 0 && tripped() == HeapTrip::none)
    logf(LogLevel::error, "runtime %s failed: %s", fn, get_string(ctx, -1, 1024).c_str());
  duk_pop(ctx);
  if (tripped() == HeapTrip::none) {
    duk_push_heap_stash(ctx);
    duk_get_prop_string(ctx, -1, "wfp");
    duk_get_prop_string(ctx, -1, "drain");
    duk_dup(ctx, -2);
    if (duk_pcall_method(ctx, 0) != 0 && tripped() == HeapTrip::none)
      logf(LogLevel::error, "runtime drain failed: %s", get_string(ctx, -1, 1024).c_str());
    duk_pop_3(ctx);
  }
  disarm_deadline(state_.get());
}

uint64_t WorkerHeap::take_cpu_used_us() {
  uint64_t v = state_->cpu_used_us;
  state_->cpu_used_us = 0;
  return v;
}

void WorkerHeap::handle(uint64_t req, const std::string& method, const std::string& url,
                        const HeaderList& headers, const std::string& body,
                        const std::string& args_json, int64_t cpu_ms, const std::string& env_json) {
  duk_context* ctx = ctx_;
  duk_push_number(ctx, (double)req);
  duk_push_lstring(ctx, method.data(), method.size());
  duk_push_lstring(ctx, url.data(), url.size());
  push_pairs(ctx, headers);
  push_bytes(ctx, body);
  duk_push_lstring(ctx, args_json.data(), args_json.size());
  duk_push_lstring(ctx, env_json.data(), env_json.size());
  call_runtime("handle", 7, cpu_ms);
}

void WorkerHeap::sub_resolve(uint64_t sub, const SubAnswer& a, int64_t cpu_ms) {
  duk_context* ctx = ctx_;
  duk_push_number(ctx, (double)sub);
  duk_push_int(ctx, a.status);
  duk_push_lstring(ctx, a.status_text.data(), a.status_text.size());
  push_pairs(ctx, a.headers);
  push_bytes(ctx, a.body);
  duk_push_number(ctx, (double)a.body_handle);
  duk_push_number(ctx, (double)a.body_size);
  duk_push_lstring(ctx, a.url.data(), a.url.size());
  duk_push_boolean(ctx, a.redirected);
  call_runtime("subResolve", 9, cpu_ms);
}

void WorkerHeap::body_resolve(uint64_t read, const std::string& bytes, int64_t cpu_ms) {
  duk_push_number(ctx_, (double)read);
  push_bytes(ctx_, bytes);
  call_runtime("bodyResolve", 2, cpu_ms);
}

void WorkerHeap::cache_resolve(uint64_t sub, bool value, int64_t cpu_ms) {
  duk_push_number(ctx_, (double)sub);
  duk_push_boolean(ctx_, value);
  call_runtime("cacheResolve", 2, cpu_ms);
}

void WorkerHeap::set_cache_default(bool allowed) { state_->cache_default = allowed; }

void WorkerHeap::body_reject(uint64_t read, const std::string& message, int64_t cpu_ms) {
  duk_push_number(ctx_, (double)read);
  duk_push_lstring(ctx_, message.data(), message.size());
  call_runtime("bodyReject", 2, cpu_ms);
}

void WorkerHeap::sub_resolve(uint64_t sub, uint64_t, int status, const std::string& status_text,
                             const HeaderList& headers, const std::string& body, int64_t cpu_ms) {
  duk_context* ctx = ctx_;
  duk_push_number(ctx, (double)sub);
  duk_push_int(ctx, status);
  duk_push_lstring(ctx, status_text.data(), status_text.size());
  push_pairs(ctx, headers);
  push_bytes(ctx, body);
  call_runtime("subResolve", 5, cpu_ms);
}

void WorkerHeap::fire_timer(uint64_t timer, int64_t cpu_ms) {
  duk_push_number(ctx_, (double)timer);
  call_runtime("fireTimer", 1, cpu_ms);
}

void WorkerHeap::sub_reject(uint64_t sub, uint64_t, const std::string& message, int64_t cpu_ms) {
  duk_context* ctx = ctx_;
  duk_push_number(ctx, (double)sub);
  duk_push_lstring(ctx, message.data(), message.size());
  call_runtime("subReject", 2, cpu_ms);
}

// eval() is for test and benchmark programs in the build tree: the host
// callback is reachable only while an eval call lasts (the stash holds a
// pointer to it then, and nothing otherwise).
namespace {
duk_ret_t native_eval_host_call(duk_context* ctx) {
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, "evalHost");
  auto* host = (const WorkerHeap::EvalHost*)duk_get_pointer(ctx, -1);
  duk_pop_2(ctx);
  if (!host || !*host) duk_error(ctx, DUK_ERR_ERROR, "__host_call: no host outside eval()");
  std::string op = get_string(ctx, 0, 1024);
  std::string arg = get_string(ctx, 1, (size_t)1 << 30);
  std::string out;
  NATIVE_BEGIN
  out = (*host)(op, arg);
  NATIVE_END
  duk_push_lstring(ctx, out.data(), out.size());
  return 1;
}
}  // namespace

bool WorkerHeap::eval(const std::string& filename, const std::string& source, std::string& result,
                      const EvalHost& host) {
  duk_context* ctx = ctx_;
  duk_idx_t base = duk_get_top(ctx);
  duk_push_heap_stash(ctx);
  duk_push_pointer(ctx, host ? (void*)&host : nullptr);
  duk_put_prop_string(ctx, -2, "evalHost");
  duk_pop(ctx);
  duk_push_global_object(ctx);
  duk_push_c_function(ctx, native_eval_host_call, 2);
  duk_put_prop_string(ctx, -2, "__host_call");
  duk_pop(ctx);
  state_->deadline_armed = false;

  bool ok = true;
  duk_push_lstring(ctx, filename.data(), filename.size());
  if (duk_pcompile_lstring_filename(ctx, 0, source.data(), source.size()) != 0 ||
      duk_pcall(ctx, 0) != 0) {
    ok = false;
    result = describe_error(ctx, filename);
  } else {
    result = get_string(ctx, -1, (size_t)1 << 30);
  }
  duk_set_top(ctx, base);
  if (tripped() == HeapTrip::none) {
    duk_push_heap_stash(ctx);
    duk_get_prop_string(ctx, -1, "wfp");
    duk_get_prop_string(ctx, -1, "drain");
    duk_dup(ctx, -2);
    if (duk_pcall_method(ctx, 0) != 0 && ok) {
      ok = false;
      result = describe_error(ctx, filename);
    }
    duk_set_top(ctx, base);
  }
  duk_push_heap_stash(ctx);
  duk_push_pointer(ctx, nullptr);
  duk_put_prop_string(ctx, -2, "evalHost");
  duk_set_top(ctx, base);
  return ok;
}

}  // namespace wfp

namespace {
double g_clock_ms = 0;  // the frozen clock, once host_clock_advance() ran
bool g_clock_frozen = false;
double real_now_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}
}  // namespace

void wfp::host_cpu_runner_mode() { g_cpu_runner_mode = true; }

void wfp::host_clock_advance() {
  if (!g_cpu_runner_mode) g_cpu_mark_valid = false;
  g_clock_ms = real_now_ms();
  g_clock_frozen = true;
}

// Duktape's Date provider (duk_config_overrides.h): whole milliseconds.
double wfp_duk_date_now() { return g_clock_frozen ? g_clock_ms : real_now_ms(); }

// Called by Duktape at every interrupt (DUK_USE_EXEC_TIMEOUT_CHECK). Once
// the deadline has passed it keeps answering true, so a catch or finally
// block can't run on borrowed time.
duk_bool_t wfp_duk_exec_timeout_check(void* udata) {
  auto* st = (wfp::WorkerHeap::State*)udata;
  if (!st || !st->deadline_armed) return 0;
  if (st->cpu_tripped) return 1;
  timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  if (!wfp::after(mono, st->wall_deadline)) return 0;
  if (wfp::after(wfp::thread_cpu_now(), st->deadline)) {
    st->cpu_tripped = true;
    return 1;
  }
  return 0;
}
