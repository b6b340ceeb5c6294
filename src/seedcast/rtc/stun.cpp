#include "seedcast/rtc/stun.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace seedcast::rtc::stun {
namespace {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr size_t kHeaderSize = 20;
constexpr size_t kIntegritySize = 20;  // HMAC-SHA1
constexpr uint32_t kFingerprintXor = 0x5354554e;
// RFC 5389 capped USERNAME below 513 bytes (RFC 8489 says 509); the longer limit refuses nothing
// a real agent sends and keeps every ufrag pair of up to 256 ice-chars each.
constexpr size_t kMaxUsername = 512;
// ERROR-CODE's reason phrase: fewer than 128 characters, at most 763 bytes (RFC 8489 §14.8).
constexpr size_t kMaxReason = 127;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint64_t be64(const uint8_t* p) { return uint64_t{be32(p)} << 32 | be32(p + 4); }
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

// The 16 bytes an IPv6 XOR-MAPPED-ADDRESS is XORed with: the cookie, then the transaction id.
std::array<uint8_t, 16> xor_pad(const uint8_t* transaction) {
  std::array<uint8_t, 16> pad{};
  put32(pad.data(), kMagicCookie);
  std::memcpy(pad.data() + 4, transaction, 12);
  return pad;
}

// Walks the attributes of a datagram whose header was checked; `f(type, at, value, length)`
// returns false to stop (then walk returns false too). Returns false as soon as an attribute
// would pass the end: nothing outside the datagram is read.
template <class F>
bool walk(std::span<const uint8_t> d, F&& f) {
  size_t at = kHeaderSize;
  while (at < d.size()) {
    if (d.size() - at < 4) return false;
    const uint16_t type = be16(&d[at]);
    const size_t length = be16(&d[at + 2]);
    const size_t padded = (length + 3) & ~size_t{3};
    if (padded > d.size() - at - 4) return false;
    if (!f(type, at, d.data() + at + 4, length)) return false;
    at += 4 + padded;
  }
  return true;
}

bool header_ok(std::span<const uint8_t> d) {
  if (d.size() < kHeaderSize || (d[0] & 0xC0) != 0) return false;
  const size_t length = be16(&d[2]);
  return length % 4 == 0 && kHeaderSize + length == d.size() && be32(&d[4]) == kMagicCookie;
}

uint32_t fingerprint_of(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(crc32(0L, data, static_cast<uInt>(size))) ^ kFingerprintXor;
}

// HMAC-SHA1 of `message` (a header and whole attributes) as MESSAGE-INTEGRITY covers it: the
// header's length counts the MESSAGE-INTEGRITY attribute that follows (RFC 8489 §14.5).
bool hmac_sha1(std::span<const uint8_t> message, std::string_view key, uint8_t* out) {
  std::vector<uint8_t> copy(message.begin(), message.end());
  put16(copy.data() + 2, static_cast<uint16_t>(copy.size() - kHeaderSize + 4 + kIntegritySize));
  unsigned int out_len = 0;
  return HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), copy.data(), copy.size(), out,
              &out_len) != nullptr &&
         out_len == kIntegritySize;
}

