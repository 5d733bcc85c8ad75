// Tests of the fetch network policy (supervisor/netpolicy.cc): the CIDR
// parser, and every spelling of a local address meeting the default deny
// list as the socket address a connection would use.
#include "supervisor/netpolicy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

namespace wfp {
namespace {

// A socket address from text: IPv4 dotted quads become AF_INET, anything
// with a colon AF_INET6 (so "::ffff:127.0.0.1" is the mapped IPv6 form).
struct Addr {
  sockaddr_storage ss{};
  explicit Addr(const std::string& text) {
    if (text.find(':') != std::string::npos) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) != 1) ADD_FAILURE() << text;
    } else {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) != 1) ADD_FAILURE() << text;
    }
  }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

std::vector<Network> parse_ok(const std::string& list) {
  std::vector<Network> out;
  std::string error;
  EXPECT_TRUE(parse_networks(list, out, error)) << list << ": " << error;
  return out;
}

std::string parse_error(const std::string& list) {
  std::vector<Network> out;
  std::string error;
  EXPECT_FALSE(parse_networks(list, out, error)) << list;
  return error;
}

NetworkPolicy default_policy(const std::string& allow = "") {
  return NetworkPolicy(parse_ok(kDefaultDenyNetworks), parse_ok(allow));
}

TEST(NetworkList, ParsesIpv4AndIpv6NetworksSeparatedByCommasOrSpaces) {
  auto nets = parse_ok("127.0.0.0/8, ::1/128 10.1.2.3,fd00::/8");
  ASSERT_EQ(nets.size(), 4u);
  EXPECT_FALSE(nets[0].v6);
  EXPECT_EQ(nets[0].prefix, 8);
  EXPECT_EQ(nets[0].addr[0], 127);
  EXPECT_TRUE(nets[1].v6);
  EXPECT_EQ(nets[1].prefix, 128);
  EXPECT_EQ(nets[1].addr[15], 1);
  EXPECT_FALSE(nets[2].v6);
  EXPECT_EQ(nets[2].prefix, 32);  // a bare address is a host
  EXPECT_EQ(nets[2].addr[3], 3);
  EXPECT_TRUE(nets[3].v6);
  EXPECT_EQ(nets[3].prefix, 8);
  EXPECT_EQ(nets[3].addr[0], 0xfd);
}

TEST(NetworkList, BareIpv6AddressIsA128BitPrefix) {
  auto nets = parse_ok("2001:db8::5");
  ASSERT_EQ(nets.size(), 1u);
  EXPECT_TRUE(nets[0].v6);
  EXPECT_EQ(nets[0].prefix, 128);
}

TEST(NetworkList, AcceptsTheIpv4MappedSpelling) {
  auto nets = parse_ok("::ffff:1.2.3.4, ::ffff:10.0.0.0/104");
  ASSERT_EQ(nets.size(), 2u);
  EXPECT_TRUE(nets[0].v6);
  EXPECT_EQ(nets[0].addr[10], 0xff);
  EXPECT_EQ(nets[0].addr[12], 1);
  EXPECT_EQ(nets[1].prefix, 104);
}

TEST(NetworkList, EmptyListIsValid) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("  , ,").empty());
}

TEST(NetworkList, ClearsHostBitsOfANetwork) {
  auto nets = parse_ok("10.1.2.3/8");
  ASSERT_EQ(nets.size(), 1u);
  EXPECT_EQ(nets[0].addr[0], 10);
  EXPECT_EQ(nets[0].addr[1], 0);
  EXPECT_EQ(nets[0].addr[3], 0);
}

TEST(NetworkList, RefusesBadEntriesNamingThem) {
  std::string e = parse_error("10.0.0.0/8, 10.0.0.0/33");
  EXPECT_NE(e.find("10.0.0.0/33"), std::string::npos) << e;
  EXPECT_NE(e.find("0 to 32"), std::string::npos) << e;
  EXPECT_NE(parse_error("::/129").find("::/129"), std::string::npos);
  EXPECT_NE(parse_error("example.com").find("example.com"), std::string::npos);
  EXPECT_NE(parse_error("127.1").find("127.1"), std::string::npos);
  EXPECT_NE(parse_error("0x7f000001").find("0x7f000001"), std::string::npos);
  EXPECT_NE(parse_error("10.0.0.0/").find("10.0.0.0/"), std::string::npos);
  EXPECT_NE(parse_error("10.0.0.0/-1").find("10.0.0.0/-1"), std::string::npos);
  EXPECT_NE(parse_error("10.0.0.0/8/8").find("10.0.0.0/8/8"), std::string::npos);
  EXPECT_NE(parse_error("1::2::3").find("1::2::3"), std::string::npos);
  EXPECT_NE(parse_error("/8").find("/8"), std::string::npos);
}

