// Durability of the script store (supervisor/store.cc) under power loss,
// I/O faults, running out of memory and a tampered file at start-up: the
// Store's own code on real SQLite files, through the crash VFS of
// tests/support/crash_vfs.h (the test6.c model: each unsynced write kept,
// dropped or garbled). Unit-test binary; trusts SQLite's recovery, which
// is what is under test with it.
#include <grp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "ipc/log.h"
#include "supervisor/store.h"
#include "tests/support/crash_vfs.h"
#include "tests/support/temp_dir.h"

using namespace wfp;
using wfp::test::CrashVfs;

namespace {

// In /tmp as wfp-durable-XXXXXX.
struct TempDir : wfp::test::TempDir {
  TempDir() : wfp::test::TempDir("wfp-durable") {}
};

// The store logs every failed commit; the failures here are the ones the
// tests cause, hundreds of them: kept out of the test output.
class QuietLog {
 public:
  QuietLog() { log_set_sink([](LogLevel, const char*, size_t) {}); }
  ~QuietLog() { log_set_sink(nullptr); }
};

// PRAGMA integrity_check on a connection of its own (the ordinary VFS):
// "ok", or the problems it lists.
std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    out = std::string("cannot open: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) != SQLITE_OK) {
    out = sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      out += (out.empty() ? "" : "; ") + std::string((const char*)sqlite3_column_text(st, 0));
    if (rc != SQLITE_DONE) out += std::string(" (step: ") + sqlite3_errmsg(db) + ")";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// The Store keeps its connection to itself; to tune it for a test (see
// open_tuned) we take the handle as SQLite opens it, through an automatic
// extension, which SQLite calls for every new connection.
sqlite3* g_last_connection = nullptr;
int remember_connection(sqlite3* db, const char**, const sqlite3_api_routines*) {
  g_last_connection = db;
  return SQLITE_OK;
}

// Opens a Store and then sets `pragmas` on its connection. A small
// wal_autocheckpoint makes checkpoints (and WAL restarts) happen every few
// deploys instead of every 1000 pages, so crash points land inside them
// too; synchronous=NORMAL is the setting wfpd must not use.
std::unique_ptr<Store> open_tuned(const std::string& path, const std::string& pragmas) {
  g_last_connection = nullptr;
  sqlite3_auto_extension(reinterpret_cast<void (*)()>(remember_connection));
  std::unique_ptr<Store> store;
  try {
    store = std::make_unique<Store>(path);
  } catch (...) {
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(remember_connection));
    throw;
  }
  sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(remember_connection));
  if (!g_last_connection) throw std::runtime_error("the store's connection was not seen");
  // May fail once crashed; the caller finds out from its deploys.
  sqlite3_exec(g_last_connection, pragmas.c_str(), nullptr, nullptr, nullptr);
  return store;
}

// --- deploys and what a recovered store may hold ------------------------------

// One deploy the test made: what it sent, its etag when the store gave one,
// and whether the store acknowledged it.
struct Deploy {
  Script sent;
  std::string etag;
  bool acked = false;
};

