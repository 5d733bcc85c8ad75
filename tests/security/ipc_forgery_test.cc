// IPC forgery (attack catalogue 31-35): a sandbox assumed compromised
// writes crafted frames into its channel through __wfp_test (frame() for
// well-framed lies, raw() for bad lengths, sendFd() for an attached fd).
// Each must kill the sender — and only the sender: its own request fails,
// the tenant's next request gets a fresh sandbox, neighbours are served.
// One daemon for the file.
#include <gtest/gtest.h>

#include "tests/security/attack_arena.h"

namespace wfp::test {
namespace {

struct Forgery {
  const char* name;    // tenant name and test name
  const char* attack;  // statements, with kWireJs's helpers
  const char* reason;  // in the supervisor's "killing sandbox …: …REASON" line ("" = any)
};

// A raw frame header: u32 length, u16 type, u16 flags, u64 request id.
#define HEADER(len, type) "u32(" len ") + String.fromCharCode(" type ", 0, 0, 0) + u64(0)"

const Forgery kForgeries[] = {
    {"unknown-type", "__wfp_test.frame(999, 1, '');", "protocol violation: unknown message type 999"},
    {"load-worker", "__wfp_test.frame(2, 1, '');", "message load_worker may not be sent by a sandbox"},
    {"subresponse", "__wfp_test.frame(8, 1, '');", "message subresponse may not be sent by a sandbox"},
    {"compile-result", "__wfp_test.frame(12, 1, '');", "message compile_result may not be sent by a sandbox"},
    {"answer-for-a-request-not-held",
     "__wfp_test.frame(5, 987654321, u32(200) + str('OK') + pairs([]) + str('stolen') + u64(0) + u8(0) + u64(0));",
     "answer for a request it does not hold"},
    {"failure-for-a-request-not-held",
     "__wfp_test.frame(6, 987654321, u32(1) + str('forged') + str('') + u8(0) + u64(0));",
     "answer for a request it does not hold"},
    {"subrequest-naming-another-request",
     "__wfp_test.frame(7, 1, u64(1) + str('DISPATCHER') + str('good') + str('') + str('GET') + str('http://good/')"
     " + pairs([]) + str('') + i64(0) + i64(0) + u64(0) + str(''));",
     "subrequest for a request it does not hold"},
    {"fetch-naming-another-request",
     "__wfp_test.frame(14, 1, u64(1) + str('GET') + str('http://example.com/') + pairs([]) + str('') + u64(0)"
     " + u8(0));",
     "fetch for a request it does not hold"},
    {"body-read-of-a-body-not-held", "__wfp_test.frame(15, 1, u64(1) + u64(12345));",
     "body_read of a body it does not hold"},
    {"length-over-the-frame-limit", "__wfp_test.raw(" HEADER("0xffffffff", "10") ");",
     "frame longer than the frame limit"},
    {"length-past-the-published-bytes", "__wfp_test.raw(" HEADER("1024", "10") ");",
     "frame extends past the published data"},
    {"length-zero", "__wfp_test.raw(" HEADER("0", "10") ");", "malformed log"},
    {"string-length-past-the-payload", "__wfp_test.frame(10, 0, u32(0xfffffff0) + 'info');", "malformed log"},
    {"message-over-its-size-limit",
     "__wfp_test.frame(10, 0, str('info') + str(new Array(30 * 1024 + 1).join('z')));",
     "message log over its size limit"},
    // hello is sent once, first (ipc/messages.h): a second one is a lie
    // about what the peer is.
    {"second-hello", "__wfp_test.frame(1, 0, str('another build'));", ""},
};

#undef HEADER

std::string tenant_of(const Forgery& f) { return std::string("forge-") + f.name; }

Wfpd* d = nullptr;  // the file's daemon, made by the suite

class IpcForgery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    d = new Wfpd(attack_config(), "wfpd-test");
    deploy_arena(*d);
    std::vector<std::pair<std::string, std::string>> tenants;
    for (const Forgery& f : kForgeries) tenants.emplace_back(tenant_of(f), hostile_worker(f.attack, kWireJs));
    tenants.emplace_back("forge-fd-attached", hostile_worker("__wfp_test.sendFd();"));
    deploy_tenants(*d, tenants);
    ASSERT_EQ(d->get("good.tenants.example", "/warm").body, "good /warm") << log_tail(*d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};

// The forged request fails, and not with anything the forgery wanted.
void expect_failed(const HttpResult& r) {
  EXPECT_NE(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find("survived"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("stolen"), std::string::npos) << r.body;
}

// IpcForgery.Frame_UnknownType and so on.
void forgery_case(const Forgery& f) {
  std::string name = tenant_of(f);
  Neighbours n(*d);
  pid_t before = alive(*d, name);
  ASSERT_GT(before, 0) << log_tail(*d);

  expect_failed(ask(*d, name, "/attack"));
  std::string killing = "killing sandbox tenants/" + name + " (pid " + std::to_string(before) + "): ";
  EXPECT_TRUE(eventually([&] { return log_has_line(d->log(), {killing, f.reason}); }, 5000))
      << "wanted \"" << killing << "…" << f.reason << "\"\n" << log_tail(*d);

  pid_t after = alive(*d, name);
  EXPECT_GT(after, 0) << "the tenant's next request must be served by a fresh sandbox\n" << log_tail(*d);
  EXPECT_NE(after, before);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

[[maybe_unused]] const bool kForgeriesRegistered =
    register_cases<IpcForgery>("IpcForgery", "Frame", kForgeries, forgery_case, __FILE__, __LINE__);

TEST_F(IpcForgery, AnFdAttachedToTheDoorbellKillsOnlyTheSender) {
  // sendmsg is not on the allow-list, so today seccomp ends the sender
  // before the fd leaves it; were it allowed, the supervisor must kill it.
  Neighbours n(*d);
  pid_t before = alive(*d, "forge-fd-attached");
  ASSERT_GT(before, 0) << log_tail(*d);
  expect_failed(ask(*d, "forge-fd-attached", "/attack"));
  std::string who = "sandbox tenants/forge-fd-attached (pid " + std::to_string(before) + ")";
  EXPECT_TRUE(eventually([&] {
    std::string log = d->log();
    return log_has_line(log, {who, "was killed by its seccomp policy"}) || log_has_line(log, {"killing " + who});
  }, 5000)) << log_tail(*d);
  pid_t after = alive(*d, "forge-fd-attached");
  EXPECT_GT(after, 0);
  EXPECT_NE(after, before);
  EXPECT_NEIGHBOURS_UNHARMED(n);
}

}  // namespace
}  // namespace wfp::test
