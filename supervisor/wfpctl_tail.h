// `wfpctl tail`: a tail session on wfpd (POST BASE/tails), polled until
// Ctrl-C, a SIGTERM or wfpd ends it. Runs in wfpctl.
#pragma once
#include <string>

namespace wfp {

// `base` is the admin path of the script or worker
// (/workers/dispatch/namespaces/NS/scripts/NAME or /workers/scripts/NAME),
// `what` how to name it in messages. Human lines by default, one JSON
// event per line with `json`. Returns wfpctl's exit status: 0 when the
// user ended it, 1 when wfpd refused, could not be reached or went away.
int run_tail(const std::string& socket, const std::string& base, const std::string& what, bool json);

}  // namespace wfp
