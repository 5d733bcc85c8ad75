// The loop of a locked child that runs workers (dispatcher, sandbox) or
// compiles them (compiler): frames in from the channel, calls into the
// Duktape host, frames out. Runs after lock-down; everything it gets comes
// from the supervisor (trusted), everything a heap asks comes from worker
// code (hostile: a subrequest naming a request of another instance, or any
// request id not in flight, is refused).
#include <bsd/unistd.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <stdexcept>
#include <unordered_map>

#include "ipc/channel.h"
#include "ipc/log.h"
#include "ipc/wire.h"
#include "sandbox/child.h"
#include "sandbox/host.h"
#include "sandbox/lowering.h"
#ifdef WFP_TEST_HOOKS
#include "sandbox/test_hooks.h"
#endif

namespace wfp {
namespace {

constexpr size_t kMaxHeaderCount = 1000;
constexpr size_t kMaxItem = 256 * 1024;

struct LoadParams {
  uint64_t slot = 0;
  std::string label, format, source, bytecode, build_id, bindings, lowered;
  std::vector<int> line_map;  // original line of each lowered line
  int64_t cpu_ms = 50, subrequests = 50;
  bool cache_default = false;
};

// "[3,0,5]" → {3,0,5}; anything malformed gives what parsed so far (the
// map only improves error positions, it never decides anything).
std::vector<int> parse_line_map(const std::string& json) {
  std::vector<int> out;
  int cur = 0;
  bool in_num = false;
  for (char ch : json) {
    if (ch >= '0' && ch <= '9') {
      cur = cur * 10 + (ch - '0');
      in_num = true;
      if (cur > 100000000) return out;
    } else if (in_num) {
      out.push_back(cur);
      cur = 0;
      in_num = false;
    }
  }
  return out;
}

// Rewrites "FILE:LINE" positions of the lowered code in an error message
// or stack into the original source's lines, so authors see their own.
std::string map_positions(const std::string& text, const std::string& file,
                          const std::vector<int>& map) {
  if (map.empty() || text.empty()) return text;
  std::string out;
  size_t i = 0;
  std::string needle = file + ":";
  while (i < text.size()) {
    size_t at = text.find(needle, i);
    if (at == std::string::npos) break;
    size_t d = at + needle.size(), e = d;
    while (e < text.size() && isdigit((unsigned char)text[e]) && e - d < 9) e++;
    out.append(text, i, d - i);
    if (e > d) {
      size_t line = std::stoul(text.substr(d, e - d));
      if (line >= 1 && line <= map.size() && map[line - 1] > 0) out += std::to_string(map[line - 1]);
      else out.append(text, d, e - d);
    }
    i = e;
  }
  out.append(text, i, std::string::npos);
  return out;
}

struct Instance {
  LoadParams params;
  std::unique_ptr<WorkerHeap> heap;
  int inflight = 0;
};

using Clock = std::chrono::steady_clock;

struct InFlight {
  std::shared_ptr<Instance> inst;
  int64_t cpu_ms = 50;
  int64_t subrequests_left = 50;
  bool answered = false;           // response or failure sent
  Clock::time_point answered_at{};
  std::vector<uint64_t> timers;    // live timer ids of this request
  uint64_t cpu_us = 0;             // CPU its JavaScript used so far
};

struct Timer {
  uint64_t req = 0;
  Clock::time_point due{};
};

// ctx.waitUntil work may run this long after the answer (DESIGN: 30 s).
constexpr auto kWaitUntilLimit = std::chrono::seconds(30);
constexpr size_t kMaxTimersPerRequest = 10000;
constexpr size_t kMaxPendingLog = 256 * 1024;  // see Runner::log

// Tells the supervisor's watchdog whose JavaScript runs, for as long as a
// call into a heap lasts (kLoading: a script's top level).
class Running {
 public:
  static constexpr uint64_t kLoading = ~0ull;
  Running(Channel& ch, uint64_t request) : ch_(ch) { ch_.mark_running(request); }
  ~Running() { ch_.mark_running(0); }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;

