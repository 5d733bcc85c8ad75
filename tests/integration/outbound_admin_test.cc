// Outbound workers on dispatch_namespace bindings, as the admin side sees
// them through a real wfpd: deployed with the real wfpctl and with raw
// Cloudflare-shaped uploads, shown by `worker get` and the API, refused
// clearly when malformed. (What fetches do through them is tested elsewhere.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

using json = nlohmann::json;

const char* kDispatcher = R"JS(
export default {
  fetch(request, env) {
    const name = new URL(request.url).hostname.split(".")[0];
    return env.DISPATCHER.get(name, {}, { outbound: { customer: name, plan: "free" } }).fetch(request);
  },
};
)JS";

const char* kEgress = R"JS(
export default { fetch: (request, env) => fetch(request) };
)JS";

class OutboundAdmin : public ::testing::Test {
 protected:
  static Wfpd* d;
  static void SetUpTestSuite() {
    d = new Wfpd();
    expect_ok(d->ctl({"namespace", "create", "users"}), d);
    expect_ok(d->ctl({"worker", "deploy", "egress", d->write_file("egress.mjs", kEgress)}), d);
    expect_ok(
        d->ctl({"worker", "deploy", "front", d->write_file("front.mjs", kDispatcher),
                "--dispatch-namespace", "DISPATCHER=users,outbound=egress,params=customer:plan"}),
        d);
  }
  static void TearDownTestSuite() {
    delete d;
    d = nullptr;
  }
  static std::string all(const CmdResult& r) { return r.out + r.err; }

  // The admin API straight, past wfpctl's own checks: curl on the socket.
  static CmdResult curl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "--unix-socket", d->socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  // A Cloudflare-shaped upload of worker `name`: the metadata part holds
  // `bindings`, the script part kEgress. Returns the parsed response.
  static json upload(const std::string& name, const json& bindings) {
    json metadata = {{"main_module", "worker.mjs"}, {"bindings", bindings}};
    std::string md = d->write_file("metadata-" + name + ".json", metadata.dump());
    std::string js = d->write_file("upload-" + name + ".mjs", kEgress);
    CmdResult r = curl({"-X", "PUT", "-F", "metadata=<" + md + ";type=application/json", "-F",
                        "worker.mjs=<" + js + ";type=application/javascript+module",
                        "http://localhost/accounts/any/workers/scripts/" + name});
    if (r.status == 127) return nullptr;
    return json::parse(r.out, nullptr, false);
  }
  static json outbound_binding(const json& outbound) {
    return json::array({{{"type", "dispatch_namespace"},
                         {"name", "D"},
                         {"namespace", "users"},
                         {"outbound", outbound}}});
  }
  static std::string error_of(const json& answer) {
    if (!answer.is_object() || !answer.contains("errors") || answer["errors"].empty()) return "";
    return answer["errors"][0].value("message", "");
  }
};
Wfpd* OutboundAdmin::d = nullptr;

const json kExpectedOutbound = {
    {"worker", {{"service", "egress"}}},
    {"params", json::array({{{"name", "customer"}}, {{"name", "plan"}}})}};

TEST_F(OutboundAdmin, WorkerGetJsonShowsCloudflaresOutboundShape) {
  CmdResult r = d->ctl({"--json", "worker", "get", "front"});
  ASSERT_EQ(r.status, 0) << all(r);
  json w = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(w.is_object()) << r.out;
  ASSERT_EQ(w["bindings"].size(), 1u) << r.out;
  const json& b = w["bindings"][0];
  EXPECT_EQ(b["type"], "dispatch_namespace");
  EXPECT_EQ(b["name"], "DISPATCHER");
  EXPECT_EQ(b["namespace"], "users");
  EXPECT_EQ(b["outbound"], kExpectedOutbound) << r.out;
}

TEST_F(OutboundAdmin, TheAdminApiAnswersTheSameShape) {
  CmdResult r = curl({"http://localhost/accounts/any/workers/scripts/front"});
  if (r.status == 127) GTEST_SKIP() << "curl is not installed";
  json answer = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << r.out;
  EXPECT_EQ(answer["success"], true) << r.out;
  EXPECT_EQ(answer["result"]["bindings"][0]["outbound"], kExpectedOutbound) << r.out;
}

TEST_F(OutboundAdmin, WorkerGetShowsTheOutboundWorkerAndItsParams) {
  CmdResult r = d->ctl({"worker", "get", "front"});
  ASSERT_EQ(r.status, 0) << all(r);
  EXPECT_NE(r.out.find("binding: dispatch_namespace DISPATCHER -> namespace users, outbound worker "
                       "egress (params customer, plan)\n"),
            std::string::npos)
      << r.out;
}

