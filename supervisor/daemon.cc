// The supervisor's core (see daemon.h): children, the broker between the
// dispatchers and the sandboxes, the public and admin listeners. Runs in
// wfpd's main process on one libevent loop. Every callback from libevent
// catches everything: an exception must never unwind into C.
#include "supervisor/daemon.h"

#include <event2/event.h>
#include <poll.h>
#include <systemd/sd-daemon.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "ipc/log.h"
#include "ipc/wire.h"
#include "sandbox/host.h"
#include "supervisor/daemon_internal.h"
#include "supervisor/forwarded.h"
#include "supervisor/names.h"

namespace wfp {

namespace {

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return std::string("killed by SIG") + (name ? name : std::to_string(sig).c_str());
  }
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

std::string bindings_json(const std::vector<Binding>& bindings) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Binding& b : bindings) {
    nlohmann::json o = {{"type", b.type}, {"name", b.name}};
    if (b.type == "plain_text" || b.type == "secret_text" || b.type == "json") o["text"] = b.text;
    if (b.type == "dispatch_namespace") o["namespace"] = b.target_name;
    if (b.type == "service") o["service"] = b.target_name;
    arr.push_back(o);
  }
  return arr.dump();
}

// Hop-by-hop headers belong to the client's connection, not to the worker.
bool hop_by_hop(const std::string& name) {
  static const char* kHop[] = {"connection", "keep-alive", "te", "transfer-encoding", "upgrade",
                               "proxy-connection", "trailer"};
  for (const char* h : kHop)
    if (strcasecmp(name.c_str(), h) == 0) return true;
  return false;
}

struct PublicError {
  int status;
  int code;
  const char* text;
};

PublicError public_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::cpu_limit:
    case ErrorCode::memory_limit:
    case ErrorCode::wall_limit:
      return {503, 1102, "worker exceeded resource limits"};
    case ErrorCode::process_died: return {502, 1105, "worker process died"};
    case ErrorCode::overloaded: return {503, 1200, "too many requests queued"};
    case ErrorCode::loop_limit: return {508, 1019, "loop detected between workers"};
    default: return {500, 1101, "worker threw an exception"};
  }
}

// What a dispatcher sees when a user worker's call fails: the user's own
// message for exceptions (DESIGN: re-thrown with its message), the Workers
// string for everything else.
std::string message_for_caller(ErrorCode code, const std::string& message) {
  switch (code) {
    case ErrorCode::exception:
    case ErrorCode::compile_error:
    case ErrorCode::no_handler:
    case ErrorCode::bad_response:
      return message.empty() ? error_text(code) : message;
    default: return error_text(code);
  }
}

// User plus system CPU time of a process, in seconds; -1 if unreadable.
double process_cpu_seconds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "re");
  if (!f) return -1;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  // Fields after the command (which may hold spaces) start past its ')'.
  char* p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2) return -1;
  static const long ticks = sysconf(_SC_CLK_TCK);
  return (double)(utime + stime) / (double)(ticks > 0 ? ticks : 100);
}

std::string read_whole_file(const std::string& path, std::string& error) {
  FILE* f = fopen(path.c_str(), "rbe");
  if (!f) {
    error = "backup: cannot read " + path + ": " + strerror(errno);
    return {};
  }
  std::string out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  if (ferror(f)) error = "backup: reading " + path + " failed";
  fclose(f);
  return out;
}

// True when the peer of a doorbell has closed its end (it died).
bool hung_up(int fd) {
  pollfd p{fd, 0, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

}  // namespace

Daemon::Daemon(Config config, std::vector<Listener> public_listeners, int admin_fd,
               std::unique_ptr<Store> store)
    : config_(std::move(config)),
      listen_(std::move(public_listeners)),
      admin_fd_(admin_fd),
      store_(std::move(store)) {
  base_ = event_base_new();
  if (!base_) throw std::runtime_error("event_base_new failed");
  started_ = Clock::now();
  // Outbound requests: the network policy and the CA file are read here,
  // so a bad value stops start-up with its reason.
  FetchClientOptions fo;
  fo.timeout_ms = config_.fetch_timeout_ms;
  fo.max_body_bytes = config_.max_body_bytes;
  fo.ca_file = config_.fetch_ca_file;
  std::vector<Network> deny, allow;
  std::string why;
  if (!parse_networks(config_.fetch_deny_networks, deny, why))
    throw std::runtime_error("fetch_deny_networks: " + why);
  if (!parse_networks(config_.fetch_allow_networks, allow, why))
    throw std::runtime_error("fetch_allow_networks: " + why);
  fo.policy = NetworkPolicy(std::move(deny), std::move(allow));
  fetch_client_ = std::make_unique<FetchClient>(base_, std::move(fo));

}

Daemon::~Daemon() {
  cache_store_.reset();  // its pending callbacks point into this Daemon
  fetch_client_.reset();
  servers_.clear();
  admin_server_.reset();
  admin_tcp_server_.reset();
  metrics_server_.reset();
  for (auto& [id, call] : calls_)
    if (call->timer) event_free(call->timer);
  for (auto& [id, c] : children_)
    if (c->ev) event_free(c->ev);
  children_.clear();
  zygote_.reset();
  dead_zygotes_.clear();
  if (zygote_ev_) event_free(zygote_ev_);
  for (event* e : signal_events_) event_free(e);
  if (tick_) event_free(tick_);
  if (unpark_ev_) event_free(unpark_ev_);
  if (spares_ev_) event_free(spares_ev_);
  if (group_ev_) event_free(group_ev_);
  if (watchdog_) event_free(watchdog_);
  if (drain_) event_free(drain_);
  if (base_) event_base_free(base_);
}

// --- children --------------------------------------------------------------

Daemon::Child* Daemon::spawn_child(Role role, const std::string& title) {
  if (!zygote_ || !zygote_->alive()) return nullptr;
  std::string error;
  auto ch = Channel::create(role, error);
  if (!ch) {
    logf(LogLevel::error, "cannot create a channel for %s: %s", title.c_str(), error.c_str());
    return nullptr;
  }
  auto c = std::make_unique<Child>();
  c->daemon = this;
  c->id = next_child_id_++;
  c->role = role;
  c->seq = next_seq_++;
  c->title = title;
  uint32_t memory_mb =
      role == Role::compiler ? (uint32_t)std::max<int64_t>(config_.memory_mb, 256) : config_.memory_mb;
  if (!zygote_->spawn(c->seq, role, title, memory_mb, ch->child_shm_fd(), ch->child_doorbell_fd()))
    return nullptr;
  // sendmsg duplicated the fds into the zygote; ours are no longer needed.
  ch->close_child_ends();
  c->ch = std::move(ch);
  // The event is freed as soon as the child is marked dead, so it never
  // fires with a pointer to a child that reap() has freed.
  c->ev = event_new(base_, c->ch->doorbell_fd(), EV_READ | EV_PERSIST, on_child_event, c.get());
  event_add(c->ev, nullptr);
  Child* raw = c.get();
  child_by_seq_[c->seq] = c->id;
  children_[c->id] = std::move(c);
  live_[(size_t)role].push_back(raw);
  return raw;
}

void Daemon::on_child_event(int, short, void* arg) {
  auto* c = (Child*)arg;
  Daemon* d = c->daemon;
  guarded("child channel", [&] { d->child_readable(c); });
  guarded("reap", [&] { d->reap(); });
}

void Daemon::child_readable(Child* c) {
  if (c->dead) return;
  std::vector<Message> msgs;
  ChannelStatus st = c->ch->service(msgs);
  for (Message& m : msgs) {
    if (c->dead) return;
    handle_message(c, m);
  }
  if (c->dead) return;
  if (st == ChannelStatus::protocol_error) kill_child(c, "protocol violation: " + c->ch->error());
  else if (st == ChannelStatus::closed) child_gone(c, "closed its channel");
}

std::vector<Daemon::Child*> Daemon::live_children(Role role) { return live_[(size_t)role]; }

void Daemon::kill_child(Child* c, const std::string& why) {
  if (c->dead) return;
  logf(LogLevel::warn, "killing %s (pid %d): %s", c->title.c_str(), (int)c->pid, why.c_str());
  if (c->pid > 0) kill(c->pid, SIGKILL);
  child_gone(c, why);
}

// Marks a child dead and fails what it was doing; reap() frees it later.
void Daemon::child_gone(Child* c, const std::string& why) {
  if (c->dead) return;
  c->dead = true;
  auto& live = live_[(size_t)c->role];
  live.erase(std::remove(live.begin(), live.end(), c), live.end());
  if (c->ev) {
    event_free(c->ev);
    c->ev = nullptr;
  }
  if (c->pid > 0) kill(c->pid, SIGKILL);  // a child that hung up is done either way
  WFP_LOG(info, "%s (pid %d) is gone: %s", c->title.c_str(), (int)c->pid, why.c_str());
  std::vector<Call*> failed;
  for (auto& [id, call] : calls_) {
    if (call->child_id == c->id) failed.push_back(call.get());
    if (call->parent_child == c->id) call->parent_child = 0;  // nobody to answer
  }
  for (Call* call : failed) finish_call(call, nullptr, ErrorCode::process_died, "", "");
  release_child(c);
  report_dropped_logs(c);
  if (c->role == Role::sandbox && !c->tenant.empty() && !c->deliberate && !c->retired)
    tenant_died(c->tenant, c->label);
  if (!c->tenant.empty()) {
    auto& v = sandboxes_by_tenant_[c->tenant];
    v.erase(std::remove(v.begin(), v.end(), c->id), v.end());
    if (v.empty()) sandboxes_by_tenant_.erase(c->tenant);
  }
  spares_.erase(std::remove(spares_.begin(), spares_.end(), c->id), spares_.end());
  if (c->role == Role::sandbox) schedule_unpark();
  if (c->role == Role::compiler && c->compiling) {
    // Only the script being compiled is refused: a compile that overran
    // its deadline or crashed the compiler is that script's doing. The
    // deploys queued behind it go to the other compilers (reap() sends them).
    c->compiling = false;
    CompileResult r;
    r.error = c->job.filename + ": the compiler stopped (" + why + ") while compiling this script";
    auto done = std::move(c->job.done);
    done(r);
  }
  if (c->role == Role::dispatcher && Clock::now() - c->started < std::chrono::seconds(2))
    dispatcher_failures_++;
  graveyard_.push_back(c->id);
}

void Daemon::reap() {
  for (uint64_t id : graveyard_) {
    auto it = children_.find(id);
    if (it == children_.end()) continue;
    // The pid stays known until the zygote reports how it ended.
    if (it->second->pid > 0) ended_titles_[it->second->pid] = it->second->title;
    child_by_seq_.erase(it->second->seq);
    children_.erase(it);
  }
  graveyard_.clear();
  if (!stopping_) {
    ensure_dispatchers();
    // A replacement already scheduled (start_sandbox) waits for its timer.
    if (!spares_ev_ || !evtimer_pending(spares_ev_, nullptr)) ensure_spares();
    send_next_compile();
  }
}

void Daemon::on_zygote_spawned(uint32_t seq, pid_t pid, int err) {
  auto it = child_by_seq_.find(seq);
  if (it == child_by_seq_.end()) {
    if (pid > 0) kill(pid, SIGKILL);
    return;
  }
  zygote_answered_ = true;
  Child* c = children_[it->second].get();
  if (pid <= 0) {
    logf(LogLevel::error, "zygote could not fork %s: %s", c->title.c_str(), strerror(err));
    child_gone(c, "fork failed");
    reap();
    return;
  }
  c->pid = pid;
  child_by_pid_[pid] = c->id;
  if (c->dead) kill(pid, SIGKILL);
}

void Daemon::on_zygote_exit(pid_t pid, int status) {
  if (pid == -1) return zygote_died(status);
  auto it = child_by_pid_.find(pid);
  if (it == child_by_pid_.end()) return;
  auto ended = ended_titles_.find(pid);
  if (ended != ended_titles_.end()) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
      logf(LogLevel::error, "%s (pid %d) was killed by its seccomp policy", ended->second.c_str(), (int)pid);
    else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) &&
             !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      logf(LogLevel::warn, "%s (pid %d) %s", ended->second.c_str(), (int)pid, describe_status(status).c_str());
    ended_titles_.erase(ended);
    child_by_pid_.erase(it);
    return;
  }
  auto c = children_.find(it->second);
  if (c != children_.end()) {
    std::string how = describe_status(status);
    // The channel often reports the death first; the status still says why.
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
      logf(LogLevel::error, "%s (pid %d) was killed by its seccomp policy", c->second->title.c_str(), (int)pid);
    else if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) &&
             !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
      logf(LogLevel::warn, "%s (pid %d) %s", c->second->title.c_str(), (int)pid, how.c_str());
    if (!c->second->dead) child_gone(c->second.get(), how);
  }
  child_by_pid_.erase(pid);
  reap();
}

