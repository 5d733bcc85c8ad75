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
#include "supervisor/cache_store.h"
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

  // Group commit (DESIGN.md "Storage"): `write` runs later in this turn of
  // the loop, with the other writes queued in it, in one transaction synced
  // once (Store::write_group); then `done` gets its failure (null: durable).
  virtual void write_grouped(std::function<void()> write,
                             std::function<void(std::exception_ptr)> done) = 0;

  // Called after a change is committed, so running children follow it.
  virtual void script_changed(int64_t namespace_id, const std::string& name) = 0;
  virtual void namespace_deleted(int64_t namespace_id) = 0;
  virtual void workers_changed() = 0;
  virtual void routes_changed() = 0;

  // wfpctl status: listen addresses, uptime, children, pool occupancy.
  virtual nlohmann::json status() = 0;

  // The Cache API's store (supervisor/cache_store.h), by owner key (see
  // cache_owner). `done` runs later on the event loop. purge: every entry
  // of `url` (an absolute URL), or, with `url` empty, the owner's whole cache.
  virtual void cache_purge(const std::string& owner, const std::string& url,
                           std::function<void(int64_t removed, std::string error)> done) = 0;
  virtual void cache_stats(const std::string& owner, std::function<void(CacheStats, std::string error)> done) = 0;
  // A script (script_id) or a whole namespace (script_id 0) is gone: so are its caches.
  virtual void caches_dropped(int64_t namespace_id, int64_t script_id) = 0;

  // An online backup of the store (SQLite's backup API, a few pages per
  // loop turn): `done` gets the database file's bytes, or an error.
  virtual void backup(std::function<void(std::string bytes, std::string error)> done) = 0;

  // GET /metrics: the Prometheus text of the metrics listener.
  virtual std::string metrics_text() = 0;

  // wfpctl tail: a session collects the invocations of one user worker or
  // platform worker (request, outcome, console output, exceptions) until it
  // is deleted or goes unpolled for a minute.
  struct TailTarget {
    int64_t namespace_id = 0;  // user worker: its namespace and name
    std::string script;
    int64_t worker_id = 0;     // platform worker
    std::string label;         // "ns/name" or the worker's name
  };
  // {"id", "expires_at", ...}
  virtual nlohmann::json tail_create(const TailTarget& target) = 0;
  virtual bool tail_delete(const std::string& id) = 0;
  // `done` (later, on the loop) gets the events collected since the last
  // poll, waiting up to `wait_ms` for the first; found=false: no session.
  virtual void tail_poll(const std::string& id, int wait_ms,
                         std::function<void(bool found, nlohmann::json result)> done) = 0;
};

// Whose cache a user worker uses: its own in an untrusted namespace
// ("n<ns>-s<script>"), the namespace's shared one in a trusted namespace
// ("n<ns>"). Platform workers share "platform".
inline std::string cache_owner(int64_t namespace_id, bool trusted, int64_t script_id) {
  std::string ns = "n" + std::to_string(namespace_id);
  return trusted ? ns : ns + "-s" + std::to_string(script_id);
}

void handle_admin_request(AdminBackend& backend, std::shared_ptr<HttpExchange> exchange);

}  // namespace wfp