std::string random_text(std::mt19937_64& rng, size_t n) {
  std::string s(n, ' ');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

// Every version of a script differs in every part the store keeps apart
// (source, bytecode, tags, bindings), so a version made of two deploys'
// rows shows. Some are large enough to need overflow pages.
Script make_version(const std::string& name, int seq, std::mt19937_64& rng) {
  Script s;
  s.name = name;
  s.code.format = "service-worker";
  s.code.build_id = "test-build";
  size_t pad = rng() % 4 == 0 ? 3000 + rng() % 20000 : rng() % 400;
  s.code.source = "// deploy " + std::to_string(seq) +
                  "\naddEventListener('fetch', e => e.respondWith(new Response('" + name + " v" +
                  std::to_string(seq) + "')));\n/* " + random_text(rng, pad) + " */\n";
  s.code.bytecode.resize(64 + rng() % 2000);
  for (char& c : s.code.bytecode) c = static_cast<char>(rng());
  s.tags = {"v" + std::to_string(seq), "t" + std::to_string(seq % 3)};
  std::sort(s.tags.begin(), s.tags.end());
  Binding version, key;
  version.type = "plain_text";
  version.name = "VERSION";
  version.text = std::to_string(seq);
  key.type = "secret_text";
  key.name = "KEY";
  key.text = random_text(rng, 20 + rng() % 200);
  s.bindings = {version, key};
  return s;
}

bool same_version(const Script& got, const Deploy& d) {
  const Script& want = d.sent;
  if (got.code.source != want.code.source || got.code.bytecode != want.code.bytecode ||
      got.code.format != want.code.format || got.code.build_id != want.code.build_id ||
      got.tags != want.tags || got.bindings.size() != want.bindings.size())
    return false;
  if (!d.etag.empty() && got.etag != d.etag) return false;
  for (size_t i = 0; i < got.bindings.size(); i++)
    if (got.bindings[i].type != want.bindings[i].type ||
        got.bindings[i].name != want.bindings[i].name ||
        got.bindings[i].text != want.bindings[i].text)
      return false;
  return true;
}

// What one recovered store showed.
struct Verdict {
  int acked_current = 0;  // names whose last acknowledged deploy was checked
  int lost = 0;           // ... and found replaced by an older version, or gone
  int torn = 0;           // a script that is no deploy at all (rows of two versions)
  std::string report;     // what was lost or torn, for the failure message
};

// Per name, the store may hold its last acknowledged version (nothing, if
// none was) or any later unacknowledged one, whole; anything else is lost
// or torn.
Verdict check_recovered(Store& store, int64_t ns_id,
                        const std::map<std::string, std::vector<Deploy>>& history) {
  Verdict v;
  for (const auto& [name, versions] : history) {
    int last_acked = -1;
    for (int i = 0; i < (int)versions.size(); i++)
      if (versions[i].acked) last_acked = i;
    if (last_acked >= 0) v.acked_current++;
    std::optional<Script> got = store.get_script(ns_id, name);
    bool fine = false, older = false;
    if (!got) {
      fine = last_acked < 0;
      older = !fine;
    } else {
      for (int i = 0; i < (int)versions.size(); i++) {
        if (!same_version(*got, versions[i])) continue;
        if (i >= last_acked && (i == last_acked || !versions[i].acked)) fine = true;
        else older = true;
      }
    }
    if (fine) continue;
    if (older) {
      v.lost++;
      v.report += " " + name + ": acknowledged deploy #" + std::to_string(last_acked) + " lost;";
    } else {
      v.torn++;
      v.report += " " + name + ": holds no deploy whole (source starts \"" +
                  got->code.source.substr(0, 20) + "\");";
    }
  }
  return v;
}

// --- crash points -------------------------------------------------------------

constexpr int kNames = 8;     // script names the deploys spread over
constexpr int kRounds = 14;   // put_script calls and write groups per run

struct CrashTotals {
  int runs = 0, acked = 0, acked_current = 0, lost = 0, torn = 0, not_ok = 0;
  int kept = 0, dropped = 0, garbled = 0;
  int in_wal = 0, in_main_file = 0;  // crashes before a write or sync of the -wal / the database
  std::string failures;
};

// The store every run starts from: a namespace and the first versions of
// half the names, made (and checkpointed into the main file) without the
// crash VFS.
std::map<std::string, std::vector<Deploy>> make_base(const std::string& path) {
  std::map<std::string, std::vector<Deploy>> history;
  std::mt19937_64 rng(1);
  Store store(path);
  if (!store.create_namespace("prod", false).ok()) throw std::runtime_error("create namespace");
  for (int i = 0; i < kNames / 2; i++) {
    std::string name = "s" + std::to_string(i);
    Deploy d;
    d.sent = make_version(name, 1000 + i, rng);
    Script s = d.sent;
    if (!store.put_script("prod", s).ok()) throw std::runtime_error("base deploy");
    d.etag = s.etag;
    d.acked = true;
    history[name].push_back(d);
  }
  return history;
}

// One run: deploys through the crash VFS, a crash at operation `crash_at`
// (or after the last deploy if the run is shorter), then the reopen with
// the ordinary VFS and the check.
void crash_run(const std::string& base, const std::string& dir, uint64_t seed, int crash_at,
               const std::map<std::string, std::vector<Deploy>>& base_history,
               const std::string& pragmas, CrashTotals& totals, int* operations = nullptr) {
  std::string path = dir + "/store-" + std::to_string(seed) + ".db";
  std::filesystem::copy_file(base, path);
  auto history = base_history;
  std::mt19937_64 rng(seed);
  int seq = 0;
  {
    CrashVfs vfs;
    if (crash_at > 0) vfs.crash_before_operation(crash_at, seed);
    std::unique_ptr<Store> store;
    try {
      store = open_tuned(path, pragmas);
    } catch (const StoreError&) {
      // The crash came while opening: nothing acknowledged.
    }
    for (int round = 0; store && round < kRounds && !vfs.crashed(); round++) {
      int writes = rng() % 2 ? 1 : 2 + rng() % 3;
      std::vector<std::pair<std::string, size_t>> made;  // name, index in history
      for (int w = 0; w < writes; w++) {
        std::string name = "s" + std::to_string(rng() % kNames);
        history[name].emplace_back().sent = make_version(name, seq++, rng);
        made.emplace_back(name, history[name].size() - 1);
      }
      if (writes == 1) {
        Deploy& d = history[made[0].first][made[0].second];
        Script s = d.sent;
        d.acked = store->put_script("prod", s).ok();
        if (d.acked) d.etag = s.etag;
        continue;
      }
      std::vector<Script> scripts;
      for (auto& [name, i] : made) scripts.push_back(history[name][i].sent);
      std::vector<std::function<void()>> group;
      for (Script& s : scripts)
        group.push_back([&store, &s] {
          StoreResult r = store->put_script("prod", s);
          if (!r.ok()) throw std::runtime_error(r.message);
        });
      std::vector<std::exception_ptr> out = store->write_group(group);
      for (size_t w = 0; w < made.size(); w++) {
        Deploy& d = history[made[w].first][made[w].second];
        d.etag = scripts[w].etag;  // set by put_script even if the commit then failed
        d.acked = !out[w];
      }
    }
    if (operations) *operations = vfs.operations();
    if (vfs.crashed()) {
      std::string op = vfs.last_operation();
      (op.size() > 4 && op.compare(op.size() - 4, 4, "-wal") == 0 ? totals.in_wal
                                                                  : totals.in_main_file)++;
    } else {
      vfs.simulated_crash(seed);  // after the last deploy
    }
    CrashVfs::CrashStats stats = vfs.last_crash();
    totals.kept += stats.kept;
    totals.dropped += stats.dropped;
    totals.garbled += stats.garbled;
    store.reset();  // closes the dead handles: the machine is off
  }
  // The reboot: the ordinary VFS, SQLite's recovery, the Store's checks.
  totals.runs++;
  for (auto& [name, versions] : history)
    for (const Deploy& d : versions) totals.acked += d.acked;
  std::string where = " (seed " + std::to_string(seed) + ", crash before operation " +
                      std::to_string(crash_at) + ")";
  try {
    Store store(path);
    std::optional<Namespace> ns = store.get_namespace("prod");
    if (!ns) throw StoreError("namespace prod is gone");
    Verdict v = check_recovered(store, ns->id, history);
    totals.acked_current += v.acked_current;
    totals.lost += v.lost;
    totals.torn += v.torn;
    if (v.lost || v.torn) totals.failures += where + ":" + v.report + "\n";
  } catch (const StoreError& e) {
    totals.not_ok++;
    totals.failures += where + ": the store does not open: " + e.what() + "\n";
  }
  std::string check = integrity_check(path);
  if (check != "ok") {
    totals.not_ok++;
    totals.failures += where + ": integrity_check: " + check + "\n";
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
}

// Runs `runs` crash points spread over every operation a run makes.
CrashTotals crash_runs(int runs, uint64_t first_seed, const std::string& pragmas) {
  QuietLog quiet;
  TempDir dir;
  std::string base = dir.file("base.db");
  auto history = make_base(base);
  CrashTotals totals;
  // A run without a crash point counts the operations a run makes.
  int operations = 0;
  crash_run(base, dir.file(""), first_seed, 0, history, pragmas, totals, &operations);
  std::mt19937_64 rng(first_seed);
  for (int i = 1; i < runs; i++)
    crash_run(base, dir.file(""), first_seed + i, 1 + rng() % std::max(operations, 1), history,
              pragmas, totals);
  return totals;
}

// 120 crash points take a few seconds; WFP_LONG_TESTS=1 (make check-all)
// runs 2000.
TEST(StoreDurability, EveryAcknowledgedDeploySurvivesAPowerLossAtAnyOfAHundredCrashPoints) {
  int runs = getenv("WFP_LONG_TESTS") ? 2000 : 120;
  CrashTotals t = crash_runs(runs, 9001, "PRAGMA wal_autocheckpoint = 8");
  printf("[ durability ] synchronous=FULL: %d crash points (%d at a WAL write or sync, %d at one "
         "of the database file: a checkpoint), %d deploys acknowledged, %d of them current and "
         "checked byte for byte, %d lost, %d torn; unsynced writes kept %d, dropped %d, garbled "
         "%d\n",
         t.runs, t.in_wal, t.in_main_file, t.acked, t.acked_current, t.lost, t.torn, t.kept,
         t.dropped, t.garbled);
  EXPECT_GE(t.runs, 100);
  EXPECT_GT(t.acked_current, 100) << "too few deploys were acknowledged to prove anything";
  EXPECT_GT(t.dropped + t.garbled, 50) << "the crashes found nothing unsynced to lose";
  EXPECT_GT(t.in_main_file, 0) << "no crash point fell inside a checkpoint";
  EXPECT_EQ(t.lost, 0) << t.failures;
  EXPECT_EQ(t.torn, 0) << t.failures;
  EXPECT_EQ(t.not_ok, 0) << t.failures;
}

// The same runs with synchronous=NORMAL: a commit no longer waits for the
// WAL to reach the disk, so acknowledged deploys go with a power loss
// (the store itself stays consistent). This is why wfpd uses FULL.
TEST(StoreDurability, WithSynchronousNormalAPowerLossLosesAcknowledgedDeploys) {
  CrashTotals t =
      crash_runs(30, 7001, "PRAGMA wal_autocheckpoint = 8; PRAGMA synchronous = NORMAL");
  printf("[ durability ] synchronous=NORMAL: %d crash points, %d deploys acknowledged, %d lost, "
         "%d torn\n",
         t.runs, t.acked, t.lost, t.torn);
  EXPECT_GT(t.lost, 0) << "NORMAL lost nothing: is the crash model still dropping writes?";
  EXPECT_EQ(t.torn, 0) << t.failures;
}

}  // namespace

// --- I/O errors and a full disk -------------------------------------------------

struct Fault {
  const char* what;
  CrashVfs::Op op;
  int nth;
  int code;
  bool persistent;
  const char* message;  // what the deploy's error must say
};

const Fault kFaults[] = {
    {"the 1st write fails once (EIO)", CrashVfs::Op::write, 1, SQLITE_IOERR_WRITE, false,
     "disk I/O error"},
    {"the 3rd write fails once (EIO)", CrashVfs::Op::write, 3, SQLITE_IOERR_WRITE, false,
     "disk I/O error"},
    {"every write fails (EIO)", CrashVfs::Op::write, 1, SQLITE_IOERR_WRITE, true,
     "disk I/O error"},
    {"the 2nd write finds the disk full once", CrashVfs::Op::write, 2, SQLITE_FULL, false,
     "database or disk is full"},
    {"the disk is full", CrashVfs::Op::write, 1, SQLITE_FULL, true, "database or disk is full"},
    {"the fsync fails once", CrashVfs::Op::sync, 1, SQLITE_IOERR_FSYNC, false, "disk I/O error"},
    {"every fsync fails", CrashVfs::Op::sync, 1, SQLITE_IOERR_FSYNC, true, "disk I/O error"},
    {"the fsync finds the disk full", CrashVfs::Op::sync, 1, SQLITE_FULL, false,
     "database or disk is full"},
};

std::string error_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
  return "?";
}