// How many times in a row a zygote may die within kZygoteQuickDeath of its
// start before wfpd gives up; the restarts in between wait 0, 1, 2, 4 s.
constexpr int kZygoteTries = 4;
constexpr auto kZygoteQuickDeath = std::chrono::seconds(10);

bool Daemon::start_zygote() {
  try {
    zygote_ = std::make_unique<ZygoteClient>(
        base_,
        [this](uint32_t seq, pid_t pid, int err) { on_zygote_spawned(seq, pid, err); },
        [this](pid_t pid, int status) { on_zygote_exit(pid, status); });
  } catch (const std::exception& e) {
    logf(LogLevel::error, "%s", e.what());
    return false;
  }
  zygote_started_ = Clock::now();
  zygote_answered_ = false;
  return true;
}

bool Daemon::zygote_restarting() const { return zygote_ev_ && evtimer_pending(zygote_ev_, nullptr); }

// The zygote died (killed, crashed, or broke its control channel). Every
// child dies with it: they are the zygote's children and keep
// PR_SET_PDEATHSIG (sandbox/zygote.cc), which we rely on so no child can
// outlive the process that forked it and be left unsupervised, and so
// each death is seen on its channel. Their in-flight requests fail
// (process_died, 502/1105) and nothing else does: a new zygote is started
// at once and the dispatchers, compilers and spares come back through it;
// deploys wait in the compile queue meanwhile. The zygote's exit reports
// are gone with it, so pids it would have reported are forgotten here.
//
// Every zygote, the first and each new one, is wfpd run again
// (ZygoteClient, --zygote): none holds a copy of the supervisor's memory.
void Daemon::zygote_died(int status) {
  std::string how = status == -1 ? "could not be started" : "died (" + describe_status(status) + ")";
  pid_t old = zygote_ ? zygote_->pid() : -1;
  if (zygote_) dead_zygotes_.push_back(std::move(zygote_));
  std::vector<Child*> orphans;
  for (auto& [id, c] : children_)
    if (!c->dead) orphans.push_back(c.get());
  for (Child* c : orphans) child_gone(c, "its zygote died");
  child_by_pid_.clear();
  ended_titles_.clear();
  bool quick = Clock::now() - zygote_started_ < kZygoteQuickDeath;
  zygote_quick_deaths_ = quick ? zygote_quick_deaths_ + 1 : 1;
  if (stopping_) {
    logf(LogLevel::warn, "the zygote (pid %d) %s while wfpd was stopping", (int)old, how.c_str());
    event_base_loopexit(base_, nullptr);
    return;
  }
  if (zygote_quick_deaths_ > kZygoteTries) {
    logf(LogLevel::error,
         "the zygote %s; it died %d times in a row within %lld s of its start, giving up: exiting so "
         "the service manager restarts wfpd", how.c_str(), zygote_quick_deaths_,
         (long long)std::chrono::duration_cast<std::chrono::seconds>(kZygoteQuickDeath).count());
    zygote_gave_up_ = true;
    stopping_ = true;
    event_base_loopexit(base_, nullptr);
    return;
  }
  int delay_s = zygote_quick_deaths_ <= 1 ? 0 : 1 << (zygote_quick_deaths_ - 2);
  logf(LogLevel::error, "the zygote (pid %d) %s; %zu children died with it; starting a new zygote%s",
       (int)old, how.c_str(), orphans.size(),
       delay_s ? (" in " + std::to_string(delay_s) + " s").c_str() : "");
  if (!zygote_ev_)
    zygote_ev_ = evtimer_new(base_, [](int, short, void* arg) {
      auto* d = (Daemon*)arg;
      guarded("zygote restart", [&] {
        if (d->stopping_) return;
        if (!d->start_zygote()) return d->zygote_died(-1);
        logf(LogLevel::info, "a new zygote (pid %d) started", (int)d->zygote_->pid());
        d->reap();
      });
    }, this);
  timeval tv{delay_s, 0};
  evtimer_add(zygote_ev_, &tv);
}

namespace {
// True when the process is stopped (SIGSTOP, SIGTSTP; state T in /proc).
bool process_stopped(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "re");
  if (!f) return false;
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char* p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] == 'T';
}
}  // namespace

// A stopped runner answers nothing: the wall-clock limit fails its
// requests one by one, but a dispatcher is only made to forget them and
// would go on taking (and failing) new ones. One seen stopped with
// requests in flight on three ticks in a row (2 to 3 s) is killed and
// replaced; one stopped while idle, or for less, is left alone and
// carries on after SIGCONT.
constexpr int kStoppedTicks = 3;
constexpr auto kZygoteAnswer = std::chrono::seconds(10);
constexpr auto kZygoteFirstAnswer = std::chrono::seconds(60);

void Daemon::check_stopped_children() {
  std::unordered_map<uint64_t, int> seen;
  std::vector<Child*> frozen;
  for (Role role : {Role::dispatcher, Role::sandbox})
    for (Child* c : live_[(size_t)role]) {
      if (c->pid <= 0 || c->inflight == 0 || !process_stopped(c->pid)) continue;
      auto it = stopped_ticks_.find(c->id);
      int ticks = (it == stopped_ticks_.end() ? 0 : it->second) + 1;
      if (ticks >= kStoppedTicks) frozen.push_back(c);
      else seen[c->id] = ticks;
    }
  stopped_ticks_.swap(seen);
  for (Child* c : frozen)
    kill_child(c, "stopped (SIGSTOP or a freeze) with " + std::to_string(c->inflight) +
                      " request(s) in flight; it answers nothing");
  // The zygote answers a spawn in milliseconds; one that leaves a spawn
  // unanswered for kZygoteAnswer is stopped or stuck: it is killed, which ends its
  // children too, and replaced (zygote_died). Before its first answer it
  // may still be building its image (slow under the sanitizers): longer.
  if (!zygote_ || !zygote_->alive()) return;
  auto now = Clock::now();
  auto bound = zygote_answered_ ? kZygoteAnswer : kZygoteFirstAnswer;
  for (auto& live : live_)
    for (Child* c : live)
      if (c->pid == 0 && now - c->started > bound) {
        logf(LogLevel::error, "the zygote (pid %d) left the spawn of %s unanswered for %lld s; killing it",
             (int)zygote_->pid(), c->title.c_str(),
             (long long)std::chrono::duration_cast<std::chrono::seconds>(bound).count());
        kill(zygote_->pid(), SIGKILL);
        return;
      }
}

