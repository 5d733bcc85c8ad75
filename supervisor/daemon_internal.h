// The records behind Daemon (daemon.h), shared by its source files
// (daemon.cc: children and calls; daemon_fetch.cc: fetch(), held bodies,
// outbound workers; daemon_cache.cc: the Cache API; daemon_access.cc: who
// may use the admin API and what the public listener believes of its
// peers; daemon_observe.cc: log lines, metrics and tail sessions).
// Private to the supervisor.
#pragma once
#include <event2/event.h>
#include <sys/random.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "ipc/log.h"
#include "supervisor/daemon.h"

namespace wfp {

// `bytes` random bytes from the kernel as lower-case hex (tail session
// ids); at most 32.
inline std::string random_hex(size_t bytes) {
  unsigned char b[32];
  if (bytes > sizeof b) bytes = sizeof b;
  if (getrandom(b, bytes, 0) != (ssize_t)bytes) memset(b, 0, sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < bytes; i++) {
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return s;
}

// A request id: 16 hex digits from a generator seeded once from the
// kernel, so the hot path makes no system call for it. Ids correlate log
// lines, tail events and error pages; they grant nothing, so they need to
// be unique, not unguessable.
inline std::string request_id_hex() {
  static uint64_t state = [] {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)time(nullptr);
    return seed;
  }();
  // splitmix64
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  char out[17];
  snprintf(out, sizeof out, "%016llx", (unsigned long long)z);
  return out;
}

// Runs a callback of the loop: an exception is logged, never let out.
template <class F>
void guarded(const char* where, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    logf(LogLevel::error, "%s: %s", where, e.what());
  } catch (...) {
    logf(LogLevel::error, "%s: unknown exception", where);
  }
}


// Limits of a whole chain of calls (DESIGN.md): depth and invocations.
constexpr uint32_t kMaxDepth = 16;
constexpr int kMaxInvocations = 32;
// The loop marker: every fetch() carries the depth of the chain it was made
// in; a request arriving with it goes on from there (on_public_request).
constexpr const char* kLoopHeader = "wfp-loop";

struct Daemon::Child {
  Daemon* daemon = nullptr;
  uint64_t id = 0;
  Role role = Role::sandbox;
  pid_t pid = 0;
  uint32_t seq = 0;
  std::unique_ptr<Channel> ch;
  event* ev = nullptr;
  std::string title;
  bool dead = false;
  int index = 0;            // dispatcher number
  std::string tenant;       // sandbox: "nsid/name"; empty while spare
  std::string label;        // sandbox: "ns/name"
  uint64_t slot = 0;        // sandbox: the script id it loaded
  std::vector<Binding> bindings;  // sandbox: its script's (service bindings)
  int64_t ns_id = 0;        // sandbox: its namespace's id…
  std::string script;       // …and its script's name
  bool loaded = false;      // its worker loaded (load_result ok)
  std::string cache_owner;  // sandbox: its cache store key ("s<script>" or "n<namespace>")
  int64_t cpu_ms = 0;       // sandbox: the script's own limits (0 = none)
  int64_t subrequests = 0;
  bool retired = false;     // sandbox: finish in-flight work, take no more
  bool deliberate = false;  // ended by us (idle, evicted, retired): not a death
  bool said_hello = false;
  int inflight = 0;
  uint64_t served = 0;
  bool compiling = false;         // compiler: has `job` at the compiler
  PendingCompile job;
  Clock::time_point compile_deadline{};
  Clock::time_point started = Clock::now();
  Clock::time_point last_used = Clock::now();
  // Requests given up on (wall-clock limit) whose late answers are dropped.
  std::unordered_set<uint64_t> forgotten;
  std::unordered_set<uint64_t> fetches;  // FetchClient ids in flight for it
  double log_tokens = 256 * 1024;        // see Daemon::log_budget
  Clock::time_point log_refilled = Clock::now();
  uint64_t log_dropped = 0;
  // The watchdog's view of the JS run in progress (see Daemon::watchdog).
  uint64_t watch_runs = 0;
  double watch_cpu = -1;  // CPU seconds when this run was first seen long
};

struct Daemon::Chain {
  int invocations = 1;    // workers run for this client request so far
  bool loop_hit = false;  // some call was refused at the depth limit
  ErrorCode limit_hit = ErrorCode::ok;  // some call failed at a resource limit, or found the pool and queue full
};

// Where the fetches of a user worker reached through a dispatch binding
// with an outbound worker go first, with the parameters the dispatcher
// passed (already limited to the ones the binding declares).
struct Daemon::Outbound {
  int64_t worker_id = 0;
  std::string worker_name;
  std::string env_json;  // {"P1": value, ...}
};

struct Daemon::Call {
  Daemon* daemon = nullptr;
  uint64_t id = 0;
  uint64_t child_id = 0;                   // where it runs
  std::shared_ptr<HttpExchange> client;    // origin: a public client
  uint64_t parent_child = 0;               // origin: a subrequest of this child…
  uint64_t parent_sub = 0;                 // …with this sub id
  std::string public_id;                   // shown on error pages and in logs
  int64_t worker_id = 0;                   // dispatcher calls: the platform worker
  std::string label;                       // what runs, for logs
  uint32_t depth = 1;
  std::shared_ptr<Chain> chain;            // shared by every call of one client request
  std::shared_ptr<const Outbound> outbound;  // the worker's fetches go there first
  uint64_t parent_call = 0;                // origin subrequest: the parent's request id
  int64_t subrequests_left = 0;            // the supervisor's own count (the runner counts too)
  event* timer = nullptr;
  Clock::time_point started = Clock::now();
  uint64_t cpu_us = 0;                     // the runner's count, from its answer
  std::string method, url;                 // kept only while a tail session runs
};

// What a worker's own calls (subrequests, fetches) inherit from the request
// they are made for: in flight, or answered and kept open (waitUntil).
struct Daemon::Caller {
  uint64_t call_id = 0;
  int64_t worker_id = 0;
  uint32_t depth = 1;
  std::string public_id;
  std::shared_ptr<Chain> chain;
  std::shared_ptr<const Outbound> outbound;
  int64_t* subrequests_left = nullptr;  // in the Call or the Lingering record
};

// A body the supervisor keeps for a runner (kInlineBodyMax): owned by one
// child, for one of its requests; freed when that request ends.
struct Daemon::HeldBody {
  uint64_t child_id = 0;
  uint64_t call_id = 0;
  std::shared_ptr<const std::string> bytes;
};

// A `wfpctl tail` session (daemon_observe.cc): the events of its target
// since the last poll, and the poll waiting for them.
struct Daemon::TailSession {
  Daemon* daemon = nullptr;
  std::string id;
  TailTarget target;
  std::deque<std::pair<nlohmann::json, size_t>> events;  // each with its size as JSON text
  size_t bytes = 0;
  uint64_t dropped = 0;
  Clock::time_point last_poll = Clock::now();
  std::function<void(bool, nlohmann::json)> waiting;  // a pending poll
  event* timer = nullptr;                   // its deadline, or the batching delay
  bool closing = false;                     // wfpd is stopping: answer and end
  ~TailSession() {
    if (timer) event_free(timer);
  }
};

}  // namespace wfp