 private:
  Channel& ch_;
};

class Runner : public HostSink {
 public:
  Runner(Role role, Channel& ch, size_t memory_bytes, std::unique_ptr<WorkerHeap> preloaded)
      : role_(role), ch_(ch), memory_bytes_(memory_bytes), preloaded_(std::move(preloaded)) {}

  [[noreturn]] void run() {
#ifdef WFP_TEST_HOOKS
    test_hooks_attach(&ch_);  // build/wfpd-test only (tests/security)
#endif
    ch_.send(MsgType::hello, 0, WireWriter().str(host_build_id()).data());
    // A spare sandbox shares the zygote's heap image copy-on-write: the
    // first collection writes to every object's header, so every page of
    // the image is copied then. Doing it now, while the sandbox waits for
    // a tenant, keeps those page copies off the first request's path.
    if (role_ == Role::sandbox && preloaded_) preloaded_->collect_garbage();
    if (role_ != Role::compiler) host_cpu_runner_mode();
    // The compiler is kept warm: Babel is loaded before the first deploy.
    if (role_ == Role::compiler) {
      try {
        lowerer();
      } catch (const std::exception& e) {
        logf(LogLevel::error, "cannot load the lowering heap: %s", e.what());
      }
    }
    std::vector<Message> msgs;
    for (;;) {
      ch_.wait(next_wakeup_ms());
      // Time moves for workers only across I/O (a Spectre mitigation, as
      // on Workers): every call made for this wake-up sees one clock.
      host_clock_advance();
      run_due_timers();
      msgs.clear();
      ChannelStatus st = ch_.service(msgs);
      for (Message& m : msgs) dispatch(m);
      flush_answers();
      if (st == ChannelStatus::protocol_error) {
        logf(LogLevel::error, "channel: %s; exiting", ch_.error().c_str());
        _exit(3);
      }
      if (st == ChannelStatus::closed) _exit(0);
      if (shutting_down_ && requests_.empty()) _exit(0);
    }
  }

