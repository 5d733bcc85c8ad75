// The script store on SQLite: opening and migrating the database, and every
// query the supervisor makes of it. Runs in the supervisor only. Callers
// (the admin API) pass names and values from operators' clients: every
// name goes through valid_name()/valid_tag() first, every value is bound,
// and no text from a caller ever becomes part of a statement.
#include "supervisor/store.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <mutex>
#include <set>
#include <unordered_map>

#include "ipc/log.h"
#include "supervisor/names.h"
#include "supervisor/routes.h"

// schema/*.sql, embedded by tools/embedded.S, each NUL-terminated.
extern "C" const char wfp_schema_sql[], wfp_schema_002_sql[], wfp_schema_003_sql[],
    wfp_schema_004_sql[];

namespace wfp {
namespace {

void fill_checksums(sqlite3* db);

// kMigrations[i] takes a database from user_version i to i + 1: its SQL,
// then (if any) a C++ step for what SQL cannot compute, in the same
// transaction. Append only: a released file never changes; a new one
// (schema/005_*.sql) gets its own .incbin symbol in tools/embedded.S and a
// line here.
struct Migration {
  const char* sql;
  void (*after)(sqlite3*);
};
const Migration kMigrations[] = {
    {wfp_schema_sql, nullptr},             // schema/001_init.sql
    {wfp_schema_002_sql, nullptr},         // schema/002_lowering.sql
    {wfp_schema_003_sql, nullptr},         // schema/003_outbound.sql
    {wfp_schema_004_sql, fill_checksums},  // schema/004_checksums.sql
};
constexpr int kSchemaVersion = sizeof kMigrations / sizeof kMigrations[0];

// DESIGN.md "Limits": vars + secrets, 128 per script, 5 KiB each.
constexpr size_t kMaxTextBindings = 128;
constexpr size_t kMaxBindingText = 5 * 1024;
constexpr size_t kMaxBindings = 256;  // text ones plus service/namespace ones
constexpr size_t kMaxTags = 8;
constexpr size_t kMaxOutboundParams = 32;  // names an outbound worker takes from get()
constexpr size_t kMaxTagFilters = 16;
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kBusyTimeoutMs = 5000;
// Per-script limits: the same ceilings as the configuration's (config.cc).
constexpr int64_t kMaxCpuMs = 300000;
constexpr int64_t kMaxSubrequests = 10000;

// An SQLite call failed. It is a StoreError, so reads that hit one throw
// to the caller (a broken environment); the StoreResult methods catch it
// and answer io_error.
struct SqlError : StoreError {
  int code;
  SqlError(int c, const std::string& what) : StoreError(what), code(c) {}
};

[[noreturn]] void throw_sql(sqlite3* db, int rc, const char* what) {
  std::string msg = sqlite3_errmsg(db), kind = sqlite3_errstr(rc);
  throw SqlError(rc, std::string(what) + ": " + msg + (msg == kind ? "" : " (" + kind + ")"));
}

// Prepared statements kept per open store, by their SQL: parsing the SQL
// was a quarter of the supervisor's CPU per deploy. Only a Store's own
// connection has a cache (registered once it is open, finalized before it
// closes); a statement is lent to one Stmt at a time, and one asked for
// while lent is prepared afresh and finalized after.
using StmtCache = std::unordered_map<std::string, sqlite3_stmt*>;
std::mutex stmt_caches_mu;
std::unordered_map<sqlite3*, StmtCache> stmt_caches;

// Owns (or borrows from the cache) one prepared statement; values are
// always bound, never spliced.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    {
      std::lock_guard<std::mutex> lock(stmt_caches_mu);
      auto cache = stmt_caches.find(db);
      if (cache != stmt_caches.end()) {
        cache_ = &cache->second;
        auto it = cache_->find(std::string(sql));
        if (it != cache_->end() && it->second) {
          s_ = it->second;
          it->second = nullptr;  // lent
          sql_ = sql;
          return;
        }
      }
    }
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                cache_ ? SQLITE_PREPARE_PERSISTENT : 0, &s_, nullptr);
    if (rc != SQLITE_OK) throw_sql(db, rc, "prepare");
    if (cache_) sql_ = sql;
  }
  ~Stmt() {
    if (cache_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
      std::lock_guard<std::mutex> lock(stmt_caches_mu);
      // The cache may be gone (the store closed while this was lent: never
      // in wfpd, where the store outlives its calls).
      if (stmt_caches.count(db_)) {
        sqlite3_stmt*& slot = (*cache_)[sql_];
        if (!slot) {
          slot = s_;
          return;
        }
      }
    }
    sqlite3_finalize(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  // A null data() would bind SQL NULL; an empty value must stay ''.
  Stmt& bind(int i, std::string_view v) {
    return check(sqlite3_bind_text(s_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                                   SQLITE_TRANSIENT));
  }
  Stmt& bind_blob(int i, std::string_view v) {
    return check(sqlite3_bind_blob(s_, i, v.data() ? v.data() : "", static_cast<int>(v.size()),
                                   SQLITE_TRANSIENT));
  }
  Stmt& bind_id_or_null(int i, int64_t id) {
    return id ? bind(i, id) : check(sqlite3_bind_null(s_, i));
  }
  template <typename... A>
  Stmt& binds(const A&... a) {
    int i = 0;
    (bind(++i, a), ...);
    return *this;
  }

  // true: a row is ready; false: done.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sql(db_, rc, "step");
  }
  // Runs a statement to completion (also one with RETURNING, once read).
  void run() {
    while (step()) {
    }
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  int64_t i64(int col) { return sqlite3_column_int64(s_, col); }
  // Valid until the next step() or reset().
  std::string_view view(int col) {
    const unsigned char* p = sqlite3_column_text(s_, col);
    return p ? std::string_view(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col))
             : std::string_view();
  }
  std::string text(int col) {
    const unsigned char* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col))
             : std::string();
  }
  std::string blob(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, col))
             : std::string();
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) throw_sql(db_, rc, "bind");
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  StmtCache* cache_ = nullptr;  // set when db_ has a cache
  std::string sql_;             // the cache's key, when cached
};

void stmt_cache_open(sqlite3* db) {
  std::lock_guard<std::mutex> lock(stmt_caches_mu);
  stmt_caches[db];
}

void stmt_cache_close(sqlite3* db) {
  std::lock_guard<std::mutex> lock(stmt_caches_mu);
  auto it = stmt_caches.find(db);
  if (it == stmt_caches.end()) return;
  for (auto& [sql, st] : it->second) sqlite3_finalize(st);
  stmt_caches.erase(it);
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqlError(rc, msg);
  }
}

// A write transaction: BEGIN IMMEDIATE takes the write lock up front, so a
// transaction never fails half-way on a lock upgrade. Rolls back unless
// committed. `read_only` uses a deferred BEGIN for a consistent snapshot.
// Inside an open transaction (Store::write_group) it is a savepoint: its
// commit is the group's, its rollback its own.
class Transaction {
 public:
  explicit Transaction(sqlite3* db, bool read_only = false)
      : db_(db), nested_(!sqlite3_get_autocommit(db)) {
    exec(db_, nested_ ? "SAVEPOINT wfp_write" : read_only ? "BEGIN" : "BEGIN IMMEDIATE");
  }
  ~Transaction() {
    if (done_) return;
    // Nested: the group's transaction may already be gone (SQLite rolls a
    // whole transaction back on some errors); then these fail, harmlessly.
    if (nested_)
      sqlite3_exec(db_, "ROLLBACK TO wfp_write; RELEASE wfp_write", nullptr, nullptr, nullptr);
    else
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, nested_ ? "RELEASE wfp_write" : "COMMIT");
    done_ = true;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  sqlite3* db_;
  bool nested_;
  bool done_ = false;
};

