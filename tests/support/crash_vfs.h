// Test support, linked into the test binaries only: an SQLite VFS shim over
// the default ("unix") VFS that models what a power loss leaves on disk
// (SQLite's own test6.c model) and injects I/O faults. Runs in the test
// process; trusts SQLite, which is what it tests the use of.
//
// The model. For every file (by path), the shim keeps the writes made since
// that file's last xSync, each with its before-image read from the file
// just before the write went through; an xTruncate is kept the same way,
// with the tail it cut. simulated_crash() decides the fate of every such
// unsynced change at random, newest first: kept (it reached the platter),
// dropped (the before-image goes back; a dropped append becomes a hole of
// zeros, or is cut off when nothing kept lies beyond it) or garbled (random
// bytes where it was written: a torn sector). Bytes outside a write's range
// are never touched, which is the "powersafe overwrite" SQLite assumes of
// Linux. Synced data always survives. Directory entries (creates, deletes)
// are not modelled: they behave as if synced at once.
//
// After the crash every handle opened through the shim is dead: every call
// fails (so SQLite writes nothing more) until it is closed, and no file can
// be opened through it any more. The machine "reboots" when the test
// closes the store and reopens the files with the ordinary VFS, which runs
// SQLite's recovery exactly as after a real power loss (the -shm file is
// rebuilt from the -wal by the first connection).
//
// xSync only records that the file is now durable: the model is the disk,
// so the real fsync would cost time and prove nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

struct sqlite3_vfs;

namespace wfp::test {

class CrashVfs {
 public:
  // Registers the shim as SQLite's default VFS (so a Store, which opens
  // with the default, goes through it); the destructor puts the previous
  // default back. It must outlive every handle opened through it.
  CrashVfs();
  ~CrashVfs();
  CrashVfs(const CrashVfs&) = delete;
  CrashVfs& operator=(const CrashVfs&) = delete;

  // The power loss: every unsynced change is kept, dropped or garbled,
  // chosen by a generator seeded with `seed`; then every handle is dead.
  void simulated_crash(uint64_t seed);
  bool crashed() const;

  // Operations that change a file (xWrite, xTruncate, xSync), counted from
  // construction.
  int operations() const;
  // The crash happens just before the `n`th changing operation from now
  // (1 = the next), which then fails like every later call: a crash can
  // land between any two writes of a commit or a checkpoint.
  void crash_before_operation(int n, uint64_t seed);
  // What the last changing operation was, e.g. "xSync store.db-wal", for
  // a failure's message.
  std::string last_operation() const;

  // Fault injection: the `n`th xWrite (or xSync) from now fails with
  // `code` (SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_FULL, ...)
  // without doing anything; with `persistent` every later one fails too,
  // until clear_faults(). Nothing crashes: the handles stay alive.
  enum class Op { write, sync };
  void fail_nth(Op op, int n, int code, bool persistent);
  void clear_faults();
  int faults_injected() const;  // how many calls have failed so far

  // What the last crash did to the unsynced changes.
  struct CrashStats {
    int kept = 0, dropped = 0, garbled = 0;
  };
  CrashStats last_crash() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wfp::test
