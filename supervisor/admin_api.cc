// The admin API's request handling: Cloudflare-shaped REST paths mapped to
// the store, the compiler child and the supervisor's change hooks.
// Runs in the supervisor's event loop; callers are trusted by the socket's
// permissions, but every name, size, JSON document and multipart body is checked.
#include "supervisor/admin_api.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "ipc/log.h"
#include "supervisor/json_body.h"
#include "supervisor/multipart.h"
#include "supervisor/names.h"
#include "supervisor/routes.h"

namespace wfp {
namespace {

using json = nlohmann::json;
// Responses keep their keys in the order written, as Cloudflare's do.
using ojson = nlohmann::ordered_json;

// Error codes in a response's "errors" (Cloudflare's numbers where it has one):
//
//   code   HTTP       meaning
//   10000  500, 405   internal error (store I/O, a bug); a method the path does not take
//   10001  400        invalid input: a name, JSON, multipart, metadata, a query parameter
//   10007  404        not found: no such namespace, script, worker, route, or path
//   10009  409        conflict: already exists, still in use, namespace not empty
//   10013  413        too large: the script is over max_script_bytes
//   10021  400        the script was refused: it does not compile (or lower), or is empty
//   10000  401        (admin_auth.cc) no valid bearer token on the TCP listener
//     971  429        (admin_auth.cc) over admin_rate_limit; Retry-After says when to retry
enum : int {
  kInternal = 10000,
  kInvalid = 10001,
  kNotFound = 10007,
  kConflict = 10009,
  kTooLarge = 10013,
  kScriptRefused = 10021,
};

constexpr size_t kMaxBindings = 128;          // DESIGN.md: vars + secrets 128
constexpr size_t kMaxBindingText = 5 * 1024;  // 5 KiB each
constexpr size_t kMaxBindingName = 128;
constexpr size_t kMaxOutboundParams = 32;  // parameter names of an outbound worker
constexpr size_t kMaxTags = 8;
constexpr int64_t kMaxCpuMs = 300000;
constexpr int64_t kMaxSubrequests = 10000;
constexpr int kMaxListLimit = 1000;
constexpr size_t kMaxCursor = 1024;

// A refused call. Thrown by the checks below and caught at this file's two
// entry points (the request handler and the compile callback), where it
// becomes the one error response; it never leaves this file. Every check
// ends in the same reply, so a value threaded through each would only hide
// the logic.
struct ApiError {
  int status;
  int code;
  std::string message;
  std::string allow;  // for 405: the methods the path takes
};

[[noreturn]] void fail(int status, int code, std::string message) {
  throw ApiError{status, code, std::move(message), {}};
}
[[noreturn]] void invalid(std::string message) {
  fail(400, kInvalid, std::move(message));
}
[[noreturn]] void not_found(std::string message) {
  fail(404, kNotFound, std::move(message));
}

// Client text quoted in a message: printable ASCII only, bounded.
std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (s.size() > 80) out += "...";
  return out;
}

// --- responses -------------------------------------------------------------

void send_body(HttpExchange& ex, int status, const ojson& body,
               const std::vector<HttpHeader>& extra = {}) {
  HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "application/json"});
  for (auto& h : extra) r.headers.push_back(h);
  // Compiler messages and stored text may hold bytes that are not UTF-8;
  // replace them rather than let dump() throw.
  r.body = body.dump(-1, ' ', false, ojson::error_handler_t::replace);
  r.body += '\n';
  ex.respond(std::move(r));
}

void send_ok(HttpExchange& ex, ojson result, const std::vector<std::string>& messages = {},
             ojson result_info = nullptr) {
  ojson body = ojson::object();
  body["success"] = true;
  body["errors"] = ojson::array();
  body["messages"] = ojson::array();
  for (auto& m : messages) body["messages"].push_back(ojson{{"message", m}});
  body["result"] = std::move(result);
  if (!result_info.is_null()) body["result_info"] = std::move(result_info);
  send_body(ex, 200, body);
}

void send_error(HttpExchange& ex, const ApiError& e) {
  ojson body = ojson::object();
  body["success"] = false;
  body["errors"] = ojson::array({ojson{{"code", e.code}, {"message", e.message}}});
  body["messages"] = ojson::array();
  body["result"] = nullptr;
  std::vector<HttpHeader> extra;
  if (!e.allow.empty()) extra.push_back({"Allow", e.allow});
  send_body(ex, e.status, body, extra);
}

// Runs `fn`, turning whatever it throws into the one error response.
template <typename Fn>
void answer_guarded(HttpExchange& ex, const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    send_error(ex, e);
  } catch (const std::exception& e) {
    WFP_LOG(error, "admin: %s: internal error: %s", what, e.what());
    send_error(ex, ApiError{500, kInternal, std::string("internal error: ") + e.what(), {}});
  }
}

// Store outcomes to HTTP. The store's text names what was wrong; when it
// has none, `what` ("dispatch namespace \"x\"") makes one.
void check(const StoreResult& r, const std::string& what = "object") {
  if (r.ok()) return;
  auto text = [&](const std::string& fallback) { return r.message.empty() ? fallback : r.message; };
  switch (r.status) {
    case StoreStatus::ok:
      return;
    case StoreStatus::not_found:
      fail(404, kNotFound, text(what + " not found"));
    case StoreStatus::already_exists:
      fail(409, kConflict, text(what + " already exists"));
    case StoreStatus::in_use:
      fail(409, kConflict, text(what + " is still in use"));
    case StoreStatus::not_empty:
      fail(409, kConflict, text(what + " is not empty"));
    case StoreStatus::invalid:
      fail(400, kInvalid, text("invalid " + what));
    case StoreStatus::io_error:
      break;
  }
  WFP_LOG(error, "admin: store failed: %s", r.message.c_str());
  fail(500, kInternal, "storage error: " + text("I/O error"));
}

// --- request parsing -------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict percent-decoding: '%' needs two hex digits, and %00 is refused
// (a NUL would cut names short in C APIs further down).
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char v = char(hi * 16 + lo);
      if (v == 0) return false;
      out += v;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return true;
}

using Query = std::vector<std::pair<std::string, std::string>>;

Query parse_query(std::string_view target) {
  Query q;
  size_t qm = target.find('?');
  if (qm == std::string_view::npos) return q;
  std::string_view rest = target.substr(qm + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string k, v;
    if (!percent_decode(item.substr(0, eq), true, k) ||
        (eq != std::string_view::npos && !percent_decode(item.substr(eq + 1), true, v)))
      invalid("query string has a malformed percent-escape");
    q.emplace_back(std::move(k), std::move(v));
  }
  return q;
}

std::optional<std::string> query_get(const Query& q, std::string_view key) {
  for (auto& [k, v] : q)
    if (k == key) return v;
  return std::nullopt;
}

bool query_bool(const Query& q, std::string_view key) {
  auto v = query_get(q, key);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  invalid("query parameter " + std::string(key) + " must be true or false, not \"" + shown(*v) +
          "\"");
}

json parse_json(std::string_view text, const std::string& what) {
  std::string error;
  json j = parse_json_text(text, error);
  if (!error.empty()) invalid(what + " is " + error);
  return j;
}

