// wfpctl: the command line for wfpd's admin API; its grammar is fixed by
// DESIGN.md ("The command line") and documented in wfpctl(8).
// Runs as the operator; arguments are checked before anything is sent, and
// wfpd's answers are treated as data to print, never as instructions.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "supervisor/names.h"
#include "supervisor/wfpctl_client.h"
#include "supervisor/wfpctl_tail.h"

#ifndef WFP_VERSION
#define WFP_VERSION "unknown"  // the Makefile passes the release's version
#endif

namespace wfp {
namespace {

// Answers keep the daemon's key order, so --json and status print as sent.
using ojson = nlohmann::ordered_json;

constexpr const char* kDefaultSocket = "/run/wfp/admin.sock";
constexpr const char* kNamespaces = "/workers/dispatch/namespaces";
constexpr size_t kMaxTags = 8;  // per script, DESIGN.md
constexpr const char* kGlobalUsage = "wfpctl [--socket PATH] [--json] COMMAND [ARGS...]";

// Thrown to leave with an exit status once the message is printed:
// 0 success, 1 the daemon refused or can't be reached, 2 a usage error.
struct Exit {
  int code;
};

struct OptSpec {
  const char* name;  // without the leading "--"
  bool takes_value;
};

struct Ctx;

struct Command {
  std::vector<std::string> words;  // "script", "secret", "put"
  const char* usage;               // after "wfpctl "
  std::vector<OptSpec> opts;
  size_t min_args, max_args;  // positional arguments after the words
  void (*run)(Ctx&);
};

struct Ctx {
  std::string socket;
  bool json = false;
  const Command* cmd = nullptr;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> opts;

  bool has(std::string_view name) const {
    for (auto& [k, v] : opts)
      if (k == name) return true;
    return false;
  }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& [k, v] : opts)
      if (k == name) out.push_back(v);
    return out;
  }
  std::optional<std::string> last(std::string_view name) const {
    std::optional<std::string> out;
    for (auto& [k, v] : opts)
      if (k == name) out = v;
    return out;
  }
};

// --- errors and output --------------------------------------------------------

[[noreturn]] void usage_error(const Command* cmd, const std::string& message) {
  fprintf(stderr, "wfpctl: %s\nusage: %s%s\n", message.c_str(), cmd ? "wfpctl " : "",
          cmd ? cmd->usage : kGlobalUsage);
  throw Exit{2};
}

[[noreturn]] void refused(const std::string& message) {
  fprintf(stderr, "wfpctl: %s\n", message.c_str());
  throw Exit{1};
}

// A JSON value as a table cell or "key: value" text, made printable.
std::string scalar(const ojson& v) {
  if (v.is_string()) return printable(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_null()) return "-";
  return v.dump();
}

std::string field(const ojson& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  return it == obj.end() ? "-" : scalar(*it);
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); i++) width[i] = header[i].size();
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); i++)
      width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); i++) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    printf("%s\n", out.c_str());
  };
  line(header);
  for (auto& r : rows) line(r);
}

// wfpd never sends a secret's value; dropping any "text" of a secret_text
// binding here as well keeps that promise should an answer ever hold one.
void drop_secret_values(ojson& j) {
  if (j.is_object()) {
    auto type = j.find("type");
    if (type != j.end() && *type == "secret_text") j.erase("text");
    for (auto& el : j.items()) drop_secret_values(el.value());
  } else if (j.is_array()) {
    for (auto& e : j) drop_secret_values(e);
  }
}

void print_json(const ojson& answer) {
  ojson j = answer;
  drop_secret_values(j);
  printf("%s\n", j.dump(2, ' ', false, ojson::error_handler_t::replace).c_str());
}

// "a.b: value" lines; arrays of scalars give one line per element, so
// `wfpctl status` prints "listen: ADDR" once per listener.
void print_flat(const std::string& prefix, const ojson& v) {
  if (v.is_object()) {
    for (auto& [k, val] : v.items()) print_flat(prefix.empty() ? k : prefix + "." + k, val);
  } else if (v.is_array()) {
    if (v.empty()) printf("%s: -\n", prefix.c_str());
    size_t i = 0;
    for (auto& e : v) {
      if (e.is_structured())
        print_flat(prefix + "." + std::to_string(i), e);
      else
        printf("%s: %s\n", prefix.c_str(), scalar(e).c_str());
      i++;
    }
  } else {
    std::string text = scalar(v);
    printf("%s: %s\n", prefix.c_str(), text.empty() ? "-" : text.c_str());
  }
}

// --- talking to wfpd -------------------------------------------------------------

struct Answer {
  ojson result;
  ojson result_info;
};

const char* reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

AdminReply send_request(const Ctx& c, const std::string& method, const std::string& target,
                        const std::string& content_type = "", const std::string& body = "") {
  AdminReply reply;
  AdminCallResult r = admin_call(c.socket, method, target, content_type, body, reply);
  if (r.status == AdminCallStatus::connect_failed) {
    std::string hint;
    if (r.errno_value == ENOENT || r.errno_value == ECONNREFUSED) hint = " (is wfpd running?)";
    if (r.errno_value == EACCES || r.errno_value == EPERM)
      hint = " (is your user in wfpd's group, wfp by default?)";
    refused("cannot connect to wfpd at " + c.socket + ": " + r.error + hint);
  }
  if (r.status == AdminCallStatus::transport_failed)
    refused("lost the connection to wfpd at " + c.socket + ": " + r.error);
  return reply;
}

