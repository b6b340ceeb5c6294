#pragma once
// Builds STUN messages attribute by attribute for the tests, computing MESSAGE-INTEGRITY and
// FINGERPRINT itself (OpenSSL's HMAC, zlib's crc32) independently of stun.cpp's writer, so that
// messages the writer cannot produce (unknown attributes, missing ones, wrong order) can be made.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/rtc/stun.hpp"

namespace seedcast::rtc::test {

inline std::vector<uint8_t> hex(std::string_view s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

class StunBuilder {
 public:
  StunBuilder(uint16_t type, const stun::TransactionId& t) : b_(20, 0) {
    b_[0] = static_cast<uint8_t>(type >> 8);
    b_[1] = static_cast<uint8_t>(type);
    b_[4] = 0x21, b_[5] = 0x12, b_[6] = 0xa4, b_[7] = 0x42;
    std::copy(t.begin(), t.end(), b_.begin() + 8);
  }
  // Padding bytes are `pad` (RFC 5769's vectors pad with spaces).
  StunBuilder& attr(uint16_t type, std::vector<uint8_t> v, uint8_t pad = 0) {
    b_.push_back(static_cast<uint8_t>(type >> 8));
    b_.push_back(static_cast<uint8_t>(type));
    b_.push_back(static_cast<uint8_t>(v.size() >> 8));
    b_.push_back(static_cast<uint8_t>(v.size()));
    b_.insert(b_.end(), v.begin(), v.end());
    while (b_.size() % 4) b_.push_back(pad);
    set_length(b_.size());
    return *this;
  }
  StunBuilder& text(uint16_t type, std::string_view s, uint8_t pad = 0) {
    return attr(type, std::vector<uint8_t>(s.begin(), s.end()), pad);
  }
  StunBuilder& u32(uint16_t type, uint32_t v) {
    return attr(type, {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
  }
  StunBuilder& u64(uint16_t type, uint64_t v) {
    std::vector<uint8_t> b;
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return attr(type, b);
  }
  StunBuilder& integrity(std::string_view key) {
    set_length(b_.size() + 24);
    unsigned char mac[20];
    unsigned int n = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), b_.data(), b_.size(), mac, &n);
    return attr(stun::attr::kMessageIntegrity, std::vector<uint8_t>(mac, mac + 20));
  }
  StunBuilder& fingerprint() {
    set_length(b_.size() + 8);
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, b_.data(), static_cast<uInt>(b_.size()))) ^ 0x5354554e;
    return u32(stun::attr::kFingerprint, crc);
  }
  std::vector<uint8_t> bytes() const { return b_; }

 private:
  void set_length(size_t total) {
    b_[2] = static_cast<uint8_t>((total - 20) >> 8);
    b_[3] = static_cast<uint8_t>(total - 20);
  }
  std::vector<uint8_t> b_;
};

}  // namespace seedcast::rtc::test