int64_t pragma_int(sqlite3* db, const char* sql) {
  Stmt st(db, sql);
  return st.step() ? st.i64(0) : 0;
}

std::string now_iso8601() {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2) return false;
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

// A new etag for every deploy: 128 random bits from SQLite's CSPRNG
// (seeded from the OS), so two deploys in the same second still differ.
std::string new_etag() {
  unsigned char r[16];
  sqlite3_randomness(sizeof r, r);
  return to_hex(std::string_view(reinterpret_cast<char*>(r), sizeof r));
}

// Text of a caller's value inside a message: printable and bounded.
std::string shown(std::string_view v) {
  std::string out;
  for (unsigned char c : v.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (v.size() > 80) out += "...";
  return out;
}

StoreResult fail(StoreStatus s, std::string message) { return {s, std::move(message)}; }

std::string quoted(const char* what, std::string_view name) {
  return std::string(what) + " \"" + shown(name) + "\"";
}

// Runs a StoreResult method; an SQLite failure becomes io_error (and a log
// line: the operator's client sees the message, the journal keeps it too).
template <typename F>
StoreResult guarded(const char* what, F&& body) {
  try {
    return body();
  } catch (const SqlError& e) {
    WFP_LOG(error, "store: %s: %s", what, e.what());
    return fail(StoreStatus::io_error, std::string("store: ") + what + ": " + e.what());
  }
}

bool text_binding(const std::string& type) {
  return type == "plain_text" || type == "secret_text" || type == "json";
}

// Binding names become JavaScript names (env.NAME, or globals in
// service-worker scripts), so they are identifiers.
bool valid_binding_name(std::string_view n) {
  if (n.empty() || n.size() > 255) return false;
  auto start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
  };
  if (!start(n[0])) return false;
  for (char c : n)
    if (!start(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

// The outbound worker of a dispatch_namespace binding, if it names one. The
// parameter names become env.NAME in that worker, so they are identifiers,
// like binding names; a repeated one would make one value hide the other.
StoreResult check_outbound(const Binding& b) {
  if (b.outbound_name.empty()) {
    if (!b.outbound_params.empty())
      return fail(StoreStatus::invalid,
                  quoted("binding", b.name) + ": outbound parameters need an outbound worker");
    return {};
  }
  if (!valid_name(b.outbound_name))
    return fail(StoreStatus::invalid, invalid_name_message("outbound worker", b.outbound_name) +
                                          " (binding " + shown(b.name) + ")");
  if (b.outbound_params.size() > kMaxOutboundParams)
    return fail(StoreStatus::invalid, quoted("binding", b.name) + ": " +
                                          std::to_string(b.outbound_params.size()) +
                                          " outbound parameters, more than the 32 allowed");
  std::set<std::string_view> seen;
  for (const std::string& p : b.outbound_params) {
    if (!valid_binding_name(p))
      return fail(StoreStatus::invalid,
                  quoted("binding", b.name) + ": " + quoted("outbound parameter", p) +
                      " is invalid: parameter names are JavaScript identifiers");
    if (!seen.insert(p).second)
      return fail(StoreStatus::invalid, quoted("binding", b.name) + ": " +
                                            quoted("outbound parameter", p) + " is given twice");
  }
  return {};
}

// Checks the shape of a script's or worker's bindings; targets are
// resolved later, inside the transaction.
StoreResult check_bindings(const std::vector<Binding>& bindings, bool platform) {
  if (bindings.size() > kMaxBindings)
    return fail(StoreStatus::invalid, std::to_string(bindings.size()) +
                                          " bindings, more than the " +
                                          std::to_string(kMaxBindings) + " allowed");
  std::set<std::string_view> names;
  size_t text_count = 0;
  for (const Binding& b : bindings) {
    if (!valid_binding_name(b.name))
      return fail(
          StoreStatus::invalid,
          quoted("binding name", b.name) + " is invalid: binding names are JavaScript identifiers");
    if (!names.insert(b.name).second)
      return fail(StoreStatus::invalid, quoted("binding", b.name) + " is given twice");
    if (b.text.size() > kMaxBindingText)
      return fail(StoreStatus::invalid, quoted("binding", b.name) + ": its value is " +
                                            std::to_string(b.text.size()) +
                                            " bytes, more than the 5120 allowed");
    if (b.type != "dispatch_namespace" && (!b.outbound_name.empty() || !b.outbound_params.empty()))
      return fail(
          StoreStatus::invalid,
          quoted("binding", b.name) + ": only dispatch_namespace bindings have an outbound worker");
    if (text_binding(b.type)) {
      text_count++;
    } else if (b.type == "service") {
      if (!valid_name(b.target_name))
        return fail(StoreStatus::invalid, invalid_name_message("worker", b.target_name) +
                                              " (binding " + shown(b.name) + ")");
    } else if (b.type == "dispatch_namespace") {
      if (!platform)
        return fail(StoreStatus::invalid,
                    quoted("binding", b.name) +
                        ": dispatch_namespace bindings are for platform workers only");
      if (!valid_name(b.target_name))
        return fail(StoreStatus::invalid, invalid_name_message("namespace", b.target_name) +
                                              " (binding " + shown(b.name) + ")");
      if (auto r = check_outbound(b); !r.ok()) return r;
    } else {
      return fail(StoreStatus::invalid, quoted("binding", b.name) + " has unknown type \"" +
                                            shown(b.type) +
                                            "\" (plain_text, secret_text, json, service" +
                                            (platform ? ", dispatch_namespace)" : ")"));
    }
  }
  if (text_count > kMaxTextBindings)
    return fail(StoreStatus::invalid,
                std::to_string(text_count) + " vars and secrets, more than the 128 allowed");
  return {};
}

StoreResult check_code(const ScriptCode& code) {
  if (code.format.empty() || code.format.size() > 32)
    return fail(StoreStatus::invalid, "script format \"" + shown(code.format) + "\" is invalid");
  return {};
}

std::optional<int64_t> namespace_id_of(sqlite3* db, std::string_view name) {
  Stmt st(db, "SELECT id FROM namespaces WHERE name = ?");
  st.binds(name);
  if (!st.step()) return std::nullopt;
  return st.i64(0);
}

std::optional<std::string> namespace_name_of(sqlite3* db, int64_t id) {
  Stmt st(db, "SELECT name FROM namespaces WHERE id = ?");
  st.binds(id);
  if (!st.step()) return std::nullopt;
  return st.text(0);
}

std::optional<int64_t> worker_id_of(sqlite3* db, std::string_view name) {
  Stmt st(db, "SELECT id FROM workers WHERE name = ?");
  st.binds(name);
  if (!st.step()) return std::nullopt;
  return st.i64(0);
}

// Fills target_id of service and dispatch_namespace bindings, and
// outbound_id of the latter. `self` is the worker being deployed: a worker
// may bind itself (or be its own outbound worker), resolved after insert.
StoreResult resolve_targets(sqlite3* db, std::vector<Binding>& bindings, std::string_view self_name,
                            int64_t self_id) {
  for (Binding& b : bindings) {
    b.outbound_id = 0;
    if (b.type == "service") {
      if (!self_name.empty() && b.target_name == self_name) {
        b.target_id = self_id;
        continue;
      }
      auto id = worker_id_of(db, b.target_name);
      if (!id)
        return fail(StoreStatus::not_found,
                    quoted("worker", b.target_name) + " not found (binding " + shown(b.name) + ")");
      b.target_id = *id;
    } else if (b.type == "dispatch_namespace") {
      auto id = namespace_id_of(db, b.target_name);
      if (!id)
        return fail(StoreStatus::not_found, quoted("namespace", b.target_name) +
                                                " not found (binding " + shown(b.name) + ")");
      b.target_id = *id;
      if (b.outbound_name.empty()) continue;
      if (!self_name.empty() && b.outbound_name == self_name) {
        b.outbound_id = self_id;
        continue;
      }
      auto out = worker_id_of(db, b.outbound_name);
      if (!out)
        return fail(StoreStatus::not_found, quoted("outbound worker", b.outbound_name) +
                                                " not found (binding " + shown(b.name) + ")");
      b.outbound_id = *out;
    } else {
      b.target_id = 0;
    }
  }
  return {};
}

// outbound_params: the names as a JSON array, '' for none (never "[]", so
// a binding without an outbound worker keeps the column's default).
std::string encode_params(const std::vector<std::string>& params) {
  return params.empty() ? std::string() : nlohmann::json(params).dump();
}

bool decode_params(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  if (text.empty()) return true;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& p : j) {
    if (!p.is_string()) return false;
    out.push_back(p.get<std::string>());
  }
  return true;
}

std::vector<Binding> read_bindings(sqlite3* db, bool platform, int64_t owner_id) {
  Stmt st(db, platform ? "SELECT b.type, b.name, b.text,"
                         "       coalesce(b.target_worker_id, b.target_namespace_id, 0),"
                         "       coalesce(w.name, n.name, ''),"
                         "       coalesce(b.outbound_worker_id, 0), coalesce(o.name, ''),"
                         "       b.outbound_params"
                         "  FROM worker_bindings b"
                         "  LEFT JOIN workers w ON w.id = b.target_worker_id"
                         "  LEFT JOIN namespaces n ON n.id = b.target_namespace_id"
                         "  LEFT JOIN workers o ON o.id = b.outbound_worker_id"
                         " WHERE b.worker_id = ? ORDER BY b.position"
                       : "SELECT b.type, b.name, b.text, coalesce(b.target_worker_id, 0),"
                         "       coalesce(w.name, ''), 0, '', ''"
                         "  FROM script_bindings b"
                         "  LEFT JOIN workers w ON w.id = b.target_worker_id"
                         " WHERE b.script_id = ? ORDER BY b.position");
  st.binds(owner_id);
  std::vector<Binding> out;
  while (st.step()) {
    Binding b;
    b.type = st.text(0);
    b.name = st.text(1);
    b.text = st.text(2);
    b.target_id = st.i64(3);
    b.target_name = st.text(4);
    b.outbound_id = st.i64(5);
    b.outbound_name = st.text(6);
    // Only a hand-edited database gets here: the store writes what it checked.
    if (!decode_params(st.view(7), b.outbound_params))
      throw StoreError("store: worker id " + std::to_string(owner_id) + ", binding " +
                       shown(b.name) + ": outbound_params is not a JSON array of names");
    out.push_back(std::move(b));
  }
  return out;
}

// The metadata columns of scripts, in the order read_script_row() reads,
// then the tags joined by ',' (valid_tag() forbids ',' in a tag).
constexpr const char* kScriptColumns =
    "s.id, s.namespace_id, s.name, s.format, s.build_id, s.cpu_ms, s.subrequests, s.etag,"
    " s.created_on, s.modified_on,"
    " (SELECT group_concat(g.tag, ',') FROM script_tags g WHERE g.script_id = s.id)";

Script read_script_row(Stmt& st) {
  Script s;
  s.id = st.i64(0);
  s.namespace_id = st.i64(1);
  s.name = st.text(2);
  s.code.format = st.text(3);
  s.code.build_id = st.text(4);
  s.cpu_ms = st.i64(5);
  s.subrequests = st.i64(6);
  s.etag = st.text(7);
  s.created_on = st.text(8);
  s.modified_on = st.text(9);
  std::string_view joined = st.view(10);
  while (!joined.empty()) {
    size_t comma = joined.find(',');
    s.tags.emplace_back(joined.substr(0, comma));
    joined = comma == std::string_view::npos ? std::string_view() : joined.substr(comma + 1);
  }
  std::sort(s.tags.begin(), s.tags.end());
  return s;
}

// A row's code: these six columns, in this order, read by read_code from
// column `at` on.
constexpr const char* kCodeColumns = "format, build_id, source, bytecode, lowered, line_map";
ScriptCode read_code(Stmt& st, int at) {
  ScriptCode c;
  c.format = st.text(at);
  c.build_id = st.text(at + 1);
  c.source = st.text(at + 2);
  c.bytecode = st.blob(at + 3);
  c.lowered = st.text(at + 4);
  c.line_map = st.text(at + 5);
  return c;
}

constexpr const char* kWorkerSelect =
    "SELECT id, name, format, build_id, etag, created_on, modified_on, source, bytecode,"
    "       lowered, line_map, checksum"
    "  FROM workers";

std::string worker_checksum(std::string_view name, const ScriptCode& code);

// The first seven columns of kWorkerSelect: all but the code.
Worker read_worker_head(Stmt& st) {
  Worker w;
  w.id = st.i64(0);
  w.name = st.text(1);
  w.code.format = st.text(2);
  w.code.build_id = st.text(3);
  w.etag = st.text(4);
  w.created_on = st.text(5);
  w.modified_on = st.text(6);
  return w;
}

// `intact`: whether the row passed its checksum (its bindings are read
// either way; callers must not hand out the code of one that did not).
Worker read_worker_row(sqlite3* db, Stmt& st, bool& intact) {
  Worker w = read_worker_head(st);
  w.code.source = st.text(7);
  w.code.bytecode = st.blob(8);
  w.code.lowered = st.text(9);
  w.code.line_map = st.text(10);
  intact = st.blob(11) == worker_checksum(w.name, w.code);
  w.bindings = read_bindings(db, true, w.id);
  return w;
}

// --- row checksums (schema/004_checksums.sql) --------------------------------
//
// SQLite keeps no page checksums: a bit flipped inside a value passes
// quick_check and would be served. Each script and worker row carries
// SHA-256 over the fields that make its behaviour, written with them and
// verified on every read that hands out code to run. Each field goes in
// as its length (8 bytes, little-endian) then its bytes, so no byte can
// slide from one field into the next; a tag first keeps a worker's row
// from ever verifying as a script's. SHA-256 from libcrypto, which wfpd
// links already. Measured (2-core AMD EPYC with SHA extensions): 0.7 ms
// per MB hashed; a row of 1 MB source plus 1 MB bytecode takes 1.4 ms to
// verify, of the 3.6 ms get_script takes for it. Paid on cold loads and
// admin reads only: a warm sandbox never reads the store.
class RowHash {
 public:
  explicit RowHash(std::string_view kind) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1)
      throw StoreError("store: cannot start SHA-256 (libcrypto)");
    field(kind);
  }
  ~RowHash() { EVP_MD_CTX_free(ctx_); }
  RowHash(const RowHash&) = delete;
  RowHash& operator=(const RowHash&) = delete;

  RowHash& field(std::string_view v) {
    uint64_t n = v.size();
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = static_cast<unsigned char>(n >> (8 * i));
    update(len, sizeof len);
    update(v.data(), v.size());
    return *this;
  }
  RowHash& field(int64_t v) { return field(std::string_view(std::to_string(v))); }
  std::string finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_, md, &n) != 1)
      throw StoreError("store: SHA-256 failed (libcrypto)");
    return std::string(reinterpret_cast<char*>(md), n);
  }

 private:
  void update(const void* p, size_t n) {
    if (n && EVP_DigestUpdate(ctx_, p, n) != 1)
      throw StoreError("store: SHA-256 failed (libcrypto)");
  }
  EVP_MD_CTX* ctx_;
};

