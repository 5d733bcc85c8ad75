// Unit tests of the client address and scheme the public listener believes
// (supervisor/forwarded.cc): X-Forwarded-For and X-Forwarded-Proto from a
// trusted proxy and from anyone else. Runs in the unit-test binary.
#include "supervisor/forwarded.h"

#include <gtest/gtest.h>

using namespace wfp;

namespace {

std::vector<Network> nets(const char* list) {
  std::vector<Network> out;
  std::string error;
  EXPECT_TRUE(parse_networks(list, out, error)) << error;
  return out;
}

const std::vector<Network> kTrusted = nets("127.0.0.1/32, 10.0.0.0/8, ::1/128");

}  // namespace

TEST(TrustedProxies, AnUntrustedPeerIsTheClientWhateverItClaims) {
  ClientOrigin o = client_origin("192.0.2.9:5555",
                                 {{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"}}, kTrusted);
  EXPECT_EQ(o.address, "192.0.2.9");
  EXPECT_EQ(o.forwarded_for, "192.0.2.9");
  EXPECT_EQ(o.scheme, "http");
}

TEST(TrustedProxies, WithNoTrustedProxiesNothingIsBelieved) {
  ClientOrigin o = client_origin("127.0.0.1:5555", {{"X-Forwarded-For", "203.0.113.7"}}, {});
  EXPECT_EQ(o.address, "127.0.0.1");
  EXPECT_EQ(o.forwarded_for, "127.0.0.1");
}

TEST(TrustedProxies, ATrustedPeerIsBelievedAndAppendedToTheChain) {
  ClientOrigin o = client_origin("127.0.0.1:5555",
                                 {{"x-forwarded-for", "203.0.113.7"}, {"x-forwarded-proto", "HTTPS"}}, kTrusted);
  EXPECT_EQ(o.address, "203.0.113.7");
  EXPECT_EQ(o.forwarded_for, "203.0.113.7, 127.0.0.1");
  EXPECT_EQ(o.scheme, "https");
}

TEST(TrustedProxies, TheClientIsTheRightmostAddressThatIsNotATrustedProxy) {
  // The client forged "1.1.1.1"; 203.0.113.7 is who reached our proxies.
  ClientOrigin o =
      client_origin("127.0.0.1:1", {{"X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.1.2.3"}}, kTrusted);
  EXPECT_EQ(o.address, "203.0.113.7");
  EXPECT_EQ(o.forwarded_for, "1.1.1.1, 203.0.113.7, 10.1.2.3, 127.0.0.1");
}

TEST(TrustedProxies, SeveralFieldsAreOneList) {
  ClientOrigin o = client_origin("127.0.0.1:1",
                                 {{"X-Forwarded-For", "198.51.100.1"}, {"X-Forwarded-For", "10.0.0.5"}}, kTrusted);
  EXPECT_EQ(o.address, "198.51.100.1");
  EXPECT_EQ(o.forwarded_for, "198.51.100.1, 10.0.0.5, 127.0.0.1");
}

TEST(TrustedProxies, WhenEveryHopIsTrustedTheLeftmostIsTheClient) {
  ClientOrigin o = client_origin("127.0.0.1:1", {{"X-Forwarded-For", "10.0.0.1, 10.0.0.2"}}, kTrusted);
  EXPECT_EQ(o.address, "10.0.0.1");
}

TEST(TrustedProxies, AnEntryThatIsNotAnAddressEndsTheWalk) {
  ClientOrigin o = client_origin("127.0.0.1:1", {{"X-Forwarded-For", "203.0.113.7, unknown, 10.0.0.2"}}, kTrusted);
  EXPECT_EQ(o.address, "10.0.0.2");
  ClientOrigin garbage = client_origin("127.0.0.1:1", {{"X-Forwarded-For", "<script>"}}, kTrusted);
  EXPECT_EQ(garbage.address, "127.0.0.1");
}

TEST(TrustedProxies, AddressesWithPortsAndIPv6AreUnderstood) {
  EXPECT_EQ(client_origin("127.0.0.1:1", {{"X-Forwarded-For", "203.0.113.7:4711"}}, kTrusted).address,
            "203.0.113.7");
  EXPECT_EQ(client_origin("127.0.0.1:1", {{"X-Forwarded-For", "2001:db8::7"}}, kTrusted).address, "2001:db8::7");
  EXPECT_EQ(client_origin("127.0.0.1:1", {{"X-Forwarded-For", "[2001:DB8::7]:443"}}, kTrusted).address,
            "2001:db8::7");
  EXPECT_EQ(client_origin("[::1]:80", {{"X-Forwarded-For", "203.0.113.7"}}, kTrusted).address, "203.0.113.7");
  // A mapped IPv4 peer is checked, and shown, as IPv4.
  EXPECT_EQ(client_origin("[::ffff:127.0.0.1]:80", {{"X-Forwarded-For", "203.0.113.7"}}, kTrusted).address,
            "203.0.113.7");
  EXPECT_EQ(client_origin("[2001:db8::9]:80", {}, kTrusted).address, "2001:db8::9");
}

TEST(TrustedProxies, TheSchemeIsHttpOrHttpsFromTheNearestProxyOnly) {
  auto scheme = [](std::vector<HttpHeader> h) { return client_origin("127.0.0.1:1", h, kTrusted).scheme; };
  EXPECT_EQ(scheme({}), "http");
  EXPECT_EQ(scheme({{"X-Forwarded-Proto", "https"}}), "https");
  EXPECT_EQ(scheme({{"X-Forwarded-Proto", "http, https"}}), "https");
  EXPECT_EQ(scheme({{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Proto", "http"}}), "http");
  EXPECT_EQ(scheme({{"X-Forwarded-Proto", "javascript"}}), "http");
  EXPECT_EQ(scheme({{"X-Forwarded-Proto", "https://evil"}}), "http");
}

TEST(TrustedProxies, OnlyTheForwardingHeadersAreOurs) {
  EXPECT_TRUE(is_forwarding_header("x-forwarded-for"));
  EXPECT_TRUE(is_forwarding_header("X-Forwarded-Proto"));
  EXPECT_TRUE(is_forwarding_header("cf-connecting-ip"));
  EXPECT_FALSE(is_forwarding_header("X-Forwarded-Host"));
  EXPECT_FALSE(is_forwarding_header("Forwarded"));
}

TEST(TrustedProxies, ThePeerAddressLosesItsPort) {
  EXPECT_EQ(peer_address("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(peer_address("[::1]:8080"), "::1");
  EXPECT_EQ(peer_address("unix"), "unix");
}
