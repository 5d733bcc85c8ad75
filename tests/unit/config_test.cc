// Unit tests of wfpd.conf parsing and checking (supervisor/config.cc): the
// defaults, each error with its line, bounds, unknown and duplicate keys,
// and the listen list. Runs in the unit-test binary.
#include "supervisor/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

using namespace wfp;

namespace {

struct Parsed {
  bool ok;
  Config config;
  std::vector<std::string> errors;
};

Parsed parse(std::string_view text) {
  Parsed p{false, default_config(), {}};
  p.ok = parse_config(text, "wfpd.conf", p.config, p.errors);
  return p;
}

// The one error of a text that should have exactly one.
std::string only_error(std::string_view text) {
  Parsed p = parse(text);
  EXPECT_FALSE(p.ok) << text;
  EXPECT_EQ(p.errors.size(), 1u) << text;
  return p.errors.empty() ? "" : p.errors[0];
}

}  // namespace

TEST(Config, DefaultsAreTheDocumentedOnes) {
  Config c = default_config();
  EXPECT_EQ(c.listen, std::vector<std::string>{"127.0.0.1:8080"});
  EXPECT_EQ(c.admin_socket, "/run/wfp/admin.sock");
  EXPECT_EQ(c.data_dir, "/var/lib/wfp");
  EXPECT_EQ(c.user, "wfp");
  EXPECT_EQ(c.group, "wfp");
  EXPECT_EQ(c.dispatchers, 0);
  EXPECT_EQ(c.pool_max_total, 1000);
  EXPECT_EQ(c.pool_max_per_tenant, 1);
  EXPECT_EQ(c.pool_idle_seconds, 300);
  EXPECT_EQ(c.pool_max_requests, 0);
  EXPECT_EQ(c.pool_spares, 2);
  EXPECT_EQ(c.queue_max, 1024);
  EXPECT_EQ(c.cpu_ms, 50);
  EXPECT_EQ(c.wall_ms, 30000);
  EXPECT_EQ(c.memory_mb, 128);
  EXPECT_EQ(c.subrequests, 50);
  EXPECT_EQ(c.max_script_bytes, 10485760);
  EXPECT_EQ(c.max_body_bytes, 16777216);
  EXPECT_EQ(c.max_header_bytes, 32768);
  EXPECT_EQ(c.max_connections, 10000);
  EXPECT_EQ(c.header_timeout_ms, 10000);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.admin_listen, "");
  EXPECT_EQ(c.admin_token_file, "");
  EXPECT_EQ(c.admin_rate_limit, 50);
  EXPECT_EQ(c.trusted_proxies, "");
}

TEST(Config, TheDefaultsPassTheirOwnChecks) {
  std::vector<std::string> errors;
  EXPECT_TRUE(check_config(default_config(), errors));
  EXPECT_TRUE(errors.empty()) << errors[0];
}

TEST(Config, TheTableDeclaresEveryKeyOnceWithSaneBounds) {
  std::set<std::string> names;
  for (const ConfigKey& k : config_keys()) {
    EXPECT_TRUE(names.insert(k.name).second) << "declared twice: " << k.name;
    EXPECT_TRUE(k.summary && *k.summary) << k.name;
    EXPECT_TRUE(k.default_value) << k.name;
    if (k.type == ConfigType::integer) {
      EXPECT_LE(k.min, k.max) << k.name;
      int64_t d = std::stoll(k.default_value);
      EXPECT_GE(d, k.min) << k.name;
      EXPECT_LE(d, k.max) << k.name;
    }
  }
  EXPECT_EQ(names.size(), 34u);
  for (const char* must : {"listen",
                           "admin_socket",
                           "admin_listen",
                           "admin_token_file",
                           "admin_rate_limit",
                           "trusted_proxies",
                           "data_dir",
                           "user",
                           "group",
                           "dispatchers",
                           "pool_max_total",
                           "pool_max_per_tenant",
                           "pool_idle_seconds",
                           "pool_max_requests",
                           "pool_spares",
                           "queue_max",
                           "cpu_ms",
                           "wall_ms",
                           "memory_mb",
                           "subrequests",
                           "max_script_bytes",
                           "max_body_bytes",
                           "max_header_bytes",
                           "max_connections",
                           "header_timeout_ms",
                           "body_timeout_ms",
                           "fetch_deny_networks",
                           "fetch_allow_networks",
                           "fetch_ca_file",
                           "fetch_timeout_ms",
                           "cache_max_entry_bytes",
                           "cache_tenant_quota_mb",
                           "log_level",
                           "metrics_listen"})
    EXPECT_TRUE(names.count(must)) << must;
}

