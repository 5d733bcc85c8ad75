// Unit tests of the Duktape host: a real heap with the real runtime
// prelude; the sink records what the runtime hands to its process.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "sandbox/host.h"

namespace wfp {
namespace {

struct Recorder : HostSink {
  struct Answer {
    bool ok = false;
    int status = 0;
    HeaderList headers;
    std::string body;
    ErrorCode code = ErrorCode::ok;
    std::string message;
  };
  std::map<uint64_t, Answer> answers;
  std::map<uint64_t, int> answer_count;
  struct Sub {
    uint64_t parent;
    std::string binding, script, args, method, url, body;
  };
  std::vector<Sub> subs;
  std::vector<std::string> logs;
  bool refuse_subrequests = false;

  void respond(uint64_t req, int status, const std::string&, HeaderList headers, std::string body) override {
    answer_count[req]++;
    answers[req] = Answer{true, status, std::move(headers), std::move(body), ErrorCode::ok, ""};
  }
  void fail(uint64_t req, ErrorCode code, const std::string& message, const std::string&) override {
    answer_count[req]++;
    Answer a;
    a.code = code;
    a.message = message;
    answers[req] = a;
  }
  uint64_t subrequest(uint64_t parent, const std::string& binding, const std::string& script,
                      const std::string& args, const std::string& method, const std::string& url,
                      HeaderList, std::string body) override {
    if (refuse_subrequests) throw std::runtime_error("Too many subrequests.");
    subs.push_back({parent, binding, script, args, method, url, body});
    return subs.size();
  }
  void log(uint64_t, const std::string& level, const std::string& text) override {
    logs.push_back(level + ": " + text);
  }
  std::map<uint64_t, uint64_t> timers;  // id → request
  std::vector<uint64_t> finished;
  uint64_t set_timer(uint64_t req, int64_t) override {
    timers[timers.size() + 1] = req;
    return timers.size();
  }
  void clear_timer(uint64_t id) override { timers.erase(id); }
  void done(uint64_t req) override { finished.push_back(req); }
};

const char* kBindings = R"([{"type":"plain_text","name":"GREETING","text":"hi"},)"
                        R"({"type":"dispatch_namespace","name":"DISPATCHER","namespace":"ns"}])";

struct Loaded {
  Recorder rec;
  WorkerHeap heap{&rec};
  bool ok = false;
  ErrorCode code = ErrorCode::ok;
  std::string error;
  Loaded(const std::string& format, const std::string& source, const std::string& bytecode = "",
         int64_t cpu_ms = 100) {
    heap.set_memory_limit(32 << 20);
    ok = heap.load("ns/test", format, source, bytecode, host_build_id(), kBindings, cpu_ms, code, error);
  }
  Recorder::Answer get(uint64_t id, const std::string& url = "http://x.example/") {
    heap.handle(id, "GET", url, {{"host", "x.example"}}, "", "", 100);
    return rec.answers[id];
  }
};

TEST(Host, RunsACommonJsWorkerWithItsEnv) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r,env){return new Response(env.GREETING+' '+r.url,{status:203})}}");
  ASSERT_TRUE(w.ok) << w.error;
  auto a = w.get(1);
  EXPECT_TRUE(a.ok);
  EXPECT_EQ(a.status, 203);
  EXPECT_EQ(a.body, "hi http://x.example/");
}

TEST(Host, RunsAServiceWorkerWithBindingsAsGlobals) {
  Loaded w("service-worker",
           "addEventListener('fetch',function(e){e.respondWith(new Response(GREETING))})");
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.get(1).body, "hi");
}

TEST(Host, LoadsFromBytecodeMadeByThisBuild) {
  Recorder rec;
  WorkerHeap compiler(&rec);
  CompileOutput out = compiler.compile("t.js", "module.exports={fetch:function(){return new Response('from bytecode')}}");
  ASSERT_TRUE(out.ok) << out.error;
  // Wrong source on purpose: the bytecode must be what runs.
  Loaded w("commonjs", "syntax error here (", out.bytecode);
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.get(1).body, "from bytecode");
}