// Checks an API envelope; prints its errors and exits 1 when it failed.
Answer check_answer(const AdminReply& reply) {
  ojson body = ojson::parse(reply.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    std::string first = reply.body.substr(0, reply.body.find('\n'));
    if (first.size() > 200) first.resize(200);
    refused("wfpd answered HTTP " + std::to_string(reply.status) + " " + reason(reply.status) +
            (first.empty() ? std::string() : ": " + printable(first)));
  }
  for (auto& m : body.value("messages", ojson::array()))
    if (m.is_object() && m.contains("message"))
      fprintf(stderr, "wfpctl: note: %s\n", scalar(m["message"]).c_str());
    else if (m.is_string())
      fprintf(stderr, "wfpctl: note: %s\n", scalar(m).c_str());
  bool success = body.value("success", false) == true;
  if (!success || reply.status >= 400) {
    bool any = false;
    auto errors = body.value("errors", ojson::array());
    for (auto& e : errors) {
      if (!e.is_object() || !e.contains("message")) continue;
      fprintf(stderr, "wfpctl: %s\n", scalar(e["message"]).c_str());
      any = true;
    }
    if (!any)
      fprintf(stderr, "wfpctl: wfpd refused the request (HTTP %d %s)\n", reply.status,
              reason(reply.status));
    throw Exit{1};
  }
  Answer a;
  a.result = body.contains("result") ? body["result"] : ojson();
  a.result_info = body.contains("result_info") ? body["result_info"] : ojson();
  return a;
}

Answer api(const Ctx& c, const std::string& method, const std::string& target,
           const std::string& content_type = "", const std::string& body = "") {
  return check_answer(send_request(c, method, target, content_type, body));
}

Answer api_json(const Ctx& c, const std::string& method, const std::string& target,
                const ojson& body) {
  return api(c, method, target, "application/json", body.dump());
}

// --- argument checks -----------------------------------------------------------------

const std::string& need_name(const Ctx& c, const std::string& name, const char* what) {
  if (!valid_name(name)) usage_error(c.cmd, invalid_name_message(what, name));
  return name;
}

bool js_identifier(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  auto start = [](char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch == '$';
  };
  if (!start(s[0])) return false;
  for (char ch : s)
    if (!start(ch) && !(ch >= '0' && ch <= '9')) return false;
  return true;
}

const std::string& need_binding_name(const Ctx& c, const std::string& name, const char* flag) {
  if (!js_identifier(name))
    usage_error(c.cmd, std::string("--") + flag + ": binding name \"" + printable(name) +
                           "\" is not a JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*)");
  return name;
}

std::pair<std::string, std::string> split_kv(const Ctx& c, const std::string& arg, const char* flag,
                                             const char* shape) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    usage_error(c.cmd,
                std::string("bad --") + flag + " \"" + printable(arg) + "\": expected " + shape);
  return {arg.substr(0, eq), arg.substr(eq + 1)};
}

int64_t need_count(const Ctx& c, const std::string& text, const char* flag, int64_t max) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 1 || v > max)
    usage_error(c.cmd, std::string("--") + flag + " needs an integer from 1 to " +
                           std::to_string(max) + ", not \"" + printable(text) + "\"");
  return v;
}

// A script's tags, as given to deploy or `script tags`: each valid, none
// twice, at most 8 (DESIGN.md); checked here so nothing is sent.
ojson need_tags(const Ctx& c, const std::vector<std::string>& given) {
  ojson tags = ojson::array();
  std::set<std::string> seen;
  for (auto& t : given) {
    if (!valid_tag(t))
      usage_error(c.cmd,
                  "tag \"" + printable(t) +
                      "\" is invalid: 1 to 64 printable characters, no ',', '&', ':' or space");
    if (!seen.insert(t).second) usage_error(c.cmd, "tag \"" + t + "\" is given twice");
    tags.push_back(t);
  }
  if (tags.size() > kMaxTags)
    usage_error(c.cmd, "a script takes at most " + std::to_string(kMaxTags) + " tags, not " +
                           std::to_string(tags.size()));
  return tags;
}

// A FILE argument that can't be read is the operator's mistake, so a usage
// error naming the file; a directory is refused before reading, since
// reading one fails with EISDIR only on some systems and streams hide why.
std::string read_file_arg(const Ctx& c, const std::string& path) {
  bool is_stdin = path == "-";
  int fd = is_stdin ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::string shown = is_stdin ? std::string("standard input") : printable(path);
  if (fd < 0) usage_error(c.cmd, "cannot read " + shown + ": " + strerror(errno));
  auto fail = [&](int err) {
    if (!is_stdin) close(fd);
    usage_error(c.cmd, "cannot read " + shown + ": " + strerror(err));
  };
  struct stat st;
  if (fstat(fd, &st) != 0) fail(errno);
  if (S_ISDIR(st.st_mode)) fail(EISDIR);
  std::string s;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(errno);
    if (n == 0) break;
    s.append(buf, size_t(n));
  }
  if (!is_stdin) close(fd);
  return s;
}

