// The crash-and-fault VFS shim of crash_vfs.h: every file method forwards
// to the "unix" VFS's own file, after the bookkeeping of the power-loss
// model (before-images of unsynced changes) and the fault injection.
// Test process only.
#include "tests/support/crash_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

namespace wfp::test {
namespace {

constexpr int kMaxPath = 1024;

// One change of a file made since its last xSync.
struct Change {
  bool truncate = false;
  int64_t offset = 0;    // write: where it went; truncate: the new size
  int64_t length = 0;    // write: how many bytes
  std::string before;    // write: the bytes it overwrote; truncate: the tail it cut
  int64_t old_size = 0;  // the file's size just before
};

// What SQLite allocates for a file of ours: our state, then the real
// file's (szOsFile covers both). Plain data only: SQLite does not run
// constructors.
struct CrashFile {
  sqlite3_file base;
  CrashVfs::Impl* vfs;
  sqlite3_file* real;
  bool dead;            // opened before the crash: every call fails
  char path[kMaxPath];  // "" for temporary files, which no crash concerns
};

CrashFile* crash_file(sqlite3_file* f) { return reinterpret_cast<CrashFile*>(f); }

// Where the real file starts inside ours: aligned as malloc would.
constexpr size_t kRealOffset = (sizeof(CrashFile) + 15) / 16 * 16;

const char* base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

}  // namespace

struct CrashVfs::Impl {
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;
  sqlite3_vfs* previous_default = nullptr;
  sqlite3_io_methods methods{};

  std::mutex mu;
  std::map<std::string, std::vector<Change>> unsynced;  // by path
  std::set<CrashFile*> open;
  bool crashed = false;
  int operations = 0;
  int crash_at = 0;  // the operation number the crash comes before; 0: none
  uint64_t crash_seed = 0;
  std::string last_op;
  CrashStats stats;

  struct Fault {
    int calls = 0;  // xWrite (or xSync) calls so far
    int at = 0;     // the call that fails; 0: none
    int code = 0;
    bool persistent = false;
  } faults[2];
  int faults_injected = 0;

  // Called with mu held at the start of every changing operation: counts
  // it, and crashes first when its number has come. Non-zero: fail with it.
  int begin_operation(CrashFile* f, const char* what, int dead_code) {
    if (f->dead) return dead_code;
    operations++;
    last_op = std::string(what) + " " + base_name(f->path);
    if (crash_at && operations >= crash_at) {
      crash_locked(crash_seed);
      return dead_code;
    }
    return 0;
  }

  int injected(Op op) {
    Fault& fault = faults[static_cast<int>(op)];
    fault.calls++;
    if (!fault.at || fault.calls < fault.at || (fault.calls > fault.at && !fault.persistent))
      return 0;
    faults_injected++;
    return fault.code;
  }

  void crash_locked(uint64_t seed) {
    std::mt19937_64 rng(seed);
    stats = CrashStats{};
    for (auto& [path, changes] : unsynced) apply_crash(path, changes, rng);
    unsynced.clear();
    for (CrashFile* f : open) f->dead = true;
    crashed = true;
    crash_at = 0;
  }

