// Hooks for the attack suite (tests/security), compiled only into
// build/wfpd-test (-DWFP_TEST_HOOKS): they let a worker do what only an
// attacker who broke out of the engine could (raw syscalls, crafted
// frames, crashes). The release build has none of this; a test checks.
#pragma once
#ifdef WFP_TEST_HOOKS
struct duk_hthread;

namespace wfp {

class Channel;

// Defines the global __wfp_test in a new heap (host.cc).
void test_hooks_register(duk_hthread* ctx);
// Gives the hooks the runner's channel, for crafted frames (runner.cc).
void test_hooks_attach(Channel* ch);

}  // namespace wfp
#endif