// One line of standard input, with echo off on a terminal. Secret values
// come only from here: a command line is visible to every user in ps.
std::string read_secret(const Ctx& c, const std::string& key) {
  bool tty = isatty(STDIN_FILENO);
  termios saved{};
  bool echo_off = false;
  if (tty) {
    fprintf(stderr, "Value of secret %s: ", key.c_str());
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~tcflag_t(ECHO);
      echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  std::string line;
  bool got = bool(std::getline(std::cin, line));
  if (echo_off) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  if (tty) fputc('\n', stderr);
  if (!got) usage_error(c.cmd, "standard input ended before the value of secret \"" + key + "\"");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string ns_path(const std::string& ns) {
  return std::string(kNamespaces) + "/" + percent_encode(ns);
}
std::string script_path(const std::string& ns, const std::string& name) {
  return ns_path(ns) + "/scripts/" + percent_encode(name);
}

// --- bindings and uploads ---------------------------------------------------------------

struct BindingSet {
  ojson list = ojson::array();
  std::set<std::string> names;
  std::vector<std::string> secrets;  // values read from stdin later, in this order

  void add(const Ctx& c, ojson b) {
    std::string name = b["name"].get<std::string>();
    if (!names.insert(name).second)
      usage_error(c.cmd, "binding name \"" + name + "\" is given twice");
    list.push_back(std::move(b));
  }
};

void add_common_bindings(const Ctx& c, BindingSet& set) {
  for (auto& v : c.all("var")) {
    auto [k, val] = split_kv(c, v, "var", "KEY=VALUE");
    need_binding_name(c, k, "var");
    set.add(c, ojson{{"type", "plain_text"}, {"name", k}, {"text", val}});
  }
  for (auto& v : c.all("service")) {
    auto [k, worker] = split_kv(c, v, "service", "BINDING=WORKER");
    need_binding_name(c, k, "service");
    need_name(c, worker, "worker");
    set.add(c, ojson{{"type", "service"}, {"name", k}, {"service", worker}});
  }
  for (auto& k : c.all("secret")) {
    need_binding_name(c, k, "secret");
    if (set.names.count(k)) usage_error(c.cmd, "binding name \"" + k + "\" is given twice");
    set.names.insert(k);
    set.secrets.push_back(k);
  }
}

// Reads the script, then the secrets (so a usage error never eats stdin).
std::string read_script_and_secrets(const Ctx& c, const std::string& file, BindingSet& set) {
  if (file == "-" && !set.secrets.empty())
    usage_error(c.cmd, "FILE is - (standard input), so secret values can't be read from it too");
  std::string source = read_file_arg(c, file);
  for (auto& k : set.secrets)
    set.list.push_back(ojson{{"type", "secret_text"}, {"name", k}, {"text", read_secret(c, k)}});
  return source;
}

std::string upload_body(const ojson& metadata, const std::string& source, std::string& ct) {
  std::vector<UploadPart> parts;
  parts.push_back({"metadata", "", "application/json", metadata.dump()});
  parts.push_back({"worker.js", "worker.js", "application/javascript", source});
  return build_multipart(parts, ct);
}

// --- namespace ----------------------------------------------------------------------------

void cmd_namespace_create(Ctx& c) {
  const std::string& name = need_name(c, c.args[0], "namespace");
  ojson body = {{"name", name}};
  if (c.has("trusted")) body["trusted_workers"] = true;
  Answer a = api_json(c, "POST", kNamespaces, body);
  if (c.json) return print_json(a.result);
  printf("Created dispatch namespace \"%s\" with ID \"%s\"\n", name.c_str(),
         field(a.result, "namespace_id").c_str());
}

void cmd_namespace_list(Ctx& c) {
  Answer a = api(c, "GET", kNamespaces);
  if (c.json) return print_json(a.result);
  std::vector<std::vector<std::string>> rows;
  for (auto& n : a.result)
    rows.push_back({field(n, "namespace_name"), field(n, "namespace_id"), field(n, "script_count"),
                    field(n, "trusted_workers"), field(n, "created_on")});
  print_table({"NAME", "ID", "SCRIPTS", "TRUSTED", "CREATED"}, rows);
}

void cmd_namespace_get(Ctx& c) {
  Answer a = api(c, "GET", ns_path(need_name(c, c.args[0], "namespace")));
  if (c.json) return print_json(a.result);
  printf("name: %s\nid: %s\nscripts: %s\ntrusted: %s\ncreated_on: %s\nmodified_on: %s\n",
         field(a.result, "namespace_name").c_str(), field(a.result, "namespace_id").c_str(),
         field(a.result, "script_count").c_str(), field(a.result, "trusted_workers").c_str(),
         field(a.result, "created_on").c_str(), field(a.result, "modified_on").c_str());
}

void cmd_namespace_rename(Ctx& c) {
  const std::string& from = need_name(c, c.args[0], "namespace");
  const std::string& to = need_name(c, c.args[1], "namespace");
  Answer a = api_json(c, "PUT", ns_path(from), ojson{{"name", to}});
  if (c.json) return print_json(a.result);
  printf("Renamed dispatch namespace \"%s\" to \"%s\"\n", from.c_str(), to.c_str());
}

void cmd_namespace_delete(Ctx& c) {
  const std::string& name = need_name(c, c.args[0], "namespace");
  Answer a = api(c, "DELETE", ns_path(name) + (c.has("force") ? "?force=true" : ""));
  if (c.json) return print_json(a.result);
  printf("Deleted dispatch namespace \"%s\"\n", name.c_str());
}

// --- script ---------------------------------------------------------------------------------

void cmd_script_deploy(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  ojson metadata = {{"body_part", "worker.js"}};
  ojson tags = need_tags(c, c.all("tag"));
  if (!tags.empty()) metadata["tags"] = tags;
  ojson limits = ojson::object();
  if (auto v = c.last("cpu-ms")) limits["cpu_ms"] = need_count(c, *v, "cpu-ms", 300000);
  if (auto v = c.last("subrequests"))
    limits["subrequests"] = need_count(c, *v, "subrequests", 10000);
  if (!limits.empty()) metadata["limits"] = limits;
  BindingSet set;
  add_common_bindings(c, set);
  std::string source = read_script_and_secrets(c, c.args[2], set);
  metadata["bindings"] = set.list;
  // Like wrangler: a redeploy keeps the secrets already set (script secret
  // put) unless this deploy names them again.
  metadata["keep_bindings"] = ojson::array({"secret_text"});
  std::string ct;
  std::string body = upload_body(metadata, source, ct);
  Answer a = api(c, "PUT", script_path(ns, name), ct, body);
  if (c.json) return print_json(a.result);
  printf("Deployed script \"%s\" to namespace \"%s\" (etag %s)\n", name.c_str(), ns.c_str(),
         field(a.result, "etag").c_str());
}

std::string tags_text(const ojson& s) {
  std::string out;
  if (s.is_object() && s.contains("tags") && s["tags"].is_array())
    for (auto& t : s["tags"]) out += (out.empty() ? "" : ",") + scalar(t);
  return out.empty() ? "-" : out;
}

void cmd_script_list(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  std::string tags;
  for (auto& t : c.all("tag")) {
    std::string tag = t, want = "yes";
    size_t colon = t.rfind(':');
    if (colon != std::string::npos) {
      tag = t.substr(0, colon);
      want = t.substr(colon + 1);
      if (want != "yes" && want != "no")
        usage_error(c.cmd, "--tag \"" + printable(t) + "\": expected T, T:yes or T:no");
    }
    if (!valid_tag(tag)) usage_error(c.cmd, "tag \"" + printable(tag) + "\" is invalid");
    tags += (tags.empty() ? "" : ",") + tag + ":" + want;
  }
  std::optional<int64_t> limit;
  if (auto v = c.last("limit")) limit = need_count(c, *v, "limit", 1000);
  std::string cursor = c.last("cursor").value_or("");
  // Without --limit, every page is fetched; with it, one page and the cursor
  // of the next.
  bool one_page = limit.has_value() || !cursor.empty();
  ojson all = ojson::array();
  std::string next;
  do {
    std::string q = "?limit=" + std::to_string(limit.value_or(1000));
    if (!tags.empty()) q += "&tags=" + percent_encode(tags);
    if (!cursor.empty()) q += "&cursor=" + percent_encode(cursor);
    Answer a = api(c, "GET", ns_path(ns) + "/scripts" + q);
    for (auto& s : a.result) all.push_back(s);
    next = a.result_info.is_object() && a.result_info.contains("cursor") &&
                   a.result_info["cursor"].is_string()
               ? a.result_info["cursor"].get<std::string>()
               : "";
    cursor = next;
  } while (!one_page && !next.empty());
  if (c.json) {
    print_json(all);
    if (one_page && !next.empty())
      fprintf(stderr, "wfpctl: next page: --cursor %s\n", next.c_str());
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (auto& s : all)
    rows.push_back({field(s, "id"), field(s, "format"), tags_text(s), field(s, "etag"),
                    field(s, "modified_on")});
  print_table({"NAME", "FORMAT", "TAGS", "ETAG", "MODIFIED"}, rows);
  if (one_page && !next.empty()) printf("(more: --cursor %s)\n", printable(next).c_str());
}

// ", outbound worker W (params P1, P2)" for a dispatch_namespace binding
// with an outbound worker, "" without one.
std::string outbound_text(const ojson& b) {
  if (!b.contains("outbound") || !b["outbound"].is_object()) return "";
  const ojson& o = b["outbound"];
  std::string text =
      ", outbound worker " + (o.contains("worker") ? field(o["worker"], "service") : "-");
  std::string params;
  if (o.contains("params") && o["params"].is_array())
    for (auto& p : o["params"]) params += (params.empty() ? "" : ", ") + field(p, "name");
  return text + (params.empty() ? "" : " (params " + params + ")");
}

void print_bindings(const ojson& obj) {
  if (!obj.is_object() || !obj.contains("bindings")) return;
  for (auto& b : obj["bindings"]) {
    std::string type = field(b, "type"), line = type + " " + field(b, "name");
    if (type == "plain_text" || type == "json")
      line += " = " + (b.contains("text") ? printable(b["text"].dump()) : "-");
    else if (type == "service")
      line += " -> " + field(b, "service");
    else if (type == "dispatch_namespace")
      line += " -> namespace " + field(b, "namespace") + outbound_text(b);
    printf("binding: %s\n", line.c_str());
  }
}

void cmd_script_get(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  if (c.has("source")) {
    AdminReply r = send_request(c, "GET", script_path(ns, name) + "/content");
    if (r.status != 200 || r.content_type.rfind("application/json", 0) == 0) check_answer(r);
    fwrite(r.body.data(), 1, r.body.size(), stdout);
    return;
  }
  Answer a = api(c, "GET", script_path(ns, name));
  if (c.json) return print_json(a.result);
  const ojson& s = a.result;
  auto limit = [&](const char* key) {
    std::string v = s.contains("limits") ? field(s["limits"], key) : "-";
    return v == "-" ? std::string("default") : v;
  };
  printf("name: %s\nnamespace: %s\nid: %s\netag: %s\nformat: %s\ntags: %s\n",
         field(s, "id").c_str(), field(s, "namespace").c_str(), field(s, "script_id").c_str(),
         field(s, "etag").c_str(), field(s, "format").c_str(), tags_text(s).c_str());
  printf("cpu_ms: %s\nsubrequests: %s\ncreated_on: %s\nmodified_on: %s\n", limit("cpu_ms").c_str(),
         limit("subrequests").c_str(), field(s, "created_on").c_str(),
         field(s, "modified_on").c_str());
  print_bindings(s);
  // The cache it uses: its own, or its trusted namespace's shared one.
  Answer cs = api(c, "GET", script_path(ns, name) + "/cache");
  const ojson& k = cs.result;
  printf("cache: %s entries, %s bytes, %s hits, %s misses%s\n", field(k, "entries").c_str(),
         field(k, "bytes").c_str(), field(k, "hits").c_str(), field(k, "misses").c_str(),
         k.value("shared_by_namespace", false) ? " (shared by the namespace)" : "");
}

// backup FILE: a consistent copy of the store, written to FILE.tmp and
// renamed, so FILE is never half a database; "-" writes to standard output.
void cmd_backup(Ctx& c) {
  const std::string& file = c.args[0];
  AdminReply r = send_request(c, "GET", "/backup");
  if (r.status != 200 || r.content_type.rfind("application/json", 0) == 0) check_answer(r);
  if (file == "-") {
    fwrite(r.body.data(), 1, r.body.size(), stdout);
    return;
  }
  std::string tmp = file + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wbx");
  if (!f) refused("cannot create " + tmp + ": " + strerror(errno));
  bool ok = fwrite(r.body.data(), 1, r.body.size(), f) == r.body.size();
  ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp.c_str(), file.c_str()) != 0) {
    std::string why = strerror(errno);
    unlink(tmp.c_str());
    refused("cannot write " + file + ": " + why);
  }
  if (c.json) return print_json(ojson{{"file", file}, {"bytes", r.body.size()}});
  printf("Backed up the store to %s (%zu bytes)\n", file.c_str(), r.body.size());
}

void cmd_cache_purge(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  ojson body = ojson::object();
  std::string url = c.last("url").value_or("");
  if (c.has("url")) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      usage_error(c.cmd, "--url must be an absolute http:// or https:// URL");
    body["url"] = url;
  }
  Answer a = api_json(c, "POST", script_path(ns, name) + "/cache/purge", body);
  if (c.json) return print_json(a.result);
  printf("Purged %s from the cache of %s/%s (%s entries)\n", c.has("url") ? url.c_str() : "everything", ns.c_str(),
         name.c_str(), field(a.result, "removed").c_str());
}