json parse_json_object_body(const HttpRequest& req) {
  if (req.body.empty()) invalid("request body must be a JSON object");
  json j = parse_json(req.body, "request body");
  if (!j.is_object()) invalid("request body must be a JSON object");
  return j;
}

std::optional<std::string> opt_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) invalid(where + "\"" + key + "\" must be a string");
  return it->get<std::string>();
}

std::string req_string(const json& obj, const char* key, const std::string& where) {
  auto v = opt_string(obj, key, where);
  if (!v) invalid(where + "\"" + key + "\" is required");
  return *v;
}

std::optional<bool> opt_bool(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) invalid(where + "\"" + key + "\" must be true or false");
  return it->get<bool>();
}

void check_name(std::string_view what, std::string_view name) {
  if (!valid_name(name)) invalid(invalid_name_message(what, name));
}

// --- objects as the API shows them -----------------------------------------

ojson namespace_json(const Namespace& n) {
  ojson j = ojson::object();
  j["namespace_id"] = std::to_string(n.id);
  j["namespace_name"] = n.name;
  j["script_count"] = n.script_count;
  j["trusted_workers"] = n.trusted;
  j["created_on"] = n.created_on;
  j["modified_on"] = n.modified_on;
  return j;
}

// Secrets show their type and name only: their text never leaves the store
// through this API.
ojson bindings_json(const std::vector<Binding>& bindings) {
  ojson arr = ojson::array();
  for (auto& b : bindings) {
    ojson j = ojson::object();
    j["type"] = b.type;
    j["name"] = b.name;
    if (b.type == "plain_text") {
      j["text"] = b.text;
    } else if (b.type == "json") {
      j["text"] = b.text;
      ojson v = ojson::parse(b.text, nullptr, false);
      if (!v.is_discarded()) j["json"] = std::move(v);
    } else if (b.type == "service") {
      j["service"] = b.target_name;
    } else if (b.type == "dispatch_namespace") {
      j["namespace"] = b.target_name;
      if (!b.outbound_name.empty()) {
        ojson params = ojson::array();
        for (auto& p : b.outbound_params) params.push_back(ojson{{"name", p}});
        ojson outbound = ojson::object();
        outbound["worker"] = ojson{{"service", b.outbound_name}};
        outbound["params"] = std::move(params);
        j["outbound"] = std::move(outbound);
      }
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

ojson limit_json(int64_t v) {
  return v > 0 ? ojson(v) : ojson(nullptr);
}

ojson script_json(const Script& s, const std::string& ns) {
  ojson j = ojson::object();
  j["id"] = s.name;
  j["script_id"] = s.id;
  j["namespace"] = ns;
  j["etag"] = s.etag;
  j["tags"] = s.tags;
  j["format"] = s.code.format;
  j["created_on"] = s.created_on;
  j["modified_on"] = s.modified_on;
  ojson limits = ojson::object();
  limits["cpu_ms"] = limit_json(s.cpu_ms);
  limits["subrequests"] = limit_json(s.subrequests);
  j["limits"] = std::move(limits);
  j["bindings"] = bindings_json(s.bindings);
  return j;
}

ojson worker_json(const Worker& w) {
  ojson j = ojson::object();
  j["id"] = w.name;
  j["script_id"] = w.id;
  j["etag"] = w.etag;
  j["format"] = w.code.format;
  j["created_on"] = w.created_on;
  j["modified_on"] = w.modified_on;
  j["bindings"] = bindings_json(w.bindings);
  return j;
}

ojson route_json(const Route& r) {
  ojson j = ojson::object();
  j["id"] = std::to_string(r.id);
  j["pattern"] = r.pattern;
  j["script"] = r.worker_name;
  return j;
}

// --- uploads -----------------------------------------------------------------

// The script of an upload, checked, and its metadata (a JSON object).
struct Upload {
  std::string source;
  std::string format;  // "service-worker" | "commonjs"
  std::string part_name;
  json metadata = json::object();
  bool module = false;       // an ES module (by its type or its syntax)
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// The media type without parameters, lower case ("application/javascript").
std::string media_type(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return lower(t);
}

// An import or export statement at the start of a line (after indentation):
// the mark of an ES module. "import(" and "import.meta" are left to the
// compiler.
bool looks_like_es_module(std::string_view src) {
  size_t i = 0;
  while (i < src.size()) {
    while (i < src.size() && (src[i] == ' ' || src[i] == '\t')) i++;
    for (std::string_view kw : {std::string_view("import"), std::string_view("export")}) {
      if (src.substr(i, kw.size()) == kw && i + kw.size() < src.size()) {
        char next = src[i + kw.size()];
        if (next == ' ' || next == '\t' || next == '{' || next == '*' ||
            (kw == "import" && (next == '"' || next == '\'')))
          return true;
      }
    }
    size_t nl = src.find('\n', i);
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  return false;
}

void check_script_source(const AdminBackend& b, Upload& up, bool is_main_module, bool module_type) {
  int64_t max = b.config().max_script_bytes;
  if (max > 0 && int64_t(up.source.size()) > max)
    fail(413, kTooLarge,
         "script is " + std::to_string(up.source.size()) + " bytes; the limit is " +
             std::to_string(max) + " (max_script_bytes)");
  if (up.source.find_first_not_of(" \t\r\n\f\v") == std::string::npos)
    fail(400, kScriptRefused, "script is empty");
  // ES modules are lowered to CommonJS by the compiler, which has the last
  // word on the format; this is only its hint.
  up.module = module_type || is_main_module || looks_like_es_module(up.source);
  // A script that registers a fetch listener is a service worker even if
  // it mentions exports (in a comment, say); otherwise module.exports or
  // exports.x makes it CommonJS.
  bool listener = up.source.find("addEventListener") != std::string::npos;
  bool commonjs = !listener && (up.source.find("module.exports") != std::string::npos ||
                                up.source.find("exports.") != std::string::npos);
  up.format = commonjs ? "commonjs" : "service-worker";
}

// Reads the script and metadata of a deploy: multipart/form-data as
// Cloudflare's API takes it, or (for curl and old clients) a bare
// application/javascript body with no metadata.
Upload read_upload(const AdminBackend& b, const HttpRequest& req,
                   std::vector<std::string>& messages) {
  Upload up;
  const std::string* ct = req.header("Content-Type");
  if (!ct) invalid("Content-Type is missing; expected multipart/form-data");
  std::string type = media_type(*ct);
  if (type == "application/javascript" || type == "text/javascript" ||
      type == "application/javascript+module") {
    up.source = req.body;
    up.part_name = "(body)";
    check_script_source(b, up, false, type == "application/javascript+module");
    return up;
  }

  std::string boundary, error;
  if (!multipart_boundary(*ct, boundary, error)) invalid(error);
  std::vector<MultipartPart> parts;
  if (!parse_multipart(req.body, boundary, parts, error)) invalid(error);

  auto find_part = [&](std::string_view name) -> const MultipartPart* {
    for (auto& p : parts)
      if (p.name == name) return &p;
    return nullptr;
  };
  const MultipartPart* meta = find_part("metadata");
  if (!meta) invalid("upload has no \"metadata\" part");
  up.metadata = parse_json(meta->body, "metadata");
  if (!up.metadata.is_object()) invalid("metadata must be a JSON object");

  auto body_part = opt_string(up.metadata, "body_part", "metadata: ");
  auto main_module = opt_string(up.metadata, "main_module", "metadata: ");
  if (body_part && main_module) invalid("metadata has both body_part and main_module; give one");
  if (!body_part && !main_module)
    invalid("metadata needs body_part (a service-worker or CommonJS script) or main_module");
  const std::string& part_name = body_part ? *body_part : *main_module;
  const MultipartPart* script = find_part(part_name);
  if (!script || part_name == "metadata")
    invalid("upload has no part named \"" + shown(part_name) + "\" (named by " +
            (body_part ? "body_part" : "main_module") + ")");

  std::string stype = media_type(script->content_type);
  bool module_type = stype == "application/javascript+module";
  if (!module_type && !stype.empty() && stype != "application/javascript" &&
      stype != "text/javascript")
    invalid("part \"" + shown(part_name) + "\" has Content-Type \"" + shown(script->content_type) +
            "\"; expected application/javascript");
  up.part_name = part_name;
  up.source = script->body;
  check_script_source(b, up, bool(main_module), module_type);

  // Extra modules (source maps, data) are not used; say so rather than fail,
  // so wrangler-made uploads still deploy.
  for (auto& p : parts)
    if (p.name != "metadata" && p.name != part_name)
      messages.push_back("part \"" + shown(p.name) +
                         "\" was ignored: only one script part is used");
  return up;
}

bool valid_js_identifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxBindingName) return false;
  auto start = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '$';
  };
  if (!start(s[0])) return false;
  for (char c : s)
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

// Cloudflare's outbound of a dispatch_namespace binding:
//   {"worker": {"service": NAME, "environment"?: E}, "params"?: [{"name": P}, ...]}
// `where` names the binding. The store checks the same again; here each
// malformed part gets a message that says which one it is.
void read_outbound(const json& ot, Binding& b, const std::string& where,
                   std::vector<std::string>& messages) {
  const char* shape = "{\"worker\": {\"service\": NAME}, \"params\": [{\"name\": P}, ...]}";
  if (!ot.is_object()) invalid(where + "\"outbound\" must be an object " + shape);
  auto wt = ot.find("worker");
  if (wt == ot.end() || wt->is_null())
    invalid(where + "outbound: \"worker\" is required: " + shape);
  if (!wt->is_object())
    invalid(where + "outbound: \"worker\" must be an object {\"service\": NAME}");
  b.outbound_name = req_string(*wt, "service", where + "outbound.worker: ");
  if (!valid_name(b.outbound_name))
    invalid(where + "outbound.worker: " + invalid_name_message("worker", b.outbound_name));
  // wrangler sends the outbound worker's environment when its config names
  // one; wfp has no environments, so the worker is the one of that name.
  if (auto env = opt_string(*wt, "environment", where + "outbound.worker: "))
    messages.push_back("binding \"" + b.name + "\": outbound environment \"" + shown(*env) +
                       "\" was ignored: wfp has no environments");

  auto pt = ot.find("params");
  if (pt == ot.end() || pt->is_null()) return;
  if (!pt->is_array()) invalid(where + "outbound: \"params\" must be an array of {\"name\": P}");
  if (pt->size() > kMaxOutboundParams)
    invalid(where + "outbound: " + std::to_string(pt->size()) + " params; the limit is " +
            std::to_string(kMaxOutboundParams));
  for (size_t i = 0; i < pt->size(); i++) {
    const json& pj = (*pt)[i];
    std::string pwhere = where + "outbound.params[" + std::to_string(i) + "]: ";
    if (!pj.is_object()) invalid(pwhere + "must be an object {\"name\": P}");
    std::string p = req_string(pj, "name", pwhere);
    if (!valid_js_identifier(p))
      invalid(pwhere + "name \"" + shown(p) +
              "\" is not a JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*, at most 128)");
    if (std::find(b.outbound_params.begin(), b.outbound_params.end(), p) != b.outbound_params.end())
      invalid(where + "outbound parameter \"" + p + "\" is given twice");
    b.outbound_params.push_back(std::move(p));
  }
}

struct Meta {
  std::vector<std::string> tags;
  std::vector<Binding> bindings;
  int64_t cpu_ms = 0, subrequests = 0;
  std::set<std::string> keep_bindings;  // binding types kept from the last deploy
};

int64_t read_limit(const json& limits, const char* key, int64_t max) {
  auto it = limits.find(key);
  if (it == limits.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > max)
    invalid(std::string("metadata: limits.") + key + " must be an integer from 1 to " +
            std::to_string(max));
  return it->get<int64_t>();
}

Meta read_meta(const json& md, bool platform, std::vector<std::string>& messages) {
  Meta m;
  if (auto it = md.find("bindings"); it != md.end() && !it->is_null()) {
    if (!it->is_array()) invalid("metadata: bindings must be an array");
    if (it->size() > kMaxBindings)
      invalid("metadata: " + std::to_string(it->size()) + " bindings; the limit is " +
              std::to_string(kMaxBindings));
    std::set<std::string> names;
    for (size_t i = 0; i < it->size(); i++) {
      const json& bj = (*it)[i];
      std::string where = "metadata: bindings[" + std::to_string(i) + "]: ";
      if (!bj.is_object()) invalid(where + "must be an object");
      Binding b;
      b.type = req_string(bj, "type", where);
      b.name = req_string(bj, "name", where);
      if (!valid_js_identifier(b.name))
        invalid(where + "name \"" + shown(b.name) +
                "\" is not a JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*, at most 128)");
      if (!names.insert(b.name).second)
        invalid(where + "two bindings are named \"" + b.name + "\"");
      where = "metadata: binding \"" + b.name + "\": ";
      if (b.type == "plain_text" || b.type == "secret_text") {
        b.text = req_string(bj, "text", where);
      } else if (b.type == "json") {
        auto jt = bj.find("json");
        if (jt == bj.end()) invalid(where + "\"json\" is required");
        b.text = jt->dump(-1, ' ', false, json::error_handler_t::replace);
      } else if (b.type == "service") {
        b.target_name = req_string(bj, "service", where);
        if (!valid_name(b.target_name))
          invalid(where + invalid_name_message("worker", b.target_name));
      } else if (b.type == "dispatch_namespace") {
        if (!platform) invalid(where + "dispatch_namespace bindings are for platform workers only");
        b.target_name = req_string(bj, "namespace", where);
        if (!valid_name(b.target_name))
          invalid(where + invalid_name_message("namespace", b.target_name));
        if (auto ot = bj.find("outbound"); ot != bj.end() && !ot->is_null())
          read_outbound(*ot, b, where, messages);
      } else {
        invalid(where + "binding type \"" + shown(b.type) +
                "\" is not supported (plain_text, secret_text, json, service" +
                (platform ? ", dispatch_namespace)" : ")"));
      }
      if (b.text.size() > kMaxBindingText)
        invalid(where + "value is " + std::to_string(b.text.size()) + " bytes; the limit is 5120");
      m.bindings.push_back(std::move(b));
    }
  }

  auto tags_it = md.find("tags");
  bool has_tags = tags_it != md.end() && !tags_it->is_null();
  if (has_tags && platform) {
    messages.push_back("tags were ignored: platform workers have none");
  } else if (has_tags) {
    if (!tags_it->is_array()) invalid("metadata: tags must be an array of strings");
    if (tags_it->size() > kMaxTags)
      invalid("metadata: " + std::to_string(tags_it->size()) + " tags; the limit is 8");
    for (auto& t : *tags_it) {
      if (!t.is_string()) invalid("metadata: tags must be an array of strings");
      std::string tag = t.get<std::string>();
      if (!valid_tag(tag))
        invalid("metadata: tag \"" + shown(tag) +
                "\" is invalid: 1 to 64 printable characters, no ',', '&', ':' or space");
      if (std::find(m.tags.begin(), m.tags.end(), tag) != m.tags.end())
        invalid("metadata: tag \"" + tag + "\" is given twice");
      m.tags.push_back(std::move(tag));
    }
  }

  auto lim_it = md.find("limits");
  bool has_limits = lim_it != md.end() && !lim_it->is_null();
  if (has_limits && platform) {
    messages.push_back("limits were ignored: platform workers run with the configured limits");
  } else if (has_limits) {
    if (!lim_it->is_object()) invalid("metadata: limits must be an object");
    m.cpu_ms = read_limit(*lim_it, "cpu_ms", kMaxCpuMs);
    m.subrequests = read_limit(*lim_it, "subrequests", kMaxSubrequests);
  }

  if (auto it = md.find("keep_bindings"); it != md.end() && !it->is_null()) {
    if (!it->is_array()) invalid("metadata: keep_bindings must be an array of binding types");
    for (auto& t : *it) {
      if (!t.is_string()) invalid("metadata: keep_bindings must be an array of binding types");
      m.keep_bindings.insert(t.get<std::string>());
    }
  }
  // compatibility_date, compatibility_flags, usage_model and the like are
  // accepted and ignored, so uploads made for Cloudflare deploy unchanged.
  return m;
}

// keep_bindings: bindings of the listed types from the previous deploy stay,
// unless the new metadata names a binding the same (Cloudflare's rule; how
// wrangler keeps secrets across deploys).
void keep_previous(std::vector<Binding>& bindings, const std::vector<Binding>& previous,
                   const std::set<std::string>& types) {
  if (types.empty()) return;
  for (auto& p : previous) {
    if (!types.count(p.type)) continue;
    bool redefined = std::any_of(bindings.begin(), bindings.end(),
                                 [&](const Binding& b) { return b.name == p.name; });
    if (!redefined) bindings.push_back(p);
  }
  if (bindings.size() > kMaxBindings)
    invalid("with keep_bindings the script would have " + std::to_string(bindings.size()) +
            " bindings; the limit is " + std::to_string(kMaxBindings));
}

std::vector<TagFilter> parse_tag_filters(const std::string& text) {
  std::vector<TagFilter> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) continue;
    TagFilter f;
    size_t colon = item.rfind(':');
    if (colon == std::string::npos) {
      f.tag = item;
    } else {
      f.tag = item.substr(0, colon);
      std::string want = item.substr(colon + 1);
      if (want == "yes")
        f.present = true;
      else if (want == "no")
        f.present = false;
      else
        invalid("tags filter \"" + shown(item) + "\" must be TAG:yes or TAG:no");
    }
    if (!valid_tag(f.tag)) invalid("tags filter names an invalid tag \"" + shown(f.tag) + "\"");
    out.push_back(std::move(f));
  }
  if (out.size() > 16) invalid("tags filter has more than 16 tags");
  return out;
}

// --- the handlers ------------------------------------------------------------

struct Call {
  AdminBackend& b;
  std::shared_ptr<HttpExchange> ex;
  const HttpRequest& req;
  Query query;

  Store& store() { return b.store(); }
  void ok(ojson result, const std::vector<std::string>& messages = {},
          ojson result_info = nullptr) {
    send_ok(*ex, std::move(result), messages, std::move(result_info));
  }
};

// 405 (with an Allow header) unless the method is one of `allowed`.
void allow(const Call& c, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* m : allowed) {
    if (c.req.method == m) return;
    list += list.empty() ? "" : ", ";
    list += m;
  }
  throw ApiError{405, kInternal,
                 "method " + shown(c.req.method) + " is not allowed here (allowed: " + list + ")",
                 list};
}

