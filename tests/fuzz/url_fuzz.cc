// libFuzzer target: the WHATWG URL parser (sandbox/url.cc), which runs in
// every sandbox on tenant input. Input: [selector byte] then up to three
// strings separated by NUL: the URL, a base URL, and a value for a setter.
// Besides the sanitizers, it checks the standard's idempotence: a parsed
// URL's href parses again to the same href.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/url.h"

namespace {

std::vector<std::string_view> split_nul(std::string_view s, size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    size_t z = s.find('\0');
    if (z == std::string_view::npos) break;
    out.push_back(s.substr(0, z));
    s.remove_prefix(z + 1);
  }
  out.push_back(s);
  return out;
}

void getters(const wfp::url::Url& u) {
  using namespace wfp::url;
  HrefParts p = href_parts(u);
  if (p.href != href(u)) __builtin_trap();
  for (Span s : {p.protocol, p.username, p.password, p.hostname, p.port, p.pathname, p.search,
                 p.hash})
    if (s.begin > p.href.size() || s.size > p.href.size() - s.begin) __builtin_trap();
  origin(u), protocol(u), host(u), hostname(u), port(u), pathname(u), search(u), hash(u);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wfp::url;
  if (size == 0) return 0;
  uint8_t sel = data[0];
  std::vector<std::string_view> in =
      split_nul(std::string_view((const char*)data + 1, size - 1), 3);
  std::string_view input = in[0];

  // Forms and domains take any bytes; run them on the first string.
  if (sel & 0x80) {
    FormList list = form_parse(input);
    std::string s = form_serialize(list);
    if (form_serialize(form_parse(s)) != s) __builtin_trap();
    domain_to_ascii(input);
    to_valid_utf8(input);
    return 0;
  }

  std::optional<Url> base;
  if (in.size() > 1) base = parse(in[1]);
  std::optional<Url> u = parse(input, base ? &*base : nullptr);
  if (!u) return 0;
  getters(*u);
  std::string h = href(*u);
  std::optional<Url> again = parse(h);
  if (!again || href(*again) != h) __builtin_trap();

  if (in.size() > 2) {
    static const Setter kSetters[] = {Setter::protocol, Setter::username, Setter::password,
                                      Setter::host,     Setter::hostname, Setter::port,
                                      Setter::pathname, Setter::search,   Setter::hash};
    set(*u, kSetters[sel % 9], in[2]);
    getters(*u);
    // A URL a setter changed still serializes to something that parses.
    if (!parse(href(*u))) __builtin_trap();
  }
  return 0;
}