void cmd_script_delete(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  auto tags = c.all("tag");
  if (c.args.size() == 2 && !tags.empty())
    usage_error(c.cmd, "give a script NAME or --tag T, not both");
  if (c.args.size() == 1 && tags.size() != 1)
    usage_error(c.cmd, tags.empty() ? "missing NAME (or --tag T)" : "give one --tag");
  if (c.args.size() == 2) {
    const std::string& name = need_name(c, c.args[1], "script");
    Answer a = api(c, "DELETE", script_path(ns, name));
    if (c.json) return print_json(a.result);
    printf("Deleted script \"%s\" from namespace \"%s\"\n", name.c_str(), ns.c_str());
    return;
  }
  const std::string& tag = tags[0];
  if (!valid_tag(tag)) usage_error(c.cmd, "tag \"" + printable(tag) + "\" is invalid");
  Answer a = api(c, "DELETE", ns_path(ns) + "/scripts?tags=" + percent_encode(tag + ":yes"));
  if (c.json) return print_json(a.result);
  std::string n = field(a.result, "deleted");
  printf("Deleted %s script%s tagged \"%s\" from namespace \"%s\"\n", n.c_str(),
         n == "1" ? "" : "s", tag.c_str(), ns.c_str());
}

void cmd_script_secret_put(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  const std::string& key = need_binding_name(c, c.args[2], "secret");
  std::string value = read_secret(c, key);
  Answer a = api_json(c, "PUT", script_path(ns, name) + "/secrets",
                      ojson{{"name", key}, {"text", value}, {"type", "secret_text"}});
  if (c.json) return print_json(a.result);
  printf("Set secret \"%s\" of script \"%s\" in namespace \"%s\"\n", key.c_str(), name.c_str(),
         ns.c_str());
}

