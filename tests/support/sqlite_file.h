// The store's file seen from outside the store: a plain SQLite connection
// to look at it or tamper with it behind the store's back, a bit flip in
// the raw bytes, and SQLite's own verdict on the file.
#pragma once
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace wfp::test {

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path);
    }
  }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // The first column of the first row, as text ("" for none or NULL).
  std::string scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite3_errmsg(db_));
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(msg);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

// PRAGMA integrity_check's first line: "ok" for a sound file.
inline std::string integrity_check(const std::string& path) {
  return RawDb(path).scalar("PRAGMA integrity_check");
}

// Flips the lowest bit of the first byte of every copy of `marker` in the
// file (every copy, so that a stale one on a free page cannot take the
// flip instead of the live row). Returns how many it flipped.
inline int flip_bit_at_marker(const std::string& path, const std::string& marker) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int n = 0;
  for (size_t at = bytes.find(marker); at != std::string::npos; at = bytes.find(marker, at + 1)) {
    bytes[at] ^= 1;
    n++;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return n;
}

}  // namespace wfp::test
