// The Cache API through a real wfpd (the test build, whose cache clock the
// test moves by writing DATA_DIR/test-clock, so freshness is tested without
// sleeping): put → match, every rejection and silent skip, freshness rules,
// conditional and ranged answers, delete, quota eviction, purges, and the
// isolation between tenants and caches.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

using nlohmann::json;

// One cache operation per request, as its query string says; the outcome
// as JSON.
const char* kCacher = R"JS(
export default {
  async fetch(request) {
    const q = new URL(request.url).searchParams;
    const json = (name) => JSON.parse(q.get(name) || "{}");
    try {
      const cache = q.get("cache") === "default" ? caches.default : await caches.open(q.get("cache") || "main");
      const key = q.get("key");
      const method = q.get("method") || "GET";
      switch (q.get("op")) {
        case "put": {
          const status = Number(q.get("status") || 200);
          let body = q.has("size") ? "x".repeat(Number(q.get("size"))) : (q.get("body") ?? "body of " + key);
          if ([204, 304].includes(status)) body = null;
          const r = await cache.put(new Request(key, { method }), new Response(body, { status, headers: json("headers") }));
          return Response.json({ put: String(r) });
        }
        case "match": {
          const r = await cache.match(new Request(key, { method, headers: json("headers") }),
                                      { ignoreMethod: q.has("ignoreMethod") });
          if (!r) return Response.json({ hit: false });
          const text = await r.text();
          return Response.json({ hit: true, status: r.status, body: text.length > 100 ? `${text.length} bytes` : text,
                                 range: r.headers.get("content-range"), etag: r.headers.get("etag") });
        }
        case "delete":
          return Response.json({ deleted: await cache.delete(key, { ignoreMethod: q.has("ignoreMethod") }) });
      }
      return Response.json({ error: "no op" });
    } catch (e) {
      return Response.json({ error: `${e.name}: ${e.message}` });
    }
  },
};
)JS";

const char* kFront = R"JS(
export default {
  fetch(request, env) {
    const [name, ns] = new URL(request.url).hostname.split(".");
    return (ns === "shared" ? env.SHARED : env.APPS).get(name).fetch(request);
  },
};
)JS";

