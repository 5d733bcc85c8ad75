// Unit tests of the script store (supervisor/store.cc) against real SQLite
// files in a temporary directory: opening, migrating and refusing
// databases, and every StoreStatus each operation can answer.
// Runs in the unit-test binary; trusts nothing but SQLite itself.
#include "supervisor/store.h"
#include "tests/support/sqlite_file.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

extern "C" const char wfp_schema_sql[], wfp_schema_002_sql[];

using namespace wfp;
using wfp::test::RawDb;

namespace {

// In /tmp as wfp-store-XXXXXX.
struct TempDir : wfp::test::TempDir {
  TempDir() : wfp::test::TempDir("wfp-store") {}
};

Script make_script(const std::string& name, std::vector<std::string> tags = {}) {
  Script s;
  s.name = name;
  s.code.format = "service-worker";
  s.code.source = "addEventListener('fetch', e => e.respondWith(new Response('" + name + "')))";
  s.tags = std::move(tags);
  return s;
}

Worker make_worker(const std::string& name, std::vector<Binding> bindings = {}) {
  Worker w;
  w.name = name;
  w.code.format = "service-worker";
  w.code.source = "// " + name;
  w.bindings = std::move(bindings);
  return w;
}

Binding dispatch_binding(const std::string& name, const std::string& ns) {
  Binding b;
  b.type = "dispatch_namespace";
  b.name = name;
  b.target_name = ns;
  return b;
}

// A dispatch_namespace binding whose user workers' fetches go to `outbound`.
Binding outbound_binding(const std::string& name, const std::string& ns,
                         const std::string& outbound, std::vector<std::string> params = {}) {
  Binding b = dispatch_binding(name, ns);
  b.outbound_name = outbound;
  b.outbound_params = std::move(params);
  return b;
}

Binding service_binding(const std::string& name, const std::string& worker) {
  Binding b;
  b.type = "service";
  b.name = name;
  b.target_name = worker;
  return b;
}

Binding var(const std::string& name, const std::string& text) {
  Binding b;
  b.type = "plain_text";
  b.name = name;
  b.text = text;
  return b;
}

class StoreTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = dir.file("store.db");
  std::unique_ptr<Store> store = std::make_unique<Store>(path);

  void reopen() {
    store.reset();
    store = std::make_unique<Store>(path);
  }
  int64_t ns_id(const std::string& name) {
    auto ns = store->get_namespace(name);
    return ns ? ns->id : -1;
  }
  void put(const std::string& ns, Script& s) {
    StoreResult r = store->put_script(ns, s);
    ASSERT_TRUE(r.ok()) << r.message;
  }
  void put(const std::string& ns, Script&& s) { put(ns, s); }
};

}  // namespace

// --- opening and migrating ---------------------------------------------------

TEST_F(StoreTest, MigratesANewDatabaseToTheCurrentSchemaVersion) {
  EXPECT_EQ(store->schema_version(), 4);
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "4");
}

TEST_F(StoreTest, MigratesAVersionOneDatabaseKeepingItsScripts) {
  // A store made by the first version: schema 001 only, one script.
  store.reset();
  unlink(path.c_str());
  {
    RawDb raw(path);
    raw.exec(wfp_schema_sql);
    raw.exec("PRAGMA user_version = 1");
    raw.exec("INSERT INTO namespaces (name, trusted, created_on, modified_on)"
             " VALUES ('old', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    raw.exec("INSERT INTO scripts (namespace_id, name, format, build_id, cpu_ms, subrequests, etag,"
             " created_on, modified_on, source, bytecode) SELECT id, 'kept', 'commonjs', 'b', 0, 0,"
             " 'e', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'src', x'' FROM namespaces");
  }
  reopen();
  EXPECT_EQ(store->schema_version(), 4);
  auto ns = store->get_namespace("old");
  ASSERT_TRUE(ns);
  auto s = store->get_script(ns->id, "kept");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->code.source, "src");
  EXPECT_EQ(s->code.lowered, "");
}

TEST_F(StoreTest, MigratesAVersionTwoDatabaseKeepingItsWorkersAndBindings) {
  // A store made by schema 002: a dispatcher bound to a namespace and to a
  // service worker, from before outbound workers existed.
  store.reset();
  unlink(path.c_str());
  {
    RawDb raw(path);
    raw.exec(wfp_schema_sql);
    raw.exec(wfp_schema_002_sql);
    raw.exec("PRAGMA user_version = 2");
    raw.exec(
        "INSERT INTO namespaces (name, trusted, created_on, modified_on)"
        " VALUES ('users', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    raw.exec(
        "INSERT INTO workers (name, format, etag, created_on, modified_on, source, lowered)"
        " VALUES ('auth', 'commonjs', 'e1', '2026-01-01T00:00:00Z',"
        "         '2026-01-01T00:00:00Z', 'auth src', 'auth es5'),"
        "        ('front', 'commonjs', 'e2', '2026-01-01T00:00:00Z',"
        "         '2026-01-01T00:00:00Z', 'front src', '')");
    raw.exec(
        "INSERT INTO worker_bindings (worker_id, position, type, name, target_namespace_id)"
        " SELECT w.id, 0, 'dispatch_namespace', 'DISPATCHER', n.id"
        "   FROM workers w, namespaces n WHERE w.name = 'front'");
    raw.exec(
        "INSERT INTO worker_bindings (worker_id, position, type, name, target_worker_id)"
        " SELECT f.id, 1, 'service', 'AUTH', a.id"
        "   FROM workers f, workers a WHERE f.name = 'front' AND a.name = 'auth'");
  }
  reopen();
  EXPECT_EQ(store->schema_version(), 4);
  auto front = store->get_worker("front");
  ASSERT_TRUE(front);
  EXPECT_EQ(front->code.source, "front src");
  EXPECT_EQ(front->etag, "e2");
  ASSERT_EQ(front->bindings.size(), 2u);
  EXPECT_EQ(front->bindings[0].type, "dispatch_namespace");
  EXPECT_EQ(front->bindings[0].target_name, "users");
  EXPECT_EQ(front->bindings[0].outbound_id, 0);
  EXPECT_EQ(front->bindings[0].outbound_name, "");
  EXPECT_TRUE(front->bindings[0].outbound_params.empty());
  EXPECT_EQ(front->bindings[1].target_name, "auth");
  auto auth = store->get_worker("auth");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->code.lowered, "auth es5");
  // And the migrated table takes an outbound worker at once.
  Worker again = make_worker("front", {outbound_binding("DISPATCHER", "users", "auth", {"USER"})});
  StoreResult r = store->put_worker(again);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(store->get_worker("front")->bindings[0].outbound_name, "auth");
}