// Builds one message: header, attributes, then MESSAGE-INTEGRITY and FINGERPRINT last.
class Writer {
 public:
  Writer(uint16_t type, const TransactionId& t) : out_(kHeaderSize) {
    put16(out_.data(), type);
    put32(out_.data() + 4, kMagicCookie);
    std::memcpy(out_.data() + 8, t.data(), t.size());
  }
  // `value` is at most 0xFFFF bytes (callers bound it).
  void attribute(uint16_t type, std::span<const uint8_t> value) {
    const size_t at = out_.size();
    out_.resize(at + 4 + ((value.size() + 3) & ~size_t{3}), 0);
    put16(&out_[at], type);
    put16(&out_[at + 2], static_cast<uint16_t>(value.size()));
    if (!value.empty()) std::memcpy(&out_[at + 4], value.data(), value.size());
    set_length();
  }
  void attribute(uint16_t type, std::string_view text) {
    attribute(type, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  void integrity(std::string_view key) {
    uint8_t mac[kIntegritySize] = {};
    hmac_sha1(out_, key, mac);
    attribute(attr::kMessageIntegrity, std::span<const uint8_t>(mac, sizeof mac));
  }
  void fingerprint() {
    // The CRC covers the header with a length that already counts FINGERPRINT.
    put16(&out_[2], static_cast<uint16_t>(out_.size() - kHeaderSize + 8));
    uint8_t crc[4];
    put32(crc, fingerprint_of(out_.data(), out_.size()));
    attribute(attr::kFingerprint, std::span<const uint8_t>(crc, 4));
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void set_length() { put16(&out_[2], static_cast<uint16_t>(out_.size() - kHeaderSize)); }
  std::vector<uint8_t> out_;
};

std::optional<Address> read_xor_address(const uint8_t* v, size_t length,
                                        const uint8_t* transaction) {
  if (length < 4) return std::nullopt;
  const auto pad = xor_pad(transaction);
  Address a;
  a.port = static_cast<uint16_t>(be16(v + 2) ^ (kMagicCookie >> 16));
  if (v[1] == 0x01 && length == 8) {
    for (size_t i = 0; i < 4; ++i) a.ip[i] = v[4 + i] ^ pad[i];
    return a;
  }
  if (v[1] != 0x02 || length != 20) return std::nullopt;
  for (size_t i = 0; i < 16; ++i) a.ip[i] = v[4 + i] ^ pad[i];
  // Read IPv4-mapped IPv6 as IPv4, as Address does everywhere.
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.ip.data(), kMapped, 12) == 0) {
    std::memmove(a.ip.data(), a.ip.data() + 12, 4);
    std::memset(a.ip.data() + 4, 0, 12);
  } else {
    a.v6 = true;
  }
  return a;
}

}  // namespace

std::optional<Message> parse(std::span<const uint8_t> d) {
  if (!header_ok(d)) return std::nullopt;
  Message m;
  m.type = be16(&d[0]);
  std::memcpy(m.transaction.data(), &d[8], m.transaction.size());
  bool ok = walk(d, [&](uint16_t type, size_t at, const uint8_t* v, size_t length) {
    if (m.fingerprint) return false;  // FINGERPRINT must be last
    // After MESSAGE-INTEGRITY only FINGERPRINT may come (what follows would not be covered).
    if (m.integrity_at != 0 && type != attr::kFingerprint) return false;
    switch (type) {
      case attr::kMessageIntegrity:
        if (length != kIntegritySize) return false;
        m.integrity_at = at;
        return true;
      case attr::kFingerprint:
        if (length != 4 || at + 8 != d.size()) return false;
        if (fingerprint_of(d.data(), at) != be32(v)) return false;
        m.fingerprint = true;
        return true;
      case attr::kUsername:
        if (length > kMaxUsername) return false;
        // Of repeated attributes the first counts (RFC 8489 §14).
        if (!m.username) m.username = std::string_view(reinterpret_cast<const char*>(v), length);
        return true;
      case attr::kPriority:
        if (length != 4) return false;
        if (!m.priority) m.priority = be32(v);
        return true;
      case attr::kUseCandidate:
        if (length != 0) return false;
        m.use_candidate = true;
        return true;
      case attr::kIceControlled:
        if (length != 8) return false;
        if (!m.ice_controlled) m.ice_controlled = be64(v);
        return true;
      case attr::kIceControlling:
        if (length != 8) return false;
        if (!m.ice_controlling) m.ice_controlling = be64(v);
        return true;
      // Read by mapped_address() and error_code() for the controlling side; nothing to check in
      // a request (a request carrying them is odd but understood).
      case attr::kMappedAddress:
      case attr::kXorMappedAddress:
      case attr::kErrorCode:
      case attr::kUnknownAttributes:
        return true;
      default:
        if (type < 0x8000 && m.unknown_required.size() < Message::kMaxUnknown &&
            std::find(m.unknown_required.begin(), m.unknown_required.end(), type) ==
                m.unknown_required.end())
          m.unknown_required.push_back(type);
        return true;
    }
  });
  if (!ok) return std::nullopt;
  return m;
}

