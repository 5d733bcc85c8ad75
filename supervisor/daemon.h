// The supervisor's core: the event loop, the listeners, the children
// (dispatchers, sandboxes, compiler) and the broker between them. One
// Daemon per wfpd process, built in main and passed down; no globals.
// Trusts the store and the configuration; distrusts clients and every
// child (a frame naming something the child doesn't own kills it).
#pragma once
#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipc/channel.h"
#include "ipc/errors.h"
#include "ipc/wire.h"
#include "supervisor/admin_api.h"
#include "supervisor/admin_auth.h"
#include "supervisor/cache_store.h"
#include "supervisor/config.h"
#include "supervisor/fetch_client.h"
#include "supervisor/http.h"
#include "supervisor/routes.h"
#include "supervisor/store.h"
#include "supervisor/zygote_client.h"

struct event_base;
struct event;

namespace wfp {

using Clock = std::chrono::steady_clock;

struct Listener {
  int fd = -1;
  std::string address;  // as bound, e.g. "127.0.0.1:40123"
};

class Daemon : public AdminBackend {
 public:
  // Takes listeners already bound (before privileges were dropped).
  Daemon(Config config, std::vector<Listener> public_listeners, int admin_fd,
         std::unique_ptr<Store> store);
  ~Daemon() override;

  // Runs until SIGTERM/SIGINT; returns the exit status.
  int run();
  // Serves Prometheus metrics at /metrics on `l` (bound before the drop).
  void set_metrics_listener(Listener l) { metrics_listen_ = l; }
  // Serves the admin API on `l` too (admin_listen, bound before the drop),
  // to requests bearing `token` (read from admin_token_file while root).
  void set_admin_tcp_listener(Listener l, std::string token) {
    admin_tcp_ = l;
    admin_gate_.set_token(std::move(token));
  }
  // Where SIGHUP reads the configuration again, and the command-line
  // options laid over it each time.
  void set_reload_source(std::string path, std::function<void(Config&)> overrides) {
    config_path_ = std::move(path);
    config_overrides_ = std::move(overrides);
  }

  // AdminBackend
  Store& store() override { return *store_; }
  const Config& config() const override { return config_; }
  void compile(const std::string& filename, const std::string& source, bool module_hint,
               std::function<void(CompileResult)> done) override;
  void write_grouped(std::function<void()> write,
                     std::function<void(std::exception_ptr)> done) override;
  void script_changed(int64_t namespace_id, const std::string& name) override;
  void namespace_deleted(int64_t namespace_id) override;
  void workers_changed() override;
  void routes_changed() override;
  nlohmann::json status() override;
  void cache_purge(const std::string& owner, const std::string& url,
                   std::function<void(int64_t removed, std::string error)> done) override;
  void cache_stats(const std::string& owner, std::function<void(CacheStats, std::string error)> done) override;
  void caches_dropped(int64_t namespace_id, int64_t script_id) override;
  void backup(std::function<void(std::string bytes, std::string error)> done) override;
  std::string metrics_text() override;
  nlohmann::json tail_create(const TailTarget& target) override;
  bool tail_delete(const std::string& id) override;
  void tail_poll(const std::string& id, int wait_ms,
                 std::function<void(bool found, nlohmann::json result)> done) override;

  struct Child;
  struct Call;
  struct Chain;
  struct Outbound;
  struct Caller;
  struct HeldBody;

