// Integration test support: a real wfpd (port 0, temporary data directory,
// a small test configuration) driven by the real wfpctl and real HTTP over
// TCP. Binaries come from $WFP_BUILD_DIR (tools/run-tests sets it).
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace wfp::test {

struct CmdResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out, err;
};

struct HttpResult {
  int status = 0;          // 0 if no response
  std::string head;        // status line + headers
  std::string body;
  bool closed = false;     // the server closed the connection after it
};

class Wfpd {
 public:
  // Starts wfpd with the test configuration plus `extra_config` lines (a
  // key set there replaces the test configuration's own value). `binary`
  // is the program in $WFP_BUILD_DIR to run: "wfpd-test" is the test
  // build with hooks (tests/security). `extra_env` entries ("NAME=value")
  // are added to wfpd's environment, e.g. NOTIFY_SOCKET.
  explicit Wfpd(const std::string& extra_config = "", const std::string& binary = "wfpd",
                std::vector<std::string> extra_env = {});
  ~Wfpd();
  Wfpd(const Wfpd&) = delete;
  Wfpd& operator=(const Wfpd&) = delete;

  void start();                 // (re)starts on the same data directory
  // start() runs wfpd with stdin, stdout and stderr closed (its log is
  // then lost), as a careless init script might.
  bool close_stdio = false;
  void stop();                  // SIGTERM and wait
  // Waits up to `ms` for wfpd to exit by itself; its wait status, or -1.
  int wait_exit(int ms);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& socket() const { return socket_; }
  std::string log() const;      // everything wfpd wrote to stderr

  // wfpctl --socket SOCK args…, with `input` on standard input.
  CmdResult ctl(const std::vector<std::string>& args, const std::string& input = "") const;
  // Writes `source` to a file in the temporary directory; returns its path.
  std::string write_file(const std::string& name, const std::string& source) const;
  // GET http://127.0.0.1:PORT/path with the given Host.
  HttpResult get(const std::string& host, const std::string& path = "/") const;
  // Sends raw bytes and reads one response (or, with until_close, everything
  // until the server closes), giving up after `timeout_ms`.
  HttpResult raw(const std::string& bytes, int timeout_ms = 5000, bool until_close = false) const;

  // Pids of wfpd's descendants whose command line starts with `prefix`.
  std::vector<pid_t> processes(const std::string& prefix) const;

 private:
  std::string dir_, socket_, config_path_, binary_;
  std::vector<std::string> extra_env_;
  pid_t pid_ = -1;
  int port_ = 0;
};

std::string bin(const std::string& name);  // $WFP_BUILD_DIR/name

// A blocking TCP connection to 127.0.0.1:port (close-on-exec); -1 if refused.
int connect_loopback(int port);
// Sends raw bytes to 127.0.0.1:port and reads one response (see Wfpd::raw).
HttpResult raw_http(int port, const std::string& bytes, int timeout_ms = 5000, bool until_close = false);
// Percent-encodes all but unreserved characters, for query strings.
std::string url_encode(const std::string& s);

// For a test suite's set-up: a wfpctl step that must succeed, reported
// with its output (and the daemon's log when given) if it does not.
void expect_ok(const CmdResult& r, const Wfpd* d = nullptr);
CmdResult run(const std::vector<std::string>& argv, const std::string& input = "");
std::string read_file(const std::string& path);
std::string proc_cmdline(pid_t pid);
std::string proc_status_field(pid_t pid, const std::string& field);
// Polls `cond` every 20 ms until it is true or `ms` pass.
bool eventually(const std::function<bool()>& cond, int ms = 10000);
// From `wfpctl --json status` output: the port of the first public
// listener once a dispatcher is up (wfpd serves), else 0.
int serving_port(const std::string& status_json);

}  // namespace wfp::test
