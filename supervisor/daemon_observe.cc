// What each worker invocation did, told three ways: one log line per
// invocation for the journal, counters per namespace for /metrics, and
// the events of `wfpctl tail` sessions (request, outcome, console output,
// exceptions of one script or platform worker). Part of Daemon (daemon.h);
// runs on the supervisor's loop. Identity is always the supervisor's (the
// child the channel belongs to, the call it was given), never a child's claim.
#include <event2/event.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>

#include "ipc/errors.h"
#include "ipc/log.h"
#include "supervisor/daemon.h"
#include "supervisor/daemon_internal.h"
#include "supervisor/text.h"

namespace wfp {

using nlohmann::json;

namespace {

// The outcome names of Workers' tail events, plus exceededWallTime, which
// Workers doesn't have (its wall-clock limit cancels instead).
const char* outcome_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::cpu_limit: return "exceededCpu";
    case ErrorCode::memory_limit: return "exceededMemory";
    case ErrorCode::wall_limit: return "exceededWallTime";
    case ErrorCode::worker_not_found: return "scriptNotFound";
    case ErrorCode::overloaded:
    case ErrorCode::throttled: return "loadShed";
    case ErrorCode::process_died:
    case ErrorCode::internal: return "unknown";
    default: return "exception";
  }
}

int64_t unix_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// "TypeError: x is not a function" → name "TypeError"; any other message
// is an Error's.
std::pair<std::string, std::string> split_exception(const std::string& message) {
  size_t colon = message.find(": ");
  if (colon != std::string::npos && colon > 0 && colon < 64) {
    bool ident = true;
    for (size_t i = 0; i < colon; i++)
      if (!isalnum((unsigned char)message[i]) && message[i] != '_' && message[i] != '$') ident = false;
    if (ident) return {message.substr(0, colon), message.substr(colon + 2)};
  }
  return {"Error", message};
}

std::string label_value(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}

// A session keeps at most this many events between polls; past it the
// oldest go and are counted as dropped.
constexpr size_t kTailMaxEvents = 1000;
constexpr size_t kTailMaxBytes = 4 << 20;
constexpr int kTailMaxSessions = 64;
// A session nobody polled for this long ends.
constexpr auto kTailIdle = std::chrono::seconds(60);
// Events wait this long for others before a pending poll is answered, so
// a busy worker's tail is a few polls a second, not one per line.
constexpr int kTailBatchMs = 100;

}  // namespace


// Whether a tail of `t` follows what `c` runs for a call of platform
// worker `worker_id`: a sandbox runs its one script, a dispatcher the
// platform worker of the call.
static bool follows(const AdminBackend::TailTarget& t, const Daemon::Child* c, int64_t worker_id) {
  if (c && c->role == Role::sandbox && !c->tenant.empty()) return t.namespace_id == c->ns_id && t.script == c->script;
  return t.worker_id != 0 && t.worker_id == worker_id;
}

// A sandbox's namespace name, from its label "ns/name" (as it was when the
// sandbox started).
static std::string namespace_of(const Daemon::Child* c) {
  size_t slash = c->label.find('/');
  return slash == std::string::npos ? std::to_string(c->ns_id) : c->label.substr(0, slash);
}

// --- per invocation ------------------------------------------------------------

void Daemon::count_subrequest(const Child* c, const char* kind) {
  ns_counters_[c->role == Role::sandbox ? c->ns_id : 0].subrequests[kind]++;
}