RowHash& code_fields(RowHash& h, const ScriptCode& c) {
  return h.field(c.format).field(c.build_id).field(c.source).field(c.bytecode).field(c.lowered)
      .field(c.line_map);
}

std::string script_checksum(int64_t namespace_id, std::string_view name, const ScriptCode& code,
                            int64_t cpu_ms, int64_t subrequests) {
  RowHash h("wfp script v1");
  h.field(namespace_id).field(name).field(cpu_ms).field(subrequests);
  return code_fields(h, code).finish();
}

std::string worker_checksum(std::string_view name, const ScriptCode& code) {
  RowHash h("wfp worker v1");
  h.field(name);
  return code_fields(h, code).finish();
}

// What a request, the admin API and the journal say of a damaged row.
// It is a StoreError (a broken environment), not a value: no caller may
// carry on as if the row had been read.
std::string damaged_message(const std::string& what) {
  return "store: " + what +
         " failed its checksum (the store file is damaged); redeploy it or restore a backup";
}

[[noreturn]] void throw_damaged(const std::string& what) {
  std::string msg = damaged_message(what);
  WFP_LOG(error, "%s", msg.c_str());
  throw StoreError(msg);
}

void verify_script(sqlite3* db, const Script& s, std::string_view stored) {
  if (stored == script_checksum(s.namespace_id, s.name, s.code, s.cpu_ms, s.subrequests)) return;
  auto ns = namespace_name_of(db, s.namespace_id);
  throw_damaged("script '" + (ns ? *ns : "namespace id " + std::to_string(s.namespace_id)) + "/" +
                s.name + "'");
}

