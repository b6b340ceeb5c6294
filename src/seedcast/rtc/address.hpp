#pragma once
// A UDP peer's address (the remote half of a 5-tuple): IPv4 or IPv6, and a port. An IPv4-mapped
// IPv6 address (from a dual-stack socket) is read as the IPv4 address it maps.
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace seedcast::rtc {

struct Address {
  std::array<uint8_t, 16> ip{};  // IPv4 in the first 4 bytes when !v6
  uint16_t port = 0;
  bool v6 = false;

  friend bool operator==(const Address&, const Address&) = default;
  // "192.0.2.1:5000", "[2001:db8::1]:5000"
  std::string to_string() const;
  // The address alone, "192.0.2.1" or "2001:db8::1"
  std::string ip_string() const;
  // A textual IPv4 or IPv6 address (no brackets) and a port; nullopt when not an address.
  static std::optional<Address> parse(std::string_view ip, uint16_t port);
  // nullopt for families other than AF_INET and AF_INET6.
  static std::optional<Address> from_sockaddr(const sockaddr* sa);
  // Into `out` for an AF_INET or AF_INET6 socket (`family`); returns the length to pass. An IPv4
  // address given to an AF_INET6 socket is written IPv4-mapped.
  socklen_t to_sockaddr(sockaddr_storage& out, int family) const;
};

struct AddressHash {
  size_t operator()(const Address& a) const noexcept;
};

}  // namespace seedcast::rtc