void Daemon::account_call(const Call& call, const Child* child, int status, ErrorCode code,
                          const std::string& message, const std::string& stack) {
  bool user = child && child->role == Role::sandbox && !child->tenant.empty();
  int64_t ns_id = user ? child->ns_id : 0;
  const char* outcome = outcome_name(code);
  uint64_t wall_us =
      (uint64_t)std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call.started).count();
  NsCounters& n = ns_counters_[ns_id];
  n.outcomes[outcome]++;
  n.cpu_us += call.cpu_us;
  n.wall_us += wall_us;

  // The one line per invocation; a client request through a dispatcher has
  // one for the dispatcher's worker and one per user worker it reached,
  // all with the request id the client saw.
  if (log_enabled(LogLevel::info)) {
    std::string who;
    if (user) {
      who = "namespace=" + namespace_of(child) + " script=" + child->script;
    } else {
      who = "worker=" + (call.label.empty() ? std::string("-") : call.label);
    }
    logf(LogLevel::info, "request id=%s %s status=%s outcome=%s cpu_ms=%.2f wall_ms=%.2f", call.public_id.c_str(),
         who.c_str(), status ? std::to_string(status).c_str() : "-", outcome, call.cpu_us / 1000.0,
         wall_us / 1000.0);
  }

  if (tails_.empty()) return;
  auto logs_it = tail_logs_.find(call.id);
  json logs = logs_it == tail_logs_.end() ? json::array() : std::move(logs_it->second);
  if (logs_it != tail_logs_.end()) tail_logs_.erase(logs_it);
  if (!tailed(child, call.worker_id)) return;
  int64_t now = unix_ms();
  json exceptions = json::array();
  if (code == ErrorCode::exception && !message.empty()) {
    // The stack's first line names the error ("TypeError: kaboom"); the
    // message alone does not.
    std::string first = stack.substr(0, stack.find('\n'));
    auto [name, text] = split_exception(first.size() > message.size() &&
                                                first.compare(first.size() - message.size(), message.size(), message) == 0
                                            ? first
                                            : message);
    exceptions.push_back({{"name", name}, {"message", text}, {"stack", stack}, {"timestamp", now}});
  } else if (code != ErrorCode::ok) {
    exceptions.push_back({{"name", "Error"},
                          {"message", std::string(error_text(code)) + (message.empty() ? "" : " " + message)},
                          {"timestamp", now}});
  }
  json event = {{"outcome", outcome},
                {"scriptName", user ? child->script : call.label},
                {"eventTimestamp", now},
                {"requestId", call.public_id},
                {"cpuTime", call.cpu_us / 1000.0},
                {"wallTime", wall_us / 1000.0},
                {"logs", std::move(logs)},
                {"exceptions", std::move(exceptions)}};
  if (user) event["dispatchNamespace"] = namespace_of(child);
  json request = {{"method", call.method}, {"url", call.url}};
  event["event"] = {{"request", request}};
  if (status) event["event"]["response"] = {{"status", status}};
  for (auto& [id, t] : tails_)
    if (follows(t->target, child, call.worker_id)) tail_push(*t, event);
}

// --- tail sessions ---------------------------------------------------------------

bool Daemon::tailed(const Child* c, int64_t worker_id) const {
  for (auto& [id, t] : tails_)
    if (follows(t->target, c, worker_id)) return true;
  return false;
}

// A worker's console line, for the tail sessions of its script: kept with
// its request until the request's outcome is known, or sent on its own
// when the request was answered already (waitUntil work).
void Daemon::tail_log(Child* c, uint64_t request_id, const std::string& level, const std::string& text) {
  int64_t worker_id = 0;
  std::string public_id;
  bool in_flight = false;
  if (auto it = calls_.find(request_id); it != calls_.end() && it->second->child_id == c->id) {
    worker_id = it->second->worker_id;
    public_id = it->second->public_id;
    in_flight = true;
  } else if (auto l = lingering_.find(request_id); l != lingering_.end() && l->second.child_id == c->id) {
    worker_id = l->second.worker_id;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, l->second.public_id);
    public_id = hex;
  } else if (c->role != Role::sandbox) {
    return;  // a dispatcher's line for no request: whose worker is unknown
  }
  if (!tailed(c, worker_id)) return;
  json line = {{"level", level}, {"message", json::array({text})}, {"timestamp", unix_ms()}};
  if (in_flight) {
    json& logs = tail_logs_[request_id];
    if (!logs.is_array()) logs = json::array();
    if (logs.size() < 1000) logs.push_back(std::move(line));
    return;
  }
  bool user = c->role == Role::sandbox;
  json event = {{"outcome", "ok"},
                {"scriptName", user ? c->script : ""},
                {"eventTimestamp", unix_ms()},
                {"requestId", public_id},
                {"afterResponse", true},
                {"logs", json::array({line})},
                {"exceptions", json::array()}};
  for (auto& [id, t] : tails_) {
    if (!follows(t->target, c, worker_id)) continue;
    if (!user) event["scriptName"] = t->target.label;
    tail_push(*t, event);
  }
}