  // HostSink: what the heap asks for.
  void respond(uint64_t req, int status, const std::string& text, HeaderList headers,
               std::string body) override {
    if (!answer(req)) return;
    answers_.push_back({MsgType::response, req,
                        WireWriter().u32((uint32_t)status).str(text).pairs(headers).str(body).u64(0).take(), current_});
  }
  void respond_held(uint64_t req, int status, const std::string& text, HeaderList headers,
                    uint64_t handle) override {
    if (handle == 0) throw std::runtime_error("invalid body");
    if (!answer(req)) return;
    answers_.push_back({MsgType::response, req,
                        WireWriter().u32((uint32_t)status).str(text).pairs(headers).str("").u64(handle).take(), current_});
  }
  void fail(uint64_t req, ErrorCode code, const std::string& message,
            const std::string& stack) override {
    if (!answer(req)) return;
    const LoadParams& p = requests_[req].inst->params;
    std::string file = p.label + ".js";
    answers_.push_back({MsgType::request_failed, req,
                        WireWriter().u32((uint32_t)code).str(map_positions(message, file, p.line_map))
                            .str(map_positions(stack, file, p.line_map)).take(), current_});
  }
  uint64_t subrequest(uint64_t parent, const std::string& binding, const std::string& script,
                      const std::string& args, const std::string& method, const std::string& url,
                      HeaderList headers, std::string body) override {
    return subrequest_with_limits(parent, binding, script, args, method, url, std::move(headers),
                                  std::move(body), CallLimits{});
  }
  uint64_t subrequest_with_limits(uint64_t parent, const std::string& binding, const std::string& script,
                                  const std::string& args, const std::string& method,
                                  const std::string& url, HeaderList headers, std::string body,
                                  CallLimits limits) override {
    uint64_t sub = take_subrequest(parent);
    ch_.send(MsgType::subrequest, sub,
             WireWriter().u64(parent).str(binding).str(script).str(args).str(method).str(url)
                 .pairs(headers).str(body).i64(limits.cpu_ms).i64(limits.subrequests)
                 .u64(limits.body_handle).str(limits.outbound_json).data());
    return sub;
  }
  uint64_t fetch(uint64_t parent, const std::string& method, const std::string& url, HeaderList headers,
                 std::string body, uint64_t body_handle, int redirect) override {
    uint64_t sub = take_subrequest(parent);
    ch_.send(MsgType::fetch, sub,
             WireWriter().u64(parent).str(method).str(url).pairs(headers).str(body).u64(body_handle)
                 .u8((uint8_t)redirect).data());
    return sub;
  }
  uint64_t cache_op(uint64_t parent, CacheCall call) override {
    uint64_t sub = take_subrequest(parent);
    WireWriter w;
    w.u64(parent).u8((uint8_t)call.op).u8(call.is_default ? 1 : 0).str(call.name).str(call.url).str(call.method)
        .pairs(call.request_headers).u8(call.ignore_method ? 1 : 0);
    if (call.op == 1) w.u32((uint32_t)call.status).pairs(call.response_headers).str(call.body).u64(call.body_handle);
    ch_.send(MsgType::cache_op, sub, w.data());
    return sub;
  }
  uint64_t read_body(uint64_t parent, uint64_t handle) override {
    auto it = requests_.find(parent);
    if (it == requests_.end() || it->second.inst.get() != current_)
      throw std::runtime_error("This request has already finished; its bodies can no longer be read.");
    uint64_t id = next_sub_++;
    subs_[id] = parent;
    ch_.send(MsgType::body_read, id, WireWriter().u64(parent).u64(handle).data());
    return id;
  }
  void log(uint64_t req, const std::string& level, const std::string& text) override {
    // While the supervisor is behind, lines wait in the channel's pending
    // buffer, outside the heap's memory limit: a tight console.log loop
    // grew it until the process ran out of address space. Past a bound
    // they are dropped here and counted; the count goes out first once
    // lines flow again.
    if (ch_.pending_bytes() > kMaxPendingLog) {
      log_dropped_++;
      return;
    }
    if (log_dropped_) {
      ch_.send(MsgType::log, req,
               WireWriter().str("warn").str(std::to_string(log_dropped_) +
                                            " log lines dropped: written faster than the supervisor takes them")
                   .data());
      log_dropped_ = 0;
    }
    ch_.send(MsgType::log, req, WireWriter().str(level).str(text).data());
  }
  uint64_t set_timer(uint64_t req, int64_t ms) override {
    auto it = requests_.find(req);
    if (it == requests_.end() || it->second.inst.get() != current_)
      throw std::runtime_error("Timers can only be set while a request is running.");
    if (it->second.timers.size() >= kMaxTimersPerRequest) throw std::runtime_error("Too many timers.");
    uint64_t id = next_timer_++;
    Timer t{req, Clock::now() + std::chrono::milliseconds(ms)};
    timers_[id] = t;
    queue_.emplace(t.due, id);
    it->second.timers.push_back(id);
    return id;
  }
  void clear_timer(uint64_t id) override {
    auto t = timers_.find(id);
    if (t == timers_.end()) return;
    auto it = requests_.find(t->second.req);
    // A request may clear only its own timers.
    if (it == requests_.end() || it->second.inst.get() != current_) return;
    timers_.erase(t);
    forget_timer(it->second, id);
  }
  void done(uint64_t req) override {
    auto it = requests_.find(req);
    if (it == requests_.end() || it->second.inst.get() != current_) return;
    if (!it->second.answered) {
      // The runtime says it is finished without answering: say so rather
      // than leave the client waiting.
      ch_.send(MsgType::request_failed, req,
               WireWriter().u32((uint32_t)ErrorCode::internal).str("the request ended without an answer").str("")
                   .u8(0).u64(it->second.cpu_us).data());
    }
    end_request(it);
  }

 private:
  // Answers go out once the JS that produced them has run to a stop, each
  // with whether its request is still open (waitUntil work pending): the
  // supervisor then remembers only those, for their later calls.
  struct Answer {
    MsgType type;
    uint64_t req;
    std::string payload;
    const Instance* inst = nullptr;  // whose heap made it
  };
  std::vector<Answer> answers_;
  // Each answer ends with whether its request stays open and the CPU time
  // its JavaScript used up to now.
  void flush_answers() {
    for (Answer& a : answers_) {
      auto it = requests_.find(a.req);
      uint64_t cpu = it != requests_.end() ? it->second.cpu_us : ended_cpu_[a.req];
      a.payload.push_back(it != requests_.end() ? 1 : 0);
      WireWriter w;
      w.u64(cpu);
      a.payload += w.data();
      ch_.send(a.type, a.req, a.payload);
    }
    answers_.clear();
    ended_cpu_.clear();
  }