// One deploy of `s` (and, in a group, of two more scripts with it): the
// error text, or "" when it was acknowledged.
std::string deploy(Store& store, Script s, bool grouped, Script* out = nullptr) {
  if (!grouped) {
    StoreResult r = store.put_script("prod", s);
    if (out) *out = s;
    if (r.ok()) return "";
    EXPECT_EQ(r.status, StoreStatus::io_error) << r.message;
    return r.message;
  }
  // Two more scripts, new with each version (the VERSION binding's text).
  std::vector<Script> scripts = {s, s, s};
  scripts[1].name = "neighbour-" + s.bindings[0].text + "-a";
  scripts[2].name = "neighbour-" + s.bindings[0].text + "-b";
  std::vector<std::function<void()>> group;
  for (Script& x : scripts)
    group.push_back([&store, &x] {
      StoreResult r = store.put_script("prod", x);
      if (!r.ok()) throw std::runtime_error(r.message);
    });
  std::vector<std::exception_ptr> outcomes = store.write_group(group);
  if (out) *out = scripts[0];
  // A commit is all or nothing: the group shares one fate.
  EXPECT_EQ(!outcomes[0], !outcomes[1]);
  EXPECT_EQ(!outcomes[0], !outcomes[2]);
  return outcomes[0] ? error_of(outcomes[0]) : "";
}