void Daemon::tail_push(TailSession& t, json event) {
  size_t size = event.dump().size();
  t.events.emplace_back(std::move(event), size);
  t.bytes += size;
  while (t.events.size() > kTailMaxEvents || (t.bytes > kTailMaxBytes && t.events.size() > 1)) {
    t.bytes -= t.events.front().second;
    t.events.pop_front();
    t.dropped++;
  }
  // A poll waiting for events is answered shortly, with what came meanwhile.
  if (t.waiting && t.timer) {
    timeval tv{0, kTailBatchMs * 1000};
    evtimer_del(t.timer);
    evtimer_add(t.timer, &tv);
  }
}

void Daemon::tail_answer(TailSession& t) {
  if (!t.waiting) return;
  json events = json::array();
  for (auto& e : t.events) events.push_back(std::move(e.first));
  t.events.clear();
  t.bytes = 0;
  json result = {{"events", std::move(events)}, {"dropped", t.dropped}, {"closed", t.closing}};
  t.dropped = 0;
  t.last_poll = Clock::now();
  auto done = std::move(t.waiting);
  t.waiting = nullptr;
  if (t.timer) evtimer_del(t.timer);
  done(true, std::move(result));
}

void Daemon::on_tail_timer(int, short, void* arg) {
  auto* t = (TailSession*)arg;
  Daemon* d = t->daemon;
  guarded("tail timer", [&] { d->tail_answer(*t); });
}

json Daemon::tail_create(const TailTarget& target) {
  if ((int)tails_.size() >= kTailMaxSessions) {
    // The oldest-polled session makes room: a forgotten tail must not
    // lock an operator out.
    auto oldest = tails_.begin();
    for (auto it = tails_.begin(); it != tails_.end(); ++it)
      if (it->second->last_poll < oldest->second->last_poll) oldest = it;
    tail_delete(std::string(oldest->first));
  }
  auto t = std::make_unique<TailSession>();
  t->daemon = this;
  t->id = random_hex(16);
  t->target = target;
  t->timer = evtimer_new(base_, on_tail_timer, t.get());
  std::string id = t->id;
  tails_[id] = std::move(t);
  logf(LogLevel::info, "admin: tail %s of %s started", id.c_str(), target.label.c_str());
  time_t expires = time(nullptr) + (time_t)kTailIdle.count();
  char iso[32];
  tm utc;
  gmtime_r(&expires, &utc);
  strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {{"id", id},
          {"script", target.label},
          {"url", "events"},
          {"expires_at", iso}};
}

bool Daemon::tail_delete(const std::string& id) {
  auto it = tails_.find(id);
  if (it == tails_.end()) return false;
  std::unique_ptr<TailSession> t = std::move(it->second);
  tails_.erase(it);
  if (t->waiting) {
    t->closing = true;
    tail_answer(*t);
  }
  logf(LogLevel::info, "admin: tail %s of %s ended", id.c_str(), t->target.label.c_str());
  if (tails_.empty()) tail_logs_.clear();
  return true;
}