TEST_F(StoreTest, KeepsTheLoweredSourceAndItsLineMap) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("modern", {});
  s.code.lowered = "var x = 1;";
  s.code.line_map = "[1]";
  put("prod", s);
  auto got = store->get_script(ns_id("prod"), "modern");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->code.lowered, "var x = 1;");
  EXPECT_EQ(got->code.line_map, "[1]");
}

TEST_F(StoreTest, PutsTheDatabaseInWalMode) {
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
}

TEST_F(StoreTest, CascadesDeletesThroughForeignKeys) {
  // ON DELETE CASCADE works only with foreign_keys=ON on the store's own
  // connection: a script's tags and bindings must go with it.
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("a", {"t1", "t2"});
  s.bindings = {var("A", "1")};
  put("prod", s);
  ASSERT_TRUE(store->delete_script(ns_id("prod"), "a").ok());
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM script_tags"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM script_bindings"), "0");
}

TEST_F(StoreTest, KeepsEverythingAcrossAReopen) {
  ASSERT_TRUE(store->create_namespace("prod", true).ok());
  put("prod", make_script("customer-a", {"blue"}));
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "prod")});
  ASSERT_TRUE(store->put_worker(w).ok());
  ASSERT_TRUE(store->add_route("*.example.com/*", "dispatcher").ok());
  reopen();
  EXPECT_EQ(store->schema_version(), 4);
  auto ns = store->get_namespace("prod", true);
  ASSERT_TRUE(ns);
  EXPECT_TRUE(ns->trusted);
  EXPECT_EQ(ns->script_count, 1);
  auto s = store->get_script(ns->id, "customer-a");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tags, std::vector<std::string>{"blue"});
  auto got = store->get_worker("dispatcher");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->bindings.size(), 1u);
  EXPECT_EQ(got->bindings[0].target_name, "prod");
  ASSERT_EQ(store->list_routes().size(), 1u);
}

TEST(StoreOpen, RefusesADatabaseWithANewerSchemaVersion) {
  TempDir dir;
  std::string path = dir.file("newer.db");
  {
    RawDb raw(path);
    raw.exec("CREATE TABLE future (x); PRAGMA user_version = 99;");
  }
  try {
    Store store(path);
    FAIL() << "a database of schema version 99 was opened";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
    EXPECT_NE(msg.find("newer"), std::string::npos) << msg;
  }
  // Refused untouched: still version 99, still not switched to WAL.
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "99");
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "delete");
}

TEST(StoreOpen, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  std::string path = dir.file("junk.db");
  std::ofstream(path) << std::string(8192, 'x');
  EXPECT_THROW(Store store(path), StoreError);
}

TEST(StoreOpen, RefusesADatabaseThatFailsQuickCheck) {
  TempDir dir;
  std::string path = dir.file("corrupt.db");
  {
    Store store(path);
    ASSERT_TRUE(store.create_namespace("prod", false).ok());
    for (int i = 0; i < 200; i++) {
      Script s = make_script("s" + std::to_string(i));
      s.code.source = std::string(2000, 'a' + i % 26);
      ASSERT_TRUE(store.put_script("prod", s).ok());
    }
  }  // closing checkpoints the WAL into the main file
  {
    // Scribble over the cell pointers of one page in the middle of the
    // scripts table: the schema still reads, the b-tree does not add up.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0, std::ios::end);
    std::streamoff pages = f.tellp() / 4096;
    ASSERT_GT(pages, 50);
    f.seekp((pages / 2) * 4096 + 8);
    f << std::string(64, '\xff');
  }
  try {
    Store store(path);
    FAIL() << "a corrupt database was opened";
  } catch (const StoreError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("quick_check"), std::string::npos) << msg;
  }
}

TEST(StoreOpen, RefusesAPathItCannotCreate) {
  TempDir dir;
  EXPECT_THROW(Store store(dir.file("no/such/dir/store.db")), StoreError);
}

// --- namespaces --------------------------------------------------------------

TEST_F(StoreTest, CreatesAndListsNamespacesInNameOrder) {
  Namespace out;
  StoreResult r = store->create_namespace("zeta", false, &out);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_GT(out.id, 0);
  EXPECT_EQ(out.name, "zeta");
  EXPECT_EQ(out.created_on.size(), 20u);  // "2026-11-26T19:54:25Z"
  EXPECT_EQ(out.created_on.back(), 'Z');
  EXPECT_EQ(out.created_on[10], 'T');
  ASSERT_TRUE(store->create_namespace("alpha", true).ok());
  auto all = store->list_namespaces();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "alpha");
  EXPECT_TRUE(all[0].trusted);
  EXPECT_EQ(all[1].name, "zeta");
  EXPECT_FALSE(all[1].trusted);
  auto by_id = store->get_namespace_by_id(out.id);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->name, "zeta");
  EXPECT_FALSE(store->get_namespace_by_id(out.id + 100));
  EXPECT_FALSE(store->get_namespace("nope"));
}

TEST_F(StoreTest, CreatingANamespaceTwiceIsAlreadyExists) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  StoreResult r = store->create_namespace("prod", true);
  EXPECT_EQ(r.status, StoreStatus::already_exists);
  EXPECT_EQ(r.message, "namespace \"prod\" already exists");
}

TEST_F(StoreTest, RefusesHostileAndMalformedNames) {
  for (std::string bad : {std::string("../etc"), std::string("x' OR 1=1--"), std::string("Prod"),
                          std::string(64, 'a'), std::string(""), std::string("-lead"),
                          std::string("_lead"), std::string("a b"), std::string("a/b"),
                          std::string("caf\xc3\xa9"), std::string("a\0b", 3)}) {
    StoreResult r = store->create_namespace(bad, false);
    EXPECT_EQ(r.status, StoreStatus::invalid) << bad;
    EXPECT_NE(r.message.find("is invalid"), std::string::npos) << r.message;
    Script s = make_script(bad);
    EXPECT_EQ(store->put_script("prod", s).status, StoreStatus::invalid) << bad;
    Worker w = make_worker(bad);
    EXPECT_EQ(store->put_worker(w).status, StoreStatus::invalid) << bad;
    EXPECT_FALSE(store->get_namespace(bad));
  }
  EXPECT_TRUE(store->list_namespaces().empty());
  EXPECT_TRUE(store->create_namespace(std::string(63, 'a'), false).ok());
  EXPECT_TRUE(store->create_namespace("0-a_b", false).ok());
}

