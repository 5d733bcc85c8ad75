// Encoding of message payloads: little-endian integers and length-prefixed
// byte strings. Linked by every role. The Reader is bounds-checked on every
// read and latches failure, because payloads come from peers that may be
// hostile (a compromised sandbox); a failed read means "malformed frame".
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wfp {

// Header lists as they travel: (name, value) pairs in order.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

class WireWriter {
 public:
  WireWriter& u8(uint8_t v) { buf_.push_back((char)v); return *this; }
  WireWriter& u32(uint32_t v) { return raw(&v, 4); }
  WireWriter& u64(uint64_t v) { return raw(&v, 8); }
  WireWriter& i64(int64_t v) { return raw(&v, 8); }
  WireWriter& str(std::string_view s) { u32((uint32_t)s.size()); buf_.append(s); return *this; }
  WireWriter& pairs(const std::vector<std::pair<std::string, std::string>>& p) {
    u32((uint32_t)p.size());
    for (auto& [k, v] : p) str(k).str(v);
    return *this;
  }
  const std::string& data() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  WireWriter& raw(const void* p, size_t n) { buf_.append((const char*)p, n); return *this; }
  std::string buf_;
};

class WireReader {
 public:
  explicit WireReader(std::string_view data) : d_(data) {}
  uint8_t u8() { uint8_t v = 0; raw(&v, 1); return v; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  int64_t i64() { int64_t v = 0; raw(&v, 8); return v; }
  // A string of at most `max` bytes; longer is malformed.
  std::string str(size_t max = SIZE_MAX) {
    uint32_t n = u32();
    if (!ok_ || n > d_.size() - pos_ || n > max) { ok_ = false; return {}; }
    std::string s(d_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::vector<std::pair<std::string, std::string>> pairs(size_t max_count, size_t max_item) {
    std::vector<std::pair<std::string, std::string>> out;
    uint32_t n = u32();
    if (!ok_ || n > max_count) { ok_ = false; return out; }
    for (uint32_t i = 0; i < n && ok_; i++) {
      std::string k = str(max_item);
      std::string v = str(max_item);
      out.emplace_back(std::move(k), std::move(v));
    }
    return out;
  }
  // True when every read succeeded and nothing is left over.
  bool done() const { return ok_ && pos_ == d_.size(); }
  bool ok() const { return ok_; }

 private:
  void raw(void* p, size_t n) {
    if (!ok_ || n > d_.size() - pos_) { ok_ = false; return; }
    memcpy(p, d_.data() + pos_, n);
    pos_ += n;
  }
  std::string_view d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace wfp
