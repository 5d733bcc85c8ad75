// wfp as a systemd service: `make install` lays out the FHS tree,
// systemd-analyze accepts dist/wfpd.service, wfpd speaks sd_notify to a
// NOTIFY_SOCKET the test reads, and wfpd serves inside the unit's sandbox,
// rebuilt here because systemd is not PID 1 on the machines that run the
// tests. Runs in the test process (as root for the sandbox); drives real
// make, real daemons and real HTTP.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/wfpd_fixture.h"

namespace wfp::test {
namespace {

namespace fs = std::filesystem;

// --- helpers ------------------------------------------------------------------

// A temporary directory under /tmp, removed with everything in it.
struct TempDir {
  std::string path;
  explicit TempDir(const char* stem) {
    std::string tmpl = std::string("/tmp/") + stem + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
    chmod(path.c_str(), 0755);  // the service user must reach what is inside
  }
  ~TempDir() { run({"/bin/rm", "-rf", path}); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The source tree: the build directory's parent (tools/run-tests runs the
// tests with $WFP_BUILD_DIR set), else the working directory.
std::string source_dir() {
  fs::path build = fs::absolute(bin(""));
  for (fs::path p : {build.parent_path().parent_path(), fs::current_path()})
    if (fs::exists(p / "Makefile") && fs::exists(p / "dist/wfpd.service")) return p.string();
  return "";
}

std::string build_dir() { return fs::absolute(bin("")).parent_path().string(); }

// The program's path if it is on $PATH, else "".
std::string which(const std::string& program) {
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');)
    if (!d.empty() && access((d + "/" + program).c_str(), X_OK) == 0) return d + "/" + program;
  return "";
}

// What pkg-config says for systemd's `variable`, else `fallback`: the
// Makefile's own rule for PREFIX=/usr.
std::string systemd_dir(const std::string& variable, const std::string& fallback) {
  if (which("pkg-config").empty()) return fallback;
  CmdResult r = run({which("pkg-config"), "--variable=" + variable, "systemd"});
  std::string v = r.out.substr(0, r.out.find('\n'));
  return r.status == 0 && !v.empty() ? v : fallback;
}

// Runs `make TARGET` in the source tree into the staging tree `destdir`
// with PREFIX=/usr. The outer make's job server is not passed on, and the
// two binaries count as up to date (-o): the test installs the build under
// test and never compiles. `path_first` goes in front of $PATH.
CmdResult make_in_stage(const std::string& target, const std::string& destdir, const std::string& path_first = "") {
  std::string build = build_dir();
  const char* path = getenv("PATH");
  std::vector<std::string> argv = {"/usr/bin/env", "-u", "MAKEFLAGS", "-u", "MFLAGS", "-u", "MAKELEVEL",
                                   "PATH=" + (path_first.empty() ? "" : path_first + ":") + (path ? path : "/usr/bin:/bin"),
                                   which("make"), "-s", "-C", source_dir(), "-o", build + "/wfpd", "-o", build + "/wfpctl",
                                   "BUILD=" + build, "DESTDIR=" + destdir, "PREFIX=/usr", target};
  return run(argv);
}

// Every file (not directory) below `root`, relative path → permission bits.
std::map<std::string, unsigned> files_below(const std::string& root) {
  std::map<std::string, unsigned> out;
  for (auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_directory()) continue;
    struct stat st;
    if (lstat(e.path().c_str(), &st) == 0) out[fs::relative(e.path(), root).string()] = st.st_mode & 07777;
  }
  return out;
}

std::string mode_text(unsigned m) {
  char b[8];
  snprintf(b, sizeof b, "%04o", m);
  return b;
}

// The unit's [Service] settings, key → value; the values of a key given
// on several lines are joined with spaces, as systemd adds up list-valued
// settings such as CapabilityBoundingSet=.
std::map<std::string, std::string> service_section(const std::string& unit_text) {
  std::map<std::string, std::string> out;
  std::istringstream in(unit_text);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    size_t eq = line.find('=');
    if (section != "[Service]" || eq == std::string::npos) continue;
    std::string& value = out[line.substr(0, eq)];
    value += (value.empty() ? "" : " ") + line.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// --- make install -------------------------------------------------------------

// The staging tree of `make install DESTDIR=… PREFIX=/usr` holds exactly
// these files with these modes; nothing is done to the running system.
TEST(Install, PutsEveryFileInItsFhsPlaceAndLeavesTheSystemAlone) {
  std::string src = source_dir();
  ASSERT_FALSE(src.empty()) << "no source tree found beside " << build_dir() << " or in the working directory";
  if (which("make").empty()) GTEST_SKIP() << "make is not installed";
  TempDir t("wfp-install");
  std::string stage = t.path + "/root";

  // Stand-ins for what the install may only run on the live system: each
  // records that it was called. getent says "no such user", so a wrong
  // DESTDIR test in the Makefile would go on to useradd.
  std::string fake = t.path + "/fakebin", calls = t.path + "/calls";
  fs::create_directory(fake);
  for (const char* tool : {"getent", "useradd", "groupadd", "systemctl", "systemd-tmpfiles", "chown"}) {
    std::ofstream(fake + "/" + tool) << "#!/bin/sh\necho \"$0 $*\" >> " << calls << "\n"
                                     << (std::string(tool) == "getent" ? "exit 2\n" : "exit 0\n");
    chmod((fake + "/" + tool).c_str(), 0755);
  }
  CmdResult r = make_in_stage("install", stage, fake);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(calls)) << "the install touched the live system:\n" << read_file(calls);

  std::string unit = systemd_dir("systemdsystemunitdir", "/lib/systemd/system").substr(1) + "/wfpd.service";
  std::string tmpfiles = systemd_dir("tmpfilesdir", "/usr/lib/tmpfiles.d").substr(1) + "/wfp.conf";
  std::map<std::string, unsigned> want = {
      {"usr/sbin/wfpd", 0755},
      {"usr/bin/wfpctl", 0755},
      {"usr/share/man/man8/wfpd.8", 0644},
      {"usr/share/man/man8/wfpctl.8", 0644},
      {"usr/share/man/man5/wfpd.conf.5", 0644},
      {"usr/share/man/man7/wfp-runtime.7", 0644},
      {unit, 0644},
      {tmpfiles, 0644},
      {"etc/wfp/wfpd.conf", 0644},
  };
  for (auto& e : fs::directory_iterator(src + "/sandbox"))
    if (e.path().extension() == ".js") want["usr/share/wfp/runtime/" + e.path().filename().string()] = 0444;
  for (auto& e : fs::directory_iterator(src + "/tools/demo"))
    if (e.path().extension() == ".js") want["usr/share/wfp/examples/" + e.path().filename().string()] = 0644;
  std::map<std::string, unsigned> got = files_below(stage);
  for (auto& [path, mode] : want) {
    auto it = got.find(path);
    if (it == got.end()) ADD_FAILURE() << "missing: " << path;
    else EXPECT_EQ(mode_text(it->second), mode_text(mode)) << path;
  }
  for (auto& [path, mode] : got)
    if (!want.count(path)) ADD_FAILURE() << "not expected: " << path << " " << mode_text(mode);

  // The files are the build's and the source's, the unit with its path.
  EXPECT_TRUE(read_file(stage + "/usr/sbin/wfpd") == read_file(bin("wfpd"))) << "installed wfpd is not the build's";
  EXPECT_TRUE(read_file(stage + "/usr/bin/wfpctl") == read_file(bin("wfpctl"))) << "installed wfpctl is not the build's";
  EXPECT_EQ(read_file(stage + "/etc/wfp/wfpd.conf"), read_file(src + "/tools/wfpd.conf"));
  std::string installed_unit = read_file(stage + "/" + unit);
  EXPECT_EQ(service_section(installed_unit)["ExecStart"], "/usr/sbin/wfpd -c /etc/wfp/wfpd.conf");
  std::string source_unit = read_file(src + "/dist/wfpd.service");
  for (size_t at; (at = source_unit.find("@SBINDIR@")) != std::string::npos;) source_unit.replace(at, 9, "/usr/sbin");
  EXPECT_TRUE(installed_unit == source_unit) << "the installed unit differs from dist/wfpd.service by more than its path";

  // The tmpfiles.d entry makes the store's directory for the service user
  // (giving it to another user takes root).
  if (!which("systemd-tmpfiles").empty() && geteuid() == 0) {
    std::string root = t.path + "/tmpfiles-root";
    fs::create_directories(root + "/etc");
    std::ofstream(root + "/etc/passwd") << "wfp:x:4242:4242::/nonexistent:/usr/sbin/nologin\n";
    std::ofstream(root + "/etc/group") << "wfp:x:4242:\n";
    CmdResult tr = run({which("systemd-tmpfiles"), "--create", "--root=" + root, stage + "/" + tmpfiles});
    EXPECT_EQ(tr.status, 0) << tr.out << tr.err;
    struct stat st{};
    ASSERT_EQ(stat((root + "/var/lib/wfp").c_str(), &st), 0) << "tmpfiles.d made no /var/lib/wfp";
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(mode_text(st.st_mode & 07777), "0750");
    EXPECT_EQ(st.st_uid, 4242u);
    EXPECT_EQ(st.st_gid, 4242u);
  }

  // Installing again keeps the operator's configuration.
  std::ofstream(stage + "/etc/wfp/wfpd.conf", std::ios::app) << "log_level = warn  # the operator's\n";
  std::string edited = read_file(stage + "/etc/wfp/wfpd.conf");
  r = make_in_stage("install", stage, fake);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(read_file(stage + "/etc/wfp/wfpd.conf"), edited) << "make install replaced an existing wfpd.conf";

  // Uninstalling removes all but the configuration.
  r = make_in_stage("uninstall", stage, fake);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  got = files_below(stage);
  EXPECT_EQ(got.size(), 1u);
  EXPECT_TRUE(got.count("etc/wfp/wfpd.conf")) << "uninstall removed the configuration";
  EXPECT_FALSE(fs::exists(calls)) << "the uninstall touched the live system:\n" << read_file(calls);
}

// --- the unit -----------------------------------------------------------------

// systemd-analyze verify accepts the installed unit without a warning. It
// checks that ExecStart= is executable and that the Documentation= pages
// exist, so it is run on a copy whose ExecStart= points into the staging
// tree, with MANPATH there; everything else is the installed file.
TEST(SystemdUnit, IsAcceptedBySystemdAnalyzeVerify) {
  std::string analyze = which("systemd-analyze");
  if (analyze.empty()) GTEST_SKIP() << "systemd-analyze is not installed (Debian: package systemd)";
  if (source_dir().empty() || which("make").empty()) GTEST_SKIP() << "no source tree or no make";
  TempDir t("wfp-unit");
  std::string stage = t.path + "/root";
  CmdResult r = make_in_stage("install", stage);
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  std::string unit_path = stage + systemd_dir("systemdsystemunitdir", "/lib/systemd/system") + "/wfpd.service";
  std::string unit = read_file(unit_path);
  const std::string exec = "\nExecStart=/usr/sbin/wfpd ";
  size_t at = unit.find(exec);
  ASSERT_NE(at, std::string::npos) << unit;
  unit.replace(at, exec.size(), "\nExecStart=" + stage + "/usr/sbin/wfpd ");
  fs::create_directory(t.path + "/check");
  std::string copy = t.path + "/check/wfpd.service";
  std::ofstream(copy) << unit;

  auto verify = [&](const std::string& file) {
    return run({"/usr/bin/env", "MANPATH=" + stage + "/usr/share/man", "SYSTEMD_LOG_COLOR=0", analyze, "verify", file});
  };
  r = verify(copy);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "systemd-analyze verify has something to say about the unit";

  // The check can fail: a value systemd does not know is reported.
  fs::create_directory(t.path + "/broken");
  std::string broken = unit;
  broken.replace(broken.find("ProtectSystem=strict"), 20, "ProtectSystem=strictest");
  std::ofstream(t.path + "/broken/wfpd.service") << broken;
  r = verify(t.path + "/broken/wfpd.service");
  EXPECT_NE(r.out + r.err, "") << "systemd-analyze verify says nothing about ProtectSystem=strictest";

  // For the record, not asserted: systemd's exposure score of the unit.
  r = run({"/usr/bin/env", "MANPATH=" + stage + "/usr/share/man", analyze, "security", "--offline=yes", "--no-pager", copy});
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (line.find("Overall exposure level") != std::string::npos) std::cout << "[ systemd ] " << line << "\n";
}

// --- sd_notify ----------------------------------------------------------------

// The service manager's end of NOTIFY_SOCKET: a datagram socket that also
// receives each sender's pid (SO_PASSCRED), as systemd checks it against
// the main pid (NotifyAccess=main).
struct NotifySocket {
  int fd = -1;
  std::string path;
  explicit NotifySocket(const std::string& p) : path(p) {
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    int one = 1;
    if (fd < 0 || bind(fd, (sockaddr*)&a, sizeof a) != 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
      throw std::runtime_error(std::string("notify socket: ") + strerror(errno));
    chmod(path.c_str(), 0666);  // wfpd says STOPPING as the service user
  }
  ~NotifySocket() { close(fd); }

  struct Message {
    std::string text;  // "" if none came in time
    pid_t pid = 0;
  };
  Message next(int timeout_ms = 10000) {
    Message m;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return m;
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buf, sizeof buf};
    msghdr h{};
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &h, 0);
    if (n < 0) return m;
    m.text.assign(buf, n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof cred);
        m.pid = cred.pid;
      }
    return m;
  }
};

// wfpd tells the service manager READY=1 once it serves; RELOADING=1 and
// READY=1 around a SIGHUP; STOPPING=1 on SIGTERM, while a request in
// flight still completes; then it exits 0. Every message comes from the
// main process.
TEST(SystemdNotify, SaysReadyReloadingAndStoppingWhileARequestInFlightCompletes) {
  TempDir t("wfp-notify");
  NotifySocket notify(t.path + "/notify");
  Wfpd d("", "wfpd", {"NOTIFY_SOCKET=" + notify.path});

  NotifySocket::Message m = notify.next();
  EXPECT_EQ(m.text, "READY=1") << d.log();
  EXPECT_EQ(m.pid, d.pid()) << "READY=1 did not come from the main process";

  kill(d.pid(), SIGHUP);
  m = notify.next();
  EXPECT_EQ(m.text, "RELOADING=1") << d.log();
  EXPECT_EQ(m.pid, d.pid());
  m = notify.next();
  EXPECT_EQ(m.text, "READY=1") << d.log();
  EXPECT_EQ(m.pid, d.pid());
  EXPECT_NE(d.log().find("SIGHUP: reloaded"), std::string::npos) << "READY=1 came before the reload was done\n" << d.log();

  // A worker that says it has the request, then waits a second: the
  // test sends SIGTERM as soon as it reads that line, long before.
  expect_ok(d.ctl({"namespace", "create", "apps"}), &d);
  expect_ok(d.ctl({"script", "deploy", "apps", "slow", d.write_file("slow.mjs",
                   "export default { async fetch(request) {"
                   " console.log('holding ' + new URL(request.url).pathname);"
                   " await new Promise((r) => setTimeout(r, 1000));"
                   " return new Response('finished'); } };")}), &d);
  expect_ok(d.ctl({"worker", "deploy", "front", d.write_file("front.js",
                   "module.exports = { fetch: function (r, env) { return env.NS.get('slow').fetch(r); } };"),
                   "--dispatch-namespace", "NS=apps"}), &d);
  expect_ok(d.ctl({"route", "add", "*/*", "front"}), &d);
  ASSERT_EQ(d.get("x.example", "/warm").body, "finished") << d.log();

  HttpResult slow;
  std::thread client([&] { slow = d.get("x.example", "/in-flight"); });
  bool held = eventually([&] { return d.log().find("holding /in-flight") != std::string::npos; });
  if (!held) client.join();
  ASSERT_TRUE(held) << "the request never reached the worker\n" << d.log();
  kill(d.pid(), SIGTERM);
  m = notify.next();
  EXPECT_EQ(m.text, "STOPPING=1") << d.log();
  EXPECT_EQ(m.pid, d.pid());
  client.join();
  EXPECT_EQ(slow.status, 200) << slow.head << slow.body << d.log();
  EXPECT_EQ(slow.body, "finished");
  int st = d.wait_exit(10000);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << d.log();
  EXPECT_NE(d.log().find("1 request in flight"), std::string::npos)
      << "the request was not in flight at SIGTERM (did a second pass before the signal?)\n" << d.log();
  m = notify.next(0);
  EXPECT_EQ(m.text, "") << "a message after STOPPING=1";
}

// --- the unit's sandbox, rebuilt ----------------------------------------------

// How each [Service] key of the unit is treated below: emulated with the
// value given (the test fails if the unit says otherwise, so the two move
// together), or known not to change what wfpd may do.
const std::map<std::string, std::string> kEmulated = {
    {"CapabilityBoundingSet", "*"},  // any value: parsed and applied with setpriv
    {"LimitNOFILE", "*"},            // any number: setrlimit
    {"UMask", "0027"},
    {"RuntimeDirectory", "wfp"},          // /srv/run stands in for /run/wfp
    {"RuntimeDirectoryMode", "0755"},
    {"ReadWritePaths", "/var/lib/wfp"},   // /srv/state stands in for it
    {"NoNewPrivileges", "yes"},
    {"ProtectSystem", "strict"},
    {"ProtectHome", "yes"},
    {"PrivateTmp", "yes"},
    {"PrivateDevices", "yes"},
    {"ProtectKernelTunables", "yes"},
    {"ProtectKernelModules", "yes"},
    {"ProtectKernelLogs", "yes"},
    {"ProtectControlGroups", "yes"},
    {"ProtectClock", "yes"},
    {"ProtectHostname", "yes"},
    {"RestrictRealtime", "yes"},
    {"RestrictSUIDSGID", "yes"},
    {"LockPersonality", "yes"},
    {"RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"},
    {"RestrictNamespaces", "user"},
    {"MemoryDenyWriteExecute", "yes"},
    {"SystemCallArchitectures", "native"},
};
const std::set<std::string> kNotSandboxing = {
    "Type", "ExecStart", "ExecReload", "Restart", "RestartSec", "RestartPreventExitStatus",
    "KillMode", "TimeoutStopSec", "OOMPolicy", "ConfigurationDirectory",
};

// Capability names as the unit spells them.
const std::map<std::string, int> kCapabilities = {
#define WFP_CAP(c) {#c, c}
    WFP_CAP(CAP_CHOWN), WFP_CAP(CAP_DAC_OVERRIDE), WFP_CAP(CAP_DAC_READ_SEARCH), WFP_CAP(CAP_FOWNER),
    WFP_CAP(CAP_FSETID), WFP_CAP(CAP_KILL), WFP_CAP(CAP_SETGID), WFP_CAP(CAP_SETUID), WFP_CAP(CAP_SETPCAP),
    WFP_CAP(CAP_LINUX_IMMUTABLE), WFP_CAP(CAP_NET_BIND_SERVICE), WFP_CAP(CAP_NET_BROADCAST),
    WFP_CAP(CAP_NET_ADMIN), WFP_CAP(CAP_NET_RAW), WFP_CAP(CAP_IPC_LOCK), WFP_CAP(CAP_IPC_OWNER),
    WFP_CAP(CAP_SYS_MODULE), WFP_CAP(CAP_SYS_RAWIO), WFP_CAP(CAP_SYS_CHROOT), WFP_CAP(CAP_SYS_PTRACE),
    WFP_CAP(CAP_SYS_PACCT), WFP_CAP(CAP_SYS_ADMIN), WFP_CAP(CAP_SYS_BOOT), WFP_CAP(CAP_SYS_NICE),
    WFP_CAP(CAP_SYS_RESOURCE), WFP_CAP(CAP_SYS_TIME), WFP_CAP(CAP_SYS_TTY_CONFIG), WFP_CAP(CAP_MKNOD),
    WFP_CAP(CAP_LEASE), WFP_CAP(CAP_AUDIT_WRITE), WFP_CAP(CAP_AUDIT_CONTROL), WFP_CAP(CAP_SETFCAP),
    WFP_CAP(CAP_MAC_OVERRIDE), WFP_CAP(CAP_MAC_ADMIN), WFP_CAP(CAP_SYSLOG), WFP_CAP(CAP_WAKE_ALARM),
    WFP_CAP(CAP_BLOCK_SUSPEND), WFP_CAP(CAP_AUDIT_READ),
#undef WFP_CAP
};

// The seccomp filters systemd loads for the unit's options, after systemd
// 252's src/shared/seccomp-util.c, as one libseccomp filter: each call
// those options refuse fails with the errno systemd gives it. A context
// that names only the native architecture is SystemCallArchitectures=native.
// Runs in the forked child; returns false if the filter cannot be loaded.
bool load_unit_filter() {
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
  if (!f) return false;
  bool ok = true;
  auto deny = [&](const char* name, int err, std::vector<scmp_arg_cmp> args = {}) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return;  // not on this architecture
    if (seccomp_rule_add_array(f, SCMP_ACT_ERRNO(err), nr, args.size(), args.data()) != 0) ok = false;
  };
  // RestrictNamespaces=user: every namespace type but the user namespace;
  // clone3 hides its flags from a filter, so it is refused as unknown.
  for (uint64_t ns : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP}) {
    deny("unshare", EPERM, {SCMP_A0(SCMP_CMP_MASKED_EQ, ns, ns)});
    deny("clone", EPERM, {SCMP_A0(SCMP_CMP_MASKED_EQ, ns, ns)});
    deny("setns", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, ns, ns)});
  }
  deny("setns", EPERM, {SCMP_A1(SCMP_CMP_EQ, 0)});
  deny("clone3", ENOSYS);
  // MemoryDenyWriteExecute=yes.
  deny("mmap", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE | PROT_EXEC, PROT_WRITE | PROT_EXEC)});
  deny("mprotect", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)});
  deny("pkey_mprotect", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)});
  deny("shmat", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC, SHM_EXEC)});
  // RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6.
  for (int af = 0; af < AF_MAX; af++)
    if (af != AF_UNIX && af != AF_INET && af != AF_INET6) deny("socket", EAFNOSUPPORT, {SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af)});
  deny("socket", EAFNOSUPPORT, {SCMP_A0(SCMP_CMP_GE, AF_MAX)});
  // LockPersonality=yes: the personality stays PER_LINUX.
  deny("personality", EPERM, {SCMP_A0(SCMP_CMP_NE, 0)});
  // RestrictRealtime=yes: SCHED_OTHER, SCHED_BATCH and SCHED_IDLE only.
  for (scmp_datum_t policy : {SCHED_FIFO, SCHED_RR, 4}) deny("sched_setscheduler", EPERM, {SCMP_A1(SCMP_CMP_EQ, policy)});
  deny("sched_setscheduler", EPERM, {SCMP_A1(SCMP_CMP_GT, SCHED_IDLE)});
  // RestrictSUIDSGID=yes: no set-user-ID or set-group-ID file.
  for (uint64_t bit : {(uint64_t)S_ISUID, (uint64_t)S_ISGID}) {
    deny("chmod", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("fchmod", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("fchmodat", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("mkdir", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("mkdirat", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("mknod", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("mknodat", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("creat", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("open", EPERM, {SCMP_A1(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A2(SCMP_CMP_MASKED_EQ, bit, bit)});
    deny("openat", EPERM, {SCMP_A2(SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), SCMP_A3(SCMP_CMP_MASKED_EQ, bit, bit)});
  }
  // ProtectClock=, ProtectKernelModules=, ProtectKernelLogs=,
  // ProtectHostname= and PrivateDevices= (@raw-io).
  for (const char* name : {"adjtimex", "clock_adjtime", "clock_settime", "settimeofday", "init_module", "finit_module",
                           "delete_module", "syslog", "sethostname", "setdomainname", "ioperm", "iopl"})
    deny(name, EPERM);
  ok = ok && seccomp_load(f) == 0;
  seccomp_release(f);
  return ok;
}

// Run as root in the child's new mount namespace with the test's directory
// as $1: the unit's file system sandbox. The directory becomes /srv, which
// stays reachable once /tmp is private; /srv/run and /srv/state stand in
// for /run/wfp and /var/lib/wfp. Every change is to this namespace only
// (its propagation is private), and a read-only remount is always a bind
// remount: the mounts of the host are not touched.
const char* kSandboxScript = R"SH(
set -eu
T=$1
mount --bind "$T" /srv
# PrivateDevices=yes: a /dev of its own, with the pseudo-devices only.
mount -t tmpfs -o mode=0755,nosuid tmpfs /srv/dev
for n in null zero full random urandom tty; do
  : > /srv/dev/$n
  mount --bind /dev/$n /srv/dev/$n
done
mkdir /srv/dev/shm
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /srv/dev/shm
mount --move /srv/dev /dev
# RuntimeDirectory=, ReadWritePaths=: mounts of their own, left writable
# by the next step.
mount --bind /srv/run /srv/run
mount --bind /srv/state /srv/state
# ProtectSystem=strict, with ProtectKernelTunables= and
# ProtectControlGroups=: every mount read-only (/sys and the cgroup trees
# too) but /dev, /proc and the two above; then /proc/sys.
for m in $(awk '$6 !~ /^ro(,|$)/ { print $5 }' /proc/self/mountinfo); do
  case $m in /dev|/dev/*|/proc|/proc/*|/srv/run|/srv/state) continue ;; esac
  mount -o remount,bind,ro "$m"
done
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
# PrivateTmp=yes
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
# ProtectHome=yes
for d in /home /root /run/user; do
  if [ -d "$d" ]; then mount -t tmpfs -o ro,mode=0 tmpfs "$d"; fi
done
# ProtectKernelLogs=yes (the new /dev has no kmsg)
mount --bind /dev/null /proc/kmsg
)SH";

// Exit statuses of the child that sets the sandbox up, before wfpd runs.
const std::map<int, const char*> kSetupFailures = {
    {120, "unshare(CLONE_NEWNS|CLONE_NEWUTS) failed"},
    {121, "making / private in the new mount namespace failed"},
    {122, "the file system sandbox script failed (its output is in the log)"},
    {123, "setrlimit(RLIMIT_NOFILE) failed"},
    {124, "loading the seccomp filter failed"},
    {125, "exec setpriv failed"},
};

std::vector<pid_t> descendants(pid_t root) {
  std::vector<std::pair<pid_t, pid_t>> parent;
  for (auto& e : fs::directory_iterator("/proc")) {
    pid_t p = atoi(e.path().filename().c_str());
    if (p <= 0) continue;
    std::string pp = proc_status_field(p, "PPid");
    if (!pp.empty()) parent.emplace_back(p, atoi(pp.c_str()));
  }
  std::vector<pid_t> family = {root};
  for (size_t i = 0; i < family.size(); i++)
    for (auto& [p, pp] : parent)
      if (pp == family[i]) family.push_back(p);
  family.erase(family.begin());
  return family;
}

std::string link_of(const std::string& path) {
  std::error_code ec;
  return fs::read_symlink(path, ec).string();
}

// wfpd starts, drops to its user, forks its children (each in a user
// namespace of its own) and serves a deployed worker through its HTTP
// listener, inside the sandbox dist/wfpd.service gives it.
TEST(SystemdSandbox, WfpdServesInsideTheUnitsSandbox) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: the unit starts wfpd as root, and the emulation mounts";
  std::string setpriv = which("setpriv");
  if (setpriv.empty()) GTEST_SKIP() << "setpriv is not installed (Debian: util-linux)";
  std::string src = source_dir();
  ASSERT_FALSE(src.empty()) << "no source tree, so no dist/wfpd.service";
  passwd* pw = getpwnam("wfp");
  ASSERT_TRUE(pw) << "no user wfp (make deps creates it)";
  uid_t wfp_uid = pw->pw_uid;

  // The unit and the emulation must agree.
  std::map<std::string, std::string> unit = service_section(read_file(src + "/dist/wfpd.service"));
  for (auto& [key, value] : unit) {
    auto e = kEmulated.find(key);
    if (e != kEmulated.end()) {
      if (e->second != "*") {
        EXPECT_EQ(value, e->second) << key << "= changed in the unit: change its emulation here too";
      }
    } else if (!kNotSandboxing.count(key)) {
      ADD_FAILURE() << key << "= is new in the unit: emulate it here, or list it as not changing what wfpd may do";
    }
  }
  for (auto& [key, value] : kEmulated)
    EXPECT_TRUE(unit.count(key)) << key << "= is emulated here but no longer in the unit";
  std::string bounding = "-all";
  uint64_t bounding_mask = 0;
  for (const std::string& cap : words(unit["CapabilityBoundingSet"])) {
    auto c = kCapabilities.find(cap);
    ASSERT_NE(c, kCapabilities.end()) << "unknown capability " << cap;
    std::string name = cap.substr(4);
    for (char& ch : name) ch = (char)tolower((unsigned char)ch);
    bounding += ",+" + name;
    bounding_mask |= uint64_t(1) << c->second;
  }
  rlim_t nofile = std::stoull(unit["LimitNOFILE"]);
  if (HasFailure()) return;

  // Can this machine make namespaces at all?
  pid_t probe = fork();
  if (probe == 0) _exit(unshare(CLONE_NEWNS | CLONE_NEWUTS) == 0 ? 0 : errno);
  int st = 0;
  waitpid(probe, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    GTEST_SKIP() << "cannot make a mount namespace here: unshare: " << strerror(WEXITSTATUS(st));

  TempDir t("wfp-sandbox");
  for (const char* d : {"bin", "dev", "run", "state"}) fs::create_directory(t.path + "/" + d);
  chmod((t.path + "/run").c_str(), 0755);  // RuntimeDirectoryMode=
  chmod((t.path + "/state").c_str(), 0750);
  // wfpd is run from a copy in the test's directory, which the sandbox
  // keeps reachable wherever the build is (under /home, say).
  fs::copy_file(bin("wfpd"), t.path + "/bin/wfpd");
  chmod((t.path + "/bin/wfpd").c_str(), 0755);
  std::ofstream(t.path + "/wfpd.conf") << "listen = 127.0.0.1:0\n"
                                          "admin_socket = /srv/run/admin.sock\n"
                                          "data_dir = /srv/state\n"
                                          "dispatchers = 1\n"
                                          "pool_spares = 1\n"
                                          "pool_max_total = 16\n"
                                          "memory_mb = 64\n"
                                          "log_level = debug\n";
  std::string log_path = t.path + "/wfpd.log";
  std::string our_mnt = link_of("/proc/self/ns/mnt");

  // What the child needs, made before fork.
  std::vector<std::string> args = {setpriv, "--no-new-privs", "--bounding-set", bounding, "--",
                                   "wfpd", "-c", "/srv/wfpd.conf"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path_env = "PATH=/srv/bin:/usr/sbin:/usr/bin:/sbin:/bin";  // argv[0] "wfpd", as systemd gives it
  char* envp[] = {path_env.data(), nullptr};
  const char* script_argv[] = {"/bin/sh", "-c", kSandboxScript, "sh", t.path.c_str(), nullptr};

  // One start of the service: a child that builds the sandbox, as systemd
  // does between fork and exec, then becomes wfpd.
  auto launch = [&]() -> pid_t {
    pid_t child = fork();
    if (child != 0) return child;
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(nul, 0);
    dup2(log, 1);
    dup2(log, 2);
    // ProtectHostname= is a UTS namespace; the rest needs a mount namespace.
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS) != 0) _exit(120);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(121);
    pid_t sh = fork();
    if (sh == 0) {
      execv("/bin/sh", const_cast<char**>(script_argv));
      _exit(127);
    }
    int sst = 0;
    if (sh < 0 || waitpid(sh, &sst, 0) != sh || !WIFEXITED(sst) || WEXITSTATUS(sst) != 0) _exit(122);
    umask(027);
    // LimitNOFILE=: raising the hard limit needs CAP_SYS_RESOURCE, which
    // a container may not give; then the soft limit goes to the hard one.
    rlimit rl{nofile, nofile};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      dprintf(2, "emulation: LimitNOFILE=%llu refused here (%s); using the hard limit\n",
              (unsigned long long)nofile, strerror(errno));
      if (getrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(123);
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(123);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !load_unit_filter()) _exit(124);
    execve(argv[0], argv.data(), envp);
    _exit(125);
  };
  pid_t pid = -1;
  // Whatever happens, wfpd goes with the test.
  struct Reaper {
    pid_t& pid;
    ~Reaper() {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};

  std::string sock = t.path + "/run/admin.sock";
  auto ctl = [&](std::vector<std::string> a) {
    a.insert(a.begin(), {bin("wfpctl"), "--socket", sock});
    return run(a);
  };
  // Serving when the admin API names the listener and the dispatcher is
  // up; "" then, else why not.
  int port = 0;
  auto await_serving = [&]() -> std::string {
    bool ready = eventually([&] {
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return true;
      }
      CmdResult r = ctl({"--json", "status"});
      if (r.status != 0) return false;
      port = serving_port(r.out);
      return port > 0;
    }, 20000);
    if (pid < 0) {
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      auto why = kSetupFailures.find(code);
      return "wfpd exited before serving: " +
             (why != kSetupFailures.end() ? std::string(why->second) : "exit status " + std::to_string(code)) + "\n" +
             read_file(log_path);
    }
    return ready ? "" : "wfpd did not come up in the sandbox\n" + read_file(log_path);
  };
  // SIGTERM, as systemctl stop sends it; the exit must be 0. Then, as
  // systemd removes the RuntimeDirectory= at stop, the socket goes.
  auto stop = [&] {
    kill(pid, SIGTERM);
    bool gone = eventually([&] { return waitpid(pid, &st, WNOHANG) == pid; });
    ASSERT_TRUE(gone) << "wfpd did not stop on SIGTERM\n" << read_file(log_path);
    pid = -1;
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "wait status " << st << "\n" << read_file(log_path);
    unlink(sock.c_str());
  };
  auto call = [&] { return raw_http(port, "GET / HTTP/1.1\r\nHost: x.example\r\n\r\n"); };

  pid = launch();
  std::string why = await_serving();
  ASSERT_EQ(why, "");

  // The sandbox is really around it: its own mount namespace, no new
  // privileges, the filter, the unit's bounding set; and it dropped to wfp.
  EXPECT_NE(link_of("/proc/" + std::to_string(pid) + "/ns/mnt"), our_mnt);
  EXPECT_EQ(proc_status_field(pid, "NoNewPrivs"), "1");
  EXPECT_EQ(proc_status_field(pid, "Seccomp"), "2");
  EXPECT_EQ(std::stoull(proc_status_field(pid, "CapBnd"), nullptr, 16), bounding_mask);
  std::string u = std::to_string(wfp_uid);
  EXPECT_EQ(proc_status_field(pid, "Uid"), u + "\t" + u + "\t" + u + "\t" + u);

  // A user worker behind a dispatch worker, deployed and called.
  std::string hello = t.path + "/hello.mjs", front = t.path + "/front.js";
  std::ofstream(hello) << "export default { fetch() { return new Response('served from the sandbox'); } };";
  std::ofstream(front) << "module.exports = { fetch: function (r, env) { return env.NS.get('hello').fetch(r); } };";
  for (auto& step : std::vector<std::vector<std::string>>{
           {"namespace", "create", "apps"},
           {"script", "deploy", "apps", "hello", hello},
           {"worker", "deploy", "front", front, "--dispatch-namespace", "NS=apps"},
           {"route", "add", "*/*", "front"}}) {
    CmdResult r = ctl(step);
    ASSERT_EQ(r.status, 0) << step[0] << " " << step[1] << ": " << r.out << r.err << read_file(log_path);
  }
  HttpResult res = call();
  EXPECT_EQ(res.status, 200) << res.head << res.body << read_file(log_path);
  EXPECT_EQ(res.body, "served from the sandbox");

  // Each child made its empty root in a user namespace of its own: the
  // sandbox of apps/hello is in another one than the supervisor.
  pid_t sandbox = -1;
  for (pid_t p : descendants(pid))
    if (proc_cmdline(p).find("sandbox apps/hello") != std::string::npos) sandbox = p;
  ASSERT_GT(sandbox, 0) << "no sandbox for apps/hello among wfpd's children";
  EXPECT_NE(link_of("/proc/" + std::to_string(sandbox) + "/ns/user"), link_of("/proc/" + std::to_string(pid) + "/ns/user"));
  EXPECT_EQ(read_file(log_path).find("no empty root"), std::string::npos) << read_file(log_path);
  stop();
  if (HasFatalFailure()) return;

  // A restart (systemctl restart, Restart=on-failure): root, with only the
  // bounding set, finds the store's directory already the service user's,
  // with the store in it, and serves what was deployed.
  pid = launch();
  why = await_serving();
  ASSERT_EQ(why, "");
  res = call();
  EXPECT_EQ(res.status, 200) << res.head << res.body << read_file(log_path);
  EXPECT_EQ(res.body, "served from the sandbox");
  stop();
}

}  // namespace
}  // namespace wfp::test