void Daemon::handle_message(Child* c, Message& m) {
  WireReader r(m.payload);
  switch ((MsgType)m.type) {
    case MsgType::hello: {
      std::string build = r.str(64);
      if (!r.done()) return kill_child(c, "malformed hello");
      if (c->said_hello) return kill_child(c, "a second hello");
      c->said_hello = true;
      return;
    }
    case MsgType::load_result: {
      uint64_t slot = r.u64();
      auto code = (ErrorCode)r.u32();
      std::string message = r.str(8192);
      if (!r.done()) return kill_child(c, "malformed load_result");
      if (code == ErrorCode::ok) {
        c->loaded = true;
        return;
      }
      logf(LogLevel::warn, "%s: loading %llu failed: %s", c->title.c_str(), (unsigned long long)slot,
           message.c_str());
      if (c->role == Role::sandbox) {
        // Every request waiting on this sandbox fails with the load error;
        // the sandbox is never reused.
        std::vector<Call*> waiting;
        for (auto& [id, call] : calls_)
          if (call->child_id == c->id) waiting.push_back(call.get());
        for (Call* call : waiting) finish_call(call, nullptr, code, message, "");
        // Its script's load error is the answer each time; a fresh
        // sandbox per request is bounded by the requests, not a loop.
        c->deliberate = true;
        kill_child(c, "failed to load its worker");
      }
      return;
    }
    case MsgType::response:
    case MsgType::request_failed: {
      auto it = calls_.find(m.request_id);
      // Identity comes from the channel: an answer to a request this child
      // was not given is a forgery.
      if (it == calls_.end() && c->forgotten.erase(m.request_id)) return;  // too late
      if (it == calls_.end() || it->second->child_id != c->id)
        return kill_child(c, "answer for a request it does not hold");
      Call* call = it->second.get();
      if ((MsgType)m.type == MsgType::response) {
        uint32_t status = r.u32();
        r.str(1024);
        r.pairs(1000, 256 * 1024);
        r.str();
        uint64_t handle = r.u64();
        bool open = r.u8() != 0;
        call->cpu_us = r.u64();
        if (!r.done()) return kill_child(c, "malformed response");
        if (handle && !held_body(c->id, handle)) return kill_child(c, "response with a body it does not hold");
        // The flag and the CPU figure are ours; what goes on is a plain response.
        m.payload.resize(m.payload.size() - 9);
        if (status < 200 || status > 599)
          return finish_call(call, nullptr, ErrorCode::bad_response,
                             "Responses may only be constructed with status codes in the range 200 to 599.", "",
                             open);
        return finish_call(call, &m, ErrorCode::ok, "", "", open);
      }
      auto code = (ErrorCode)r.u32();
      std::string message = r.str(8192), stack = r.str(32768);
      bool open = r.u8() != 0;
      call->cpu_us = r.u64();
      if (!r.done()) return kill_child(c, "malformed request_failed");
      // A sandbox that hit a limit exits after reporting it; take no new
      // request to it meanwhile (DESIGN: replaced, never reused).
      if (c->role == Role::sandbox && (code == ErrorCode::cpu_limit || code == ErrorCode::memory_limit))
        c->retired = true;
      return finish_call(call, nullptr, code, message, stack, open);
    }
    case MsgType::subrequest: return on_subrequest(c, m);
    case MsgType::fetch: return on_fetch(c, m);
    case MsgType::body_read: return on_body_read(c, m);
    case MsgType::cache_op: return on_cache_op(c, m);
    case MsgType::log: {
      std::string level = r.str(16), text = r.str(kLogTextMax);
      if (!r.done()) return kill_child(c, "malformed log");
      if (!log_budget(c, text.size())) return;
      // "sys.LEVEL": the child's own log line (it has no stderr); anything
      // else is a worker's console output at that level.
      if (level.compare(0, 4, "sys.") == 0) {
        LogLevel lv = LogLevel::info;
        if (!log_parse_level(level.substr(4), lv)) lv = LogLevel::info;
        if (log_enabled(lv)) logf(lv, "%s (pid %d): %s", c->title.c_str(), (int)c->pid, text.c_str());
        return;
      }
      if (!tails_.empty()) tail_log(c, m.request_id, level, text);
      std::string who = c->role == Role::sandbox ? c->label : c->title;
      LogLevel lv = level == "error" ? LogLevel::error : level == "warn" ? LogLevel::warn : LogLevel::info;
      if (log_enabled(lv)) logf(lv, "console.%s [%s]: %s", level.c_str(), who.c_str(), text.c_str());
      return;
    }
    case MsgType::compile_result: {
      auto code = (ErrorCode)r.u32();
      CompileResult res;
      res.bytecode = r.str();
      res.build_id = r.str(64);
      res.error = r.str(8192);
      res.lowered = r.str();
      res.format = r.str(32);
      res.line_map = r.str();
      if (!r.done()) return kill_child(c, "malformed compile_result");
      res.ok = code == ErrorCode::ok;
      if (!c->compiling || c->job.id != m.request_id)
        return kill_child(c, "compile result for nothing asked");
      auto done = std::move(c->job.done);
      c->compiling = false;
      done(res);
      send_next_compile();
      return;
    }
    default:
      return kill_child(c, "unexpected message type");
  }
}

// Log lines a child may send: a bucket of bytes (a line costs at least
// 256), 256 KiB deep, refilled at 64 KiB/s. Past it lines are dropped and
// counted; the count is logged when lines flow again, so a flood costs a
// bounded amount of disk and never the supervisor's memory.
bool Daemon::log_budget(Child* c, size_t bytes) {
  constexpr double kDepth = 256 * 1024, kRate = 64 * 1024;
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - c->log_refilled).count();
  c->log_refilled = now;
  c->log_tokens = std::min(kDepth, c->log_tokens + elapsed * kRate);
  double cost = (double)std::max<size_t>(bytes, 256);
  if (c->log_tokens < cost) {
    c->log_dropped++;
    return false;
  }
  c->log_tokens -= cost;
  report_dropped_logs(c);
  return true;
}

void Daemon::report_dropped_logs(Child* c) {
  if (!c->log_dropped) return;
  logf(LogLevel::warn, "%s: %llu log lines dropped (more than 64 KiB/s of log output)",
       c->role == Role::sandbox ? c->label.c_str() : c->title.c_str(), (unsigned long long)c->log_dropped);
  c->log_dropped = 0;
}

void Daemon::load_platform_workers(Child* d) {
  for (const Worker& w : store_->list_workers()) {
    WireWriter wr;
    wr.u64((uint64_t)w.id).str(w.name).str(w.code.format).str(w.code.source).str(w.code.bytecode)
        .str(w.code.build_id).str(bindings_json(w.bindings)).i64(config_.cpu_ms).i64(config_.subrequests)
        .str(w.code.lowered).str(w.code.line_map).u8(1);
    d->ch->send(MsgType::load_worker, 0, wr.data());
  }
}

void Daemon::ensure_dispatchers() {
  if (stopping_) return;
  // One per core by default; the count is read once (glibc reads /sys for it).
  static const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  int64_t want = config_.dispatchers > 0 ? config_.dispatchers : cores;
  std::vector<Child*> live = live_children(Role::dispatcher);
  if ((int64_t)live.size() >= want) return;
  // A dispatcher that keeps dying right after start is restarted with
  // back-off, so a broken platform worker can't make us fork in a loop.
  if (Clock::now() < next_dispatcher_spawn_) return;
  if (dispatcher_failures_ > 3) {
    int shift = std::min(dispatcher_failures_ - 3, 5);
    next_dispatcher_spawn_ = Clock::now() + std::chrono::seconds(1 << shift);
    logf(LogLevel::warn, "dispatchers keep dying; next restart in %d s", 1 << shift);
    dispatcher_failures_ = 3;
  }
  std::vector<bool> taken(want, false);
  for (Child* c : live)
    if (c->index < want) taken[c->index] = true;
  for (int64_t i = 0; i < want; i++) {
    if (taken[i]) continue;
    Child* d = spawn_child(Role::dispatcher, "dispatcher " + std::to_string(i));
    if (!d) return;
    d->index = (int)i;
    load_platform_workers(d);
  }
}

void Daemon::ensure_spares() {
  if (stopping_) return;
  size_t total = live_[(size_t)Role::sandbox].size();
  while ((int64_t)spares_.size() < config_.pool_spares && (int64_t)total < config_.pool_max_total) {
    Child* s = spawn_child(Role::sandbox, "sandbox (spare)");
    if (!s) return;
    spares_.push_back(s->id);
    total++;
  }
}