// script_count is filled only when `counted` (namespace_json shows it).
Namespace need_namespace(Call& c, const std::string& ns, bool counted = false) {
  auto n = c.store().get_namespace(ns, counted);
  if (!n) not_found("dispatch namespace \"" + ns + "\" not found");
  return *n;
}

// Namespaces ---------------------------------------------------------------

void namespaces_list(Call& c) {
  ojson arr = ojson::array();
  for (auto& n : c.store().list_namespaces()) arr.push_back(namespace_json(n));
  c.ok(std::move(arr));
}

void namespace_create(Call& c) {
  json body = parse_json_object_body(c.req);
  std::string name = req_string(body, "name", "");
  check_name("namespace", name);
  bool trusted = opt_bool(body, "trusted_workers", "").value_or(false);
  Namespace out;
  check(c.store().create_namespace(name, trusted, &out), "dispatch namespace \"" + name + "\"");
  if (out.id == 0) out = need_namespace(c, name, true);
  WFP_LOG(info, "admin: created namespace %s id=%lld%s", name.c_str(), (long long)out.id,
          trusted ? " (trusted)" : "");
  c.ok(namespace_json(out));
}

void namespace_get(Call& c, const std::string& ns) {
  c.ok(namespace_json(need_namespace(c, ns, true)));
}