TEST_F(OutboundAdmin, ACloudflareUploadWithAnOutboundWorkerDeploys) {
  json answer = upload("cf-front", outbound_binding({{"worker", {{"service", "egress"}}},
                                                     {"params", {{{"name", "tenant"}}}}}));
  if (answer.is_null()) GTEST_SKIP() << "curl is not installed";
  ASSERT_EQ(answer["success"], true) << answer.dump();
  const json& out = answer["result"]["bindings"][0]["outbound"];
  EXPECT_EQ(out["worker"]["service"], "egress") << answer.dump();
  EXPECT_EQ(out["params"], json::array({{{"name", "tenant"}}})) << answer.dump();

  // Without params, and with wrangler's environment (ignored, and said so).
  answer = upload(
      "cf-front",
      outbound_binding({{"worker", {{"service", "egress"}, {"environment", "production"}}}}));
  ASSERT_EQ(answer["success"], true) << answer.dump();
  EXPECT_EQ(answer["result"]["bindings"][0]["outbound"]["params"], json::array());
  EXPECT_NE(answer["messages"].dump().find("environment \\\"production\\\" was ignored"),
            std::string::npos)
      << answer.dump();
  expect_ok(d->ctl({"worker", "delete", "cf-front"}), d);
}

TEST_F(OutboundAdmin, AnUnknownOutboundWorkerIsRefused) {
  CmdResult r =
      d->ctl({"worker", "deploy", "other", d->write_file("other.mjs", kDispatcher),
              "--dispatch-namespace", "DISPATCHER=users,outbound=nobody,params=customer"});
  EXPECT_EQ(r.status, 1) << all(r);
  EXPECT_NE(all(r).find("outbound worker \"nobody\" not found (binding DISPATCHER)"),
            std::string::npos)
      << all(r);
  CmdResult list = d->ctl({"worker", "list"});
  EXPECT_EQ(list.out.find("other"), std::string::npos) << list.out;
}

TEST_F(OutboundAdmin, ABadParamNameIsAUsageError) {
  for (std::string params : {"params=1st", "params=ok:a-b", "params=ok::x"}) {
    CmdResult r = d->ctl({"worker", "deploy", "other", d->write_file("other.mjs", kDispatcher),
                          "--dispatch-namespace", "DISPATCHER=users,outbound=egress," + params});
    EXPECT_EQ(r.status, 2) << params << ": " << all(r);
    EXPECT_NE(all(r).find("JavaScript identifier"), std::string::npos) << all(r);
  }
  CmdResult list = d->ctl({"worker", "list"});
  EXPECT_EQ(list.out.find("other"), std::string::npos) << list.out;
}

TEST_F(OutboundAdmin, TheAdminApiRefusesEachMalformedPartByName) {
  struct Case {
    json outbound;
    std::string message;
  };
  json many = json::array();
  for (int i = 0; i < 33; i++) many.push_back({{"name", "p" + std::to_string(i)}});
  const Case cases[] = {
      {"egress", "binding \"D\": \"outbound\" must be an object"},
      {json::object(), "binding \"D\": outbound: \"worker\" is required"},
      {{{"worker", "egress"}}, "binding \"D\": outbound: \"worker\" must be an object"},
      {{{"worker", json::object()}}, "binding \"D\": outbound.worker: \"service\" is required"},
      {{{"worker", {{"service", 7}}}},
       "binding \"D\": outbound.worker: \"service\" must be a string"},
      {{{"worker", {{"service", "../etc"}}}},
       "binding \"D\": outbound.worker: worker name \"../etc\" is invalid"},
      {{{"worker", {{"service", "egress"}}}, {"params", "customer"}},
       "binding \"D\": outbound: \"params\" must be an array"},
      {{{"worker", {{"service", "egress"}}}, {"params", {"customer"}}},
       "binding \"D\": outbound.params[0]: must be an object"},
      {{{"worker", {{"service", "egress"}}}, {"params", {json::object()}}},
       "binding \"D\": outbound.params[0]: \"name\" is required"},
      {{{"worker", {{"service", "egress"}}}, {"params", {{{"name", "ok"}}, {{"name", "1st"}}}}},
       "binding \"D\": outbound.params[1]: name \"1st\" is not a JavaScript identifier"},
      {{{"worker", {{"service", "egress"}}}, {"params", {{{"name", "a"}}, {{"name", "a"}}}}},
       "binding \"D\": outbound parameter \"a\" is given twice"},
      {{{"worker", {{"service", "egress"}}}, {"params", many}},
       "binding \"D\": outbound: 33 params; the limit is 32"},
      {{{"worker", {{"service", "nobody"}}}}, "outbound worker \"nobody\" not found (binding D)"},
  };
  for (const Case& c : cases) {
    json answer = upload("broken", outbound_binding(c.outbound));
    if (answer.is_null()) GTEST_SKIP() << "curl is not installed";
    EXPECT_EQ(answer["success"], false) << c.outbound.dump() << ": " << answer.dump();
    EXPECT_NE(error_of(answer).find(c.message), std::string::npos)
        << c.outbound.dump() << ": " << answer.dump();
  }
  EXPECT_EQ(d->ctl({"worker", "get", "broken"}).status, 1) << "a refused upload deployed nothing";
}

TEST_F(OutboundAdmin, AnOutboundWorkerInUseCannotBeDeleted) {
  CmdResult r = d->ctl({"worker", "delete", "egress"});
  EXPECT_EQ(r.status, 1) << all(r);
  EXPECT_NE(all(r).find("worker \"egress\" is still used by worker \"front\" (outbound worker of "
                        "binding DISPATCHER)"),
            std::string::npos)
      << all(r);
  EXPECT_EQ(d->ctl({"worker", "get", "egress"}).status, 0);
}

}  // namespace
}  // namespace wfp::test