bool check_integrity(std::span<const uint8_t> d, const Message& m, std::string_view key) {
  const size_t at = m.integrity_at;
  // Defensive: `m` may not come from `d`.
  if (at < kHeaderSize || at > d.size() || d.size() - at < 4 + kIntegritySize ||
      be16(&d[at]) != attr::kMessageIntegrity || be16(&d[at + 2]) != kIntegritySize)
    return false;
  uint8_t mac[kIntegritySize];
  if (!hmac_sha1(d.first(at), key, mac)) return false;
  return CRYPTO_memcmp(mac, &d[at + 4], kIntegritySize) == 0;
}

std::vector<uint8_t> binding_success(const TransactionId& t, const Address& mapped,
                                     std::string_view key) {
  Writer w(kBindingSuccess, t);
  const auto pad = xor_pad(t.data());
  uint8_t v[20] = {};
  v[1] = mapped.v6 ? 0x02 : 0x01;
  put16(v + 2, static_cast<uint16_t>(mapped.port ^ (kMagicCookie >> 16)));
  const size_t n = mapped.v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) v[4 + i] = mapped.ip[i] ^ pad[i];
  w.attribute(attr::kXorMappedAddress, std::span<const uint8_t>(v, 4 + n));
  w.integrity(key);
  w.fingerprint();
  return w.take();
}

std::vector<uint8_t> binding_error(const TransactionId& t, int code, std::string_view reason,
                                   std::string_view key, std::span<const uint16_t> unknown) {
  Writer w(kBindingError, t);
  // Cut the reason at a character boundary: never in the middle of a UTF-8 sequence.
  if (reason.size() > kMaxReason) {
    size_t cut = kMaxReason;
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  std::vector<uint8_t> v(4 + reason.size(), 0);
  v[2] = static_cast<uint8_t>((code / 100) & 0x07);
  v[3] = static_cast<uint8_t>(code % 100);
  std::memcpy(v.data() + 4, reason.data(), reason.size());
  w.attribute(attr::kErrorCode, v);
  if (code == 420 && !unknown.empty()) {
    const size_t n = std::min(unknown.size(), Message::kMaxUnknown);
    std::vector<uint8_t> list(2 * n);
    for (size_t i = 0; i < n; ++i) put16(&list[2 * i], unknown[i]);
    w.attribute(attr::kUnknownAttributes, list);
  }
  if (!key.empty()) w.integrity(key);
  w.fingerprint();
  return w.take();
}

std::vector<uint8_t> binding_request(const TransactionId& t, std::string_view username,
                                     std::string_view key, uint32_t priority, uint64_t tie_breaker,
                                     bool nominate) {
  Writer w(kBindingRequest, t);
  w.attribute(attr::kUsername, username.substr(0, kMaxUsername));
  uint8_t v[8];
  put32(v, priority);
  w.attribute(attr::kPriority, std::span<const uint8_t>(v, 4));
  put32(v, static_cast<uint32_t>(tie_breaker >> 32));
  put32(v + 4, static_cast<uint32_t>(tie_breaker));
  w.attribute(attr::kIceControlling, std::span<const uint8_t>(v, 8));
  if (nominate) w.attribute(attr::kUseCandidate, std::span<const uint8_t>());
  w.integrity(key);
  w.fingerprint();
  return w.take();
}

std::optional<std::span<const uint8_t>> find_attribute(std::span<const uint8_t> d, uint16_t type) {
  if (!parse(d)) return std::nullopt;
  std::optional<std::span<const uint8_t>> found;
  walk(d, [&](uint16_t t, size_t, const uint8_t* v, size_t length) {
    if (t != type) return true;
    found = std::span<const uint8_t>(v, length);
    return false;
  });
  return found;
}

std::optional<Address> mapped_address(std::span<const uint8_t> d) {
  auto m = parse(d);
  if (!m || m->type != kBindingSuccess) return std::nullopt;
  auto v = find_attribute(d, attr::kXorMappedAddress);
  if (!v) return std::nullopt;
  return read_xor_address(v->data(), v->size(), m->transaction.data());
}

std::optional<int> error_code(std::span<const uint8_t> d) {
  auto v = find_attribute(d, attr::kErrorCode);
  if (!v || v->size() < 4) return std::nullopt;
  const int klass = (*v)[2] & 0x07;
  const int number = (*v)[3];
  if (klass < 3 || klass > 6 || number > 99) return std::nullopt;
  return klass * 100 + number;
}

}  // namespace seedcast::rtc::stun