  // Decides the fate of each unsynced change of one file, newest first, so
  // that dropping one restores what the file held before it.
  void apply_crash(const std::string& path, const std::vector<Change>& changes,
                   std::mt19937_64& rng) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return;  // deleted since: directory entries are not modelled
    auto size_now = [fd] {
      struct stat st;
      return fstat(fd, &st) == 0 ? int64_t{st.st_size} : int64_t{0};
    };
    auto put = [fd](const std::string& bytes, int64_t offset) {
      if (!bytes.empty() && pwrite(fd, bytes.data(), bytes.size(), offset) < 0)
        throw std::runtime_error("crash_vfs: pwrite failed");
    };
    auto cut = [fd](int64_t size) {
      if (ftruncate(fd, size) != 0) throw std::runtime_error("crash_vfs: ftruncate failed");
    };
    for (auto c = changes.rbegin(); c != changes.rend(); ++c) {
      int fate = static_cast<int>(rng() % 3);  // 0 kept, 1 dropped, 2 garbled
      if (fate == 0) {
        stats.kept++;
        continue;
      }
      if (c->truncate) {
        // A truncation that did not reach the disk: the tail is back.
        // (Garbling a tail nobody wrote makes no sense: dropped either way.)
        put(c->before, c->offset);
        stats.dropped++;
        continue;
      }
      // Never write past what the newer changes left: a kept truncation
      // after this write already cut it.
      int64_t end = std::min(c->offset + c->length, size_now());
      if (fate == 2) {
        std::string noise(std::max<int64_t>(0, end - c->offset), '\0');
        for (char& ch : noise) ch = static_cast<char>(rng());
        put(noise, c->offset);
        stats.garbled++;
        continue;
      }
      std::string restore = c->before.substr(0, std::max<int64_t>(0, end - c->offset));
      put(restore, c->offset);
      int64_t appended_from = std::max(c->offset, c->old_size);
      if (appended_from < end) {
        // The write made the file longer. If something kept lies beyond
        // it, the part it appended becomes a hole; else the file is as
        // long as it was before.
        if (size_now() > c->offset + c->length)
          put(std::string(end - appended_from, '\0'), appended_from);
        else
          cut(std::max(c->old_size, int64_t{0}));
      }
      stats.dropped++;
    }
    close(fd);
  }

  std::vector<Change>* changes_of(CrashFile* f) {
    return f->path[0] ? &unsynced[f->path] : nullptr;
  }
};

namespace {

CrashVfs::Impl* impl_of(sqlite3_vfs* v) { return static_cast<CrashVfs::Impl*>(v->pAppData); }

// --- file methods -------------------------------------------------------------

int x_close(sqlite3_file* f) {
  CrashFile* cf = crash_file(f);
  {
    std::lock_guard<std::mutex> lock(cf->vfs->mu);
    cf->vfs->open.erase(cf);
  }
  // Dead or not, the real file is closed: that is how the test "reboots".
  return cf->real->pMethods ? cf->real->pMethods->xClose(cf->real) : SQLITE_OK;
}

int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR_READ;
  return cf->real->pMethods->xRead(cf->real, buf, n, off);
}

int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  CrashFile* cf = crash_file(f);
  CrashVfs::Impl* v = cf->vfs;
  std::lock_guard<std::mutex> lock(v->mu);
  if (int rc = v->begin_operation(cf, "xWrite", SQLITE_IOERR_WRITE)) return rc;
  if (int rc = v->injected(CrashVfs::Op::write)) return rc;
  Change c;
  std::vector<Change>* changes = v->changes_of(cf);
  if (changes) {
    sqlite3_int64 size = 0;
    if (int rc = cf->real->pMethods->xFileSize(cf->real, &size)) return rc;
    c.offset = off;
    c.length = n;
    c.old_size = size;
    if (off < size) {
      c.before.resize(std::min<int64_t>(n, size - off));
      int rc = cf->real->pMethods->xRead(cf->real, c.before.data(),
                                         static_cast<int>(c.before.size()), off);
      if (rc != SQLITE_OK) return rc;
    }
  }
  int rc = cf->real->pMethods->xWrite(cf->real, buf, n, off);
  if (rc == SQLITE_OK && changes) changes->push_back(std::move(c));
  return rc;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  CrashFile* cf = crash_file(f);
  CrashVfs::Impl* v = cf->vfs;
  std::lock_guard<std::mutex> lock(v->mu);
  if (int rc = v->begin_operation(cf, "xTruncate", SQLITE_IOERR_TRUNCATE)) return rc;
  Change c;
  c.truncate = true;
  c.offset = size;
  std::vector<Change>* changes = v->changes_of(cf);
  if (changes) {
    sqlite3_int64 old = 0;
    if (int rc = cf->real->pMethods->xFileSize(cf->real, &old)) return rc;
    c.old_size = old;
    if (size < old) {
      c.before.resize(old - size);
      int rc = cf->real->pMethods->xRead(cf->real, c.before.data(),
                                         static_cast<int>(c.before.size()), size);
      if (rc != SQLITE_OK) return rc;
    }
  }
  int rc = cf->real->pMethods->xTruncate(cf->real, size);
  if (rc == SQLITE_OK && changes && !c.before.empty()) changes->push_back(std::move(c));
  return rc;
}

