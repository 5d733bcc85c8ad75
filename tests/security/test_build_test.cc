// The test hooks exist only in the test build (DESIGN.md, Isolation):
// build/wfpd holds no trace of __wfp_test and a worker in it can't see
// one, while the same worker in build/wfpd-test can (so these tests would
// notice hooks leaking into the release build, and can fail).
#include <gtest/gtest.h>

#include "tests/security/attack_arena.h"

namespace wfp::test {
namespace {

const char* kTypeOf = R"JS(
module.exports = { fetch: function () { return new Response(typeof __wfp_test); } };
)JS";

TEST(TestBuild, TheReleaseBinaryHoldsNoTestHookName) {
  std::string release = read_file(bin("wfpd"));
  std::string test_build = read_file(bin("wfpd-test"));
  ASSERT_GT(release.size(), 100000u) << bin("wfpd") << " is not built";
  ASSERT_GT(test_build.size(), 100000u) << bin("wfpd-test") << " is not built";
  EXPECT_EQ(release.find("__wfp_test"), std::string::npos) << bin("wfpd") << " mentions the test hooks";
  EXPECT_NE(test_build.find("__wfp_test"), std::string::npos) << "the search itself must find the hooks in "
                                                              << bin("wfpd-test");
}

// typeof __wfp_test for a user worker and for a platform worker of a
// daemon started from `binary`.
std::pair<std::string, std::string> hooks_seen_by_workers(const std::string& binary) {
  Wfpd d(attack_config(), binary);
  deploy_arena(d);
  deploy_tenant(d, "probe", kTypeOf);
  expect_ok(d.ctl({"worker", "deploy", "platprobe", d.write_file("platprobe.js", kTypeOf)}), &d);
  expect_ok(d.ctl({"route", "add", "platprobe.example/*", "platprobe"}), &d);
  HttpResult user = ask(d, "probe");
  HttpResult platform = d.get("platprobe.example");
  EXPECT_EQ(user.status, 200) << user.body << log_tail(d);
  EXPECT_EQ(platform.status, 200) << platform.body << log_tail(d);
  return {user.body, platform.body};
}

TEST(TestBuild, AWorkerSeesTheHooksInTheTestBuildOnly) {
  auto [user, platform] = hooks_seen_by_workers("wfpd");
  EXPECT_EQ(user, "undefined") << "a user worker of the release build";
  EXPECT_EQ(platform, "undefined") << "a platform worker of the release build";
  auto [test_user, test_platform] = hooks_seen_by_workers("wfpd-test");
  EXPECT_EQ(test_user, "object") << "a user worker of the test build";
  EXPECT_EQ(test_platform, "object") << "a platform worker of the test build";
}

}  // namespace
}  // namespace wfp::test
