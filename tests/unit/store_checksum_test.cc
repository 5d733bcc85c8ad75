// Unit tests of the store's row checksums (schema/004_checksums.sql,
// supervisor/store.cc): a bit flipped in a stored script's or worker's
// code, on disk or through a second connection, is refused on read and
// healed by a redeploy; rows from before the checksums get one on open.
// Runs in the unit-test binary against real SQLite files.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "supervisor/store.h"
#include "tests/support/sqlite_file.h"
#include "tests/support/temp_dir.h"

extern "C" const char wfp_schema_sql[], wfp_schema_002_sql[], wfp_schema_003_sql[];

using namespace wfp;
using wfp::test::flip_bit_at_marker;
using wfp::test::RawDb;

namespace {

// What get_script / get_worker throw, or "" when they do not.
template <typename F>
std::string thrown(F&& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

class StoreChecksum : public ::testing::Test {
 protected:
  wfp::test::TempDir dir{"wfp-store"};
  std::string path = dir.file("store.db");
  std::unique_ptr<Store> store = std::make_unique<Store>(path);

  void SetUp() override { ASSERT_TRUE(store->create_namespace("prod", false).ok()); }

  // Closing the last connection checkpoints the WAL into the file and
  // removes it: the bytes to tamper with are all in `path` then.
  void close() {
    store.reset();
    ASSERT_FALSE(std::ifstream(path + "-wal").good());
  }
  void reopen() { store = std::make_unique<Store>(path); }
  int64_t prod() { return store->get_namespace("prod")->id; }

  Script victim(const std::string& source_marker = "SOURCE-MARKER-7f3a") {
    Script s;
    s.name = "victim";
    s.code.format = "service-worker";
    s.code.source =
        "addEventListener('fetch', e => e.respondWith(new Response('" + source_marker + "')))";
    s.code.bytecode =
        std::string("\xbf\x00\x01", 3) + "BYTECODE-MARKER-91c2" + std::string(1, '\0');
    s.code.build_id = "build-1";
    s.code.lowered = "var LOWERED_MARKER_5d0e = 1;";
    s.code.line_map = "[1]";
    return s;
  }
  void deploy(Script s) {
    StoreResult r = store->put_script("prod", s);
    ASSERT_TRUE(r.ok()) << r.message;
  }
  void expect_refused() {
    std::string error = thrown([&] { store->get_script(prod(), "victim"); });
    EXPECT_EQ(error,
              "store: script 'prod/victim' failed its checksum (the store file is damaged); "
              "redeploy it or restore a backup");
  }
  void expect_healed_by_redeploy() {
    deploy(victim());
    auto s = store->get_script(prod(), "victim");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->code.source, victim().code.source);
    // And it stays healed across a reopen.
    store.reset();
    reopen();
    EXPECT_TRUE(store->get_script(prod(), "victim"));
  }
};

}  // namespace

TEST_F(StoreChecksum, ServesAnIntactScriptAcrossAReopen) {
  deploy(victim());
  close();
  reopen();
  auto s = store->get_script(prod(), "victim");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->code.bytecode, victim().code.bytecode);
  EXPECT_EQ(s->code.lowered, victim().code.lowered);
}

TEST_F(StoreChecksum, RefusesAScriptWithABitFlippedInItsSourceOnDisk) {
  deploy(victim());
  close();
  ASSERT_EQ(flip_bit_at_marker(path, "SOURCE-MARKER-7f3a"), 1);
  reopen();  // quick_check passes: the file's structure is intact
  expect_refused();
  expect_healed_by_redeploy();
}

TEST_F(StoreChecksum, RefusesAScriptWithABitFlippedInItsBytecodeOnDisk) {
  deploy(victim());
  close();
  ASSERT_EQ(flip_bit_at_marker(path, "BYTECODE-MARKER-91c2"), 1);
  reopen();
  expect_refused();
  expect_healed_by_redeploy();
}

TEST_F(StoreChecksum, RefusesAScriptWithABitFlippedInItsLoweredSourceOnDisk) {
  deploy(victim());
  close();
  ASSERT_EQ(flip_bit_at_marker(path, "LOWERED_MARKER_5d0e"), 1);
  reopen();
  expect_refused();
  expect_healed_by_redeploy();
}