void expect_version(Store& store, const Script& want, const std::string& context) {
  std::optional<Namespace> ns = store.get_namespace("prod");
  ASSERT_TRUE(ns) << context;
  std::optional<Script> got = store.get_script(ns->id, want.name);
  ASSERT_TRUE(got) << context;
  EXPECT_EQ(got->code.source, want.code.source) << context;
  EXPECT_EQ(got->code.bytecode, want.code.bytecode) << context;
  if (!want.etag.empty()) {  // "": the deploy was refused, so no etag was given
    EXPECT_EQ(got->etag, want.etag) << context;
  }
  EXPECT_EQ(got->tags, want.tags) << context;
}

// For each fault, alone and in a group commit: the deploy fails with the
// store's error, the previous version keeps serving, the next deploy once
// the fault is gone succeeds, and after a restart (the fault still there
// while the store closes) the store is consistent with no half deploy.
TEST(StoreIoFaults, AFailedWriteOrSyncFailsTheDeployAndThePreviousVersionStays) {
  QuietLog quiet;
  std::mt19937_64 rng(42);
  for (const Fault& f : kFaults) {
    for (bool grouped : {false, true}) {
      std::string context = std::string(f.what) + (grouped ? ", in a group commit" : "");
      SCOPED_TRACE(context);
      TempDir dir;
      std::string path = dir.file("store.db");
      Script v1, v3, v4;
      std::string v4_error;
      {
        CrashVfs vfs;
        Store store(path);
        ASSERT_TRUE(store.create_namespace("prod", false).ok());
        ASSERT_EQ(deploy(store, make_version("app", 1, rng), grouped, &v1), "");

        vfs.fail_nth(f.op, f.nth, f.code, f.persistent);
        std::string error = deploy(store, make_version("app", 2, rng), grouped);
        EXPECT_GT(vfs.faults_injected(), 0);
        EXPECT_NE(error.find(f.message), std::string::npos) << error;
        EXPECT_EQ(error.find("store: "), 0u) << error;
        expect_version(store, v1, context + ": the previous version serves");
        std::optional<Namespace> ns = store.get_namespace("prod");
        ASSERT_TRUE(ns);
        EXPECT_FALSE(store.get_script(ns->id, "neighbour-2-a")) << "a failed group left a write";
        if (f.persistent) {
          EXPECT_NE(deploy(store, make_version("app", 22, rng), grouped), "")
              << "a deploy succeeded while every "
              << (f.op == CrashVfs::Op::write ? "write" : "fsync") << " failed";
        }

        vfs.clear_faults();
        ASSERT_EQ(deploy(store, make_version("app", 3, rng), grouped, &v3), "")
            << "the store did not recover from the fault";
        expect_version(store, v3, context + ": the next deploy serves");

        // The fault again, and the store closes with it still there (its
        // closing checkpoint fails too): what a restart finds.
        vfs.fail_nth(f.op, f.nth, f.code, f.persistent);
        v4_error = deploy(store, make_version("app", 4, rng), grouped, &v4);
        EXPECT_NE(v4_error, "");
        expect_version(store, v3, context + ": the previous version serves");
      }
      EXPECT_EQ(integrity_check(path), "ok");
      Store store(path);
      std::optional<Namespace> ns = store.get_namespace("prod");
      ASSERT_TRUE(ns);
      std::optional<Script> got = store.get_script(ns->id, "app");
      ASSERT_TRUE(got);
      if (f.op == CrashVfs::Op::sync && f.persistent && got->code.source == v4.code.source) {
        // The failed fsync came after SQLite wrote the whole commit to the
        // WAL: a restart's recovery finds it there, valid, and keeps it.
        // Not acknowledged, so allowed, but only whole.
        expect_version(store, v4, context + ": the unacknowledged deploy came back whole");
        printf("[ durability ] %s: after a restart the failed deploy is there, whole\n",
               context.c_str());
      } else {
        expect_version(store, v3, context + ": after a restart");
      }
      ASSERT_EQ(deploy(store, make_version("app", 5, rng), grouped), "");
    }
  }
}