class Cache : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd("cache_tenant_quota_mb = 1\ncache_max_entry_bytes = 600000\nmetrics_listen = 127.0.0.1:0\n",
                 "wfpd-test");
    expect_ok(d->ctl({"namespace", "create", "apps"}), d);
    expect_ok(d->ctl({"namespace", "create", "shared", "--trusted"}), d);
    std::string file = d->write_file("cacher.mjs", kCacher);
    for (const char* name : {"alice", "bob", "carol", "quota"})
      expect_ok(d->ctl({"script", "deploy", "apps", name, file}), d);
    for (const char* name : {"one", "two"}) expect_ok(d->ctl({"script", "deploy", "shared", name, file}), d);
    expect_ok(d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kFront), "--dispatch-namespace",
                      "APPS=apps", "--dispatch-namespace", "SHARED=shared"}), d);
    expect_ok(d->ctl({"route", "add", "*/*", "front"}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
  // Moves the cache clock `seconds` ahead of the real one.
  static void clock(int64_t seconds) { std::ofstream(d->dir() + "/data/test-clock") << seconds << "\n"; }
  void SetUp() override { clock(0); }

  // op on tenant `host` ("alice.apps"), with more query parameters.
  static json op(const std::string& host, const std::string& what, const std::string& key,
                 const std::vector<std::pair<std::string, std::string>>& params = {}) {
    std::string path = "/?op=" + what + "&key=" + url_encode(key);
    for (auto& [k, v] : params) path += "&" + k + "=" + url_encode(v);
    HttpResult r = d->get(host + ".example", path);
    json j = json::parse(r.body, nullptr, false);
    if (r.status != 200 || j.is_discarded()) {
      ADD_FAILURE() << what << " " << key << ": " << r.status << " " << r.body << "\n" << d->log();
      return json::object();
    }
    return j;
  }
  static bool hit(const std::string& host, const std::string& key,
                  const std::vector<std::pair<std::string, std::string>>& params = {}) {
    return op(host, "match", key, params).value("hit", false);
  }
};
Wfpd* Cache::d = nullptr;

TEST_F(Cache, PutThenMatchGivesTheStoredResponse) {
  EXPECT_EQ(op("alice.apps", "put", "https://site.example/a", {{"body", "hello cache"}})["put"], "undefined");
  json m = op("alice.apps", "match", "https://site.example/a");
  EXPECT_EQ(m["hit"], true) << m.dump() << d->log();
  EXPECT_EQ(m["status"], 200);
  EXPECT_EQ(m["body"], "hello cache");
  EXPECT_FALSE(hit("alice.apps", "https://site.example/never-put"));
  // The fragment is not part of the key.
  EXPECT_TRUE(hit("alice.apps", "https://site.example/a#section"));
}

TEST_F(Cache, PutRefusesWhatCloudflareRefuses) {
  EXPECT_EQ(op("alice.apps", "put", "https://site.example/post", {{"method", "POST"}})["error"],
            "TypeError: Cannot cache response to non-GET request.");
  EXPECT_EQ(op("alice.apps", "put", "https://site.example/partial", {{"status", "206"}})["error"],
            "TypeError: Cannot cache response to a range request (206 Partial Content).");
  EXPECT_EQ(op("alice.apps", "put", "https://site.example/vary", {{"headers", R"({"vary": "Accept, *"})"}})["error"],
            "TypeError: Cannot cache response with 'Vary: *' header.");
  for (const char* key : {"https://site.example/post", "https://site.example/partial", "https://site.example/vary"})
    EXPECT_FALSE(hit("alice.apps", key)) << key;
}

TEST_F(Cache, PutSilentlySkipsWhatMustNotBeStored) {
  struct Case {
    const char* key;
    std::vector<std::pair<std::string, std::string>> params;
  } cases[] = {
      {"https://skip.example/304", {{"status", "304"}}},
      {"https://skip.example/cookie", {{"headers", R"({"set-cookie": "a=b"})"}}},
      {"https://skip.example/no-store", {{"headers", R"({"cache-control": "no-store"})"}}},
      {"https://skip.example/private", {{"headers", R"({"cache-control": "private"})"}}},
      {"https://skip.example/500", {{"status", "500"}}},
      {"https://skip.example/max-age-0", {{"headers", R"({"cache-control": "max-age=0"})"}}},
      {"https://skip.example/too-big", {{"size", "700000"}}},
  };
  for (auto& c : cases) {
    json p = op("alice.apps", "put", c.key, c.params);
    EXPECT_EQ(p["put"], "undefined") << c.key << ": " << p.dump();
    EXPECT_FALSE(hit("alice.apps", c.key)) << c.key;
  }
  op("alice.apps", "put", "https://skip.example/cookie-ok",
     {{"headers", R"({"set-cookie": "a=b", "cache-control": "private=Set-Cookie"})"}});
  EXPECT_TRUE(hit("alice.apps", "https://skip.example/cookie-ok"));
}

TEST_F(Cache, FreshnessFollowsSMaxageThenMaxAgeThenExpiresThenTheStatus) {
  op("carol.apps", "put", "https://ttl.example/200");
  op("carol.apps", "put", "https://ttl.example/302", {{"status", "302"}});
  op("carol.apps", "put", "https://ttl.example/404", {{"status", "404"}});
  op("carol.apps", "put", "https://ttl.example/s-maxage", {{"headers", R"({"cache-control": "max-age=1000, s-maxage=10"})"}});
  op("carol.apps", "put", "https://ttl.example/max-age",
     {{"headers", R"({"cache-control": "max-age=100", "expires": "Thu, 01 Jan 2099 00:00:00 GMT"})"}});
  op("carol.apps", "put", "https://ttl.example/expires", {{"headers", R"({"expires": "Thu, 01 Jan 2099 00:00:00 GMT"})"}});
  op("carol.apps", "put", "https://ttl.example/expired", {{"headers", R"({"expires": "Thu, 01 Jan 1998 00:00:00 GMT"})"}});
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/expired"));
  clock(5);
  for (const char* k : {"/200", "/302", "/404", "/s-maxage", "/max-age", "/expires"})
    EXPECT_TRUE(hit("carol.apps", std::string("https://ttl.example") + k)) << k;
  clock(11);
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/s-maxage"));
  EXPECT_TRUE(hit("carol.apps", "https://ttl.example/max-age"));
  clock(101);
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/max-age"));
  // The cache clock runs on with the real one: each "still fresh" is asked
  // 10 s before the end, so a slow machine between put and match can't
  // make it stale; each "stale" 1 s after, which time only makes truer.
  clock(170);
  EXPECT_TRUE(hit("carol.apps", "https://ttl.example/404"));
  clock(181);
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/404"));
  clock(1190);
  EXPECT_TRUE(hit("carol.apps", "https://ttl.example/302"));
  clock(1201);
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/302"));
  clock(7190);
  EXPECT_TRUE(hit("carol.apps", "https://ttl.example/200"));
  clock(7201);
  EXPECT_FALSE(hit("carol.apps", "https://ttl.example/200"));
  EXPECT_TRUE(hit("carol.apps", "https://ttl.example/expires"));
}

TEST_F(Cache, MatchAnswersConditionalRangedHeadAndOtherMethods) {
  op("alice.apps", "put", "https://cond.example/doc",
     {{"body", "0123456789"},
      {"headers", R"({"etag": "\"v1\"", "last-modified": "Tue, 01 Jan 2030 00:00:00 GMT"})"}});
  json inm = op("alice.apps", "match", "https://cond.example/doc", {{"headers", R"({"if-none-match": "\"v1\""})"}});
  EXPECT_EQ(inm["status"], 304) << inm.dump();
  EXPECT_EQ(inm["body"], "");
  json other = op("alice.apps", "match", "https://cond.example/doc", {{"headers", R"({"if-none-match": "\"v2\""})"}});
  EXPECT_EQ(other["status"], 200);
  json ims = op("alice.apps", "match", "https://cond.example/doc",
                {{"headers", R"({"if-modified-since": "Wed, 02 Jan 2030 00:00:00 GMT"})"}});
  EXPECT_EQ(ims["status"], 304) << ims.dump();
  json range = op("alice.apps", "match", "https://cond.example/doc", {{"headers", R"({"range": "bytes=2-4"})"}});
  EXPECT_EQ(range["status"], 206) << range.dump();
  EXPECT_EQ(range["body"], "234");
  EXPECT_EQ(range["range"], "bytes 2-4/10");
  // HEAD and POST miss unless ignoreMethod; HEAD then answers without a body.
  EXPECT_FALSE(hit("alice.apps", "https://cond.example/doc", {{"method", "HEAD"}}));
  EXPECT_FALSE(hit("alice.apps", "https://cond.example/doc", {{"method", "POST"}}));
  json head = op("alice.apps", "match", "https://cond.example/doc", {{"method", "HEAD"}, {"ignoreMethod", "1"}});
  EXPECT_EQ(head["hit"], true) << head.dump();
  EXPECT_EQ(head["body"], "");
  EXPECT_TRUE(hit("alice.apps", "https://cond.example/doc", {{"method", "POST"}, {"ignoreMethod", "1"}}));
}

TEST_F(Cache, DeleteSaysWhetherAnEntryWent) {
  op("alice.apps", "put", "https://del.example/x");
  EXPECT_EQ(op("alice.apps", "delete", "https://del.example/x")["deleted"], true);
  EXPECT_EQ(op("alice.apps", "delete", "https://del.example/x")["deleted"], false);
  EXPECT_FALSE(hit("alice.apps", "https://del.example/x"));
}

TEST_F(Cache, TenantsAndNamedCachesAreSeparate) {
  op("alice.apps", "put", "https://same.example/", {{"body", "alice's"}});
  op("bob.apps", "put", "https://same.example/", {{"body", "bob's"}});
  EXPECT_EQ(op("alice.apps", "match", "https://same.example/")["body"], "alice's");
  EXPECT_EQ(op("bob.apps", "match", "https://same.example/")["body"], "bob's");
  op("alice.apps", "put", "https://named.example/", {{"cache", "first"}, {"body", "in first"}});
  EXPECT_EQ(op("alice.apps", "match", "https://named.example/", {{"cache", "first"}})["body"], "in first");
  EXPECT_FALSE(hit("alice.apps", "https://named.example/", {{"cache", "second"}}));
  EXPECT_FALSE(hit("bob.apps", "https://named.example/", {{"cache", "first"}}));
  // caches.default: refused in an untrusted namespace, shared in a trusted one.
  EXPECT_EQ(op("alice.apps", "match", "https://d.example/", {{"cache", "default"}})["error"],
            "TypeError: caches.default is disabled for namespaced scripts");
  op("one.shared", "put", "https://d.example/", {{"cache", "default"}, {"body", "shared default"}});
  EXPECT_EQ(op("two.shared", "match", "https://d.example/", {{"cache", "default"}})["body"], "shared default");
  op("one.shared", "put", "https://d.example/", {{"cache", "team"}, {"body", "shared named"}});
  EXPECT_EQ(op("two.shared", "match", "https://d.example/", {{"cache", "team"}})["body"], "shared named");
}

TEST_F(Cache, ATenantOverItsQuotaLosesItsLeastRecentlyUsedEntries) {
  // 1 MiB quota: three entries of 400 KB do not fit. Use is recorded to
  // the minute, so the clock moves on before the entry is used again.
  op("quota.apps", "put", "https://q.example/1", {{"size", "400000"}});
  op("quota.apps", "put", "https://q.example/2", {{"size", "400000"}});
  clock(120);
  EXPECT_TRUE(hit("quota.apps", "https://q.example/1"));  // now 2 is the least recently used
  op("quota.apps", "put", "https://q.example/3", {{"size", "400000"}});
  EXPECT_TRUE(hit("quota.apps", "https://q.example/1"));
  EXPECT_FALSE(hit("quota.apps", "https://q.example/2"));
  EXPECT_TRUE(hit("quota.apps", "https://q.example/3"));
}

TEST_F(Cache, PurgeRemovesOneUrlOrTheWholeTenantAndStatsCountHits) {
  op("bob.apps", "put", "https://purge.example/a", {{"cache", "x"}});
  op("bob.apps", "put", "https://purge.example/a", {{"cache", "y"}});
  op("bob.apps", "put", "https://purge.example/b");
  CmdResult one = d->ctl({"cache", "purge", "apps", "bob", "--url", "https://purge.example/a"});
  EXPECT_EQ(one.status, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("2 entries"), std::string::npos) << one.out;
  EXPECT_FALSE(hit("bob.apps", "https://purge.example/a", {{"cache", "x"}}));
  EXPECT_FALSE(hit("bob.apps", "https://purge.example/a", {{"cache", "y"}}));
  EXPECT_TRUE(hit("bob.apps", "https://purge.example/b"));
  CmdResult get = d->ctl({"script", "get", "apps", "bob"});
  EXPECT_NE(get.out.find("cache: "), std::string::npos) << get.out;
  CmdResult stats = d->ctl({"--json", "script", "get", "apps", "bob"});
  CmdResult all = d->ctl({"cache", "purge", "apps", "bob"});
  EXPECT_EQ(all.status, 0) << all.out << all.err;
  EXPECT_FALSE(hit("bob.apps", "https://purge.example/b"));
  EXPECT_FALSE(hit("bob.apps", "https://same.example/"));
  // Alice's entries are untouched.
  EXPECT_TRUE(hit("alice.apps", "https://same.example/"));
  CmdResult bad = d->ctl({"cache", "purge", "apps", "bob", "--url", "not-a-url"});
  EXPECT_EQ(bad.status, 2) << bad.out << bad.err;
  CmdResult missing = d->ctl({"cache", "purge", "apps", "nobody"});
  EXPECT_EQ(missing.status, 1) << missing.out << missing.err;
}

TEST_F(Cache, EachCacheCallCountsAsASubrequest) {
  const char* counted = R"JS(
export default {
  async fetch() {
    const cache = await caches.open("c");
    let done = 0;
    try {
      for (;;) { await cache.match("https://count.example/" + done); done++; }
    } catch (e) {
      return new Response(`after ${done}: ${e.message}`);
    }
  },
};
)JS";
  expect_ok(d->ctl({"script", "deploy", "apps", "counted", d->write_file("counted.mjs", counted), "--subrequests", "3"}),
            d);
  HttpResult r = d->get("counted.apps.example");
  EXPECT_EQ(r.body, "after 3: Too many subrequests.") << r.body << d->log();
}

TEST_F(Cache, DeletingAScriptDeletesItsCache) {
  expect_ok(d->ctl({"script", "deploy", "apps", "temp", d->write_file("temp.mjs", kCacher)}), d);
  op("temp.apps", "put", "https://gone.example/");
  EXPECT_TRUE(hit("temp.apps", "https://gone.example/"));
  // The API gives ids as numbers or strings (Cloudflare's shapes).
  auto id_of = [](const json& v) { return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>(); };
  json script = json::parse(d->ctl({"--json", "script", "get", "apps", "temp"}).out, nullptr, false);
  json ns = json::parse(d->ctl({"--json", "namespace", "get", "apps"}).out, nullptr, false);
  ASSERT_TRUE(script.contains("script_id") && ns.contains("namespace_id")) << script.dump() << ns.dump();
  std::string file = d->dir() + "/data/cache/n" + std::to_string(id_of(ns["namespace_id"])) + "-s" +
                     std::to_string(id_of(script["script_id"])) + ".db";
  EXPECT_TRUE(std::filesystem::exists(file)) << file;
  expect_ok(d->ctl({"script", "delete", "apps", "temp"}), d);
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(file); })) << file;
  expect_ok(d->ctl({"script", "deploy", "apps", "temp", d->write_file("temp.mjs", kCacher)}), d);
  EXPECT_FALSE(hit("temp.apps", "https://gone.example/"));
}

