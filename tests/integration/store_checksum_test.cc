// A tampered store never serves silently wrong scripts (attack catalogue
// 56): a real wfpd, a bit flipped in a deployed script's stored code while
// it is stopped, and what a request and the admin API get after the
// restart; a redeploy heals it.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "tests/integration/wfpd_fixture.h"
#include "tests/support/sqlite_file.h"

namespace wfp::test {
namespace {

const char* kDispatcher =
    "module.exports={fetch:function(r,env){return "
    "env.D.get(r.headers.get('host').split('.')[0]).fetch(r)}}";
// The marker is in the source, and as a string constant in its bytecode.
const char* kApp =
    "module.exports={fetch:function(){return new Response('served TAMPER-MARKER-3b9e')}}";

TEST(StoreChecksum, AScriptDamagedOnDiskIsRefusedNotServedAndARedeployHealsIt) {
  Wfpd d;
  expect_ok(d.ctl({"namespace", "create", "prod"}), &d);
  expect_ok(d.ctl({"script", "deploy", "prod", "app", d.write_file("app.js", kApp)}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.js", kDispatcher),
                   "--dispatch-namespace", "D=prod"}),
            &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
  HttpResult ok = d.get("app.example.com");
  ASSERT_EQ(ok.status, 200) << ok.body << d.log();
  ASSERT_EQ(ok.body, "served TAMPER-MARKER-3b9e");

  d.stop();
  // Everything into the main file first (a stopped wfpd may leave a WAL),
  // so the flip lands in the pages SQLite will read.
  std::string store = d.dir() + "/data/store.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(store.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  ASSERT_GE(flip_bit_at_marker(store, "TAMPER-MARKER-3b9e"), 1);
  d.start();  // quick_check passes: the file's structure is intact

  // The request gets the platform's error page, never the damaged code's
  // output: the dispatcher's get() is refused ("Internal error."), and
  // uncaught that is the generic 500/1101.
  HttpResult bad = d.get("app.example.com");
  EXPECT_EQ(bad.status, 500) << bad.body;
  EXPECT_NE(bad.body.find("Error 1101"), std::string::npos) << bad.body;
  EXPECT_EQ(bad.body.find("served"), std::string::npos) << bad.body;
  EXPECT_TRUE(eventually([&] {
    return d.log().find(
               "store: script 'prod/app' failed its checksum (the store file is "
               "damaged); redeploy it or restore a backup") != std::string::npos;
  })) << d.log();

  // The admin API says why; the listing still shows the script.
  CmdResult got = d.ctl({"script", "get", "prod", "app"});
  EXPECT_NE(got.status, 0);
  EXPECT_NE((got.out + got.err).find("failed its checksum"), std::string::npos)
      << got.out << got.err;
  CmdResult list = d.ctl({"script", "list", "prod"});
  EXPECT_EQ(list.status, 0) << list.out << list.err;
  EXPECT_NE(list.out.find("app"), std::string::npos) << list.out;

  // A redeploy heals it, as an operator makes it: wfpctl, which asks the
  // admin API to keep the previous version's secrets.
  expect_ok(d.ctl({"script", "deploy", "prod", "app", d.write_file("app2.js", kApp)}), &d);
  HttpResult healed = d.get("app.example.com");
  EXPECT_EQ(healed.status, 200) << healed.body << d.log();
  EXPECT_EQ(healed.body, "served TAMPER-MARKER-3b9e");
}

}  // namespace
}  // namespace wfp::test
