#include "seedcast/origin/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace seedcast::origin {
namespace {

bool private_v4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) { return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8)      // 0.0.0.0/8 "this network", unspecified
         || in(0x0A000000, 8)   // 10/8 private
         || in(0x64400000, 10)  // 100.64/10 shared (carrier-grade NAT)
         || in(0x7F000000, 8)   // 127/8 loopback
         || in(0xA9FE0000, 16)  // 169.254/16 link-local (cloud metadata)
         || in(0xAC100000, 12)  // 172.16/12 private
         || in(0xC0000000, 24)  // 192.0.0/24 IETF protocol assignments
         || in(0xC0000200, 24)  // 192.0.2/24 documentation
         || in(0xC0A80000, 16)  // 192.168/16 private
         || in(0xC6120000, 15)  // 198.18/15 benchmarking
         || in(0xC6336400, 24)  // 198.51.100/24 documentation
         || in(0xCB007100, 24)  // 203.0.113/24 documentation
         || in(0xE0000000, 4)   // 224/4 multicast
         || in(0xF0000000, 4);  // 240/4 reserved, 255.255.255.255 broadcast
}

uint32_t v4_at(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool private_v6(const unsigned char* b) {
  static const unsigned char zero[16] = {};
  if (std::memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
  // ::ffff:a.b.c.d (v4-mapped) and ::a.b.c.d (v4-compatible): the IPv4 address decides.
  if (std::memcmp(b, zero, 10) == 0 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
    return private_v4(v4_at(b + 12));
  // 64:ff9b::/96 NAT64 and 64:ff9b:1::/48 local-use NAT64
  static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, nat64, 12) == 0) return private_v4(v4_at(b + 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1) return true;
  if (b[0] == 0x20 && b[1] == 0x02) return private_v4(v4_at(b + 2));  // 2002::/16 6to4
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true;  // 2001:db8::/32 documentation
  if (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, zero, 6) == 0) return true;  // 100::/64 discard
  if ((b[0] & 0xfe) == 0xfc) return true;                 // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;  // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return true;                           // ff00::/8 multicast
  return false;
}

}  // namespace

bool is_private(const sockaddr* sa) {
  if (!sa) return true;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return private_v4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return private_v6(in6->sin6_addr.s6_addr);
  }
  return true;  // anything else (unix sockets, …) is never an origin
}

bool is_private_literal(std::string_view address) {
  std::string s(address);
  sockaddr_in in{};
  if (inet_pton(AF_INET, s.c_str(), &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    return is_private(reinterpret_cast<const sockaddr*>(&in));
  }
  sockaddr_in6 in6{};
  if (inet_pton(AF_INET6, s.c_str(), &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    return is_private(reinterpret_cast<const sockaddr*>(&in6));
  }
  return false;
}

std::string to_string(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

}  // namespace seedcast::origin
