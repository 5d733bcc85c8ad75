// The per-tenant cache store (cache_store.h): one SQLite file per tenant
// under DATA_DIR/cache, a bounded pool of open handles, and the worker
// threads that make every SQLite call. Runs in the supervisor. Tenant keys
// come from the supervisor and become file names, so they are checked
// again here; cache names, URL keys, headers and bodies come from tenant
// JavaScript and are hostile: always bound as values, never spliced.
//
// Threads. The loop thread only queues jobs and runs callbacks. A job
// belongs to one tenant; a tenant is run by at most one worker at a time
// (`running`), so its handle is never used by two threads at once and its
// operations keep their order, while different tenants run in parallel.
// Results travel back as closures through `done`, and an eventfd wakes
// the loop (no libevent threading needed: only the loop touches libevent).
// `mu` guards the tenant table, the ready queue, the pool's bookkeeping and
// `done`; it is never held across an SQLite call or a callback.
#include "supervisor/cache_store.h"

#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ipc/log.h"

namespace wfp {
namespace {

constexpr int kSchemaVersion = 1;
// Only wfpd opens these files; a wait can only come from an operator's
// sqlite3 shell on a live file.
constexpr int kBusyTimeoutMs = 5000;
// Page cache per open file (KiB): the pool's memory is bounded by
// max_open_files times this.
constexpr int kPageCacheKiB = 1024;
// A WAL grows to the size of the largest transaction (a 512 MB body);
// after a checkpoint it is cut back to this. Above the size the automatic
// checkpoint leaves (1000 pages, about 4 MiB), so that the usual WAL is
// reused rather than cut and grown again each time.
constexpr int64_t kWalLimitBytes = 8 << 20;
// A hit rewrites an entry's last_used only when it is at least this old:
// eviction by least recent use to the minute is precise enough, and hits
// on a hot entry are then reads (a write costs 2-4 times a read here).
constexpr int64_t kTouchSeconds = 60;
// reclaim_expired() visits at most this many files per call.
constexpr size_t kReclaimFilesPerCall = 16;
// Hits and misses are counted in memory and written with the next write
// transaction, when the handle closes, or once this many have gathered:
// a warm hit within the same second is then a pure read.
constexpr int64_t kMaxPendingCounts = 256;
// Bounds for decoding a stored header list (it passed the checksum, so
// these only guard against our own bugs).
constexpr size_t kMaxStoredHeaders = 1 << 16;
constexpr size_t kMaxStoredHeaderBytes = 1 << 30;

// The schema of a tenant's file, version 1 (PRAGMA user_version). The
// primary key is (key, cache) rather than (cache, key): the same
// uniqueness, but purge of one URL across every cache name is then a
// prefix range of the primary key instead of a scan or a second index.
// Small columns come first so that reading them never touches a body's
// overflow pages. `stats` is kept by triggers, so entries/bytes never
// drift from the rows, whatever deletes them.
const char kSchemaSql[] = R"sql(
CREATE TABLE entries (
  cache      TEXT NOT NULL,
  key        TEXT NOT NULL,
  status     INTEGER NOT NULL,
  stored_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_used  INTEGER NOT NULL,
  size       INTEGER NOT NULL,   -- cache + key + headers + body, in bytes
  checksum   INTEGER NOT NULL,   -- row_checksum() of the content
  headers    BLOB NOT NULL,      -- WireWriter::pairs
  body       BLOB NOT NULL,
  PRIMARY KEY (key, cache)
);
CREATE INDEX entries_lru ON entries (last_used, stored_at);
CREATE INDEX entries_expiry ON entries (expires_at);
CREATE TABLE stats (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  entries INTEGER NOT NULL,
  bytes   INTEGER NOT NULL,
  hits    INTEGER NOT NULL,
  misses  INTEGER NOT NULL
);
INSERT INTO stats VALUES (1, 0, 0, 0, 0);
CREATE TRIGGER entries_insert AFTER INSERT ON entries BEGIN
  UPDATE stats SET entries = entries + 1, bytes = bytes + new.size WHERE id = 1;
END;
CREATE TRIGGER entries_delete AFTER DELETE ON entries BEGIN
  UPDATE stats SET entries = entries - 1, bytes = bytes - old.size WHERE id = 1;
END;
CREATE TRIGGER entries_resize AFTER UPDATE OF size ON entries BEGIN
  UPDATE stats SET bytes = bytes - old.size + new.size WHERE id = 1;
END;
PRAGMA user_version = 1;
)sql";

// An SQLite call failed; `what` is SQLite's message.
struct SqlError : std::runtime_error {
  int code;
  SqlError(int c, const std::string& what) : std::runtime_error(what), code(c) {}
};

[[noreturn]] void throw_sql(sqlite3* db, int rc) {
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), kind = sqlite3_errstr(rc);
  throw SqlError(rc, msg + (msg == kind ? "" : " (" + kind + ")"));
}

// A file that is not (or no longer) a usable database: it is deleted and
// made again, as a cache is disposable.
bool is_damage(int code) {
  int primary = code & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

void exec(sqlite3* db, const char* sql) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sql(db, rc);
}

