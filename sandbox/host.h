// The Duktape host: one heap per worker instance, the runtime prelude
// (runtime.js), loading of scripts from bytecode or source, and the calls
// between the runtime and the process around it. Runs in locked children
// (zygote image, dispatcher, sandbox, compiler). Everything a script does
// is hostile: natives check every argument, and limits (CPU through the
// interrupt check, heap through the allocator) are armed before it runs.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ipc/errors.h"
#include "ipc/wire.h"

struct duk_hthread;

namespace wfp {

// What the runtime asks of the process around it (the runner loop).
class HostSink {
 public:
  virtual ~HostSink() = default;
  virtual void respond(uint64_t req, int status, const std::string& status_text,
                       HeaderList headers, std::string body) = 0;
  virtual void fail(uint64_t req, ErrorCode code, const std::string& message,
                    const std::string& stack) = 0;
  // Returns the sub id; throws std::runtime_error (message shown to JS) to refuse.
  virtual uint64_t subrequest(uint64_t parent, const std::string& binding,
                              const std::string& script, const std::string& args_json,
                              const std::string& method, const std::string& url,
                              HeaderList headers, std::string body) = 0;
  // The same with the call's options: its own limits (get(name, args,
  // {limits}); 0 = none; the supervisor combines them with the script's,
  // smallest wins), a body the supervisor holds, and the outbound values.
  struct CallLimits {
    int64_t cpu_ms = 0;
    int64_t subrequests = 0;
    uint64_t body_handle = 0;   // ≠ 0: the body is this held one
    std::string outbound_json;  // get(…, {outbound}) as JSON, or ""
  };
  virtual uint64_t subrequest_with_limits(uint64_t parent, const std::string& binding,
                                          const std::string& script, const std::string& args_json,
                                          const std::string& method, const std::string& url,
                                          HeaderList headers, std::string body, CallLimits) {
    return subrequest(parent, binding, script, args_json, method, url, std::move(headers), std::move(body));
  }
  // The answer with a body the supervisor holds (a fetched body passed on).
  virtual void respond_held(uint64_t, int, const std::string&, HeaderList, uint64_t) {
    throw std::runtime_error("a held body cannot be answered here");
  }
  // The global fetch(); returns the sub id, answered like a subrequest.
  // `redirect`: 0 follow, 1 manual, 2 error. Throws to refuse.
  virtual uint64_t fetch(uint64_t, const std::string&, const std::string&, HeaderList, std::string,
                         uint64_t /*body_handle*/, int /*redirect*/) {
    throw std::runtime_error("fetch() is not available here");
  }
  // A Cache API call (ipc/messages.h, cache_op): returns the sub id,
  // answered by sub_resolve (a hit) or cache_resolve. Throws to refuse.
  struct CacheCall {
    int op = 0;  // 0 match, 1 put, 2 delete
    bool is_default = false;
    std::string name, url, method;
    HeaderList request_headers;
    bool ignore_method = false;
    int status = 0;  // put: the response's
    HeaderList response_headers;
    std::string body;
    uint64_t body_handle = 0;
  };
  virtual uint64_t cache_op(uint64_t, CacheCall) { throw std::runtime_error("the Cache API is not available here"); }
  // Asks for the bytes of a held body; returns a read id answered through
  // WorkerHeap::body_resolve / body_reject. Throws to refuse.
  virtual uint64_t read_body(uint64_t, uint64_t) {
    throw std::runtime_error("this body cannot be read here");
  }
  virtual void log(uint64_t req, const std::string& level, const std::string& text) = 0;
  // Timers live only within a request: set_timer returns an id the runtime
  // later gets back in fire_timer; throws std::runtime_error to refuse.
  virtual uint64_t set_timer(uint64_t req, int64_t ms) = 0;
  virtual void clear_timer(uint64_t id) = 0;
  // The request is over: answered, and its waitUntil work settled.
  virtual void done(uint64_t req) = 0;
};

// Workers' clock moves only across I/O: the runner calls this once per
// wake-up, and until the first call (tests, the compiler) the clock is
// the real one.
void host_clock_advance();
// The runner's loop: calls into heaps are the only CPU work of this
// process besides its own bookkeeping for them, and it sleeps in between
// (no CPU passes). The CPU-clock reading that ended one call then starts
// the next, however long it slept, instead of only within a millisecond.
void host_cpu_runner_mode();

// The build id stamped on bytecode: bytecode is loaded only by the build
// that made it (Duktape does not verify bytecode).
const char* host_build_id();

struct CompileOutput {
  bool ok = false;
  std::string bytecode;
  std::string error;  // "FILE:LINE: SyntaxError: text"
};

// Why the last call into JS stopped early, if it did.
enum class HeapTrip { none, cpu, memory };

class WorkerHeap {
 public:
  // Creates a heap and evaluates the runtime prelude. Throws on failure.
  explicit WorkerHeap(HostSink* sink);
  ~WorkerHeap();
  WorkerHeap(const WorkerHeap&) = delete;
  WorkerHeap& operator=(const WorkerHeap&) = delete;