// --- a tampered store at start-up ---------------------------------------------
// (StoreOpen in store_test.cc covers a file that is not a database, one
// with a newer schema, 64 bytes scribbled over a page and a path that
// cannot be created.)

constexpr int kPage = 4096;  // SQLite's default, which the store keeps

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A closed store of a few hundred pages: 200 scripts, some with overflow pages.
void make_big_store(const std::string& path) {
  std::mt19937_64 rng(5);
  Store store(path);
  ASSERT_TRUE(store.create_namespace("prod", false).ok());
  for (int i = 0; i < 200; i++) {
    Script s = make_version("s" + std::to_string(i), i, rng);
    ASSERT_TRUE(store.put_script("prod", s).ok());
  }
}  // closing checkpoints the WAL into the main file

// The Store refuses `path`: the message names the file and `problem`.
void expect_refused(const std::string& path, const std::string& problem,
                    const std::string& context) {
  try {
    Store store(path);
    ADD_FAILURE() << context << ": the store opened";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << context << ": " << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << context << ": " << msg;
  }
}

TEST(StoreTamper, OneFlippedBitInAnyPageHeaderIsRefusedAtStartUp) {
  QuietLog quiet;
  TempDir dir;
  std::string path = dir.file("store.db");
  make_big_store(path);
  const std::string original = read_all(path);
  int pages = static_cast<int>(original.size() / kPage);
  ASSERT_GT(pages, 50);
  int tried = 0;
  // One bit of the first byte of a page: the b-tree page type, or the high
  // byte of an overflow page's next-page number.
  for (int page = 2; page <= pages; page += 3) {
    std::string bytes = original;
    bytes[static_cast<size_t>(page - 1) * kPage] ^= 1;
    write_all(path, bytes);
    expect_refused(path, "quick_check", "page " + std::to_string(page));
    tried++;
  }
  printf("[ durability ] a flipped bit in %d of %d pages: each refused at start-up\n", tried,
         pages);
}