TEST(Config, TheTablesBoundsAreTheDocumentedOnes) {
  auto key = [](const char* name) {
    for (const ConfigKey& k : config_keys())
      if (std::string(k.name) == name) return k;
    ADD_FAILURE() << name;
    return ConfigKey{};
  };
  EXPECT_EQ(key("dispatchers").max, 64);
  EXPECT_EQ(key("pool_max_total").min, 1);
  EXPECT_EQ(key("pool_max_total").max, 1000000);
  EXPECT_EQ(key("pool_max_per_tenant").max, 64);
  EXPECT_EQ(key("cpu_ms").min, 1);
  EXPECT_EQ(key("cpu_ms").max, 300000);
  EXPECT_EQ(key("memory_mb").min, 8);
  EXPECT_EQ(key("memory_mb").max, 4096);
  EXPECT_EQ(key("max_header_bytes").min, 1024);
  EXPECT_EQ(key("header_timeout_ms").min, 100);
  EXPECT_EQ(key("listen").type, ConfigType::address_list);
  EXPECT_EQ(key("log_level").type, ConfigType::string);
  EXPECT_FALSE(key("listen").reloadable);
  EXPECT_TRUE(key("log_level").reloadable);
  EXPECT_EQ(key("admin_rate_limit").min, 0);
  EXPECT_EQ(key("admin_rate_limit").max, 1000000);
  EXPECT_TRUE(key("admin_rate_limit").reloadable);
  EXPECT_FALSE(key("admin_listen").reloadable);
  EXPECT_TRUE(key("admin_token_file").reloadable);
  EXPECT_TRUE(key("trusted_proxies").reloadable);
  EXPECT_EQ(key("trusted_proxies").type, ConfigType::network_list);
}

TEST(Config, ParsesKeysValuesCommentsAndBlankLines) {
  Parsed p = parse(
      "# wfpd.conf\n"
      "\n"
      "cpu_ms = 20\n"
      "   wall_ms=1000   \n"
      "memory_mb = 64 # a comment after the value\n"
      "\tdata_dir\t=\t\"/srv/wfp data\"\n"
      "user = \"svc#1\"  # quotes keep the hash\n"
      "log_level = debug\r\n"
      "    # an indented comment\n"
      "group = wfp-users");
  ASSERT_TRUE(p.ok) << p.errors[0];
  EXPECT_EQ(p.config.cpu_ms, 20);
  EXPECT_EQ(p.config.wall_ms, 1000);
  EXPECT_EQ(p.config.memory_mb, 64);
  EXPECT_EQ(p.config.data_dir, "/srv/wfp data");
  EXPECT_EQ(p.config.user, "svc#1");
  EXPECT_EQ(p.config.log_level, "debug");
  EXPECT_EQ(p.config.group, "wfp-users");
  EXPECT_EQ(p.config.pool_spares, 2);  // untouched keys keep their defaults
}

TEST(Config, AnEmptyFileLeavesTheDefaults) {
  Parsed p = parse("");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.config.cpu_ms, 50);
}