void Daemon::tail_poll(const std::string& id, int wait_ms, std::function<void(bool, json)> done) {
  auto it = tails_.find(id);
  if (it == tails_.end()) {
    // Answered from the loop, never inside the call.
    auto d = std::make_shared<std::function<void(bool, json)>>(std::move(done));
    event_base_once(base_, -1, EV_TIMEOUT, [](int, short, void* arg) {
      std::unique_ptr<std::shared_ptr<std::function<void(bool, json)>>> f(
          (std::shared_ptr<std::function<void(bool, json)>>*)arg);
      guarded("tail poll", [&] { (**f)(false, nullptr); });
    }, new std::shared_ptr<std::function<void(bool, json)>>(d), nullptr);
    return;
  }
  TailSession& t = *it->second;
  // A second poll replaces the first, which gets an empty answer.
  if (t.waiting) {
    auto old = std::move(t.waiting);
    t.waiting = nullptr;
    old(true, json{{"events", json::array()}, {"dropped", 0}, {"closed", false}});
  }
  t.waiting = std::move(done);
  t.last_poll = Clock::now();
  int ms = t.events.empty() && !stopping_ ? wait_ms : 0;
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  evtimer_del(t.timer);
  evtimer_add(t.timer, &tv);
}

// Sessions nobody polls end (a killed wfpctl tail leaves one behind).
void Daemon::tail_expire() {
  auto now = Clock::now();
  std::vector<std::string> idle;
  for (auto& [id, t] : tails_)
    if (!t->waiting && now - t->last_poll > kTailIdle) idle.push_back(id);
  for (auto& id : idle) tail_delete(id);
}

// wfpd is stopping: every waiting tail is told so and ends.
void Daemon::tail_close_all() {
  std::vector<std::string> ids;
  for (auto& [id, t] : tails_) ids.push_back(id);
  for (auto& id : ids) tail_delete(id);
}

// --- /metrics ---------------------------------------------------------------------

// GET /metrics: Prometheus text format, aggregated per namespace (per
// script figures are in wfpctl). Platform workers count under
// platform="true".
void Daemon::metrics_request(const std::shared_ptr<HttpExchange>& ex) {
  const HttpRequest& req = ex->request();
  HttpResponse r;
  if (req.path != "/metrics" || (req.method != "GET" && req.method != "HEAD")) {
    r.status = 404;
    r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    r.body = "only GET /metrics is served here\n";
    return ex->respond(std::move(r));
  }
  r.status = 200;
  r.headers.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
  r.body = req.method == "HEAD" ? "" : metrics_text();
  ex->respond(std::move(r));
}

