// Bad input of every kind gets a clear error that names what was wrong and
// changes nothing: tried through the real wfpctl against a real wfpd.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

const char* kHello = "module.exports={fetch:function(){return new Response('still v1')}}";
const char* kDispatcher =
    "module.exports={fetch:function(r,env){return env.D.get(r.headers.get('host').split('.')[0]).fetch(r)}}";

class BadInput : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    EXPECT_EQ(d->ctl({"namespace", "create", "prod"}).status, 0);
    EXPECT_EQ(d->ctl({"script", "deploy", "prod", "app", d->write_file("app.js", kHello)}).status, 0);
    EXPECT_EQ(d->ctl({"worker", "deploy", "front", d->write_file("front.js", kDispatcher),
                      "--dispatch-namespace", "D=prod"}).status, 0);
    EXPECT_EQ(d->ctl({"route", "add", "*/*", "front"}).status, 0);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
  static std::string all(const CmdResult& r) { return r.out + r.err; }
};
Wfpd* BadInput::d = nullptr;

TEST_F(BadInput, ASyntaxErrorIsRefusedWithItsLineAndTheOldVersionKeepsServing) {
  CmdResult r = d->ctl({"script", "deploy", "prod", "app",
                        d->write_file("bad.js", "// line 1\nvar ok = 1;\nvar x = = 2;\n")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("SyntaxError"), std::string::npos) << all(r);
  EXPECT_NE(all(r).find(":3"), std::string::npos) << "the line of the error: " << all(r);
  EXPECT_EQ(d->get("app.example.com").body, "still v1");
}

TEST_F(BadInput, DeployingIntoAMissingNamespaceFails) {
  CmdResult r = d->ctl({"script", "deploy", "nope", "app", d->write_file("ok.js", kHello)});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("nope"), std::string::npos) << all(r);
  EXPECT_NE(all(r).find("not found"), std::string::npos) << all(r);
}