void cmd_script_secret_list(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  Answer a = api(c, "GET", script_path(ns, name) + "/secrets");
  if (c.json) return print_json(a.result);
  std::vector<std::vector<std::string>> rows;
  for (auto& s : a.result) rows.push_back({field(s, "name"), field(s, "type")});
  print_table({"NAME", "TYPE"}, rows);
}

void cmd_script_secret_delete(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  const std::string& key = need_binding_name(c, c.args[2], "secret");
  Answer a = api(c, "DELETE", script_path(ns, name) + "/secrets/" + percent_encode(key));
  if (c.json) return print_json(a.result);
  printf("Deleted secret \"%s\" of script \"%s\" in namespace \"%s\"\n", key.c_str(), name.c_str(),
         ns.c_str());
}

void cmd_script_tags(Ctx& c) {
  const std::string& ns = need_name(c, c.args[0], "namespace");
  const std::string& name = need_name(c, c.args[1], "script");
  std::vector<std::string> given(c.args.begin() + 2, c.args.end());
  bool replace = !given.empty() || c.has("clear");
  if (c.has("clear") && !given.empty()) usage_error(c.cmd, "give tags or --clear, not both");
  ojson tags = need_tags(c, given);
  Answer a = replace ? api_json(c, "PUT", script_path(ns, name) + "/tags", tags)
                     : api(c, "GET", script_path(ns, name) + "/tags");
  if (c.json) return print_json(a.result);
  for (auto& t : a.result) printf("%s\n", scalar(t).c_str());
}

// --- worker -----------------------------------------------------------------------------------

