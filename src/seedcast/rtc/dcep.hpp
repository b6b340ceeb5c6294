#pragma once
// DCEP, the Data Channel Establishment Protocol (RFC 8832), and the payload protocol ids of
// data-channel messages (RFC 8831 §8). Sans-I/O.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace seedcast::rtc::dcep {

constexpr uint32_t kPpidControl = 50;       // DCEP
constexpr uint32_t kPpidString = 51;
constexpr uint32_t kPpidBinary = 53;
constexpr uint32_t kPpidStringEmpty = 56;  // a zero-length message is sent as one byte
constexpr uint32_t kPpidBinaryEmpty = 57;

constexpr uint8_t kOpen = 0x03;
constexpr uint8_t kAck = 0x02;

// Channel types (RFC 8832 §5.1).
constexpr uint8_t kReliable = 0x00;
constexpr uint8_t kReliableUnordered = 0x80;
constexpr uint8_t kPartialReliableRexmit = 0x01;
constexpr uint8_t kPartialReliableRexmitUnordered = 0x81;
constexpr uint8_t kPartialReliableTimed = 0x02;
constexpr uint8_t kPartialReliableTimedUnordered = 0x82;

struct Open {
  uint8_t channel_type = kReliable;
  uint16_t priority = 0;
  uint32_t reliability = 0;
  std::string label;
  std::string protocol;
  bool ordered() const { return (channel_type & 0x80) == 0; }
};

// A DATA_CHANNEL_OPEN message (PPID 50, first byte 0x03), or nullopt when malformed: shorter
// than its 12-byte header, label or protocol lengths past the end (or bytes after them), an
// unknown channel type. A reliable channel's reliability parameter is read as 0 (RFC 8832 §5.1:
// ignored by the receiver). Label and protocol are kept as sent (UTF-8 is not checked).
std::optional<Open> parse_open(std::span<const uint8_t> message);
// For tests and load generators; label and protocol are cut to 65535 bytes.
std::vector<uint8_t> open_message(const Open& open);
std::vector<uint8_t> ack_message();                    // DATA_CHANNEL_ACK: one byte, 0x02

}  // namespace seedcast::rtc::dcep