// Two compilers, so that one slow (or hostile) deploy holds up only half
// of the deploy path until its deadline ends it.
constexpr size_t kCompilers = 2;

void Daemon::ensure_compilers() {
  auto live = live_children(Role::compiler);
  for (size_t i = live.size(); i < kCompilers; i++)
    if (!spawn_child(Role::compiler, "compiler")) return;
}

// The engine stops a run at its CPU limit through the interrupt check;
// what the engine cannot interrupt (a catastrophic regular expression, a
// huge join inside one native call) the watchdog ends from outside. Every
// 100 ms it looks at what each runner says it is running (Channel::
// mark_running); a run seen twice is timed with the process's CPU clock,
// and one that used more than its limit plus 250 ms is killed: its request
// fails with the CPU limit's error, the child's other requests as a death.
void Daemon::watchdog() {
  std::vector<std::pair<Child*, uint64_t>> runaway;
  for (auto& [id, c] : children_) {
    if (c->dead || c->pid <= 0 || (c->role != Role::sandbox && c->role != Role::dispatcher)) continue;
    uint64_t req = 0, runs = 0;
    c->ch->peer_running(req, runs);
    if (req == 0 || runs != c->watch_runs) {
      c->watch_runs = runs;
      c->watch_cpu = -1;
      continue;
    }
    double cpu = process_cpu_seconds(c->pid);
    if (cpu < 0) continue;
    if (c->watch_cpu < 0) {
      c->watch_cpu = cpu;
      continue;
    }
    int64_t limit_ms = c->role == Role::sandbox && c->cpu_ms > 0 ? std::min(c->cpu_ms, config_.cpu_ms) : config_.cpu_ms;
    if ((cpu - c->watch_cpu) * 1000.0 > (double)limit_ms + 250.0) runaway.push_back({c.get(), req});
  }
  for (auto& [c, req] : runaway) {
    logf(LogLevel::warn, "%s (pid %d): a run went on past its CPU limit where the engine could not stop it",
         c->title.c_str(), (int)c->pid);
    auto it = calls_.find(req);
    if (it != calls_.end() && it->second->child_id == c->id)
      finish_call(it->second.get(), nullptr, ErrorCode::cpu_limit, "", "");
    kill_child(c, "exceeded the CPU limit (watchdog)");
  }
  reap();
}

// A tenant whose sandboxes keep dying (crashes, protocol violations,
// failed loads, the watchdog; not limits, idling or eviction) is refused
// new sandboxes for a while, doubling from 1 s to 60 s, so a script that
// kills its process can't make the supervisor fork in a loop. An answer
// from one of its sandboxes ends it. Both changes are logged.
void Daemon::tenant_died(const std::string& key, const std::string& label) {
  TenantHealth& h = tenant_health_[key];
  h.deaths++;
  if (h.deaths < 3) return;
  h.level = std::min(h.level + 1, 7);
  int seconds = std::min(1 << (h.level - 1), 60);
  h.until = Clock::now() + std::chrono::seconds(seconds);
  logf(LogLevel::warn, "%s: its sandboxes keep dying (%d in a row); no new sandbox for %d s", label.c_str(),
       h.deaths, seconds);
}

bool Daemon::tenant_throttled(const std::string& key) {
  if (tenant_health_.empty()) return false;
  auto it = tenant_health_.find(key);
  return it != tenant_health_.end() && Clock::now() < it->second.until;
}

void Daemon::tenant_served(const std::string& key, const std::string& label) {
  auto it = tenant_health_.find(key);
  if (it == tenant_health_.end()) return;
  if (it->second.level > 0) logf(LogLevel::info, "%s: serving again after its sandboxes kept dying", label.c_str());
  tenant_health_.erase(it);
}

void Daemon::on_tick() {
  auto now = Clock::now();
  // Idle sandboxes go; the next request for the tenant starts a fresh one.
  std::vector<Child*> idle;
  for (auto& [id, c] : children_) {
    if (c->dead || c->role != Role::sandbox || c->tenant.empty() || c->inflight > 0) continue;
    if (c->retired || now - c->last_used > std::chrono::seconds(config_.pool_idle_seconds))
      idle.push_back(c.get());
  }
  for (Child* c : idle) {
    c->deliberate = true;
    kill_child(c, c->retired ? "retired" : "idle");
  }
  // A compile that takes too long is a hostile or broken script: the
  // compiler is killed (and restarted) so other deploys go on.
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    if (it->second.until >= now) {
      ++it;
      continue;
    }
    if (!held_.empty()) release_held(it->first);
    it = lingering_.erase(it);
  }
  if (!tails_.empty()) tail_expire();
  if (!parked_.empty()) {
    std::deque<Parked> keep;
    for (Parked& p : parked_)
      if (waiting_caller(p)) keep.push_back(std::move(p));
    parked_.swap(keep);
  }
  for (Child* c : live_children(Role::compiler))
    if (c->compiling && now > c->compile_deadline) kill_child(c, "a compile ran past its deadline");
  // Expired cache entries are reclaimed in the background, a little at a time.
  if (cache_store_ && ++ticks_ % 60 == 0) cache_store_->reclaim_expired();
  check_stopped_children();
  dead_zygotes_.clear();
  reap();
}

// --- the admin backend ------------------------------------------------------

// Deploys whose compiles finish in the same turn of the loop (and those
// that finished while the last group's sync held the loop) share one
// transaction and one sync; the compilers meanwhile go on with the next.
void Daemon::write_grouped(std::function<void()> write,
                           std::function<void(std::exception_ptr)> done) {
  grouped_.push_back({std::move(write), std::move(done)});
  if (!group_ev_)
    group_ev_ = event_new(base_, -1, 0, [](int, short, void* arg) {
      auto* d = (Daemon*)arg;
      guarded("group commit", [&] { d->commit_group(); });
    }, this);
  event_active(group_ev_, EV_TIMEOUT, 0);
}

void Daemon::commit_group() {
  std::vector<GroupedWrite> group = std::move(grouped_);
  grouped_.clear();
  if (group.empty()) return;
  std::vector<std::function<void()>> writes;
  writes.reserve(group.size());
  for (auto& g : group) writes.push_back(std::move(g.write));
  std::vector<std::exception_ptr> outcomes = store_->write_group(writes);
  for (size_t i = 0; i < group.size(); i++)
    guarded("group commit", [&] { group[i].done(outcomes[i]); });
}

void Daemon::compile(const std::string& filename, const std::string& source, bool module_hint,
                     std::function<void(CompileResult)> done) {
  compile_queue_.push_back(PendingCompile{next_compile_id_++, filename, source, module_hint, std::move(done)});
  send_next_compile();
}

// Each compiler takes one script at a time, so a deadline measures that
// script's own compile, not its wait in the queue.
void Daemon::send_next_compile() {
  if (compile_queue_.empty() || stopping_) return;
  // A new zygote is on its way: the queue waits for its compilers.
  if (zygote_restarting()) return;
  ensure_compilers();
  auto compilers = live_children(Role::compiler);
  if (compilers.empty()) {
    // Never call back inside compile(): fail the queue from the loop.
    event_base_once(base_, -1, EV_TIMEOUT, [](int, short, void* a) {
      auto* d = (Daemon*)a;
      guarded("compile callback", [&] {
        auto queue = std::move(d->compile_queue_);
        d->compile_queue_.clear();
        for (auto& p : queue) {
          CompileResult r;
          r.error = "the compiler is not available";
          r.internal = true;
          p.done(r);
        }
      });
    }, this, nullptr);
    return;
  }
  for (Child* c : compilers) {
    if (c->compiling || compile_queue_.empty()) continue;
    c->job = std::move(compile_queue_.front());
    compile_queue_.pop_front();
    c->compiling = true;
    // Lowering in Babel costs about 1 ms per byte of modern source on this
    // kind of machine: the deadline grows with the script (30 s + 3 ms/byte,
    // at most 10 minutes) so only a runaway compile is killed.
    c->compile_deadline = Clock::now() + std::chrono::milliseconds(std::min<int64_t>(
                                             30000 + 3 * (int64_t)c->job.source.size(), 600000));
    c->ch->send(MsgType::compile, c->job.id,
                WireWriter().str(c->job.filename).str(c->job.source).u8(c->job.module_hint ? 1 : 0).data());
  }
}

void Daemon::script_changed(int64_t namespace_id, const std::string& name) {
  std::string key = std::to_string(namespace_id) + "/" + name;
  auto it = sandboxes_by_tenant_.find(key);
  if (it == sandboxes_by_tenant_.end()) return;
  // Running sandboxes keep the old version until their requests finish;
  // new requests start a sandbox with the new one.
  std::vector<uint64_t> ids = it->second;
  sandboxes_by_tenant_.erase(it);
  for (uint64_t id : ids) {
    auto c = children_.find(id);
    if (c == children_.end()) continue;
    c->second->retired = true;
    c->second->tenant.clear();
    c->second->deliberate = true;
    if (c->second->inflight == 0) kill_child(c->second.get(), "its script changed");
  }
  reap();
}

