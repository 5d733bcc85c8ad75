// Native encoding functions for the Workers runtime (placeholder until written).
// Runs in every heap; arguments come from tenant code (hostile).
#include "sandbox/natives.h"

namespace wfp {

void register_encoding_natives(duk_hthread*, int) {}

}  // namespace wfp
