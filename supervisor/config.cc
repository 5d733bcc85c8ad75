// wfpd.conf: the one table of keys (name, type, default, bounds, reload),
// the parser driven by it, and the checks of values that depend on each
// other. Runs in the supervisor at start-up and on SIGHUP; the file is
// trusted (root-owned) but may be wrong, so every error names its line.
#include "supervisor/config.h"
#include "supervisor/admin_auth.h"
#include "supervisor/netpolicy.h"
#include "supervisor/text.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

namespace wfp {
namespace {

// One row per key: the public description plus where the value lives in
// Config. Exactly one of the three member pointers is set, matching type.
struct KeyBinding {
  ConfigKey key;
  std::string Config::*str = nullptr;
  int64_t Config::*num = nullptr;
  std::vector<std::string> Config::*list = nullptr;
  const char* choices = nullptr;  // strings only: "a|b|c", or nullptr for any
};

constexpr int64_t kNoBound = 0;

KeyBinding str_key(const char* name, std::string Config::*field, const char* def, bool reload,
                   const char* summary, const char* choices = nullptr) {
  KeyBinding k{{name, ConfigType::string, def, kNoBound, kNoBound, reload, summary}};
  k.str = field;
  k.choices = choices;
  return k;
}

KeyBinding opt_str_key(const char* name, std::string Config::*field, const char* def, bool reload,
                       const char* summary, ConfigType type = ConfigType::optional_string) {
  KeyBinding k{{name, type, def, kNoBound, kNoBound, reload, summary}};
  k.str = field;
  return k;
}

KeyBinding int_key(const char* name, int64_t Config::*field, const char* def, int64_t min,
                   int64_t max, bool reload, const char* summary) {
  KeyBinding k{{name, ConfigType::integer, def, min, max, reload, summary}};
  k.num = field;
  return k;
}

KeyBinding list_key(const char* name, std::vector<std::string> Config::*field, const char* def,
                    bool reload, const char* summary) {
  KeyBinding k{{name, ConfigType::address_list, def, kNoBound, kNoBound, reload, summary}};
  k.list = field;
  return k;
}

// The table, in the order wfpd.conf(5) documents it. "reload" means SIGHUP
// applies the new value without a restart: sockets, paths, identities and
// the process layout need a restart; limits and pool sizes apply to new
// requests and new sandboxes.
const std::vector<KeyBinding>& table() {
  static const std::vector<KeyBinding> t = {
      list_key("listen", &Config::listen, "127.0.0.1:8080", false,
               "public HTTP listeners, comma-separated ADDR:PORT (IPv6 as [::1]:8080)"),
      str_key("admin_socket", &Config::admin_socket, "/run/wfp/admin.sock", false,
              "Unix socket of the admin API (mode 0660, group of the service user)"),
      opt_str_key("admin_listen", &Config::admin_listen, "", false,
                  "ADDR:PORT of a TCP admin API that requires a bearer token; empty = none"),
      opt_str_key("admin_token_file", &Config::admin_token_file, "", true,
                  "file holding the bearer token of admin_listen (mode 0600, at least 32 bytes)"),
      int_key("admin_rate_limit", &Config::admin_rate_limit, "50", 0, 1000000, true,
              "admin API requests a second per client (uid or address), burst twice that; 0 = unlimited"),
      str_key("data_dir", &Config::data_dir, "/var/lib/wfp", false,
              "directory of the script store and the per-tenant cache files"),
      str_key("user", &Config::user, "wfp", false, "service user the daemon runs as after binding"),
      str_key("group", &Config::group, "wfp", false, "service group the daemon runs as"),
      int_key("dispatchers", &Config::dispatchers, "0", 0, 64, false,
              "dispatcher processes running platform workers; 0 = one per core"),
      int_key("pool_max_total", &Config::pool_max_total, "1000", 1, 1000000, true,
              "most sandboxes alive at once, over all tenants"),
      int_key("pool_max_per_tenant", &Config::pool_max_per_tenant, "1", 1, 64, true,
              "most sandboxes alive at once for one tenant"),
      int_key("pool_idle_seconds", &Config::pool_idle_seconds, "300", 1, 86400, true,
              "an idle sandbox is ended after this many seconds"),
      int_key("pool_max_requests", &Config::pool_max_requests, "0", 0, 1000000000, true,
              "a sandbox is replaced after this many requests; 0 = unlimited"),
      int_key("pool_spares", &Config::pool_spares, "2", 0, 64, true,
              "sandboxes the zygote keeps forked ahead, not yet given a tenant"),
      int_key("queue_max", &Config::queue_max, "1024", 0, 1000000, true,
              "requests waiting for a busy pool; past it they get 503"),
      int_key("cpu_ms", &Config::cpu_ms, "50", 1, 300000, true,
              "CPU time of one worker invocation, in milliseconds"),
      int_key("wall_ms", &Config::wall_ms, "30000", 1, 300000, true,
              "wall-clock time of one worker invocation, in milliseconds"),
      int_key("memory_mb", &Config::memory_mb, "128", 8, 4096, true, "heap of one sandbox, in MiB"),
      int_key("subrequests", &Config::subrequests, "50", 0, 10000, true,
              "fetch, service-binding and Cache API calls of one invocation"),
      // The upper bounds keep a script (with its bytecode) and a body inside
      // the size limits of the IPC messages that carry them (ipc/messages.cc).
      int_key("max_script_bytes", &Config::max_script_bytes, "10485760", 1024, 16777216, true,
              "largest script accepted by a deploy, in bytes"),
      int_key("max_body_bytes", &Config::max_body_bytes, "16777216", 0, 67108864, true,
              "largest request body accepted, in bytes; past it 413"),
      int_key("max_header_bytes", &Config::max_header_bytes, "32768", 1024, 1048576, true,
              "largest request line plus headers, in bytes; past it 414 or 431"),
      int_key("max_connections", &Config::max_connections, "10000", 1, 1000000, true,
              "most open client connections; past it new ones get 503"),
      int_key("header_timeout_ms", &Config::header_timeout_ms, "10000", 100, 600000, true,
              "the whole request head must arrive within this many milliseconds"),
      int_key("body_timeout_ms", &Config::body_timeout_ms, "60000", 100, 600000, true,
              "the whole request body must arrive within this many milliseconds"),
      opt_str_key("trusted_proxies", &Config::trusted_proxies, "", true,
                  "proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (CIDR, comma-separated)",
                  ConfigType::network_list),
      opt_str_key("fetch_deny_networks", &Config::fetch_deny_networks, kDefaultDenyNetworks, true,
                  "networks user workers' fetch() may not reach (CIDR, comma-separated)",
                  ConfigType::network_list),
      opt_str_key("fetch_allow_networks", &Config::fetch_allow_networks, "", true,
                  "exceptions to fetch_deny_networks (CIDR, comma-separated)", ConfigType::network_list),
      opt_str_key("fetch_ca_file", &Config::fetch_ca_file, "", false,
                  "PEM file of the CAs fetch() trusts; empty = the system's trust store"),
      int_key("fetch_timeout_ms", &Config::fetch_timeout_ms, "30000", 100, 300000, true,
              "a fetch() fails when its origin sends nothing for this many milliseconds"),
      int_key("cache_max_entry_bytes", &Config::cache_max_entry_bytes, "16777216", 0, 536870912, false,
              "largest response body the Cache API stores, in bytes"),
      int_key("cache_tenant_quota_mb", &Config::cache_tenant_quota_mb, "64", 1, 1048576, false,
              "Cache API storage of one tenant, in MiB; least recently used entries go past it"),
      str_key("log_level", &Config::log_level, "info", true,
              "least severe log level written: debug, info, warn or error",
              "debug|info|warn|error"),
      opt_str_key("metrics_listen", &Config::metrics_listen, "", false,
                  "ADDR:PORT serving Prometheus metrics at /metrics; empty = none"),
  };
  return t;
}


// Shows a value inside an error message without letting it break the line.
std::string shown(std::string_view v) {
  std::string out;
  for (unsigned char c : v.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (v.size() > 200) out += "...";
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

const KeyBinding* find_key(std::string_view name) {
  for (const auto& k : table())
    if (name == k.key.name) return &k;
  return nullptr;
}

// Plain decimal, optionally negative (so "-1" gets the bounds message
// rather than "not a number"); no suffixes, no '+', no hex.
bool parse_decimal(std::string_view v, int64_t& out) {
  bool neg = !v.empty() && v[0] == '-';
  if (neg) v.remove_prefix(1);
  if (v.empty() || v.size() > 18) return false;  // 18 digits fit in int64 with room
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  out = neg ? -n : n;
  return true;
}

bool check_integer(const ConfigKey& k, int64_t v, std::string& error) {
  if (v < k.min) {
    error = std::string(k.name) + ": " + std::to_string(v) + " is below the minimum " +
            std::to_string(k.min);
    return false;
  }
  if (v > k.max) {
    error = std::string(k.name) + ": " + std::to_string(v) + " is above the maximum " +
            std::to_string(k.max);
    return false;
  }
  return true;
}

bool check_choice(const KeyBinding& k, std::string_view v, std::string& error) {
  if (!k.choices) return true;
  std::string_view rest = k.choices;
  std::string listed;
  while (!rest.empty()) {
    size_t bar = rest.find('|');
    std::string_view c = rest.substr(0, bar);
    if (c == v) return true;
    listed += (listed.empty() ? "" : ", ") + std::string(c);
    rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
  }
  error = std::string(k.key.name) + ": \"" + shown(v) + "\" is not one of " + listed;
  return false;
}

// "ADDR:PORT" with ADDR an IPv4 literal or a bracketed IPv6 literal and
// PORT 0..65535 (0 = pick a free port, which wfpd then logs).
bool check_listen_address(std::string_view item, std::string& error) {
  auto fail = [&](const char* why) {
    error = "listen: \"" + shown(item) + "\" " + why;
    return false;
  };
  std::string addr;
  std::string_view port;
  if (!item.empty() && item.front() == '[') {
    size_t close = item.find(']');
    if (close == std::string_view::npos) return fail("has no closing \"]\"");
    addr = std::string(item.substr(1, close - 1));
    if (close + 1 >= item.size() || item[close + 1] != ':')
      return fail("has no port (expected [ADDR]:PORT)");
    port = item.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, addr.c_str(), &a6) != 1)
      return fail("is not a valid IPv6 address in brackets");
  } else {
    size_t colon = item.rfind(':');
    if (colon == std::string_view::npos) return fail("has no port (expected ADDR:PORT)");
    addr = std::string(item.substr(0, colon));
    port = item.substr(colon + 1);
    if (addr.find(':') != std::string::npos)
      return fail("looks like IPv6: write it in brackets, e.g. [::1]:8080");
    in_addr a4;
    if (inet_pton(AF_INET, addr.c_str(), &a4) != 1)
      return fail("does not start with an IPv4 address (or a bracketed IPv6 one)");
  }
  int64_t p;
  if (port.empty() || port[0] == '-' || !parse_decimal(port, p) || p > 65535)
    return fail("has no valid port (0..65535)");
  return true;
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = trim_ows(v.substr(0, comma), true);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

// Separates the value from a trailing comment and strips matching double
// quotes. A quoted value may hold '#'; an unquoted one ends at the first '#'.
bool extract_value(std::string_view raw, std::string_view& value, std::string& error) {
  raw = trim_ows(raw, true);
  if (!raw.empty() && raw.front() == '"') {
    size_t close = raw.find('"', 1);
    if (close == std::string_view::npos) {
      error = "unterminated \"\"\" in the value";
      return false;
    }
    std::string_view after = trim_ows(raw.substr(close + 1), true);
    if (!after.empty() && after.front() != '#') {
      error = "text after the closing quote (a comment starts with \"#\")";
      return false;
    }
    value = raw.substr(1, close - 1);
    return true;
  }
  size_t hash = raw.find('#');
  value = trim_ows(raw.substr(0, hash), true);
  return true;
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> k;
    for (const auto& b : table()) k.push_back(b.key);
    return k;
  }();
  return keys;
}

Config default_config() {
  Config c{};
  for (const auto& k : table()) {
    std::string_view d = k.key.default_value;
    if (k.str) c.*k.str = std::string(d);
    if (k.list) c.*k.list = split_list(d);
    if (k.num) {
      int64_t v = 0;
      parse_decimal(d, v);
      c.*k.num = v;
    }
  }
  return c;
}

bool parse_config(std::string_view text, const std::string& path, Config& out,
                  std::vector<std::string>& errors) {
  size_t errors_before = errors.size();
  std::map<std::string, int, std::less<>> seen_on_line;
  int line_no = 0;
  while (!text.empty()) {
    line_no++;
    size_t nl = text.find('\n');
    std::string_view line = trim_ows(text.substr(0, nl), true);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto error = [&](const std::string& what) {
      errors.push_back(path + ":" + std::to_string(line_no) + ": " + what);
    };
    if (line.empty() || line.front() == '#') continue;

    size_t eq = line.find('=');
    if (eq == std::string_view::npos || line.substr(0, eq).find('#') != std::string_view::npos) {
      error("missing \"=\" (expected key = value)");
      continue;
    }
    std::string_view name = trim_ows(line.substr(0, eq), true);
    if (name.empty()) {
      error("missing key before \"=\" (expected key = value)");
      continue;
    }
    const KeyBinding* k = find_key(name);
    if (!k) {
      std::string msg = "unknown key \"" + shown(name) + "\"";
      // A near miss is nearly always a typo; name the key meant.
      const char* best = nullptr;
      size_t best_d = 3;
      for (const auto& cand : table()) {
        // The distance is at least the difference in length: skipping those
        // keeps a long unknown name from costing its length times every key.
        size_t cand_len = strlen(cand.key.name);
        if ((name.size() > cand_len ? name.size() - cand_len : cand_len - name.size()) >= best_d)
          continue;
        size_t d = edit_distance(name, cand.key.name);
        if (d < best_d) best_d = d, best = cand.key.name;
      }
      if (best) msg += std::string(" (did you mean \"") + best + "\"?)";
      error(msg);
      continue;
    }
    auto [it, fresh] = seen_on_line.emplace(std::string(name), line_no);
    if (!fresh) {
      error("duplicate key \"" + std::string(name) + "\" (first set on line " +
            std::to_string(it->second) + ")");
      continue;
    }

    std::string_view value;
    std::string why;
    if (!extract_value(line.substr(eq + 1), value, why)) {
      error(std::string(k->key.name) + ": " + why);
      continue;
    }
    // Lists of networks and optional paths may be set empty on purpose.
    bool may_be_empty = k->key.type == ConfigType::optional_string || k->key.type == ConfigType::network_list;
    if (value.empty() && !may_be_empty) {
      error(std::string(k->key.name) + ": missing value");
      continue;
    }
    switch (k->key.type) {
      case ConfigType::integer: {
        int64_t v;
        // Too many digits to hold is still a number: say it is too large.
        std::string_view digits = value.substr(value.starts_with('-') ? 1 : 0);
        if (digits.size() > 18 &&
            digits.find_first_not_of("0123456789") == std::string_view::npos) {
          error(std::string(k->key.name) + ": " + shown(value) + " is " +
                (value.starts_with('-') ? "below the minimum " + std::to_string(k->key.min)
                                        : "above the maximum " + std::to_string(k->key.max)));
          break;
        }
        if (!parse_decimal(value, v)) {
          error(std::string(k->key.name) + ": \"" + shown(value) + "\" is not a decimal integer");
          break;
        }
        if (!check_integer(k->key, v, why)) {
          error(why);
          break;
        }
        out.*k->num = v;
        break;
      }
      case ConfigType::string:
        if (!check_choice(*k, value, why)) {
          error(why);
          break;
        }
        out.*k->str = std::string(value);
        break;
      case ConfigType::optional_string:
        out.*k->str = std::string(value);
        break;
      case ConfigType::network_list: {
        std::vector<Network> nets;
        if (!parse_networks(value, nets, why)) {
          error(std::string(k->key.name) + ": " + why);
          break;
        }
        out.*k->str = std::string(value);
        break;
      }
      case ConfigType::address_list: {
        std::vector<std::string> items = split_list(value);
        bool good = !items.empty();
        if (!good) error(std::string(k->key.name) + ": no address given");
        for (const auto& item : items) {
          if (!check_listen_address(item, why)) {
            error(why);
            good = false;
          }
        }
        if (good) out.*k->list = std::move(items);
        break;
      }
    }
  }
  return errors.size() == errors_before;
}

bool load_config_file(const std::string& path, Config& out, std::vector<std::string>& errors) {
  FILE* f = fopen(path.c_str(), "re");
  if (!f) {
    int err = errno;
    errors.push_back(path + ": cannot open: " + strerror(err));
    return false;
  }
  // A configuration file is small; a huge one is a mistake (a wrong path).
  constexpr size_t kMaxConfigBytes = 1 << 20;
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxConfigBytes) break;
  }
  bool read_error = ferror(f);
  int err = errno;
  fclose(f);
  if (read_error) {
    errors.push_back(path + ": cannot read: " + strerror(err));
    return false;
  }
  if (text.size() > kMaxConfigBytes) {
    errors.push_back(path + ": larger than 1 MiB; is this the configuration file?");
    return false;
  }
  return parse_config(text, path, out, errors);
}