 private:
  // children
  Child* spawn_child(Role role, const std::string& title);
  void child_readable(Child* c);
  void child_gone(Child* c, const std::string& why);
  void on_zygote_spawned(uint32_t seq, pid_t pid, int err);
  void on_zygote_exit(pid_t pid, int status);
  // The zygote died (daemon.cc): its children die with it; a new one is
  // started, with back-off, and wfpd gives up only when it keeps dying.
  void zygote_died(int status);
  bool start_zygote();
  bool zygote_restarting() const;
  std::vector<std::unique_ptr<ZygoteClient>> dead_zygotes_;  // freed outside their callback
  event* zygote_ev_ = nullptr;        // the restart, after its back-off
  Clock::time_point zygote_started_{};
  int zygote_quick_deaths_ = 0;       // deaths in a row soon after start
  bool zygote_gave_up_ = false;
  bool zygote_answered_ = false;      // this zygote has answered a spawn
  // A child stopped (SIGSTOP, a freeze) with requests in flight is killed
  // after a few ticks (check_stopped_children); ticks seen so, by child id.
  void check_stopped_children();
  std::unordered_map<uint64_t, int> stopped_ticks_;
  void handle_message(Child* c, Message& m);
  void kill_child(Child* c, const std::string& why);
  void load_platform_workers(Child* dispatcher);
  void ensure_dispatchers();
  void ensure_spares();
  void ensure_compilers();
  void on_tick();
  void watchdog();
  void begin_stop(const char* signal_name);
  void reload();
  std::string config_path_;
  std::function<void(Config&)> config_overrides_;
  void drain_step();
  event* drain_ = nullptr;
  Clock::time_point drain_until_{};
  void tenant_died(const std::string& key, const std::string& label);
  bool tenant_throttled(const std::string& key);
  void tenant_served(const std::string& key, const std::string& label);
  struct TenantHealth {
    int deaths = 0;  // in a row, without an answer between
    int level = 0;   // back-offs so far: 1 s, 2 s, 4 s, … 60 s
    Clock::time_point until{};
  };
  std::unordered_map<std::string, TenantHealth> tenant_health_;  // by tenant key
  bool log_budget(Child* c, size_t bytes);
  void reap();  // frees children marked dead, outside their own callbacks
  static void on_child_event(int fd, short what, void* arg);
  static void on_call_timeout(int fd, short what, void* arg);
  std::vector<Child*> live_children(Role role);

  // requests
  void on_public_request(std::shared_ptr<HttpExchange> ex);
  void on_subrequest(Child* c, Message& m);
  // daemon_fetch.cc: the global fetch(), bodies held for runners, outbound workers
  bool find_caller(Child* c, uint64_t parent, Caller& out);
  // The start every call a worker makes (subrequest, fetch, cache_op)
  // shares: the request it is for, the held body it names (replacing the
  // inline bytes), one subrequest of the budget. False when the call is
  // over already: the child killed for a forgery, or the call refused.
  bool begin_call(Child* c, const char* what, uint64_t parent, uint64_t sub, uint64_t body_handle,
                  std::string& body, Caller& caller);
  void refuse_call(Child* c, uint64_t sub, ErrorCode code, const std::string& message);
  void send_cache_hit(Child* c, uint64_t sub, uint64_t parent, const std::string& method,
                      const HeaderList& request_headers, int status, const HeaderList& headers,
                      const std::string& body, const std::string& url);
  void report_dropped_logs(Child* c);
  void on_fetch(Child* c, Message& m);
  void on_body_read(Child* c, Message& m);
  // daemon_cache.cc: the Cache API
  void on_cache_op(Child* c, Message& m);
  int64_t cache_now() const;
  std::unique_ptr<CacheStore> cache_store_;
  void fetch_done(uint64_t child_id, uint64_t sub, uint64_t call_id, FetchResult result, uint64_t fetch_id);
  uint64_t hold_body(uint64_t child_id, uint64_t call_id, std::shared_ptr<const std::string> bytes);
  std::shared_ptr<const std::string> held_body(uint64_t child_id, uint64_t handle);
  void release_held(uint64_t call_id);
  void release_child(Child* c);
  // A subresponse payload for `to` (a runner) about its request `call_id`:
  // bodies over kInlineBodyMax are held and sent as a handle.
  std::string sub_answer(uint64_t to_child, uint64_t call_id, int status, const std::string& status_text,
                         const HeaderList& headers, std::shared_ptr<const std::string> body,
                         const std::string& url, bool redirected);
  std::unique_ptr<FetchClient> fetch_client_;
  std::unordered_map<uint64_t, HeldBody> held_;  // by handle
  uint64_t next_held_ = 1;
  std::unordered_map<uint64_t, std::pair<uint64_t, uint64_t>> fetches_;  // fetch id → (child, sub)