// BINDING=NS[,outbound=WORKER[,params=P1:P2]]
ojson dispatch_binding(const Ctx& c, const std::string& spec) {
  auto [binding, rest] =
      split_kv(c, spec, "dispatch-namespace", "BINDING=NS[,outbound=WORKER[,params=P1:P2]]");
  need_binding_name(c, binding, "dispatch-namespace");
  std::vector<std::string> items;
  std::stringstream ss(rest);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  if (items.empty() || items[0].empty())
    usage_error(c.cmd, "bad --dispatch-namespace \"" + printable(spec) + "\": missing NS");
  ojson b = {{"type", "dispatch_namespace"},
             {"name", binding},
             {"namespace", need_name(c, items[0], "namespace")}};
  ojson outbound;
  for (size_t i = 1; i < items.size(); i++) {
    auto [k, v] = split_kv(c, items[i], "dispatch-namespace", "outbound=WORKER or params=P1:P2");
    if (k == "outbound" && outbound.is_null()) {
      outbound = {{"worker", {{"service", need_name(c, v, "worker")}}}};
    } else if (k == "params" && !outbound.is_null() && !outbound.contains("params")) {
      ojson params = ojson::array();
      std::stringstream ps(v);
      for (std::string p; std::getline(ps, p, ':');) {
        if (!js_identifier(p))
          usage_error(c.cmd, "--dispatch-namespace: outbound parameter \"" + printable(p) +
                                 "\" is not a JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*)");
        params.push_back({{"name", p}});
      }
      outbound["params"] = params;
    } else {
      usage_error(c.cmd, "bad --dispatch-namespace \"" + printable(spec) +
                             "\": expected BINDING=NS[,outbound=WORKER[,params=P1:P2]]");
    }
  }
  if (!outbound.is_null()) b["outbound"] = outbound;
  return b;
}

void cmd_worker_deploy(Ctx& c) {
  const std::string& name = need_name(c, c.args[0], "worker");
  BindingSet set;
  for (auto& spec : c.all("dispatch-namespace")) set.add(c, dispatch_binding(c, spec));
  add_common_bindings(c, set);
  std::string source = read_script_and_secrets(c, c.args[1], set);
  ojson metadata = {{"body_part", "worker.js"}, {"bindings", set.list}};
  std::string ct;
  std::string body = upload_body(metadata, source, ct);
  Answer a = api(c, "PUT", "/workers/scripts/" + percent_encode(name), ct, body);
  if (c.json) return print_json(a.result);
  printf("Deployed worker \"%s\"\n", name.c_str());
}

void cmd_worker_list(Ctx& c) {
  Answer a = api(c, "GET", "/workers/scripts");
  if (c.json) return print_json(a.result);
  std::vector<std::vector<std::string>> rows;
  for (auto& w : a.result) {
    std::string bindings;
    if (w.is_object() && w.contains("bindings"))
      for (auto& b : w["bindings"]) bindings += (bindings.empty() ? "" : ",") + field(b, "name");
    rows.push_back({field(w, "id"), field(w, "format"), bindings.empty() ? "-" : bindings,
                    field(w, "modified_on")});
  }
  print_table({"NAME", "FORMAT", "BINDINGS", "MODIFIED"}, rows);
}

void cmd_worker_get(Ctx& c) {
  const std::string& name = need_name(c, c.args[0], "worker");
  Answer a = api(c, "GET", "/workers/scripts/" + percent_encode(name));
  if (c.json) return print_json(a.result);
  const ojson& w = a.result;
  printf("name: %s\nid: %s\netag: %s\nformat: %s\ncreated_on: %s\nmodified_on: %s\n",
         field(w, "id").c_str(), field(w, "script_id").c_str(), field(w, "etag").c_str(),
         field(w, "format").c_str(), field(w, "created_on").c_str(),
         field(w, "modified_on").c_str());
  print_bindings(w);
}

void cmd_worker_delete(Ctx& c) {
  const std::string& name = need_name(c, c.args[0], "worker");
  Answer a = api(c, "DELETE", "/workers/scripts/" + percent_encode(name));
  if (c.json) return print_json(a.result);
  printf("Deleted worker \"%s\"\n", name.c_str());
}

// --- route, status ------------------------------------------------------------------------------

void cmd_route_add(Ctx& c) {
  const std::string& pattern = c.args[0];
  const std::string& worker = need_name(c, c.args[1], "worker");
  Answer a =
      api_json(c, "POST", "/workers/routes", ojson{{"pattern", pattern}, {"script", worker}});
  if (c.json) return print_json(a.result);
  printf("Added route \"%s\" -> %s\n", printable(pattern).c_str(), worker.c_str());
}

void cmd_route_list(Ctx& c) {
  Answer a = api(c, "GET", "/workers/routes");
  if (c.json) return print_json(a.result);
  std::vector<std::vector<std::string>> rows;
  for (auto& r : a.result)
    rows.push_back({field(r, "id"), field(r, "pattern"), field(r, "script")});
  print_table({"ID", "PATTERN", "WORKER"}, rows);
}

void cmd_route_delete(Ctx& c) {
  const std::string& pattern = c.args[0];
  Answer a = api(c, "DELETE", "/workers/routes?pattern=" + percent_encode(pattern));
  if (c.json) return print_json(a.result);
  printf("Deleted route \"%s\"\n", printable(pattern).c_str());
}

bool is_array_of_objects(const ojson& v) {
  if (!v.is_array() || v.empty()) return false;
  for (auto& e : v)
    if (!e.is_object()) return false;
  return true;
}

// "key: value" lines (listen once per address), then one table per list of
// objects (children, namespaces), columns named by the keys.
void cmd_status(Ctx& c) {
  Answer a = api(c, "GET", "/status");
  if (c.json) return print_json(a.result);
  if (!a.result.is_object()) return print_flat("status", a.result);
  for (auto& [k, v] : a.result.items())
    if (!is_array_of_objects(v)) print_flat(k, v);
  for (auto& [k, v] : a.result.items()) {
    if (!is_array_of_objects(v)) continue;
    std::vector<std::string> keys;
    for (auto& e : v)
      for (auto& [ek, ev] : e.items())
        if (std::find(keys.begin(), keys.end(), ek) == keys.end()) keys.push_back(ek);
    std::vector<std::string> header;
    for (auto& key : keys) {
      std::string h;
      for (char ch : key) h += (ch >= 'a' && ch <= 'z') ? char(ch - 'a' + 'A') : ch;
      header.push_back(h);
    }
    std::vector<std::vector<std::string>> rows;
    for (auto& e : v) {
      std::vector<std::string> row;
      for (auto& key : keys)
        row.push_back(!e.contains(key)         ? "-"
                      : e[key].is_structured() ? printable(e[key].dump())
                                               : scalar(e[key]));
      rows.push_back(std::move(row));
    }
    printf("\n%s:\n", k.c_str());
    print_table(header, rows);
  }
}

