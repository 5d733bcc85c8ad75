// Integration test support (see wfpd_fixture.h). Runs in the test process;
// starts real daemons and clients and never mocks a component.
#include "tests/integration/wfpd_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wfp::test {

std::string bin(const std::string& name) {
  const char* d = getenv("WFP_BUILD_DIR");
  return std::string(d ? d : "build") + "/" + name;
}

void expect_ok(const CmdResult& r, const Wfpd* d) {
  if (r.status != 0) ADD_FAILURE() << r.out << r.err << (d ? d->log() : std::string());
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int serving_port(const std::string& status_json) {
  auto j = nlohmann::json::parse(status_json, nullptr, false);
  if (j.is_discarded() || !j.contains("listen") || !j["listen"].is_array() || j["listen"].empty()) return 0;
  std::string addr = j["listen"][0];
  // Serving means the dispatcher is up too.
  for (auto& c : j.value("children", nlohmann::json::array()))
    if (c["role"] == "dispatcher" && c["pid"].get<int>() > 0) return std::stoi(addr.substr(addr.rfind(':') + 1));
  return 0;
}

bool eventually(const std::function<bool()>& cond, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

CmdResult run(const std::vector<std::string>& argv, const std::string& input) {
  int in[2], out[2], err[2];
  // Close-on-exec: a command run from another thread must not inherit
  // these ends, or this one would wait for that one to exit.
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) {
    ssize_t w = write(in[1], input.data(), input.size());
    (void)w;
  }
  close(in[1]);
  CmdResult r;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(p, 2, 30000) <= 0) break;
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(p[i].fd);
        p[i].fd = -1;
        open_fds--;
      } else {
        (i == 0 ? r.out : r.err).append(buf, n);
      }
    }
  }
  for (auto& x : p)
    if (x.fd >= 0) close(x.fd);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string proc_cmdline(pid_t pid) {
  std::string s = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      std::string v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

namespace {
// The key of a "key = value" line, or "" for comments and blank lines.
std::string config_key(const std::string& line) {
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos || line[b] == '#') return "";
  size_t e = line.find_first_of(" \t=", b);
  return line.substr(b, e == std::string::npos ? std::string::npos : e - b);
}
}  // namespace

Wfpd::Wfpd(const std::string& extra_config, const std::string& binary, std::vector<std::string> extra_env)
    : binary_(binary), extra_env_(std::move(extra_env)) {
  char tmpl[] = "/tmp/wfp-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);  // the service user must reach the data dir
  socket_ = dir_ + "/admin.sock";
  config_path_ = dir_ + "/wfpd.conf";
  std::string defaults = "listen = 127.0.0.1:0\n"
                         "admin_socket = " + socket_ + "\n"
                         "data_dir = " + dir_ + "/data\n"
                         "dispatchers = 1\n"
                         "pool_spares = 1\n"
                         "pool_max_total = 16\n"
                         "cpu_ms = 200\n"
                         "wall_ms = 5000\n"
                         "memory_mb = 64\n"
                         "log_level = debug\n"
                         // Tests drive the admin API as fast as they can;
                         // admin_access_test.cc sets a limit of its own.
                         "admin_rate_limit = 0\n";
  // wfpd refuses a key set twice: a key in extra_config replaces ours.
  std::vector<std::string> overridden;
  std::istringstream extra(extra_config);
  for (std::string line; std::getline(extra, line);)
    if (!config_key(line).empty()) overridden.push_back(config_key(line));
  std::ofstream conf(config_path_);
  conf << "# test configuration: small limits, one of each child\n";
  std::istringstream ours(defaults);
  for (std::string line; std::getline(ours, line);) {
    bool replaced = false;
    for (auto& k : overridden) replaced = replaced || k == config_key(line);
    if (!replaced) conf << line << "\n";
  }
  conf << extra_config;
  conf.close();
  start();
}

Wfpd::~Wfpd() {
  stop();
  run({"/bin/rm", "-rf", dir_});
}

