// wfpd's configuration: every key declared once in config.cc's table with
// its type, default, bounds and whether SIGHUP reloads it; the parser, the
// --check-config report and wfpd.conf(5) are all driven from that table.
// Runs in the supervisor; the file is trusted (root-owned) but may be wrong.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wfp {

struct Config {
  std::vector<std::string> listen;   // "ADDR:PORT", IPv6 as "[::1]:8080"
  std::string admin_socket;
  std::string admin_listen;          // "ADDR:PORT" of the TCP admin API, "" = none
  std::string admin_token_file;      // its bearer token (admin_auth.h)
  int64_t admin_rate_limit;          // admin requests a second per client; 0 = unlimited
  std::string data_dir;
  std::string user;
  std::string group;
  int64_t dispatchers;               // 0 = one per core
  int64_t pool_max_total;
  int64_t pool_max_per_tenant;
  int64_t pool_idle_seconds;
  int64_t pool_max_requests;         // 0 = unlimited
  int64_t pool_spares;
  int64_t queue_max;
  int64_t cpu_ms;
  int64_t wall_ms;
  int64_t memory_mb;
  int64_t subrequests;
  int64_t max_script_bytes;
  int64_t max_body_bytes;
  int64_t max_header_bytes;
  int64_t max_connections;
  int64_t header_timeout_ms;
  int64_t body_timeout_ms;
  std::string trusted_proxies;       // CIDR list: whose X-Forwarded-For/-Proto to believe
  std::string fetch_deny_networks;   // CIDR list (netpolicy.h)
  std::string fetch_allow_networks;  // CIDR list, exceptions to the deny list
  std::string fetch_ca_file;         // "" = the system's trust store
  int64_t fetch_timeout_ms;
  int64_t cache_max_entry_bytes;
  int64_t cache_tenant_quota_mb;
  std::string log_level;             // debug | info | warn | error
  std::string metrics_listen;        // "ADDR:PORT" of /metrics, "" = none
};

// string: one value; optional_string: may be empty; network_list: CIDR
// ranges (supervisor/netpolicy.h), may be empty.
enum class ConfigType { string, integer, address_list, optional_string, network_list };

struct ConfigKey {
  const char* name;
  ConfigType type;
  const char* default_value;  // as it would be written in the file
  int64_t min, max;           // integers only
  bool reloadable;            // SIGHUP applies it without a restart
  const char* summary;        // one line, for --help and the docs check
};

// The table, in the order wfpd.conf(5) documents it.
const std::vector<ConfigKey>& config_keys();

// The embedded defaults (what wfpd serves with no file).
Config default_config();

// Parses `text` read from `path` on top of `out` (normally the defaults).
// Syntax: "key = value" lines, '#' starts a comment, blank lines ignored.
// Appends one message per error, "PATH:LINE: text" (unknown key, bad value,
// out of bounds, missing '='), and returns false if there was any.
bool parse_config(std::string_view text, const std::string& path, Config& out,
                  std::vector<std::string>& errors);

// Reads and parses a file; a missing or unreadable file is one error.
bool load_config_file(const std::string& path, Config& out, std::vector<std::string>& errors);

// Validates values that depend on each other (e.g. listen addresses parse),
// and reads admin_token_file, when set, to check it (admin_auth.h).
bool check_config(const Config& c, std::vector<std::string>& errors);

// SIGHUP: the keys whose values differ between `a` and `b`, in table order.
std::vector<std::string> config_changes(const Config& a, const Config& b);
// Copies the reloadable keys of `next` into `live`; the others stay.
void apply_reloadable(Config& live, const Config& next);
const ConfigKey* config_key(const std::string& name);

}  // namespace wfp
