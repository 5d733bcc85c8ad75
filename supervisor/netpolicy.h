// Where user workers' fetch() may connect: networks in CIDR notation, a
// deny list and an allow list of exceptions to it. Checked on the address
// a connection would actually use (after DNS, on every redirect), so every
// spelling of a host ("0x7f000001", "2130706433", "[::ffff:127.0.0.1]")
// meets the same rule. An IPv4-mapped IPv6 address is checked as the IPv4
// address it maps.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wfp {

struct Network {
  bool v6 = false;
  uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
  int prefix = 0;         // bits
};

// "127.0.0.0/8, ::1/128, 10.1.2.3" (a bare address is a /32 or /128),
// comma- or space-separated; an empty list is valid. False with `error`
// naming the bad entry.
bool parse_networks(std::string_view list, std::vector<Network>& out, std::string& error);

// True when `sa` (AF_INET or AF_INET6; a mapped IPv4 address as IPv4) is
// in one of `list`. Other families: false.
bool networks_contain(const std::vector<Network>& list, const sockaddr* sa);

// The default of fetch_deny_networks: "this" network, loopback, link-local
// (with 169.254.169.254), private, shared (CGNAT), unique-local,
// multicast and reserved ranges of IPv4 and IPv6.
extern const char* const kDefaultDenyNetworks;

class NetworkPolicy {
 public:
  NetworkPolicy() = default;
  NetworkPolicy(std::vector<Network> deny, std::vector<Network> allow)
      : deny_(std::move(deny)), allow_(std::move(allow)) {}
  // True when a connection to `sa` (AF_INET or AF_INET6) is permitted:
  // in no deny network, or in an allow network. Other families: false.
  bool permits(const sockaddr* sa) const;
  // The address as text ("127.0.0.1", "::1"; mapped IPv4 as IPv4).
  static std::string address_text(const sockaddr* sa);

 private:
  std::vector<Network> deny_, allow_;
};

}  // namespace wfp
