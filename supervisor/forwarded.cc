// The client address and scheme the public listener believes (forwarded.h):
// X-Forwarded-For and X-Forwarded-Proto are read only from a peer in
// trusted_proxies. Runs in the supervisor on every public request; the
// headers are a client's text, so each entry is parsed as an address and
// anything else ends the walk.
#include "supervisor/forwarded.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "supervisor/text.h"

namespace wfp {
namespace {

// "1.2.3.4", "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80".
bool parse_address(std::string_view text, sockaddr_storage& out) {
  text = trim_ows(text);
  std::string_view addr = text, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    addr = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    addr = text.substr(0, colon);  // IPv4 with a port: IPv6 has two colons or more
    port = text.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  if (addr.empty() || addr.size() >= INET6_ADDRSTRLEN) return false;
  std::string a(addr);
  memset(&out, 0, sizeof out);
  if (a.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
    in6->sin6_family = AF_INET6;
    return inet_pton(AF_INET6, a.c_str(), &in6->sin6_addr) == 1;
  }
  auto* in = reinterpret_cast<sockaddr_in*>(&out);
  in->sin_family = AF_INET;
  return inet_pton(AF_INET, a.c_str(), &in->sin_addr) == 1;
}

const sockaddr* sa(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr*>(&s); }

}  // namespace

bool is_forwarding_header(std::string_view name) {
  return ascii_iequals(name, "X-Forwarded-For") || ascii_iequals(name, "X-Forwarded-Proto") ||
         ascii_iequals(name, "CF-Connecting-IP");
}

std::string peer_address(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    if (close != std::string_view::npos) return std::string(peer.substr(1, close - 1));
  } else if (size_t colon = peer.rfind(':'); colon != std::string_view::npos) {
    return std::string(peer.substr(0, colon));
  }
  return std::string(peer);
}

ClientOrigin client_origin(std::string_view peer, const std::vector<HttpHeader>& headers,
                           const std::vector<Network>& trusted) {
  ClientOrigin o;
  o.scheme = "http";
  sockaddr_storage peer_sa;
  if (!parse_address(peer, peer_sa)) {  // not TCP: nothing to believe
    o.address = o.forwarded_for = peer_address(peer);
    return o;
  }
  o.address = o.forwarded_for = NetworkPolicy::address_text(sa(peer_sa));
  if (!networks_contain(trusted, sa(peer_sa))) return o;

  // Every X-Forwarded-For field, in order, is one list (RFC 9110 §5.3).
  std::string chain;
  std::string_view proto;
  for (const HttpHeader& h : headers) {
    if (ascii_iequals(h.name, "X-Forwarded-For")) {
      if (!chain.empty() && !trim_ows(h.value).empty()) chain += ", ";
      chain += trim_ows(h.value);
    } else if (ascii_iequals(h.name, "X-Forwarded-Proto")) {
      proto = h.value;  // the last field: the nearest proxy's
    }
  }
  // Right to left: each hop was written by the one after it, so an entry is
  // only as good as the proxy that appended it. The first untrusted one is
  // the client; whatever stands left of it is the client's own text.
  std::string_view rest = chain;
  while (!rest.empty()) {
    size_t comma = rest.rfind(',');
    std::string_view entry = trim_ows(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
    if (entry.empty()) continue;
    sockaddr_storage hop;
    if (!parse_address(entry, hop)) break;  // "unknown", garbage: believe no further
    o.address = NetworkPolicy::address_text(sa(hop));
    if (!networks_contain(trusted, sa(hop))) break;
  }
  if (!chain.empty()) o.forwarded_for = chain + ", " + o.forwarded_for;

  // "https, http": the last element is what the nearest (trusted) proxy saw.
  if (size_t comma = proto.rfind(','); comma != std::string_view::npos) proto = proto.substr(comma + 1);
  proto = trim_ows(proto);
  if (ascii_iequals(proto, "https")) o.scheme = "https";
  else if (ascii_iequals(proto, "http")) o.scheme = "http";
  return o;
}

}  // namespace wfp