// Tells the running children about every script of a namespace, page by
// page; used when the namespace's trust mode changes what they may do.
void each_script_changed(Call& c, const Namespace& n) {
  std::string cursor;
  do {
    ScriptPage page;
    check(c.store().list_scripts(n.id, {}, kMaxListLimit, cursor, page));
    for (auto& s : page.scripts) c.b.script_changed(n.id, s.name);
    cursor = page.next_cursor;
  } while (!cursor.empty());
}

void namespace_update(Call& c, const std::string& ns) {
  json body = parse_json_object_body(c.req);
  auto new_name = opt_string(body, "name", "");
  auto trusted = opt_bool(body, "trusted_workers", "");
  if (new_name) check_name("namespace", *new_name);
  Namespace before = need_namespace(c, ns);
  std::string current = ns;
  if (new_name && *new_name != ns) {
    check(c.store().rename_namespace(ns, *new_name), "dispatch namespace \"" + *new_name + "\"");
    WFP_LOG(info, "admin: renamed namespace %s to %s", ns.c_str(), new_name->c_str());
    current = *new_name;
  }
  if (trusted && *trusted != before.trusted) {
    check(c.store().set_namespace_trusted(current, *trusted),
          "dispatch namespace \"" + current + "\"");
    WFP_LOG(info, "admin: namespace %s is now %s", current.c_str(),
            *trusted ? "trusted" : "untrusted");
    // Running sandboxes were set up for the old mode (caches.default).
    each_script_changed(c, before);
  }
  c.ok(namespace_json(need_namespace(c, current, true)));
}

