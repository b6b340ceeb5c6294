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

// RFC 5769 ("Test Vectors for STUN"), typed in from the RFC's text. The short-term password of
// every vector is "VOkJxbRl1RmTxUk/WvJxBt"; the padding of SOFTWARE and USERNAME is 0x20.
inline const std::vector<uint8_t> kRfcRequest = hex(  // §2.1
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf");
inline const std::vector<uint8_t> kRfcIpv4Response = hex(  // §2.2
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96");
inline const std::vector<uint8_t> kRfcIpv6Response = hex(  // §2.3
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c");
inline constexpr std::string_view kRfcKey = "VOkJxbRl1RmTxUk/WvJxBt";

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
