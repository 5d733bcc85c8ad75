// wfpd: the supervisor's entry point. Parses flags and the configuration,
// binds the listeners (as root if started so), drops to the service user,
// opens the store and runs the daemon in the foreground. Runs as root only
// until the privilege drop; its inputs (flags, config file) are the
// operator's and are checked, not trusted to be right.
#include <bsd/unistd.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <iostream>

#include "ipc/log.h"
#include "sandbox/child.h"
#include "sandbox/seccomp_policy.h"
#include "supervisor/admin_auth.h"
#include "supervisor/config.h"
#include "supervisor/daemon.h"
#include "supervisor/http.h"
#include "supervisor/store.h"

extern char** environ;

namespace {

// Exit statuses (wfpd(8)): 0 clean stop, 1 runtime failure, 2 usage or
// configuration error.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

const char* kUsage =
    "usage: wfpd [-c FILE] [--listen ADDR:PORT]... [--admin-socket PATH]\n"
    "            [--data-dir DIR] [--check-config] [--print-seccomp-policy ROLE]\n"
    "See wfpd(8) and wfpd.conf(5).\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "wfpd: " << msg << "\n" << kUsage;
  exit(kExitUsage);
}

[[noreturn]] void fatal(const std::string& msg) {
  wfp::logf(wfp::LogLevel::error, "%s", msg.c_str());
  exit(kExitFailure);
}

bool mkdir_p(const std::string& path, mode_t mode) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); i++) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      cur = path.substr(0, i);
      if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return false;
    }
  }
  return true;
}

std::string parent_dir(const std::string& p) {
  size_t s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

}  // namespace