TEST(StoreTamper, ATruncatedStoreIsRefusedAtStartUp) {
  QuietLog quiet;
  TempDir dir;
  std::string path = dir.file("store.db");
  make_big_store(path);
  const std::string original = read_all(path);
  size_t half_pages = original.size() / kPage / 2 * kPage;
  // Half the pages, a page cut in the middle, the last page missing.
  for (size_t size : {half_pages, half_pages + 1000, original.size() - kPage}) {
    write_all(path, original.substr(0, size));
    try {
      Store store(path);
      ADD_FAILURE() << "a store cut to " << size << " of " << original.size()
                    << " bytes was opened";
    } catch (const StoreError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
    }
  }
}

// A crashed run leaves its last deploys in the -wal only. SQLite's rule
// for a WAL is to replay its frames up to the last whole, checksummed
// commit and ignore the rest (a torn write after a power loss looks the
// same as garbage), so the store either refuses or comes back at an
// earlier commit; what it must never do is serve a script that is not
// one of the deployed versions, whole.
TEST(StoreTamper, GarbageInTheWalOfACrashedRunNeverServesAScriptThatWasNotDeployed) {
  QuietLog quiet;
  std::mt19937_64 rng(77);
  for (const char* where : {"over the header", "over the middle frames", "over the last frames"}) {
    SCOPED_TRACE(where);
    TempDir dir;
    std::string path = dir.file("store.db");
    std::map<std::string, std::vector<Deploy>> history;
    {
      CrashVfs vfs;
      auto store = std::make_unique<Store>(path);
      ASSERT_TRUE(store->create_namespace("prod", false).ok());
      for (int i = 0; i < 30; i++) {
        std::string name = "s" + std::to_string(i % 6);
        Deploy& d = history[name].emplace_back();
        d.sent = make_version(name, i, rng);
        Script s = d.sent;
        ASSERT_TRUE(store->put_script("prod", s).ok());
        d.etag = s.etag;
        d.acked = true;
      }
      vfs.simulated_crash(1);  // everything was synced: nothing is lost
      store.reset();
    }
    std::string wal = read_all(path + "-wal");
    ASSERT_GT(wal.size(), 10u * kPage) << "the crashed run left no WAL";
    size_t at = std::string(where) == "over the header" ? 0
                : std::string(where) == "over the middle frames" ? wal.size() / 2
                                                                 : wal.size() - 3 * kPage;
    for (size_t i = at; i < std::min(wal.size(), at + 3 * kPage); i++)
      wal[i] = static_cast<char>(rng());
    write_all(path + "-wal", wal);

    try {
      Store store(path);
      std::optional<Namespace> ns = store.get_namespace("prod");
      if (!ns) {
        // Even the namespace's commit was in the WAL: SQLite ignored all of
        // it (a WAL whose header does not check out holds nothing).
        printf("[ durability ] garbage %s of a crashed run's WAL: SQLite ignored the whole WAL, "
               "the store opened as it was before it\n", where);
        EXPECT_EQ(integrity_check(path), "ok");
        continue;
      }
      // Every script is one of its versions, whole (older ones allowed).
      for (auto& [name, versions] : history) {
        std::optional<Script> got = store.get_script(ns->id, name);
        if (!got) continue;
        bool whole = false;
        for (const Deploy& d : versions) whole = whole || same_version(*got, d);
        EXPECT_TRUE(whole) << name << " is no deployed version";
      }
      printf("[ durability ] garbage %s of a crashed run's WAL: recovered to an earlier "
             "commit, every script whole\n", where);
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      printf("[ durability ] garbage %s of a crashed run's WAL: refused: %s\n", where, e.what());
    }
    EXPECT_EQ(integrity_check(path), "ok");
  }
}

