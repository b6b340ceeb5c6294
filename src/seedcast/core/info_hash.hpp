#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace seedcast {

// A BitTorrent v1 info-hash: the SHA-1 of the bencoded info dictionary.
class InfoHash {
 public:
  InfoHash() = default;
  static InfoHash from_bytes(const void* p) {
    InfoHash h;
    std::memcpy(h.bytes_.data(), p, 20);
    return h;
  }
  // Accepts exactly 40 hex digits, either case.
  static std::optional<InfoHash> from_hex(std::string_view hex);
  std::string hex() const;  // lower case
  const std::array<uint8_t, 20>& bytes() const { return bytes_; }
  friend bool operator==(const InfoHash&, const InfoHash&) = default;
  friend auto operator<=>(const InfoHash&, const InfoHash&) = default;

 private:
  std::array<uint8_t, 20> bytes_{};
};

}  // namespace seedcast

template <>
struct std::hash<seedcast::InfoHash> {
  size_t operator()(const seedcast::InfoHash& h) const noexcept {
    size_t v;
    std::memcpy(&v, h.bytes().data(), sizeof v);  // already uniformly distributed
    return v;
  }
};
