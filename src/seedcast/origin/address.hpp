#pragma once
// The server-side request forgery guard's view of addresses: an origin may only be a public
// unicast address unless ALLOW_PRIVATE_ORIGINS is set.
#include <sys/socket.h>

#include <string>
#include <string_view>

namespace seedcast::origin {

// True for addresses no origin may have: unspecified, loopback, private (RFC 1918), shared
// (100.64/10), link-local, unique-local (fc00::/7), site-local, multicast, reserved and
// broadcast, benchmarking, documentation; IPv6 forms that carry an IPv4 address (v4-mapped,
// v4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that address.
bool is_private(const sockaddr* sa);
// The same for a numeric address ("10.0.0.1", "::ffff:127.0.0.1"); false when it is not one.
bool is_private_literal(std::string_view address);
// "1.2.3.4" or "2001:db8::1" (no brackets); empty when not IPv4/IPv6.
std::string to_string(const sockaddr* sa);

}  // namespace seedcast::origin