// GET http://ADDR/metrics on the metrics listener the daemon logged.
std::string scrape(const Wfpd& d) {
  std::string log = d.log();
  size_t at = log.find("metrics on http://127.0.0.1:");
  if (at == std::string::npos) return "";
  int port = atoi(log.c_str() + at + strlen("metrics on http://127.0.0.1:"));
  HttpResult r = raw_http(port, "GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n", 5000, true);
  return r.head + "\r\n\r\n" + r.body;
}

TEST_F(Cache, MetricsCountCacheUseByNamespace) {
  op("one.shared", "put", "https://m.example/", {{"cache", "m"}});
  EXPECT_TRUE(hit("one.shared", "https://m.example/", {{"cache", "m"}}));
  EXPECT_FALSE(hit("one.shared", "https://m.example/none", {{"cache", "m"}}));
  std::string m = scrape(*d);
  ASSERT_NE(m.find("200 OK"), std::string::npos) << m << d->log();
  EXPECT_NE(m.find("# TYPE wfp_cache_hits_total counter"), std::string::npos) << m;
  // Counts for the trusted namespace "shared", at least this test's.
  auto value = [&](const std::string& series) {
    size_t at = m.find(series + " ");
    return at == std::string::npos ? -1 : atoll(m.c_str() + at + series.size() + 1);
  };
  EXPECT_GE(value("wfp_cache_hits_total{namespace=\"shared\"}"), 1) << m;
  EXPECT_GE(value("wfp_cache_misses_total{namespace=\"shared\"}"), 1) << m;
  EXPECT_GE(value("wfp_cache_stored_total{namespace=\"shared\"}"), 1) << m;
  EXPECT_GE(value("wfp_cache_hits_total{namespace=\"apps\"}"), 1) << m;
}

}  // namespace
}  // namespace wfp::test