TEST(Host, RecompilesSourceWhenTheBytecodeIsFromAnotherBuild) {
  Recorder rec;
  WorkerHeap heap(&rec);
  ErrorCode code;
  std::string error;
  ASSERT_TRUE(heap.load("ns/t", "commonjs", "module.exports={fetch:function(){return new Response('src')}}",
                        "not bytecode", "another-build", "[]", 100, code, error))
      << error;
  heap.handle(1, "GET", "http://x/", {}, "", "", 100);
  EXPECT_EQ(rec.answers[1].body, "src");
}

TEST(Host, ReportsACompileErrorWithFileAndLine) {
  Recorder rec;
  WorkerHeap heap(&rec);
  CompileOutput out = heap.compile("ns/a.js", "var a = 1;\n\nvar b = = 2;\n");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.error.rfind("ns/a.js:3: SyntaxError", 0), 0u) << out.error;
}

TEST(Host, AnUncaughtExceptionFailsTheRequestWithItsMessage) {
  Loaded w("commonjs", "module.exports={fetch:function(){throw new TypeError('nope')}}");
  ASSERT_TRUE(w.ok);
  auto a = w.get(1);
  EXPECT_FALSE(a.ok);
  EXPECT_EQ(a.code, ErrorCode::exception);
  EXPECT_EQ(a.message, "nope");
}

TEST(Host, AScriptWithoutAHandlerDoesNotLoad) {
  Loaded w("commonjs", "var x = 1;");
  EXPECT_FALSE(w.ok);
  EXPECT_EQ(w.code, ErrorCode::no_handler);
  EXPECT_NE(w.error.find("No fetch handler"), std::string::npos) << w.error;
}

TEST(Host, AnInfiniteLoopTripsTheCpuLimitThroughFinally) {
  Loaded w("commonjs", "module.exports={fetch:function(){for(;;){try{for(;;){}}finally{continue}}}}", "", 50);
  ASSERT_TRUE(w.ok);
  w.heap.handle(1, "GET", "http://x/", {}, "", "", 50);
  EXPECT_EQ(w.heap.tripped(), HeapTrip::cpu);
  EXPECT_FALSE(w.rec.answers[1].ok);
}

TEST(Host, AnInfiniteLoopAtTheTopLevelFailsTheLoad) {
  Loaded w("commonjs", "while(true){}", "", 50);
  EXPECT_FALSE(w.ok);
  EXPECT_EQ(w.code, ErrorCode::cpu_limit);
}

TEST(Host, AMemoryBombTripsTheHeapLimit) {
  Loaded w("commonjs", "module.exports={fetch:function(){var s='x';for(;;){s=s+s}}}", "", 5000);
  ASSERT_TRUE(w.ok);
  w.heap.handle(1, "GET", "http://x/", {}, "", "", 5000);
  EXPECT_EQ(w.heap.tripped(), HeapTrip::memory);
  EXPECT_LE(w.heap.memory_used(), (size_t)32 << 20);
}

TEST(Host, TheDuktapeObjectAndHostNativesAreOutOfReach) {
  Loaded w("commonjs",
           "module.exports={fetch:function(){return new Response([typeof Duktape, typeof __host, typeof __wfp].join())}}");
  ASSERT_TRUE(w.ok) << w.error;
  EXPECT_EQ(w.get(1).body, "undefined,undefined,undefined");
}