TEST_F(StoreTest, RenamingANamespaceKeepsItsScripts) {
  ASSERT_TRUE(store->create_namespace("old", false).ok());
  int64_t id = ns_id("old");
  put("old", make_script("a"));
  put("old", make_script("b"));
  StoreResult r = store->rename_namespace("old", "new");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_FALSE(store->get_namespace("old"));
  auto ns = store->get_namespace("new", true);
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->id, id);
  EXPECT_EQ(ns->script_count, 2);
  EXPECT_TRUE(store->get_script(id, "a"));
}

TEST_F(StoreTest, RenamingANamespaceKeepsBindingsPointingAtIt) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "prod")});
  ASSERT_TRUE(store->put_worker(w).ok());
  ASSERT_TRUE(store->rename_namespace("prod", "production").ok());
  auto got = store->get_worker("dispatcher");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->bindings.size(), 1u);
  EXPECT_EQ(got->bindings[0].target_id, ns_id("production"));
  EXPECT_EQ(got->bindings[0].target_name, "production");
}

TEST_F(StoreTest, RenameAnswersNotFoundAlreadyExistsAndInvalid) {
  ASSERT_TRUE(store->create_namespace("a", false).ok());
  ASSERT_TRUE(store->create_namespace("b", false).ok());
  StoreResult r = store->rename_namespace("missing", "c");
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "namespace \"missing\" not found");
  r = store->rename_namespace("a", "b");
  EXPECT_EQ(r.status, StoreStatus::already_exists);
  EXPECT_EQ(r.message, "namespace \"b\" already exists");
  EXPECT_EQ(store->rename_namespace("a", "B").status, StoreStatus::invalid);
  EXPECT_TRUE(store->rename_namespace("a", "a").ok());
}

TEST_F(StoreTest, SetsANamespaceTrusted) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  ASSERT_TRUE(store->set_namespace_trusted("prod", true).ok());
  EXPECT_TRUE(store->get_namespace("prod")->trusted);
  ASSERT_TRUE(store->set_namespace_trusted("prod", false).ok());
  EXPECT_FALSE(store->get_namespace("prod")->trusted);
  EXPECT_EQ(store->set_namespace_trusted("nope", true).status, StoreStatus::not_found);
  EXPECT_EQ(store->set_namespace_trusted("NOPE", true).status, StoreStatus::invalid);
}

TEST_F(StoreTest, DeletingANonEmptyNamespaceNeedsForce) {
  ASSERT_TRUE(store->create_namespace("foo", false).ok());
  int64_t id = ns_id("foo");
  put("foo", make_script("a", {"t"}));
  put("foo", make_script("b"));
  put("foo", make_script("c"));
  StoreResult r = store->delete_namespace("foo", false);
  EXPECT_EQ(r.status, StoreStatus::not_empty);
  EXPECT_EQ(r.message, "namespace \"foo\" has 3 scripts; delete them first or use --force");
  EXPECT_TRUE(store->get_namespace("foo"));
  r = store->delete_namespace("foo", true);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_FALSE(store->get_namespace("foo"));
  EXPECT_FALSE(store->get_script(id, "a"));
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM scripts"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM script_tags"), "0");
}

TEST_F(StoreTest, DeletingAnEmptyNamespaceNeedsNoForce) {
  ASSERT_TRUE(store->create_namespace("empty", false).ok());
  EXPECT_TRUE(store->delete_namespace("empty", false).ok());
  StoreResult r = store->delete_namespace("empty", false);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "namespace \"empty\" not found");
}

TEST_F(StoreTest, ANamespaceBoundByAWorkerCannotBeDeletedEvenWithForce) {
  ASSERT_TRUE(store->create_namespace("foo", false).ok());
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "foo")});
  ASSERT_TRUE(store->put_worker(w).ok());
  for (bool force : {false, true}) {
    StoreResult r = store->delete_namespace("foo", force);
    EXPECT_EQ(r.status, StoreStatus::in_use);
    EXPECT_EQ(r.message,
              "namespace \"foo\" is still used by worker \"dispatcher\" (binding DISPATCHER)");
  }
  // Once the worker no longer binds it, it goes.
  Worker unbound = make_worker("dispatcher");
  ASSERT_TRUE(store->put_worker(unbound).ok());
  EXPECT_TRUE(store->delete_namespace("foo", false).ok());
}

TEST_F(StoreTest, NamespaceIdsAreNeverReused) {
  Namespace first, second;
  ASSERT_TRUE(store->create_namespace("a", false, &first).ok());
  ASSERT_TRUE(store->delete_namespace("a", false).ok());
  ASSERT_TRUE(store->create_namespace("a", false, &second).ok());
  EXPECT_GT(second.id, first.id);
}

// --- scripts -----------------------------------------------------------------

TEST_F(StoreTest, PutScriptInsertsThenReplacesKeepingTheIdButNotTheEtag) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("customer-a", {"x", "y"});
  s.cpu_ms = 20;
  s.subrequests = 5;
  s.code.bytecode = std::string("\0\x01\xff bytecode", 13);
  s.code.build_id = "build-1";
  s.bindings = {var("GREETING", "hello"), var("EMPTY", "")};
  put("prod", s);
  EXPECT_GT(s.id, 0);
  EXPECT_EQ(s.namespace_id, ns_id("prod"));
  EXPECT_EQ(s.etag.size(), 32u);
  EXPECT_EQ(s.created_on, s.modified_on);

  auto got = store->get_script(ns_id("prod"), "customer-a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, s.id);
  EXPECT_EQ(got->code.source, s.code.source);
  EXPECT_EQ(got->code.bytecode, s.code.bytecode);
  EXPECT_EQ(got->code.format, "service-worker");
  EXPECT_EQ(got->code.build_id, "build-1");
  EXPECT_EQ(got->cpu_ms, 20);
  EXPECT_EQ(got->subrequests, 5);
  EXPECT_EQ(got->etag, s.etag);
  EXPECT_EQ(got->tags, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(got->bindings.size(), 2u);
  EXPECT_EQ(got->bindings[0].name, "GREETING");
  EXPECT_EQ(got->bindings[0].text, "hello");
  EXPECT_EQ(got->bindings[1].name, "EMPTY");
  EXPECT_EQ(got->bindings[1].text, "");

  Script again = make_script("customer-a", {"z"});
  again.code.source = "new source";
  put("prod", again);
  EXPECT_EQ(again.id, s.id);
  EXPECT_NE(again.etag, s.etag);
  EXPECT_EQ(again.created_on, s.created_on);
  got = store->get_script(ns_id("prod"), "customer-a");
  EXPECT_EQ(got->code.source, "new source");
  EXPECT_EQ(got->code.bytecode, "");
  EXPECT_EQ(got->tags, std::vector<std::string>{"z"});
  EXPECT_TRUE(got->bindings.empty());
  EXPECT_EQ(store->get_namespace("prod", true)->script_count, 1);
}

TEST_F(StoreTest, OnlyACountedNamespaceWalksItsScripts) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  put("prod", make_script("a"));
  put("prod", make_script("b"));
  EXPECT_EQ(store->get_namespace("prod", true)->script_count, 2);
  EXPECT_EQ(store->get_namespace("prod")->script_count, 0);  // not counted
  EXPECT_EQ(store->get_namespace_by_id(ns_id("prod"))->script_count, 0);
  EXPECT_EQ(store->list_namespaces().at(0).script_count, 2);
}