// tail NS/NAME (a user worker) or tail WORKER (a platform worker).
void cmd_tail(Ctx& c) {
  const std::string& target = c.args[0];
  size_t slash = target.find('/');
  std::string base;
  if (slash != std::string::npos) {
    std::string ns = target.substr(0, slash), name = target.substr(slash + 1);
    need_name(c, ns, "namespace");
    need_name(c, name, "script");
    base = script_path(ns, name);
  } else {
    base = "/workers/scripts/" + percent_encode(need_name(c, target, "worker"));
  }
  throw Exit{run_tail(c.socket, base, target, c.json)};
}

void cmd_not_implemented(Ctx& c) {
  std::string words;
  for (auto& w : c.cmd->words) words += (words.empty() ? "" : " ") + w;
  refused("\"" + words + "\" is not implemented yet");
}

// --- the grammar ---------------------------------------------------------------------------------

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {{"namespace", "create"},
       "namespace create NAME [--trusted]",
       {{"trusted", false}},
       1,
       1,
       cmd_namespace_create},
      {{"namespace", "list"}, "namespace list", {}, 0, 0, cmd_namespace_list},
      {{"namespace", "get"}, "namespace get NAME", {}, 1, 1, cmd_namespace_get},
      {{"namespace", "rename"}, "namespace rename OLD NEW", {}, 2, 2, cmd_namespace_rename},
      {{"namespace", "delete"},
       "namespace delete NAME [--force]",
       {{"force", false}},
       1,
       1,
       cmd_namespace_delete},
      {{"script", "deploy"},
       "script deploy NS NAME FILE [--tag T]... [--var K=V]... [--secret K]... "
       "[--service BINDING=WORKER]... [--cpu-ms N] [--subrequests N]",
       {{"tag", true},
        {"var", true},
        {"secret", true},
        {"service", true},
        {"cpu-ms", true},
        {"subrequests", true}},
       3,
       3,
       cmd_script_deploy},
      {{"script", "list"},
       "script list NS [--tag T[:yes|:no]]... [--limit N] [--cursor C]",
       {{"tag", true}, {"limit", true}, {"cursor", true}},
       1,
       1,
       cmd_script_list},
      {{"script", "get"},
       "script get NS NAME [--source]",
       {{"source", false}},
       2,
       2,
       cmd_script_get},
      {{"script", "delete"},
       "script delete NS {NAME | --tag T}",
       {{"tag", true}},
       1,
       2,
       cmd_script_delete},
      {{"script", "secret", "put"},
       "script secret put NS NAME KEY   (the value is read from stdin)",
       {},
       3,
       3,
       cmd_script_secret_put},
      {{"script", "secret", "list"},
       "script secret list NS NAME",
       {},
       2,
       2,
       cmd_script_secret_list},
      {{"script", "secret", "delete"},
       "script secret delete NS NAME KEY",
       {},
       3,
       3,
       cmd_script_secret_delete},
      {{"script", "tags"},
       "script tags NS NAME [T...] [--clear]",
       {{"clear", false}},
       2,
       SIZE_MAX,  // need_tags says "at most 8", clearer than "unexpected argument"
       cmd_script_tags},
      {{"worker", "deploy"},
       "worker deploy NAME FILE [--dispatch-namespace "
       "BINDING=NS[,outbound=WORKER[,params=P1:P2]]]... "
       "[--service BINDING=WORKER]... [--var K=V]... [--secret K]...",
       {{"dispatch-namespace", true}, {"service", true}, {"var", true}, {"secret", true}},
       2,
       2,
       cmd_worker_deploy},
      {{"worker", "list"}, "worker list", {}, 0, 0, cmd_worker_list},
      {{"worker", "get"}, "worker get NAME", {}, 1, 1, cmd_worker_get},
      {{"worker", "delete"}, "worker delete NAME", {}, 1, 1, cmd_worker_delete},
      {{"route", "add"}, "route add PATTERN WORKER", {}, 2, 2, cmd_route_add},
      {{"route", "list"}, "route list", {}, 0, 0, cmd_route_list},
      {{"route", "delete"}, "route delete PATTERN", {}, 1, 1, cmd_route_delete},
      {{"status"}, "status", {}, 0, 0, cmd_status},
      {{"cache", "purge"}, "cache purge NS NAME [--url URL]", {{"url", true}}, 2, 2, cmd_cache_purge},
      {{"tail"}, "tail NS/NAME | tail WORKER", {}, 1, 1, cmd_tail},
      {{"backup"}, "backup FILE", {}, 1, 1, cmd_backup},
  };
  return table;
}

void print_help(FILE* out) {
  fprintf(out, "usage: %s\n\ncommands:\n", kGlobalUsage);
  for (auto& c : commands())
    if (c.run != cmd_not_implemented) fprintf(out, "  %s\n", c.usage);
  // Every global option is listed: the docs test reads this list.
  fprintf(out,
          "\noptions:\n"
          "  --socket PATH  the admin socket (default $WFP_ADMIN_SOCKET, else %s)\n"
          "  --json         print the API's result as JSON\n"
          "  -h, --help     this list; after a COMMAND, its usage\n"
          "  --version      print wfpctl's version\n"
          "See wfpctl(8).\n",
          kDefaultSocket);
}

