// Who may reach what (see daemon.h): the gate in front of the admin API on
// its Unix socket (file mode, rate per uid) and its TCP listener (bearer
// token, rate per address), and the client address and scheme a public
// request is believed to come from (trusted_proxies). Runs in the
// supervisor's event loop; admin clients on TCP and every public client
// are hostile until the gate or trusted_proxies says otherwise.
#include <chrono>

#include "ipc/log.h"
#include "supervisor/admin_api.h"
#include "supervisor/daemon.h"
#include "supervisor/daemon_internal.h"
#include "supervisor/forwarded.h"

namespace wfp {

void Daemon::admin_request(const std::shared_ptr<HttpExchange>& ex, bool tcp) {
  double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  if (auto refusal = admin_gate_.check(ex->request(), tcp, now)) {
    if (!refusal->log.empty()) logf(LogLevel::warn, "%s", refusal->log.c_str());
    return ex->respond(std::move(refusal->response));
  }
  handle_admin_request(*this, ex);
}

// The keys read here are reloadable; check_config has accepted them already
// (the token file was readable a moment ago), so a failure now keeps the
// old value and says so.
void Daemon::configure_access(bool reread_token) {
  admin_gate_.set_rate(config_.admin_rate_limit);
  std::vector<Network> trusted;
  std::string why;
  if (parse_networks(config_.trusted_proxies, trusted, why))
    trusted_proxies_ = std::move(trusted);
  else
    logf(LogLevel::error, "trusted_proxies: %s; the previous list stays", why.c_str());
  if (!reread_token || admin_tcp_.fd < 0) return;
  if (config_.admin_token_file.empty()) {
    // Fail closed: the listener stays open until a restart, but nothing
    // authenticates on it any more.
    admin_gate_.set_token("");
    logf(LogLevel::warn, "admin_token_file: now empty; admin_listen %s refuses every request until a restart",
         admin_tcp_.address.c_str());
    return;
  }
  std::string token;
  if (load_admin_token(config_.admin_token_file, token, why))
    admin_gate_.set_token(std::move(token));
  else
    logf(LogLevel::error, "admin_token_file: %s; the previous token stays", why.c_str());
}

// The client as a worker sees it: CF-Connecting-IP, X-Forwarded-For and
// X-Forwarded-Proto are always ours (the client's own were dropped by the
// caller), believed from a trusted proxy and otherwise the TCP peer's.
void Daemon::add_forwarding_headers(const HttpRequest& req, HeaderList& headers, std::string& scheme) {
  ClientOrigin o = client_origin(req.peer, req.headers, trusted_proxies_);
  headers.emplace_back("CF-Connecting-IP", o.address);
  headers.emplace_back("X-Forwarded-For", o.forwarded_for);
  headers.emplace_back("X-Forwarded-Proto", o.scheme);
  scheme = o.scheme;
}

}  // namespace wfp
