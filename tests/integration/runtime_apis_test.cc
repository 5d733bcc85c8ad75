// The Workers web APIs inside real seccomp-locked children: a real wfpd, workers deployed with
// wfpctl, reached over HTTP. Proves crypto and encoding need nothing the locked policy forbids.
// Runs in the test process; trusts only what it observes (HTTP answers, /proc, wfpd's log).
#include <gtest/gtest.h>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

// Checks an HS256 JWT from ?token= before routing, as dispatchers do;
// without a token it routes straight on.
const char* kDispatcher = R"JS(
var SECRET = 'wfp-dispatch-secret';
var keyPromise = null;
function b64url(s) {
  var bin = atob(s.replace(/-/g, '+').replace(/_/g, '/')), u = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
  return u;
}
function checkToken(token) {
  if (!keyPromise) keyPromise = crypto.subtle.importKey('raw', new TextEncoder().encode(SECRET),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  var p = token.split('.');
  return keyPromise.then(function (key) {
    return crypto.subtle.verify('HMAC', key, b64url(p[2]), new TextEncoder().encode(p[0] + '.' + p[1]));
  }).then(function (ok) {
    return ok ? JSON.parse(new TextDecoder().decode(b64url(p[1]))).sub : null;
  });
}
module.exports = {
  fetch: function (request, env) {
    var name = (request.headers.get('host') || '').split('.')[0];
    var q = request.url.indexOf('?token=');
    if (q < 0) return env.DISPATCHER.get(name).fetch(request);
    return checkToken(request.url.slice(q + 7)).then(function (sub) {
      if (sub === null) return new Response('bad token\n', { status: 401 });
      return env.DISPATCHER.get(sub).fetch(request);
    });
  }
};
)JS";

// Every API of this issue that touches natives, in one user worker.
const char* kApis = R"JS(
function hex(b) {
  var u = new Uint8Array(b), s = '';
  for (var i = 0; i < u.length; i++) s += (u[i] < 16 ? '0' : '') + u[i].toString(16);
  return s;
}
module.exports = {
  fetch: function () {
    var enc = new TextEncoder();
    var random = crypto.getRandomValues(new Uint8Array(32));
    var uuid = crypto.randomUUID();
    return Promise.all([
      crypto.subtle.digest('SHA-256', enc.encode('abc')),
      crypto.subtle.importKey('raw', enc.encode('Jefe'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
        .then(function (key) { return crypto.subtle.sign('HMAC', key, enc.encode('what do ya want for nothing?')); }),
      crypto.subtle.digest('SHA-512', random)
    ]).then(function (r) {
      return new Response([
        'sha256=' + hex(r[0]),
        'hmac=' + hex(r[1]),
        'sha512-length=' + r[2].byteLength,
        'uuid-ok=' + /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid),
        'text=' + new TextDecoder().decode(enc.encode('Zoë 😀')),
        'base64=' + btoa('hi') + ' ' + atob('aGk=')
      ].join('\n') + '\n');
    });
  }
};
)JS";

const char* kExpected =
    "sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
    "hmac=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n"
    "sha512-length=64\n"
    "uuid-ok=true\n"
    "text=Zoë 😀\n"
    "base64=aGk= hi\n";

class RuntimeApis : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "customers"}));
    expect_ok(d->ctl({"script", "deploy", "customers", "apis", d->write_file("apis.js", kApis)}));
    expect_ok(d->ctl({"worker", "deploy", "dispatcher", d->write_file("d.js", kDispatcher),
               "--dispatch-namespace", "DISPATCHER=customers"}));
    expect_ok(d->ctl({"route", "add", "*/*", "dispatcher"}));
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
};
Wfpd* RuntimeApis::d = nullptr;

TEST_F(RuntimeApis, CryptoAndEncodingWorkInsideALockedSandboxWithoutKillingIt) {
  HttpResult r = d->get("apis.example.com");
  ASSERT_EQ(r.status, 200) << r.head << r.body << d->log();
  EXPECT_EQ(r.body, kExpected);
  auto first = d->processes("wfpd: sandbox customers/apis");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(proc_status_field(first[0], "Seccomp"), "2");
  // Same answer from the same process: the first request did not kill it.
  r = d->get("apis.example.com");
  EXPECT_EQ(r.body, kExpected);
  auto second = d->processes("wfpd: sandbox customers/apis");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0], first[0]);
  EXPECT_EQ(d->log().find("killed by its seccomp policy"), std::string::npos) << d->log();
}

TEST_F(RuntimeApis, ALockedDispatcherChecksAJwtBeforeRouting) {
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhcGlzIn0.";  // {"sub":"apis"}
  // The MAC of the header.payload above under the dispatcher's secret
  // (computed independently: python3 hmac/hashlib).
  const std::string good = token + "gzrBSIrvedTIpE0lgJYqiNRlsuwGo5HQuBkUmQ9KHRE";
  const std::string bad = token + "hzrBSIrvedTIpE0lgJYqiNRlsuwGo5HQuBkUmQ9KHRE";
  HttpResult r = d->get("anything.example.com", "/?token=" + good);
  EXPECT_EQ(r.status, 200) << r.body << d->log();
  EXPECT_EQ(r.body, kExpected);
  r = d->get("anything.example.com", "/?token=" + bad);
  EXPECT_EQ(r.status, 401) << r.body;
  auto dispatcher = d->processes("wfpd: dispatcher 0");
  ASSERT_EQ(dispatcher.size(), 1u);
  EXPECT_EQ(proc_status_field(dispatcher[0], "Seccomp"), "2");
  EXPECT_EQ(d->log().find("killed by its seccomp policy"), std::string::npos) << d->log();
}

}  // namespace
}  // namespace wfp::test
