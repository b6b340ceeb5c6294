#include "seedcast/core/info_hash.hpp"

namespace seedcast {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<InfoHash> InfoHash::from_hex(std::string_view hex) {
  if (hex.size() != 40) return std::nullopt;
  InfoHash h;
  for (size_t i = 0; i < 20; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return h;
}

std::string InfoHash::hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(40, '0');
  for (size_t i = 0; i < 20; ++i) {
    s[2 * i] = digits[bytes_[i] >> 4];
    s[2 * i + 1] = digits[bytes_[i] & 15];
  }
  return s;
}
}  // namespace seedcast