// Runs `body` as an unprivileged user (nobody) in a child process when the
// test runs as root, where permissions do not apply; its output comes back.
std::string as_nobody(const std::function<std::string()>& body) {
  if (getuid() != 0) return body();
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
      out = "cannot become nobody";
    else
      out = body();
    ssize_t n = write(fds[1], out.data(), out.size());
    _exit(n == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return out;
}

std::string open_error(const std::string& path) {
  try {
    Store store(path);
    return "opened";
  } catch (const StoreError& e) {
    return e.what();
  }
}

TEST(StoreTamper, AStoreTheDaemonCannotReadIsRefusedWithItsPath) {
  QuietLog quiet;
  TempDir dir;
  std::filesystem::permissions(dir.file(""), std::filesystem::perms(0755));
  std::string path = dir.file("store.db");
  {
    Store store(path);
    ASSERT_TRUE(store.create_namespace("prod", false).ok());
  }
  chmod(path.c_str(), 0);
  std::string msg = as_nobody([&] { return open_error(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("unable to open"), std::string::npos) << msg;

  // A directory where the file should be.
  std::string in_its_place = dir.file("dir.db");
  std::filesystem::create_directory(in_its_place);
  msg = open_error(in_its_place);
  EXPECT_NE(msg.find(in_its_place), std::string::npos) << msg;
  EXPECT_NE(msg.find("unable to open"), std::string::npos) << msg;
}

// --- out of memory --------------------------------------------------------------

// SQLite's hard heap limit makes its allocations fail once it holds more
// than the limit: set a little above what it holds now, the allocation
// that crosses it fails, wherever in a deploy that is. Swept over many
// limits, that is "the Nth allocation fails" for many N.
TEST(StoreOutOfMemory, AnAllocationFailingAnywhereInADeployFailsItWholeAndTheStoreGoesOn) {
  QuietLog quiet;
  std::mt19937_64 rng(3);
  int failed = 0, succeeded = 0;
  constexpr int kSteps = 40;
  // How much more memory a deploy takes at its peak: the sweep's range.
  int64_t needed[2] = {0, 0};
  for (bool grouped : {false, true}) {
    TempDir dir;
    Store store(dir.file("store.db"));
    ASSERT_TRUE(store.create_namespace("prod", false).ok());
    ASSERT_EQ(deploy(store, make_version("app", 1, rng), grouped), "");
    int64_t before = sqlite3_memory_used();
    sqlite3_memory_highwater(1);
    ASSERT_EQ(deploy(store, make_version("app", 2, rng), grouped), "");
    needed[grouped] = sqlite3_memory_highwater(0) - before;
  }
  for (int step = 0; step < kSteps; step++) {
    bool grouped = step % 2;
    int64_t headroom = needed[grouped] * (step / 2) / (kSteps / 2 - 2);  // the last two: enough
    std::string context = "headroom " + std::to_string(headroom) +
                          (grouped ? " bytes, in a group commit" : " bytes");
    SCOPED_TRACE(context);
    TempDir dir;
    std::string path = dir.file("store.db");
    Script v1, v2, v3;
    bool v2_acked;
    {
      Store store(path);
      ASSERT_TRUE(store.create_namespace("prod", false).ok());
      ASSERT_EQ(deploy(store, make_version("app", 1, rng), grouped, &v1), "");
      Script next = make_version("app", 2, rng);
      sqlite3_hard_heap_limit64(sqlite3_memory_used() + headroom);
      std::string error = deploy(store, next, grouped, &v2);
      sqlite3_hard_heap_limit64(0);
      v2_acked = error.empty();
      if (v2_acked) {
        succeeded++;
        expect_version(store, v2, context + ": the deploy that succeeded serves");
      } else {
        failed++;
        EXPECT_NE(error.find("out of memory"), std::string::npos) << error;
        expect_version(store, v1, context + ": the previous version serves");
      }
      ASSERT_EQ(deploy(store, make_version("app", 3, rng), grouped, &v3), "")
          << "the store did not recover from running out of memory";
    }
    EXPECT_EQ(integrity_check(path), "ok");
    Store reopened(path);
    expect_version(reopened, v3, context + ": after a restart");
  }
  printf("[ durability ] out of memory at %d points of a deploy: %d deploys failed whole, %d "
         "got through\n", failed + succeeded, failed, succeeded);
  EXPECT_GT(failed, 10) << "the heap limit never made a deploy fail";
  EXPECT_GT(succeeded, 0) << "no deploy got through even with the memory it needs";
}