// --- group commit ------------------------------------------------------------

TEST_F(StoreTest, AGroupCommitsEveryWriteThatSucceededAndNoneThatFailed) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  std::vector<std::function<void()>> writes;
  for (const char* name : {"a", "b", "c"})
    writes.push_back([this, name] {
      Script s = make_script(name);
      if (!store->put_script("prod", s).ok()) throw std::runtime_error("put failed");
    });
  // Writes one script, then fails: the script it wrote must go with it.
  writes.insert(writes.begin() + 1, [this] {
    Script s = make_script("half-done");
    if (!store->put_script("prod", s).ok()) throw std::runtime_error("put failed");
    throw std::runtime_error("the second half failed");
  });
  // A store-level refusal inside the group (unknown namespace).
  writes.push_back([this] {
    Script s = make_script("d");
    StoreResult r = store->put_script("nope", s);
    if (!r.ok()) throw std::runtime_error(r.message);
  });
  std::vector<std::exception_ptr> out = store->write_group(writes);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_FALSE(out[0]);
  EXPECT_TRUE(out[1]);
  EXPECT_FALSE(out[2]);
  EXPECT_FALSE(out[3]);
  ASSERT_TRUE(out[4]);
  try {
    std::rethrow_exception(out[4]);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "namespace \"nope\" not found");
  }
  reopen();  // what was committed is on disk, not just in the connection
  int64_t id = ns_id("prod");
  EXPECT_TRUE(store->get_script(id, "a"));
  EXPECT_TRUE(store->get_script(id, "b"));
  EXPECT_TRUE(store->get_script(id, "c"));
  EXPECT_FALSE(store->get_script(id, "half-done"));
  EXPECT_EQ(store->get_namespace("prod", true)->script_count, 3);
}

TEST_F(StoreTest, AnEmptyGroupAndAGroupOfOneWork) {
  EXPECT_TRUE(store->write_group({}).empty());
  auto out = store->write_group({[this] {
    if (!store->create_namespace("solo", false).ok()) throw std::runtime_error("create failed");
  }});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0]);
  reopen();
  EXPECT_TRUE(store->get_namespace("solo"));
}

TEST_F(StoreTest, ReopeningAStoreManyTimesKeepsItsStatementsApart) {
  // Prepared statements are kept per open store: a closed one's must never
  // be handed to the next (which may get the same connection address).
  for (int i = 0; i < 20; i++) {
    ASSERT_TRUE(store->create_namespace("ns" + std::to_string(i), false).ok());
    ASSERT_EQ(store->list_namespaces().size(), (size_t)i + 1);
    reopen();
  }
  TempDir other;
  Store second(other.file("store.db"));
  EXPECT_TRUE(second.list_namespaces().empty());
  EXPECT_EQ(store->list_namespaces().size(), 20u);
}

TEST_F(StoreTest, PutScriptIntoAnUnknownNamespaceIsNotFound) {
  Script s = make_script("a");
  StoreResult r = store->put_script("nope", s);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "namespace \"nope\" not found");
}

TEST_F(StoreTest, SameScriptNameInTwoNamespacesIsTwoTenants) {
  ASSERT_TRUE(store->create_namespace("a", false).ok());
  ASSERT_TRUE(store->create_namespace("b", false).ok());
  Script x = make_script("same"), y = make_script("same");
  ASSERT_TRUE(store->put_script("a", x).ok());
  ASSERT_TRUE(store->put_script("b", y).ok());
  EXPECT_NE(x.id, y.id);
}

TEST_F(StoreTest, ScriptIdsAreNeverReused) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script first = make_script("a");
  put("prod", first);
  Script tmp = first;
  ASSERT_TRUE(store->put_script("prod", tmp).ok());
  ASSERT_TRUE(store->delete_script(ns_id("prod"), "a").ok());
  Script second = make_script("a");
  ASSERT_TRUE(store->put_script("prod", second).ok());
  EXPECT_GT(second.id, first.id);
}

TEST_F(StoreTest, TagsAreLimitedToEightValidOnes) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  std::vector<std::string> eight;
  for (int i = 0; i < 8; i++) eight.push_back("t" + std::to_string(i));
  Script ok = make_script("ok", eight);
  ok.tags.push_back("t0");  // a repeat counts once
  EXPECT_TRUE(store->put_script("prod", ok).ok());
  EXPECT_EQ(ok.tags.size(), 8u);

  auto nine = eight;
  nine.push_back("t8");
  Script too_many = make_script("many", nine);
  StoreResult r = store->put_script("prod", too_many);
  EXPECT_EQ(r.status, StoreStatus::invalid);
  EXPECT_NE(r.message.find("9 tags"), std::string::npos) << r.message;

  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "a,b", "a:b", "a&b", std::string(65, 't'), "\x01"}) {
    Script s = make_script("bad", {bad});
    EXPECT_EQ(store->put_script("prod", s).status, StoreStatus::invalid) << bad;
  }
  EXPECT_FALSE(store->get_script(ns_id("prod"), "many"));
  EXPECT_FALSE(store->get_script(ns_id("prod"), "bad"));
}