// One open file, used by one thread at a time (the tenant's runner, or a
// thread closing it while the tenant is marked running). Prepared
// statements are kept for the life of the handle: the hit path then
// prepares nothing.
struct Handle {
  sqlite3* db = nullptr;
  int64_t pending_hits = 0, pending_misses = 0;
  std::vector<std::pair<const char*, sqlite3_stmt*>> stmts;  // keyed by the literal's address

  ~Handle() {
    for (auto& [sql, st] : stmts) sqlite3_finalize(st);
    if (db) sqlite3_close_v2(db);
  }
  sqlite3_stmt* prepare(const char* sql) {
    for (auto& [s, st] : stmts)
      if (s == sql) return st;
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) throw_sql(db, rc);
    stmts.emplace_back(sql, st);
    return st;
  }
};

// A use of one cached statement; values are always bound, never spliced.
// Blobs are bound without a copy (SQLITE_STATIC): the caller keeps them
// alive for the Stmt's scope, and the destructor unbinds them.
class Stmt {
 public:
  Stmt(Handle& h, const char* sql) : db_(h.db), s_(h.prepare(sql)) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  // A null data() would bind SQL NULL; an empty value must stay ''.
  Stmt& bind(int i, std::string_view v) {
    return check(sqlite3_bind_text64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8));
  }
  Stmt& bind_blob(int i, std::string_view v) {
    return check(sqlite3_bind_blob64(s_, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC));
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sql(db_, rc);
  }
  void run() {
    while (step()) {
    }
  }
  int64_t i64(int col) { return sqlite3_column_int64(s_, col); }
  // Valid until the next step() or the Stmt's end.
  std::string_view view(int col) {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(s_, col))
             : std::string_view();
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) throw_sql(db_, rc);
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
};

int64_t query_int(Handle& h, const char* sql) {
  Stmt st(h, sql);
  return st.step() ? st.i64(0) : 0;
}

