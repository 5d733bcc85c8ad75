// libFuzzer target: message payload decoding (ipc/wire.h, ipc/messages.cc).
// The supervisor decodes each child's messages inside Daemon::handle_message
// (supervisor/daemon*.cc) and the runner decodes the supervisor's in
// sandbox/runner.cc; both are too big to run in-process, so this target runs
// WireReader with the same read sequences and limits, copied from those
// functions (keep them in step). Input: [type byte] then the payload.
//
// Besides the sanitizers it checks the codec: a payload the reader accepts
// (done()) re-encodes with WireWriter to exactly the same bytes, so a
// message has one encoding, and a payload over its type's size limit
// (msg_rule) is one the channel refuses before any reader sees it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/messages.h"
#include "ipc/wire.h"

namespace {

using wfp::MsgType;

// One read of a sequence: b u8, w u32, q u64, i i64, s str(max), p pairs(count, item).
struct Field {
  char kind;
  size_t max = SIZE_MAX;
  size_t item = 0;
};

struct Layout {
  MsgType type;
  const char* who;  // where the reads are
  std::initializer_list<Field> fields;
};

constexpr size_t kAny = SIZE_MAX;
const Field b{'b'}, w{'w'}, q{'q'}, i{'i'};
Field s(size_t max = kAny) { return Field{'s', max}; }
Field p(size_t count, size_t item) { return Field{'p', count, item}; }

const Layout kLayouts[] = {
    // Child → supervisor (supervisor/daemon*.cc).
    {MsgType::hello, "Daemon::handle_message", {s(64)}},
    {MsgType::load_result, "Daemon::handle_message", {q, w, s(8192)}},
    {MsgType::response, "Daemon::handle_message", {w, s(1024), p(1000, 256 * 1024), s(), q, b, q}},
    {MsgType::request_failed, "Daemon::handle_message", {w, s(8192), s(32768), b, q}},
    {MsgType::log, "Daemon::handle_message", {s(16), s(wfp::kLogTextMax)}},
    {MsgType::compile_result, "Daemon::handle_message", {w, s(), s(64), s(8192), s(), s(32), s()}},
    {MsgType::subrequest, "Daemon subrequest",
     {q, s(256), s(256), s(1 << 20), s(64), s(64 * 1024), p(1000, 256 * 1024), s(), i, i, q,
      s(64 * 1024)}},
    {MsgType::fetch, "daemon_fetch.cc", {q, s(64), s(64 * 1024), p(1000, 256 * 1024), s(), q, b}},
    {MsgType::body_read, "daemon_fetch.cc", {q, q}},
    // cache_op's put form (op 1); the other ops stop after ignore_method.
    {MsgType::cache_op, "daemon_cache.cc",
     {q, b, b, s(4096), s(64 * 1024), s(64), p(1000, 256 * 1024), b, w, p(1000, 256 * 1024), s(),
      q}},
    // Supervisor → runner (sandbox/runner.cc).
    {MsgType::load_worker, "Runner load_worker",
     {q, s(256), s(32), s(), s(), s(64), s(), i, i, s(), s(), b}},
    {MsgType::request, "Runner request",
     {q, s(64), s(64 * 1024), p(1000, 256 * 1024), s(), s(1 << 20), i, i, w, s(1 << 20)}},
    {MsgType::subresponse, "Runner subresponse",
     {w, s(1024), p(1000, 256 * 1024), s(), q, q, s(64 * 1024), b}},
    {MsgType::cache_result, "Runner cache_result", {b}},
    {MsgType::body_data, "Runner body_data", {w, s()}},
    {MsgType::subrequest_failed, "Runner subrequest_failed", {w, s(8192)}},
};

// The line-map parser the runner applies to load_worker's line_map string
// (sandbox/runner.cc parse_line_map, copied: it is file-local there).
void parse_line_map(const std::string& json) {
  int cur = 0;
  bool in_num = false;
  for (char ch : json) {
    if (ch >= '0' && ch <= '9') {
      cur = cur * 10 + (ch - '0');  // UBSan: must not overflow
      in_num = true;
      if (cur > 100000000) return;
    } else if (in_num) {
      cur = 0;
      in_num = false;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Layout& l = kLayouts[data[0] % (sizeof kLayouts / sizeof kLayouts[0])];
  std::string_view payload((const char*)data + 1, size - 1);
  const wfp::MsgRule* rule = wfp::msg_rule((uint16_t)l.type);
  if (!rule || rule->type != l.type) __builtin_trap();
  // The channel refuses a message over its limit before anyone decodes it.
  if (payload.size() > rule->max_bytes) return 0;

  wfp::WireReader r(payload);
  wfp::WireWriter out;
  for (const Field& f : l.fields) {
    switch (f.kind) {
      case 'b': out.u8(r.u8()); break;
      case 'w': out.u32(r.u32()); break;
      case 'q': out.u64(r.u64()); break;
      case 'i': out.i64(r.i64()); break;
      case 's': {
        std::string v = r.str(f.max);
        if (v.size() > f.max) __builtin_trap();
        if (l.type == MsgType::load_worker && &f == l.fields.begin() + 10) parse_line_map(v);
        out.str(v);
        break;
      }
      case 'p': {
        auto v = r.pairs(f.max, f.item);
        if (v.size() > f.max) __builtin_trap();
        for (auto& [k, val] : v)
          if (k.size() > f.item || val.size() > f.item) __builtin_trap();
        out.pairs(v);
        break;
      }
    }
  }
  if (r.done() && out.data() != payload) __builtin_trap();
  if (!r.ok() && r.done()) __builtin_trap();
  return 0;
}
