// Where user workers' fetch() may connect: the CIDR parser of
// fetch_deny_networks / fetch_allow_networks and the check of one socket
// address against them. Runs in the supervisor; the lists come from the
// operator's configuration, the addresses from DNS answers that a tenant
// may control (its own domain's records), so every spelling of an address
// must reach the same verdict.
#include "supervisor/netpolicy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace wfp {

// Reasons beyond the obvious loopback/private/link-local ranges:
//  - 0.0.0.0/8 and ::/128: Linux connects "0.0.0.0" and "::" to the local host.
//  - 169.254.0.0/16: cloud metadata services (169.254.169.254).
//  - 64:ff9b::/96, 64:ff9b:1::/48: NAT64 prefixes (RFC 6052, RFC 8215);
//    the local-use one may translate to internal IPv4 addresses.
//  - 2002::/16: 6to4 (deprecated, RFC 7526) embeds an IPv4 address that a
//    host with a 6to4 tunnel would send to, loopback and private ones too.
//  - fec0::/10: site-local (deprecated, RFC 3879) but still routed by some
//    networks as if it were unique-local.
// IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) addresses need no
// entry: permits() checks them as the IPv4 address they carry.
const char* const kDefaultDenyNetworks =
    "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
    "192.0.0.0/24, 192.168.0.0/16, 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4, "
    "::/128, ::1/128, 64:ff9b::/96, 64:ff9b:1::/48, 2002::/16, fc00::/7, fe80::/10, "
    "fec0::/10, ff00::/8";

namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// An address reduced to the form the rules compare: IPv4 (4 bytes) or IPv6.
struct Canonical {
  bool v6 = false;
  uint8_t addr[16] = {};
};

bool is_mapped(const uint8_t* a16) { return std::memcmp(a16, kMappedPrefix, 12) == 0; }

// The deprecated IPv4-compatible form ::a.b.c.d (RFC 4291 §2.5.5.1); "::"
// and "::1" are the unspecified and loopback addresses, not IPv4 ones.
bool is_compatible(const uint8_t* a16) {
  static const uint8_t zeros[12] = {};
  if (std::memcmp(a16, zeros, 12) != 0) return false;
  uint32_t last = (uint32_t(a16[12]) << 24) | (uint32_t(a16[13]) << 16) |
                  (uint32_t(a16[14]) << 8) | uint32_t(a16[15]);
  return last > 1;
}

bool canonical(const sockaddr* sa, Canonical& out) {
  if (!sa) return false;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(out.addr, &in->sin_addr, 4);
    out.v6 = false;
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const uint8_t* a = in6->sin6_addr.s6_addr;
    if (is_mapped(a) || is_compatible(a)) {
      std::memcpy(out.addr, a + 12, 4);
      out.v6 = false;
    } else {
      std::memcpy(out.addr, a, 16);
      out.v6 = true;
    }
    return true;
  }
  return false;
}

bool prefix_equal(const uint8_t* a, const uint8_t* b, int bits) {
  int bytes = bits / 8;
  if (std::memcmp(a, b, size_t(bytes)) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = uint8_t(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

// A network written in IPv6 syntax inside ::ffff:0:0/96 ("::ffff:10.0.0.0/104")
// is an IPv4 network, since mapped addresses are checked as IPv4. IPv6
// networks that merely contain the mapped range ("::/0") stay IPv6-only:
// an operator writing "::/0" means "all of IPv6", not "everything".
bool matches(const Network& net, const Canonical& a) {
  if (!net.v6) return !a.v6 && prefix_equal(net.addr, a.addr, net.prefix);
  if (net.prefix >= 96 && is_mapped(net.addr))
    return !a.v6 && prefix_equal(net.addr + 12, a.addr, net.prefix - 96);
  return a.v6 && prefix_equal(net.addr, a.addr, net.prefix);
}

bool any_match(const std::vector<Network>& list, const Canonical& a) {
  for (const Network& n : list)
    if (matches(n, a)) return true;
  return false;
}

bool parse_prefix(std::string_view text, int max, int& out) {
  if (text.empty() || text.size() > 3) return false;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n > max) return false;
  out = n;
  return true;
}

void mask_host_bits(Network& n) {
  int size = n.v6 ? 16 : 4;
  for (int i = 0; i < size; i++) {
    int keep = n.prefix - i * 8;
    if (keep >= 8) continue;
    n.addr[i] &= keep <= 0 ? 0 : uint8_t(0xff << (8 - keep));
  }
}

bool parse_one(std::string_view entry, Network& out, std::string& error) {
  std::string_view addr = entry, prefix;
  bool has_prefix = false;
  if (size_t slash = entry.find('/'); slash != std::string_view::npos) {
    addr = entry.substr(0, slash);
    prefix = entry.substr(slash + 1);
    has_prefix = true;
  }
  std::string text(addr);
  Network n;
  if (text.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, text.c_str(), n.addr) != 1) {
      error = "bad network \"" + std::string(entry) + "\": not an IPv6 address";
      return false;
    }
    n.v6 = true;
  } else if (inet_pton(AF_INET, text.c_str(), n.addr) != 1) {
    // inet_pton takes dotted quads only: "127.1" and "0x7f.1" are refused here.
    error = "bad network \"" + std::string(entry) + "\": not an IPv4 or IPv6 address";
    return false;
  }
  int max = n.v6 ? 128 : 32;
  n.prefix = max;
  if (has_prefix && !parse_prefix(prefix, max, n.prefix)) {
    error = "bad network \"" + std::string(entry) + "\": the prefix length must be 0 to " +
            std::to_string(max);
    return false;
  }
  mask_host_bits(n);
  out = n;
  return true;
}

}  // namespace

bool parse_networks(std::string_view list, std::vector<Network>& out, std::string& error) {
  std::vector<Network> parsed;
  size_t i = 0;
  auto is_sep = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < list.size()) {
    while (i < list.size() && is_sep(list[i])) i++;
    size_t start = i;
    while (i < list.size() && !is_sep(list[i])) i++;
    if (start == i) continue;
    Network n;
    if (!parse_one(list.substr(start, i - start), n, error)) return false;
    parsed.push_back(n);
  }
  out = std::move(parsed);
  return true;
}

bool networks_contain(const std::vector<Network>& list, const sockaddr* sa) {
  Canonical a;
  return canonical(sa, a) && any_match(list, a);
}

bool NetworkPolicy::permits(const sockaddr* sa) const {
  Canonical a;
  if (!canonical(sa, a)) return false;
  if (!any_match(deny_, a)) return true;
  return any_match(allow_, a);
}

std::string NetworkPolicy::address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (!sa) return "?";
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (is_mapped(a.s6_addr))
      inet_ntop(AF_INET, a.s6_addr + 12, buf, sizeof buf);
    else
      inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
  }
  return "?";
}

}  // namespace wfp