// A write transaction that also writes the hits and misses counted since
// the last one. BEGIN IMMEDIATE takes the write lock up front, so it never
// fails half-way on a lock upgrade. Rolls back unless committed.
class WriteTxn {
 public:
  explicit WriteTxn(Handle& h) : h_(h) {
    exec(h_.db, "BEGIN IMMEDIATE");
    if (h_.pending_hits || h_.pending_misses) {
      try {
        Stmt st(h_, "UPDATE stats SET hits = hits + ?1, misses = misses + ?2 WHERE id = 1");
        st.bind(1, h_.pending_hits).bind(2, h_.pending_misses).run();
      } catch (...) {  // the destructor won't run for a constructor that throws
        sqlite3_exec(h_.db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }
  ~WriteTxn() {
    if (!done_) sqlite3_exec(h_.db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;
  void commit() {
    exec(h_.db, "COMMIT");
    done_ = true;
    h_.pending_hits = h_.pending_misses = 0;
  }

 private:
  Handle& h_;
  bool done_ = false;
};

// A 64-bit checksum of a row's content, defined here so that it is the
// same in every build (std::hash is not): xxHash64's round and final
// avalanche over little-endian 64-bit words, each field framed by its
// length. Every step is a bijection of the state, so a change confined to
// one word is always detected; it runs at several GB/s, which matters for
// 512 MB bodies. It finds damage (a flipped bit, a torn page), not
// forgery: only wfpd can write the 0700 directory.
class RowChecksum {
 public:
  RowChecksum& num(int64_t v) {
    mix(static_cast<uint64_t>(v));
    return *this;
  }
  RowChecksum& bytes(std::string_view s) {
    mix(s.size());
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      memcpy(&w, s.data() + i, 8);
      if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
      mix(w);
    }
    if (i < s.size()) {
      uint64_t tail = 0;
      for (size_t k = 0; i + k < s.size(); k++)
        tail |= uint64_t(static_cast<uint8_t>(s[i + k])) << (8 * k);
      mix(tail);
    }
    return *this;
  }
  int64_t value() const {
    uint64_t h = acc_;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return static_cast<int64_t>(h);
  }

 private:
  static constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL,
                            kP3 = 0x165667B19E3779F9ULL;
  void mix(uint64_t w) { acc_ = std::rotl(acc_ + w * kP2, 31) * kP1; }
  uint64_t acc_ = kP3;
};

int64_t row_checksum(std::string_view cache, std::string_view key, int64_t status,
                     int64_t stored_at, int64_t expires_at, std::string_view headers,
                     std::string_view body) {
  return RowChecksum()
      .bytes(cache)
      .bytes(key)
      .num(status)
      .num(stored_at)
      .num(expires_at)
      .bytes(headers)
      .bytes(body)
      .value();
}

// Tenant keys become file names: an allow-list, no dots, no slashes.
bool valid_tenant(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

// Text of a caller's value inside a message: printable and bounded.
std::string shown(std::string_view v) {
  std::string out;
  for (unsigned char c : v.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
  if (v.size() > 80) out += "...";
  return out;
}

// "<tenant>.db" → the tenant; nothing for -wal, -shm or anything else.
std::optional<std::string> tenant_of_file(std::string_view file) {
  if (file.size() < 4 || file.substr(file.size() - 3) != ".db") return std::nullopt;
  std::string tenant(file.substr(0, file.size() - 3));
  if (!valid_tenant(tenant)) return std::nullopt;
  return tenant;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Unlinks a database and its companions; "" or the first failure.
std::string remove_db_files(const std::string& path) {
  std::string error;
  for (const char* suffix : {"-wal", "-shm", "-journal", ""}) {
    std::string p = path + suffix;
    if (unlink(p.c_str()) != 0 && errno != ENOENT && error.empty()) {
      int err = errno;
      log_syscall_failure("cache", ("unlink(" + p + ")").c_str(), err);
      error = "unlink " + p + ": " + strerror(err);
    }
  }
  return error;
}

struct Session;
// A job runs on a worker with its tenant's Session; it returns the closure
// to run on the loop (empty: nothing to run).
using Job = std::function<std::function<void()>(Session&)>;

struct Tenant {
  std::deque<Job> jobs;
  // Set and cleared under mu; used without it by the one thread that has
  // the tenant marked running.
  std::unique_ptr<Handle> handle;
  std::list<std::string>::iterator lru_pos;  // valid while handle is set
  bool running = false;  // a worker runs its job, or a thread is closing its handle
  bool queued = false;   // its name is in Impl::ready
};

// The directory scan of reclaim_expired() runs as a job of this queue: it
// is no valid tenant key, so it never names a file.
const std::string kScanQueue = "";

}  // namespace

struct CacheStore::Impl {
  event_base* base;
  CacheStoreOptions opt;
  size_t max_open;
  int wake_fd = -1;
  event* wake_ev = nullptr;
  // False once the store is gone: a callback may destroy the store, and
  // the loop callback must then stop touching it.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  std::mutex mu;
  std::condition_variable ready_cv;
  bool stopping = false;
  std::unordered_map<std::string, Tenant> tenants;  // queued, running or open ones only
  std::deque<std::string> ready;                    // tenants with jobs and no runner
  std::list<std::string> lru;                       // open handles, most recent first
  size_t open_count = 0;                            // handles open, being opened or being closed
  std::unordered_set<std::string> checked;          // files quick_checked by this process
  std::deque<std::function<void()>> done;           // results for the loop
  bool scanning = false;
  std::string reclaim_cursor;  // the scan job's alone (one scan at a time)
  std::vector<std::thread> workers;

  Impl(event_base* b, CacheStoreOptions o) : base(b), opt(std::move(o)) {
    if (!opt.now) opt.now = [] { return static_cast<int64_t>(time(nullptr)); };
    max_open = std::max<size_t>(opt.max_open_files, 1);
  }
  ~Impl();

  std::string db_path(const std::string& tenant) const { return opt.dir + "/" + tenant + ".db"; }

  void start();
  void worker();
  void submit(const std::string& tenant, Job job);
  void post(std::function<void()> fn);
  void wake();
  static void on_wake(evutil_socket_t fd, short what, void* arg);

  // The pool. reserve_slot() takes a slot for a handle about to open,
  // closing the least recently used idle one when the pool is full.
  void reserve_slot();
  void release_slot();
  void close_handle(const std::string& tenant, std::unique_ptr<Handle> h, bool flush);
  // After a job or a close: queue the tenant again, or forget it.
  void settle(const std::string& name, Tenant& t);

  std::unique_ptr<Handle> open_file(const std::string& tenant, bool create);
  void scan_for_reclaim(int64_t now);
};

namespace {

// What a job sees of its tenant while it runs.
struct Session {
  CacheStore::Impl& impl;
  const std::string& name;
  Tenant& t;

  // The tenant's handle, opened on demand; nullptr when the tenant has no
  // file and `create` is false (so misses create nothing).
  Handle* handle(bool create) {
    if (t.handle) return t.handle.get();
    if (!create && !file_exists(impl.db_path(name))) return nullptr;
    impl.reserve_slot();
    std::unique_ptr<Handle> h;
    try {
      h = impl.open_file(name, create);
    } catch (...) {
      impl.release_slot();
      throw;
    }
    if (!h) {
      impl.release_slot();
      return nullptr;
    }
    std::lock_guard lk(impl.mu);
    t.handle = std::move(h);
    impl.lru.push_front(name);
    t.lru_pos = impl.lru.begin();
    return t.handle.get();
  }
  bool is_open() const { return t.handle != nullptr; }

  void close(bool flush) {
    std::unique_ptr<Handle> h;
    {
      std::lock_guard lk(impl.mu);
      if (!t.handle) return;
      h = std::move(t.handle);
      impl.lru.erase(t.lru_pos);
    }
    impl.close_handle(name, std::move(h), flush);
    impl.release_slot();
  }

  // Closes the handle and deletes the files; "" or what failed.
  std::string delete_files() {
    close(false);
    return remove_db_files(impl.db_path(name));
  }

  // Runs `body`; an SQLite failure becomes the one-line error of the
  // contract. Afterwards the handle is closed (the next operation starts
  // from a fresh connection), and a damaged file is deleted.
  template <typename F>
  std::string guarded(const char* op, F&& body) {
    std::string msg;
    bool damaged = false;
    try {
      body();
      return {};
    } catch (const SqlError& e) {
      msg = "cache: " + name + ": " + op + ": " + e.what();
      damaged = is_damage(e.code);
    } catch (const std::exception& e) {  // bad_alloc for a huge body, a full thread table
      msg = "cache: " + name + ": " + op + ": " + e.what();
    }
    WFP_LOG(warn, "%s", msg.c_str());
    if (damaged) {
      WFP_LOG(warn, "cache: %s: %s is damaged: deleting it", name.c_str(),
              impl.db_path(name).c_str());
      delete_files();
    } else {
      close(false);
    }
    return msg;
  }
};

}  // namespace

// --- threads and the loop ----------------------------------------------------

void CacheStore::Impl::start() {
  wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) throw std::runtime_error(std::string("cache: eventfd: ") + strerror(errno));
  wake_ev = event_new(base, wake_fd, EV_READ | EV_PERSIST, on_wake, this);
  if (!wake_ev || event_add(wake_ev, nullptr) != 0)
    throw std::runtime_error("cache: event_new/event_add failed");
  // A thread holds at most one handle in use; with no more threads than
  // slots, a full pool always has an idle handle to close (reserve_slot).
  int n = static_cast<int>(std::clamp<int64_t>(opt.threads, 1, static_cast<int64_t>(max_open)));
  for (int i = 0; i < n; i++) workers.emplace_back([this] { worker(); });
}

CacheStore::Impl::~Impl() {
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  ready_cv.notify_all();
  for (auto& w : workers) w.join();  // each finishes the job in progress
  *alive = false;
  if (wake_ev) event_free(wake_ev);
  if (wake_fd >= 0) close(wake_fd);
  // Jobs not started and results not delivered are dropped with their
  // callbacks, here on the caller's (the loop's) thread.
  done.clear();
  for (auto& [name, t] : tenants) {
    t.jobs.clear();
    if (t.handle) close_handle(name, std::move(t.handle), true);
  }
}

void CacheStore::Impl::worker() {
  std::unique_lock lk(mu);
  for (;;) {
    ready_cv.wait(lk, [&] { return stopping || !ready.empty(); });
    if (stopping) return;
    std::string name = std::move(ready.front());
    ready.pop_front();
    Tenant& t = tenants.at(name);  // a queued tenant is never forgotten
    t.queued = false;
    if (t.running) continue;  // its handle is being closed; settle() queues it again
    if (t.jobs.empty()) {
      settle(name, t);
      continue;
    }
    t.running = true;
    Job job = std::move(t.jobs.front());
    t.jobs.pop_front();
    if (t.handle) lru.splice(lru.begin(), lru, t.lru_pos);
    lk.unlock();

    std::function<void()> result;
    {
      Session s{*this, name, t};
      try {
        result = job(s);
      } catch (const std::exception& e) {  // jobs catch their own; this is a bug
        WFP_LOG(error, "cache: %s: job failed: %s", name.c_str(), e.what());
      }
      job = nullptr;
    }

    lk.lock();
    t.running = false;
    settle(name, t);
    if (result) {
      bool was_empty = done.empty();
      done.push_back(std::move(result));
      if (was_empty) wake();
    }
  }
}

void CacheStore::Impl::settle(const std::string& name, Tenant& t) {
  if (!t.jobs.empty()) {
    if (!t.queued) {
      t.queued = true;
      ready.push_back(name);
      ready_cv.notify_one();
    }
  } else if (!t.handle && !t.queued && !t.running) {
    tenants.erase(name);
  }
}

void CacheStore::Impl::submit(const std::string& tenant, Job job) {
  std::lock_guard lk(mu);
  Tenant& t = tenants[tenant];
  t.jobs.push_back(std::move(job));
  if (!t.running) settle(tenant, t);
}

void CacheStore::Impl::post(std::function<void()> fn) {
  std::lock_guard lk(mu);
  bool was_empty = done.empty();
  done.push_back(std::move(fn));
  if (was_empty) wake();
}

// Called with mu held, by whoever made `done` non-empty. The loop reads
// the eventfd before taking `done`, so no result is ever left unannounced.
void CacheStore::Impl::wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd, &one, sizeof one);
  (void)n;  // EAGAIN: the counter is already non-zero, the loop will wake
}

void CacheStore::Impl::on_wake(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<Impl*>(arg);
  uint64_t n;
  ssize_t r = read(fd, &n, sizeof n);
  (void)r;
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lk(self->mu);
    batch.swap(self->done);
  }
  std::shared_ptr<bool> alive = self->alive;
  for (auto& fn : batch) {
    // libevent called us: nothing may escape.
    try {
      fn();
    } catch (const std::exception& e) {
      WFP_LOG(error, "cache: a callback threw: %s", e.what());
    } catch (...) {
      WFP_LOG(error, "cache: a callback threw");
    }
    if (!*alive) return;  // a callback destroyed the store; the rest are dropped
  }
}

// --- the pool ----------------------------------------------------------------

void CacheStore::Impl::reserve_slot() {
  std::unique_lock lk(mu);
  if (open_count < max_open) {
    open_count++;
    return;
  }
  for (auto it = lru.rbegin(); it != lru.rend(); ++it) {
    Tenant& v = tenants.at(*it);
    if (v.running) continue;
    // The victim is marked running while its handle closes outside the
    // lock, so no job of its own starts meanwhile; its slot becomes ours.
    std::string victim = *it;
    v.running = true;
    std::unique_ptr<Handle> h = std::move(v.handle);
    lru.erase(v.lru_pos);
    lk.unlock();
    close_handle(victim, std::move(h), true);
    lk.lock();
    Tenant& v2 = tenants.at(victim);
    v2.running = false;
    settle(victim, v2);
    return;
  }
  // Unreachable while threads <= max_open (start()): every other thread
  // holds at most one slot. Going over beats deadlocking.
  WFP_LOG(error, "cache: pool of %zu handles full with none idle", max_open);
  open_count++;
}

void CacheStore::Impl::release_slot() {
  std::lock_guard lk(mu);
  open_count--;
}

void CacheStore::Impl::close_handle(const std::string& tenant, std::unique_ptr<Handle> h,
                                    bool flush) {
  if (flush && (h->pending_hits || h->pending_misses)) {
    try {
      WriteTxn txn(*h);
      txn.commit();
    } catch (const SqlError& e) {  // best effort: counts may be lost, entries are not
      WFP_LOG(warn, "cache: %s: saving hit counts: %s", tenant.c_str(), e.what());
    }
  }
  h.reset();
}

// --- opening a file ----------------------------------------------------------

namespace {

// Settings of every connection, then the schema of a new file. Throws
// SqlError; "" or why the file is unusable (not damage SQLite reports).
std::string configure(Handle& h, bool check) {
  sqlite3_extended_result_codes(h.db, 1);
  sqlite3_busy_timeout(h.db, kBusyTimeoutMs);
  // The first read of the header: a file that is no database fails here.
  int64_t version = query_int(h, "PRAGMA user_version");
  bool fresh = version == 0 && query_int(h, "SELECT count(*) FROM sqlite_master") == 0;
  // Only possible before the first table: lets reclaim give space back.
  if (fresh) exec(h.db, "PRAGMA auto_vacuum = INCREMENTAL");
  {
    Stmt st(h, "PRAGMA journal_mode = WAL");
    if (!st.step() || st.view(0) != "wal") return "cannot switch to WAL";
  }
  // NORMAL: a crash (power loss) may lose the last commits, never corrupt
  // the file; a lost cache entry is a miss. It saves an fsync per write.
  exec(h.db, "PRAGMA synchronous = NORMAL");
  exec(h.db, ("PRAGMA journal_size_limit = " + std::to_string(kWalLimitBytes)).c_str());
  exec(h.db, ("PRAGMA cache_size = -" + std::to_string(kPageCacheKiB)).c_str());
  if (check && !fresh) {
    Stmt st(h, "PRAGMA quick_check(1)");
    std::string result = st.step() ? std::string(st.view(0)) : "no answer";
    if (result != "ok") return "quick_check: " + result;
  }
  if (fresh) {
    exec(h.db, "BEGIN IMMEDIATE");
    int rc = sqlite3_exec(h.db, kSchemaSql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(h.db);
      sqlite3_exec(h.db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw SqlError(rc, msg);
    }
    exec(h.db, "COMMIT");
  } else if (version != kSchemaVersion) {
    return "unknown schema version " + std::to_string(version);
  }
  return {};
}

}  // namespace

std::unique_ptr<Handle> CacheStore::Impl::open_file(const std::string& tenant, bool create) {
  std::string path = db_path(tenant);
  bool check;
  {
    std::lock_guard lk(mu);
    check = !checked.count(tenant);
  }
  for (int attempt = 0;; attempt++) {
    if (create) {
      // Made here rather than by SQLite, to be 0600 whatever the umask;
      // -wal and -shm take their mode from it.
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0) {
        int err = errno;
        log_syscall_failure("cache", ("open(" + path + ", O_CREAT)").c_str(), err);
        throw SqlError(SQLITE_CANTOPEN, std::string("open: ") + strerror(err));
      }
      close(fd);
    } else if (!file_exists(path)) {
      return nullptr;
    }
    auto h = std::make_unique<Handle>();
    // NOMUTEX: one thread at a time uses a handle (the tenant's runner).
    int rc =
        sqlite3_open_v2(path.c_str(), &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::string broken;
    if (rc != SQLITE_OK) {
      if (!is_damage(rc)) throw_sql(h->db, rc);
      broken = sqlite3_errstr(rc);
    } else {
      try {
        broken = configure(*h, check);
      } catch (const SqlError& e) {
        if (!is_damage(e.code) || attempt > 0) throw;
        broken = e.what();
      }
    }
    if (broken.empty()) {
      std::lock_guard lk(mu);
      checked.insert(tenant);
      return h;
    }
    h.reset();
    WFP_LOG(warn, "cache: %s: %s is unusable (%s): deleting it", tenant.c_str(), path.c_str(),
            broken.c_str());
    std::string err = remove_db_files(path);
    if (!err.empty()) throw SqlError(SQLITE_IOERR, err);
    if (!create) return nullptr;
    if (attempt > 0) throw SqlError(SQLITE_CANTOPEN, "a new file is unusable too: " + broken);
    check = false;  // a new file needs no check
  }
}

// --- the operations, on a worker ---------------------------------------------

namespace {

const char kSelectEntry[] =
    "SELECT status, stored_at, expires_at, last_used, checksum, headers, body "
    "FROM entries WHERE key = ?1 AND cache = ?2";
const char kDeleteEntry[] = "DELETE FROM entries WHERE key = ?1 AND cache = ?2";
const char kInsertEntry[] =
    "INSERT INTO entries (cache, key, status, stored_at, expires_at, last_used, size, checksum, "
    "headers, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const char kTotalBytes[] = "SELECT bytes FROM stats WHERE id = 1";
const char kOldestEntries[] =
    "SELECT rowid, size FROM entries WHERE rowid != ?1 "
    "ORDER BY last_used, stored_at, rowid LIMIT 64";
const char kDeleteRowid[] = "DELETE FROM entries WHERE rowid = ?1";
const char kTouchEntry[] = "UPDATE entries SET last_used = ?3 WHERE key = ?1 AND cache = ?2";
const char kDeleteKey[] = "DELETE FROM entries WHERE key = ?1";
const char kDeleteExpired[] = "DELETE FROM entries WHERE expires_at <= ?1";
const char kReadStats[] = "SELECT entries, bytes, hits, misses FROM stats WHERE id = 1";
const char kCountEntries[] = "SELECT entries FROM stats WHERE id = 1";

void delete_entry(Handle& h, const std::string& cache, const std::string& key) {
  WriteTxn txn(h);
  Stmt(h, kDeleteEntry).bind(1, key).bind(2, cache).run();
  txn.commit();
}

bool do_put(Session& s, const std::string& cache, const std::string& key, const CacheEntry& e,
            int64_t now) {
  const CacheStoreOptions& opt = s.impl.opt;
  std::string headers = WireWriter().pairs(e.headers).take();
  int64_t size = static_cast<int64_t>(cache.size() + key.size() + headers.size() + e.body.size());
  // Larger than the whole quota, or never servable: not stored, and the
  // entry it would have replaced stays.
  if (size > opt.tenant_quota_bytes || e.expires_at <= now) return false;
  int64_t stored_at = e.stored_at ? e.stored_at : now;
  Handle* h = s.handle(true);
  WriteTxn txn(*h);
  Stmt(*h, kDeleteEntry).bind(1, key).bind(2, cache).run();
  Stmt(*h, kInsertEntry)
      .bind(1, cache)
      .bind(2, key)
      .bind(3, e.status)
      .bind(4, stored_at)
      .bind(5, e.expires_at)
      .bind(6, now)
      .bind(7, size)
      .bind(8, row_checksum(cache, key, e.status, stored_at, e.expires_at, headers, e.body))
      .bind_blob(9, headers)
      .bind_blob(10, e.body)
      .run();
  int64_t inserted = sqlite3_last_insert_rowid(h->db);
  // Past the quota: the least recently used go first (never the new one,
  // which alone fits).
  int64_t total = query_int(*h, kTotalBytes);
  while (total > opt.tenant_quota_bytes) {
    std::vector<std::pair<int64_t, int64_t>> batch;
    {
      Stmt st(*h, kOldestEntries);
      st.bind(1, inserted);
      while (st.step()) batch.emplace_back(st.i64(0), st.i64(1));
    }
    if (batch.empty()) break;
    for (auto& [rowid, bytes] : batch) {
      if (total <= opt.tenant_quota_bytes) break;
      Stmt(*h, kDeleteRowid).bind(1, rowid).run();
      total -= bytes;
    }
  }
  txn.commit();
  return true;
}

std::optional<CacheEntry> do_match(Session& s, const std::string& cache, const std::string& key,
                                   int64_t now) {
  Handle* h = s.handle(false);
  if (!h) return std::nullopt;  // no file: nothing to count in
  CacheEntry e;
  int64_t last_used = 0;
  bool found = false, damaged = false;
  {
    Stmt st(*h, kSelectEntry);
    st.bind(1, key).bind(2, cache);
    if (st.step()) {
      found = true;
      e.status = static_cast<int>(st.i64(0));
      e.stored_at = st.i64(1);
      e.expires_at = st.i64(2);
      last_used = st.i64(3);
      int64_t checksum = st.i64(4);
      std::string_view headers = st.view(5);
      if (now < e.expires_at) {
        std::string_view body = st.view(6);
        if (row_checksum(cache, key, st.i64(0), e.stored_at, e.expires_at, headers, body) !=
            checksum) {
          damaged = true;
        } else {
          WireReader r(headers);
          e.headers = r.pairs(kMaxStoredHeaders, kMaxStoredHeaderBytes);
          damaged = !r.done();
          if (!damaged) e.body.assign(body);
        }
      }
    }
  }
  if (!found) {
    h->pending_misses++;
  } else if (damaged || now >= e.expires_at) {
    if (damaged)
      WFP_LOG(warn, "cache: %s: entry \"%s\" in cache \"%s\" fails its checksum: deleted",
              s.name.c_str(), shown(key).c_str(), shown(cache).c_str());
    h->pending_misses++;
    delete_entry(*h, cache, key);
    return std::nullopt;
  } else {
    h->pending_hits++;
    if (now - last_used >= kTouchSeconds || now < last_used) {
      WriteTxn txn(*h);
      Stmt(*h, kTouchEntry).bind(1, key).bind(2, cache).bind(3, now).run();
      txn.commit();
    }
  }
  if (h->pending_hits + h->pending_misses >= kMaxPendingCounts) WriteTxn(*h).commit();
  if (!found) return std::nullopt;
  return e;
}

bool do_remove(Session& s, const std::string& cache, const std::string& key) {
  Handle* h = s.handle(false);
  if (!h) return false;
  WriteTxn txn(*h);
  Stmt(*h, kDeleteEntry).bind(1, key).bind(2, cache).run();
  bool deleted = sqlite3_changes(h->db) > 0;
  txn.commit();
  return deleted;
}

int64_t do_purge_key(Session& s, const std::string& key) {
  Handle* h = s.handle(false);
  if (!h) return 0;
  WriteTxn txn(*h);
  Stmt(*h, kDeleteKey).bind(1, key).run();
  int64_t removed = sqlite3_changes64(h->db);
  txn.commit();
  return removed;
}

// The whole tenant: its files go, whatever state they are in; the count
// is best effort (a file that cannot be read counts as empty).
int64_t do_purge_all(Session& s, std::string& error) {
  int64_t removed = 0;
  try {
    if (Handle* h = s.handle(false)) removed = query_int(*h, kCountEntries);
  } catch (const std::exception& e) {
    WFP_LOG(warn, "cache: %s: purge: counting entries: %s", s.name.c_str(), e.what());
  }
  std::string err = s.delete_files();
  if (!err.empty()) error = "cache: " + s.name + ": purge: " + err;
  return removed;
}

CacheStats do_stats(Session& s) {
  CacheStats out;
  Handle* h = s.handle(false);
  if (!h) return out;
  Stmt st(*h, kReadStats);
  if (st.step()) out = {st.i64(0), st.i64(1), st.i64(2), st.i64(3)};
  out.hits += h->pending_hits;
  out.misses += h->pending_misses;
  return out;
}

void do_reclaim(Session& s, int64_t now) {
  bool was_open = s.is_open();
  Handle* h = s.handle(false);
  if (!h) return;
  WriteTxn txn(*h);
  Stmt(*h, kDeleteExpired).bind(1, now).run();
  int64_t removed = sqlite3_changes64(h->db);
  txn.commit();
  // Freed pages go back to the file system (auto_vacuum = INCREMENTAL).
  if (removed > 0) exec(h->db, "PRAGMA incremental_vacuum");
  // A file opened only for this gives its slot back at once, so reclaim
  // pushes at most one warm handle out of the pool.
  if (!was_open) s.close(true);
}

}  // namespace

// Picks the next kReclaimFilesPerCall tenant files after the cursor (in
// name order, wrapping around) and queues a reclaim job for each. Reads
// the whole directory but keeps only that many names.
void CacheStore::Impl::scan_for_reclaim(int64_t now) {
  using Heap = std::priority_queue<std::string>;  // largest on top: pop to keep the smallest
  Heap after, before;
  if (DIR* d = opendir(opt.dir.c_str())) {
    while (dirent* ent = readdir(d)) {
      std::optional<std::string> tenant = tenant_of_file(ent->d_name);
      if (!tenant) continue;
      Heap& heap = *tenant > reclaim_cursor ? after : before;
      heap.push(std::move(*tenant));
      if (heap.size() > kReclaimFilesPerCall) heap.pop();
    }
    closedir(d);
  } else {
    log_syscall_failure("cache: reclaim", ("opendir(" + opt.dir + ")").c_str(), errno);
  }
  auto sorted = [](Heap& h) {
    std::vector<std::string> v;
    for (; !h.empty(); h.pop()) v.push_back(h.top());
    std::reverse(v.begin(), v.end());
    return v;
  };
  std::vector<std::string> chosen = sorted(after);
  for (auto& t : sorted(before))
    if (chosen.size() < kReclaimFilesPerCall) chosen.push_back(std::move(t));
  if (!chosen.empty()) reclaim_cursor = chosen.back();
  for (const std::string& tenant : chosen) {
    submit(tenant, [now](Session& s) -> std::function<void()> {
      s.guarded("reclaim", [&] { do_reclaim(s, now); });
      return nullptr;
    });
  }
  std::lock_guard lk(mu);
  scanning = false;
}

// --- the interface -------------------------------------------------------------

CacheStore::CacheStore(event_base* base, CacheStoreOptions options)
    : impl_(std::make_unique<Impl>(base, std::move(options))) {
  const std::string& dir = impl_->opt.dir;
  if (dir.empty()) throw std::runtime_error("cache: no directory");
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);  // mkdir reports
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("cache: mkdir(" + dir + ") failed: " + strerror(errno));
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("cache: " + dir + " is not a directory");
  impl_->start();
}

CacheStore::~CacheStore() = default;

namespace {
std::string invalid_tenant(const std::string& tenant) {
  return "cache: " + shown(tenant) + ": invalid tenant key";
}
}  // namespace

void CacheStore::put(const std::string& tenant, const std::string& cache, const std::string& key,
                     CacheEntry entry, std::function<void(bool stored, std::string error)> done) {
  if (!valid_tenant(tenant))
    return impl_->post(
        [done = std::move(done), err = invalid_tenant(tenant)] { done(false, err); });
  // Too large: not stored, but answered in turn with the tenant's other
  // operations, so that a tenant's callbacks keep the order of its calls.
  bool too_large = static_cast<int64_t>(entry.body.size()) > impl_->opt.max_entry_bytes;
  if (too_large) entry = CacheEntry();
  int64_t now = impl_->opt.now();
  impl_->submit(tenant,
                [cache, key, entry = std::move(entry), now, too_large,
                 done = std::move(done)](Session& s) mutable -> std::function<void()> {
                  bool stored = false;
                  std::string err;
                  if (!too_large)
                    err = s.guarded("put", [&] { stored = do_put(s, cache, key, entry, now); });
                  entry = CacheEntry();  // the body is freed here, not on the loop
                  return
                      [done = std::move(done), stored, err = std::move(err)] { done(stored, err); };
                });
}

void CacheStore::match(const std::string& tenant, const std::string& cache, const std::string& key,
                       std::function<void(std::optional<CacheEntry>, std::string error)> done) {
  if (!valid_tenant(tenant))
    return impl_->post(
        [done = std::move(done), err = invalid_tenant(tenant)] { done(std::nullopt, err); });
  int64_t now = impl_->opt.now();
  impl_->submit(
      tenant,
      [cache, key, now, done = std::move(done)](Session& s) mutable -> std::function<void()> {
        std::optional<CacheEntry> found;
        std::string err = s.guarded("match", [&] { found = do_match(s, cache, key, now); });
        return [done = std::move(done), found = std::move(found), err = std::move(err)]() mutable {
          done(std::move(found), err);
        };
      });
}

void CacheStore::remove(const std::string& tenant, const std::string& cache, const std::string& key,
                        std::function<void(bool deleted, std::string error)> done) {
  if (!valid_tenant(tenant))
    return impl_->post(
        [done = std::move(done), err = invalid_tenant(tenant)] { done(false, err); });
  impl_->submit(
      tenant, [cache, key, done = std::move(done)](Session& s) mutable -> std::function<void()> {
        bool deleted = false;
        std::string err = s.guarded("remove", [&] { deleted = do_remove(s, cache, key); });
        return [done = std::move(done), deleted, err = std::move(err)] { done(deleted, err); };
      });
}

void CacheStore::purge(const std::string& tenant, const std::string& key,
                       std::function<void(int64_t removed, std::string error)> done) {
  if (!valid_tenant(tenant))
    return impl_->post([done = std::move(done), err = invalid_tenant(tenant)] { done(0, err); });
  impl_->submit(tenant, [key, done = std::move(done)](Session& s) mutable -> std::function<void()> {
    int64_t removed = 0;
    std::string err;
    if (key.empty())
      removed = do_purge_all(s, err);
    else
      err = s.guarded("purge", [&] { removed = do_purge_key(s, key); });
    return [done = std::move(done), removed, err = std::move(err)] { done(removed, err); };
  });
}

void CacheStore::stats(const std::string& tenant,
                       std::function<void(CacheStats, std::string error)> done) {
  if (!valid_tenant(tenant))
    return impl_->post(
        [done = std::move(done), err = invalid_tenant(tenant)] { done(CacheStats(), err); });
  impl_->submit(tenant, [done = std::move(done)](Session& s) mutable -> std::function<void()> {
    CacheStats out;
    std::string err = s.guarded("stats", [&] { out = do_stats(s); });
    return [done = std::move(done), out, err = std::move(err)] { done(out, err); };
  });
}

std::vector<std::string> CacheStore::owners() const {
  std::vector<std::string> out;
  DIR* d = opendir(impl_->opt.dir.c_str());
  if (!d) {
    log_syscall_failure("cache: owners", ("opendir(" + impl_->opt.dir + ")").c_str(), errno);
    return out;
  }
  while (dirent* ent = readdir(d))
    if (auto tenant = tenant_of_file(ent->d_name)) out.push_back(std::move(*tenant));
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void CacheStore::reclaim_expired() {
  int64_t now = impl_->opt.now();
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->scanning) return;  // the previous call's scan is still queued
    impl_->scanning = true;
  }
  impl_->submit(kScanQueue, [now](Session& s) -> std::function<void()> {
    s.impl.scan_for_reclaim(now);
    return nullptr;
  });
}

}  // namespace wfp