TEST(Config, AnUnknownKeyIsAnErrorNamingItsLine) {
  EXPECT_EQ(only_error("cpu_ms = 5\n\nbogus_key = 1\n"), "wfpd.conf:3: unknown key \"bogus_key\"");
}

TEST(Config, AnUnknownKeyCloseToAKnownOneSuggestsIt) {
  std::string e = only_error("\n\ncpu_msec = 10\n");
  EXPECT_EQ(e.rfind("wfpd.conf:3: unknown key \"cpu_msec\"", 0), 0u) << e;
  EXPECT_NE(e.find("did you mean \"cpu_ms\""), std::string::npos) << e;
}

TEST(Config, AMissingEqualsSignIsAnError) {
  EXPECT_EQ(only_error("\n\n\ncpu_ms 50\n"), "wfpd.conf:4: missing \"=\" (expected key = value)");
  EXPECT_EQ(only_error("cpu_ms # = 50\n"), "wfpd.conf:1: missing \"=\" (expected key = value)");
  EXPECT_EQ(only_error("= 50\n"), "wfpd.conf:1: missing key before \"=\" (expected key = value)");
}

TEST(Config, ValuesOutOfBoundsAreErrors) {
  EXPECT_EQ(only_error("a = b\n"), "wfpd.conf:1: unknown key \"a\"");
  EXPECT_EQ(only_error("\n\n\n\n\n\ncpu_ms = 0\n"),
            "wfpd.conf:7: cpu_ms: 0 is below the minimum 1");
  EXPECT_EQ(only_error("cpu_ms = 300001"),
            "wfpd.conf:1: cpu_ms: 300001 is above the maximum 300000");
  EXPECT_EQ(only_error("memory_mb = -1"), "wfpd.conf:1: memory_mb: -1 is below the minimum 8");
  EXPECT_EQ(only_error("dispatchers = 65"), "wfpd.conf:1: dispatchers: 65 is above the maximum 64");
  Parsed edge = parse("cpu_ms = 1\nwall_ms = 300000\ndispatchers = 0\npool_max_requests = 0");
  EXPECT_TRUE(edge.ok);
}

TEST(Config, IntegersArePlainDecimal) {
  for (const char* v : {"50ms", "5e3", "0x10", "+5", "1 000", "1.5", "ten", "-", "--5"}) {
    std::string e = only_error(std::string("cpu_ms = ") + v);
    EXPECT_EQ(e, std::string("wfpd.conf:1: cpu_ms: \"") + v + "\" is not a decimal integer");
  }
  EXPECT_EQ(only_error("cpu_ms = 99999999999999999999999"),
            "wfpd.conf:1: cpu_ms: 99999999999999999999999 is above the maximum 300000");
  Parsed p = parse("cpu_ms = \"75\"");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.config.cpu_ms, 75);
  EXPECT_EQ(only_error("cpu_ms ="), "wfpd.conf:1: cpu_ms: missing value");
}

TEST(Config, ADuplicateKeyNamesBothLines) {
  std::string e = only_error("cpu_ms = 10\nwall_ms = 100\n\ncpu_ms = 20\n");
  EXPECT_EQ(e, "wfpd.conf:4: duplicate key \"cpu_ms\" (first set on line 1)");
}

TEST(Config, LogLevelIsOneOfFour) {
  for (const char* ok : {"debug", "info", "warn", "error"})
    EXPECT_TRUE(parse(std::string("log_level = ") + ok).ok) << ok;
  EXPECT_EQ(only_error("log_level = verbose"),
            "wfpd.conf:1: log_level: \"verbose\" is not one of debug, info, warn, error");
}

