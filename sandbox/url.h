// The WHATWG URL Standard in C++: the basic URL parser, the serializer,
// the URL API's getters and setters, origins, and application/x-www-form-urlencoded.
// Runs in every sandbox heap (through url_natives.cc); all input is hostile.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wfp::url {

// A URL's path segments, kept as their serialization ("/a/b") plus where
// each segment starts: five bytes per segment, so a hostile "/a/a/a/…" costs
// little more than its own length.
class PathSegments {
 public:
  size_t size() const { return starts_.size(); }
  bool empty() const { return starts_.empty(); }
  std::string_view operator[](size_t i) const {
    size_t begin = starts_[i] + 1;
    size_t end = i + 1 < starts_.size() ? starts_[i + 1] : joined_.size();
    return std::string_view(joined_).substr(begin, end - begin);
  }
  void push_back(std::string_view segment) {
    starts_.push_back((uint32_t)joined_.size());
    joined_ += '/';
    joined_ += segment;
  }
  void pop_back() {
    joined_.resize(starts_.back());
    starts_.pop_back();
  }
  void clear() {
    joined_.clear();
    starts_.clear();
  }
  const std::string& serialized() const { return joined_; }

 private:
  std::string joined_;
  std::vector<uint32_t> starts_;
};

// A parsed URL, as the standard's URL record. Every string member is
// already percent-encoded ASCII; `host` holds the serialized host ("" is the
// empty host, nullopt the null host).
struct Url {
  std::string scheme;  // lower case, without the ':'
  std::string username;
  std::string password;
  std::optional<std::string> host;
  int32_t port = -1;    // -1: null
  bool opaque = false;  // "cannot be a base": the path is `opaque_path`
  std::string opaque_path;
  PathSegments path;
  std::optional<std::string> query;
  std::optional<std::string> fragment;
};

// Inputs longer than this are refused by parse() and set() (8 MiB).
constexpr size_t kMaxInput = 8u << 20;

// The basic URL parser. `input` is UTF-8 (invalid sequences are read as
// U+FFFD); nullopt is the standard's failure.
std::optional<Url> parse(std::string_view input, const Url* base = nullptr);

// The URL serializer and the URL API's getters.
std::string href(const Url& u);
// The serialization and where each getter's value lies in it (an empty
// search or hash is an empty span): the natives push substrings of one string.
struct Span {
  size_t begin = 0, size = 0;
};
struct HrefParts {
  std::string href;
  Span protocol, username, password, hostname, port, pathname, search, hash;
};
HrefParts href_parts(const Url& u);
std::string origin(const Url& u);  // "null" for an opaque origin
std::string protocol(const Url& u);
std::string host(const Url& u);
std::string hostname(const Url& u);
std::string port(const Url& u);
std::string pathname(const Url& u);
std::string search(const Url& u);
std::string hash(const Url& u);

// The URL API's setters (not href: that is parse()). As the standard's
// setters do, an unacceptable value leaves the URL unchanged, or partly
// changed where the standard says so. Returns false for an unknown setter.
enum class Setter { protocol, username, password, host, hostname, port, pathname, search, hash };
std::optional<Setter> setter_named(std::string_view name);
bool set(Url& u, Setter which, std::string_view value);

// The host parser's "domain to ASCII" (UTS #46 through libidn2, see url.cc),
// followed by the forbidden domain code point check: the ASCII host, or
// nullopt for failure. Exposed for the toascii tests.
std::optional<std::string> domain_to_ascii(std::string_view domain_utf8);

// application/x-www-form-urlencoded parser and serializer. Names and values
// are UTF-8; the parser's output is valid UTF-8.
using FormList = std::vector<std::pair<std::string, std::string>>;
FormList form_parse(std::string_view input);
std::string form_serialize(const FormList& list);
// One name or value, percent-encoded as the serializer does (space as '+').
void form_encode(std::string_view in, std::string& out);

// Replaces every invalid UTF-8 sequence with U+FFFD (the Encoding Standard's
// UTF-8 decoder), so later steps may assume valid UTF-8.
std::string to_valid_utf8(std::string_view in);

}  // namespace wfp::url