  // Runs JavaScript for `req` and adds its CPU time to the request's count
  // (kept past the request's end until its answer is flushed).
  template <class F>
  void run_js(uint64_t req, WorkerHeap& heap, F&& f) {
    heap.take_cpu_used_us();  // whatever ran outside a request (a load) is not its
    {
      Running running(ch_, req);
      f();
    }
    uint64_t used = heap.take_cpu_used_us();
    auto it = requests_.find(req);
    if (it != requests_.end()) it->second.cpu_us += used;
    else ended_cpu_[req] += used;
  }
  std::unordered_map<uint64_t, uint64_t> ended_cpu_;  // requests ended since the last flush

  // A subrequest of `parent` (fetch, service or dispatch call): counted
  // against the request's limit, given a sub id. Throws to refuse.
  uint64_t take_subrequest(uint64_t parent) {
    auto it = requests_.find(parent);
    if (it == requests_.end() || it->second.inst.get() != current_)
      throw std::runtime_error("This request has already finished; it cannot make subrequests.");
    if (it->second.subrequests_left <= 0) throw std::runtime_error(error_text(ErrorCode::subrequest_limit));
    it->second.subrequests_left--;
    uint64_t sub = next_sub_++;
    subs_[sub] = parent;
    return sub;
  }

  // Sends nothing; marks the request answered. The request stays alive
  // (timers, subrequests, waitUntil work) until done() or the limit.
  bool answer(uint64_t req) {
    auto it = requests_.find(req);
    if (it == requests_.end() || it->second.answered) return false;
    it->second.answered = true;
    it->second.answered_at = Clock::now();
    return true;
  }

  // Fired and cleared timers leave their request's list, so a long-lived
  // setInterval never counts against the per-request timer limit.
  static void forget_timer(InFlight& f, uint64_t id) {
    auto& v = f.timers;
    for (size_t i = 0; i < v.size(); i++)
      if (v[i] == id) {
        v[i] = v.back();
        v.pop_back();
        return;
      }
  }

  void end_request(std::unordered_map<uint64_t, InFlight>::iterator it) {
    ended_cpu_[it->first] = it->second.cpu_us;
    for (uint64_t t : it->second.timers) timers_.erase(t);
    it->second.inst->inflight--;
    requests_.erase(it);
  }

  int next_wakeup_ms() {
    auto now = Clock::now();
    Clock::time_point next = Clock::time_point::max();
    while (!queue_.empty() && !timers_.count(queue_.begin()->second)) queue_.erase(queue_.begin());
    if (!queue_.empty()) next = queue_.begin()->first;
    for (auto& [id, r] : requests_)
      if (r.answered && r.answered_at + kWaitUntilLimit < next) next = r.answered_at + kWaitUntilLimit;
    if (next == Clock::time_point::max()) return -1;
    if (next <= now) return 0;
    return (int)std::min<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1, 60000);
  }

  void run_due_timers() {
    auto now = Clock::now();
    // waitUntil work past its limit is dropped, with a log line.
    for (auto it = requests_.begin(); it != requests_.end();) {
      if (it->second.answered && it->second.answered_at + kWaitUntilLimit <= now) {
        logf(LogLevel::warn, "request %llu: waitUntil work still pending after 30 s; dropped",
             (unsigned long long)it->first);
        auto next = std::next(it);
        end_request(it);
        it = next;
      } else {
        ++it;
      }
    }
    while (!queue_.empty() && queue_.begin()->first <= now) {
      uint64_t id = queue_.begin()->second;
      queue_.erase(queue_.begin());
      auto t = timers_.find(id);
      if (t == timers_.end()) continue;
      uint64_t req = t->second.req;
      timers_.erase(t);
      auto it = requests_.find(req);
      if (it == requests_.end()) continue;
      forget_timer(it->second, id);
      auto inst = it->second.inst;
      current_ = inst.get();
      int64_t cpu_ms = it->second.cpu_ms;
      run_js(req, *inst->heap, [&] { inst->heap->fire_timer(id, cpu_ms); });
      current_ = nullptr;
      after_call(inst);
      if (role_ == Role::sandbox && inst->heap->tripped() != HeapTrip::none) return;
    }
  }