TEST_F(StoreTest, ScriptLimitsAreChecked) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("a");
  s.cpu_ms = -1;
  EXPECT_EQ(store->put_script("prod", s).status, StoreStatus::invalid);
  s.cpu_ms = 0;
  s.subrequests = -5;
  EXPECT_EQ(store->put_script("prod", s).status, StoreStatus::invalid);
  s.subrequests = 0;
  s.code.format = "";
  EXPECT_EQ(store->put_script("prod", s).status, StoreStatus::invalid);
}

TEST_F(StoreTest, ScriptBindingsAreChecked) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  auto status_with = [&](std::vector<Binding> bindings) {
    Script s = make_script("a");
    s.bindings = std::move(bindings);
    return store->put_script("prod", s);
  };
  EXPECT_EQ(status_with({var("A", "1"), var("A", "2")}).status, StoreStatus::invalid);
  EXPECT_EQ(status_with({var("1A", "1")}).status, StoreStatus::invalid);
  EXPECT_EQ(status_with({var("a-b", "1")}).status, StoreStatus::invalid);
  EXPECT_EQ(status_with({var("", "1")}).status, StoreStatus::invalid);
  EXPECT_EQ(status_with({var("BIG", std::string(5121, 'x'))}).status, StoreStatus::invalid);
  EXPECT_TRUE(status_with({var("MAX", std::string(5120, 'x'))}).ok());
  Binding odd = var("ODD", "x");
  odd.type = "kv_namespace";
  EXPECT_EQ(status_with({odd}).status, StoreStatus::invalid);
  std::vector<Binding> many;
  for (int i = 0; i < 129; i++) many.push_back(var("V" + std::to_string(i), "x"));
  StoreResult r = status_with(many);
  EXPECT_EQ(r.status, StoreStatus::invalid);
  EXPECT_NE(r.message.find("129 vars and secrets"), std::string::npos) << r.message;
  many.pop_back();
  EXPECT_TRUE(status_with(many).ok());
  // User workers do not dispatch.
  r = status_with({dispatch_binding("D", "prod")});
  EXPECT_EQ(r.status, StoreStatus::invalid);
  EXPECT_NE(r.message.find("platform workers only"), std::string::npos) << r.message;
}

TEST_F(StoreTest, ScriptServiceBindingsNameExistingWorkers) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("a");
  s.bindings = {service_binding("AUTH", "auth")};
  StoreResult r = store->put_script("prod", s);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "worker \"auth\" not found (binding AUTH)");
  EXPECT_FALSE(store->get_script(ns_id("prod"), "a"));  // the transaction left nothing

  Worker auth = make_worker("auth");
  ASSERT_TRUE(store->put_worker(auth).ok());
  ASSERT_TRUE(store->put_script("prod", s).ok());
  EXPECT_EQ(s.bindings[0].target_id, auth.id);
  auto got = store->get_script(ns_id("prod"), "a");
  ASSERT_EQ(got->bindings.size(), 1u);
  EXPECT_EQ(got->bindings[0].type, "service");
  EXPECT_EQ(got->bindings[0].target_id, auth.id);
  EXPECT_EQ(got->bindings[0].target_name, "auth");
}

TEST_F(StoreTest, ListingPagesThrough250ScriptsInNameOrder) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  std::set<std::string> expected;
  for (int i = 0; i < 250; i++) {
    char name[16];
    snprintf(name, sizeof name, "s%03d", (i * 7) % 250);  // inserted out of order
    expected.insert(name);
    put("prod", make_script(name, {i % 2 ? "odd" : "even"}));
  }
  std::vector<std::string> seen;
  std::string cursor;
  std::vector<size_t> page_sizes;
  for (int guard = 0; guard < 10; guard++) {
    ScriptPage page;
    StoreResult r = store->list_scripts(ns_id("prod"), {}, 100, cursor, page);
    ASSERT_TRUE(r.ok()) << r.message;
    page_sizes.push_back(page.scripts.size());
    for (const auto& s : page.scripts) {
      seen.push_back(s.name);
      EXPECT_TRUE(s.code.source.empty());
      EXPECT_TRUE(s.code.bytecode.empty());
      EXPECT_EQ(s.tags.size(), 1u);
      EXPECT_FALSE(s.etag.empty());
    }
    cursor = page.next_cursor;
    if (cursor.empty()) break;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{100, 100, 50}));
  EXPECT_EQ(seen, std::vector<std::string>(expected.begin(), expected.end()));
}

TEST_F(StoreTest, AFullLastPageHasNoCursor) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  for (int i = 0; i < 4; i++) put("prod", make_script("s" + std::to_string(i)));
  ScriptPage page;
  ASSERT_TRUE(store->list_scripts(ns_id("prod"), {}, 2, "", page).ok());
  EXPECT_EQ(page.scripts.size(), 2u);
  ASSERT_FALSE(page.next_cursor.empty());
  ASSERT_TRUE(store->list_scripts(ns_id("prod"), {}, 2, page.next_cursor, page).ok());
  EXPECT_EQ(page.scripts.size(), 2u);
  EXPECT_TRUE(page.next_cursor.empty());
}

TEST_F(StoreTest, ListingDefaultsToOneHundredAndChecksItsArguments) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  for (int i = 0; i < 120; i++) put("prod", make_script("s" + std::to_string(i)));
  ScriptPage page;
  ASSERT_TRUE(store->list_scripts(ns_id("prod"), {}, 0, "", page).ok());
  EXPECT_EQ(page.scripts.size(), 100u);
  EXPECT_EQ(store->list_scripts(ns_id("prod"), {}, 1001, "", page).status, StoreStatus::invalid);
  EXPECT_EQ(store->list_scripts(ns_id("prod"), {}, -1, "", page).status, StoreStatus::invalid);
  EXPECT_TRUE(store->list_scripts(ns_id("prod"), {}, 1000, "", page).ok());
  EXPECT_EQ(page.scripts.size(), 120u);
  for (std::string bad : {"zz", "abc", "2727", "' OR 1=1 --"}) {
    StoreResult r = store->list_scripts(ns_id("prod"), {}, 10, bad, page);
    EXPECT_EQ(r.status, StoreStatus::invalid) << bad;
  }
  StoreResult r = store->list_scripts(ns_id("prod") + 99, {}, 10, "", page);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(store->list_scripts(ns_id("prod"), {{"bad tag", true}}, 10, "", page).status,
            StoreStatus::invalid);
}