int main(int argc, char** argv) {
  // Started with stdin, stdout or stderr closed, the next open() would take
  // their number: a log line to stderr would then land in whatever file got
  // fd 2 — the store, a socket (SQLite's howtocorrupt.html, 2.1). Fill the
  // gaps with /dev/null first.
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDWR) != fd) return 70;
  setproctitle_init(argc, argv, environ);
  // The zygote: wfpd runs itself again (ZygoteClient), so that the zygote
  // and every child it forks start from a fresh image, never a copy of the
  // supervisor's memory (configuration, the admin token, tenants' scripts
  // and bindings), however late a zygote is started. Internal: only with
  // its control socket on fd 3.
  if (argc == 3 && strcmp(argv[1], "--zygote") == 0) {
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
      usage_error("--zygote is wfpd's own, started by wfpd with its control socket on fd 3");
    wfp::LogLevel level;
    if (wfp::log_parse_level(argv[2], level)) wfp::log_set_level(level);
    return wfp::zygote_main(3);
  }
  std::string config_path;
  bool config_given = false, check_only = false;
  std::vector<std::string> listen_flags;
  std::string admin_flag, data_flag, seccomp_role;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> std::string {
      std::string prefix = std::string(name) + "=";
      if (a.compare(0, prefix.size(), prefix) == 0) return a.substr(prefix.size());
      if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
      return argv[++i];
    };
    auto is = [&](const char* name) {
      return a == name || a.compare(0, strlen(name) + 1, std::string(name) + "=") == 0;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "wfpd " << WFP_VERSION << "\n";
      return 0;
    } else if (a == "-c" || is("--config")) {
      config_path = a == "-c" ? (i + 1 < argc ? argv[++i] : (usage_error("-c needs a file"), "")) : value("--config");
      config_given = true;
    } else if (is("--listen")) {
      listen_flags.push_back(value("--listen"));
    } else if (is("--admin-socket")) {
      admin_flag = value("--admin-socket");
    } else if (is("--data-dir")) {
      data_flag = value("--data-dir");
    } else if (a == "--check-config") {
      check_only = true;
    } else if (is("--print-seccomp-policy")) {
      seccomp_role = value("--print-seccomp-policy");
    } else {
      usage_error("unknown option " + a);
    }
  }

  if (!seccomp_role.empty()) {
    for (wfp::Role r : {wfp::Role::zygote, wfp::Role::dispatcher, wfp::Role::sandbox, wfp::Role::compiler}) {
      if (seccomp_role == wfp::role_name(r)) {
        std::cout << wfp::seccomp_policy_text(r);
        return 0;
      }
    }
    usage_error("unknown role " + seccomp_role + " (zygote, dispatcher, sandbox or compiler)");
  }

  wfp::Config config = wfp::default_config();
  std::vector<std::string> errors;
  if (!config_given && access("/etc/wfp/wfpd.conf", F_OK) == 0) {
    config_path = "/etc/wfp/wfpd.conf";
    config_given = true;
  }
  if (config_given) wfp::load_config_file(config_path, config, errors);
  if (!listen_flags.empty()) config.listen = listen_flags;
  if (!admin_flag.empty()) config.admin_socket = admin_flag;
  if (!data_flag.empty()) config.data_dir = data_flag;
  if (errors.empty()) wfp::check_config(config, errors);
  if (!errors.empty()) {
    for (auto& e : errors) std::cerr << "wfpd: " << e << "\n";
    return kExitUsage;
  }
  if (check_only) {
    std::cout << "wfpd: configuration " << (config_given ? config_path : "(embedded defaults)") << " is valid\n";
    return 0;
  }
  wfp::LogLevel level;
  wfp::log_parse_level(config.log_level, level);
  wfp::log_set_level(level);

  // Resolve the service user while still root; refuse to run tenant code
  // as root at all.
  bool root = geteuid() == 0;
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (root) {
    passwd* pw = getpwnam(config.user.c_str());
    if (!pw)
      fatal("service user \"" + config.user + "\" does not exist; create it (make deps does) or set user in wfpd.conf");
    group* gr = getgrnam(config.group.c_str());
    if (!gr) fatal("service group \"" + config.group + "\" does not exist; set group in wfpd.conf");
    uid = pw->pw_uid;
    gid = gr->gr_gid;
    if (uid == 0) fatal("user = " + config.user + " is root; wfpd will not run workers as root");
  }

  if (!mkdir_p(config.data_dir, 0750))
    fatal("data_dir " + config.data_dir + ": mkdir failed: " + strerror(errno));
  char real[PATH_MAX];
  if (!realpath(config.data_dir.c_str(), real)) fatal("data_dir " + config.data_dir + ": " + strerror(errno));
  config.data_dir = real;
  if (root && chown(config.data_dir.c_str(), uid, gid) != 0)
    fatal("data_dir " + config.data_dir + ": chown failed: " + strerror(errno));

  std::vector<wfp::Listener> listeners;
  for (const std::string& addr : config.listen) {
    std::string bound, error;
    int fd = wfp::http_listen_tcp(addr, bound, error);
    if (fd < 0) fatal("listen " + addr + ": " + error);
    listeners.push_back({fd, bound});
  }
  wfp::Listener metrics;
  if (!config.metrics_listen.empty()) {
    std::string error;
    metrics.fd = wfp::http_listen_tcp(config.metrics_listen, metrics.address, error);
    if (metrics.fd < 0) fatal("metrics_listen " + config.metrics_listen + ": " + error);
  }
  // The TCP admin listener and its token: both read while still root, so
  // the token file may be one the service user cannot read (but then a
  // SIGHUP, which reads it again, is refused; see wfpd.conf(5)).
  wfp::Listener admin_tcp;
  std::string admin_token;
  if (!config.admin_listen.empty()) {
    std::string error;
    if (!wfp::load_admin_token(config.admin_token_file, admin_token, error))
      fatal("admin_token_file: " + error);
    admin_tcp.fd = wfp::http_listen_tcp(config.admin_listen, admin_tcp.address, error);
    if (admin_tcp.fd < 0) fatal("admin_listen " + config.admin_listen + ": " + error);
  }
  std::string admin_dir = parent_dir(config.admin_socket);
  if (!mkdir_p(admin_dir, 0755))
    fatal("admin_socket directory " + admin_dir + ": mkdir failed: " + strerror(errno));
  std::string error;
  int admin_fd = wfp::http_listen_unix(config.admin_socket, 0660, root ? (long)gid : -1, error);
  if (admin_fd < 0) fatal("admin_socket " + config.admin_socket + ": " + error);

  if (root) {
    // Drop for good: supplementary groups, then gid, then uid; then prove
    // the way back is closed.
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
      fatal(std::string("dropping privileges failed: ") + strerror(errno));
    if (setuid(0) == 0) fatal("dropping privileges failed: setuid(0) still succeeds");
    wfp::logf(wfp::LogLevel::info, "running as %s:%s", config.user.c_str(), config.group.c_str());
  }

  // SQLite creates its -wal and -shm files beside the store, by path, as
  // the service user: say so plainly if a parent directory is closed to it.
  if (access(config.data_dir.c_str(), R_OK | W_OK | X_OK) != 0)
    fatal("data_dir " + config.data_dir + " is not writable by user " + config.user +
          " (is a parent directory closed to it?): " + strerror(errno));
  std::unique_ptr<wfp::Store> store;
  try {
    store = std::make_unique<wfp::Store>(config.data_dir + "/store.db");
  } catch (const std::exception& e) {
    fatal(std::string("store: ") + e.what());
  }
  try {
    wfp::Daemon daemon(config, std::move(listeners), admin_fd, std::move(store));
    if (metrics.fd >= 0) daemon.set_metrics_listener(metrics);
    if (admin_tcp.fd >= 0) daemon.set_admin_tcp_listener(admin_tcp, std::move(admin_token));
    if (config_given)
      daemon.set_reload_source(config_path, [listen_flags, admin_flag, data_flag](wfp::Config& c) {
        if (!listen_flags.empty()) c.listen = listen_flags;
        if (!admin_flag.empty()) c.admin_socket = admin_flag;
        if (!data_flag.empty()) c.data_dir = data_flag;
        char real[PATH_MAX];  // as at start-up: the data directory's real path
        if (realpath(c.data_dir.c_str(), real)) c.data_dir = real;
      });
    return daemon.run();
  } catch (const std::exception& e) {
    fatal(e.what());
  }
}