void Daemon::namespace_deleted(int64_t namespace_id) {
  std::string prefix = std::to_string(namespace_id) + "/";
  std::vector<std::string> names;
  for (auto& [key, ids] : sandboxes_by_tenant_)
    if (key.compare(0, prefix.size(), prefix) == 0) names.push_back(key.substr(prefix.size()));
  for (auto& n : names) script_changed(namespace_id, n);
}

void Daemon::workers_changed() {
  worker_bindings_.clear();
  for (const Worker& w : store_->list_workers()) worker_bindings_[w.id] = w.bindings;
  for (Child* d : live_children(Role::dispatcher)) load_platform_workers(d);
}

void Daemon::routes_changed() {
  std::vector<RoutePattern> rs;
  for (const Route& r : store_->list_routes()) rs.push_back(RoutePattern{r.pattern, r.worker_id, r.worker_name});
  routes_.assign(std::move(rs));
}

nlohmann::json Daemon::status() {
  using nlohmann::json;
  json children = json::array();
  size_t sandboxes = 0;
  for (auto& [id, c] : children_) {
    if (c->dead) continue;
    if (c->role == Role::sandbox && !c->tenant.empty()) sandboxes++;
    json o = {{"pid", c->pid}, {"role", role_name(c->role)}, {"title", "wfpd: " + c->title},
              {"inflight", c->inflight}, {"served", c->served}};
    if (!c->label.empty()) o["tenant"] = c->label;
    if (c->role == Role::compiler) o["compiling"] = c->compiling ? c->job.filename : "";
    children.push_back(o);
  }
  children.push_back({{"pid", zygote_ ? zygote_->pid() : 0}, {"role", "zygote"}, {"title", "wfpd: zygote"},
                      {"inflight", 0}, {"served", 0}});
  json by_role = json::object();
  for (auto& c : children) by_role[c["role"].get<std::string>()] = by_role.value(c["role"].get<std::string>(), 0) + 1;
  json listen = json::array();
  for (auto& l : listen_) listen.push_back(l.address);
  auto ns = store_->list_namespaces();
  json per_ns = json::array();
  std::map<int64_t, size_t> live;
  for (auto& [id, c] : children_)
    if (!c->dead && c->role == Role::sandbox && !c->tenant.empty()) live[c->ns_id]++;
  for (auto& n : ns) {
    uint64_t requests = 0, errors = 0;
    if (auto it = ns_counters_.find(n.id); it != ns_counters_.end())
      for (auto& [outcome, count] : it->second.outcomes) {
        requests += count;
        if (outcome != "ok") errors += count;
      }
    per_ns.push_back({{"name", n.name}, {"scripts", n.script_count}, {"sandboxes", live[n.id]},
                      {"requests", requests}, {"errors", errors}});
  }
  return {{"version", WFP_VERSION},
          {"build_id", host_build_id()},
          {"pid", getpid()},
          {"uptime_seconds",
           std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count()},
          {"listen", listen},
          {"admin_socket", config_.admin_socket},
          {"admin_listen", admin_tcp_.address},
          {"metrics_listen", metrics_listen_.address},
          {"data_dir", config_.data_dir},
          {"children_by_role", by_role},
          {"children", children},
          {"pool", {{"sandboxes", sandboxes}, {"spares", spares_.size()}, {"max_total", config_.pool_max_total}}},
          {"requests_in_flight", calls_.size()},
          {"queued", parked_.size()},
          {"namespaces", per_ns},
          {"workers", store_->list_workers().size()},
          {"routes", routes_.size()}};
}

// --- requests ----------------------------------------------------------------

void Daemon::error_page(const std::shared_ptr<HttpExchange>& ex, ErrorCode code,
                        const std::string& request_id) {
  PublicError pe = public_error(code);
  HttpResponse resp;
  resp.status = pe.status;
  resp.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  resp.headers.push_back({"wfp-request-id", request_id});
  if (code == ErrorCode::overloaded) resp.headers.push_back({"Retry-After", "1"});
  resp.body = "Error " + std::to_string(pe.code) + ": " + pe.text + "\nrequest id: " + request_id + "\n";
  ex->respond(std::move(resp));
}

void Daemon::send_request(Call* call, Child* target, uint64_t slot, const std::string& method,
                          const std::string& url, const HeaderList& headers, const std::string& body,
                          const std::string& args, int64_t cpu_ms, int64_t subrequests,
                          const std::string& env_json) {
  call->child_id = target->id;
  call->daemon = this;
  call->subrequests_left = subrequests;
  // Every invocation has the wall-clock limit; see on_call_timeout.
  call->timer = evtimer_new(base_, on_call_timeout, call);
  timeval tv{(time_t)(config_.wall_ms / 1000), (suseconds_t)((config_.wall_ms % 1000) * 1000)};
  evtimer_add(call->timer, &tv);
  target->inflight++;
  target->served++;
  target->last_used = Clock::now();
  if (!tails_.empty()) {
    call->method = method;
    call->url = url;
  }
  WireWriter w;
  w.u64(slot).str(method).str(url).pairs(headers).str(body).str(args).i64(cpu_ms).i64(subrequests)
      .u32(call->depth).str(env_json);
  target->ch->send(MsgType::request, call->id, w.data());
}

void Daemon::on_public_request(std::shared_ptr<HttpExchange> ex) {
  const HttpRequest& req = ex->request();
  requests_total_++;
  std::string request_id = request_id_hex();
  const RoutePattern* route = routes_.match(req.host, req.path);
  if (!route) {
    HttpResponse r;
    r.status = 404;
    r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
    r.body = "No worker is routed for this host and path.\n";
    return ex->respond(std::move(r));
  }
  auto dispatchers = live_children(Role::dispatcher);
  if (dispatchers.empty()) return error_page(ex, ErrorCode::process_died, request_id);
  Child* d = dispatchers[next_dispatcher_++ % dispatchers.size()];

  auto call = std::make_unique<Call>();
  call->id = next_call_id_++;
  call->client = ex;
  call->public_id = request_id;
  call->worker_id = route->worker_id;
  call->label = route->worker_name;
  call->chain = std::make_shared<Chain>();

  // A request that a worker's fetch() sent back into wfpd carries the
  // depth of the chain it came from (kLoopHeader): the chain goes on
  // counting from there, so a worker fetching itself ends at the limit.
  HeaderList headers;
  for (const HttpHeader& h : req.headers) {
    if (hop_by_hop(h.name) || is_forwarding_header(h.name)) continue;
    if (strcasecmp(h.name.c_str(), kLoopHeader) == 0) {
      char* end = nullptr;
      unsigned long d = strtoul(h.value.c_str(), &end, 10);
      if (end && *end == 0 && !h.value.empty() && d < 1000) call->depth = std::max<uint32_t>(call->depth, (uint32_t)d + 1);
    }
    headers.emplace_back(h.name, h.value);
  }
  if (call->depth > kMaxDepth) {
    std::string rid = call->public_id;
    logf(LogLevel::warn, "request %s: refused: it came back through fetch() %u times (loop)", rid.c_str(),
         call->depth);
    return error_page(ex, ErrorCode::loop_limit, rid);
  }
  std::string scheme;
  add_forwarding_headers(req, headers, scheme);  // daemon_access.cc
  std::string url = scheme + "://" + req.host + req.target;
  Call* raw = call.get();
  calls_[call->id] = std::move(call);
  send_request(raw, d, (uint64_t)route->worker_id, req.method, url, headers, req.body, "",
               config_.cpu_ms, config_.subrequests);
}

