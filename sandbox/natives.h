// Registration of the native (C++) parts of the Workers runtime. Each
// module adds its functions to the `__host` object the prelude files see;
// runtime.js, evaluated last, removes `__host` from the global scope, so
// tenant code reaches these natives only through the prelude's closures.
// Runs in every heap the host makes (zygote image, sandbox, dispatcher).
#pragma once

struct duk_hthread;

namespace wfp {

// `host` is the stack index of the __host object.
void register_url_natives(duk_hthread* ctx, int host);       // sandbox/url_natives.cc
void register_headers_natives(duk_hthread* ctx, int host);   // sandbox/headers_natives.cc
void register_encoding_natives(duk_hthread* ctx, int host);  // sandbox/encoding_natives.cc
void register_crypto_natives(duk_hthread* ctx, int host);    // sandbox/crypto_natives.cc

// Process-wide set-up that must happen before the seccomp lock (OpenSSL
// reads its configuration from files). Called once by the zygote.
void init_crypto_before_lockdown();

}  // namespace wfp
