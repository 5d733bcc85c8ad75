// The per-tenant cache store: each tenant's Cache API entries in a SQLite
// file of its own under DATA_DIR/cache/, separate from the script store,
// created on first use, reached through a bounded pool of open handles.
// Every SQLite call runs on worker threads, never on the libevent thread;
// results come back on the loop (the callback runs there).
//
// A "tenant" here is a cache owner key chosen by the caller: "s<script id>"
// for a user worker of an untrusted namespace, "n<namespace id>" for a
// trusted namespace, "platform" for platform workers. Within a tenant,
// entries are keyed by (cache name, URL key). A crash may lose entries but
// never corrupts a file or serves a wrong one (WAL, checksummed rows).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ipc/wire.h"

struct event_base;

namespace wfp {

struct CacheStoreOptions {
  std::string dir;                 // DATA_DIR/cache (created if missing)
  int64_t max_entry_bytes = 512 << 20;   // cache_max_entry_bytes: a larger body is not stored
  int64_t tenant_quota_bytes = 64 << 20; // cache_tenant_quota_mb: LRU eviction past it
  size_t max_open_files = 64;      // the bounded pool of open handles
  int threads = 2;                 // worker threads
  // The clock (Unix seconds): entries expire by it. Tests set their own.
  std::function<int64_t()> now;
};

struct CacheEntry {
  int status = 200;
  HeaderList headers;
  std::string body;
  int64_t stored_at = 0;   // Unix seconds
  int64_t expires_at = 0;  // Unix seconds; never served at or after it
};

struct CacheStats {
  int64_t entries = 0, bytes = 0, hits = 0, misses = 0;
};

class CacheStore {
 public:
  // Throws std::runtime_error when the directory can't be made.
  CacheStore(event_base* base, CacheStoreOptions options);
  ~CacheStore();  // waits for the threads; pending callbacks are dropped
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // Each callback runs later on the loop (never inside the call). `error`
  // is empty on success, else one line (an I/O error, a full disk).
  // put: replaces (tenant, cache, key); a body over max_entry_bytes is not
  // stored (ok, stored=false); past the quota, least recently used entries
  // of the tenant go first.
  void put(const std::string& tenant, const std::string& cache, const std::string& key, CacheEntry entry,
           std::function<void(bool stored, std::string error)> done);
  // match: a fresh entry, or nullopt (missing or expired: expired ones are
  // deleted). Counts a hit or a miss for the tenant and marks the entry used.
  void match(const std::string& tenant, const std::string& cache, const std::string& key,
             std::function<void(std::optional<CacheEntry>, std::string error)> done);
  void remove(const std::string& tenant, const std::string& cache, const std::string& key,
              std::function<void(bool deleted, std::string error)> done);
  // purge: every entry of `key` in every cache of the tenant (key empty:
  // the tenant's whole cache, its file deleted). Returns how many went.
  void purge(const std::string& tenant, const std::string& key,
             std::function<void(int64_t removed, std::string error)> done);
  void stats(const std::string& tenant, std::function<void(CacheStats, std::string error)> done);
  // Deletes expired entries, going through the tenant files of the
  // directory at most 16 a call, on from where the last call stopped (the
  // supervisor's tick calls it now and then); runs in the background.
  void reclaim_expired();
  // The owner keys that have a cache file now (a directory listing; runs
  // on the calling thread).
  std::vector<std::string> owners() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wfp