TEST(Config, ReportsEveryErrorNotJustTheFirst) {
  Parsed p = parse("cpu_ms = 0\nnope = 1\nwall_ms\nmemory_mb = 9000\n");
  EXPECT_FALSE(p.ok);
  ASSERT_EQ(p.errors.size(), 4u);
  EXPECT_EQ(p.errors[0].rfind("wfpd.conf:1:", 0), 0u);
  EXPECT_EQ(p.errors[1].rfind("wfpd.conf:2:", 0), 0u);
  EXPECT_EQ(p.errors[2].rfind("wfpd.conf:3:", 0), 0u);
  EXPECT_EQ(p.errors[3].rfind("wfpd.conf:4:", 0), 0u);
  EXPECT_EQ(p.config.cpu_ms, 50);  // a bad value never lands
}

TEST(Config, QuotesMustBeClosedAndNothingFollowsThem) {
  EXPECT_NE(only_error("user = \"wfp").find("unterminated"), std::string::npos);
  EXPECT_NE(only_error("user = \"wfp\" extra").find("after the closing quote"), std::string::npos);
}

TEST(Config, ListenTakesACommaSeparatedListOfAddresses) {
  Parsed p = parse("listen = 0.0.0.0:80, [::1]:8080 ,127.0.0.1:0,[::]:443");
  ASSERT_TRUE(p.ok) << p.errors[0];
  EXPECT_EQ(p.config.listen,
            (std::vector<std::string>{"0.0.0.0:80", "[::1]:8080", "127.0.0.1:0", "[::]:443"}));
  std::vector<std::string> errors;
  EXPECT_TRUE(check_config(p.config, errors));
}

TEST(Config, ListenRefusesMalformedAddresses) {
  for (const char* bad :
       {"8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http",
        "::1:8080", "[::1]", "[::1]8080", "[::1:8080", "[nothex]:80", "300.1.1.1:80",
        "localhost:8080", ":8080", "127.0.0.1:80x"}) {
    std::string e = only_error(std::string("listen = ") + bad);
    EXPECT_EQ(e.rfind(std::string("wfpd.conf:1: listen: \"") + bad + "\"", 0), 0u) << e;
  }
  EXPECT_EQ(only_error("listen = ,"), "wfpd.conf:1: listen: no address given");
  EXPECT_NE(only_error("listen = ::1:8080").find("brackets"), std::string::npos);
}

TEST(Config, CheckConfigValidatesValuesSetOutsideTheFile) {
  Config c = default_config();
  c.listen = {"127.0.0.1:8080", "not-an-address"};
  c.cpu_ms = 0;
  c.log_level = "loud";
  c.admin_socket = "/" + std::string(200, 's');
  c.pool_max_total = 4;
  c.pool_max_per_tenant = 8;
  c.user = "";
  std::vector<std::string> errors;
  EXPECT_FALSE(check_config(c, errors));
  std::string all;
  for (auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("listen: \"not-an-address\""), std::string::npos) << all;
  EXPECT_NE(all.find("cpu_ms: 0 is below the minimum 1"), std::string::npos) << all;
  EXPECT_NE(all.find("log_level: \"loud\""), std::string::npos) << all;
  EXPECT_NE(all.find("admin_socket:"), std::string::npos) << all;
  EXPECT_NE(all.find("pool_max_per_tenant: 8 is above pool_max_total 4"), std::string::npos) << all;
  EXPECT_NE(all.find("user: missing value"), std::string::npos) << all;
  EXPECT_EQ(errors.size(), 6u) << all;
  c = default_config();
  c.listen.clear();
  errors.clear();
  EXPECT_FALSE(check_config(c, errors));
}