TEST_F(BadInput, CreatingADuplicateNamespaceFails) {
  CmdResult r = d->ctl({"namespace", "create", "prod"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("already exists"), std::string::npos) << all(r);
}

TEST_F(BadInput, AnInvalidNameIsAUsageError) {
  for (std::string bad : std::vector<std::string>{"Upper", "../x", "x' OR 1=1--", std::string(64, 'a'), "_lead"}) {
    CmdResult r = d->ctl({"namespace", "create", bad});
    EXPECT_EQ(r.status, 2) << bad << ": " << all(r);
    EXPECT_NE(all(r).find("invalid"), std::string::npos) << all(r);
  }
  CmdResult list = d->ctl({"--json", "namespace", "list"});
  EXPECT_EQ(list.out.find("Upper"), std::string::npos);
}

TEST_F(BadInput, TheAdminApiRefusesAnInvalidNameToo) {
  // Straight to the API, past wfpctl's own check.
  CmdResult r = run({"/usr/bin/curl", "-s", "--unix-socket", d->socket(), "-X", "POST",
                     "-H", "Content-Type: application/json", "-d", "{\"name\":\"../etc\"}",
                     "http://localhost/workers/dispatch/namespaces"});
  if (r.status == 127) GTEST_SKIP() << "curl is not installed";
  EXPECT_NE(r.out.find("\"success\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid"), std::string::npos) << r.out;
}

// Found by fuzzing: a number past a double's range was an internal error
// (500) where it is the client's (400), like any other bad JSON.
TEST_F(BadInput, AnAdminApiBodyWithAnOverflowingNumberIs400NotAnInternalError) {
  CmdResult r = run({"/usr/bin/curl", "-s", "-w", "\n%{http_code}", "--unix-socket", d->socket(),
                     "-X", "POST", "-H", "Content-Type: application/json", "-d",
                     "{\"name\":\"ns1\",\"x\":1e400}",
                     "http://localhost/workers/dispatch/namespaces"});
  if (r.status == 127) GTEST_SKIP() << "curl is not installed";
  EXPECT_NE(r.out.find("\n400"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("request body is not valid JSON: number overflow"), std::string::npos)
      << r.out;
  EXPECT_EQ(d->ctl({"namespace", "get", "ns1"}).status, 1);  // nothing was created
}

TEST_F(BadInput, AnEmptyFileIsRefused) {
  CmdResult r = d->ctl({"script", "deploy", "prod", "app", d->write_file("empty.js", "  \n\n")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("empty"), std::string::npos) << all(r);
  EXPECT_EQ(d->get("app.example.com").body, "still v1");
}

TEST_F(BadInput, AMissingFileIsAUsageError) {
  CmdResult r = d->ctl({"script", "deploy", "prod", "app", d->dir() + "/no-such-file.js"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(all(r).find("no-such-file.js"), std::string::npos) << all(r);
}

TEST_F(BadInput, ABindingToAMissingNamespaceIsRefused) {
  CmdResult r = d->ctl({"worker", "deploy", "other", d->write_file("o.js", kDispatcher),
                        "--dispatch-namespace", "D=missing-ns"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("missing-ns"), std::string::npos) << all(r);
  CmdResult list = d->ctl({"worker", "list"});
  EXPECT_EQ(list.out.find("other"), std::string::npos) << list.out;
}

TEST_F(BadInput, DeletingANamespaceABindingUsesIsRefused) {
  CmdResult r = d->ctl({"namespace", "delete", "prod", "--force"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(all(r).find("front"), std::string::npos) << all(r);
  EXPECT_EQ(d->get("app.example.com").body, "still v1");
}

TEST_F(BadInput, AScriptWithoutAFetchHandlerFailsItsRequestsClearly) {
  ASSERT_EQ(d->ctl({"script", "deploy", "prod", "nohandler", d->write_file("n.js", "var x = 1;")}).status, 0);
  HttpResult r = d->get("nohandler.example.com");
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(eventually([&] { return d->log().find("No fetch handler") != std::string::npos; })) << d->log();
}

TEST(Wfpctl, WithNoDaemonExitsOneAndSaysSo) {
  CmdResult r = run({bin("wfpctl"), "--socket", "/tmp/wfp-no-such-daemon.sock", "status"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/tmp/wfp-no-such-daemon.sock"), std::string::npos) << r.err;
}

TEST(Wfpctl, AnUnknownCommandIsAUsageError) {
  CmdResult r = run({bin("wfpctl"), "--socket", "/tmp/x.sock", "frobnicate"});
  EXPECT_EQ(r.status, 2);
}

TEST(WfpdConfig, AnUnknownKeyIsReportedWithItsLine) {
  char tmpl[] = "/tmp/wfp-conf-XXXXXX";
  int fd = mkstemp(tmpl);
  close(fd);
  std::ofstream(tmpl) << "# comment\nlisten = 127.0.0.1:0\ncpu_msec = 5\n";
  CmdResult r = run({bin("wfpd"), "-c", tmpl, "--check-config"});
  unlink(tmpl);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cpu_msec"), std::string::npos) << r.err;
}

TEST(WfpdConfig, TheEmbeddedDefaultsAreValid) {
  CmdResult r = run({bin("wfpd"), "-c", "/dev/null", "--check-config"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(WfpdConfig, AnUnknownFlagIsAUsageError) {
  CmdResult r = run({bin("wfpd"), "--no-such-flag"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--no-such-flag"), std::string::npos) << r.err;
}

TEST(Restart, KeepsEveryScriptAndServesThemAgain) {
  Wfpd d;
  ASSERT_EQ(d.ctl({"namespace", "create", "keep"}).status, 0);
  for (int i = 0; i < 5; i++) {
    std::string src = "module.exports={fetch:function(){return new Response('kept " + std::to_string(i) + "')}}";
    ASSERT_EQ(d.ctl({"script", "deploy", "keep", "s" + std::to_string(i), d.write_file("s.js", src)}).status, 0);
  }
  ASSERT_EQ(d.ctl({"worker", "deploy", "front", d.write_file("f.js", kDispatcher), "--dispatch-namespace", "D=keep"}).status, 0);
  ASSERT_EQ(d.ctl({"route", "add", "*.example.com/*", "front"}).status, 0);
  d.stop();
  d.start();
  for (int i = 0; i < 5; i++)
    EXPECT_EQ(d.get("s" + std::to_string(i) + ".example.com").body, "kept " + std::to_string(i));
  EXPECT_EQ(d.get("s0.other.org").status, 404) << "only the stored route applies";
}

}  // namespace
}  // namespace wfp::test