  // A sandbox that hit a limit goes; its answer saying which limit must
  // reach the supervisor first. Behind a burst of log lines it may still
  // wait in the channel's pending buffer, the ring being full: wait for
  // the supervisor to make room (it reads without waiting for us), for
  // two seconds at most.
  [[noreturn]] void drain_and_exit() {
    auto until = Clock::now() + std::chrono::seconds(2);
    ChannelStatus st = ch_.service(scratch_);
    while (st == ChannelStatus::ok && ch_.has_pending_output() && Clock::now() < until) {
      ch_.wait(100);
      st = ch_.service(scratch_);
    }
    _exit(0);
  }

  // A frame from the supervisor that doesn't parse means the two sides
  // disagree about the protocol: stop rather than guess.
  [[noreturn]] void malformed(const char* what) {
    logf(LogLevel::error, "malformed %s message from the supervisor; exiting", what);
    _exit(3);
  }

  void dispatch(Message& m) {
    switch ((MsgType)m.type) {
      case MsgType::load_worker: return on_load(m);
      case MsgType::request: return on_request(m);
      case MsgType::subresponse: return on_subresponse(m);
      case MsgType::subrequest_failed: return on_subfailed(m);
      case MsgType::body_data: return on_body_data(m);
      case MsgType::cache_result: return on_cache_result(m);
      case MsgType::compile: return on_compile(m);
      case MsgType::shutdown: shutting_down_ = true; return;
      default: malformed("unexpected");
    }
  }

  std::unique_ptr<WorkerHeap> new_heap() {
    std::unique_ptr<WorkerHeap> h;
    if (preloaded_) {
      h = std::move(preloaded_);
      h->set_sink(this);
    } else {
      h = std::make_unique<WorkerHeap>(this);
    }
    h->set_memory_limit(memory_bytes_);
    return h;
  }

  bool load_instance(Instance& inst, ErrorCode& code, std::string& error) {
    inst.heap = new_heap();
    inst.heap->set_cache_default(inst.params.cache_default);
    current_ = &inst;
    const LoadParams& p = inst.params;
    Running running(ch_, Running::kLoading);
    bool ok = inst.heap->load(p.label, p.format, p.lowered.empty() ? p.source : p.lowered,
                              p.bytecode, p.build_id, p.bindings, p.cpu_ms, code, error);
    error = map_positions(error, p.label + ".js", p.line_map);
    current_ = nullptr;
    return ok;
  }

  void on_load(Message& m) {
    WireReader r(m.payload);
    auto inst = std::make_shared<Instance>();
    LoadParams& p = inst->params;
    p.slot = r.u64();
    p.label = r.str(256);
    p.format = r.str(32);
    p.source = r.str();
    p.bytecode = r.str();
    p.build_id = r.str(64);
    p.bindings = r.str();
    p.cpu_ms = r.i64();
    p.subrequests = r.i64();
    p.lowered = r.str();
    p.line_map = parse_line_map(r.str());
    p.cache_default = r.u8() != 0;
    if (!r.done()) malformed("load_worker");
    if (role_ == Role::sandbox) {
      // A sandbox holds one tenant for its whole life.
      if (!slots_.empty()) malformed("second load_worker for a sandbox");
      setproctitle("sandbox %s", p.label.c_str());
    }
    ErrorCode code = ErrorCode::ok;
    std::string error;
    bool ok = load_instance(*inst, code, error);
    ch_.send(MsgType::load_result, 0,
             WireWriter().u64(p.slot).u32((uint32_t)(ok ? ErrorCode::ok : code)).str(error).data());
    if (!ok) {
      if (role_ == Role::sandbox) _exit(0);  // never reused after a failed load
      return;
    }
    slots_[p.slot] = inst;
  }