bool check_config(const Config& c, std::vector<std::string>& errors) {
  size_t errors_before = errors.size();
  std::string why;
  for (const auto& k : table()) {
    switch (k.key.type) {
      case ConfigType::integer:
        if (!check_integer(k.key, c.*k.num, why)) errors.push_back(why);
        break;
      case ConfigType::string:
        if ((c.*k.str).empty())
          errors.push_back(std::string(k.key.name) + ": missing value");
        else if (!check_choice(k, c.*k.str, why))
          errors.push_back(why);
        break;
      case ConfigType::address_list:
        if ((c.*k.list).empty()) errors.push_back(std::string(k.key.name) + ": no address given");
        for (const auto& item : c.*k.list)
          if (!check_listen_address(item, why)) errors.push_back(why);
        break;
      case ConfigType::optional_string:
        break;
      case ConfigType::network_list: {
        std::vector<Network> nets;
        if (!parse_networks(c.*k.str, nets, why)) errors.push_back(std::string(k.key.name) + ": " + why);
        break;
      }
    }
  }
  if (c.admin_socket.size() >= sizeof(sockaddr_un{}.sun_path))
    errors.push_back("admin_socket: \"" + shown(c.admin_socket) + "\" is longer than " +
                     std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                     " bytes, the limit of a Unix socket path");
  if (!c.metrics_listen.empty() && !check_listen_address(c.metrics_listen, why))
    errors.push_back("metrics_listen: " + why);
  if (!c.admin_listen.empty() && !check_listen_address(c.admin_listen, why))
    errors.push_back("admin_listen: " + why);
  // The TCP admin listener is never open without a token.
  if (!c.admin_listen.empty() && c.admin_token_file.empty())
    errors.push_back("admin_listen: set, but admin_token_file is not: the TCP admin API requires a "
                     "bearer token");
  std::string token;
  if (!c.admin_token_file.empty() && !load_admin_token(c.admin_token_file, token, why))
    errors.push_back("admin_token_file: " + why);
  if (c.pool_max_per_tenant > c.pool_max_total)
    errors.push_back("pool_max_per_tenant: " + std::to_string(c.pool_max_per_tenant) +
                     " is above pool_max_total " + std::to_string(c.pool_max_total));
  return errors.size() == errors_before;
}

std::vector<std::string> config_changes(const Config& a, const Config& b) {
  std::vector<std::string> out;
  for (const auto& k : table()) {
    bool same = k.str ? a.*k.str == b.*k.str : k.num ? a.*k.num == b.*k.num : a.*k.list == b.*k.list;
    if (!same) out.push_back(k.key.name);
  }
  return out;
}

void apply_reloadable(Config& live, const Config& next) {
  for (const auto& k : table()) {
    if (!k.key.reloadable) continue;
    if (k.str) live.*k.str = next.*k.str;
    if (k.num) live.*k.num = next.*k.num;
    if (k.list) live.*k.list = next.*k.list;
  }
}

const ConfigKey* config_key(const std::string& name) {
  const KeyBinding* k = find_key(name);
  return k ? &k->key : nullptr;
}

}  // namespace wfp