int x_sync(sqlite3_file* f, int) {
  CrashFile* cf = crash_file(f);
  CrashVfs::Impl* v = cf->vfs;
  std::lock_guard<std::mutex> lock(v->mu);
  if (int rc = v->begin_operation(cf, "xSync", SQLITE_IOERR_FSYNC)) return rc;
  if (int rc = v->injected(CrashVfs::Op::sync)) return rc;  // still unsynced
  // The model is the disk: the file is durable now (no real fsync).
  if (std::vector<Change>* changes = v->changes_of(cf)) changes->clear();
  return SQLITE_OK;
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR_FSTAT;
  return cf->real->pMethods->xFileSize(cf->real, size);
}

int x_lock(sqlite3_file* f, int level) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR_LOCK;
  return cf->real->pMethods->xLock(cf->real, level);
}

// Unlocking, unmapping and closing go through even when dead, so that the
// process's own lock and -shm bookkeeping (shared by every connection to
// the file) is clean for the reopen.
int x_unlock(sqlite3_file* f, int level) {
  CrashFile* cf = crash_file(f);
  return cf->real->pMethods->xUnlock(cf->real, level);
}

int x_check_reserved_lock(sqlite3_file* f, int* out) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR_CHECKRESERVEDLOCK;
  return cf->real->pMethods->xCheckReservedLock(cf->real, out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR;
  return cf->real->pMethods->xFileControl(cf->real, op, arg);
}

int x_sector_size(sqlite3_file* f) {
  CrashFile* cf = crash_file(f);
  return cf->real->pMethods->xSectorSize(cf->real);
}

int x_device_characteristics(sqlite3_file* f) {
  CrashFile* cf = crash_file(f);
  return cf->real->pMethods->xDeviceCharacteristics(cf->real);
}

int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  CrashFile* cf = crash_file(f);
  if (cf->dead) return SQLITE_IOERR_SHMMAP;
  return cf->real->pMethods->xShmMap(cf->real, region, size, extend, out);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  CrashFile* cf = crash_file(f);
  if (cf->dead && !(flags & SQLITE_SHM_UNLOCK)) return SQLITE_IOERR_SHMLOCK;
  return cf->real->pMethods->xShmLock(cf->real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f) {
  CrashFile* cf = crash_file(f);
  cf->real->pMethods->xShmBarrier(cf->real);
}

int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  CrashFile* cf = crash_file(f);
  return cf->real->pMethods->xShmUnmap(cf->real, cf->dead ? 0 : delete_flag);
}

// --- VFS methods --------------------------------------------------------------

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  CrashVfs::Impl* v = impl_of(vfs);
  CrashFile* cf = crash_file(f);
  cf->base.pMethods = nullptr;
  cf->vfs = v;
  cf->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(cf) + kRealOffset);
  cf->dead = false;
  cf->path[0] = '\0';
  {
    std::lock_guard<std::mutex> lock(v->mu);
    if (v->crashed) return SQLITE_CANTOPEN;  // the machine is down
  }
  if (name) {
    if (strlen(name) >= sizeof cf->path) return SQLITE_CANTOPEN;
    strcpy(cf->path, name);
  }
  int rc = v->real->xOpen(v->real, name, cf->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  cf->base.pMethods = &v->methods;
  std::lock_guard<std::mutex> lock(v->mu);
  v->open.insert(cf);
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  CrashVfs::Impl* v = impl_of(vfs);
  {
    std::lock_guard<std::mutex> lock(v->mu);
    if (v->crashed) return SQLITE_IOERR_DELETE;
    v->unsynced.erase(name);
  }
  return v->real->xDelete(v->real, name, sync_dir);
}

int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xAccess(real, name, flags, out);
}

int x_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xFullPathname(real, name, n, out);
}

void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xDlOpen(real, name);
}

void x_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  real->xDlError(real, n, out);
}