TEST_F(StoreTest, ListingFiltersByTagPresentAndAbsent) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  put("prod", make_script("a", {"blue", "big"}));
  put("prod", make_script("b", {"blue"}));
  put("prod", make_script("c", {"red", "big"}));
  put("prod", make_script("d"));
  auto names = [&](std::vector<TagFilter> filters) {
    ScriptPage page;
    StoreResult r = store->list_scripts(ns_id("prod"), filters, 100, "", page);
    EXPECT_TRUE(r.ok()) << r.message;
    std::vector<std::string> out;
    for (const auto& s : page.scripts) out.push_back(s.name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({{"blue", true}}), (V{"a", "b"}));
  EXPECT_EQ(names({{"blue", false}}), (V{"c", "d"}));
  EXPECT_EQ(names({{"blue", true}, {"big", true}}), (V{"a"}));
  EXPECT_EQ(names({{"big", true}, {"blue", false}}), (V{"c"}));
  EXPECT_EQ(names({{"green", true}}), V{});
  EXPECT_EQ(names({}), (V{"a", "b", "c", "d"}));
}

TEST_F(StoreTest, FilteredListingPagesToo) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  for (int i = 0; i < 30; i++)
    put("prod", make_script("s" + std::to_string(100 + i), {i % 3 ? "keep" : "drop"}));
  std::string cursor;
  size_t total = 0;
  int pages = 0;
  do {
    ScriptPage page;
    ASSERT_TRUE(store->list_scripts(ns_id("prod"), {{"keep", true}}, 7, cursor, page).ok());
    for (const auto& s : page.scripts) EXPECT_EQ(s.tags, std::vector<std::string>{"keep"});
    total += page.scripts.size();
    cursor = page.next_cursor;
    pages++;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(pages, 3);
}

TEST_F(StoreTest, DeletesAScript) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  put("prod", make_script("a"));
  ASSERT_TRUE(store->delete_script(ns_id("prod"), "a").ok());
  EXPECT_FALSE(store->get_script(ns_id("prod"), "a"));
  StoreResult r = store->delete_script(ns_id("prod"), "a");
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "script \"a\" not found in namespace \"prod\"");
  EXPECT_EQ(store->delete_script(ns_id("prod"), "A").status, StoreStatus::invalid);
  EXPECT_EQ(store->delete_script(12345, "a").status, StoreStatus::not_found);
}

TEST_F(StoreTest, StoringBytecodeKeepsTheEtag) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("a");
  put("prod", s);
  ASSERT_TRUE(store->set_script_bytecode(s.id, std::string("\0dump", 5), "build-2").ok());
  auto got = store->get_script(ns_id("prod"), "a");
  EXPECT_EQ(got->code.bytecode, std::string("\0dump", 5));
  EXPECT_EQ(got->code.build_id, "build-2");
  EXPECT_EQ(got->etag, s.etag);
  EXPECT_EQ(store->set_script_bytecode(s.id + 1000, "x", "b").status, StoreStatus::not_found);
}

// --- platform workers --------------------------------------------------------

TEST_F(StoreTest, PutWorkerResolvesItsDispatchNamespace) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "prod"), var("MODE", "x")});
  StoreResult r = store->put_worker(w);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_GT(w.id, 0);
  EXPECT_EQ(w.bindings[0].target_id, ns_id("prod"));
  EXPECT_EQ(w.etag.size(), 32u);
  auto got = store->get_worker_by_id(w.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "dispatcher");
  EXPECT_EQ(got->code.source, "// dispatcher");
  ASSERT_EQ(got->bindings.size(), 2u);
  EXPECT_EQ(got->bindings[0].type, "dispatch_namespace");
  EXPECT_EQ(got->bindings[0].target_name, "prod");
  EXPECT_EQ(got->bindings[1].text, "x");
  EXPECT_EQ(got->bindings[1].target_id, 0);
  EXPECT_FALSE(store->get_worker_by_id(w.id + 100));
  EXPECT_FALSE(store->get_worker("nope"));
}

TEST_F(StoreTest, PutWorkerRefusesAnUnknownNamespaceOrWorker) {
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "x")});
  StoreResult r = store->put_worker(w);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "namespace \"x\" not found (binding DISPATCHER)");
  Worker v = make_worker("dispatcher", {service_binding("AUTH", "auth")});
  r = store->put_worker(v);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "worker \"auth\" not found (binding AUTH)");
  EXPECT_FALSE(store->get_worker("dispatcher"));
  Worker bad = make_worker("dispatcher", {service_binding("AUTH", "Auth")});
  EXPECT_EQ(store->put_worker(bad).status, StoreStatus::invalid);
}

TEST_F(StoreTest, RedeployingAWorkerKeepsItsIdAndReplacesItsBindings) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Worker w = make_worker("dispatcher", {dispatch_binding("DISPATCHER", "prod")});
  ASSERT_TRUE(store->put_worker(w).ok());
  Worker again = make_worker("dispatcher", {var("X", "1")});
  again.code.source = "v2";
  ASSERT_TRUE(store->put_worker(again).ok());
  EXPECT_EQ(again.id, w.id);
  EXPECT_NE(again.etag, w.etag);
  EXPECT_EQ(again.created_on, w.created_on);
  auto got = store->get_worker("dispatcher");
  EXPECT_EQ(got->code.source, "v2");
  ASSERT_EQ(got->bindings.size(), 1u);
  EXPECT_EQ(got->bindings[0].name, "X");
}

TEST_F(StoreTest, AWorkerMayBindItself) {
  Worker w = make_worker("loop", {service_binding("SELF", "loop")});
  StoreResult r = store->put_worker(w);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(w.bindings[0].target_id, w.id);
  auto got = store->get_worker("loop");
  EXPECT_EQ(got->bindings[0].target_name, "loop");
  EXPECT_TRUE(store->delete_worker("loop").ok());
}

