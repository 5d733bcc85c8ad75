// wfpctl as an operator uses it: every command's success path and the shape
// of what it prints (tables by default, JSON with --json), then each kind
// of bad input, an unreachable or forbidden daemon, and paging through a
// namespace of a few hundred scripts. Real wfpctl against real wfpd; exit
// statuses are wfpctl(8)'s: 0 success, 1 the daemon refused or can't be
// reached, 2 a usage error (nothing sent).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

using nlohmann::json;

const char* kHello = "module.exports={fetch:function(){return new Response('hello')}}";

std::string all(const CmdResult& r) {
  return r.out + r.err;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The column headers of a table: the words of its first line.
std::vector<std::string> header_of(const CmdResult& r) {
  auto lines = lines_of(r.out);
  return lines.empty() ? std::vector<std::string>{} : words_of(lines[0]);
}

// The row of a table whose first column is `key`, as words; empty if none.
std::vector<std::string> row_of(const CmdResult& r, const std::string& key) {
  auto lines = lines_of(r.out);
  for (size_t i = 1; i < lines.size(); i++) {
    auto w = words_of(lines[i]);
    if (!w.empty() && w[0] == key) return w;
  }
  return {};
}

// The first column of every row of a table.
std::vector<std::string> first_column(const CmdResult& r) {
  std::vector<std::string> out;
  auto lines = lines_of(r.out);
  for (size_t i = 1; i < lines.size(); i++) {
    auto w = words_of(lines[i]);
    if (!w.empty() && lines[i][0] != '(') out.push_back(w[0]);
  }
  return out;
}

bool has_line(const CmdResult& r, const std::string& line) {
  for (auto& l : lines_of(r.out))
    if (l == line) return true;
  return false;
}

json json_of(const CmdResult& r) {
  return json::parse(r.out, nullptr, false);
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A usage error: status 2, the reason and the usage line on stderr, nothing
// on stdout.
::testing::AssertionResult usage_error(const CmdResult& r, const std::string& reason) {
  if (r.status == 2 && contains(r.err, reason) && contains(r.err, "usage: wfpctl") && r.out.empty())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "expected a usage error with \"" << reason << "\"; status " << r.status
         << "\nout: " << r.out << "\nerr: " << r.err;
}

// The daemon refused: status 1, its reason on stderr, no usage line.
::testing::AssertionResult refused(const CmdResult& r, const std::string& reason) {
  if (r.status == 1 && contains(r.err, reason) && !contains(r.err, "usage:"))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected a refusal with \"" << reason << "\"; status "
                                       << r.status << "\nout: " << r.out << "\nerr: " << r.err;
}

// wfpctl run as nobody, for what root's privileges would hide.
CmdResult ctl_as_nobody(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups", bin("wfpctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// --- every command's success path -----------------------------------------------

class WfpctlCommands : public ::testing::Test {
 protected:
  static Wfpd* d;
  static std::string hello;
  static void SetUpTestSuite() {
    d = new Wfpd();
    hello = d->write_file("hello.js", kHello);
    // A platform worker for service bindings and outbound workers.
    expect_ok(d->ctl({"worker", "deploy", "helper", hello}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};
Wfpd* WfpctlCommands::d = nullptr;
std::string WfpctlCommands::hello;

TEST_F(WfpctlCommands, NamespacesAreCreatedListedWithScriptCountsRenamedAndDeleted) {
  CmdResult created = d->ctl({"namespace", "create", "ns-a"});
  ASSERT_EQ(created.status, 0) << all(created);
  EXPECT_TRUE(contains(created.out, "Created dispatch namespace \"ns-a\" with ID \""))
      << created.out;
  expect_ok(d->ctl({"namespace", "create", "ns-t", "--trusted"}), d);
  expect_ok(d->ctl({"script", "deploy", "ns-a", "one", hello}), d);
  expect_ok(d->ctl({"script", "deploy", "ns-a", "two", hello}), d);

  CmdResult list = d->ctl({"namespace", "list"});
  ASSERT_EQ(list.status, 0) << all(list);
  EXPECT_EQ(header_of(list),
            (std::vector<std::string>{"NAME", "ID", "SCRIPTS", "TRUSTED", "CREATED"}));
  auto a = row_of(list, "ns-a"), t = row_of(list, "ns-t");
  ASSERT_EQ(a.size(), 5u) << list.out;
  ASSERT_EQ(t.size(), 5u) << list.out;
  EXPECT_EQ(a[2], "2") << "the script count: " << list.out;
  EXPECT_EQ(a[3], "no");
  EXPECT_EQ(t[2], "0");
  EXPECT_EQ(t[3], "yes");

  json j = json_of(d->ctl({"--json", "namespace", "list"}));
  ASSERT_TRUE(j.is_array()) << j;
  bool seen = false;
  for (auto& n : j)
    if (n["namespace_name"] == "ns-a") {
      seen = true;
      EXPECT_EQ(n["script_count"], 2) << n;
      EXPECT_EQ(n["trusted_workers"], false) << n;
    }
  EXPECT_TRUE(seen) << j;

  CmdResult get = d->ctl({"namespace", "get", "ns-a"});
  ASSERT_EQ(get.status, 0) << all(get);
  EXPECT_TRUE(has_line(get, "name: ns-a")) << get.out;
  EXPECT_TRUE(has_line(get, "scripts: 2")) << get.out;
  EXPECT_TRUE(has_line(get, "trusted: no")) << get.out;
  EXPECT_EQ(json_of(d->ctl({"--json", "namespace", "get", "ns-t"}))["trusted_workers"], true);

  CmdResult renamed = d->ctl({"namespace", "rename", "ns-t", "ns-t2"});
  ASSERT_EQ(renamed.status, 0) << all(renamed);
  EXPECT_TRUE(contains(renamed.out, "Renamed dispatch namespace \"ns-t\" to \"ns-t2\""))
      << renamed.out;
  EXPECT_TRUE(refused(d->ctl({"namespace", "get", "ns-t"}), "not found"));
  EXPECT_TRUE(has_line(d->ctl({"namespace", "get", "ns-t2"}), "trusted: yes"));

  // A namespace with scripts needs --force, and keeps them until then.
  CmdResult not_empty = d->ctl({"namespace", "delete", "ns-a"});
  EXPECT_TRUE(refused(not_empty, "2 scripts"));
  EXPECT_TRUE(contains(not_empty.err, "--force")) << not_empty.err;
  EXPECT_TRUE(has_line(d->ctl({"namespace", "get", "ns-a"}), "scripts: 2"));
  CmdResult forced = d->ctl({"namespace", "delete", "ns-a", "--force"});
  ASSERT_EQ(forced.status, 0) << all(forced);
  EXPECT_TRUE(contains(forced.out, "Deleted dispatch namespace \"ns-a\"")) << forced.out;
  EXPECT_TRUE(refused(d->ctl({"namespace", "get", "ns-a"}), "not found"));
  // An empty one goes without.
  EXPECT_EQ(d->ctl({"namespace", "delete", "ns-t2"}).status, 0);
}

TEST_F(WfpctlCommands, ANamespaceADispatchBindingUsesIsRefusedUntilTheWorkerGoes) {
  expect_ok(d->ctl({"namespace", "create", "bound"}), d);
  expect_ok(d->ctl({"worker", "deploy", "binder", hello, "--dispatch-namespace", "D=bound"}), d);
  EXPECT_TRUE(refused(d->ctl({"namespace", "delete", "bound"}), "worker \"binder\""));
  expect_ok(d->ctl({"worker", "delete", "binder"}), d);
  EXPECT_EQ(d->ctl({"namespace", "delete", "bound"}).status, 0);
}

TEST_F(WfpctlCommands, ScriptDeployTakesTagsVarsSecretsServiceBindingsAndLimits) {
  expect_ok(d->ctl({"namespace", "create", "apps"}), d);
  CmdResult r = d->ctl({"script",
                        "deploy",
                        "apps",
                        "full",
                        hello,
                        "--tag",
                        "blue",
                        "--tag",
                        "green",
                        "--var",
                        "GREETING=hello there",
                        "--var",
                        "EMPTY=",
                        "--secret",
                        "TOKEN",
                        "--secret",
                        "OTHER",
                        "--service",
                        "HELPER=helper",
                        "--cpu-ms",
                        "20",
                        "--subrequests",
                        "5"},
                       "tok-value-1\nother-value-2\n");
  ASSERT_EQ(r.status, 0) << all(r) << d->log();
  EXPECT_TRUE(contains(r.out, "Deployed script \"full\" to namespace \"apps\" (etag ")) << r.out;

  CmdResult get = d->ctl({"script", "get", "apps", "full"});
  ASSERT_EQ(get.status, 0) << all(get);
  for (const char* line : {"name: full", "namespace: apps", "tags: blue,green", "cpu_ms: 20",
                           "subrequests: 5", "binding: plain_text GREETING = \"hello there\"",
                           "binding: plain_text EMPTY = \"\"", "binding: secret_text TOKEN",
                           "binding: secret_text OTHER", "binding: service HELPER -> helper"})
    EXPECT_TRUE(has_line(get, line)) << line << "\n" << get.out;
  EXPECT_TRUE(contains(get.out, "\ncache: 0 entries")) << get.out;

  CmdResult gj = d->ctl({"--json", "script", "get", "apps", "full"});
  json j = json_of(gj);
  ASSERT_TRUE(j.is_object()) << gj.out;
  EXPECT_EQ(j["tags"], json({"blue", "green"}));
  EXPECT_EQ(j["limits"]["cpu_ms"], 20);
  EXPECT_EQ(j["limits"]["subrequests"], 5);
  for (auto& b : j["bindings"]) {
    if (b["type"] == "secret_text") {
      EXPECT_FALSE(b.contains("text")) << b;
    }
  }
  for (const CmdResult* shown : {&r, &get, &gj})
    for (const char* secret : {"tok-value-1", "other-value-2"}) {
      EXPECT_FALSE(contains(all(*shown), secret)) << "a secret value was printed: " << all(*shown);
    }

  // --source prints the script as deployed, byte for byte.
  CmdResult source = d->ctl({"script", "get", "apps", "full", "--source"});
  EXPECT_EQ(source.status, 0) << all(source);
  EXPECT_EQ(source.out, kHello);

  // Without limits, the defaults apply.
  expect_ok(d->ctl({"script", "deploy", "apps", "plain", hello}), d);
  CmdResult plain = d->ctl({"script", "get", "apps", "plain"});
  EXPECT_TRUE(has_line(plain, "cpu_ms: default")) << plain.out;
  EXPECT_TRUE(has_line(plain, "tags: -")) << plain.out;

  // FILE "-" is standard input.
  CmdResult from_stdin = d->ctl({"script", "deploy", "apps", "piped", "-"}, kHello);
  EXPECT_EQ(from_stdin.status, 0) << all(from_stdin);
  EXPECT_EQ(d->ctl({"script", "get", "apps", "piped", "--source"}).out, kHello);

  // --json prints the API's result.
  json deployed = json_of(d->ctl({"--json", "script", "deploy", "apps", "plain", hello}));
  EXPECT_EQ(deployed["id"], "plain") << deployed;
  EXPECT_TRUE(deployed.contains("etag")) << deployed;
}

TEST_F(WfpctlCommands, ScriptListFiltersByTagsAndPrintsATable) {
  expect_ok(d->ctl({"namespace", "create", "listing"}), d);
  expect_ok(d->ctl({"script", "deploy", "listing", "s-a", hello, "--tag", "red"}), d);
  expect_ok(d->ctl({"script", "deploy", "listing", "s-b", hello, "--tag", "red", "--tag", "big"}),
            d);
  expect_ok(d->ctl({"script", "deploy", "listing", "s-c", hello}), d);

  CmdResult list = d->ctl({"script", "list", "listing"});
  ASSERT_EQ(list.status, 0) << all(list);
  EXPECT_EQ(header_of(list),
            (std::vector<std::string>{"NAME", "FORMAT", "TAGS", "ETAG", "MODIFIED"}));
  EXPECT_EQ(first_column(list), (std::vector<std::string>{"s-a", "s-b", "s-c"}));
  EXPECT_EQ(row_of(list, "s-b").at(2), "big,red") << "tags in order";
  EXPECT_EQ(row_of(list, "s-c").at(2), "-");

  using V = std::vector<std::string>;
  EXPECT_EQ(first_column(d->ctl({"script", "list", "listing", "--tag", "red"})), (V{"s-a", "s-b"}));
  EXPECT_EQ(
      first_column(d->ctl({"script", "list", "listing", "--tag", "red:yes", "--tag", "big:no"})),
      (V{"s-a"}));
  EXPECT_EQ(first_column(d->ctl({"script", "list", "listing", "--tag", "red:no"})), (V{"s-c"}));
  EXPECT_EQ(first_column(d->ctl({"script", "list", "listing", "--tag", "nothing"})), V{});

  json j = json_of(d->ctl({"--json", "script", "list", "listing", "--tag", "big"}));
  ASSERT_TRUE(j.is_array()) << j;
  ASSERT_EQ(j.size(), 1u) << j;
  EXPECT_EQ(j[0]["id"], "s-b");
  EXPECT_EQ(j[0]["tags"], json({"big", "red"}));
}

TEST_F(WfpctlCommands, ScriptDeleteRemovesOneScriptOrEveryScriptWithATag) {
  expect_ok(d->ctl({"namespace", "create", "deleting"}), d);
  for (const char* name : {"x1", "x2"})
    expect_ok(d->ctl({"script", "deploy", "deleting", name, hello, "--tag", "old"}), d);
  expect_ok(d->ctl({"script", "deploy", "deleting", "x3", hello, "--tag", "new"}), d);
  expect_ok(d->ctl({"script", "deploy", "deleting", "x4", hello}), d);

  CmdResult one = d->ctl({"script", "delete", "deleting", "x4"});
  ASSERT_EQ(one.status, 0) << all(one);
  EXPECT_TRUE(contains(one.out, "Deleted script \"x4\" from namespace \"deleting\"")) << one.out;
  EXPECT_TRUE(refused(d->ctl({"script", "delete", "deleting", "x4"}), "not found"));

  CmdResult tagged = d->ctl({"script", "delete", "deleting", "--tag", "old"});
  ASSERT_EQ(tagged.status, 0) << all(tagged);
  EXPECT_TRUE(contains(tagged.out, "Deleted 2 scripts tagged \"old\" from namespace \"deleting\""))
      << tagged.out;
  EXPECT_EQ(first_column(d->ctl({"script", "list", "deleting"})), std::vector<std::string>{"x3"});
  json none = json_of(d->ctl({"--json", "script", "delete", "deleting", "--tag", "old"}));
  EXPECT_EQ(none["deleted"], 0) << none;
}

TEST_F(WfpctlCommands, SecretsArePutListedAndDeletedWithoutTheirValuesShown) {
  expect_ok(d->ctl({"namespace", "create", "vault"}), d);
  expect_ok(d->ctl({"script", "deploy", "vault", "s", hello}), d);
  CmdResult put = d->ctl({"script", "secret", "put", "vault", "s", "K1"}, "value-one\n");
  ASSERT_EQ(put.status, 0) << all(put);
  EXPECT_TRUE(contains(put.out, "Set secret \"K1\" of script \"s\" in namespace \"vault\""))
      << put.out;
  expect_ok(d->ctl({"script", "secret", "put", "vault", "s", "K2"}, "value-two\r\n"), d);

  CmdResult list = d->ctl({"script", "secret", "list", "vault", "s"});
  ASSERT_EQ(list.status, 0) << all(list);
  EXPECT_EQ(header_of(list), (std::vector<std::string>{"NAME", "TYPE"}));
  EXPECT_EQ(first_column(list), (std::vector<std::string>{"K1", "K2"}));
  EXPECT_EQ(row_of(list, "K1").at(1), "secret_text");
  CmdResult lj = d->ctl({"--json", "script", "secret", "list", "vault", "s"});
  EXPECT_EQ(json_of(lj).size(), 2u) << lj.out;
  CmdResult get = d->ctl({"--json", "script", "get", "vault", "s"});
  for (const CmdResult* shown : {&put, &list, &lj, &get})
    for (const char* secret : {"value-one", "value-two"}) {
      EXPECT_FALSE(contains(all(*shown), secret)) << all(*shown);
    }

  CmdResult del = d->ctl({"script", "secret", "delete", "vault", "s", "K1"});
  ASSERT_EQ(del.status, 0) << all(del);
  EXPECT_TRUE(contains(del.out, "Deleted secret \"K1\"")) << del.out;
  EXPECT_EQ(first_column(d->ctl({"script", "secret", "list", "vault", "s"})),
            std::vector<std::string>{"K2"});
  EXPECT_TRUE(refused(d->ctl({"script", "secret", "delete", "vault", "s", "K1"}), "K1"));
}

TEST_F(WfpctlCommands, TagsArePrintedReplacedAndCleared) {
  expect_ok(d->ctl({"namespace", "create", "tagging"}), d);
  expect_ok(d->ctl({"script", "deploy", "tagging", "t", hello, "--tag", "first"}), d);
  EXPECT_EQ(d->ctl({"script", "tags", "tagging", "t"}).out, "first\n");
  CmdResult replaced = d->ctl({"script", "tags", "tagging", "t", "a", "b"});
  ASSERT_EQ(replaced.status, 0) << all(replaced);
  EXPECT_EQ(replaced.out, "a\nb\n");
  EXPECT_TRUE(has_line(d->ctl({"script", "get", "tagging", "t"}), "tags: a,b"));
  EXPECT_EQ(json_of(d->ctl({"--json", "script", "tags", "tagging", "t"})), json({"a", "b"}));
  CmdResult cleared = d->ctl({"script", "tags", "tagging", "t", "--clear"});
  EXPECT_EQ(cleared.status, 0) << all(cleared);
  EXPECT_EQ(cleared.out, "");
  EXPECT_TRUE(has_line(d->ctl({"script", "get", "tagging", "t"}), "tags: -"));
}

TEST_F(WfpctlCommands, WorkersAreDeployedListedShownAndDeleted) {
  expect_ok(d->ctl({"namespace", "create", "wns"}), d);
  CmdResult r = d->ctl({"worker", "deploy", "front", hello, "--dispatch-namespace",
                        "D=wns,outbound=helper,params=p1:p2", "--service", "H=helper", "--var",
                        "V=1", "--secret", "S"},
                       "worker-secret\n");
  ASSERT_EQ(r.status, 0) << all(r) << d->log();
  EXPECT_TRUE(contains(r.out, "Deployed worker \"front\"")) << r.out;

  CmdResult list = d->ctl({"worker", "list"});
  ASSERT_EQ(list.status, 0) << all(list);
  EXPECT_EQ(header_of(list), (std::vector<std::string>{"NAME", "FORMAT", "BINDINGS", "MODIFIED"}));
  auto row = row_of(list, "front");
  ASSERT_EQ(row.size(), 4u) << list.out;
  for (const char* b : {"D", "H", "V", "S"})
    EXPECT_TRUE(contains("," + row[2] + ",", std::string(",") + b + ",")) << row[2];

  CmdResult get = d->ctl({"worker", "get", "front"});
  ASSERT_EQ(get.status, 0) << all(get);
  EXPECT_TRUE(has_line(get, "name: front")) << get.out;
  EXPECT_TRUE(has_line(get,
                       "binding: dispatch_namespace D -> namespace wns, outbound worker helper "
                       "(params p1, p2)"))
      << get.out;
  EXPECT_TRUE(has_line(get, "binding: service H -> helper")) << get.out;
  EXPECT_TRUE(has_line(get, "binding: secret_text S")) << get.out;
  CmdResult gj = d->ctl({"--json", "worker", "get", "front"});
  EXPECT_EQ(json_of(gj)["id"], "front") << gj.out;
  for (const CmdResult* shown : {&r, &get, &gj})
    EXPECT_FALSE(contains(all(*shown), "worker-secret")) << all(*shown);

  CmdResult del = d->ctl({"worker", "delete", "front"});
  ASSERT_EQ(del.status, 0) << all(del);
  EXPECT_TRUE(contains(del.out, "Deleted worker \"front\"")) << del.out;
  EXPECT_TRUE(refused(d->ctl({"worker", "get", "front"}), "not found"));
}

TEST_F(WfpctlCommands, RoutesAreAddedListedAndDeleted) {
  CmdResult add = d->ctl({"route", "add", "shop.example/*", "helper"});
  ASSERT_EQ(add.status, 0) << all(add);
  EXPECT_TRUE(contains(add.out, "Added route \"shop.example/*\" -> helper")) << add.out;
  EXPECT_EQ(d->get("shop.example", "/x").body, "hello");

  CmdResult list = d->ctl({"route", "list"});
  ASSERT_EQ(list.status, 0) << all(list);
  EXPECT_EQ(header_of(list), (std::vector<std::string>{"ID", "PATTERN", "WORKER"}));
  bool listed = false;
  for (auto& l : lines_of(list.out)) {
    auto w = words_of(l);
    listed = listed || (w.size() == 3 && w[1] == "shop.example/*" && w[2] == "helper");
  }
  EXPECT_TRUE(listed) << list.out;
  json j = json_of(d->ctl({"--json", "route", "list"}));
  ASSERT_TRUE(j.is_array()) << j;
  EXPECT_EQ(j.back()["pattern"], "shop.example/*") << j;

  // A worker a route names can't go.
  EXPECT_TRUE(refused(d->ctl({"worker", "delete", "helper"}), "helper"));
  CmdResult del = d->ctl({"route", "delete", "shop.example/*"});
  ASSERT_EQ(del.status, 0) << all(del);
  EXPECT_TRUE(contains(del.out, "Deleted route \"shop.example/*\"")) << del.out;
  EXPECT_EQ(d->get("shop.example", "/x").status, 404);
  EXPECT_EQ(d->ctl({"route", "delete", "shop.example/*"}).status, 1);
}

TEST_F(WfpctlCommands, StatusShowsListenersChildrenAndNamespaces) {
  expect_ok(d->ctl({"namespace", "create", "counted"}), d);
  expect_ok(d->ctl({"script", "deploy", "counted", "c1", hello}), d);
  CmdResult r = d->ctl({"status"});
  ASSERT_EQ(r.status, 0) << all(r);
  EXPECT_TRUE(has_line(r, "listen: 127.0.0.1:" + std::to_string(d->port()))) << r.out;
  EXPECT_TRUE(contains(r.out, "\nuptime_seconds: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nchildren:\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "\nnamespaces:\n")) << r.out;
  json j = json_of(d->ctl({"--json", "status"}));
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j["listen"][0], "127.0.0.1:" + std::to_string(d->port()));
  std::set<std::string> roles;
  for (auto& c : j["children"]) roles.insert(c.value("role", ""));
  for (const char* role : {"zygote", "dispatcher", "compiler"})
    EXPECT_TRUE(roles.count(role)) << role << j;
}

TEST_F(WfpctlCommands, CachePurgeAndBackupPrintWhatTheyDid) {
  expect_ok(d->ctl({"namespace", "create", "cached"}), d);
  expect_ok(d->ctl({"script", "deploy", "cached", "c", hello}), d);
  CmdResult purge = d->ctl({"cache", "purge", "cached", "c"});
  ASSERT_EQ(purge.status, 0) << all(purge);
  EXPECT_TRUE(contains(purge.out, "Purged everything from the cache of cached/c (0 entries)"))
      << purge.out;
  json one =
      json_of(d->ctl({"--json", "cache", "purge", "cached", "c", "--url", "https://a.example/"}));
  EXPECT_EQ(one["removed"], 0) << one;

  std::string file = d->dir() + "/ctl-backup.db";
  json backup = json_of(d->ctl({"--json", "backup", file}));
  EXPECT_EQ(backup["file"], file) << backup;
  EXPECT_GT(backup.value("bytes", 0), 0) << backup;
  EXPECT_EQ(read_file(file).compare(0, 15, "SQLite format 3"), 0);
}

// The command list of `wfpctl --help` (the indented lines after
// "commands:"), each as its words before the first argument.
std::vector<std::string> help_commands() {
  std::vector<std::string> out;
  CmdResult help = run({bin("wfpctl"), "--help"});
  auto lines = lines_of(help.out);
  auto at = std::find(lines.begin(), lines.end(), "commands:");
  for (auto it = at == lines.end() ? at : at + 1; it != lines.end() && it->rfind("  ", 0) == 0;
       ++it) {
    std::string words;
    for (auto& w : words_of(*it)) {
      if (!(w[0] >= 'a' && w[0] <= 'z')) break;
      words += (words.empty() ? "" : " ") + w;
    }
    out.push_back(words);
  }
  return out;
}

TEST_F(WfpctlCommands, EveryCommandAnswersHelpOnStandardOutputWithStatusZero) {
  CmdResult top = run({bin("wfpctl"), "--help"});
  EXPECT_EQ(top.status, 0);
  EXPECT_TRUE(contains(top.out, "usage: wfpctl")) << top.out;
  EXPECT_TRUE(contains(top.out, "wfpctl(8)")) << "--help names the page: " << top.out;
  EXPECT_EQ(top.err, "");
  std::vector<std::string> commands = help_commands();
  ASSERT_GE(commands.size(), 20u) << top.out;
  for (auto& command : commands) {
    for (const char* flag : {"--help", "-h"}) {
      std::vector<std::string> argv = {bin("wfpctl")};
      for (auto& w : words_of(command)) argv.push_back(w);
      argv.push_back(flag);
      CmdResult r = run(argv);
      EXPECT_EQ(r.status, 0) << command << " " << flag << ": " << all(r);
      EXPECT_EQ(r.out.rfind("usage: wfpctl " + command, 0), 0u) << command << ": " << r.out;
      EXPECT_TRUE(contains(r.out, "wfpctl(8)")) << r.out;
      EXPECT_EQ(r.err, "") << command;
    }
  }
  // A group's help lists its commands; help wins over a missing argument.
  CmdResult group = run({bin("wfpctl"), "script", "secret", "--help"});
  EXPECT_EQ(group.status, 0);
  EXPECT_TRUE(contains(group.out, "wfpctl script secret put")) << group.out;
  EXPECT_EQ(run({bin("wfpctl"), "script", "deploy", "--help"}).status, 0);
  CmdResult version = run({bin("wfpctl"), "--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("wfpctl ", 0), 0u) << version.out;
}

TEST_F(WfpctlCommands, TheSocketComesFromTheEnvironmentAndGlobalOptionsGoAnywhere) {
  CmdResult env = run({"/usr/bin/env", "WFP_ADMIN_SOCKET=" + d->socket(), bin("wfpctl"), "--json",
                       "worker", "list"});
  EXPECT_EQ(env.status, 0) << all(env);
  EXPECT_TRUE(json_of(env).is_array()) << env.out;
  // --socket wins over the environment.
  CmdResult both = run({"/usr/bin/env", "WFP_ADMIN_SOCKET=/nonexistent/admin.sock", bin("wfpctl"),
                        "worker", "list", "--socket", d->socket(), "--json"});
  EXPECT_EQ(both.status, 0) << all(both);
  EXPECT_TRUE(json_of(both).is_array()) << both.out;
  CmdResult inline_value =
      run({bin("wfpctl"), "--socket=" + d->socket(), "worker", "get", "helper"});
  EXPECT_EQ(inline_value.status, 0) << all(inline_value);
}

// --- bad input: clear usage errors, or the daemon's refusal, and no change ---------

class WfpctlBadInput : public ::testing::Test {
 protected:
  static Wfpd* d;
  static std::string hello;
  static void SetUpTestSuite() {
    d = new Wfpd();
    hello = d->write_file("hello.js", kHello);
    expect_ok(d->ctl({"namespace", "create", "prod"}), d);
    expect_ok(d->ctl({"script", "deploy", "prod", "app", hello, "--tag", "keep"}), d);
    expect_ok(d->ctl({"worker", "deploy", "helper", hello}), d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
  // The script "prod/app" is as the set-up left it.
  static void expect_app_unchanged() {
    CmdResult get = d->ctl({"script", "get", "prod", "app"});
    EXPECT_TRUE(has_line(get, "tags: keep")) << get.out << get.err;
    EXPECT_FALSE(contains(get.out, "binding:")) << get.out;
  }
};
Wfpd* WfpctlBadInput::d = nullptr;
std::string WfpctlBadInput::hello;

TEST_F(WfpctlBadInput, AMissingArgumentIsAUsageErrorThatNamesIt) {
  struct Case {
    std::vector<std::string> args;
    std::string missing;
  };
  const std::vector<Case> cases = {
      {{"namespace", "create"}, "missing NAME"},
      {{"namespace", "get"}, "missing NAME"},
      {{"namespace", "rename", "prod"}, "missing NEW"},
      {{"namespace", "delete"}, "missing NAME"},
      {{"script", "deploy"}, "missing NS"},
      {{"script", "deploy", "prod"}, "missing NAME"},
      {{"script", "deploy", "prod", "app"}, "missing FILE"},
      {{"script", "list"}, "missing NS"},
      {{"script", "get", "prod"}, "missing NAME"},
      {{"script", "delete", "prod"}, "missing NAME (or --tag T)"},
      {{"script", "secret", "put", "prod", "app"}, "missing KEY"},
      {{"script", "secret", "list", "prod"}, "missing NAME"},
      {{"script", "secret", "delete", "prod", "app"}, "missing KEY"},
      {{"script", "tags", "prod"}, "missing NAME"},
      {{"worker", "deploy", "w"}, "missing FILE"},
      {{"worker", "get"}, "missing NAME"},
      {{"worker", "delete"}, "missing NAME"},
      {{"route", "add", "*/*"}, "missing WORKER"},
      {{"route", "delete"}, "missing PATTERN"},
      {{"cache", "purge", "prod"}, "missing NAME"},
      {{"backup"}, "missing FILE"},
      {{"script", "list", "prod", "--limit"}, "--limit needs a value"},
      {{"script", "deploy", "prod", "app", hello, "--var"}, "--var needs a value"},
      {{"--socket"}, "--socket needs a PATH"},
      {{}, "missing COMMAND"},
  };
  for (auto& c : cases)
    EXPECT_TRUE(usage_error(d->ctl(c.args), c.missing)) << testing::PrintToString(c.args);
}

TEST_F(WfpctlBadInput, AnUnknownNamespaceIsRefusedByTheDaemonAndNamed) {
  const std::vector<std::vector<std::string>> cases = {
      {"namespace", "get", "nope"},
      {"namespace", "rename", "nope", "other"},
      {"namespace", "delete", "nope"},
      {"namespace", "delete", "nope", "--force"},
      {"script", "deploy", "nope", "app", hello},
      {"script", "list", "nope"},
      {"script", "get", "nope", "app"},
      {"script", "delete", "nope", "app"},
      {"script", "delete", "nope", "--tag", "keep"},
      {"script", "secret", "list", "nope", "app"},
      {"script", "secret", "delete", "nope", "app", "K"},
      {"script", "tags", "nope", "app"},
      {"script", "tags", "nope", "app", "t"},
      {"cache", "purge", "nope", "app"},
  };
  for (auto& args : cases)
    EXPECT_TRUE(refused(d->ctl(args), "\"nope\" not found")) << testing::PrintToString(args);
  EXPECT_TRUE(refused(d->ctl({"script", "secret", "put", "nope", "app", "K"}, "v\n"),
                      "\"nope\" not found"));
  EXPECT_TRUE(refused(d->ctl({"namespace", "get", "nope"}), "dispatch namespace"));
  // And the other kinds of unknown name.
  EXPECT_TRUE(refused(d->ctl({"script", "get", "prod", "nope"}), "script \"nope\" not found"));
  EXPECT_TRUE(refused(d->ctl({"worker", "get", "nope"}), "worker \"nope\" not found"));
  EXPECT_TRUE(refused(d->ctl({"route", "add", "*/*", "nope"}), "worker \"nope\" not found"));
  EXPECT_TRUE(
      refused(d->ctl({"script", "deploy", "prod", "app", hello, "--service", "S=nope"}), "nope"));
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, AnInvalidNameIsAUsageErrorInEveryPlaceANameGoes) {
  const std::string bad = "Bad.Name";
  const std::vector<std::vector<std::string>> cases = {
      {"namespace", "get", bad},
      {"namespace", "rename", bad, "x"},
      {"namespace", "rename", "prod", bad},
      {"namespace", "delete", bad},
      {"script", "deploy", bad, "app", hello},
      {"script", "deploy", "prod", bad, hello},
      {"script", "deploy", "prod", "app", hello, "--service", "S=" + bad},
      {"script", "list", bad},
      {"script", "get", "prod", bad},
      {"script", "delete", "prod", bad},
      {"script", "secret", "put", "prod", bad, "K"},
      {"script", "secret", "list", bad, "app"},
      {"script", "secret", "delete", "prod", bad, "K"},
      {"script", "tags", "prod", bad},
      {"worker", "deploy", bad, hello},
      {"worker", "deploy", "w", hello, "--dispatch-namespace", "D=" + bad},
      {"worker", "deploy", "w", hello, "--dispatch-namespace", "D=prod,outbound=" + bad},
      {"worker", "get", bad},
      {"worker", "delete", bad},
      {"route", "add", "*/*", bad},
      {"cache", "purge", "prod", bad},
  };
  for (auto& args : cases)
    EXPECT_TRUE(usage_error(d->ctl(args, "v\n"), "\"" + bad + "\" is invalid"))
        << testing::PrintToString(args);
  // Binding names are JavaScript identifiers.
  for (auto& args : std::vector<std::vector<std::string>>{
           {"script", "deploy", "prod", "app", hello, "--var", "1X=v"},
           {"script", "deploy", "prod", "app", hello, "--secret", "a-b"},
           {"script", "deploy", "prod", "app", hello, "--service", "my-api=helper"},
           {"script", "secret", "put", "prod", "app", "bad key"},
           {"worker", "deploy", "w", hello, "--dispatch-namespace",
            "D=prod,outbound=helper,params=a:1b"}})
    EXPECT_TRUE(usage_error(d->ctl(args, "v\n"), "JavaScript identifier"))
        << testing::PrintToString(args);
  EXPECT_TRUE(refused(d->ctl({"worker", "get", "w"}), "not found"));
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, AnInvalidTagIsAUsageError) {
  for (const std::string& tag :
       std::vector<std::string>{"with space", "a,b", "a:b", "a&b", "", std::string(65, 't')}) {
    EXPECT_TRUE(
        usage_error(d->ctl({"script", "deploy", "prod", "app", hello, "--tag", tag}), "is invalid"))
        << tag;
    EXPECT_TRUE(usage_error(d->ctl({"script", "tags", "prod", "app", tag}), "is invalid")) << tag;
    EXPECT_TRUE(usage_error(d->ctl({"script", "delete", "prod", "--tag", tag}), "is invalid"))
        << tag;
    if (tag.find(':') == std::string::npos) {
      EXPECT_TRUE(usage_error(d->ctl({"script", "list", "prod", "--tag", tag}), "is invalid"))
          << tag;
    }
  }
  EXPECT_TRUE(
      usage_error(d->ctl({"script", "list", "prod", "--tag", "keep:maybe"}), "T:yes or T:no"));
  EXPECT_TRUE(
      usage_error(d->ctl({"script", "deploy", "prod", "app", hello, "--tag", "x", "--tag", "x"}),
                  "given twice"));
  EXPECT_TRUE(usage_error(d->ctl({"script", "tags", "prod", "app", "x", "x"}), "given twice"));
  EXPECT_TRUE(usage_error(d->ctl({"script", "tags", "prod", "app", "x", "--clear"}), "not both"));
  EXPECT_TRUE(
      usage_error(d->ctl({"script", "delete", "prod", "app", "--tag", "keep"}), "not both"));
  EXPECT_TRUE(
      usage_error(d->ctl({"script", "delete", "prod", "--tag", "a", "--tag", "b"}), "one --tag"));
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, NineTagsAreAUsageErrorAndEightAreAccepted) {
  std::vector<std::string> deploy = {"script", "deploy", "prod", "tagged", hello};
  std::vector<std::string> tags = {"script", "tags", "prod", "app"};
  for (int i = 1; i <= 9; i++) {
    deploy.insert(deploy.end(), {"--tag", "t" + std::to_string(i)});
    tags.push_back("t" + std::to_string(i));
  }
  EXPECT_TRUE(usage_error(d->ctl(deploy), "at most 8 tags"));
  EXPECT_TRUE(usage_error(d->ctl(tags), "at most 8 tags"));
  EXPECT_TRUE(refused(d->ctl({"script", "get", "prod", "tagged"}), "not found"))
      << "nothing was sent";
  expect_app_unchanged();
  deploy.resize(deploy.size() - 2);
  ASSERT_EQ(d->ctl(deploy).status, 0);
  EXPECT_TRUE(
      has_line(d->ctl({"script", "get", "prod", "tagged"}), "tags: t1,t2,t3,t4,t5,t6,t7,t8"));
  EXPECT_EQ(d->ctl({"script", "delete", "prod", "tagged"}).status, 0);
}

TEST_F(WfpctlBadInput, ABadKeyValueIsAUsageError) {
  const std::vector<std::vector<std::string>> cases = {
      {"script", "deploy", "prod", "app", hello, "--var", "NOEQUALS"},
      {"script", "deploy", "prod", "app", hello, "--var", "=value"},
      {"script", "deploy", "prod", "app", hello, "--service", "HELPER"},
      {"script", "deploy", "prod", "app", hello, "--service", "=helper"},
      {"worker", "deploy", "w", hello, "--var", "NOEQUALS"},
      {"worker", "deploy", "w", hello, "--dispatch-namespace", "D"},
      {"worker", "deploy", "w", hello, "--dispatch-namespace", "D=prod,outbound"},
      {"worker", "deploy", "w", hello, "--dispatch-namespace", "D=prod,colour=blue"},
  };
  for (auto& args : cases)
    EXPECT_TRUE(usage_error(d->ctl(args), "expected")) << testing::PrintToString(args);
  EXPECT_TRUE(usage_error(
      d->ctl({"script", "deploy", "prod", "app", hello, "--var", "A=1", "--var", "A=2"}),
      "given twice"));
  EXPECT_TRUE(usage_error(
      d->ctl({"script", "deploy", "prod", "app", hello, "--var", "A=1", "--secret", "A"}, "x\n"),
      "given twice"));
  EXPECT_TRUE(refused(d->ctl({"worker", "get", "w"}), "not found"));
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, BadNumbersAreUsageErrors) {
  for (const char* n : {"0", "-5", "300001", "abc", "1.5", ""})
    EXPECT_TRUE(usage_error(d->ctl({"script", "deploy", "prod", "app", hello, "--cpu-ms", n}),
                            "--cpu-ms needs an integer from 1 to 300000"))
        << n;
  EXPECT_TRUE(
      usage_error(d->ctl({"script", "deploy", "prod", "app", hello, "--subrequests", "10001"}),
                  "--subrequests needs an integer"));
  for (const char* n : {"0", "1001", "ten"})
    EXPECT_TRUE(
        usage_error(d->ctl({"script", "list", "prod", "--limit", n}), "--limit needs an integer"))
        << n;
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, AnUnreadableFileIsAUsageErrorThatNamesIt) {
  // A directory.
  EXPECT_TRUE(usage_error(d->ctl({"script", "deploy", "prod", "app", d->dir()}),
                          "cannot read " + d->dir() + ": Is a directory"));
  EXPECT_TRUE(usage_error(d->ctl({"worker", "deploy", "w", d->dir()}), "Is a directory"));
  // A file without read permission; root reads it anyway, so as nobody.
  std::string locked = d->write_file("locked.js", kHello);
  ASSERT_EQ(chmod(locked.c_str(), 0), 0);
  CmdResult r =
      geteuid() == 0
          ? ctl_as_nobody({"--socket", d->socket(), "script", "deploy", "prod", "app", locked})
          : d->ctl({"script", "deploy", "prod", "app", locked});
  EXPECT_TRUE(usage_error(r, "cannot read " + locked + ": Permission denied"));
  expect_app_unchanged();
}

TEST_F(WfpctlBadInput, SecretValuesComeOnlyFromStandardInput) {
  EXPECT_TRUE(usage_error(d->ctl({"script", "deploy", "prod", "sec", hello, "--secret", "K"}, ""),
                          "standard input ended before the value of secret \"K\""));
  EXPECT_TRUE(usage_error(
      d->ctl({"script", "deploy", "prod", "sec", hello, "--secret", "K", "--secret", "L"}, "one\n"),
      "secret \"L\""));
  EXPECT_TRUE(usage_error(d->ctl({"script", "deploy", "prod", "sec", "-", "--secret", "K"}, kHello),
                          "can't be read from it too"));
  EXPECT_TRUE(usage_error(d->ctl({"script", "secret", "put", "prod", "app", "K"}, ""),
                          "standard input ended"));
  EXPECT_TRUE(refused(d->ctl({"script", "get", "prod", "sec"}), "not found"));
  EXPECT_EQ(first_column(d->ctl({"script", "secret", "list", "prod", "app"})),
            std::vector<std::string>{});
}

TEST_F(WfpctlBadInput, UnknownOptionsSubcommandsAndExtraArgumentsAreUsageErrors) {
  EXPECT_TRUE(usage_error(d->ctl({"script", "deploy", "prod", "app", hello, "--colour", "red"}),
                          "unknown option \"--colour\""));
  EXPECT_TRUE(usage_error(d->ctl({"namespace", "list", "--force"}), "unknown option \"--force\""));
  EXPECT_TRUE(usage_error(d->ctl({"namespace", "create", "x", "--trusted=yes"}),
                          "--trusted takes no value"));
  EXPECT_TRUE(usage_error(d->ctl({"namespace", "list", "extra"}), "unexpected argument \"extra\""));
  EXPECT_TRUE(usage_error(d->ctl({"--frobnicate", "status"}), "unknown option"));
  EXPECT_TRUE(
      usage_error(d->ctl({"cache", "purge", "prod", "app", "--url", "not-a-url"}), "--url"));
  CmdResult sub = d->ctl({"script", "frobnicate"});
  EXPECT_EQ(sub.status, 2);
  EXPECT_TRUE(contains(sub.err, "unknown subcommand \"frobnicate\" of script")) << sub.err;
  EXPECT_TRUE(contains(sub.err, "usage:")) << sub.err;
  CmdResult group = d->ctl({"namespace"});
  EXPECT_EQ(group.status, 2);
  EXPECT_TRUE(contains(group.err, "namespace needs a subcommand")) << group.err;
  EXPECT_TRUE(refused(d->ctl({"namespace", "get", "x"}), "not found")) << "nothing was created";
}

// --- a daemon that can't be reached ------------------------------------------------

TEST(WfpctlConnection, ASocketWithNoDaemonBehindItIsReportedAsNotRunning) {
  char tmpl[] = "/tmp/wfp-ctl-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  // A socket file left by a daemon that is gone: connect() is refused.
  std::string stale = dir + "/admin.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", stale.c_str());
  ASSERT_EQ(bind(fd, (sockaddr*)&a, sizeof a), 0);
  close(fd);
  for (const std::string& path : {stale, dir + "/missing.sock"}) {
    CmdResult r = run({bin("wfpctl"), "--socket", path, "namespace", "list"});
    EXPECT_EQ(r.status, 1) << all(r);
    EXPECT_TRUE(contains(r.err, "cannot connect to wfpd at " + path)) << r.err;
    EXPECT_TRUE(contains(r.err, "is wfpd running?")) << r.err;
    EXPECT_FALSE(contains(r.err, "usage:")) << r.err;
  }
  unlink(stale.c_str());
  rmdir(dir.c_str());
}

TEST(WfpctlConnection, PermissionDeniedOnTheSocketIsReportedAsSuch) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run wfpctl as another user";
  Wfpd d;
  struct stat st {};
  ASSERT_EQ(stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u) << "the admin socket's mode";
  CmdResult r = ctl_as_nobody({"--socket", d.socket(), "namespace", "list"});
  EXPECT_EQ(r.status, 1) << all(r);
  EXPECT_TRUE(contains(r.err, "cannot connect to wfpd at " + d.socket())) << r.err;
  EXPECT_TRUE(contains(r.err, "Permission denied")) << r.err;
  EXPECT_TRUE(contains(r.err, "group")) << "says what to do: " << r.err;
  EXPECT_EQ(r.out, "");
}

// --- paging through a namespace of a few hundred scripts ------------------------------

class WfpctlPaging : public ::testing::Test {
 protected:
  static constexpr int kScripts = 260;
  static Wfpd* d;
  static std::vector<std::string> names;  // every script, in the order of the listing
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "many"}), d);
    std::string hello = d->write_file("hello.js", kHello);
    for (int i = 0; i < kScripts; i++) {
      char name[8];
      snprintf(name, sizeof name, "s%03d", i);
      names.push_back(name);
      std::vector<std::string> args = {"script", "deploy", "many", name, hello};
      if (i % 3 == 0) args.insert(args.end(), {"--tag", "third"});
      expect_ok(d->ctl(args), d);
    }
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
    names.clear();
  }
  // Lists page by page as an operator would: each page's last line gives
  // the cursor of the next. Returns the pages' first columns.
  static std::vector<std::vector<std::string>> pages(std::vector<std::string> args) {
    std::vector<std::vector<std::string>> out;
    std::string cursor;
    for (int guard = 0; guard < 100; guard++) {
      std::vector<std::string> argv = {"script", "list", "many"};
      argv.insert(argv.end(), args.begin(), args.end());
      if (!cursor.empty()) argv.insert(argv.end(), {"--cursor", cursor});
      CmdResult r = d->ctl(argv);
      EXPECT_EQ(r.status, 0) << all(r);
      if (r.status != 0) break;
      out.push_back(first_column(r));
      auto lines = lines_of(r.out);
      const std::string more = "(more: --cursor ";
      cursor.clear();
      if (!lines.empty() && lines.back().rfind(more, 0) == 0)
        cursor = lines.back().substr(more.size(), lines.back().size() - more.size() - 1);
      if (cursor.empty()) break;
    }
    return out;
  }
};
Wfpd* WfpctlPaging::d = nullptr;
std::vector<std::string> WfpctlPaging::names;

TEST_F(WfpctlPaging, PagesOfLimitScriptsEachEndWithTheCursorOfTheNext) {
  auto got = pages({"--limit", "100"});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].size(), 100u);
  EXPECT_EQ(got[1].size(), 100u);
  EXPECT_EQ(got[2].size(), 60u);
  std::vector<std::string> joined;
  for (auto& p : got) joined.insert(joined.end(), p.begin(), p.end());
  EXPECT_EQ(joined, names) << "every script once, in order";
}

TEST_F(WfpctlPaging, APageThatEndsTheListOffersNoCursor) {
  auto got = pages({"--limit", "130"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].back(), names.back());
}

TEST_F(WfpctlPaging, TagFiltersPageToo) {
  std::vector<std::string> with, without;
  for (auto& p : pages({"--tag", "third", "--limit", "30"}))
    with.insert(with.end(), p.begin(), p.end());
  for (auto& p : pages({"--tag", "third:no", "--limit", "100"}))
    without.insert(without.end(), p.begin(), p.end());
  std::vector<std::string> want_with, want_without;
  for (int i = 0; i < kScripts; i++) (i % 3 == 0 ? want_with : want_without).push_back(names[i]);
  EXPECT_EQ(with, want_with);
  EXPECT_EQ(without, want_without);
}

TEST_F(WfpctlPaging, WithoutLimitEveryScriptIsListed) {
  CmdResult r = d->ctl({"script", "list", "many"});
  ASSERT_EQ(r.status, 0) << all(r);
  EXPECT_EQ(first_column(r), names);
  EXPECT_FALSE(contains(r.out, "(more:")) << "nothing left to fetch";
  EXPECT_TRUE(
      has_line(d->ctl({"namespace", "get", "many"}), "scripts: " + std::to_string(kScripts)));
}

TEST_F(WfpctlPaging, JsonPagesGiveTheNextCursorOnStandardError) {
  CmdResult first = d->ctl({"--json", "script", "list", "many", "--limit", "100"});
  ASSERT_EQ(first.status, 0) << all(first);
  json j = json_of(first);
  ASSERT_TRUE(j.is_array()) << first.out;
  EXPECT_EQ(j.size(), 100u);
  const std::string note = "wfpctl: next page: --cursor ";
  size_t at = first.err.find(note);
  ASSERT_NE(at, std::string::npos) << first.err;
  std::string cursor = first.err.substr(at + note.size());
  cursor = cursor.substr(0, cursor.find('\n'));
  json next =
      json_of(d->ctl({"--json", "script", "list", "many", "--limit", "100", "--cursor", cursor}));
  ASSERT_TRUE(next.is_array() && !next.empty()) << next;
  EXPECT_EQ(next[0]["id"], names[100]);
}

TEST_F(WfpctlPaging, AForgedCursorIsRefused) {
  EXPECT_TRUE(refused(d->ctl({"script", "list", "many", "--cursor", "not-hex"}), "cursor"));
}

}  // namespace
}  // namespace wfp::test
