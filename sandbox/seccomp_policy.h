// Seccomp allow-lists per locked role. Runs in locked children just
// before they touch tenant code, and in wfpd --print-seccomp-policy.
#pragma once
#include <string>

#include "ipc/messages.h"

namespace wfp {

// Loads the role's filter (default: kill the process). Returns false with
// `error` filled if the kernel or libseccomp refused.
bool seccomp_lock(Role role, std::string& error);

// The policy as text, one syscall per line with its reason.
std::string seccomp_policy_text(Role role);

}  // namespace wfp
