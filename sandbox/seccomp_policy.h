// Seccomp allow-lists, one per locked role (zygote, dispatcher, sandbox,
// compiler). Runs in the zygote and in each locked child as the last step
// of their lock-down, and in wfpd --print-seccomp-policy.
#pragma once
#include <string>

#include "ipc/messages.h"

// A sanitizer build (`make asan`: -DWFP_SANITIZE, or any ASan build). The
// locked processes then differ from a release build in three ways, none of
// which a release build can be switched into: no RLIMIT_AS (ASan reserves
// terabytes of shadow), no LeakSanitizer (its checker needs ptrace), and the
// seccomp debug trap below plus the few rows the sanitizer runtime needs.
#if defined(WFP_SANITIZE) || defined(__SANITIZE_ADDRESS__)
#define WFP_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WFP_SANITIZER_BUILD 1
#endif
#endif

namespace wfp {

// Loads the role's filter: native x86_64 entry points only, default kill
// the process. In a sanitizer build the default is the debug trap instead:
// a SIGSYS handler writes the role and the system call's number to the
// report fd, then dies of SIGSYS all the same. Filters stack: a child of the zygote runs under the
// zygote's filter and its own. Returns false with `error` filled if the
// role has no policy (the supervisor) or the kernel or libseccomp refused.
bool seccomp_lock(Role role, std::string& error);

// The role's policy as text, exactly as seccomp_lock enforces it: the
// architecture checks, then one system call per row with its argument
// conditions and who needs it. Empty for a role without a policy.
std::string seccomp_policy_text(Role role);

#ifdef WFP_SANITIZER_BUILD
// Where the debug trap writes its line: stderr (2) until set. A locked child
// has no stderr; sandbox/zygote.cc gives it the sanitizer's report fd.
void seccomp_set_report_fd(int fd);
#endif

}  // namespace wfp