void Daemon::on_subrequest(Child* c, Message& m) {
  WireReader r(m.payload);
  uint64_t parent = r.u64();
  std::string binding = r.str(256), script_name = r.str(256), args = r.str(1 << 20);
  std::string method = r.str(64), url = r.str(64 * 1024);
  HeaderList headers = r.pairs(1000, 256 * 1024);
  std::string body = r.str();
  int64_t call_cpu = r.i64(), call_subs = r.i64();
  uint64_t body_handle = r.u64();
  std::string outbound_json = r.str(64 * 1024);
  if (!r.done()) return kill_child(c, "malformed subrequest");
  uint64_t sub = m.request_id;
  Caller caller;
  if (!begin_call(c, "subrequest", parent, sub, body_handle, body, caller)) return;
  count_subrequest(c, script_name.empty() ? "service" : "dispatch");
  int64_t worker_id = caller.worker_id;
  uint32_t depth = caller.depth;
  std::string public_id = caller.public_id;
  std::shared_ptr<Chain> chain = caller.chain;
  auto refuse = [&](ErrorCode code, const std::string& msg) { refuse_call(c, sub, code, msg); };

  // The caller's bindings: a platform worker's come from the copy made when
  // workers change, a user worker's from its sandbox's record. Identity is
  // the channel's: a child can only use bindings its own script has.
  const std::vector<Binding>* bindings = nullptr;
  if (c->role == Role::dispatcher) {
    auto wb = worker_bindings_.find(worker_id);
    if (wb == worker_bindings_.end()) return refuse(ErrorCode::internal, "the calling worker no longer exists");
    bindings = &wb->second;
  } else {
    bindings = &c->bindings;
  }
  const Binding* b = nullptr;
  for (const Binding& x : *bindings)
    if (x.name == binding) b = &x;
  if (!b || (b->type != "dispatch_namespace" && b->type != "service"))
    return refuse(ErrorCode::internal, "no dispatch namespace or service binding named " + binding);
  // Limits of the whole chain (DESIGN.md): depth 16, 32 invocations.
  if (depth + 1 > kMaxDepth) {
    chain->loop_hit = true;
    return refuse(ErrorCode::loop_limit, error_text(ErrorCode::loop_limit));
  }
  if (chain->invocations + 1 > kMaxInvocations)
    return refuse(ErrorCode::invocation_limit, error_text(ErrorCode::invocation_limit));

  Child* target = nullptr;
  uint64_t slot = 0;
  int64_t cpu = config_.cpu_ms, subs = config_.subrequests;
  std::string label;
  int64_t target_worker = 0;
  std::shared_ptr<Outbound> outbound;
  if (b->type == "service") {
    // A platform worker, called directly: it runs in a dispatcher.
    auto dispatchers = live_children(Role::dispatcher);
    if (dispatchers.empty()) return refuse(ErrorCode::process_died, error_text(ErrorCode::process_died));
    target = dispatchers[next_dispatcher_++ % dispatchers.size()];
    slot = (uint64_t)b->target_id;
    target_worker = b->target_id;
    label = b->target_name.empty() ? "worker " + std::to_string(b->target_id) : b->target_name;
  } else {
    if (!valid_name(script_name)) return refuse(ErrorCode::worker_not_found, error_text(ErrorCode::worker_not_found));
    int64_t ns_id = b->target_id;
    std::string key = std::to_string(ns_id) + "/" + script_name;
    target = running_sandbox(key);
    if (!target && tenant_throttled(key)) return refuse(ErrorCode::throttled, error_text(ErrorCode::throttled));
    if (!target) {
      // A store that fails (I/O, SQLITE_CORRUPT, a script that fails its
      // checksum) answers the call with an internal error instead of
      // leaving it unanswered; the store has logged which script and why,
      // and that text stays in the journal, not in the tenant's worker.
      std::optional<Script> script;
      try {
        script = store_->get_script(ns_id, script_name);
      } catch (const StoreError& e) {
        logf(LogLevel::error, "dispatch to %s: %s", key.c_str(), e.what());
        return refuse(ErrorCode::internal, error_text(ErrorCode::internal));
      }
      if (!script) return refuse(ErrorCode::worker_not_found, error_text(ErrorCode::worker_not_found));
      std::string error;
      ErrorCode code = ErrorCode::ok;
      target = start_sandbox(ns_id, *script, error, code);
      // Every sandbox busy and the pool full: the call waits for one to
      // be free, while the queue has room (queue_max).
      if (!target && code == ErrorCode::overloaded && park(c, m, caller)) return;
      if (!target) {
        // Uncaught by the dispatch worker, it is the client's 503/1200.
        if (code == ErrorCode::overloaded && chain->limit_hit == ErrorCode::ok) chain->limit_hit = code;
        return refuse(code, error);
      }
    }
    slot = target->slot;
    // The script's own limits against the configured ones (as they are
    // now: SIGHUP may have changed them since the sandbox started).
    if (target->cpu_ms > 0) cpu = std::min(cpu, target->cpu_ms);
    if (target->subrequests > 0) subs = std::min(subs, target->subrequests);
    label = target->label;
    // The binding's outbound worker takes this call's fetches, with the
    // values of the parameters it declares (others are ignored).
    if (b->outbound_id) {
      outbound = std::make_shared<Outbound>();
      outbound->worker_id = b->outbound_id;
      outbound->worker_name = b->outbound_name;
      nlohmann::json given = nlohmann::json::parse(outbound_json, nullptr, false);
      nlohmann::json env = nlohmann::json::object();
      if (given.is_object())
        for (const std::string& p : b->outbound_params)
          if (auto v = given.find(p); v != given.end()) env[p] = *v;
      outbound->env_json = env.empty() ? "" : env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  // Per-script and per-call limits combine by taking the smallest.
  if (call_cpu > 0) cpu = std::min(cpu, call_cpu);
  if (call_subs > 0) subs = std::min(subs, call_subs);
  chain->invocations++;

  auto call = std::make_unique<Call>();
  call->id = next_call_id_++;
  call->parent_child = c->id;
  call->parent_sub = sub;
  call->public_id = public_id;
  call->label = label;
  call->depth = depth + 1;
  call->worker_id = target_worker;
  call->chain = chain;
  call->outbound = outbound;
  call->parent_call = parent;
  Call* raw = call.get();
  calls_[call->id] = std::move(call);
  send_request(raw, target, slot, method, url, headers, body, args, cpu, subs);
}

// The queue of dispatches waiting for a sandbox (queue_max). A parked call
// is the caller's message as it came, run again once a sandbox is free;
// what its first run took (one subrequest of the budget, the count in
// the metrics) is given back, since the next run takes it again.
bool Daemon::park(Child* c, const Message& m, const Caller& caller) {
  if ((int64_t)parked_.size() >= config_.queue_max) return false;
  (*caller.subrequests_left)++;
  auto& n = ns_counters_[c->role == Role::sandbox ? c->ns_id : 0].subrequests["dispatch"];
  if (n > 0) n--;
  parked_.push_back(Parked{c->id, m, Clock::now()});
  return true;
}

// The child that parked `p`, while the request it was for still waits;
// nullptr once that request is over (answered, timed out) or the child gone.
Daemon::Child* Daemon::waiting_caller(const Parked& p) {
  auto it = children_.find(p.child_id);
  if (it == children_.end() || it->second->dead) return nullptr;
  WireReader r(p.msg.payload);
  Caller caller;
  return find_caller(it->second.get(), r.u64(), caller) ? it->second.get() : nullptr;
}

void Daemon::schedule_unpark() {
  if (parked_.empty()) return;
  if (!unpark_ev_) {
    unpark_ev_ = event_new(base_, -1, 0, [](int, short, void* arg) {
      auto* d = (Daemon*)arg;
      guarded("queue", [&] { d->unpark(); });
      guarded("reap", [&] { d->reap(); });
    }, this);
  }
  event_active(unpark_ev_, EV_TIMEOUT, 0);
}

// Runs parked calls in order while the pool has room; one that finds it
// full again goes back to the head of the queue. A call whose caller is
// gone (answered, timed out, died) is dropped: nobody waits for it.
void Daemon::unpark() {
  while (!parked_.empty()) {
    Parked p = std::move(parked_.front());
    parked_.pop_front();
    Child* c = waiting_caller(p);
    if (!c) continue;
    size_t before = parked_.size();
    on_subrequest(c, p.msg);
    if (parked_.size() > before) {
      // Still full: it went to the back; it belongs at the front.
      parked_.push_front(std::move(parked_.back()));
      parked_.pop_back();
      return;
    }
  }
}

// A running sandbox of the tenant that can take one more request, or
// nullptr when a new one should start (none, or all busy with room for more).
Daemon::Child* Daemon::running_sandbox(const std::string& key) {
  auto it = sandboxes_by_tenant_.find(key);
  if (it == sandboxes_by_tenant_.end()) return nullptr;
  Child* best = nullptr;
  std::vector<uint64_t> ids = it->second;
  for (uint64_t id : ids) {
    auto found = children_.find(id);
    if (found == children_.end()) continue;
    Child* c = found->second.get();
    // A sandbox that died a moment ago may not have been noticed by the
    // loop yet; a request sent to it would fail for nothing. The check is a
    // system call, so only an idle sandbox gets it: a busy one that died
    // fails its requests in flight anyway, and a hot tenant's is rarely idle.
    if (!c->dead && c->inflight == 0 && hung_up(c->ch->doorbell_fd()))
      child_gone(c, "closed its channel");
    if (c->dead || c->retired) continue;
    if (!best || c->inflight < best->inflight) best = c;
  }
  // child_gone may have changed the tenant's list: look it up again.
  auto now_it = sandboxes_by_tenant_.find(key);
  size_t count = now_it == sandboxes_by_tenant_.end() ? 0 : now_it->second.size();
  bool room = (int64_t)count < config_.pool_max_per_tenant;
  if (!best || (best->inflight > 0 && room)) return nullptr;
  if (config_.pool_max_requests > 0 && (int64_t)best->served + 1 >= config_.pool_max_requests)
    best->retired = true;  // serves this one, then is replaced
  return best;
}

Daemon::Child* Daemon::start_sandbox(int64_t ns_id, const Script& script, std::string& error,
                                     ErrorCode& code) {
  std::string key = std::to_string(ns_id) + "/" + script.name;
  // A new sandbox for this tenant: make room first if the pool is full.
  size_t total = 0;
  Child* lru = nullptr;
  for (auto& [id, c] : children_) {
    if (c->dead || c->role != Role::sandbox || c->tenant.empty()) continue;
    total++;
    if (c->inflight == 0 && (!lru || c->last_used < lru->last_used)) lru = c.get();
  }
  if ((int64_t)total >= config_.pool_max_total) {
    if (!lru) {
      code = ErrorCode::overloaded;
      error = error_text(code);
      return nullptr;
    }
    lru->deliberate = true;
    evictions_++;
    kill_child(lru, "evicted (least recently used)");
  }
  Child* sb = nullptr;
  while (!spares_.empty() && !sb) {
    auto c = children_.find(spares_.front());
    spares_.pop_front();
    if (c != children_.end() && !c->second->dead) sb = c->second.get();
  }
  if (!sb) sb = spawn_child(Role::sandbox, "sandbox (spare)");
  if (!sb) {
    code = ErrorCode::overloaded;
    error = "no sandbox could be started";
    return nullptr;
  }
  auto ns = store_->get_namespace_by_id(ns_id);
  sb->tenant = key;
  sb->ns_id = ns_id;
  sb->script = script.name;
  ns_counters_[ns_id].cold_starts++;
  sb->label = (ns ? ns->name : std::to_string(ns_id)) + "/" + script.name;
  sb->title = "sandbox " + sb->label;
  sandboxes_by_tenant_[key].push_back(sb->id);
  // Per-script and per-call limits combine by taking the smallest.
  int64_t cpu = config_.cpu_ms, subs = config_.subrequests;
  if (script.cpu_ms > 0) cpu = std::min(cpu, script.cpu_ms);
  if (script.subrequests > 0) subs = std::min(subs, script.subrequests);
  sb->slot = (uint64_t)script.id;
  // Its Cache API entries: its own in an untrusted namespace, shared by
  // the namespace in a trusted one.
  sb->cache_owner = cache_owner(ns_id, ns && ns->trusted, script.id);
  sb->bindings = script.bindings;
  sb->cpu_ms = script.cpu_ms;  // its own (0: none); calls combine them with config_
  sb->subrequests = script.subrequests;
  WireWriter w;
  w.u64((uint64_t)script.id).str(sb->label).str(script.code.format).str(script.code.source)
      .str(script.code.bytecode).str(script.code.build_id).str(bindings_json(script.bindings))
      .i64(cpu).i64(subs).str(script.code.lowered).str(script.code.line_map).u8(ns && ns->trusted ? 1 : 0);
  sb->ch->send(MsgType::load_worker, 0, w.data());
  // The spare taken is replaced 10 ms later: making a channel, and the
  // zygote's fork, must not compete with the request waiting for this
  // sandbox (a cold start is a few milliseconds on two cores).
  if (!spares_ev_)
    spares_ev_ = evtimer_new(base_, [](int, short, void* arg) {
      auto* d = (Daemon*)arg;
      guarded("spares", [&] { d->ensure_spares(); });
      guarded("reap", [&] { d->reap(); });
    }, this);
  if (!evtimer_pending(spares_ev_, nullptr)) {
    timeval tv{0, 10000};
    evtimer_add(spares_ev_, &tv);
  }
  return sb;
}

void Daemon::finish_call(Call* call, Message* response, ErrorCode code, const std::string& message,
                         const std::string& stack, bool open) {
  auto owned_it = calls_.find(call->id);
  if (owned_it == calls_.end()) return;
  std::unique_ptr<Call> owned = std::move(owned_it->second);
  calls_.erase(owned_it);
  if (owned->timer) event_free(owned->timer);

  auto child_it = children_.find(owned->child_id);
  Child* child = child_it == children_.end() ? nullptr : child_it->second.get();
  if (child) {
    child->inflight--;
    child->last_used = Clock::now();
    if (child->inflight == 0 && child->role == Role::sandbox) schedule_unpark();
    // An answered request whose runner keeps it open (waitUntil work) may
    // still call out, for as long as the runner keeps it (30 s).
    if (open && !child->dead)
      lingering_[owned->id] = Lingering{child->id, owned->worker_id,
                                        strtoull(owned->public_id.c_str(), nullptr, 16),
                                        Clock::now() + std::chrono::seconds(31), owned->depth,
                                        owned->chain, owned->outbound, owned->subrequests_left};
  }
  if (!response && owned->chain &&
      (code == ErrorCode::cpu_limit || code == ErrorCode::memory_limit || code == ErrorCode::wall_limit))
    owned->chain->limit_hit = code;
  // A user worker's process died under the call: a dispatcher that does not
  // catch it gives the client the death's page (502/1105), not 1101.
  if (!response && owned->chain && code == ErrorCode::process_died && !owned->client &&
      owned->chain->limit_hit == ErrorCode::ok)
    owned->chain->limit_hit = code;
  if (!response) {
    // Details go to the log (and later to tail), never to a public client.
    logf(code == ErrorCode::exception ? LogLevel::info : LogLevel::warn,
         "request %s: %s failed: %s%s%s%s", owned->public_id.c_str(), owned->label.c_str(),
         error_text(code), message.empty() ? "" : " ", message.c_str(),
         stack.empty() ? "" : ("\n" + stack).c_str());
  }
  // The answer: status, text, headers, and the body inline or held.
  int status = 0;
  std::string status_text;
  HeaderList headers;
  std::shared_ptr<const std::string> body;
  if (response) {
    WireReader r(response->payload);
    status = (int)r.u32();
    status_text = r.str(1024);
    headers = r.pairs(1000, 256 * 1024);
    std::string inline_body = r.str();
    uint64_t handle = r.u64();
    body = handle && child ? held_body(child->id, handle) : nullptr;
    if (!body) body = std::make_shared<const std::string>(std::move(inline_body));
  }
  int answered_status = status;  // for the log: what the caller got
  if (owned->client) {
    if (response) {
      HttpResponse resp;
      resp.status = status;
      for (auto& [k, v] : headers) resp.headers.push_back({k, v});
      resp.body = *body;
      owned->client->respond(std::move(resp));
    } else {
      // An uncaught failure of a chain that hit the depth limit is the
      // loop the client should be told about (508, 1019); one where a
      // worker hit a resource limit is that limit (503, 1102).
      ErrorCode shown = code;
      if (owned->chain && code == ErrorCode::exception) {
        if (owned->chain->loop_hit) shown = ErrorCode::loop_limit;
        else if (owned->chain->limit_hit != ErrorCode::ok) shown = owned->chain->limit_hit;
      }
      answered_status = public_error(shown).status;
      error_page(owned->client, shown, owned->public_id);
    }
  } else if (owned->parent_child) {
    auto p = children_.find(owned->parent_child);
    if (p != children_.end() && !p->second->dead) {
      if (response)
        p->second->ch->send(MsgType::subresponse, owned->parent_sub,
                            sub_answer(p->second->id, owned->parent_call, status, status_text, headers, body,
                                       "", false));
      else
        p->second->ch->send(MsgType::subrequest_failed, owned->parent_sub,
                            WireWriter().u32((uint32_t)code).str(message_for_caller(code, message)).data());
    }
  }
  account_call(*owned, child, answered_status, response ? ErrorCode::ok : code, message, stack);
  if (!open && !held_.empty()) release_held(owned->id);
  // A sandbox that answers is healthy: its tenant's count of deaths restarts.
  if (response && child && child->role == Role::sandbox && !tenant_health_.empty())
    tenant_served(child->tenant, child->label);
  if (child && child->retired && child->inflight == 0 && child->role == Role::sandbox) {
    child->deliberate = true;
    kill_child(child, "retired");
  }
}

// A call over the wall-clock limit fails with the limit's error. A sandbox
// can't be interrupted from outside, so it is replaced; a dispatcher serves
// other requests and only forgets this one.
void Daemon::on_call_timeout(int, short, void* arg) {
  auto* call = (Call*)arg;
  Daemon* d = call->daemon;
  guarded("wall timer", [&] {
    auto it = d->children_.find(call->child_id);
    Child* child = it == d->children_.end() ? nullptr : it->second.get();
    uint64_t id = call->id;
    logf(LogLevel::warn, "request %s: %s exceeded the wall-clock limit of %lld ms", call->public_id.c_str(),
         call->label.c_str(), (long long)d->config_.wall_ms);
    d->finish_call(call, nullptr, ErrorCode::wall_limit, "", "");
    if (!child || child->dead) return;
    if (child->role == Role::sandbox) d->kill_child(child, "exceeded the wall-clock limit");
    else child->forgotten.insert(id);
  });
  guarded("reap", [&] { d->reap(); });
}

// SIGTERM (or SIGINT): stop accepting, let the requests in flight finish,
// then leave the loop. The drain is bounded by the wall-clock limit (at
// most 30 s); a second signal leaves at once.
void Daemon::begin_stop(const char* signal_name) {
  if (stopping_) {
    logf(LogLevel::warn, "%s again: stopping now", signal_name);
    event_base_loopexit(base_, nullptr);
    return;
  }
  stopping_ = true;
  sd_notify(0, "STOPPING=1");
  tail_close_all();
  for (auto& s : servers_) s->stop_accepting();
  if (admin_server_) admin_server_->stop_accepting();
  if (admin_tcp_server_) admin_tcp_server_->stop_accepting();
  if (metrics_server_) metrics_server_->stop_accepting();
  size_t inflight = 0;
  for (auto& [id, call] : calls_)
    if (call->client) inflight++;
  logf(LogLevel::info, "%s: stopping; %zu request%s in flight", signal_name, inflight, inflight == 1 ? "" : "s");
  drain_until_ = Clock::now() + std::chrono::milliseconds(std::min<int64_t>(config_.wall_ms + 1000, 30000));
  drain_ = event_new(base_, -1, EV_PERSIST, [](int, short, void* arg) {
    auto* d = (Daemon*)arg;
    guarded("drain", [&] { d->drain_step(); });
  }, this);
  timeval step{0, 20000};
  event_add(drain_, &step);
  drain_step();
}

void Daemon::drain_step() {
  size_t inflight = 0;
  for (auto& [id, call] : calls_)
    if (call->client) inflight++;
  size_t open = 0;
  for (auto& s : servers_) open += s->connection_count();
  // Admin answers too (a deploy finishing, a tail told wfpd is stopping).
  if (admin_server_) open += admin_server_->connection_count();
  if (inflight == 0 && open == 0) {
    logf(LogLevel::info, "drained: every request answered");
    event_base_loopexit(base_, nullptr);
  } else if (Clock::now() >= drain_until_) {
    logf(LogLevel::warn, "stopping with %zu request%s unanswered after the drain limit", inflight,
         inflight == 1 ? "" : "s");
    event_base_loopexit(base_, nullptr);
  }
}

namespace {
// The public listeners' limits, from the configuration (at start and at
// each SIGHUP).
HttpLimits http_limits(const Config& c) {
  HttpLimits limits;
  limits.max_header_bytes = c.max_header_bytes;
  limits.max_body_bytes = c.max_body_bytes;
  limits.header_timeout_ms = (int)c.header_timeout_ms;
  limits.body_timeout_ms = (int)c.body_timeout_ms;
  limits.max_connections = c.max_connections;
  return limits;
}

// One backup in progress (Daemon::backup).
struct BackupJob {
  std::unique_ptr<Store::Backup> copy;
  std::string path;
  std::function<void(std::string, std::string)> done;
  event* ev = nullptr;
};
void backup_finish(BackupJob* j, std::string bytes, std::string error) {
  j->copy.reset();
  unlink(j->path.c_str());
  if (j->ev) event_free(j->ev);
  auto done = std::move(j->done);
  delete j;
  done(std::move(bytes), std::move(error));
}
}  // namespace

// The backup runs 256 pages per loop turn so requests go on meanwhile;
// the copy is made in the data directory, read, and removed.
void Daemon::backup(std::function<void(std::string bytes, std::string error)> done) {
  auto* job = new BackupJob{nullptr, config_.data_dir + "/backup-" + random_hex(8) + ".db", std::move(done)};
  std::string error;
  job->copy = store_->backup_to(job->path, error);
  if (!job->copy) return backup_finish(job, "", error);
  job->ev = event_new(base_, -1, 0, [](int, short, void* arg) {
    auto* j = (BackupJob*)arg;
    guarded("backup", [&] {
      std::string err;
      if (j->copy->step(256, err)) {
        j->copy.reset();  // closes the copy before it is read
        std::string bytes = read_whole_file(j->path, err);
        return backup_finish(j, std::move(bytes), err);
      }
      if (!err.empty()) return backup_finish(j, "", err);
      timeval now{0, 0};
      event_add(j->ev, &now);
    });
  }, job);
  timeval now{0, 0};
  event_add(job->ev, &now);
}

// SIGHUP: read the file again; a file with errors changes nothing (each
// error logged with its line). Reloadable keys apply to new requests,
// sandboxes and connections; the others are named as needing a restart.
void Daemon::reload() {
  if (config_path_.empty()) {
    logf(LogLevel::info, "SIGHUP: wfpd runs on its embedded defaults; there is no file to read again");
    return;
  }
  sd_notify(0, "RELOADING=1");
  Config next = default_config();
  std::vector<std::string> errors;
  bool ok = load_config_file(config_path_, next, errors);
  if (ok && config_overrides_) config_overrides_(next);
  if (ok) ok = check_config(next, errors);
  std::vector<Network> deny, allow;
  std::string why;
  if (ok && (!parse_networks(next.fetch_deny_networks, deny, why) ||
             !parse_networks(next.fetch_allow_networks, allow, why))) {
    errors.push_back(why);
    ok = false;
  }
  if (!ok) {
    for (auto& e : errors) logf(LogLevel::error, "SIGHUP: %s", e.c_str());
    logf(LogLevel::warn, "SIGHUP: %s has errors; nothing was changed", config_path_.c_str());
    sd_notify(0, "READY=1");
    return;
  }
  std::string applied, restart;
  for (const std::string& key : config_changes(config_, next)) {
    const ConfigKey* k = config_key(key);
    std::string& list = k && k->reloadable ? applied : restart;
    list += (list.empty() ? "" : ", ") + key;
  }
  apply_reloadable(config_, next);
  configure_access(true);
  LogLevel level;
  if (log_parse_level(config_.log_level, level)) log_set_level(level);
  for (auto& srv : servers_) srv->set_limits(http_limits(config_));
  fetch_client_->update(config_.fetch_timeout_ms, config_.max_body_bytes,
                        NetworkPolicy(std::move(deny), std::move(allow)));
  logf(LogLevel::info, "SIGHUP: reloaded %s; applied: %s", config_path_.c_str(),
       applied.empty() ? "nothing changed" : applied.c_str());
  if (!restart.empty())
    logf(LogLevel::warn, "SIGHUP: changed but only applied by a restart: %s", restart.c_str());
  ensure_spares();
  sd_notify(0, "READY=1");
}

// --- the loop ---------------------------------------------------------------

int Daemon::run() {
  signal(SIGPIPE, SIG_IGN);
  if (!start_zygote()) throw std::runtime_error("the zygote could not be started");
  CacheStoreOptions co;
  co.dir = config_.data_dir + "/cache";
  co.max_entry_bytes = config_.cache_max_entry_bytes;
  co.tenant_quota_bytes = config_.cache_tenant_quota_mb << 20;
  co.now = [this] { return cache_now(); };
  cache_store_ = std::make_unique<CacheStore>(base_, std::move(co));
  routes_changed();
  for (const Worker& w : store_->list_workers()) worker_bindings_[w.id] = w.bindings;

  HttpLimits limits = http_limits(config_);
  for (Listener& l : listen_) {
    servers_.push_back(std::make_unique<HttpServer>(base_, l.fd, limits, [this](std::shared_ptr<HttpExchange> ex) {
      guarded("public request", [&] { on_public_request(ex); });
    }));
    logf(LogLevel::info, "listening on %s", l.address.c_str());
  }
  HttpLimits admin_limits = limits;
  admin_limits.max_body_bytes = std::max<int64_t>(config_.max_script_bytes * 2 + (1 << 20), limits.max_body_bytes);
  configure_access(false);
  admin_server_ = std::make_unique<HttpServer>(base_, admin_fd_, admin_limits, [this](std::shared_ptr<HttpExchange> ex) {
    guarded("admin request", [&] { admin_request(ex, false); });
  });
  logf(LogLevel::info, "admin API on %s", config_.admin_socket.c_str());
  if (admin_tcp_.fd >= 0) {
    admin_tcp_server_ = std::make_unique<HttpServer>(base_, admin_tcp_.fd, admin_limits,
                                                     [this](std::shared_ptr<HttpExchange> ex) {
                                                       guarded("admin request", [&] { admin_request(ex, true); });
                                                     });
    logf(LogLevel::info, "admin API on http://%s (bearer token required)", admin_tcp_.address.c_str());
  }
  if (metrics_listen_.fd >= 0) {
    metrics_server_ = std::make_unique<HttpServer>(base_, metrics_listen_.fd, limits,
                                                   [this](std::shared_ptr<HttpExchange> ex) {
                                                     guarded("metrics request", [&] { metrics_request(ex); });
                                                   });
    logf(LogLevel::info, "metrics on http://%s/metrics", metrics_listen_.address.c_str());
  }

  ensure_dispatchers();
  ensure_compilers();
  ensure_spares();

  event* hup = evsignal_new(base_, SIGHUP, [](int, short, void* arg) {
    auto* d = (Daemon*)arg;
    guarded("reload", [&] { d->reload(); });
  }, this);
  event_add(hup, nullptr);
  signal_events_.push_back(hup);
  for (int sig : {SIGTERM, SIGINT}) {
    event* e = evsignal_new(base_, sig, [](int s, short, void* arg) {
      auto* d = (Daemon*)arg;
      guarded("stop", [&] { d->begin_stop(sigabbrev_np(s)); });
    }, this);
    event_add(e, nullptr);
    signal_events_.push_back(e);
  }
  tick_ = event_new(base_, -1, EV_PERSIST, [](int, short, void* arg) {
    auto* d = (Daemon*)arg;
    guarded("tick", [&] { d->on_tick(); });
  }, this);
  timeval one{1, 0};
  event_add(tick_, &one);
  watchdog_ = event_new(base_, -1, EV_PERSIST, [](int, short, void* arg) {
    auto* d = (Daemon*)arg;
    guarded("watchdog", [&] { d->watchdog(); });
  }, this);
  timeval tenth{0, 100000};
  event_add(watchdog_, &tenth);

  sd_notify(0, "READY=1");
  event_base_dispatch(base_);
  for (auto& s : servers_) s->stop_accepting();
  if (drain_) event_free(drain_);
  drain_ = nullptr;
  logf(LogLevel::info, "stopped");
  // A zygote that kept dying is a failure: exit non-zero so systemd restarts us.
  return zygote_gave_up_ ? 1 : 0;
}

}  // namespace wfp