TEST_F(StoreChecksum, RefusesAScriptWhoseCoveredColumnsChangedBehindItsBack) {
  // Each covered column, changed through a raw connection that leaves
  // the checksum as it was.
  const char* tamper[] = {
      "UPDATE scripts SET source = source || ' ' WHERE name = 'victim'",
      "UPDATE scripts SET bytecode = x'00' WHERE name = 'victim'",
      "UPDATE scripts SET lowered = 'var evil = 1;' WHERE name = 'victim'",
      "UPDATE scripts SET line_map = '[2]' WHERE name = 'victim'",
      "UPDATE scripts SET format = 'commonjs' WHERE name = 'victim'",
      "UPDATE scripts SET build_id = 'build-2' WHERE name = 'victim'",
      "UPDATE scripts SET cpu_ms = 1 WHERE name = 'victim'",
      "UPDATE scripts SET subrequests = 1 WHERE name = 'victim'",
      // An empty checksum is not "unchecked" either.
      "UPDATE scripts SET checksum = x'' WHERE name = 'victim'",
  };
  for (const char* sql : tamper) {
    SCOPED_TRACE(sql);
    deploy(victim());
    ASSERT_TRUE(store->get_script(prod(), "victim"));
    RawDb(path).exec(sql);
    expect_refused();
  }
  expect_healed_by_redeploy();
}

TEST_F(StoreChecksum, ListsADamagedScriptButNeverReturnsItsCode) {
  deploy(victim());
  RawDb(path).exec("UPDATE scripts SET source = 'evil' WHERE name = 'victim'");
  ScriptPage page;
  ASSERT_TRUE(store->list_scripts(prod(), {}, 0, "", page).ok());
  ASSERT_EQ(page.scripts.size(), 1u);
  EXPECT_EQ(page.scripts[0].code.source, "");  // listing never carries code
  expect_refused();
}

TEST_F(StoreChecksum, SetScriptBytecodeKeepsTheChecksumAndRefusesADamagedRow) {
  deploy(victim());
  int64_t id = store->get_script(prod(), "victim")->id;
  StoreResult r = store->set_script_bytecode(id, "new bytecode", "build-2");
  ASSERT_TRUE(r.ok()) << r.message;
  auto s = store->get_script(prod(), "victim");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->code.bytecode, "new bytecode");
  EXPECT_EQ(s->code.build_id, "build-2");
  // New bytecode must not bless a source damaged in the meantime.
  RawDb(path).exec("UPDATE scripts SET source = 'evil' WHERE name = 'victim'");
  r = store->set_script_bytecode(id, "newer bytecode", "build-3");
  EXPECT_EQ(r.status, StoreStatus::io_error);
  EXPECT_NE(r.message.find("script 'prod/victim' failed its checksum"), std::string::npos)
      << r.message;
  expect_refused();
}

TEST_F(StoreChecksum, RefusesADamagedWorkerAndLeavesItOutOfTheList) {
  Worker w;
  w.name = "front";
  w.code.format = "service-worker";
  w.code.source = "// WORKER-MARKER-44b1";
  ASSERT_TRUE(store->put_worker(w).ok());
  Worker other;
  other.name = "other";
  other.code.format = "service-worker";
  other.code.source = "// other";
  ASSERT_TRUE(store->put_worker(other).ok());
  int64_t front_id = w.id;
  close();
  ASSERT_EQ(flip_bit_at_marker(path, "WORKER-MARKER-44b1"), 1);
  reopen();
  const std::string want =
      "store: worker 'front' failed its checksum (the store file is damaged); redeploy it or "
      "restore a backup";
  EXPECT_EQ(thrown([&] { store->get_worker("front"); }), want);
  EXPECT_EQ(thrown([&] { store->get_worker_by_id(front_id); }), want);
  std::vector<Worker> all = store->list_workers();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "other");
  // A redeploy heals it.
  ASSERT_TRUE(store->put_worker(w).ok());
  ASSERT_TRUE(store->get_worker("front"));
  EXPECT_EQ(store->list_workers().size(), 2u);
}

TEST_F(StoreChecksum, GroupCommittedDeploysWriteTheirChecksums) {
  auto outcomes = store->write_group({
      [&] {
        Script s = victim();
        if (!store->put_script("prod", s).ok()) throw std::runtime_error("put failed");
      },
      [&] {
        Worker w;
        w.name = "grouped";
        w.code.format = "commonjs";
        w.code.source = "module.exports = {}";
        if (!store->put_worker(w).ok()) throw std::runtime_error("put failed");
      },
  });
  for (auto& e : outcomes) EXPECT_FALSE(e);
  EXPECT_TRUE(store->get_script(prod(), "victim"));
  EXPECT_TRUE(store->get_worker("grouped"));
}