// The name of the positional argument at `index`, as the usage line spells
// it ("script deploy NS NAME FILE ..." gives NS, NAME, FILE), so "missing
// FILE" says which one; "argument" past the names the usage line gives.
std::string arg_name(const Command& cmd, size_t index) {
  std::istringstream usage(cmd.usage);
  std::string word;
  for (size_t w = 0; w < cmd.words.size() && usage >> word;) w++;
  for (size_t i = 0; usage >> word; i++) {
    if (word.empty() || !(word[0] >= 'A' && word[0] <= 'Z')) break;
    if (i == index) return word;
  }
  return "argument";
}

bool is_help(std::string_view a) {
  return a == "--help" || a == "-h";
}

// Handles a global option at args[i] (advancing i past its value); false if
// args[i] is not one.
bool take_global(Ctx& c, const std::vector<std::string>& args, size_t& i, const Command* cmd) {
  const std::string& a = args[i];
  if (a == "--json") {
    c.json = true;
    return true;
  }
  if (a == "--socket") {
    if (i + 1 >= args.size()) usage_error(cmd, "--socket needs a PATH");
    c.socket = args[++i];
    if (c.socket.empty()) usage_error(cmd, "--socket needs a PATH");
    return true;
  }
  if (a.rfind("--socket=", 0) == 0) {
    c.socket = a.substr(9);
    if (c.socket.empty()) usage_error(cmd, "--socket needs a PATH");
    return true;
  }
  return false;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool help = false;
  for (auto& a : args) {
    if (a == "--") break;
    if (is_help(a)) help = true;
  }

  Ctx c;
  size_t i = 0;
  for (; i < args.size() && args[i].size() > 1 && args[i][0] == '-'; i++) {
    if (is_help(args[i])) continue;
    if (args[i] == "--version") {
      printf("wfpctl %s\n", WFP_VERSION);
      return 0;
    }
    if (!take_global(c, args, i, nullptr))
      usage_error(nullptr, "unknown option \"" + printable(args[i]) + "\"");
  }
  if (i == args.size()) {
    if (help) {
      print_help(stdout);
      return 0;
    }
    usage_error(nullptr, "missing COMMAND (wfpctl --help lists them)");
  }

  // The command: the longest run of words that names one.
  const Command* cmd = nullptr;
  std::vector<const Command*> group;
  for (auto& k : commands()) {
    if (k.words[0] != args[i]) continue;
    group.push_back(&k);
    bool match = i + k.words.size() <= args.size();
    for (size_t w = 1; match && w < k.words.size(); w++) match = args[i + w] == k.words[w];
    if (match && (!cmd || k.words.size() > cmd->words.size())) cmd = &k;
  }
  if (group.empty()) {
    if (help) {
      print_help(stdout);
      return 0;
    }
    usage_error(nullptr, "unknown command \"" + printable(args[i]) + "\"");
  }
  if (!cmd) {
    if (help) {
      printf("usage:\n");
      for (auto* k : group) printf("  wfpctl %s\n", k->usage);
      printf("See wfpctl(8).\n");
      return 0;
    }
    std::string verbs;
    for (auto* k : group) {
      std::string v = k->words[1];
      if (verbs.find(v) == std::string::npos) verbs += (verbs.empty() ? "" : ", ") + v;
    }
    std::string what = i + 1 < args.size() && args[i + 1][0] != '-'
                           ? "unknown subcommand \"" + printable(args[i + 1]) + "\" of " + args[i]
                           : args[i] + " needs a subcommand";
    fprintf(stderr, "wfpctl: %s (%s)\n", what.c_str(), verbs.c_str());
    for (size_t n = 0; n < group.size(); n++)
      fprintf(stderr, "%s wfpctl %s\n", n == 0 ? "usage:" : "      ", group[n]->usage);
    throw Exit{2};
  }
  if (help) {
    printf("usage: wfpctl %s\nSee wfpctl(8).\n", cmd->usage);
    return 0;
  }
  c.cmd = cmd;
  i += cmd->words.size();

  bool options_done = false;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (options_done || a == "-" || a.empty() || a[0] != '-') {
      c.args.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (take_global(c, args, i, cmd)) continue;
    if (a.rfind("--", 0) != 0) usage_error(cmd, "unknown option \"" + printable(a) + "\"");
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptSpec* spec = nullptr;
    for (auto& o : cmd->opts)
      if (name == o.name) spec = &o;
    if (!spec) usage_error(cmd, "unknown option \"--" + printable(name) + "\"");
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= args.size()) usage_error(cmd, "--" + name + " needs a value");
      value = args[++i];
    } else if (!spec->takes_value && inline_value) {
      usage_error(cmd, "--" + name + " takes no value");
    }
    c.opts.emplace_back(name, value);
  }
  if (c.args.size() < cmd->min_args) usage_error(cmd, "missing " + arg_name(*cmd, c.args.size()));
  if (c.args.size() > cmd->max_args)
    usage_error(cmd, "unexpected argument \"" + printable(c.args[cmd->max_args]) + "\"");

  if (c.socket.empty()) {
    const char* env = getenv("WFP_ADMIN_SOCKET");
    c.socket = env && *env ? env : kDefaultSocket;
  }
  cmd->run(c);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "wfpctl: cannot write to standard output: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace wfp

int main(int argc, char** argv) {
  try {
    return wfp::run(argc, argv);
  } catch (const wfp::Exit& e) {
    fflush(stdout);
    return e.code;
  } catch (const std::exception& e) {
    fprintf(stderr, "wfpctl: %s\n", e.what());
    return 1;
  }
}