TEST_F(StoreTest, ADispatchBindingKeepsItsOutboundWorkerAndParams) {
  ASSERT_TRUE(store->create_namespace("users", false).ok());
  Worker out = make_worker("egress");
  ASSERT_TRUE(store->put_worker(out).ok());
  Worker w = make_worker("front", {outbound_binding("DISPATCHER", "users", "egress",
                                                    {"customer", "PLAN", "$trace_id"}),
                                   dispatch_binding("PLAIN", "users")});
  StoreResult r = store->put_worker(w);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(w.bindings[0].outbound_id, out.id);
  EXPECT_EQ(w.bindings[1].outbound_id, 0);

  reopen();
  auto got = store->get_worker("front");
  ASSERT_TRUE(got);
  ASSERT_EQ(got->bindings.size(), 2u);
  const Binding& b = got->bindings[0];
  EXPECT_EQ(b.target_name, "users");
  EXPECT_EQ(b.outbound_id, out.id);
  EXPECT_EQ(b.outbound_name, "egress");
  EXPECT_EQ(b.outbound_params, (std::vector<std::string>{"customer", "PLAN", "$trace_id"}));
  EXPECT_EQ(got->bindings[1].outbound_id, 0);
  EXPECT_EQ(got->bindings[1].outbound_name, "");
  EXPECT_TRUE(got->bindings[1].outbound_params.empty());
  // Stored as a JSON array, and '' for a binding without an outbound worker.
  RawDb raw(path);
  EXPECT_EQ(raw.scalar("SELECT outbound_params FROM worker_bindings WHERE name = 'DISPATCHER'"),
            R"(["customer","PLAN","$trace_id"])");
  EXPECT_EQ(raw.scalar("SELECT quote(outbound_params) || quote(outbound_worker_id)"
                       "  FROM worker_bindings WHERE name = 'PLAIN'"),
            "''NULL");

  // An outbound worker without params is fine too; a redeploy replaces it.
  Worker again = make_worker("front", {outbound_binding("DISPATCHER", "users", "egress")});
  ASSERT_TRUE(store->put_worker(again).ok());
  got = store->get_worker("front");
  EXPECT_EQ(got->bindings[0].outbound_name, "egress");
  EXPECT_TRUE(got->bindings[0].outbound_params.empty());
}

TEST_F(StoreTest, AWorkerMayBeItsOwnOutboundWorker) {
  ASSERT_TRUE(store->create_namespace("users", false).ok());
  Worker w = make_worker("front", {outbound_binding("DISPATCHER", "users", "front", {"P"})});
  StoreResult r = store->put_worker(w);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(w.bindings[0].outbound_id, w.id);
  EXPECT_EQ(store->get_worker("front")->bindings[0].outbound_name, "front");
  EXPECT_TRUE(store->delete_worker("front").ok());
}

TEST_F(StoreTest, AMissingOutboundWorkerIsRefused) {
  ASSERT_TRUE(store->create_namespace("users", false).ok());
  Worker w = make_worker("front", {outbound_binding("DISPATCHER", "users", "egress", {"P"})});
  StoreResult r = store->put_worker(w);
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "outbound worker \"egress\" not found (binding DISPATCHER)");
  EXPECT_FALSE(store->get_worker("front"));

  // A failed redeploy keeps the binding as it was.
  Worker plain = make_worker("front", {dispatch_binding("DISPATCHER", "users")});
  ASSERT_TRUE(store->put_worker(plain).ok());
  EXPECT_EQ(store->put_worker(w).status, StoreStatus::not_found);
  auto got = store->get_worker("front");
  EXPECT_EQ(got->etag, plain.etag);
  EXPECT_EQ(got->bindings[0].outbound_name, "");
}

TEST_F(StoreTest, OutboundWorkersAndParamsAreChecked) {
  ASSERT_TRUE(store->create_namespace("users", false).ok());
  Worker egress = make_worker("egress");
  ASSERT_TRUE(store->put_worker(egress).ok());
  auto refused = [&](Binding b) {
    Worker w = make_worker("front", {std::move(b)});
    StoreResult r = store->put_worker(w);
    EXPECT_EQ(r.status, StoreStatus::invalid) << r.message;
    return r.message;
  };
  EXPECT_EQ(refused(outbound_binding("D", "users", "egress", {"ok", "1st"})),
            "binding \"D\": outbound parameter \"1st\" is invalid: parameter names are "
            "JavaScript identifiers");
  for (std::string bad :
       std::vector<std::string>{"", "a-b", "a b", "x.y", "\xc3\xa9", std::string(256, 'a')})
    EXPECT_NE(refused(outbound_binding("D", "users", "egress", {bad})).find("outbound parameter"),
              std::string::npos)
        << bad;
  EXPECT_EQ(refused(outbound_binding("D", "users", "egress", {"A", "B", "A"})),
            "binding \"D\": outbound parameter \"A\" is given twice");
  std::vector<std::string> many;
  for (int i = 0; i < 33; i++) many.push_back("p" + std::to_string(i));
  EXPECT_EQ(refused(outbound_binding("D", "users", "egress", many)),
            "binding \"D\": 33 outbound parameters, more than the 32 allowed");
  many.pop_back();
  Worker ok = make_worker("front", {outbound_binding("D", "users", "egress", many)});
  StoreResult r = store->put_worker(ok);
  EXPECT_TRUE(r.ok()) << r.message;

  EXPECT_EQ(refused(outbound_binding("D", "users", "Egress")),
            "outbound worker name \"Egress\" is invalid: names match [a-z0-9][a-z0-9_-]{0,62} "
            "(binding D)");
  EXPECT_EQ(refused(outbound_binding("D", "users", "", {"P"})),
            "binding \"D\": outbound parameters need an outbound worker");
  Binding service = service_binding("S", "egress");
  service.outbound_name = "egress";
  EXPECT_EQ(refused(service),
            "binding \"S\": only dispatch_namespace bindings have an outbound worker");
  Binding text = var("V", "x");
  text.outbound_params = {"P"};
  EXPECT_EQ(refused(text),
            "binding \"V\": only dispatch_namespace bindings have an outbound worker");
  EXPECT_EQ(store->get_worker("front")->bindings[0].outbound_params.size(), 32u);
}

TEST_F(StoreTest, ListsWorkersWithTheirCodeInNameOrder) {
  Worker b = make_worker("b"), a = make_worker("a", {service_binding("B", "b")});
  ASSERT_TRUE(store->put_worker(b).ok());
  ASSERT_TRUE(store->put_worker(a).ok());
  auto all = store->list_workers();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a");
  EXPECT_EQ(all[0].code.source, "// a");
  ASSERT_EQ(all[0].bindings.size(), 1u);
  EXPECT_EQ(all[0].bindings[0].target_name, "b");
  EXPECT_EQ(all[1].name, "b");
}

