// Unit tests of the per-tenant cache store (supervisor/cache_store.cc)
// against real SQLite files in a temporary directory, driven from a real
// libevent loop with a settable clock. Runs in the unit-test binary.
#include "supervisor/cache_store.h"
#include "tests/support/temp_dir.h"

#include <event2/event.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

using namespace wfp;
namespace fs = std::filesystem;

namespace {

// In /tmp as wfp-cache-XXXXXX.
struct TempDir : wfp::test::TempDir {
  TempDir() : wfp::test::TempDir("wfp-cache") {}
};

// A second, plain connection to look at (or tamper with) a tenant's file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw std::runtime_error("open failed");
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  int64_t scalar(const std::string& sql) {
    sqlite3_stmt* st = prepare(sql);
    int64_t out = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return out;
  }
  std::string blob(const std::string& sql) {
    sqlite3_stmt* st = prepare(sql);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW)
      out.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)), sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  void set_blob(const std::string& sql, const std::string& value) {
    sqlite3_stmt* st = prepare(sql);
    sqlite3_bind_blob(st, 1, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
  }

 private:
  sqlite3_stmt* prepare(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
    return st;
  }
  sqlite3* db_ = nullptr;
};

CacheEntry entry(const std::string& body, int64_t expires_at, HeaderList headers = {},
                 int status = 200) {
  CacheEntry e;
  e.status = status;
  e.headers = std::move(headers);
  e.body = body;
  e.expires_at = expires_at;
  return e;
}

// Open file descriptors of this process whose target is under `dir` and
// ends with ".db": the handles SQLite holds.
int open_db_fds(const std::string& dir) {
  int n = 0;
  for (auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind(dir + "/", 0) == 0 && target.size() > 3 &&
        target.compare(target.size() - 3, 3, ".db") == 0)
      n++;
  }
  return n;
}

constexpr int64_t kT0 = 1'700'000'000;  // the clock at the start of every test