void write_checksums(sqlite3* db, const std::string& table,
                     const std::vector<std::pair<int64_t, std::string>>& sums) {
  Stmt up(db, "UPDATE " + table + " SET checksum = ? WHERE id = ?");
  for (auto& [id, sum] : sums) {
    up.reset();
    up.bind_blob(1, sum).bind(2, id).run();
  }
}

// The C++ half of migration 4, inside its transaction: every row written
// before checksums existed gets one, from what it holds now (quick_check
// has just passed; nothing older can be checked).
void fill_checksums(sqlite3* db) {
  std::vector<std::pair<int64_t, std::string>> sums;
  {
    Stmt st(db, std::string("SELECT id, namespace_id, name, cpu_ms, subrequests, ") + kCodeColumns + " FROM scripts");
    while (st.step())
      sums.emplace_back(st.i64(0), script_checksum(st.i64(1), st.view(2), read_code(st, 5), st.i64(3), st.i64(4)));
  }
  write_checksums(db, "scripts", sums);
  sums.clear();
  {
    Stmt st(db, std::string("SELECT id, name, ") + kCodeColumns + " FROM workers");
    while (st.step()) sums.emplace_back(st.i64(0), worker_checksum(st.view(1), read_code(st, 2)));
  }
  write_checksums(db, "workers", sums);
}

// Counting a namespace's scripts walks its index: the listing and the
// namespace's own JSON count, the request and deploy paths do not.
constexpr const char* kNamespaceSelect =
    "SELECT n.id, n.name, n.trusted, n.created_on, n.modified_on, 0 FROM namespaces n";
constexpr const char* kNamespaceSelectCounted =
    "SELECT n.id, n.name, n.trusted, n.created_on, n.modified_on,"
    "       (SELECT count(*) FROM scripts s WHERE s.namespace_id = n.id)"
    "  FROM namespaces n";

Namespace read_namespace_row(Stmt& st) {
  Namespace n;
  n.id = st.i64(0);
  n.name = st.text(1);
  n.trusted = st.i64(2) != 0;
  n.created_on = st.text(3);
  n.modified_on = st.text(4);
  n.script_count = st.i64(5);
  return n;
}

// Host names are case-insensitive, paths are not; routes.cc folds the same.
std::string fold_route_host(std::string_view pattern) {
  std::string out(pattern);
  size_t slash = out.find('/');
  for (size_t i = 0; i < std::min(slash, out.size()); i++)
    if (out[i] >= 'A' && out[i] <= 'Z') out[i] = char(out[i] - 'A' + 'a');
  return out;
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

}  // namespace

