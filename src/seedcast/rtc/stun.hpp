#pragma once
// STUN (RFC 8489) as ICE uses it (RFC 8445): reading Binding requests and writing their answers.
// Sans-I/O: datagrams in, datagrams out. HMAC-SHA1 comes from OpenSSL, CRC-32 from zlib.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "seedcast/rtc/address.hpp"

namespace seedcast::rtc::stun {

constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingIndication = 0x0011;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kBindingError = 0x0111;

// Attribute types (RFC 8489 §18.3, RFC 8445 §16.1). Types below 0x8000 are comprehension-required.
namespace attr {
constexpr uint16_t kMappedAddress = 0x0001;
constexpr uint16_t kUsername = 0x0006;
constexpr uint16_t kMessageIntegrity = 0x0008;
constexpr uint16_t kErrorCode = 0x0009;
constexpr uint16_t kUnknownAttributes = 0x000A;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kPriority = 0x0024;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kSoftware = 0x8022;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint16_t kIceControlled = 0x8029;
constexpr uint16_t kIceControlling = 0x802A;
}  // namespace attr

using TransactionId = std::array<uint8_t, 12>;

// RFC 7983: a datagram whose first byte is 0..3 is STUN (20..63 is DTLS).
inline bool is_stun(std::span<const uint8_t> d) { return !d.empty() && d[0] <= 3; }

// A message as read, with the attributes ICE needs. Views point into the datagram.
struct Message {
  uint16_t type = 0;
  TransactionId transaction{};
  std::optional<std::string_view> username;
  std::optional<uint32_t> priority;
  bool use_candidate = false;
  std::optional<uint64_t> ice_controlling;  // tie-breaker
  std::optional<uint64_t> ice_controlled;
  // Where MESSAGE-INTEGRITY starts in the datagram (0: absent); check_integrity() verifies it.
  size_t integrity_at = 0;
  bool fingerprint = false;  // present, and its CRC was right (a wrong one fails parse())
  // Comprehension-required attributes (type < 0x8000) this reader does not know: a request that
  // has any is answered 420. Each type once, in order of appearance, at most kMaxUnknown.
  std::vector<uint16_t> unknown_required;
  static constexpr size_t kMaxUnknown = 16;
};

// The message in `datagram`, or nullopt when it is not well-formed STUN: the header (two zero
// bits, magic cookie, length a multiple of 4 that matches the datagram), every attribute
// within bounds, at most one MESSAGE-INTEGRITY followed only by FINGERPRINT, FINGERPRINT last
// and right. Never reads out of bounds whatever the bytes.
std::optional<Message> parse(std::span<const uint8_t> datagram);

// Whether the message's MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to it, with the
// header's length adjusted as RFC 8489 §14.5 says) is right for `key` (ICE: the password).
bool check_integrity(std::span<const uint8_t> datagram, const Message& m, std::string_view key);

// A Binding success response: XOR-MAPPED-ADDRESS of `mapped`, MESSAGE-INTEGRITY with `key`,
// FINGERPRINT.
std::vector<uint8_t> binding_success(const TransactionId& t, const Address& mapped, std::string_view key);

// A Binding error response with ERROR-CODE `code` and `reason`; with MESSAGE-INTEGRITY when
// `key` is not empty (RFC 8445 §7.3.1.1: 487 is answered with it), and FINGERPRINT. For 420,
// UNKNOWN-ATTRIBUTES lists `unknown`.
std::vector<uint8_t> binding_error(const TransactionId& t, int code, std::string_view reason, std::string_view key,
                                   std::span<const uint16_t> unknown = {});

// For tests and load generators (the controlling side): a Binding request with USERNAME,
// PRIORITY, ICE-CONTROLLING (tie-breaker), USE-CANDIDATE when `nominate`, MESSAGE-INTEGRITY
// with `key`, FINGERPRINT.
std::vector<uint8_t> binding_request(const TransactionId& t, std::string_view username, std::string_view key,
                                     uint32_t priority, uint64_t tie_breaker, bool nominate);

// The XOR-MAPPED-ADDRESS of a success response (for the controlling side); nullopt if absent,
// malformed, or the datagram is not a well-formed Binding success response.
std::optional<Address> mapped_address(std::span<const uint8_t> datagram);

// The value of the first attribute of `type` in a datagram parse() accepts (a view into it);
// nullopt when absent or the datagram is not well-formed.
std::optional<std::span<const uint8_t>> find_attribute(std::span<const uint8_t> datagram, uint16_t type);

// The ERROR-CODE (300..699) of an error response (for the controlling side and tests); nullopt if
// absent or malformed.
std::optional<int> error_code(std::span<const uint8_t> datagram);

}  // namespace seedcast::rtc::stun