TEST(NetworkList, FailedParseLeavesOutputUntouched) {
  std::vector<Network> out = parse_ok("1.2.3.4");
  std::string error;
  EXPECT_FALSE(parse_networks("5.6.7.8, nonsense", out, error));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].addr[0], 1);
}

TEST(NetworkList, DefaultDenyListParses) { EXPECT_GE(parse_ok(kDefaultDenyNetworks).size(), 17u); }

TEST(NetPolicy, DefaultListDeniesEverySpellingOfLoopbackAndLocalNetworks) {
  NetworkPolicy p = default_policy();
  for (const char* a :
       {"127.0.0.1", "127.255.255.254", "::ffff:127.0.0.1", "::ffff:7f00:1", "::127.0.0.1", "::1",
        "::", "0.0.0.0", "::ffff:0.0.0.0", "169.254.169.254", "::ffff:169.254.169.254",
        "10.0.0.1", "10.255.1.2", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
        "192.0.0.170", "198.18.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "fd00::1", "fc00::1", "fe80::1", "fec0::1", "ff02::1",
        "64:ff9b::7f00:1", "64:ff9b:1::a00:1", "2002:7f00:1::1"}) {
    EXPECT_FALSE(p.permits(Addr(a).sa())) << a;
  }
}

TEST(NetPolicy, DefaultListPermitsPublicAddresses) {
  NetworkPolicy p = default_policy();
  for (const char* a : {"1.1.1.1", "8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1",
                        "::ffff:8.8.8.8", "2606:4700:4700::1111", "2001:4860:4860::8888"}) {
    EXPECT_TRUE(p.permits(Addr(a).sa())) << a;
  }
}

TEST(NetPolicy, AllowListMakesExceptionsToTheDenyList) {
  NetworkPolicy p = default_policy("127.0.0.1, 10.1.0.0/16, fd00::1");
  EXPECT_TRUE(p.permits(Addr("127.0.0.1").sa()));
  EXPECT_TRUE(p.permits(Addr("::ffff:127.0.0.1").sa()));  // the same address, mapped
  EXPECT_FALSE(p.permits(Addr("127.0.0.2").sa()));
  EXPECT_TRUE(p.permits(Addr("10.1.200.3").sa()));
  EXPECT_FALSE(p.permits(Addr("10.2.0.1").sa()));
  EXPECT_TRUE(p.permits(Addr("fd00::1").sa()));
  EXPECT_FALSE(p.permits(Addr("fd00::2").sa()));
  EXPECT_FALSE(p.permits(Addr("::1").sa()));
}

TEST(NetPolicy, MappedNetworkEntriesApplyToIpv4Addresses) {
  NetworkPolicy p(parse_ok("::ffff:10.0.0.0/104"), {});
  EXPECT_FALSE(p.permits(Addr("10.9.8.7").sa()));
  EXPECT_FALSE(p.permits(Addr("::ffff:10.9.8.7").sa()));
  EXPECT_TRUE(p.permits(Addr("11.0.0.1").sa()));
}

TEST(NetPolicy, EmptyPolicyPermitsEverything) {
  NetworkPolicy p;
  EXPECT_TRUE(p.permits(Addr("127.0.0.1").sa()));
  EXPECT_TRUE(p.permits(Addr("::1").sa()));
}

TEST(NetPolicy, OtherAddressFamiliesAreNeverPermitted) {
  NetworkPolicy p;
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(p.permits(reinterpret_cast<sockaddr*>(&ss)));
  EXPECT_FALSE(p.permits(nullptr));
}

TEST(NetPolicy, NetworksContainTheirAddressesAndMappedOnes) {
  std::vector<Network> list = parse_ok("127.0.0.1/32, 10.0.0.0/8, 2001:db8::/32");
  EXPECT_TRUE(networks_contain(list, Addr("127.0.0.1").sa()));
  EXPECT_TRUE(networks_contain(list, Addr("::ffff:10.9.8.7").sa()));
  EXPECT_TRUE(networks_contain(list, Addr("2001:db8::1").sa()));
  EXPECT_FALSE(networks_contain(list, Addr("127.0.0.2").sa()));
  EXPECT_FALSE(networks_contain(list, Addr("::1").sa()));
  EXPECT_FALSE(networks_contain({}, Addr("127.0.0.1").sa()));
}

TEST(NetPolicy, AddressTextShowsMappedAddressesAsIpv4) {
  EXPECT_EQ(NetworkPolicy::address_text(Addr("127.0.0.1").sa()), "127.0.0.1");
  EXPECT_EQ(NetworkPolicy::address_text(Addr("::ffff:7f00:1").sa()), "127.0.0.1");
  EXPECT_EQ(NetworkPolicy::address_text(Addr("::1").sa()), "::1");
  EXPECT_EQ(NetworkPolicy::address_text(Addr("FD00:0::1").sa()), "fd00::1");
}

}  // namespace
}  // namespace wfp