void namespace_delete(Call& c, const std::string& ns) {
  bool force = query_bool(c.query, "force");
  Namespace n = need_namespace(c, ns);
  check(c.store().delete_namespace(ns, force), "dispatch namespace \"" + ns + "\"");
  WFP_LOG(info, "admin: deleted namespace %s id=%lld", ns.c_str(), (long long)n.id);
  c.b.namespace_deleted(n.id);
  c.b.caches_dropped(n.id, 0);
  c.ok(nullptr);
}

// User scripts ---------------------------------------------------------------

[[noreturn]] void script_not_found(const Namespace& n, const std::string& name) {
  not_found("script \"" + name + "\" not found in dispatch namespace \"" + n.name + "\"");
}

Script need_script(Call& c, const Namespace& n, const std::string& name) {
  auto s = c.store().get_script(n.id, name);
  if (!s) script_not_found(n, name);
  return *s;
}

void scripts_list(Call& c, const std::string& ns) {
  Namespace n = need_namespace(c, ns);
  std::vector<TagFilter> filters;
  if (auto t = query_get(c.query, "tags")) filters = parse_tag_filters(*t);
  int limit = kMaxListLimit;
  if (auto l = query_get(c.query, "limit")) {
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || p != l->data() + l->size() || limit < 1 || limit > kMaxListLimit)
      invalid("limit must be an integer from 1 to " + std::to_string(kMaxListLimit));
  }
  std::string cursor = query_get(c.query, "cursor").value_or("");
  if (cursor.size() > kMaxCursor) invalid("cursor is too long");
  ScriptPage page;
  check(c.store().list_scripts(n.id, filters, limit, cursor, page));
  ojson arr = ojson::array();
  for (auto& s : page.scripts) arr.push_back(script_json(s, ns));
  ojson info = ojson::object();
  info["cursor"] = page.next_cursor;
  info["count"] = page.scripts.size();
  c.ok(std::move(arr), {}, std::move(info));
}

void scripts_delete_tagged(Call& c, const std::string& ns) {
  auto t = query_get(c.query, "tags");
  if (!t) invalid("deleting scripts in bulk needs ?tags=TAG:yes");
  std::vector<TagFilter> filters = parse_tag_filters(*t);
  if (std::none_of(filters.begin(), filters.end(), [](const TagFilter& f) { return f.present; }))
    invalid("deleting scripts by tags needs at least one TAG:yes filter");
  Namespace n = need_namespace(c, ns);
  // Collect first, then delete, so deleting never shifts the pages read.
  std::vector<std::string> names;
  std::string cursor;
  do {
    ScriptPage page;
    check(c.store().list_scripts(n.id, filters, kMaxListLimit, cursor, page));
    for (auto& s : page.scripts) names.push_back(s.name);
    cursor = page.next_cursor;
  } while (!cursor.empty());
  int64_t deleted = 0;
  for (auto& name : names) {
    StoreResult r = c.store().delete_script(n.id, name);
    if (r.status == StoreStatus::not_found) continue;  // raced with another delete
    if (!r.ok() && deleted > 0)
      WFP_LOG(warn, "admin: bulk delete in %s stopped after %lld scripts", ns.c_str(),
              (long long)deleted);
    check(r);
    deleted++;
    c.b.script_changed(n.id, name);
  }
  WFP_LOG(info, "admin: deleted %lld scripts tagged %s from namespace %s", (long long)deleted,
          t->c_str(), ns.c_str());
  ojson result = ojson::object();
  result["deleted"] = deleted;
  c.ok(std::move(result));
}

void script_get(Call& c, const std::string& ns, const std::string& name) {
  Namespace n = need_namespace(c, ns);
  c.ok(script_json(need_script(c, n, name), ns));
}

void script_delete(Call& c, const std::string& ns, const std::string& name) {
  Namespace n = need_namespace(c, ns);
  (void)query_bool(c.query, "force");  // Cloudflare's flag; nothing depends on a script here
  // Without its code, so not checked: deleting a damaged script must work.
  auto before = c.store().get_script_meta(n.id, name);
  check(c.store().delete_script(n.id, name),
        "script \"" + name + "\" in dispatch namespace \"" + ns + "\"");
  WFP_LOG(info, "admin: deleted script %s/%s", ns.c_str(), name.c_str());
  c.b.script_changed(n.id, name);
  if (before) c.b.caches_dropped(n.id, before->id);
  c.ok(nullptr);
}

// GET .../scripts/NAME/cache: the figures of the cache the script uses;
// POST .../scripts/NAME/cache/purge {"url": "..."}: purge one URL, or all.
// In a trusted namespace that is the namespace's shared cache.
void script_cache(Call& c, const std::string& ns, const std::string& name, bool purge) {
  Namespace n = need_namespace(c, ns);
  Script sc = need_script(c, n, name);
  std::string owner = cache_owner(n.id, n.trusted, sc.id);
  auto ex = c.ex;
  if (!purge) {
    c.b.cache_stats(owner, [ex, shared = n.trusted](CacheStats st, std::string error) {
      answer_guarded(*ex, "cache stats", [&] {
        if (!error.empty()) fail(500, kInternal, error);
        ojson r = ojson::object();
        r["entries"] = st.entries;
        r["bytes"] = st.bytes;
        r["hits"] = st.hits;
        r["misses"] = st.misses;
        r["shared_by_namespace"] = shared;
        send_ok(*ex, std::move(r), {});
      });
    });
    return;
  }
  std::string url;
  if (!c.req.body.empty()) {
    ojson body = ojson::parse(c.req.body, nullptr, false);
    if (!body.is_object()) invalid("the body must be a JSON object, such as {\"url\": \"https://example.com/a\"}");
    if (auto u = body.find("url"); u != body.end() && !u->is_null()) {
      if (!u->is_string() || u->get<std::string>().empty()) invalid("url must be a non-empty string");
      url = u->get<std::string>();
    }
  }
  std::string what = url.empty() ? "the whole cache" : url;
  c.b.cache_purge(owner, url, [ex, what, ns, name](int64_t removed, std::string error) {
    answer_guarded(*ex, "cache purge", [&] {
      if (!error.empty()) fail(error.find("absolute") != std::string::npos ? 400 : 500,
                               error.find("absolute") != std::string::npos ? kInvalid : kInternal, error);
      WFP_LOG(info, "admin: purged %s of %s/%s (%lld entries)", what.c_str(), ns.c_str(), name.c_str(),
              (long long)removed);
      ojson r = ojson::object();
      r["removed"] = removed;
      send_ok(*ex, std::move(r), {});
    });
  });
}

void send_source(Call& c, const ScriptCode& code, const std::string& etag) {
  HttpResponse r;
  r.status = 200;
  r.headers.push_back({"Content-Type", "application/javascript"});
  if (!etag.empty()) r.headers.push_back({"ETag", "\"" + etag + "\""});
  r.body = code.source;
  c.ex->respond(std::move(r));
}

// What the compiler made becomes the stored code; the format it decided
// (an ES module is lowered to CommonJS) overrides the upload's guess.
void take_compiled(ScriptCode& code, AdminBackend::CompileResult& r) {
  code.bytecode = std::move(r.bytecode);
  code.build_id = std::move(r.build_id);
  code.lowered = std::move(r.lowered);
  code.line_map = std::move(r.line_map);
  if (!r.format.empty()) code.format = r.format;
}

