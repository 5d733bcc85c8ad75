// Who sent a request to the public listener, as far as it can be believed:
// the TCP peer, or, when the peer is in trusted_proxies, the client its
// X-Forwarded-For names, reached by the scheme its X-Forwarded-Proto says.
// Runs in the supervisor; those headers are hostile unless a trusted proxy
// wrote them, and even then are parsed, never copied into a decision.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/http.h"
#include "supervisor/netpolicy.h"

namespace wfp {

struct ClientOrigin {
  std::string address;        // "203.0.113.7", "2001:db8::1": CF-Connecting-IP
  std::string scheme;         // "http" or "https": the URL a worker sees
  std::string forwarded_for;  // the X-Forwarded-For a worker sees
};

// `peer` is HttpRequest::peer ("ADDR:PORT" or "[ADDR]:PORT"). From a peer
// outside `trusted`, the incoming forwarding headers are ignored: the
// client is the peer, the scheme http. From a trusted peer, the client is
// the rightmost X-Forwarded-For address that is not itself trusted (the
// leftmost one if all are; parsing stops at an entry that is not an
// address), the scheme the last X-Forwarded-Proto value when it is http or
// https, and the peer is appended to the X-Forwarded-For passed on.
ClientOrigin client_origin(std::string_view peer, const std::vector<HttpHeader>& headers,
                           const std::vector<Network>& trusted);

// The headers client_origin decides (X-Forwarded-For, X-Forwarded-Proto,
// CF-Connecting-IP): a worker never sees a client's own copy of them.
bool is_forwarding_header(std::string_view name);

// The address part of "ADDR:PORT" or "[ADDR]:PORT"; `peer` itself when it
// has neither form ("unix").
std::string peer_address(std::string_view peer);

}  // namespace wfp