  void finish_call(Call* call, Message* response, ErrorCode code, const std::string& message,
                   const std::string& stack, bool open = false);
  // Dispatches waiting for a free sandbox when the pool is full (queue_max).
  struct Parked {
    uint64_t child_id;  // the caller
    Message msg;        // its subrequest, as it came
    Clock::time_point since;
  };
  std::deque<Parked> parked_;
  event* unpark_ev_ = nullptr;
  event* spares_ev_ = nullptr;  // replaces a spare taken, after the turn that took it
  // Writes queued for the next group commit (write_grouped), and the event
  // that commits them once this turn's other callbacks have run.
  struct GroupedWrite {
    std::function<void()> write;
    std::function<void(std::exception_ptr)> done;
  };
  std::vector<GroupedWrite> grouped_;
  event* group_ev_ = nullptr;
  void commit_group();
  bool park(Child* c, const Message& m, const Caller& caller);
  Child* waiting_caller(const Parked& p);
  void schedule_unpark();
  void unpark();
  Child* running_sandbox(const std::string& tenant_key);
  Child* start_sandbox(int64_t ns_id, const Script& script, std::string& error, ErrorCode& code);
  void send_request(Call* call, Child* target, uint64_t slot, const std::string& method,
                    const std::string& url, const HeaderList& headers, const std::string& body,
                    const std::string& args, int64_t cpu_ms, int64_t subrequests,
                    const std::string& env_json = "");
  void error_page(const std::shared_ptr<HttpExchange>& ex, ErrorCode code,
                  const std::string& request_id);

  Config config_;
  std::vector<Listener> listen_;
  int admin_fd_;
  std::unique_ptr<Store> store_;
  event_base* base_ = nullptr;
  std::vector<std::unique_ptr<HttpServer>> servers_;
  std::unique_ptr<HttpServer> admin_server_;
  // daemon_access.cc: the admin API's gate (token, rate) on both admin
  // listeners, and the client address public requests are believed to have.
  void admin_request(const std::shared_ptr<HttpExchange>& ex, bool tcp);
  void configure_access(bool reread_token);  // from config_: at start and on SIGHUP
  void add_forwarding_headers(const HttpRequest& req, HeaderList& headers, std::string& scheme);
  Listener admin_tcp_;
  std::unique_ptr<HttpServer> admin_tcp_server_;
  AdminGate admin_gate_;
  std::vector<Network> trusted_proxies_;
  // /metrics (daemon_cache.cc writes the text): counters kept as they happen.
  Listener metrics_listen_;
  std::unique_ptr<HttpServer> metrics_server_;
  void metrics_request(const std::shared_ptr<HttpExchange>& ex);
  uint64_t requests_total_ = 0;
  // daemon_observe.cc: what each invocation did, for the log line, the
  // metrics and tail sessions. Counters by namespace id; 0 = platform workers.
  struct NsCounters {
    std::map<std::string, uint64_t> outcomes;  // by outcome ("ok", "exception", …)
    uint64_t cpu_us = 0, wall_us = 0;
    uint64_t cold_starts = 0;
    std::map<std::string, uint64_t> subrequests;  // by kind: fetch, service, dispatch, cache
  };
  std::map<int64_t, NsCounters> ns_counters_;
  uint64_t evictions_ = 0;  // sandboxes ended to make room (least recently used)
  void account_call(const Call& call, const Child* child, int status, ErrorCode code,
                    const std::string& message, const std::string& stack);
  void count_subrequest(const Child* c, const char* kind);
  struct TailSession;
  std::map<std::string, std::unique_ptr<TailSession>> tails_;  // by id
  std::unordered_map<uint64_t, nlohmann::json> tail_logs_;  // call id → console lines so far
  bool tailed(const Child* c, int64_t worker_id) const;
  void tail_log(Child* c, uint64_t request_id, const std::string& level, const std::string& text);
  void tail_push(TailSession& t, nlohmann::json event);
  void tail_answer(TailSession& t);
  void tail_expire();
  void tail_close_all();
  static void on_tail_timer(int fd, short what, void* arg);
  struct CacheCounters {
    uint64_t hits = 0, misses = 0, puts = 0, stored = 0, deletes = 0;
  };
  std::map<int64_t, CacheCounters> cache_counters_;  // by namespace id; 0 = platform workers
  CacheCounters& cache_counters_of(const Child* c);
  // Hot entries: small fresh entries matched recently, kept in memory so a
  // hit needs no thread hop or file read. Dropped on any put, delete or
  // purge of their owner's cache (a put may evict others), never served
  // stale. At most kHotBytes in all, entries of at most 64 KiB.
  struct HotEntry {
    int status = 200;
    HeaderList headers;
    std::shared_ptr<const std::string> body;
    int64_t expires_at = 0;
    size_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  std::unordered_map<std::string, HotEntry> hot_;  // owner \0 cache \0 key
  std::unordered_map<std::string, std::vector<std::string>> hot_by_owner_;
  std::list<std::string> hot_lru_;  // front: most recently used
  size_t hot_bytes_ = 0;
  std::unordered_map<std::string, uint64_t> hot_hits_;  // by owner, for cache_stats
  void hot_put(const std::string& owner, const std::string& id, int status, const HeaderList& headers,
               std::shared_ptr<const std::string> body, int64_t expires_at);
  void hot_drop(const std::string& id);
  void hot_drop_owner(const std::string& owner);
  std::unique_ptr<ZygoteClient> zygote_;
  RouteTable routes_;
  std::unordered_map<int64_t, std::vector<Binding>> worker_bindings_;  // by worker id
  std::chrono::steady_clock::time_point started_;

