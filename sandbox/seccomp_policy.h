// Seccomp allow-lists, one per locked role (zygote, dispatcher, sandbox,
// compiler). Runs in the zygote and in each locked child as the last step
// of their lock-down, and in wfpd --print-seccomp-policy.
#pragma once
#include <string>

#include "ipc/messages.h"

namespace wfp {

// Loads the role's filter: native x86_64 entry points only, default kill
// the process. Filters stack: a child of the zygote runs under the
// zygote's filter and its own. Returns false with `error` filled if the
// role has no policy (the supervisor) or the kernel or libseccomp refused.
bool seccomp_lock(Role role, std::string& error);

// The role's policy as text, exactly as seccomp_lock enforces it: the
// architecture checks, then one system call per row with its argument
// conditions and who needs it. Empty for a role without a policy.
std::string seccomp_policy_text(Role role);

}  // namespace wfp
