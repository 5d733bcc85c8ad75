// wfpctl backup through a real wfpd: a consistent SQLite copy of the
// store, written whole or not at all.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

std::string query_one(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  std::string out = "(error)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    out = (const char*)sqlite3_column_text(st, 0);
  sqlite3_finalize(st);
  return out;
}

TEST(Backup, CopiesTheStoreConsistentlyWhileItServes) {
  Wfpd d;
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  std::string file = d.write_file("a.js", "addEventListener('fetch', function (e) { e.respondWith(new Response('a')); });");
  for (const char* name : {"one", "two", "three"}) expect_ok(d.ctl({"script", "deploy", "apps", name, file}), &d);
  std::string out = d.dir() + "/copy.db";
  CmdResult r = d.ctl({"backup", out});
  ASSERT_EQ(r.status, 0) << r.out << r.err << d.log();
  EXPECT_NE(r.out.find("Backed up the store to " + out), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(out.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  EXPECT_EQ(query_one(db, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM scripts"), "3");
  EXPECT_EQ(query_one(db, "PRAGMA user_version"), "4");  // the schema version of this build
  sqlite3_close(db);
  // To standard output: the bytes of a SQLite database.
  CmdResult raw = d.ctl({"backup", "-"});
  EXPECT_EQ(raw.status, 0);
  EXPECT_EQ(raw.out.compare(0, 16, std::string("SQLite format 3\0", 16)), 0);
  // No copy is left behind in the data directory.
  for (auto& e : std::filesystem::directory_iterator(d.dir() + "/data"))
    EXPECT_EQ(e.path().filename().string().rfind("backup-", 0), std::string::npos) << e.path();
  // An unwritable destination is refused with its reason and exit status 1.
  CmdResult bad = d.ctl({"backup", "/nonexistent-dir/x.db"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("/nonexistent-dir/x.db.tmp"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace wfp::test