// Compiles, then commits: `write` stores what the compiler made, in a group
// commit with the other deploys of the same moment (AdminBackend::
// write_grouped); once that is durable, `answer` tells the children and
// returns the result to send. Both run on the event loop; either may throw
// an ApiError, which becomes the answer.
void compile_then(Call& c, const std::string& filename, const Upload& up,
                  std::vector<std::string> messages,
                  std::function<void(AdminBackend::CompileResult&)> write,
                  std::function<ojson()> answer) {
  AdminBackend* b = &c.b;
  auto ex = c.ex;
  b->compile(
      filename, up.source, up.module,
      [b, ex, messages = std::move(messages), write = std::move(write),
       answer = std::move(answer)](AdminBackend::CompileResult r) mutable {
        answer_guarded(*ex, "deploy", [&] {
          if (!r.ok && r.internal) fail(500, kInternal, "cannot compile now: " + r.error);
          if (!r.ok)
            fail(400, kScriptRefused,
                 r.error.empty() ? std::string("script failed to compile") : r.error);
          auto compiled = std::make_shared<AdminBackend::CompileResult>(std::move(r));
          b->write_grouped(
              [write = std::move(write), compiled] { write(*compiled); },
              [ex, messages = std::move(messages), answer = std::move(answer)](std::exception_ptr e) {
                answer_guarded(*ex, "deploy", [&] {
                  if (e) std::rethrow_exception(e);
                  send_ok(*ex, answer(), messages);
                });
              });
        });
      });
}

void script_put(Call& c, const std::string& ns, const std::string& name) {
  Namespace n = need_namespace(c, ns);
  std::vector<std::string> messages;
  Upload up = read_upload(c.b, c.req, messages);
  Meta meta = read_meta(up.metadata, false, messages);

  auto s = std::make_shared<Script>();
  s->name = name;
  s->namespace_id = n.id;
  s->code.format = up.format;
  s->code.source = up.source;
  s->tags = std::move(meta.tags);
  s->bindings = std::move(meta.bindings);
  s->cpu_ms = meta.cpu_ms;
  s->subrequests = meta.subrequests;
  if (!meta.keep_bindings.empty())
    // Without its code: a redeploy must heal a script that fails its checksum.
    if (auto prev = c.store().get_script_meta(n.id, name))
      keep_previous(s->bindings, prev->bindings, meta.keep_bindings);

  AdminBackend* b = &c.b;
  compile_then(
      c, ns + "/" + name + ".js", up, std::move(messages),
      [b, s, ns](AdminBackend::CompileResult& r) {
        take_compiled(s->code, r);
        check(b->store().put_script(ns, *s), "script \"" + s->name + "\"");
        if (s->id == 0 || s->etag.empty())
          if (auto fresh = b->store().get_script(s->namespace_id, s->name)) *s = *fresh;
      },
      [b, s, ns] {
        WFP_LOG(info, "admin: deployed script %s/%s etag=%s", ns.c_str(), s->name.c_str(),
                s->etag.c_str());
        b->script_changed(s->namespace_id, s->name);
        return script_json(*s, ns);
      });
}

// PUT .../content: new code, same bindings, tags and limits.
void script_put_content(Call& c, const std::string& ns, const std::string& name) {
  Namespace n = need_namespace(c, ns);
  // All but the code, which this replaces: so a damaged script heals.
  auto existing = c.store().get_script_meta(n.id, name);
  if (!existing) script_not_found(n, name);
  std::vector<std::string> messages;
  Upload up = read_upload(c.b, c.req, messages);
  auto s = std::make_shared<Script>(std::move(*existing));
  s->code.format = up.format;
  s->code.source = up.source;
  AdminBackend* b = &c.b;
  compile_then(
      c, ns + "/" + name + ".js", up, std::move(messages),
      [b, s, ns](AdminBackend::CompileResult& r) {
        take_compiled(s->code, r);
        check(b->store().put_script(ns, *s), "script \"" + s->name + "\"");
      },
      [b, s, ns] {
        WFP_LOG(info, "admin: replaced the code of %s/%s etag=%s", ns.c_str(), s->name.c_str(),
                s->etag.c_str());
        b->script_changed(s->namespace_id, s->name);
        return script_json(*s, ns);
      });
}

// Tags and secrets change one field of a stored script and store it again.
void script_store_again(Call& c, const std::string& ns, Script& s, bool runtime_visible) {
  check(c.store().put_script(ns, s), "script \"" + s.name + "\"");
  if (runtime_visible) c.b.script_changed(s.namespace_id, s.name);
}

void script_tags(Call& c, const std::string& ns, const std::string& name,
                 const std::optional<std::string>& tag) {
  Namespace n = need_namespace(c, ns);
  Script s = need_script(c, n, name);
  if (c.req.method == "GET") {
    c.ok(s.tags);
    return;
  }
  if (!tag) {  // PUT .../tags: replace the list
    json body = parse_json(c.req.body, "request body");
    if (!body.is_array()) invalid("request body must be a JSON array of tags");
    json md = json::object();
    md["tags"] = std::move(body);
    std::vector<std::string> unused;
    s.tags = read_meta(md, false, unused).tags;
  } else if (c.req.method == "PUT") {
    if (!valid_tag(*tag)) invalid("tag \"" + shown(*tag) + "\" is invalid");
    if (std::find(s.tags.begin(), s.tags.end(), *tag) == s.tags.end()) {
      if (s.tags.size() >= kMaxTags) invalid("script already has 8 tags, the limit");
      s.tags.push_back(*tag);
    }
  } else {  // DELETE .../tags/{tag}
    auto it = std::find(s.tags.begin(), s.tags.end(), *tag);
    if (it == s.tags.end()) not_found("script \"" + name + "\" has no tag \"" + shown(*tag) + "\"");
    s.tags.erase(it);
  }
  script_store_again(c, ns, s, false);
  c.ok(s.tags);
}

ojson secret_json(const Binding& b) {
  ojson j = ojson::object();
  j["name"] = b.name;
  j["type"] = b.type;
  return j;
}

void script_secrets(Call& c, const std::string& ns, const std::string& name,
                    const std::optional<std::string>& secret) {
  Namespace n = need_namespace(c, ns);
  Script s = need_script(c, n, name);
  auto is_secret = [](const Binding& b) { return b.type == "secret_text"; };
  if (c.req.method == "GET" && !secret) {
    ojson arr = ojson::array();
    for (auto& b : s.bindings)
      if (is_secret(b)) arr.push_back(secret_json(b));
    c.ok(std::move(arr));
    return;
  }
  if (c.req.method == "PUT") {
    json body = parse_json_object_body(c.req);
    std::string type = opt_string(body, "type", "").value_or("secret_text");
    if (type != "secret_text") invalid("secret type must be secret_text");
    Binding nb;
    nb.type = type;
    nb.name = req_string(body, "name", "");
    nb.text = req_string(body, "text", "");
    if (!valid_js_identifier(nb.name))
      invalid("secret name \"" + shown(nb.name) + "\" is not a JavaScript identifier");
    if (nb.text.size() > kMaxBindingText) invalid("secret is over 5120 bytes");
    auto it = std::find_if(s.bindings.begin(), s.bindings.end(),
                           [&](const Binding& b) { return b.name == nb.name; });
    if (it != s.bindings.end() && !is_secret(*it))
      fail(409, kConflict, "binding \"" + nb.name + "\" exists and is not a secret");
    if (it != s.bindings.end()) {
      *it = nb;
    } else {
      if (s.bindings.size() >= kMaxBindings) invalid("script already has 128 bindings, the limit");
      s.bindings.push_back(nb);
    }
    script_store_again(c, ns, s, true);
    WFP_LOG(info, "admin: set secret %s of %s/%s", nb.name.c_str(), ns.c_str(), name.c_str());
    c.ok(secret_json(nb));
    return;
  }
  // GET or DELETE .../secrets/{name}
  auto it = std::find_if(s.bindings.begin(), s.bindings.end(),
                         [&](const Binding& b) { return is_secret(b) && b.name == *secret; });
  if (it == s.bindings.end())
    not_found("script \"" + name + "\" has no secret \"" + shown(*secret) + "\"");
  if (c.req.method == "GET") {
    c.ok(secret_json(*it));
    return;
  }
  s.bindings.erase(it);
  script_store_again(c, ns, s, true);
  c.ok(nullptr);
}