  std::map<uint64_t, std::unique_ptr<Child>> children_;  // by child id
  // The children not yet dead, by role (ipc/messages.h Role as index): the
  // request path picks a dispatcher, and every turn counts the pool, without
  // walking thousands of sandboxes.
  std::array<std::vector<Child*>, 5> live_;
  std::unordered_map<pid_t, uint64_t> child_by_pid_;
  std::unordered_map<pid_t, std::string> ended_titles_;  // freed, exit not yet reported
  std::unordered_map<uint32_t, uint64_t> child_by_seq_;
  std::unordered_map<std::string, std::vector<uint64_t>> sandboxes_by_tenant_;
  std::deque<uint64_t> spares_;
  uint64_t next_child_id_ = 1;
  uint32_t next_seq_ = 1;
  size_t next_dispatcher_ = 0;

  std::unordered_map<uint64_t, std::unique_ptr<Call>> calls_;  // by request id
  struct Lingering {  // kept small: one per answered request for 31 s
    uint64_t child_id;
    int64_t worker_id;
    uint64_t public_id;  // the hex request id, as a number
    Clock::time_point until;
    uint32_t depth;
    std::shared_ptr<Chain> chain;
    std::shared_ptr<const Outbound> outbound;
    int64_t subrequests_left;
  };
  std::unordered_map<uint64_t, Lingering> lingering_;  // answered dispatcher requests
  uint64_t next_call_id_ = 1;
  struct PendingCompile {
    uint64_t id;
    std::string filename, source;
    bool module_hint;
    std::function<void(CompileResult)> done;
  };
  std::deque<PendingCompile> compile_queue_;  // not yet given to a compiler
  void send_next_compile();
  uint64_t next_compile_id_ = 1;

  std::vector<uint64_t> graveyard_;
  int dispatcher_failures_ = 0;
  Clock::time_point next_dispatcher_spawn_{};

  std::vector<event*> signal_events_;
  event* tick_ = nullptr;
  event* watchdog_ = nullptr;
  uint64_t ticks_ = 0;
  bool stopping_ = false;
};

}  // namespace wfp