TEST(Host, ADispatchFetchBecomesASubrequestAndItsAnswerResolves) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r,env){return env.DISPATCHER.get('cust',{a:1}).fetch(r)"
           ".then(function(res){return res.text()}).then(function(t){return new Response('got '+t)})}}");
  ASSERT_TRUE(w.ok) << w.error;
  w.heap.handle(7, "POST", "http://x/", {}, "body!", "", 100);
  ASSERT_EQ(w.rec.subs.size(), 1u);
  EXPECT_EQ(w.rec.subs[0].parent, 7u);
  EXPECT_EQ(w.rec.subs[0].binding, "DISPATCHER");
  EXPECT_EQ(w.rec.subs[0].script, "cust");
  EXPECT_EQ(w.rec.subs[0].args, "{\"a\":1}");
  EXPECT_EQ(w.rec.subs[0].body, "body!");
  EXPECT_EQ(w.rec.answer_count[7], 0);
  w.heap.sub_resolve(1, 7, 200, "OK", {}, "inner", 100);
  EXPECT_EQ(w.rec.answers[7].body, "got inner");
  EXPECT_EQ(w.rec.answer_count[7], 1);
}

TEST(Host, ARejectedSubrequestRejectsWithTheGivenMessage) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r,env){return env.DISPATCHER.get('x').fetch(r)"
           ".then(null,function(e){return new Response(e.message)})}}");
  ASSERT_TRUE(w.ok);
  w.heap.handle(3, "GET", "http://x/", {}, "", "", 100);
  w.heap.sub_reject(1, 3, "Worker not found.", 100);
  EXPECT_EQ(w.rec.answers[3].body, "Worker not found.");
}

TEST(Host, ARefusedSubrequestRejectsInsteadOfThrowing) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r,env){return env.DISPATCHER.get('x').fetch(r)"
           ".then(null,function(e){return new Response('caught '+e.message)})}}");
  ASSERT_TRUE(w.ok);
  w.rec.refuse_subrequests = true;
  EXPECT_EQ(w.get(4).body, "caught Too many subrequests.");
}

TEST(Host, ConcurrentRequestsInOneHeapAreAnsweredSeparately) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r,env){return env.DISPATCHER.get(r.url.split('/')[3]).fetch(r)}}");
  ASSERT_TRUE(w.ok);
  w.heap.handle(1, "GET", "http://x/a", {}, "", "", 100);
  w.heap.handle(2, "GET", "http://x/b", {}, "", "", 100);
  ASSERT_EQ(w.rec.subs.size(), 2u);
  EXPECT_EQ(w.rec.subs[1].parent, 2u);
  w.heap.sub_resolve(2, 2, 200, "", {}, "for two", 100);
  w.heap.sub_resolve(1, 1, 200, "", {}, "for one", 100);
  EXPECT_EQ(w.rec.answers[1].body, "for one");
  EXPECT_EQ(w.rec.answers[2].body, "for two");
}

TEST(Host, HeaderBytesArriveAsLatin1TextNeverAsSymbols) {
  Loaded w("commonjs",
           "module.exports={fetch:function(r){var v=r.headers.get('x-raw');"
           "return new Response(typeof v+' '+v.length+' '+v.charCodeAt(0),{headers:{'x-back':v}})}}");
  ASSERT_TRUE(w.ok) << w.error;
  // 0xFF first would make a hidden Duktape symbol if pushed as raw bytes.
  w.heap.handle(1, "GET", "http://x/", {{"x-raw", std::string("\xff\x81" "ab", 4)}}, "", "", 100);
  auto a = w.rec.answers[1];
  EXPECT_EQ(a.body, "string 4 255");
  ASSERT_FALSE(a.headers.empty());
  for (auto& [k, v] : a.headers) {
    if (k == "x-back") {
      EXPECT_EQ(v, std::string("\xff\x81" "ab", 4));
    }
  }
}

TEST(Host, ConsoleOutputReachesTheSink) {
  Loaded w("commonjs", "module.exports={fetch:function(){console.log('hello',{a:1});return new Response('')}}");
  ASSERT_TRUE(w.ok);
  w.get(1);
  ASSERT_EQ(w.rec.logs.size(), 1u);
  EXPECT_EQ(w.rec.logs[0], "log: hello {\"a\":1}");
}

}  // namespace
}  // namespace wfp
