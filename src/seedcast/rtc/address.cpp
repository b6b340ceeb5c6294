#include "seedcast/rtc/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace seedcast::rtc {
namespace {
constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}

std::string Address::ip_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, ip.data(), buf, sizeof buf);
  return buf;
}

std::string Address::to_string() const {
  return (v6 ? "[" + ip_string() + "]" : ip_string()) + ":" + std::to_string(port);
}

std::optional<Address> Address::parse(std::string_view text, uint16_t port) {
  std::string s(text);
  Address a;
  a.port = port;
  if (inet_pton(AF_INET, s.c_str(), a.ip.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.ip.data()) != 1) return std::nullopt;
  if (std::memcmp(a.ip.data(), kMapped, 12) == 0) {
    std::memmove(a.ip.data(), a.ip.data() + 12, 4);
    std::memset(a.ip.data() + 4, 0, 12);
    return a;
  }
  a.v6 = true;
  return a;
}

std::optional<Address> Address::from_sockaddr(const sockaddr* sa) {
  Address a;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(a.ip.data(), &in->sin_addr, 4);
    a.port = ntohs(in->sin_port);
    return a;
  }
  if (sa->sa_family != AF_INET6) return std::nullopt;
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  a.port = ntohs(in6->sin6_port);
  if (std::memcmp(&in6->sin6_addr, kMapped, 12) == 0) {
    std::memcpy(a.ip.data(), reinterpret_cast<const uint8_t*>(&in6->sin6_addr) + 12, 4);
  } else {
    std::memcpy(a.ip.data(), &in6->sin6_addr, 16);
    a.v6 = true;
  }
  return a;
}

socklen_t Address::to_sockaddr(sockaddr_storage& out, int family) const {
  std::memset(&out, 0, sizeof out);
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (v6) {
    std::memcpy(&in6->sin6_addr, ip.data(), 16);
  } else {
    std::memcpy(&in6->sin6_addr, kMapped, 12);
    std::memcpy(reinterpret_cast<uint8_t*>(&in6->sin6_addr) + 12, ip.data(), 4);
  }
  return sizeof(sockaddr_in6);
}

size_t AddressHash::operator()(const Address& a) const noexcept {
  // FNV-1a over the bytes that matter.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  for (size_t i = 0; i < (a.v6 ? 16u : 4u); ++i) mix(a.ip[i]);
  mix(static_cast<uint8_t>(a.port >> 8));
  mix(static_cast<uint8_t>(a.port));
  mix(a.v6);
  return static_cast<size_t>(h);
}

}  // namespace seedcast::rtc
