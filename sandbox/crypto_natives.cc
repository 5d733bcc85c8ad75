// Native halves of crypto.getRandomValues, randomUUID and crypto.subtle (SHA digests, HMAC).
// OpenSSL is set up by the zygote before any child locks itself down; the natives run in
// every heap afterwards, under seccomp. Arguments come from tenant code and are hostile.
#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "duktape.h"
#include "ipc/log.h"
#include "sandbox/natives.h"

namespace wfp {
namespace {

// What OpenSSL needs at run time, fetched once before the seccomp lock:
// after it, OpenSSL may not open its configuration or load a provider.
// Written only by init_crypto_before_lockdown (in the zygote, or in a test
// process before its first heap), read-only afterwards; forked children
// inherit it. Algorithm ids are the ones crypto.js passes: 1 SHA-1,
// 2 SHA-256, 3 SHA-384, 4 SHA-512.
struct CryptoLibrary {
  bool ready = false;
  EVP_MD* digests[5] = {};
  EVP_MAC* hmac = nullptr;
};
CryptoLibrary g_crypto;

constexpr size_t kMaxRandomBytes = 65536;  // WebCrypto's getRandomValues quota

const EVP_MD* digest_of(duk_context* ctx, duk_idx_t i) {
  int id = duk_get_int_default(ctx, i, 0);
  if (id < 1 || id > 4 || !g_crypto.digests[id])
    duk_error(ctx, DUK_ERR_ERROR, "crypto: unknown digest id %d", id);
  return g_crypto.digests[id];
}

// Bytes of an ArrayBuffer, typed array or DataView (its visible slice).
const uint8_t* get_buffer_source(duk_context* ctx, duk_idx_t i, size_t& n, const char* who) {
  if (!duk_is_buffer_data(ctx, i))
    duk_type_error(ctx, "%s: argument must be an ArrayBuffer or an ArrayBufferView", who);
  duk_size_t len = 0;
  void* p = duk_get_buffer_data(ctx, i, &len);
  n = p ? len : 0;
  return p ? (const uint8_t*)p : (const uint8_t*)"";
}

// A failed OpenSSL call: its queue is cleared (it is per thread and would
// otherwise grow) and the caller gets an Error, turned into an
// OperationError by crypto.js.
[[noreturn]] void openssl_failed(duk_context* ctx, const char* what) {
  unsigned long e = ERR_get_error();
  char text[256] = "unknown error";
  if (e) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  duk_error(ctx, DUK_ERR_ERROR, "%s failed: %s", what, text);
  __builtin_unreachable();
}

void fill_random(duk_context* ctx, uint8_t* p, size_t n) {
  // getrandom(2) with no flags: blocks only before the kernel pool is
  // seeded at boot, never fails short of EINTR on these sizes.
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      duk_error(ctx, DUK_ERR_ERROR, "getrandom failed: %s", strerror(errno));
    }
    p += got;
    n -= (size_t)got;
  }
}

// randomFill(view): fills the view's bytes (crypto.js checks its type and size).
duk_ret_t native_random_fill(duk_context* ctx) {
  size_t n = 0;
  auto* p = (uint8_t*)get_buffer_source(ctx, 0, n, "crypto.getRandomValues");
  if (n > kMaxRandomBytes) duk_range_error(ctx, "crypto.getRandomValues: more than 65536 bytes");
  if (n) fill_random(ctx, p, n);
  return 0;
}

// randomUUID() → a version 4 UUID, lower case (RFC 9562).
duk_ret_t native_random_uuid(duk_context* ctx) {
  uint8_t b[16];
  fill_random(ctx, b, sizeof b);
  b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
  static const char hex[] = "0123456789abcdef";
  char out[36];
  size_t w = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[w++] = '-';
    out[w++] = hex[b[i] >> 4];
    out[w++] = hex[b[i] & 15];
  }
  duk_push_lstring(ctx, out, sizeof out);
  return 1;
}