TEST(Config, LoadsAFileAndNamesItInErrors) {
  std::string dir = (std::filesystem::temp_directory_path() / "wfp-config-XXXXXX").string();
  ASSERT_TRUE(mkdtemp(dir.data()));
  std::string path = dir + "/wfpd.conf";
  std::ofstream(path) << "cpu_ms = 25\nwall_ms = 0\n";
  Config c = default_config();
  std::vector<std::string> errors;
  EXPECT_FALSE(load_config_file(path, c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], path + ":2: wall_ms: 0 is below the minimum 1");
  EXPECT_EQ(c.cpu_ms, 25);

  errors.clear();
  EXPECT_FALSE(load_config_file(dir + "/missing.conf", c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("missing.conf"), std::string::npos);
  EXPECT_NE(errors[0].find("No such file"), std::string::npos) << errors[0];
  std::filesystem::remove_all(dir);
}

TEST(Config, FetchNetworksAreCheckedAndMayBeEmpty) {
  Config c = default_config();
  EXPECT_NE(c.fetch_deny_networks.find("127.0.0.0/8"), std::string::npos);
  EXPECT_EQ(c.fetch_allow_networks, "");
  EXPECT_EQ(c.fetch_ca_file, "");
  EXPECT_EQ(c.fetch_timeout_ms, 30000);
  std::vector<std::string> errors;
  EXPECT_TRUE(check_config(c, errors)) << (errors.empty() ? "" : errors[0]);
  ASSERT_TRUE(parse_config("fetch_allow_networks = 10.1.2.0/24, ::1\nfetch_deny_networks =\n", "t.conf", c, errors))
      << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(c.fetch_allow_networks, "10.1.2.0/24, ::1");
  EXPECT_EQ(c.fetch_deny_networks, "");
  EXPECT_TRUE(check_config(c, errors));
  errors.clear();
  EXPECT_FALSE(parse_config("fetch_allow_networks = 10.0.0.0/33\n", "t.conf", c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("t.conf:1: fetch_allow_networks"), std::string::npos) << errors[0];
}

TEST(Config, AdminListenNeedsATokenFile) {
  Config c = default_config();
  c.admin_listen = "127.0.0.1:9443";
  std::vector<std::string> errors;
  EXPECT_FALSE(check_config(c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "admin_listen: set, but admin_token_file is not: the TCP admin API requires a bearer token");
  errors.clear();
  c.admin_listen = "localhost:9443";
  c.admin_token_file = "/nonexistent/token";
  EXPECT_FALSE(check_config(c, errors));
  std::string all;
  for (auto& e : errors) all += e + "\n";
  EXPECT_NE(all.find("admin_listen: listen: \"localhost:9443\""), std::string::npos) << all;
  EXPECT_NE(all.find("admin_token_file: /nonexistent/token: cannot open"), std::string::npos) << all;
}

TEST(Config, TheTokenFileIsCheckedForItsModeAndLength) {
  std::string dir = (std::filesystem::temp_directory_path() / "wfp-config-XXXXXX").string();
  ASSERT_TRUE(mkdtemp(dir.data()));
  std::string path = dir + "/token";
  std::ofstream(path) << std::string(40, 'k') << "\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                         std::filesystem::perms::group_read | std::filesystem::perms::others_read);
  Config c = default_config();
  c.admin_listen = "127.0.0.1:0";
  c.admin_token_file = path;
  std::vector<std::string> errors;
  EXPECT_FALSE(check_config(c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("admin_token_file: " + path + ": has mode 0644", 0), 0u) << errors[0];
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  errors.clear();
  EXPECT_TRUE(check_config(c, errors)) << errors[0];
  std::filesystem::remove_all(dir);
}

TEST(Config, TrustedProxiesAndTheAdminRateAreParsed) {
  Parsed p = parse("trusted_proxies = 10.0.0.0/8, ::1\nadmin_rate_limit = 0\n");
  ASSERT_TRUE(p.ok) << p.errors[0];
  EXPECT_EQ(p.config.trusted_proxies, "10.0.0.0/8, ::1");
  EXPECT_EQ(p.config.admin_rate_limit, 0);
  EXPECT_NE(only_error("trusted_proxies = 10.0.0.0/99").find("trusted_proxies: bad network"), std::string::npos);
  EXPECT_EQ(only_error("admin_rate_limit = -1"), "wfpd.conf:1: admin_rate_limit: -1 is below the minimum 0");
}