  void on_request(Message& m) {
    WireReader r(m.payload);
    uint64_t slot = r.u64();
    std::string method = r.str(64), url = r.str(64 * 1024);
    HeaderList headers = r.pairs(kMaxHeaderCount, kMaxItem);
    std::string body = r.str(), args = r.str(1 << 20);
    int64_t cpu_ms = r.i64(), subrequests = r.i64();
    uint32_t depth = r.u32();
    (void)depth;
    std::string env_json = r.str(1 << 20);
    if (!r.done()) malformed("request");
    auto it = slots_.find(slot);
    if (it == slots_.end() || requests_.count(m.request_id)) {
      ch_.send(MsgType::request_failed, m.request_id,
               WireWriter().u32((uint32_t)ErrorCode::internal).str("worker is not loaded").str("").u8(0).u64(0).data());
      return;
    }
    auto inst = it->second;
    inst->inflight++;
    InFlight f;
    f.inst = inst;
    f.cpu_ms = cpu_ms;
    f.subrequests_left = subrequests;
    requests_[m.request_id] = std::move(f);
    current_ = inst.get();
    run_js(m.request_id, *inst->heap, [&] { inst->heap->handle(m.request_id, method, url, headers, body, args, cpu_ms, env_json); });
    current_ = nullptr;
    after_call(inst);
  }

  void on_subresponse(Message& m) {
    WireReader r(m.payload);
    WorkerHeap::SubAnswer a;
    a.status = (int)r.u32();
    a.status_text = r.str(1024);
    a.headers = r.pairs(kMaxHeaderCount, kMaxItem);
    a.body = r.str();
    a.body_handle = r.u64();
    a.body_size = r.u64();
    a.url = r.str(64 * 1024);
    a.redirected = r.u8() != 0;
    if (!r.done()) malformed("subresponse");
    deliver(m.request_id, [&](WorkerHeap& h, uint64_t, int64_t cpu) { h.sub_resolve(m.request_id, a, cpu); });
  }

  void on_cache_result(Message& m) {
    WireReader r(m.payload);
    bool value = r.u8() != 0;
    if (!r.done()) malformed("cache_result");
    deliver(m.request_id, [&](WorkerHeap& h, uint64_t, int64_t cpu) { h.cache_resolve(m.request_id, value, cpu); });
  }

  void on_body_data(Message& m) {
    WireReader r(m.payload);
    ErrorCode code = (ErrorCode)r.u32();
    std::string data = r.str();
    if (!r.done()) malformed("body_data");
    deliver(m.request_id, [&](WorkerHeap& h, uint64_t, int64_t cpu) {
      if (code == ErrorCode::ok) h.body_resolve(m.request_id, data, cpu);
      else h.body_reject(m.request_id, data, cpu);
    });
  }

  void on_subfailed(Message& m) {
    WireReader r(m.payload);
    ErrorCode code = (ErrorCode)r.u32();
    std::string message = r.str(8192);
    if (!r.done()) malformed("subrequest_failed");
    (void)code;
    deliver(m.request_id, [&](WorkerHeap& h, uint64_t parent, int64_t cpu) {
      h.sub_reject(m.request_id, parent, message, cpu);
    });
  }

  template <class F>
  void deliver(uint64_t sub, F&& f) {
    auto s = subs_.find(sub);
    if (s == subs_.end()) return;  // the parent finished meanwhile
    uint64_t parent = s->second;
    subs_.erase(s);
    auto it = requests_.find(parent);
    if (it == requests_.end()) return;
    auto inst = it->second.inst;
    current_ = inst.get();
    int64_t cpu_ms = it->second.cpu_ms;
    run_js(parent, *inst->heap, [&] { f(*inst->heap, parent, cpu_ms); });
    current_ = nullptr;
    after_call(inst);
  }