void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xDlSym(real, handle, sym);
}

void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  real->xDlClose(real, handle);
}

int x_randomness(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xRandomness(real, n, out);
}

int x_sleep(sqlite3_vfs* vfs, int us) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xSleep(real, us);
}

int x_current_time(sqlite3_vfs* vfs, double* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xCurrentTime(real, out);
}

int x_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xGetLastError ? real->xGetLastError(real, n, out) : 0;
}

int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* real = impl_of(vfs)->real;
  return real->xCurrentTimeInt64(real, out);
}

}  // namespace

CrashVfs::CrashVfs() : impl_(std::make_unique<Impl>()) {
  Impl& v = *impl_;
  v.real = sqlite3_vfs_find("unix");
  if (!v.real) throw std::runtime_error("crash_vfs: SQLite has no \"unix\" VFS");
  v.previous_default = sqlite3_vfs_find(nullptr);

  // Version 2: shared memory (WAL needs it) but no xFetch, so SQLite never
  // reads the database through a memory map that would bypass the model.
  v.methods.iVersion = 2;
  v.methods.xClose = x_close;
  v.methods.xRead = x_read;
  v.methods.xWrite = x_write;
  v.methods.xTruncate = x_truncate;
  v.methods.xSync = x_sync;
  v.methods.xFileSize = x_file_size;
  v.methods.xLock = x_lock;
  v.methods.xUnlock = x_unlock;
  v.methods.xCheckReservedLock = x_check_reserved_lock;
  v.methods.xFileControl = x_file_control;
  v.methods.xSectorSize = x_sector_size;
  v.methods.xDeviceCharacteristics = x_device_characteristics;
  v.methods.xShmMap = x_shm_map;
  v.methods.xShmLock = x_shm_lock;
  v.methods.xShmBarrier = x_shm_barrier;
  v.methods.xShmUnmap = x_shm_unmap;

  v.vfs.iVersion = 2;
  v.vfs.szOsFile = static_cast<int>(kRealOffset) + v.real->szOsFile;
  v.vfs.mxPathname = std::min(v.real->mxPathname, kMaxPath - 1);
  v.vfs.zName = "wfp-crash";
  v.vfs.pAppData = &v;
  v.vfs.xOpen = x_open;
  v.vfs.xDelete = x_delete;
  v.vfs.xAccess = x_access;
  v.vfs.xFullPathname = x_full_pathname;
  v.vfs.xDlOpen = x_dl_open;
  v.vfs.xDlError = x_dl_error;
  v.vfs.xDlSym = x_dl_sym;
  v.vfs.xDlClose = x_dl_close;
  v.vfs.xRandomness = x_randomness;
  v.vfs.xSleep = x_sleep;
  v.vfs.xCurrentTime = x_current_time;
  v.vfs.xGetLastError = x_get_last_error;
  v.vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&v.vfs, 1) != SQLITE_OK)
    throw std::runtime_error("crash_vfs: cannot register the VFS");
}

CrashVfs::~CrashVfs() {
  sqlite3_vfs_unregister(&impl_->vfs);
  if (impl_->previous_default) sqlite3_vfs_register(impl_->previous_default, 1);
}

void CrashVfs::simulated_crash(uint64_t seed) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->crash_locked(seed);
}

bool CrashVfs::crashed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->crashed;
}

int CrashVfs::operations() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->operations;
}

void CrashVfs::crash_before_operation(int n, uint64_t seed) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->crash_at = impl_->operations + std::max(n, 1);
  impl_->crash_seed = seed;
}

std::string CrashVfs::last_operation() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_op;
}

void CrashVfs::fail_nth(Op op, int n, int code, bool persistent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl::Fault& fault = impl_->faults[static_cast<int>(op)];
  fault.at = fault.calls + std::max(n, 1);
  fault.code = code;
  fault.persistent = persistent;
}

void CrashVfs::clear_faults() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (Impl::Fault& fault : impl_->faults) fault.at = 0;
}

int CrashVfs::faults_injected() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->faults_injected;
}

CrashVfs::CrashStats CrashVfs::last_crash() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

}  // namespace wfp::test
