// The script store: one SQLite database (WAL, synchronous=FULL) owned by
// the supervisor. Namespaces, user scripts, platform workers, bindings,
// routes. Schema in schema/, versioned with PRAGMA user_version and
// migrated on open. Every value is bound; names are validated before any
// statement runs. Runs in the supervisor only.
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace wfp {

// Expected failures are values; the text names what was wrong.
enum class StoreStatus { ok, not_found, already_exists, invalid, in_use, not_empty, io_error };

struct StoreResult {
  StoreStatus status = StoreStatus::ok;
  std::string message;
  bool ok() const { return status == StoreStatus::ok; }
};

// A broken environment (can't open, corrupt, newer schema) throws this.
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Namespace {
  int64_t id = 0;
  std::string name;
  bool trusted = false;
  int64_t script_count = 0;  // list_namespaces() and get_namespace(name, true) only
  std::string created_on, modified_on;  // ISO 8601 UTC, "2026-11-26T19:54:25Z"
};

// A binding of a script or worker. type is Cloudflare's:
//   plain_text (text), secret_text (text), json (text holds the JSON),
//   service (target_name = worker), dispatch_namespace (target_name = ns).
// target_id is the numeric id the store keeps; target_name is filled on read.
struct Binding {
  std::string type;
  std::string name;
  std::string text;
  int64_t target_id = 0;
  std::string target_name;
  // dispatch_namespace only: the outbound worker that every fetch() of the
  // user workers reached through this binding goes to first (0 = none),
  // and the names of the parameters it takes from get(…, {outbound}).
  int64_t outbound_id = 0;
  std::string outbound_name;
  std::vector<std::string> outbound_params;
};

// What the sandbox needs to run a script, and what the API shows of it.
struct ScriptCode {
  std::string format;    // "service-worker" | "commonjs"
  std::string source;    // as deployed
  std::string bytecode;  // Duktape dump (may be empty: compile lazily)
  std::string build_id;  // the wfpd build that made the bytecode
  std::string lowered;   // the ES5 Duktape compiles; empty = source is ES5
  std::string line_map;  // JSON: original line of each line of `lowered`
};

struct Script {
  int64_t id = 0;
  int64_t namespace_id = 0;
  std::string name;
  ScriptCode code;
  std::vector<std::string> tags;
  std::vector<Binding> bindings;
  int64_t cpu_ms = 0;        // 0 = the configured default
  int64_t subrequests = 0;   // 0 = the configured default
  std::string etag;          // changes on every deploy
  std::string created_on, modified_on;
};

struct Worker {
  int64_t id = 0;
  std::string name;
  ScriptCode code;
  std::vector<Binding> bindings;
  std::string etag;
  std::string created_on, modified_on;
};

struct Route {
  int64_t id = 0;
  std::string pattern;
  int64_t worker_id = 0;
  std::string worker_name;
};

// Tag filter for listing: tag plus whether it must be present (yes) or absent (no).
struct TagFilter {
  std::string tag;
  bool present = true;
};

struct ScriptPage {
  std::vector<Script> scripts;  // without source/bytecode
  std::string next_cursor;      // empty at the end
};

class Store {
 public:
  // Opens (creating if needed) the database at `path`, applies pending
  // migrations, sets WAL + synchronous=FULL + foreign keys. Throws StoreError.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  int schema_version() const;

  // Group commit (DESIGN.md "Storage"): runs the writes one after another,
  // each in a savepoint of one transaction, and commits once, so concurrent
  // deploys share one sync. Returns each write's failure (null: committed
  // and synced). A write that throws is rolled back alone; when the commit
  // fails, so does every write of the group, with the store's error.
  std::vector<std::exception_ptr> write_group(const std::vector<std::function<void()>>& writes);

  // An online backup (SQLite's backup API) into a new database at `path`,
  // a few pages a step so the event loop keeps serving; writes to the
  // store between steps restart it, so the copy is consistent.
  class Backup {
   public:
    ~Backup();
    // Copies up to `pages` pages. True when the copy is complete; false
    // with `error` set when it failed, false with it empty to go on.
    bool step(int pages, std::string& error);
    struct Impl;
    std::unique_ptr<Impl> impl;
  };
  std::unique_ptr<Backup> backup_to(const std::string& path, std::string& error);

  // Namespaces
  StoreResult create_namespace(const std::string& name, bool trusted, Namespace* out = nullptr);
  std::vector<Namespace> list_namespaces();
  // script_count is filled only when count_scripts (it walks the namespace).
  std::optional<Namespace> get_namespace(const std::string& name, bool count_scripts = false);
  std::optional<Namespace> get_namespace_by_id(int64_t id);
  StoreResult rename_namespace(const std::string& old_name, const std::string& new_name);
  StoreResult set_namespace_trusted(const std::string& name, bool trusted);
  // in_use while a worker's dispatch_namespace binding names it (even with
  // force); not_empty with scripts unless force (then they go too).
  StoreResult delete_namespace(const std::string& name, bool force);

  // Scripts (user workers). put_script inserts or replaces by (namespace,
  // name), keeps the id on replace, sets a new etag and modified_on, and
  // writes the row's checksum (schema/004_checksums.sql), so a redeploy
  // heals a damaged row.
  StoreResult put_script(const std::string& ns_name, Script& script);
  // Verifies the row's checksum: a damaged one throws StoreError ("store:
  // script 'ns/name' failed its checksum ...", logged at error level) and
  // is never returned.
  std::optional<Script> get_script(int64_t namespace_id, const std::string& name);
  // The script without its code (code.source, bytecode, lowered, line_map
  // empty), so not verified: what a deploy that keeps the previous
  // bindings, or a delete, needs of the previous version. Both must work
  // on a damaged row: a redeploy is how it heals.
  std::optional<Script> get_script_meta(int64_t namespace_id, const std::string& name);
  StoreResult list_scripts(int64_t namespace_id, const std::vector<TagFilter>& tags, int limit,
                           const std::string& cursor, ScriptPage& out);
  StoreResult delete_script(int64_t namespace_id, const std::string& name);
  // io_error, writing nothing, when the row fails its checksum.
  StoreResult set_script_bytecode(int64_t script_id, const std::string& bytecode,
                                  const std::string& build_id);

  // Platform workers. put_worker checks that dispatch_namespace and service
  // bindings name existing namespaces / workers (not_found otherwise) and
  // fills their target_id.
  // get_worker and get_worker_by_id verify the row's checksum as
  // get_script does (StoreError when damaged); list_workers (with code)
  // leaves a damaged worker out and logs it, so one bad row does not stop
  // the dispatchers from loading the others.
  StoreResult put_worker(Worker& worker);
  std::optional<Worker> get_worker(const std::string& name);
  std::optional<Worker> get_worker_by_id(int64_t id);
  // Like get_script_meta: the worker and its bindings, without its code.
  std::optional<Worker> get_worker_meta(const std::string& name);
  std::vector<Worker> list_workers();
  // in_use while a route or another worker's service binding names it.
  StoreResult delete_worker(const std::string& name);

  // Routes
  StoreResult add_route(const std::string& pattern, const std::string& worker_name,
                        Route* out = nullptr);
  std::vector<Route> list_routes();
  StoreResult delete_route(const std::string& pattern);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace wfp