  // A heap that hit a limit is never used again: its requests fail with
  // the limit's error; a sandbox exits (the supervisor replaces it), a
  // dispatcher reloads the worker into a fresh heap.
  void after_call(const std::shared_ptr<Instance>& inst) {
    HeapTrip trip = inst->heap->tripped();
    if (trip == HeapTrip::none) return;
    ErrorCode code = trip == HeapTrip::cpu ? ErrorCode::cpu_limit : ErrorCode::memory_limit;
    // A limit can't be caught: an answer this heap made after it (a worker
    // that caught the allocator's error and answered anyway) is void; its
    // request fails with the limit's error instead.
    for (Answer& a : answers_) {
      if (a.inst != inst.get()) continue;
      a.type = MsgType::request_failed;
      a.payload = WireWriter().u32((uint32_t)code).str(error_text(code)).str("").take();
    }
    for (auto it = requests_.begin(); it != requests_.end();) {
      if (it->second.inst == inst) {
        if (!it->second.answered)
          ch_.send(MsgType::request_failed, it->first,
                   WireWriter().u32((uint32_t)code).str(error_text(code)).str("").u8(0).u64(it->second.cpu_us).data());
        for (uint64_t t : it->second.timers) timers_.erase(t);
        ended_cpu_[it->first] = it->second.cpu_us;
        it = requests_.erase(it);
      } else {
        ++it;
      }
    }
    inst->inflight = 0;
    if (role_ == Role::sandbox) {
      flush_answers();
      drain_and_exit();
    }
    ErrorCode c;
    std::string e;
    if (!load_instance(*inst, c, e))
      logf(LogLevel::error, "reloading %s after a limit failed: %s", inst->params.label.c_str(), e.c_str());
  }

  void on_compile(Message& m) {
    if (role_ != Role::compiler) malformed("compile");
    WireReader r(m.payload);
    std::string filename = r.str(512), source = r.str();
    bool module_hint = r.u8() != 0;
    if (!r.done()) malformed("compile");
    if (!compile_heap_) compile_heap_ = new_heap();
    // Modern source is lowered first; the lowered ES5 is what is compiled,
    // stored and, after a rebuild, compiled again.
    LowerResult low;
    try {
      low = lowerer().lower(filename, source, module_hint);
    } catch (const std::exception& e) {
      // The lowering heap could not be built: say so for this deploy; the
      // next one tries again.
      low.ok = false;
      low.error = filename + ": the compiler could not load its lowering heap: " + e.what();
    }
    CompileOutput out;
    if (!low.ok) {
      out.error = low.error;
    } else {
      out = compile_heap_->compile(filename, low.code);
      if (!out.ok && low.lowered)
        out.error = map_positions(out.error, filename, parse_line_map(low.line_map));
    }
    if (compile_heap_->tripped() != HeapTrip::none) {
      out.ok = false;
      out.error = filename + ": the script is too large to compile within the compiler's limits";
      compile_heap_.reset();
    }
    ch_.send(MsgType::compile_result, m.request_id,
             WireWriter().u32((uint32_t)(out.ok ? ErrorCode::ok : ErrorCode::compile_error))
                 .str(out.bytecode).str(host_build_id()).str(out.error)
                 .str(low.lowered ? low.code : std::string()).str(low.format)
                 .str(low.lowered ? low.line_map : std::string()).data());
  }

  Role role_;
  Channel& ch_;
  size_t memory_bytes_;
  std::unique_ptr<WorkerHeap> preloaded_;
  std::unique_ptr<WorkerHeap> compile_heap_;
  std::unique_ptr<Lowerer> lowerer_;
  Lowerer& lowerer() {
    if (!lowerer_) lowerer_ = std::make_unique<Lowerer>();
    return *lowerer_;
  }
  std::map<uint64_t, std::shared_ptr<Instance>> slots_;
  std::unordered_map<uint64_t, InFlight> requests_;
  std::unordered_map<uint64_t, uint64_t> subs_;  // sub id → parent request
  uint64_t next_sub_ = 1;
  uint64_t next_timer_ = 1;
  std::unordered_map<uint64_t, Timer> timers_;
  std::multimap<Clock::time_point, uint64_t> queue_;
  Instance* current_ = nullptr;  // whose JS is running now
  bool shutting_down_ = false;
  uint64_t log_dropped_ = 0;  // lines log() dropped since the last one sent
  std::vector<Message> scratch_;
};

}  // namespace

void run_worker_loop(Role role, Channel& ch, size_t memory_bytes,
                     std::unique_ptr<WorkerHeap> preloaded) {
  Runner(role, ch, memory_bytes, std::move(preloaded)).run();
}

}  // namespace wfp
