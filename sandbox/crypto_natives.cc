// Native crypto functions for the Workers runtime (placeholder until written).
// Runs in every heap; arguments come from tenant code (hostile).
#include "sandbox/natives.h"

namespace wfp {

void register_crypto_natives(duk_hthread*, int) {}
void init_crypto_before_lockdown() {}

}  // namespace wfp