void Wfpd::start() {
  if (pid_ > 0) return;
  unlink(socket_.c_str());
  // The environment is built before fork: the child only execs. The
  // extra entries come first, so they win over inherited ones (getenv
  // returns the first match).
  std::vector<char*> envp;
  for (auto& e : extra_env_) envp.push_back(const_cast<char*>(e.c_str()));
  for (char** e = environ; *e; e++) envp.push_back(*e);
  envp.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open((dir_ + "/wfpd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 2);
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0);
    dup2(nul, 1);
    if (close_stdio) {
      for (int i : {0, 1, 2, fd, nul}) close(i);
    }
    // argv[0] stays "wfpd": the children's titles ("wfpd: sandbox …") start with it.
    const char* argv[] = {"wfpd", "-c", config_path_.c_str(), nullptr};
    execve(bin(binary_).c_str(), const_cast<char**>(argv), envp.data());
    dprintf(2, "test fixture: exec %s: %s\n", bin(binary_).c_str(), strerror(errno));
    _exit(127);
  }
  // Ready when the admin API answers with the bound address.
  bool ready = eventually([&] {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    CmdResult r = ctl({"--json", "status"});
    if (r.status != 0) return false;
    port_ = serving_port(r.out);
    return port_ > 0;
  }, 20000);
  if (!ready || pid_ < 0) throw std::runtime_error("wfpd did not start:\n" + log());
}

void Wfpd::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int st;
  bool gone = eventually([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, 10000);
  if (!gone) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
  }
  pid_ = -1;
}

int Wfpd::wait_exit(int ms) {
  if (pid_ <= 0) return -1;
  int st = 0;
  if (!eventually([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, ms)) return -1;
  pid_ = -1;
  return st;
}

std::string Wfpd::log() const { return read_file(dir_ + "/wfpd.log"); }

CmdResult Wfpd::ctl(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {bin("wfpctl"), "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

std::string Wfpd::write_file(const std::string& name, const std::string& source) const {
  std::string path = dir_ + "/" + name;
  std::ofstream(path, std::ios::binary) << source;
  return path;
}

HttpResult Wfpd::raw(const std::string& bytes, int timeout_ms, bool until_close) const {
  return raw_http(port_, bytes, timeout_ms, until_close);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += (char)c;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (sockaddr*)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

HttpResult raw_http(int port, const std::string& bytes, int timeout_ms, bool until_close) {
  HttpResult r;
  int fd = connect_loopback(port);
  if (fd < 0) return r;
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += n;
  }
  std::string data;
  char buf[65536];
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = (int)std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      r.closed = true;
      break;
    }
    data.append(buf, n);
    // Stop at one complete response with a Content-Length.
    size_t he = data.find("\r\n\r\n");
    if (he != std::string::npos && !until_close) {
      std::string head = data.substr(0, he);
      std::string lower = head;
      for (char& c : lower) c = (char)tolower((unsigned char)c);
      size_t cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos) {
        size_t len = std::stoul(head.substr(cl + 17));
        if (data.size() >= he + 4 + len && lower.find("connection: close") == std::string::npos) break;
      }
    }
  }
  close(fd);
  size_t he = data.find("\r\n\r\n");
  if (data.compare(0, 9, "HTTP/1.1 ") == 0 && data.size() > 12) r.status = std::stoi(data.substr(9, 3));
  if (he != std::string::npos) {
    r.head = data.substr(0, he);
    r.body = data.substr(he + 4);
  } else {
    r.head = data;
  }
  return r;
}

HttpResult Wfpd::get(const std::string& host, const std::string& path) const {
  return raw("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
}

std::vector<pid_t> Wfpd::processes(const std::string& prefix) const {
  // Walk /proc for descendants of wfpd (children of the zygote included).
  std::vector<pid_t> all;
  DIR* d = opendir("/proc");
  std::vector<std::pair<pid_t, pid_t>> parent;
  while (dirent* e = readdir(d)) {
    pid_t p = atoi(e->d_name);
    if (p <= 0) continue;
    std::string pp = proc_status_field(p, "PPid");
    if (!pp.empty()) parent.emplace_back(p, atoi(pp.c_str()));
  }
  closedir(d);
  std::vector<pid_t> family = {pid_};
  for (size_t i = 0; i < family.size(); i++)
    for (auto& [p, pp] : parent)
      if (pp == family[i]) family.push_back(p);
  for (pid_t p : family)
    if (p != pid_ && proc_cmdline(p).compare(0, prefix.size(), prefix) == 0) all.push_back(p);
  return all;
}

}  // namespace wfp::test