// Platform workers ------------------------------------------------------------

Worker need_worker(Call& c, const std::string& name) {
  auto w = c.store().get_worker(name);
  if (!w) not_found("worker \"" + name + "\" not found");
  return *w;
}

void workers_list(Call& c) {
  ojson arr = ojson::array();
  for (auto& w : c.store().list_workers()) arr.push_back(worker_json(w));
  c.ok(std::move(arr));
}

void worker_put(Call& c, const std::string& name) {
  std::vector<std::string> messages;
  Upload up = read_upload(c.b, c.req, messages);
  Meta meta = read_meta(up.metadata, true, messages);
  auto w = std::make_shared<Worker>();
  w->name = name;
  w->code.format = up.format;
  w->code.source = up.source;
  w->bindings = std::move(meta.bindings);
  if (!meta.keep_bindings.empty())
    if (auto prev = c.store().get_worker_meta(name))
      keep_previous(w->bindings, prev->bindings, meta.keep_bindings);
  AdminBackend* b = &c.b;
  compile_then(
      c, name + ".js", up, std::move(messages),
      [b, w](AdminBackend::CompileResult& r) {
        take_compiled(w->code, r);
        check(b->store().put_worker(*w), "worker \"" + w->name + "\"");
        if (w->id == 0 || w->etag.empty())
          if (auto fresh = b->store().get_worker(w->name)) *w = *fresh;
      },
      [b, w] {
        WFP_LOG(info, "admin: deployed worker %s etag=%s", w->name.c_str(), w->etag.c_str());
        b->workers_changed();
        return worker_json(*w);
      });
}

void worker_delete(Call& c, const std::string& name) {
  check(c.store().delete_worker(name), "worker \"" + name + "\"");
  WFP_LOG(info, "admin: deleted worker %s", name.c_str());
  c.b.workers_changed();
  c.ok(nullptr);
}

// Routes ------------------------------------------------------------------------

void routes_list(Call& c) {
  ojson arr = ojson::array();
  for (auto& r : c.store().list_routes()) arr.push_back(route_json(r));
  c.ok(std::move(arr));
}

void route_add(Call& c) {
  json body = parse_json_object_body(c.req);
  std::string pattern = req_string(body, "pattern", "");
  std::string script = req_string(body, "script", "");
  std::string error;
  if (!valid_route_pattern(pattern, error))
    invalid("route pattern \"" + shown(pattern) + "\" is invalid: " + error);
  check_name("worker", script);
  Route out;
  check(c.store().add_route(pattern, script, &out), "route \"" + pattern + "\"");
  if (out.id == 0) {
    for (auto& r : c.store().list_routes())
      if (lower(r.pattern) == lower(pattern)) out = r;
  }
  WFP_LOG(info, "admin: added route %s -> %s", pattern.c_str(), script.c_str());
  c.b.routes_changed();
  c.ok(route_json(out));
}

std::optional<Route> find_route(Call& c, const std::function<bool(const Route&)>& match) {
  for (auto& r : c.store().list_routes())
    if (match(r)) return r;
  return std::nullopt;
}

void route_delete(Call& c, const Route& r) {
  check(c.store().delete_route(r.pattern), "route \"" + r.pattern + "\"");
  WFP_LOG(info, "admin: deleted route %s", r.pattern.c_str());
  c.b.routes_changed();
  c.ok(route_json(r));
}

void route_delete_by_pattern(Call& c) {
  auto pattern = query_get(c.query, "pattern");
  if (!pattern || pattern->empty()) invalid("DELETE /workers/routes needs ?pattern=PATTERN");
  std::string want = lower(*pattern);
  auto r = find_route(c, [&](const Route& x) { return lower(x.pattern) == want; });
  if (!r) not_found("route \"" + shown(*pattern) + "\" not found");
  route_delete(c, *r);
}

Route need_route_by_id(Call& c, const std::string& id_text) {
  int64_t id = 0;
  auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || p != id_text.data() + id_text.size() || id <= 0)
    not_found("route \"" + shown(id_text) + "\" not found");
  auto r = find_route(c, [&](const Route& x) { return x.id == id; });
  if (!r) not_found("route \"" + id_text + "\" not found");
  return *r;
}

// --- tail sessions -------------------------------------------------------------

// .../tails (POST: a new session), .../tails/ID (DELETE), and
// .../tails/ID/events?wait=S (GET: the events since the last poll, waiting
// up to S seconds, at most 30, for the first). `rest` is what follows
// "tails" in the path.
void tails(Call& c, const AdminBackend::TailTarget& t, const std::vector<std::string>& rest) {
  if (rest.empty()) {
    allow(c, {"POST"});
    return c.ok(ojson(c.b.tail_create(t)));
  }
  const std::string& id = rest[0];
  if (rest.size() == 1) {
    allow(c, {"DELETE"});
    if (!c.b.tail_delete(id)) not_found("tail \"" + shown(id) + "\" not found");
    return c.ok(nullptr);
  }
  if (rest.size() != 2 || rest[1] != "events") not_found("no such path: " + shown(c.req.path));
  allow(c, {"GET"});
  int wait_s = 25;
  if (auto w = query_get(c.query, "wait")) {
    auto [p, ec] = std::from_chars(w->data(), w->data() + w->size(), wait_s);
    if (ec != std::errc() || p != w->data() + w->size() || wait_s < 0 || wait_s > 30)
      invalid("wait must be a whole number of seconds from 0 to 30");
  }
  auto ex = c.ex;
  std::string shown_id = shown(id);
  c.b.tail_poll(id, wait_s * 1000, [ex, shown_id](bool found, nlohmann::json result) {
    answer_guarded(*ex, "tail", [&] {
      if (!found) not_found("tail \"" + shown_id + "\" not found (it ended, or went unpolled for a minute)");
      send_ok(*ex, ojson(result));
    });
  });
}

std::vector<std::string> after(const std::vector<std::string>& s, size_t from) {
  return std::vector<std::string>(s.begin() + (long)std::min(from, s.size()), s.end());
}

// --- the path table ------------------------------------------------------------