TEST(StoreChecksumMigration, GivesEveryRowOfAVersionThreeStoreAChecksumAndServesIt) {
  wfp::test::TempDir dir("wfp-store");
  std::string path = dir.file("store.db");
  {
    RawDb raw(path);
    raw.exec(wfp_schema_sql);
    raw.exec(wfp_schema_002_sql);
    raw.exec(wfp_schema_003_sql);
    raw.exec("PRAGMA user_version = 3");
    raw.exec(
        "INSERT INTO namespaces (name, trusted, created_on, modified_on)"
        " VALUES ('old', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    raw.exec(
        "INSERT INTO scripts (namespace_id, name, format, build_id, cpu_ms, subrequests,"
        " etag, created_on, modified_on, source, bytecode, lowered, line_map)"
        " SELECT id, 'one', 'commonjs', 'b', 50, 3, 'e', '2026-01-01T00:00:00Z',"
        " '2026-01-01T00:00:00Z', 'src one', x'0102', 'es5 one', '[1]' FROM namespaces");
    raw.exec(
        "INSERT INTO scripts (namespace_id, name, format, etag, created_on, modified_on,"
        " source) SELECT id, 'two', 'service-worker', 'e', '2026-01-01T00:00:00Z',"
        " '2026-01-01T00:00:00Z', 'src two' FROM namespaces");
    raw.exec(
        "INSERT INTO workers (name, format, etag, created_on, modified_on, source)"
        " VALUES ('front', 'commonjs', 'e', '2026-01-01T00:00:00Z',"
        " '2026-01-01T00:00:00Z', 'front src')");
  }
  auto store = std::make_unique<Store>(path);
  EXPECT_EQ(store->schema_version(), 4);
  {
    RawDb raw(path);
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM scripts WHERE length(checksum) = 32"), "2");
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM workers WHERE length(checksum) = 32"), "1");
  }
  int64_t ns = store->get_namespace("old")->id;
  auto one = store->get_script(ns, "one");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->code.source, "src one");
  EXPECT_EQ(one->code.bytecode, "\x01\x02");
  EXPECT_EQ(one->cpu_ms, 50);
  ASSERT_TRUE(store->get_script(ns, "two"));
  ASSERT_TRUE(store->get_worker("front"));
  EXPECT_EQ(store->list_workers().size(), 1u);
  // From now on the migrated rows are checked like any other.
  RawDb(path).exec("UPDATE scripts SET source = 'src 0ne' WHERE name = 'one'");
  EXPECT_EQ(thrown([&] { store->get_script(ns, "one"); }),
            "store: script 'old/one' failed its checksum (the store file is damaged); "
            "redeploy it or restore a backup");
}

TEST_F(StoreChecksum, GivesTheBindingsOfADamagedRowWithoutItsCodeSoARedeployCanKeepThem) {
  Script s = victim();
  Binding secret;
  secret.type = "secret_text";
  secret.name = "KEY";
  secret.text = "hunter2";
  s.bindings = {secret};
  deploy(s);
  RawDb(path).exec("UPDATE scripts SET source = 'evil' WHERE name = 'victim'");
  expect_refused();
  auto meta = store->get_script_meta(prod(), "victim");
  ASSERT_TRUE(meta);
  EXPECT_GT(meta->id, 0);
  EXPECT_EQ(meta->code.source, "");
  ASSERT_EQ(meta->bindings.size(), 1u);
  EXPECT_EQ(meta->bindings[0].text, "hunter2");
  EXPECT_FALSE(store->get_script_meta(prod(), "absent"));

  Worker w;
  w.name = "front";
  w.code.format = "service-worker";
  w.code.source = "// front";
  w.bindings = {secret};
  ASSERT_TRUE(store->put_worker(w).ok());
  RawDb(path).exec("UPDATE workers SET source = 'evil' WHERE name = 'front'");
  EXPECT_NE(thrown([&] { store->get_worker("front"); }), "");
  auto wm = store->get_worker_meta("front");
  ASSERT_TRUE(wm);
  EXPECT_EQ(wm->id, w.id);
  EXPECT_EQ(wm->code.source, "");
  ASSERT_EQ(wm->bindings.size(), 1u);
  EXPECT_EQ(wm->bindings[0].text, "hunter2");
}