class CacheStoreTest : public ::testing::Test {
 protected:
  CacheStoreTest() : base_(event_base_new()) {
    options_.dir = dir_.path() + "/cache";
    options_.now = [this] { return clock_.load(); };
    // Wakes EVLOOP_ONCE now and then, so run_until() can time out.
    tick_ = event_new(
        base_, -1, EV_PERSIST, [](evutil_socket_t, short, void*) {}, nullptr);
    timeval tv{0, 50'000};
    event_add(tick_, &tv);
  }
  ~CacheStoreTest() override {
    store_.reset();
    event_free(tick_);
    event_base_free(base_);
  }

  CacheStore& store() {
    if (!store_) store_ = std::make_unique<CacheStore>(base_, options_);
    return *store_;
  }
  void reopen() {
    store_.reset();
    store();
  }
  std::string file(const std::string& tenant) const { return options_.dir + "/" + tenant + ".db"; }

  // Runs the loop until `done` holds; throws (failing the test) after 30 s.
  void run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out");
      event_base_loop(base_, EVLOOP_ONCE);
    }
  }

  bool put(const std::string& tenant, const std::string& cache, const std::string& key,
           CacheEntry e) {
    bool called = false, stored = false;
    store().put(tenant, cache, key, std::move(e), [&](bool s, std::string err) {
      EXPECT_EQ(err, "");
      called = true;
      stored = s;
    });
    run_until([&] { return called; });
    return stored;
  }
  std::optional<CacheEntry> match(const std::string& tenant, const std::string& cache,
                                  const std::string& key) {
    bool called = false;
    std::optional<CacheEntry> out;
    store().match(tenant, cache, key, [&](std::optional<CacheEntry> e, std::string err) {
      EXPECT_EQ(err, "");
      called = true;
      out = std::move(e);
    });
    run_until([&] { return called; });
    return out;
  }
  std::optional<std::string> body(const std::string& tenant, const std::string& cache,
                                  const std::string& key) {
    auto e = match(tenant, cache, key);
    if (!e) return std::nullopt;
    return e->body;
  }
  bool remove(const std::string& tenant, const std::string& cache, const std::string& key) {
    bool called = false, deleted = false;
    store().remove(tenant, cache, key, [&](bool d, std::string err) {
      EXPECT_EQ(err, "");
      called = true;
      deleted = d;
    });
    run_until([&] { return called; });
    return deleted;
  }
  int64_t purge(const std::string& tenant, const std::string& key) {
    bool called = false;
    int64_t removed = -1;
    store().purge(tenant, key, [&](int64_t r, std::string err) {
      EXPECT_EQ(err, "");
      called = true;
      removed = r;
    });
    run_until([&] { return called; });
    return removed;
  }
  CacheStats stats(const std::string& tenant) {
    bool called = false;
    CacheStats out;
    store().stats(tenant, [&](CacheStats s, std::string err) {
      EXPECT_EQ(err, "");
      called = true;
      out = s;
    });
    run_until([&] { return called; });
    return out;
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (auto& f : fs::directory_iterator(options_.dir)) out.push_back(f.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir dir_;
  event_base* base_;
  event* tick_;
  std::atomic<int64_t> clock_{kT0};
  CacheStoreOptions options_;
  std::unique_ptr<CacheStore> store_;
};

const std::string kUrl = "https://example.com/a";
constexpr int64_t kLater = kT0 + 365 * 86400;

TEST_F(CacheStoreTest, MatchReturnsWhatPutStoredWithHeadersInOrderAndABinaryBody) {
  std::string binary("\0\x01\xff\xfe body \0 end", 16);
  HeaderList headers = {{"content-type", "application/octet-stream"},
                        {"set-cookie", "b=2"},
                        {"x-a", ""},
                        {"set-cookie", "a=1"}};
  ASSERT_TRUE(put("s1", "default", kUrl, entry(binary, kLater, headers, 203)));
  auto e = match("s1", "default", kUrl);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 203);
  EXPECT_EQ(e->headers, headers);
  EXPECT_EQ(e->body, binary);
  EXPECT_EQ(e->stored_at, kT0);
  EXPECT_EQ(e->expires_at, kLater);
  EXPECT_EQ(files(), (std::vector<std::string>{"s1.db", "s1.db-shm", "s1.db-wal"}));
  EXPECT_EQ(RawDb(file("s1")).scalar("PRAGMA auto_vacuum"), 2);  // incremental: reclaim frees space
  EXPECT_EQ(fs::status(options_.dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(file("s1")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(CacheStoreTest, ALargeBodyRoundTripsAndItsWalIsCutBack) {
  std::string big(20 << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(put("s1", "c", kUrl, entry(big, kLater)));
  EXPECT_EQ(body("s1", "c", kUrl), big);
  // The big commit checkpointed the WAL; the next one starts it over, cut
  // back to journal_size_limit.
  ASSERT_TRUE(put("s1", "c", kUrl + "2", entry("small", kLater)));
  EXPECT_LE(fs::file_size(file("s1") + "-wal"), 8u << 20);
  EXPECT_EQ(stats("s1").bytes,
            static_cast<int64_t>(1 + kUrl.size() + 4 + big.size() + 1 + kUrl.size() + 1 + 4 + 5));
}

TEST_F(CacheStoreTest, CallbacksRunLaterOnTheLoopThread) {
  bool called = false;
  std::thread::id where;
  store().stats("s1", [&](CacheStats, std::string) {
    called = true;
    where = std::this_thread::get_id();
  });
  EXPECT_FALSE(called);
  store().put("bad/tenant", "c", kUrl, entry("x", kLater), [&](bool, std::string) {});
  run_until([&] { return called; });
  EXPECT_EQ(where, std::this_thread::get_id());
}

TEST_F(CacheStoreTest, ATenantsCallbacksComeInTheOrderOfItsCalls) {
  options_.max_entry_bytes = 10;
  std::vector<int> order;
  store().put("s1", "c", kUrl, entry("small", kLater), [&](bool stored, std::string) {
    EXPECT_TRUE(stored);
    order.push_back(0);
  });
  store().put("s1", "c", kUrl, entry("far too large", kLater), [&](bool stored, std::string) {
    EXPECT_FALSE(stored);
    order.push_back(1);
  });
  store().match("s1", "c", kUrl, [&](std::optional<CacheEntry> e, std::string) {
    EXPECT_TRUE(e && e->body == "small");
    order.push_back(2);
  });
  store().remove("s1", "c", kUrl, [&](bool deleted, std::string) {
    EXPECT_TRUE(deleted);
    order.push_back(3);
  });
  store().stats("s1", [&](CacheStats s, std::string) {
    EXPECT_EQ(s.entries, 0);
    order.push_back(4);
  });
  run_until([&] { return order.size() == 5; });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(CacheStoreTest, ReplacingAnEntryKeepsOneRow) {
  ASSERT_TRUE(put("s1", "c", kUrl, entry("one", kLater)));
  ASSERT_TRUE(put("s1", "c", kUrl, entry("two", kLater)));
  EXPECT_EQ(body("s1", "c", kUrl), "two");
  EXPECT_EQ(stats("s1").entries, 1);
}

TEST_F(CacheStoreTest, TenantsWithTheSameKeyAreIsolated) {
  ASSERT_TRUE(put("s1", "default", kUrl, entry("for s1", kLater)));
  ASSERT_TRUE(put("n7", "default", kUrl, entry("for n7", kLater)));
  EXPECT_EQ(body("s1", "default", kUrl), "for s1");
  EXPECT_EQ(body("n7", "default", kUrl), "for n7");
  EXPECT_FALSE(match("platform", "default", kUrl));
  EXPECT_TRUE(remove("s1", "default", kUrl));
  EXPECT_EQ(body("n7", "default", kUrl), "for n7");
}

TEST_F(CacheStoreTest, CacheNamesAreSeparate) {
  ASSERT_TRUE(put("s1", "a", kUrl, entry("in a", kLater)));
  ASSERT_TRUE(put("s1", "b", kUrl, entry("in b", kLater)));
  EXPECT_EQ(body("s1", "a", kUrl), "in a");
  EXPECT_EQ(body("s1", "b", kUrl), "in b");
  EXPECT_FALSE(match("s1", "c", kUrl));
  EXPECT_FALSE(match("s1", "", kUrl));
}

TEST_F(CacheStoreTest, OperationsOnATenantWithoutAFileCreateNone) {
  EXPECT_FALSE(match("s9", "default", kUrl));
  EXPECT_FALSE(remove("s9", "default", kUrl));
  EXPECT_EQ(purge("s9", kUrl), 0);
  EXPECT_EQ(purge("s9", ""), 0);
  CacheStats s = stats("s9");
  EXPECT_EQ(s.entries, 0);
  EXPECT_EQ(s.hits + s.misses + s.bytes, 0);
  EXPECT_TRUE(files().empty());
}

TEST_F(CacheStoreTest, RejectsTenantKeysThatCouldNameAnotherFile) {
  for (const std::string& bad : std::vector<std::string>{
           "", "../s1", "s1.db", "a/b", "s 1", std::string(65, 'a'), std::string("s\0", 2)}) {
    bool called = false;
    store().put(bad, "c", kUrl, entry("x", kLater), [&](bool stored, std::string err) {
      EXPECT_FALSE(stored);
      EXPECT_NE(err.find("invalid tenant key"), std::string::npos) << err;
      EXPECT_EQ(err.rfind("cache: ", 0), 0u) << err;
      called = true;
    });
    run_until([&] { return called; });
  }
  EXPECT_TRUE(put(std::string(64, 'a'), "c", kUrl, entry("x", kLater)));
  EXPECT_TRUE(put("A-z_9", "c", kUrl, entry("x", kLater)));
  EXPECT_EQ(files().size(), 6u);  // two tenants, three files each
}

TEST_F(CacheStoreTest, OwnersAreTheTenantsWithAFile) {
  EXPECT_TRUE(store().owners().empty());
  ASSERT_TRUE(put("s1", "c", kUrl, entry("x", kLater)));
  ASSERT_TRUE(put("n7-s42", "c", kUrl, entry("x", kLater)));
  ASSERT_TRUE(put("platform", "c", kUrl, entry("x", kLater)));
  std::ofstream(options_.dir + "/notes.txt") << "not a tenant";
  std::ofstream(options_.dir + "/bad.name.db") << "not a tenant";
  EXPECT_EQ(store().owners(), (std::vector<std::string>{"n7-s42", "platform", "s1"}));
  EXPECT_EQ(purge("s1", ""), 1);
  EXPECT_EQ(store().owners(), (std::vector<std::string>{"n7-s42", "platform"}));
}

TEST_F(CacheStoreTest, AFailureIsAnsweredAsOneLineNamingTenantAndOperation) {
  store();
  fs::create_directory(file("s1"));  // where the file should be: nothing can open it
  std::string put_error, match_error;
  store().put("s1", "c", kUrl, entry("x", kLater), [&](bool stored, std::string err) {
    EXPECT_FALSE(stored);
    put_error = err;
  });
  store().match("s1", "c", kUrl, [&](std::optional<CacheEntry> e, std::string err) {
    EXPECT_FALSE(e);
    match_error = err;
  });
  run_until([&] { return !put_error.empty() && !match_error.empty(); });
  EXPECT_EQ(put_error.rfind("cache: s1: put: ", 0), 0u) << put_error;
  EXPECT_EQ(match_error.rfind("cache: s1: match: ", 0), 0u) << match_error;
  EXPECT_EQ(put_error.find('\n'), std::string::npos);
  // Other tenants are not affected.
  EXPECT_TRUE(put("s2", "c", kUrl, entry("x", kLater)));
}

TEST_F(CacheStoreTest, AnEntryExpiresByTheClock) {
  ASSERT_TRUE(put("s1", "c", kUrl, entry("fresh", kT0 + 10)));
  clock_ = kT0 + 9;
  EXPECT_EQ(body("s1", "c", kUrl), "fresh");
  clock_ = kT0 + 10;
  EXPECT_FALSE(match("s1", "c", kUrl));
  EXPECT_EQ(stats("s1").entries, 0);  // deleted, not only hidden
  clock_ = kT0;
  EXPECT_FALSE(match("s1", "c", kUrl));
}

TEST_F(CacheStoreTest, AnAlreadyExpiredEntryIsNotStored) {
  EXPECT_FALSE(put("s1", "c", kUrl, entry("stale", kT0)));
}

TEST_F(CacheStoreTest, RemoveDeletesOneEntryAndSaysWhetherItExisted) {
  ASSERT_TRUE(put("s1", "c", kUrl, entry("x", kLater)));
  ASSERT_TRUE(put("s1", "c", kUrl + "2", entry("y", kLater)));
  EXPECT_TRUE(remove("s1", "c", kUrl));
  EXPECT_FALSE(remove("s1", "c", kUrl));
  EXPECT_FALSE(match("s1", "c", kUrl));
  EXPECT_EQ(body("s1", "c", kUrl + "2"), "y");
}

TEST_F(CacheStoreTest, PurgeOfAKeyRemovesItFromEveryCache) {
  ASSERT_TRUE(put("s1", "a", kUrl, entry("1", kLater)));
  ASSERT_TRUE(put("s1", "b", kUrl, entry("2", kLater)));
  ASSERT_TRUE(put("s1", "a", kUrl + "?other", entry("3", kLater)));
  ASSERT_TRUE(put("s2", "a", kUrl, entry("4", kLater)));
  EXPECT_EQ(purge("s1", kUrl), 2);
  EXPECT_FALSE(match("s1", "a", kUrl));
  EXPECT_FALSE(match("s1", "b", kUrl));
  EXPECT_EQ(body("s1", "a", kUrl + "?other"), "3");
  EXPECT_EQ(body("s2", "a", kUrl), "4");
}

TEST_F(CacheStoreTest, PurgeOfTheWholeTenantDeletesItsFiles) {
  ASSERT_TRUE(put("s1", "a", kUrl, entry("1", kLater)));
  ASSERT_TRUE(put("s1", "b", kUrl, entry("2", kLater)));
  ASSERT_TRUE(put("s2", "a", kUrl, entry("3", kLater)));
  EXPECT_EQ(purge("s1", ""), 2);
  for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_FALSE(fs::exists(file("s1") + suffix));
  EXPECT_FALSE(match("s1", "a", kUrl));
  EXPECT_FALSE(fs::exists(file("s1")));
  EXPECT_EQ(body("s2", "a", kUrl), "3");
  // The tenant starts over on its next put.
  ASSERT_TRUE(put("s1", "a", kUrl, entry("new", kLater)));
  EXPECT_EQ(body("s1", "a", kUrl), "new");
}

TEST_F(CacheStoreTest, ABodyOverMaxEntryBytesIsNotStored) {
  options_.max_entry_bytes = 100;
  EXPECT_TRUE(put("s1", "c", kUrl, entry(std::string(100, 'x'), kLater)));
  EXPECT_FALSE(put("s1", "c", kUrl + "2", entry(std::string(101, 'x'), kLater)));
  EXPECT_FALSE(match("s1", "c", kUrl + "2"));
  EXPECT_TRUE(match("s1", "c", kUrl));
}

TEST_F(CacheStoreTest, PastTheQuotaTheLeastRecentlyUsedEntriesGoFirst) {
  options_.tenant_quota_bytes = 3500;
  std::string kb(1000, 'x');
  // Minutes apart: a hit marks an entry used to the minute.
  ASSERT_TRUE(put("s1", "c", "a", entry(kb, kLater)));
  clock_ = kT0 + 100;
  ASSERT_TRUE(put("s1", "c", "b", entry(kb, kLater)));
  clock_ = kT0 + 200;
  ASSERT_TRUE(put("s1", "c", "c", entry(kb, kLater)));
  clock_ = kT0 + 300;
  ASSERT_TRUE(match("s1", "c", "a"));  // now more recently used than b and c
  clock_ = kT0 + 400;
  ASSERT_TRUE(put("s1", "c", "d", entry(kb, kLater)));
  EXPECT_TRUE(match("s1", "c", "a"));
  EXPECT_FALSE(match("s1", "c", "b"));
  EXPECT_TRUE(match("s1", "c", "c"));
  EXPECT_TRUE(match("s1", "c", "d"));
  CacheStats s = stats("s1");
  EXPECT_EQ(s.entries, 3);
  EXPECT_LE(s.bytes, 3500);
  // Two kilobytes at once push out the two least recently used.
  clock_ = kT0 + 500;
  ASSERT_TRUE(put("s1", "c", "e", entry(std::string(2000, 'y'), kLater)));
  EXPECT_FALSE(match("s1", "c", "c"));
  EXPECT_FALSE(match("s1", "c", "a"));
  EXPECT_TRUE(match("s1", "c", "d"));
  EXPECT_TRUE(match("s1", "c", "e"));
  // Larger than the quota alone: not stored, and nothing evicted for it.
  EXPECT_FALSE(put("s1", "c", "f", entry(std::string(3500, 'z'), kLater)));
  EXPECT_EQ(stats("s1").entries, 2);
}

TEST_F(CacheStoreTest, StatsCountHitsMissesEntriesAndBytes) {
  HeaderList headers = {{"content-type", "text/plain"}};
  ASSERT_TRUE(put("s1", "c", kUrl, entry("hello", kLater, headers)));
  ASSERT_TRUE(put("s1", "d", kUrl, entry("world!", kLater)));
  EXPECT_TRUE(match("s1", "c", kUrl));
  EXPECT_TRUE(match("s1", "c", kUrl));
  EXPECT_TRUE(match("s1", "d", kUrl));
  EXPECT_FALSE(match("s1", "c", "https://example.com/missing"));
  CacheStats s = stats("s1");
  EXPECT_EQ(s.entries, 2);
  EXPECT_EQ(s.hits, 3);
  EXPECT_EQ(s.misses, 1);
  int64_t expected = 1 + kUrl.size() + WireWriter().pairs(headers).data().size() + 5 + 1 +
                     kUrl.size() + WireWriter().pairs({}).data().size() + 6;
  EXPECT_EQ(s.bytes, expected);
  // Counts are kept in the file: they outlive the process's store.
  reopen();
  s = stats("s1");
  EXPECT_EQ(s.hits, 3);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.entries, 2);
  EXPECT_EQ(s.bytes, expected);
}

TEST_F(CacheStoreTest, AFileThatIsNoDatabaseIsReplaced) {
  store();  // makes the directory
  {
    std::ofstream f(file("s1"), std::ios::binary);
    for (int i = 0; i < 512; i++) f << "not a database ";
  }
  EXPECT_FALSE(match("s1", "c", kUrl));
  ASSERT_TRUE(put("s1", "c", kUrl, entry("ok", kLater)));
  EXPECT_EQ(body("s1", "c", kUrl), "ok");
}

TEST_F(CacheStoreTest, ADatabaseFailingQuickCheckIsReplaced) {
  for (int i = 0; i < 20; i++)
    ASSERT_TRUE(put("s1", "c", kUrl + std::to_string(i), entry(std::string(3000, 'x'), kLater)));
  store_.reset();  // checkpoints and closes the file
  ASSERT_FALSE(fs::exists(file("s1") + "-wal"));
  {
    // Every page but the first (the header and the schema) turns to noise.
    std::fstream f(file("s1"), std::ios::binary | std::ios::in | std::ios::out);
    auto size = fs::file_size(file("s1"));
    ASSERT_GT(size, 8192u);
    f.seekp(4096);
    for (auto pos = 4096u; pos < size; pos++) f.put(static_cast<char>(pos * 131 + 7));
  }
  EXPECT_FALSE(match("s1", "c", kUrl + "0"));
  EXPECT_EQ(stats("s1").entries, 0);
  ASSERT_TRUE(put("s1", "c", kUrl, entry("ok", kLater)));
  EXPECT_EQ(body("s1", "c", kUrl), "ok");
}

TEST_F(CacheStoreTest, ARowWhoseBodyChangedOnDiskAnswersAMissAndIsDeleted) {
  std::string original(5000, 'a');
  ASSERT_TRUE(put("s1", "c", kUrl, entry(original, kLater)));
  ASSERT_TRUE(put("s1", "c", kUrl + "2", entry("untouched", kLater)));
  {
    RawDb raw(file("s1"));
    std::string b = raw.blob("SELECT body FROM entries WHERE key = '" + kUrl + "'");
    ASSERT_EQ(b, original);
    b[1234] ^= 0x10;
    raw.set_blob("UPDATE entries SET body = ?1 WHERE key = '" + kUrl + "'", b);
  }
  EXPECT_FALSE(match("s1", "c", kUrl));
  EXPECT_EQ(stats("s1").entries, 1);
  EXPECT_EQ(body("s1", "c", kUrl + "2"), "untouched");
}

TEST_F(CacheStoreTest, APoolOfTwoHandlesServesFiveTenants) {
  options_.max_open_files = 2;
  options_.threads = 4;
  for (int round = 0; round < 3; round++) {
    for (int t = 0; t < 5; t++) {
      std::string tenant = "s" + std::to_string(t);
      ASSERT_TRUE(put(tenant, "c", kUrl, entry(tenant + "/" + std::to_string(round), kLater)));
      EXPECT_LE(open_db_fds(options_.dir), 2);
    }
    for (int t = 4; t >= 0; t--) {
      std::string tenant = "s" + std::to_string(t);
      EXPECT_EQ(body(tenant, "c", kUrl), tenant + "/" + std::to_string(round));
      EXPECT_LE(open_db_fds(options_.dir), 2);
    }
  }
  for (int t = 0; t < 5; t++) EXPECT_EQ(stats("s" + std::to_string(t)).hits, 3);
}

TEST_F(CacheStoreTest, ManyConcurrentOperationsFromTheLoopAllComplete) {
  options_.threads = 3;
  constexpr int kTenants = 10, kKeys = 40;
  auto tenant = [](int t) { return "s" + std::to_string(t); };
  auto key = [](int k) { return kUrl + "/" + std::to_string(k); };
  auto payload = [](int t, int k) {
    return std::string(100 + k * 7, char('a' + t)) + "/" + std::to_string(k);
  };
  int answers = 0, stored = 0;
  for (int k = 0; k < kKeys; k++)
    for (int t = 0; t < kTenants; t++)
      store().put(tenant(t), "c", key(k), entry(payload(t, k), kLater),
                  [&](bool s, std::string err) {
                    EXPECT_EQ(err, "");
                    stored += s;
                    answers++;
                  });
  run_until([&] { return answers == kTenants * kKeys; });
  EXPECT_EQ(stored, kTenants * kKeys);
  answers = 0;
  int right = 0, removed = 0;
  for (int k = 0; k < kKeys; k++)
    for (int t = 0; t < kTenants; t++) {
      store().match(tenant(t), "c", key(k),
                    [&, t, k](std::optional<CacheEntry> e, std::string err) {
                      EXPECT_EQ(err, "");
                      right += e && e->body == payload(t, k);
                      answers++;
                    });
      if (k % 2)
        store().remove(tenant(t), "c", key(k), [&](bool d, std::string) {
          removed += d;
          answers++;
        });
    }
  run_until([&] { return answers == kTenants * kKeys * 3 / 2; });
  EXPECT_EQ(right, kTenants * kKeys);  // each tenant's operations keep their order
  EXPECT_EQ(removed, kTenants * kKeys / 2);
  for (int t = 0; t < kTenants; t++) EXPECT_EQ(stats(tenant(t)).entries, kKeys / 2);
}

TEST_F(CacheStoreTest, DestroyingTheStoreWithOperationsQueuedDropsTheirCallbacks) {
  int called = 0;
  for (int i = 0; i < 200; i++)
    store().put("s" + std::to_string(i % 7), "c", kUrl + std::to_string(i),
                entry(std::string(64 << 10, 'x'), kLater), [&](bool, std::string) { called++; });
  store_.reset();
  for (int i = 0; i < 5; i++) event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(called, 0);
  // Whatever was written is readable: the files are intact.
  for (int t = 0; t < 7; t++) {
    std::string tenant = "s" + std::to_string(t);
    CacheStats s = stats(tenant);
    if (fs::exists(file(tenant))) {
      EXPECT_EQ(RawDb(file(tenant)).scalar("SELECT count(*) FROM entries"), s.entries);
    }
  }
}

TEST_F(CacheStoreTest, DestroyingTheStoreInsideACallbackIsSafe) {
  int called = 0;
  for (int i = 0; i < 20; i++)
    store().stats("s1", [&](CacheStats, std::string) {
      called++;
      store_.reset();
    });
  run_until([&] { return called > 0; });
  for (int i = 0; i < 5; i++) event_base_loop(base_, EVLOOP_NONBLOCK);
  EXPECT_EQ(called, 1);
}

TEST_F(CacheStoreTest, ReclaimDeletesExpiredEntriesOfEveryTenantFileOpenOrNot) {
  options_.max_open_files = 2;
  constexpr int kTenants = 20;  // more than one call's share of files
  for (int t = 0; t < kTenants; t++) {
    std::string tenant = "s" + std::to_string(t);
    ASSERT_TRUE(put(tenant, "c", "short", entry("x", kT0 + 10)));
    ASSERT_TRUE(put(tenant, "c", "long", entry("y", kLater)));
  }
  reopen();  // no file open at all
  clock_ = kT0 + 10;
  auto all_reclaimed = [&] {
    for (int t = 0; t < kTenants; t++)
      if (stats("s" + std::to_string(t)).entries != 1) return false;
    return true;
  };
  // Each call visits some files in the background; poll until all are done.
  do {
    store().reclaim_expired();
    bool answered = false;
    store().stats("s0", [&](CacheStats, std::string) { answered = true; });
    run_until([&] { return answered; });
  } while (!all_reclaimed());
  for (int t = 0; t < kTenants; t++) EXPECT_EQ(body("s" + std::to_string(t), "c", "long"), "y");
  EXPECT_LE(open_db_fds(options_.dir), 2);
}

// Figures, not assertions: build/unit_tests --gtest_also_run_disabled_tests
// --gtest_filter='*TimesWarmHits'. Each op is the whole trip: queue, worker,
// SQLite, eventfd, callback on the loop.
TEST_F(CacheStoreTest, DISABLED_TimesWarmHits) {
  using Clock = std::chrono::steady_clock;
  auto us_each = [](Clock::time_point from, int n) {
    return std::chrono::duration<double, std::micro>(Clock::now() - from).count() / n;
  };
  constexpr int kTenants = 8, kRounds = 20000;
  auto tenant = [](int i) { return "s" + std::to_string(i % kTenants); };
  for (int t = 0; t < kTenants; t++)
    ASSERT_TRUE(put(tenant(t), "c", kUrl, entry(std::string(2048, 'x'), kLater)));
  for (int t = 0; t < kTenants; t++) ASSERT_TRUE(match(tenant(t), "c", kUrl));

  auto t0 = Clock::now();
  for (int i = 0; i < kRounds; i++) ASSERT_TRUE(match("s1", "c", kUrl));
  printf("warm hit (2 KiB), one at a time: %.1f us\n", us_each(t0, kRounds));

  int answers = 0;
  t0 = Clock::now();
  for (int i = 0; i < kRounds; i++)
    store().match("s1", "c", kUrl, [&](std::optional<CacheEntry>, std::string) { answers++; });
  run_until([&] { return answers == kRounds; });
  printf("warm hits pipelined on one tenant: %.1f us each\n", us_each(t0, kRounds));

  answers = 0;
  t0 = Clock::now();
  for (int i = 0; i < kRounds; i++)
    store().match(tenant(i), "c", kUrl, [&](std::optional<CacheEntry>, std::string) { answers++; });
  run_until([&] { return answers == kRounds; });
  printf("warm hits pipelined over %d tenants: %.1f us each\n", kTenants, us_each(t0, kRounds));

  t0 = Clock::now();
  for (int i = 0; i < 2000; i++) {
    clock_ = kT0 + 60 * (i + 1);  // a new minute each time: every hit writes last_used
    ASSERT_TRUE(match("s1", "c", kUrl));
  }
  printf("warm hit that writes last_used: %.1f us\n", us_each(t0, 2000));

  t0 = Clock::now();
  for (int i = 0; i < 2000; i++)
    ASSERT_TRUE(
        put("s1", "c", kUrl + std::to_string(i % 100), entry(std::string(2048, 'x'), kLater)));
  printf("put (2 KiB), one at a time: %.1f us\n", us_each(t0, 2000));

  answers = 0;
  t0 = Clock::now();
  for (int i = 0; i < 2000; i++)
    store().put(tenant(i), "c", kUrl + std::to_string(i % 100),
                entry(std::string(2048, 'x'), kLater), [&](bool, std::string) { answers++; });
  run_until([&] { return answers == 2000; });
  printf("puts (2 KiB) pipelined over %d tenants: %.1f us each\n", kTenants, us_each(t0, 2000));
}

}  // namespace