// Splits and decodes the path; strips the Cloudflare prefixes that alias
// /workers/... ("/client/v4", "/accounts/{id}", "/zones/{id}" for routes).
std::vector<std::string> path_segments(std::string_view path) {
  if (path.empty() || path[0] != '/') not_found("no such path");
  if (path.substr(0, 11) == "/client/v4/") path.remove_prefix(10);
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);  // one trailing slash
  std::vector<std::string> seg;
  if (path.empty()) return seg;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view raw =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (raw.empty()) not_found("no such path");
    std::string decoded;
    if (!percent_decode(raw, false, decoded))
      invalid("path segment \"" + shown(raw) + "\" has a malformed or NUL percent-escape");
    seg.push_back(std::move(decoded));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (seg.size() >= 3 && seg[0] == "accounts" && seg[2] == "workers")
    seg.erase(seg.begin(), seg.begin() + 2);
  else if (seg.size() >= 4 && seg[0] == "zones" && seg[2] == "workers" && seg[3] == "routes")
    seg.erase(seg.begin(), seg.begin() + 2);
  return seg;
}

[[noreturn]] void no_such_path(const Call& c) {
  not_found("no such path: " + shown(c.req.path));
}

// A segment that names a namespace, script or worker: checked before use.
const std::string& named(const std::string& seg, std::string_view what) {
  check_name(what, seg);
  return seg;
}

void dispatch_namespaces(Call& c, const std::vector<std::string>& s) {
  // s = workers dispatch namespaces [ns [scripts [name [content|tags|secrets [x]]]]]
  size_t n = s.size();
  if (n == 3) {
    allow(c, {"GET", "POST"});
    return c.req.method == "GET" ? namespaces_list(c) : namespace_create(c);
  }
  const std::string& ns = named(s[3], "namespace");
  if (n == 4) {
    allow(c, {"GET", "PUT", "DELETE"});
    if (c.req.method == "GET") return namespace_get(c, ns);
    if (c.req.method == "PUT") return namespace_update(c, ns);
    return namespace_delete(c, ns);
  }
  if (s[4] != "scripts") no_such_path(c);
  if (n == 5) {
    allow(c, {"GET", "DELETE"});
    return c.req.method == "GET" ? scripts_list(c, ns) : scripts_delete_tagged(c, ns);
  }
  const std::string& name = named(s[5], "script");
  if (n == 6) {
    allow(c, {"GET", "PUT", "DELETE"});
    if (c.req.method == "GET") return script_get(c, ns, name);
    if (c.req.method == "PUT") return script_put(c, ns, name);
    return script_delete(c, ns, name);
  }
  const std::string& sub = s[6];
  if (sub == "content" && n == 7) {
    allow(c, {"GET", "PUT"});
    if (c.req.method == "PUT") return script_put_content(c, ns, name);
    Namespace nsobj = need_namespace(c, ns);
    Script sc = need_script(c, nsobj, name);
    return send_source(c, sc.code, sc.etag);
  }
  if (sub == "tags" && n == 7) {
    allow(c, {"GET", "PUT"});
    return script_tags(c, ns, name, std::nullopt);
  }
  if (sub == "tags" && n == 8) {
    allow(c, {"PUT", "DELETE"});
    return script_tags(c, ns, name, s[7]);
  }
  if (sub == "secrets" && n == 7) {
    allow(c, {"GET", "PUT"});
    return script_secrets(c, ns, name, std::nullopt);
  }
  if (sub == "cache" && n == 7) {
    allow(c, {"GET"});
    return script_cache(c, ns, name, false);
  }
  if (sub == "cache" && n == 8 && s[7] == "purge") {
    allow(c, {"POST"});
    return script_cache(c, ns, name, true);
  }
  if (sub == "secrets" && n == 8) {
    allow(c, {"GET", "DELETE"});
    return script_secrets(c, ns, name, s[7]);
  }
  if (sub == "tails") {
    Namespace nsobj = need_namespace(c, ns);
    need_script(c, nsobj, name);
    AdminBackend::TailTarget t;
    t.namespace_id = nsobj.id;
    t.script = name;
    t.label = ns + "/" + name;
    return tails(c, t, after(s, 7));
  }
  no_such_path(c);
}

void dispatch(Call& c) {
  std::vector<std::string> s = path_segments(c.req.path);
  if (s.size() == 1 && s[0] == "status") {
    allow(c, {"GET"});
    return c.ok(ojson(c.b.status()));
  }
  if (s.size() == 1 && s[0] == "metrics") {
    // GET /metrics: Prometheus text, as on metrics_listen.
    allow(c, {"GET"});
    HttpResponse r;
    r.status = 200;
    r.headers.push_back({"Content-Type", "text/plain; version=0.0.4; charset=utf-8"});
    r.body = c.b.metrics_text();
    return c.ex->respond(std::move(r));
  }
  if (s.size() == 1 && s[0] == "backup") {
    // GET /backup: a consistent copy of the store, as a SQLite file.
    allow(c, {"GET"});
    auto ex = c.ex;
    c.b.backup([ex](std::string bytes, std::string error) {
      answer_guarded(*ex, "backup", [&] {
        if (!error.empty()) fail(500, kInternal, error);
        HttpResponse r;
        r.status = 200;
        r.headers.push_back({"Content-Type", "application/vnd.sqlite3"});
        r.body = std::move(bytes);
        ex->respond(std::move(r));
      });
    });
    return;
  }
  if (s.size() < 2 || s[0] != "workers") no_such_path(c);
  if (s.size() >= 3 && s[1] == "dispatch" && s[2] == "namespaces") return dispatch_namespaces(c, s);
  if (s[1] == "scripts") {
    if (s.size() == 2) {
      allow(c, {"GET"});
      return workers_list(c);
    }
    const std::string& name = named(s[2], "worker");
    if (s.size() == 3) {
      allow(c, {"GET", "PUT", "DELETE"});
      if (c.req.method == "GET") return c.ok(worker_json(need_worker(c, name)));
      if (c.req.method == "PUT") return worker_put(c, name);
      return worker_delete(c, name);
    }
    if (s.size() == 4 && s[3] == "content") {
      allow(c, {"GET"});
      Worker w = need_worker(c, name);
      return send_source(c, w.code, w.etag);
    }
    if (s.size() >= 4 && s[3] == "tails") {
      Worker w = need_worker(c, name);
      AdminBackend::TailTarget t;
      t.worker_id = w.id;
      t.label = w.name;
      return tails(c, t, after(s, 4));
    }
    no_such_path(c);
  }
  if (s[1] == "routes") {
    if (s.size() == 2) {
      allow(c, {"GET", "POST", "DELETE"});
      if (c.req.method == "GET") return routes_list(c);
      if (c.req.method == "POST") return route_add(c);
      return route_delete_by_pattern(c);
    }
    if (s.size() == 3) {
      allow(c, {"GET", "DELETE"});
      Route r = need_route_by_id(c, s[2]);
      if (c.req.method == "GET") return c.ok(route_json(r));
      return route_delete(c, r);
    }
  }
  no_such_path(c);
}

}  // namespace

void handle_admin_request(AdminBackend& backend, std::shared_ptr<HttpExchange> exchange) {
  const HttpRequest& req = exchange->request();
  answer_guarded(*exchange, "request", [&] {
    Call c{backend, exchange, req, {}};
    c.query = parse_query(req.target);
    dispatch(c);
  });
}

}  // namespace wfp
