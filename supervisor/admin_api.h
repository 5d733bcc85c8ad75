// The admin API: HTTP + JSON on a Unix socket, with the paths and shapes of
// Cloudflare's REST API for dispatch namespaces and scripts
// (/workers/dispatch/namespaces/..., with /accounts/{any}/workers/... as an
// alias), plus wfp's own /workers/scripts (platform workers), /routes and
// /status. Responses are {"success","errors","messages","result"}.
// Runs in the supervisor; callers are trusted by the socket's permissions,
// but their input is still checked (names, sizes, JSON, multipart).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "supervisor/config.h"
#include "supervisor/http.h"
#include "supervisor/store.h"

namespace wfp {

// What the admin API needs from the rest of the supervisor.
class AdminBackend {
 public:
  virtual ~AdminBackend() = default;
  virtual Store& store() = 0;
  virtual const Config& config() const = 0;

  struct CompileResult {
    bool ok = false;
    std::string bytecode;  // Duktape dump
    std::string build_id;
    std::string error;     // "filename:LINE: SyntaxError: message" when !ok
    bool internal = false; // !ok because of us (compiler down), not the script
    std::string lowered;   // the ES5 compiled, when the source was lowered
    std::string line_map;  // JSON: original line of each line of `lowered`
    std::string format;    // "commonjs" | "service-worker", as the compiler saw it
  };
  // Lowers (when needed) and compiles `source` in the locked compiler
  // child; `module_hint` says the upload declared an ES module. `done` runs
  // later on the event loop (never inside this call).
  virtual void compile(const std::string& filename, const std::string& source, bool module_hint,
                       std::function<void(CompileResult)> done) = 0;

  // Called after a change is committed, so running children follow it.
  virtual void script_changed(int64_t namespace_id, const std::string& name) = 0;
  virtual void namespace_deleted(int64_t namespace_id) = 0;
  virtual void workers_changed() = 0;
  virtual void routes_changed() = 0;

  // wfpctl status: listen addresses, uptime, children, pool occupancy.
  virtual nlohmann::json status() = 0;
};

void handle_admin_request(AdminBackend& backend, std::shared_ptr<HttpExchange> exchange);

}  // namespace wfp