std::string Daemon::metrics_text() {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const std::string& name, const std::string& labels, const std::string& value) {
    out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
  };
  auto num = [](double v) {
    char b[64];
    snprintf(b, sizeof b, "%.6f", v);
    return std::string(b);
  };
  // Namespace names, once per scrape (a renamed namespace shows its new name).
  std::map<int64_t, std::string> names;
  auto ns_label = [&](int64_t ns) -> std::string {
    if (ns == 0) return "platform=\"true\"";
    auto it = names.find(ns);
    if (it == names.end()) {
      auto n = store_->get_namespace_by_id(ns);
      it = names.emplace(ns, n ? n->name : std::to_string(ns)).first;
    }
    return "namespace=\"" + label_value(it->second) + "\"";
  };

  metric("wfp_requests_total", "counter", "Requests received on the public listeners.");
  line("wfp_requests_total", "", std::to_string(requests_total_));
  metric("wfp_invocations_total", "counter", "Worker invocations, by namespace and outcome.");
  for (auto& [ns, c] : ns_counters_)
    for (auto& [outcome, n] : c.outcomes)
      line("wfp_invocations_total", ns_label(ns) + ",outcome=\"" + outcome + "\"", std::to_string(n));
  metric("wfp_errors_total", "counter", "Worker invocations whose outcome was not ok, by namespace.");
  for (auto& [ns, c] : ns_counters_) {
    uint64_t errors = 0;
    for (auto& [outcome, n] : c.outcomes)
      if (outcome != "ok") errors += n;
    line("wfp_errors_total", ns_label(ns), std::to_string(errors));
  }
  metric("wfp_cpu_seconds_total", "counter", "CPU time workers' JavaScript used, by namespace.");
  for (auto& [ns, c] : ns_counters_) line("wfp_cpu_seconds_total", ns_label(ns), num(c.cpu_us / 1e6));
  metric("wfp_wall_seconds_total", "counter", "Wall-clock time of invocations until their answer, by namespace.");
  for (auto& [ns, c] : ns_counters_) line("wfp_wall_seconds_total", ns_label(ns), num(c.wall_us / 1e6));
  metric("wfp_cold_starts_total", "counter", "Sandboxes started for a user worker, by namespace.");
  for (auto& [ns, c] : ns_counters_)
    if (ns != 0) line("wfp_cold_starts_total", ns_label(ns), std::to_string(c.cold_starts));
  metric("wfp_subrequests_total", "counter",
         "Calls workers made: fetch, service bindings, dispatches, Cache API; by namespace and kind.");
  for (auto& [ns, c] : ns_counters_)
    for (auto& [kind, n] : c.subrequests)
      line("wfp_subrequests_total", ns_label(ns) + ",kind=\"" + kind + "\"", std::to_string(n));

  metric("wfp_children", "gauge", "Live locked children, by role.");
  std::map<std::string, int> roles;
  size_t queued = 0, tenant_sandboxes = 0;
  for (auto& [id, c] : children_) {
    if (c->dead) continue;
    roles[role_name(c->role)]++;
    if (c->role == Role::sandbox && !c->tenant.empty()) tenant_sandboxes++;
  }
  for (auto& [id, call] : calls_) {
    auto c = children_.find(call->child_id);
    if (c != children_.end() && c->second->role == Role::sandbox && !c->second->loaded) queued++;
  }
  for (auto& [role, n] : roles) line("wfp_children", "role=\"" + role + "\"", std::to_string(n));
  metric("wfp_sandboxes", "gauge", "Sandboxes holding a user worker (the pool's occupancy).");
  line("wfp_sandboxes", "", std::to_string(tenant_sandboxes));
  metric("wfp_spare_sandboxes", "gauge", "Sandboxes forked ahead, not yet given a user worker.");
  line("wfp_spare_sandboxes", "", std::to_string(spares_.size()));
  metric("wfp_evictions_total", "counter", "Sandboxes ended to make room in a full pool (least recently used).");
  line("wfp_evictions_total", "", std::to_string(evictions_));
  metric("wfp_requests_in_flight", "gauge", "Invocations sent to a child and not answered yet.");
  line("wfp_requests_in_flight", "", std::to_string(calls_.size()));
  metric("wfp_queue_depth", "gauge",
         "Invocations waiting for a sandbox: the pool is full (queue_max), or theirs is loading its worker.");
  line("wfp_queue_depth", "", std::to_string(queued + parked_.size()));

  auto per_ns = [&](const char* name, const char* help, uint64_t CacheCounters::*field) {
    metric(name, "counter", help);
    for (auto& [ns, counters] : cache_counters_) line(name, ns_label(ns), std::to_string(counters.*field));
  };
  per_ns("wfp_cache_hits_total", "Cache API matches answered from the cache.", &CacheCounters::hits);
  per_ns("wfp_cache_misses_total", "Cache API matches that found nothing.", &CacheCounters::misses);
  per_ns("wfp_cache_puts_total", "Cache API puts, stored or not.", &CacheCounters::puts);
  per_ns("wfp_cache_stored_total", "Cache API puts that stored an entry.", &CacheCounters::stored);
  per_ns("wfp_cache_deletes_total", "Cache API deletes that removed an entry.", &CacheCounters::deletes);
  return out;
}

}  // namespace wfp
