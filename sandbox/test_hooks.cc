// Test-only natives for the attack suite (tests/security): the global
// __wfp_test, which lets worker code act as an attacker who already broke
// out of the engine. Compiled only into build/wfpd-test (-DWFP_TEST_HOOKS);
// the release wfpd has no trace of it (tests/security/test_build_test.cc
// checks its bytes). Runs in locked children; it exists to do harm, so it
// checks arguments only as far as it needs to stay a well-formed native.
#ifdef WFP_TEST_HOOKS
#include "sandbox/test_hooks.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "duktape.h"
#include "ipc/channel.h"

namespace wfp {
namespace {

// The runner's channel, for crafted frames. A process-wide pointer (STYLE
// says no mutable globals): the hooks are natives with no other way to find
// it, and the test build is the only place it exists.
Channel* g_channel = nullptr;

// As in host.cc: our exceptions become JS errors after the try block, so
// Duktape unwinds with its own exception type only.
#define NATIVE_BEGIN std::string wfp_err_; try {
#define NATIVE_END                                                         \
  } catch (const std::exception& e) { wfp_err_ = e.what(); }              \
  if (!wfp_err_.empty()) duk_error(ctx, DUK_ERR_ERROR, "%s", wfp_err_.c_str());

Channel& channel(duk_context* ctx) {
  if (!g_channel) duk_error(ctx, DUK_ERR_ERROR, "__wfp_test: no channel attached in this process");
  return *g_channel;
}

// A syscall argument: a number as itself, a string or buffer as a pointer
// to its bytes (valid while the value stays on the stack; Duktape strings
// end in NUL), anything else as 0.
long syscall_arg(duk_context* ctx, duk_idx_t i) {
  if (duk_is_number(ctx, i)) return (long)(int64_t)duk_get_number(ctx, i);
  if (duk_is_string(ctx, i)) return (long)(uintptr_t)duk_get_string(ctx, i);
  if (duk_is_buffer_data(ctx, i)) return (long)(uintptr_t)duk_get_buffer_data(ctx, i, nullptr);
  return 0;
}

// The raw kernel answer: a value, or -errno.
void push_syscall_result(duk_context* ctx, long r) {
  duk_push_number(ctx, (double)(r == -1 ? -errno : r));
}

duk_ret_t hook_syscall(duk_context* ctx) {
  long nr = (long)duk_require_number(ctx, 0);
  long a[6];
  for (int k = 0; k < 6; k++) a[k] = syscall_arg(ctx, k + 1);
  push_syscall_result(ctx, syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
  return 1;
}

// The same number through the x32 ABI (the bit the x86_64 filter rejects).
duk_ret_t hook_x32(duk_context* ctx) {
#if defined(__x86_64__)
  long nr = (long)duk_require_number(ctx, 0) | __X32_SYSCALL_BIT;
  long a[6];
  for (int k = 0; k < 6; k++) a[k] = syscall_arg(ctx, k + 1);
  push_syscall_result(ctx, syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
  return 1;
#else
  return duk_error(ctx, DUK_ERR_ERROR, "__wfp_test.x32: x86_64 only");
#endif
}

// An i386 system call from 64-bit code: the legacy `int $0x80` entry,
// with the i386 numbering and registers (ebx, ecx, edx, esi, edi).
duk_ret_t hook_int80(duk_context* ctx) {
#if defined(__x86_64__)
  long nr = (long)duk_require_number(ctx, 0);
  long a[5];
  for (int k = 0; k < 5; k++) a[k] = syscall_arg(ctx, k + 1);
  long ret;
  // The kernel clears r8-r11 on this path: tell the compiler.
  asm volatile("int $0x80"
               : "=a"(ret)
               : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
               : "memory", "r8", "r9", "r10", "r11");
  duk_push_number(ctx, (double)ret);
  return 1;
#else
  return duk_error(ctx, DUK_ERR_ERROR, "__wfp_test.int80: x86_64 only");
#endif
}

// UBSan would report the null store below before the SIGSEGV it is meant
// to cause (make asan).
__attribute__((no_sanitize("undefined"))) duk_ret_t hook_crash(duk_context* ctx) {
  std::string kind = duk_require_string(ctx, 0);
  if (kind == "segv") {
    // Through a volatile pointer, so the compiler can't turn it into a trap.
    volatile int* volatile p = nullptr;
    *p = 1;
  } else if (kind == "abort") {
    std::abort();
  }
  return duk_error(ctx, DUK_ERR_RANGE_ERROR, "__wfp_test.crash: \"segv\" or \"abort\"");
}

// Bytes from JS: a buffer's bytes, or a string whose every character is
// U+0000..U+00FF, one byte each (Duktape keeps strings as UTF-8 inside).
std::string bytes_of(duk_context* ctx, duk_idx_t i) {
  if (duk_is_buffer_data(ctx, i)) {
    duk_size_t n = 0;
    void* p = duk_get_buffer_data(ctx, i, &n);
    return std::string((const char*)p, n);
  }
  duk_size_t n = 0;
  const char* s = duk_require_lstring(ctx, i, &n);
  std::string out;
  out.reserve(n);
  for (size_t k = 0; k < n; k++) {
    unsigned char c = (unsigned char)s[k];
    if (c < 0x80) {
      out += (char)c;
    } else if ((c == 0xC2 || c == 0xC3) && k + 1 < n && ((unsigned char)s[k + 1] & 0xC0) == 0x80) {
      out += (char)(((c & 0x03) << 6) | ((unsigned char)s[k + 1] & 0x3F));
      k++;
    } else {
      duk_error(ctx, DUK_ERR_RANGE_ERROR, "__wfp_test: byte strings only (U+0000..U+00FF)");
    }
  }
  return out;
}

// frame(type, request_id, payload): a message of any type, id and payload,
// framed correctly, as a compromised child would send it.
duk_ret_t hook_frame(duk_context* ctx) {
  double type = duk_require_number(ctx, 0);
  double id = duk_require_number(ctx, 1);
  std::string payload = bytes_of(ctx, 2);
  Channel& ch = channel(ctx);
  NATIVE_BEGIN
  ch.send((MsgType)(uint16_t)type, (uint64_t)id, payload);
  NATIVE_END
  return 0;
}

// raw(bytes): bytes straight into the ring, no framing (bad lengths).
duk_ret_t hook_raw(duk_context* ctx) {
  std::string bytes = bytes_of(ctx, 0);
  Channel& ch = channel(ctx);
  bool ok = false;
  NATIVE_BEGIN
  ok = ch.test_write_raw(bytes);
  NATIVE_END
  duk_push_boolean(ctx, ok);
  return 1;
}

// sendFd(): one doorbell byte with an fd attached (SCM_RIGHTS): the
// doorbell's own fd, the one fd a locked child is sure to have. Returns
// sendmsg's result or -errno, if the seccomp policy lets it return at all.
duk_ret_t hook_send_fd(duk_context* ctx) {
  Channel& ch = channel(ctx);
  int fd = ch.doorbell_fd();
  char byte = 1;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  push_syscall_result(ctx, (long)sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
  return 1;
}

const duk_function_list_entry kTestHooks[] = {
    {"syscall", hook_syscall, 7},
    {"x32", hook_x32, 7},
    {"int80", hook_int80, 6},
    {"crash", hook_crash, 1},
    {"frame", hook_frame, 3},
    {"raw", hook_raw, 1},
    {"sendFd", hook_send_fd, 0},
    {nullptr, nullptr, 0},
};

}  // namespace

void test_hooks_register(duk_hthread* ctx) {
  duk_push_global_object(ctx);
  duk_push_object(ctx);
  duk_put_function_list(ctx, -1, kTestHooks);
  duk_put_prop_string(ctx, -2, "__wfp_test");
  duk_pop(ctx);
}

void test_hooks_attach(Channel* ch) { g_channel = ch; }

}  // namespace wfp
#endif  // WFP_TEST_HOOKS