Store::Store(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, DbCloser> db(raw);  // closes on every throw below
  if (rc != SQLITE_OK)
    throw StoreError("store: cannot open " + path + ": " +
                     (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // Defensive: no writable_schema tricks; the schema's CHECKs and triggers
  // may call only harmless functions.
  sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);

  int64_t version;
  try {
    version =
        pragma_int(raw, "PRAGMA user_version");  // the first read: "not a database" shows here
  } catch (const SqlError& e) {
    throw StoreError("store: " + path + " is not a usable SQLite database: " + e.what());
  }
  // Refuse before changing anything: a newer wfpd's database must survive
  // an accidental downgrade untouched.
  if (version > kSchemaVersion)
    throw StoreError("store: " + path + " has schema version " + std::to_string(version) +
                     ", newer than this wfpd knows (" + std::to_string(kSchemaVersion) +
                     "); refusing to open it (was it written by a newer wfpd?)");
  if (version < 0)
    throw StoreError("store: " + path + " has schema version " + std::to_string(version) +
                     ", which no wfpd writes; refusing to open it");

  try {
    {
      // A damaged file is refused at start-up rather than discovered by a
      // deploy half-way. quick_check reads every page, so it costs time in
      // proportion to the file (measured here: about 1.5 s per GB).
      std::string problems;
      int rows = 0;
      try {
        Stmt check(raw, "PRAGMA quick_check");
        while (check.step()) {
          std::string line = check.text(0);
          if (line == "ok") continue;
          if (rows++ < 3) problems += (problems.empty() ? "" : "; ") + line;
        }
      } catch (const SqlError& e) {
        rows++;
        problems += (problems.empty() ? "" : "; ") + std::string(e.what());
      }
      if (rows) throw StoreError("store: " + path + " fails PRAGMA quick_check: " + problems);
    }
    {
      Stmt wal(raw, "PRAGMA journal_mode = WAL");
      std::string mode = wal.step() ? wal.text(0) : "";
      if (mode != "wal")
        throw StoreError("store: " + path + ": cannot switch to WAL (journal mode is \"" + mode +
                         "\")");
    }
    exec(raw, "PRAGMA synchronous = FULL");
    exec(raw, "PRAGMA foreign_keys = ON");
    if (pragma_int(raw, "PRAGMA foreign_keys") != 1)
      throw StoreError("store: this SQLite cannot enforce foreign keys");

    for (int64_t v = version; v < kSchemaVersion; v++) {
      Transaction t(raw);
      // Another process may have migrated while we waited for the lock.
      int64_t now = pragma_int(raw, "PRAGMA user_version");
      if (now > v) {
        t.commit();
        v = now - 1;
        continue;
      }
      exec(raw, kMigrations[v].sql);
      if (kMigrations[v].after) kMigrations[v].after(raw);
      // PRAGMA takes no bound values; the number is ours, not a caller's.
      exec(raw, ("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
      t.commit();
      WFP_LOG(info, "store: %s migrated to schema version %lld", path.c_str(),
              static_cast<long long>(v + 1));
    }
  } catch (const SqlError& e) {
    throw StoreError("store: " + path + ": " + e.what());
  }
  db_ = db.release();
  stmt_cache_open(db_);
}

Store::~Store() {
  stmt_cache_close(db_);
  sqlite3_close_v2(db_);
}

std::vector<std::exception_ptr> Store::write_group(const std::vector<std::function<void()>>& writes) {
  std::vector<std::exception_ptr> out(writes.size());
  std::vector<size_t> pending;  // written in the open transaction, not yet committed
  auto lose_pending = [&](const std::string& why) {
    for (size_t i : pending) out[i] = std::make_exception_ptr(SqlError(SQLITE_ABORT, why));
    pending.clear();
  };
  // The write lock, waited for up to the busy timeout (another process
  // holding it: `wfpctl backup`'s reader does not, an sqlite3 shell might).
  // Without it no write of the group runs: each would wait the whole
  // timeout again on its own, holding up the event loop that long each.
  std::string no_lock;
  auto begin = [&]() -> bool {
    int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return true;
    no_lock = std::string("store: cannot take the write lock: ") + sqlite3_errmsg(db_) +
              ((rc & 0xff) == SQLITE_BUSY ? " (another process holds the store; try again)" : "");
    WFP_LOG(error, "%s", no_lock.c_str());
    return false;
  };
  bool open = begin();
  for (size_t i = 0; i < writes.size(); i++) {
    if (!open) {
      out[i] = std::make_exception_ptr(SqlError(SQLITE_BUSY, no_lock));
      continue;
    }
    // Without its savepoint a write that fails half-way could not be undone
    // alone, and its first half would be committed with the group (a torn
    // deploy): a write whose savepoint cannot be taken (out of memory) is
    // failed without running.
    int rc = sqlite3_exec(db_, "SAVEPOINT wfp_group", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      out[i] = std::make_exception_ptr(
          SqlError(rc, std::string("store: group commit: savepoint: ") + sqlite3_errmsg(db_)));
    } else {
      try {
        writes[i]();
        sqlite3_exec(db_, "RELEASE wfp_group", nullptr, nullptr, nullptr);
        pending.push_back(i);
      } catch (...) {
        out[i] = std::current_exception();
        sqlite3_exec(db_, "ROLLBACK TO wfp_group; RELEASE wfp_group", nullptr, nullptr, nullptr);
      }
    }
    // SQLite rolls a whole transaction back on some errors (a full disk,
    // I/O): what the group wrote before is gone; the rest start anew.
    if (sqlite3_get_autocommit(db_)) {
      // The cause is this write's failure: by now sqlite3_errmsg() tells
      // only that the cleanup's savepoints were gone with the transaction.
      std::string cause = sqlite3_errmsg(db_);
      if (out[i]) {
        try {
          std::rethrow_exception(out[i]);
        } catch (const std::exception& e) {
          cause = e.what();
        } catch (...) {
        }
      }
      std::string why = "store: the transaction was rolled back: " + cause;
      lose_pending(why);  // this write's too, if it got that far: never acknowledge a loss
      open = begin();
    }
  }
  if (!open) return out;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = std::string("store: commit: ") + sqlite3_errmsg(db_);
    WFP_LOG(error, "%s", why.c_str());
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    lose_pending(why);
  }
  return out;
}

int Store::schema_version() const {
  return static_cast<int>(pragma_int(db_, "PRAGMA user_version"));
}

// --- namespaces -------------------------------------------------------------

StoreResult Store::create_namespace(const std::string& name, bool trusted, Namespace* out) {
  if (!valid_name(name)) return fail(StoreStatus::invalid, invalid_name_message("namespace", name));
  return guarded("create namespace", [&]() -> StoreResult {
    Transaction t(db_);
    if (namespace_id_of(db_, name))
      return fail(StoreStatus::already_exists, quoted("namespace", name) + " already exists");
    std::string now = now_iso8601();
    Stmt ins(db_,
             "INSERT INTO namespaces (name, trusted, created_on, modified_on) VALUES (?, ?, ?, ?)");
    ins.binds(name, int64_t{trusted}, now, now).run();
    int64_t id = sqlite3_last_insert_rowid(db_);
    t.commit();
    if (out) *out = Namespace{id, name, trusted, 0, now, now};
    return {};
  });
}

std::vector<Namespace> Store::list_namespaces() {
  Stmt st(db_, std::string(kNamespaceSelectCounted) + " ORDER BY n.name");
  std::vector<Namespace> out;
  while (st.step()) out.push_back(read_namespace_row(st));
  return out;
}

std::optional<Namespace> Store::get_namespace(const std::string& name, bool count_scripts) {
  if (!valid_name(name)) return std::nullopt;
  Stmt st(db_, std::string(count_scripts ? kNamespaceSelectCounted : kNamespaceSelect) +
                   " WHERE n.name = ?");
  st.binds(name);
  if (!st.step()) return std::nullopt;
  return read_namespace_row(st);
}

std::optional<Namespace> Store::get_namespace_by_id(int64_t id) {
  Stmt st(db_, std::string(kNamespaceSelect) + " WHERE n.id = ?");
  st.binds(id);
  if (!st.step()) return std::nullopt;
  return read_namespace_row(st);
}

StoreResult Store::rename_namespace(const std::string& old_name, const std::string& new_name) {
  if (!valid_name(old_name))
    return fail(StoreStatus::invalid, invalid_name_message("namespace", old_name));
  if (!valid_name(new_name))
    return fail(StoreStatus::invalid, invalid_name_message("namespace", new_name));
  return guarded("rename namespace", [&]() -> StoreResult {
    Transaction t(db_);
    auto id = namespace_id_of(db_, old_name);
    if (!id) return fail(StoreStatus::not_found, quoted("namespace", old_name) + " not found");
    if (old_name == new_name) return {};
    if (namespace_id_of(db_, new_name))
      return fail(StoreStatus::already_exists, quoted("namespace", new_name) + " already exists");
    // Scripts and bindings hold the id: this one row is the whole rename.
    Stmt up(db_, "UPDATE namespaces SET name = ?, modified_on = ? WHERE id = ?");
    up.binds(new_name, now_iso8601(), *id).run();
    t.commit();
    return {};
  });
}

StoreResult Store::set_namespace_trusted(const std::string& name, bool trusted) {
  if (!valid_name(name)) return fail(StoreStatus::invalid, invalid_name_message("namespace", name));
  return guarded("set namespace trusted", [&]() -> StoreResult {
    Transaction t(db_);
    Stmt up(db_, "UPDATE namespaces SET trusted = ?, modified_on = ? WHERE name = ?");
    up.binds(int64_t{trusted}, now_iso8601(), name).run();
    if (sqlite3_changes(db_) == 0)
      return fail(StoreStatus::not_found, quoted("namespace", name) + " not found");
    t.commit();
    return {};
  });
}

StoreResult Store::delete_namespace(const std::string& name, bool force) {
  if (!valid_name(name)) return fail(StoreStatus::invalid, invalid_name_message("namespace", name));
  return guarded("delete namespace", [&]() -> StoreResult {
    Transaction t(db_);
    auto id = namespace_id_of(db_, name);
    if (!id) return fail(StoreStatus::not_found, quoted("namespace", name) + " not found");
    {
      // Even --force keeps a namespace a dispatch worker still uses:
      // deleting it would turn every request into "Worker not found.".
      Stmt used(db_,
                "SELECT w.name, b.name FROM worker_bindings b JOIN workers w ON w.id = b.worker_id"
                " WHERE b.target_namespace_id = ? ORDER BY w.name, b.name LIMIT 1");
      used.binds(*id);
      if (used.step())
        return fail(StoreStatus::in_use, quoted("namespace", name) + " is still used by " +
                                             quoted("worker", used.text(0)) + " (binding " +
                                             used.text(1) + ")");
    }
    int64_t count;
    {
      Stmt c(db_, "SELECT count(*) FROM scripts WHERE namespace_id = ?");
      c.binds(*id);
      c.step();
      count = c.i64(0);
    }
    if (count > 0 && !force)
      return fail(StoreStatus::not_empty,
                  quoted("namespace", name) + " has " + std::to_string(count) +
                      (count == 1 ? " script" : " scripts") + "; delete them first or use --force");
    // Scripts, their tags and bindings go by ON DELETE CASCADE.
    Stmt del(db_, "DELETE FROM namespaces WHERE id = ?");
    del.binds(*id).run();
    t.commit();
    return {};
  });
}

// --- scripts ----------------------------------------------------------------

StoreResult Store::put_script(const std::string& ns_name, Script& script) {
  if (!valid_name(ns_name))
    return fail(StoreStatus::invalid, invalid_name_message("namespace", ns_name));
  if (!valid_name(script.name))
    return fail(StoreStatus::invalid, invalid_name_message("script", script.name));
  if (auto r = check_code(script.code); !r.ok()) return r;
  if (script.cpu_ms < 0 || script.cpu_ms > kMaxCpuMs)
    return fail(StoreStatus::invalid, "cpu_ms " + std::to_string(script.cpu_ms) +
                                          " is out of range (0 = the default, up to 300000)");
  if (script.subrequests < 0 || script.subrequests > kMaxSubrequests)
    return fail(StoreStatus::invalid, "subrequests " + std::to_string(script.subrequests) +
                                          " is out of range (0 = the default, up to 10000)");
  // Tags: at most 8, each valid; a repeated tag counts once.
  std::vector<std::string> tags;
  for (const std::string& tag : script.tags) {
    if (!valid_tag(tag))
      return fail(StoreStatus::invalid,
                  quoted("tag", tag) +
                      " is invalid: tags are 1-64 printable ASCII characters without "
                      "',', '&', ':' or spaces");
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
  }
  if (tags.size() > kMaxTags)
    return fail(StoreStatus::invalid, quoted("script", script.name) + " has " +
                                          std::to_string(tags.size()) +
                                          " tags, more than the 8 allowed");
  if (auto r = check_bindings(script.bindings, false); !r.ok()) return r;

  return guarded("put script", [&]() -> StoreResult {
    Transaction t(db_);
    auto ns_id = namespace_id_of(db_, ns_name);
    if (!ns_id) return fail(StoreStatus::not_found, quoted("namespace", ns_name) + " not found");
    std::vector<Binding> bindings = script.bindings;
    if (auto r = resolve_targets(db_, bindings, "", 0); !r.ok()) return r;

    std::string now = now_iso8601(), etag = new_etag();
    int64_t id;
    std::string created_on;
    {
      // Insert or replace by (namespace, name), keeping id and created_on.
      Stmt up(db_,
              "INSERT INTO scripts (namespace_id, name, format, build_id, cpu_ms, subrequests,"
              "                     etag, created_on, modified_on, source, bytecode,"
              "                     lowered, line_map, checksum)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
              " ON CONFLICT (namespace_id, name) DO UPDATE SET"
              "   format = excluded.format, build_id = excluded.build_id,"
              "   cpu_ms = excluded.cpu_ms, subrequests = excluded.subrequests,"
              "   etag = excluded.etag, modified_on = excluded.modified_on,"
              "   source = excluded.source, bytecode = excluded.bytecode,"
              "   lowered = excluded.lowered, line_map = excluded.line_map,"
              "   checksum = excluded.checksum"
              " RETURNING id, created_on");
      up.binds(*ns_id, script.name, script.code.format, script.code.build_id, script.cpu_ms,
               script.subrequests, etag, now, now, script.code.source);
      up.bind_blob(11, script.code.bytecode);
      up.bind(12, script.code.lowered).bind(13, script.code.line_map);
      // Every column the checksum covers is written here; a redeploy of
      // a damaged row heals it.
      up.bind_blob(14, script_checksum(*ns_id, script.name, script.code, script.cpu_ms,
                                       script.subrequests));
      up.step();
      id = up.i64(0);
      created_on = up.text(1);
      up.run();
    }
    {
      Stmt del_tags(db_, "DELETE FROM script_tags WHERE script_id = ?");
      del_tags.binds(id).run();
      Stmt del_bindings(db_, "DELETE FROM script_bindings WHERE script_id = ?");
      del_bindings.binds(id).run();
    }
    {
      Stmt ins(db_, "INSERT INTO script_tags (script_id, tag) VALUES (?, ?)");
      for (const std::string& tag : tags) {
        ins.reset();
        ins.binds(id, tag).run();
      }
    }
    {
      Stmt ins(db_,
               "INSERT INTO script_bindings (script_id, position, type, name, text,"
               "                             target_worker_id) VALUES (?, ?, ?, ?, ?, ?)");
      int64_t pos = 0;
      for (const Binding& b : bindings) {
        ins.reset();
        ins.binds(id, pos++, b.type, b.name, b.text);
        ins.bind_id_or_null(6, b.target_id);
        ins.run();
      }
    }
    t.commit();
    script.id = id;
    script.namespace_id = *ns_id;
    script.tags = tags;
    script.bindings = std::move(bindings);
    script.etag = etag;
    script.created_on = created_on;
    script.modified_on = now;
    return {};
  });
}

std::optional<Script> Store::get_script(int64_t namespace_id, const std::string& name) {
  if (!valid_name(name)) return std::nullopt;
  Transaction t(db_, true);
  Stmt st(db_, std::string("SELECT ") + kScriptColumns +
                   ", s.source, s.bytecode, s.lowered, s.line_map, s.checksum"
                   " FROM scripts s WHERE s.namespace_id = ? AND s.name = ?");
  st.binds(namespace_id, name);
  if (!st.step()) return std::nullopt;
  Script s = read_script_row(st);
  s.code.source = st.text(11);
  s.code.bytecode = st.blob(12);
  s.code.lowered = st.text(13);
  s.code.line_map = st.text(14);
  // The cold-start path and the admin API both come here: a damaged row
  // is refused, never run (schema/004_checksums.sql).
  verify_script(db_, s, st.blob(15));
  s.bindings = read_bindings(db_, false, s.id);
  return s;
}

std::optional<Script> Store::get_script_meta(int64_t namespace_id, const std::string& name) {
  if (!valid_name(name)) return std::nullopt;
  Transaction t(db_, true);
  Stmt st(db_, std::string("SELECT ") + kScriptColumns +
                   " FROM scripts s WHERE s.namespace_id = ? AND s.name = ?");
  st.binds(namespace_id, name);
  if (!st.step()) return std::nullopt;
  Script s = read_script_row(st);
  s.bindings = read_bindings(db_, false, s.id);
  return s;
}

StoreResult Store::list_scripts(int64_t namespace_id, const std::vector<TagFilter>& filters,
                                int limit, const std::string& cursor, ScriptPage& out) {
  if (limit == 0) limit = kDefaultPageSize;
  if (limit < 0 || limit > kMaxPageSize)
    return fail(StoreStatus::invalid,
                "limit " + std::to_string(limit) + " is out of range (1..1000)");
  // The cursor is the last name of the previous page, hex-encoded: keyset
  // pagination, so page N costs what page 1 does.
  std::string after;
  if (!cursor.empty() && (!from_hex(cursor, after) || !valid_name(after)))
    return fail(StoreStatus::invalid, "cursor \"" + shown(cursor) + "\" is invalid");
  if (filters.size() > kMaxTagFilters)
    return fail(StoreStatus::invalid,
                std::to_string(filters.size()) + " tag filters, more than the 16 allowed");
  for (const TagFilter& f : filters)
    if (!valid_tag(f.tag)) return fail(StoreStatus::invalid, quoted("tag", f.tag) + " is invalid");

  // Only now: `cursor` may be a reference into `out` (the previous page).
  out = ScriptPage{};
  return guarded("list scripts", [&]() -> StoreResult {
    Transaction t(db_, true);
    if (!namespace_name_of(db_, namespace_id))
      return fail(StoreStatus::not_found,
                  "namespace id " + std::to_string(namespace_id) + " not found");
    // The statement's text depends only on how many filters of each kind
    // there are; every tag is bound.
    std::string sql = std::string("SELECT ") + kScriptColumns +
                      " FROM scripts s WHERE s.namespace_id = ? AND s.name > ?";
    for (const TagFilter& f : filters)
      sql += std::string(f.present ? " AND" : " AND NOT") +
             " EXISTS (SELECT 1 FROM script_tags g WHERE g.script_id = s.id AND g.tag = ?)";
    sql += " ORDER BY s.name LIMIT ?";
    Stmt st(db_, sql);
    int i = 0;
    st.bind(++i, namespace_id);
    st.bind(++i, after);
    for (const TagFilter& f : filters) st.bind(++i, f.tag);
    st.bind(++i, int64_t{limit} + 1);  // one more tells whether a next page exists
    while (st.step()) {
      if (static_cast<int>(out.scripts.size()) == limit) {
        out.next_cursor = to_hex(out.scripts.back().name);
        break;
      }
      out.scripts.push_back(read_script_row(st));
    }
    return {};
  });
}

StoreResult Store::delete_script(int64_t namespace_id, const std::string& name) {
  if (!valid_name(name)) return fail(StoreStatus::invalid, invalid_name_message("script", name));
  return guarded("delete script", [&]() -> StoreResult {
    Transaction t(db_);
    auto ns = namespace_name_of(db_, namespace_id);
    if (!ns)
      return fail(StoreStatus::not_found,
                  "namespace id " + std::to_string(namespace_id) + " not found");
    Stmt del(db_, "DELETE FROM scripts WHERE namespace_id = ? AND name = ?");
    del.binds(namespace_id, name).run();
    if (sqlite3_changes(db_) == 0)
      return fail(StoreStatus::not_found,
                  quoted("script", name) + " not found in " + quoted("namespace", *ns));
    t.commit();
    return {};
  });
}

StoreResult Store::set_script_bytecode(int64_t script_id, const std::string& bytecode,
                                       const std::string& build_id) {
  return guarded("set script bytecode", [&]() -> StoreResult {
    Transaction t(db_);
    // The checksum covers the columns not written here too: verify the
    // row first, so that new bytecode never blesses a damaged source.
    Script s;
    std::string stored;
    {
      Stmt st(db_, std::string("SELECT namespace_id, name, cpu_ms, subrequests, ") + kCodeColumns +
                       ", checksum FROM scripts WHERE id = ?");
      st.binds(script_id);
      if (!st.step())
        return fail(StoreStatus::not_found,
                    "script id " + std::to_string(script_id) + " not found");
      s.namespace_id = st.i64(0);
      s.name = st.text(1);
      s.cpu_ms = st.i64(2);
      s.subrequests = st.i64(3);
      s.code = read_code(st, 4);
      stored = st.blob(10);
    }
    try {
      verify_script(db_, s, stored);
    } catch (const SqlError&) {
      throw;
    } catch (const StoreError& e) {
      return fail(StoreStatus::io_error, e.what());
    }
    s.code.bytecode = bytecode;
    s.code.build_id = build_id;
    // Not a deploy: etag and modified_on stay as they are.
    Stmt up(db_, "UPDATE scripts SET bytecode = ?, build_id = ?, checksum = ? WHERE id = ?");
    up.bind_blob(1, bytecode).bind(2, build_id);
    up.bind_blob(3, script_checksum(s.namespace_id, s.name, s.code, s.cpu_ms, s.subrequests));
    up.bind(4, script_id).run();
    t.commit();
    return {};
  });
}

// --- platform workers -------------------------------------------------------

StoreResult Store::put_worker(Worker& worker) {
  if (!valid_name(worker.name))
    return fail(StoreStatus::invalid, invalid_name_message("worker", worker.name));
  if (auto r = check_code(worker.code); !r.ok()) return r;
  if (auto r = check_bindings(worker.bindings, true); !r.ok()) return r;

  return guarded("put worker", [&]() -> StoreResult {
    Transaction t(db_);
    std::vector<Binding> bindings = worker.bindings;
    // Resolve the others first (fail before writing); self later, by id.
    if (auto r = resolve_targets(db_, bindings, worker.name, 0); !r.ok()) return r;

    std::string now = now_iso8601(), etag = new_etag();
    int64_t id;
    std::string created_on;
    {
      Stmt up(db_,
              "INSERT INTO workers (name, format, build_id, etag, created_on, modified_on,"
              "                     source, bytecode, lowered, line_map, checksum)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
              " ON CONFLICT (name) DO UPDATE SET"
              "   format = excluded.format, build_id = excluded.build_id,"
              "   etag = excluded.etag, modified_on = excluded.modified_on,"
              "   source = excluded.source, bytecode = excluded.bytecode,"
              "   lowered = excluded.lowered, line_map = excluded.line_map,"
              "   checksum = excluded.checksum"
              " RETURNING id, created_on");
      up.binds(worker.name, worker.code.format, worker.code.build_id, etag, now, now,
               worker.code.source);
      up.bind_blob(8, worker.code.bytecode);
      up.bind(9, worker.code.lowered).bind(10, worker.code.line_map);
      up.bind_blob(11, worker_checksum(worker.name, worker.code));
      up.step();
      id = up.i64(0);
      created_on = up.text(1);
      up.run();
    }
    for (Binding& b : bindings) {
      if (b.type == "service" && b.target_name == worker.name) b.target_id = id;
      if (b.type == "dispatch_namespace" && b.outbound_name == worker.name) b.outbound_id = id;
    }
    {
      Stmt del(db_, "DELETE FROM worker_bindings WHERE worker_id = ?");
      del.binds(id).run();
    }
    {
      Stmt ins(db_,
               "INSERT INTO worker_bindings (worker_id, position, type, name, text,"
               "                             target_worker_id, target_namespace_id,"
               "                             outbound_worker_id, outbound_params)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      int64_t pos = 0;
      for (const Binding& b : bindings) {
        ins.reset();
        ins.binds(id, pos++, b.type, b.name, b.text);
        ins.bind_id_or_null(6, b.type == "service" ? b.target_id : 0);
        ins.bind_id_or_null(7, b.type == "dispatch_namespace" ? b.target_id : 0);
        ins.bind_id_or_null(8, b.outbound_id);
        ins.bind(9, encode_params(b.outbound_params));
        ins.run();
      }
    }
    t.commit();
    worker.id = id;
    worker.bindings = std::move(bindings);
    worker.etag = etag;
    worker.created_on = created_on;
    worker.modified_on = now;
    return {};
  });
}

std::optional<Worker> Store::get_worker(const std::string& name) {
  if (!valid_name(name)) return std::nullopt;
  Transaction t(db_, true);
  Stmt st(db_, std::string(kWorkerSelect) + " WHERE name = ?");
  st.binds(name);
  if (!st.step()) return std::nullopt;
  bool intact;
  Worker w = read_worker_row(db_, st, intact);
  if (!intact) throw_damaged("worker '" + w.name + "'");
  return w;
}

std::optional<Worker> Store::get_worker_by_id(int64_t id) {
  Transaction t(db_, true);
  Stmt st(db_, std::string(kWorkerSelect) + " WHERE id = ?");
  st.binds(id);
  if (!st.step()) return std::nullopt;
  bool intact;
  Worker w = read_worker_row(db_, st, intact);
  if (!intact) throw_damaged("worker '" + w.name + "'");
  return w;
}

std::optional<Worker> Store::get_worker_meta(const std::string& name) {
  if (!valid_name(name)) return std::nullopt;
  Transaction t(db_, true);
  Stmt st(db_,
          "SELECT id, name, format, build_id, etag, created_on, modified_on FROM workers"
          " WHERE name = ?");
  st.binds(name);
  if (!st.step()) return std::nullopt;
  Worker w = read_worker_head(st);
  w.bindings = read_bindings(db_, true, w.id);
  return w;
}

std::vector<Worker> Store::list_workers() {
  Transaction t(db_, true);
  Stmt st(db_, std::string(kWorkerSelect) + " ORDER BY name");
  std::vector<Worker> out;
  while (st.step()) {
    bool intact;
    Worker w = read_worker_row(db_, st, intact);
    // Left out rather than thrown: this list loads every dispatcher, and
    // one damaged worker must not take the others (or a redeploy of it,
    // which reloads them) down with it. Its routes answer "not loaded".
    if (!intact) {
      WFP_LOG(error, "%s", damaged_message("worker '" + w.name + "'").c_str());
      continue;
    }
    out.push_back(std::move(w));
  }
  return out;
}

StoreResult Store::delete_worker(const std::string& name) {
  if (!valid_name(name)) return fail(StoreStatus::invalid, invalid_name_message("worker", name));
  return guarded("delete worker", [&]() -> StoreResult {
    Transaction t(db_);
    auto id = worker_id_of(db_, name);
    if (!id) return fail(StoreStatus::not_found, quoted("worker", name) + " not found");
    {
      Stmt r(db_, "SELECT pattern FROM routes WHERE worker_id = ? ORDER BY pattern LIMIT 1");
      r.binds(*id);
      if (r.step())
        return fail(StoreStatus::in_use,
                    quoted("worker", name) + " is still used by " + quoted("route", r.text(0)));
    }
    {
      // A service target or an outbound worker: deleting either would
      // break every request through that binding.
      Stmt w(db_,
             "SELECT w.name, b.name, coalesce(b.target_worker_id, 0) != ?1"
             "  FROM worker_bindings b JOIN workers w ON w.id = b.worker_id"
             " WHERE (b.target_worker_id = ?1 OR b.outbound_worker_id = ?1) AND b.worker_id != ?1"
             " ORDER BY w.name, b.name LIMIT 1");
      w.binds(*id);
      if (w.step())
        return fail(StoreStatus::in_use,
                    quoted("worker", name) + " is still used by " + quoted("worker", w.text(0)) +
                        (w.i64(2) ? " (outbound worker of binding " : " (binding ") + w.text(1) +
                        ")");
    }
    {
      Stmt s(db_,
             "SELECT n.name || '/' || s.name, b.name FROM script_bindings b"
             "  JOIN scripts s ON s.id = b.script_id JOIN namespaces n ON n.id = s.namespace_id"
             " WHERE b.target_worker_id = ? ORDER BY 1, 2 LIMIT 1");
      s.binds(*id);
      if (s.step())
        return fail(StoreStatus::in_use, quoted("worker", name) + " is still used by " +
                                             quoted("script", s.text(0)) + " (binding " +
                                             s.text(1) + ")");
    }
    // Its own bindings (a self-binding too) go by ON DELETE CASCADE.
    Stmt del(db_, "DELETE FROM workers WHERE id = ?");
    del.binds(*id).run();
    t.commit();
    return {};
  });
}

// --- routes -----------------------------------------------------------------

StoreResult Store::add_route(const std::string& pattern_in, const std::string& worker_name,
                             Route* out) {
  std::string error;
  if (!valid_route_pattern(pattern_in, error))
    return fail(StoreStatus::invalid, quoted("route", pattern_in) + " is invalid: " + error);
  if (!valid_name(worker_name))
    return fail(StoreStatus::invalid, invalid_name_message("worker", worker_name));
  std::string pattern = fold_route_host(pattern_in);
  return guarded("add route", [&]() -> StoreResult {
    Transaction t(db_);
    auto worker_id = worker_id_of(db_, worker_name);
    if (!worker_id)
      return fail(StoreStatus::not_found, quoted("worker", worker_name) + " not found");
    {
      Stmt dup(db_, "SELECT 1 FROM routes WHERE pattern = ?");
      dup.binds(pattern);
      if (dup.step())
        return fail(StoreStatus::already_exists, quoted("route", pattern) + " already exists");
    }
    Stmt ins(db_, "INSERT INTO routes (pattern, worker_id) VALUES (?, ?)");
    ins.binds(pattern, *worker_id).run();
    int64_t id = sqlite3_last_insert_rowid(db_);
    t.commit();
    if (out) *out = Route{id, pattern, *worker_id, worker_name};
    return {};
  });
}

std::vector<Route> Store::list_routes() {
  Stmt st(db_,
          "SELECT r.id, r.pattern, r.worker_id, w.name FROM routes r"
          "  JOIN workers w ON w.id = r.worker_id ORDER BY r.pattern");
  std::vector<Route> out;
  while (st.step()) out.push_back(Route{st.i64(0), st.text(1), st.i64(2), st.text(3)});
  return out;
}

StoreResult Store::delete_route(const std::string& pattern_in) {
  std::string error;
  if (!valid_route_pattern(pattern_in, error))
    return fail(StoreStatus::invalid, quoted("route", pattern_in) + " is invalid: " + error);
  std::string pattern = fold_route_host(pattern_in);
  return guarded("delete route", [&]() -> StoreResult {
    Stmt del(db_, "DELETE FROM routes WHERE pattern = ?");
    del.binds(pattern).run();
    if (sqlite3_changes(db_) == 0)
      return fail(StoreStatus::not_found, quoted("route", pattern) + " not found");
    return {};
  });
}

struct Store::Backup::Impl {
  sqlite3* dest = nullptr;
  sqlite3_backup* backup = nullptr;
  std::string path;
};

Store::Backup::~Backup() {
  if (!impl) return;
  if (impl->backup) sqlite3_backup_finish(impl->backup);
  if (impl->dest) sqlite3_close(impl->dest);
}

std::unique_ptr<Store::Backup> Store::backup_to(const std::string& path, std::string& error) {
  auto b = std::make_unique<Backup>();
  b->impl = std::make_unique<Backup::Impl>();
  b->impl->path = path;
  if (sqlite3_open_v2(path.c_str(), &b->impl->dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = "backup: cannot create " + path + ": " + sqlite3_errmsg(b->impl->dest);
    return nullptr;
  }
  b->impl->backup = sqlite3_backup_init(b->impl->dest, "main", db_, "main");
  if (!b->impl->backup) {
    error = std::string("backup: ") + sqlite3_errmsg(b->impl->dest);
    return nullptr;
  }
  return b;
}

bool Store::Backup::step(int pages, std::string& error) {
  int rc = sqlite3_backup_step(impl->backup, pages);
  if (rc == SQLITE_DONE) {
    sqlite3_backup_finish(impl->backup);
    impl->backup = nullptr;
    return true;
  }
  if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return false;
  error = std::string("backup: ") + sqlite3_errstr(rc);
  return false;
}

}  // namespace wfp