  void set_sink(HostSink* sink);
  // Heap limit in bytes (0 = none); armed after creation, per the notes.
  void set_memory_limit(size_t bytes);
  size_t memory_used() const;
  void collect_garbage();

  // Compiles source to bytecode without running it (the compiler role).
  CompileOutput compile(const std::string& filename, const std::string& source);

  // Loads a worker: bytecode if it was made by this build, else `source`
  // (the lowered ES5 when the deploy lowered it); then prepare → run the
  // top level → finish. On failure returns false with `error` (and `code`:
  // compile_error, exception, no_handler, cpu/memory).
  bool load(const std::string& label, const std::string& format, const std::string& source,
            const std::string& bytecode, const std::string& build_id,
            const std::string& bindings_json, int64_t cpu_ms, ErrorCode& code,
            std::string& error);

  // Starts one request; the answer arrives through the sink, now or later.
  // `env_json`: values added to env for this call only ("" = none).
  void handle(uint64_t req, const std::string& method, const std::string& url,
              const HeaderList& headers, const std::string& body, const std::string& args_json,
              int64_t cpu_ms, const std::string& env_json = "");
  void sub_resolve(uint64_t sub, uint64_t parent, int status, const std::string& status_text,
                   const HeaderList& headers, const std::string& body, int64_t cpu_ms);
  // A subrequest's or fetch's answer whose body may be held (handle ≠ 0).
  struct SubAnswer {
    int status = 0;
    std::string status_text;
    HeaderList headers;
    std::string body;
    uint64_t body_handle = 0, body_size = 0;
    std::string url;
    bool redirected = false;
  };
  void sub_resolve(uint64_t sub, const SubAnswer& answer, int64_t cpu_ms);
  void body_resolve(uint64_t read, const std::string& bytes, int64_t cpu_ms);
  void cache_resolve(uint64_t sub, bool value, int64_t cpu_ms);
  // Whether caches.default may be used (trusted namespaces, platform workers).
  void set_cache_default(bool allowed);
  void body_reject(uint64_t read, const std::string& message, int64_t cpu_ms);
  void sub_reject(uint64_t sub, uint64_t parent, const std::string& message, int64_t cpu_ms);
  void fire_timer(uint64_t timer, int64_t cpu_ms);

  // Set once a limit stopped JS; the heap must not be reused after that.
  HeapTrip tripped() const;
  // CPU time (µs) the calls into this heap used since the last take
  // (measured where each call arms and disarms its CPU deadline).
  uint64_t take_cpu_used_us();

  // For the conformance runner and the benchmarks only; no sandbox calls
  // it. Compiles `source` as a global program and runs it with the CPU
  // deadline disarmed, then drains the microtask queue. `result` gets the
  // completion value as a string, or the error ("FILE:LINE: Error: text").
  // While the call lasts, the program may call the global function
  // __host_call(op, arg), which returns host(op, arg); a std::exception
  // thrown by `host` becomes a JS Error.
  using EvalHost = std::function<std::string(const std::string& op, const std::string& arg)>;
  bool eval(const std::string& filename, const std::string& source, std::string& result,
            const EvalHost& host = nullptr);

  struct State;

 private:
  void call_runtime(const char* fn, int nargs, int64_t cpu_ms);
  duk_hthread* ctx_ = nullptr;
  std::unique_ptr<State> state_;
  HostSink* sink_;
  size_t compiled_since_gc_ = 0;  // source bytes compile() saw since its last collection
};

}  // namespace wfp