// Leaves a new ArrayBuffer of n bytes on the stack; returns its data.
uint8_t* push_array_buffer(duk_context* ctx, size_t n) {
  void* p = duk_push_fixed_buffer(ctx, n);
  duk_push_buffer_object(ctx, -1, 0, n, DUK_BUFOBJ_ARRAYBUFFER);
  duk_remove(ctx, -2);
  return (uint8_t*)p;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// digest(id, data) → ArrayBuffer.
duk_ret_t native_digest(duk_context* ctx) {
  const EVP_MD* md = digest_of(ctx, 0);
  size_t n = 0;
  const uint8_t* data = get_buffer_source(ctx, 1, n, "crypto.subtle.digest");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // Destructors run even when a duk error unwinds (C++ exception mode).
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> c(EVP_MD_CTX_new());
  if (!c || !EVP_DigestInit_ex(c.get(), md, nullptr) || !EVP_DigestUpdate(c.get(), data, n) ||
      !EVP_DigestFinal_ex(c.get(), out, &len))
    openssl_failed(ctx, "digest");
  c.reset();
  memcpy(push_array_buffer(ctx, len), out, len);
  return 1;
}

// hmac(id, key, data) → ArrayBuffer. The key is whatever crypto.js's
// sealed box held; the tenant never has a reference to it.
duk_ret_t native_hmac(duk_context* ctx) {
  const EVP_MD* md = digest_of(ctx, 0);
  size_t key_len = 0, n = 0;
  const uint8_t* key = get_buffer_source(ctx, 1, key_len, "crypto.subtle.sign");
  const uint8_t* data = get_buffer_source(ctx, 2, n, "crypto.subtle.sign");
  // The digest goes by name; OpenSSL finds it in the method cache filled
  // before the lock (no provider load, no file).
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               const_cast<char*>(EVP_MD_get0_name(md)), 0);
  params[1] = OSSL_PARAM_construct_end();
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  // OpenSSL refuses a null key pointer even for length 0.
  static const unsigned char empty = 0;
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(g_crypto.hmac));
  if (!c || !EVP_MAC_init(c.get(), key_len ? key : &empty, key_len, params) ||
      !EVP_MAC_update(c.get(), data, n) || !EVP_MAC_final(c.get(), out, &len, sizeof out))
    openssl_failed(ctx, "hmac");
  c.reset();
  memcpy(push_array_buffer(ctx, len), out, len);
  OPENSSL_cleanse(out, sizeof out);
  return 1;
}

// equal(a, b) → true when both hold the same bytes; the time taken depends
// on the length only, never on where the bytes differ.
duk_ret_t native_equal(duk_context* ctx) {
  size_t na = 0, nb = 0;
  const uint8_t* a = get_buffer_source(ctx, 0, na, "crypto.subtle.verify");
  const uint8_t* b = get_buffer_source(ctx, 1, nb, "crypto.subtle.verify");
  duk_push_boolean(ctx, na == nb && CRYPTO_memcmp(a, b, na) == 0);
  return 1;
}

// copy(data) → a new ArrayBuffer with the same bytes (key material is
// copied at import, so the tenant cannot change a key through its buffer).
duk_ret_t native_copy(duk_context* ctx) {
  size_t n = 0;
  const uint8_t* data = get_buffer_source(ctx, 0, n, "crypto.subtle");
  uint8_t* out = push_array_buffer(ctx, n);
  if (n) memcpy(out, data, n);
  return 1;
}

// blockSize(id) → bytes of that digest's block: the default length of an HMAC key.
duk_ret_t native_block_size(duk_context* ctx) {
  duk_push_int(ctx, EVP_MD_get_block_size(digest_of(ctx, 0)));
  return 1;
}

const duk_function_list_entry kCryptoFunctions[] = {
    {"cryptoRandomFill", native_random_fill, 1},
    {"cryptoRandomUUID", native_random_uuid, 0},
    {"cryptoDigest", native_digest, 2},
    {"cryptoHmac", native_hmac, 3},
    {"cryptoEqual", native_equal, 2},
    {"cryptoBlockSize", native_block_size, 1},
    {"cryptoCopy", native_copy, 1},
    {nullptr, nullptr, 0},
};

}  // namespace

void register_crypto_natives(duk_hthread* ctx, int host) {
  // A process that never ran the zygote's set-up (unit tests, tools) does it
  // on its first heap, while it is not locked.
  init_crypto_before_lockdown();
  duk_put_function_list(ctx, host, kCryptoFunctions);
}

void init_crypto_before_lockdown() {
  if (g_crypto.ready) return;
  // No configuration file: nothing in it is needed, and reading it later
  // would be an open(2) the seccomp policy kills.
  if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr)) {
    logf(LogLevel::error, "crypto: OPENSSL_init_crypto failed");
    return;
  }
  const char* names[5] = {nullptr, "SHA1", "SHA256", "SHA384", "SHA512"};
  for (int i = 1; i < 5; i++) {
    g_crypto.digests[i] = EVP_MD_fetch(nullptr, names[i], nullptr);
    if (!g_crypto.digests[i]) logf(LogLevel::error, "crypto: EVP_MD_fetch(%s) failed", names[i]);
  }
  g_crypto.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!g_crypto.hmac) logf(LogLevel::error, "crypto: EVP_MAC_fetch(HMAC) failed");
  // One HMAC per digest now, so every lazy table OpenSSL fills on first use
  // is filled before the lock, not in a locked child.
  static const unsigned char key[] = "warm-up", data[] = "warm-up";
  for (int i = 1; i < 5 && g_crypto.hmac; i++) {
    if (!g_crypto.digests[i]) continue;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(EVP_MD_get0_name(g_crypto.digests[i])), 0),
        OSSL_PARAM_construct_end()};
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    EVP_MAC_CTX* c = EVP_MAC_CTX_new(g_crypto.hmac);
    if (!c || !EVP_MAC_init(c, key, sizeof key, params) || !EVP_MAC_update(c, data, sizeof data) ||
        !EVP_MAC_final(c, out, &len, sizeof out))
      logf(LogLevel::error, "crypto: HMAC warm-up failed for %s", names[i]);
    EVP_MAC_CTX_free(c);
  }
  ERR_clear_error();
  g_crypto.ready = true;
}

}  // namespace wfp