TEST_F(StoreTest, AWorkerInUseCannotBeDeleted) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Worker auth = make_worker("auth"),
         front = make_worker("front", {service_binding("AUTH", "auth")});
  ASSERT_TRUE(store->put_worker(auth).ok());
  ASSERT_TRUE(store->put_worker(front).ok());
  ASSERT_TRUE(store->add_route("example.com/*", "auth").ok());

  StoreResult r = store->delete_worker("auth");
  EXPECT_EQ(r.status, StoreStatus::in_use);
  EXPECT_EQ(r.message, "worker \"auth\" is still used by route \"example.com/*\"");
  ASSERT_TRUE(store->delete_route("example.com/*").ok());

  r = store->delete_worker("auth");
  EXPECT_EQ(r.status, StoreStatus::in_use);
  EXPECT_EQ(r.message, "worker \"auth\" is still used by worker \"front\" (binding AUTH)");
  ASSERT_TRUE(store->delete_worker("front").ok());

  Script s = make_script("customer-a");
  s.bindings = {service_binding("AUTH", "auth")};
  put("prod", s);
  r = store->delete_worker("auth");
  EXPECT_EQ(r.status, StoreStatus::in_use);
  EXPECT_EQ(r.message,
            "worker \"auth\" is still used by script \"prod/customer-a\" (binding AUTH)");
  ASSERT_TRUE(store->delete_script(ns_id("prod"), "customer-a").ok());

  EXPECT_TRUE(store->delete_worker("auth").ok());
  r = store->delete_worker("auth");
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "worker \"auth\" not found");
}

TEST_F(StoreTest, AnOutboundWorkerInUseCannotBeDeleted) {
  ASSERT_TRUE(store->create_namespace("users", false).ok());
  Worker egress = make_worker("egress"),
         front = make_worker("front", {outbound_binding("DISPATCHER", "users", "egress", {"P"})});
  ASSERT_TRUE(store->put_worker(egress).ok());
  ASSERT_TRUE(store->put_worker(front).ok());

  StoreResult r = store->delete_worker("egress");
  EXPECT_EQ(r.status, StoreStatus::in_use);
  EXPECT_EQ(r.message,
            "worker \"egress\" is still used by worker \"front\" (outbound worker of binding "
            "DISPATCHER)");
  ASSERT_TRUE(store->get_worker("egress"));

  // Once the dispatcher is redeployed without it, it may go.
  Worker plain = make_worker("front", {dispatch_binding("DISPATCHER", "users")});
  ASSERT_TRUE(store->put_worker(plain).ok());
  EXPECT_TRUE(store->delete_worker("egress").ok());
  EXPECT_FALSE(store->get_worker("egress"));
}

// --- routes ------------------------------------------------------------------

TEST_F(StoreTest, AddsListsAndDeletesRoutes) {
  Worker w = make_worker("dispatcher");
  ASSERT_TRUE(store->put_worker(w).ok());
  Route out;
  StoreResult r = store->add_route("*.Example.COM/*", "dispatcher", &out);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(out.pattern, "*.example.com/*");
  EXPECT_EQ(out.worker_id, w.id);
  EXPECT_EQ(out.worker_name, "dispatcher");
  ASSERT_TRUE(store->add_route("*/*", "dispatcher").ok());
  auto routes = store->list_routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].pattern, "*.example.com/*");
  EXPECT_EQ(routes[0].worker_name, "dispatcher");
  EXPECT_EQ(routes[1].pattern, "*/*");

  ASSERT_TRUE(store->delete_route("*.EXAMPLE.com/*").ok());
  r = store->delete_route("*.example.com/*");
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "route \"*.example.com/*\" not found");
  EXPECT_EQ(store->list_routes().size(), 1u);
}

TEST_F(StoreTest, RouteAddAnswersAlreadyExistsNotFoundAndInvalid) {
  Worker w = make_worker("dispatcher");
  ASSERT_TRUE(store->put_worker(w).ok());
  ASSERT_TRUE(store->add_route("example.com/*", "dispatcher").ok());
  StoreResult r = store->add_route("EXAMPLE.com/*", "dispatcher");
  EXPECT_EQ(r.status, StoreStatus::already_exists);
  EXPECT_EQ(r.message, "route \"example.com/*\" already exists");
  r = store->add_route("other.com/*", "nobody");
  EXPECT_EQ(r.status, StoreStatus::not_found);
  EXPECT_EQ(r.message, "worker \"nobody\" not found");
  for (std::string bad : {"", "example.com", "http://example.com/*", "ex*ample.com/*",
                          "example.com:8080/*", "example.com/a*b", "exa mple.com/*"}) {
    r = store->add_route(bad, "dispatcher");
    EXPECT_EQ(r.status, StoreStatus::invalid) << bad;
    EXPECT_FALSE(r.message.empty());
  }
  EXPECT_EQ(store->add_route("a.com/*", "Dispatcher").status, StoreStatus::invalid);
  EXPECT_EQ(store->delete_route("nope").status, StoreStatus::invalid);
}

// --- failures of the database itself -----------------------------------------

TEST_F(StoreTest, AWriteTheDatabaseRefusesIsAnIoError) {
  {
    // Another connection makes every namespace insert fail, as a full disk
    // or an I/O error would, but deterministically.
    RawDb raw(path);
    raw.exec(
        "CREATE TRIGGER refuse BEFORE INSERT ON namespaces"
        " BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
  }
  StoreResult r = store->create_namespace("prod", false);
  EXPECT_EQ(r.status, StoreStatus::io_error);
  EXPECT_NE(r.message.find("disk on fire"), std::string::npos) << r.message;
  EXPECT_TRUE(store->list_namespaces().empty());
}

TEST_F(StoreTest, AFailedDeployLeavesThePreviousVersion) {
  ASSERT_TRUE(store->create_namespace("prod", false).ok());
  Script s = make_script("a", {"old"});
  put("prod", s);
  {
    RawDb raw(path);
    raw.exec(
        "CREATE TRIGGER refuse BEFORE INSERT ON script_tags WHEN new.tag = 'boom'"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END;");
  }
  Script again = make_script("a", {"new", "boom"});
  again.code.source = "replacement";
  EXPECT_EQ(store->put_script("prod", again).status, StoreStatus::io_error);
  auto got = store->get_script(ns_id("prod"), "a");
  EXPECT_EQ(got->code.source, s.code.source);
  EXPECT_EQ(got->tags, std::vector<std::string>{"old"});
  EXPECT_EQ(got->etag, s.etag);
}
