#include "seedcast/rtc/dcep.hpp"

#include <algorithm>

namespace seedcast::rtc::dcep {
namespace {

constexpr size_t kOpenHeader = 12;
constexpr size_t kMaxString = 0xFFFF;  // label and protocol lengths are 16-bit

bool known_type(uint8_t t) {
  switch (t) {
    case kReliable:
    case kReliableUnordered:
    case kPartialReliableRexmit:
    case kPartialReliableRexmitUnordered:
    case kPartialReliableTimed:
    case kPartialReliableTimedUnordered:
      return true;
    default:
      return false;
  }
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

std::optional<Open> parse_open(std::span<const uint8_t> m) {
  if (m.size() < kOpenHeader || m[0] != kOpen || !known_type(m[1])) return std::nullopt;
  const size_t label = static_cast<size_t>(m[8]) << 8 | m[9];
  const size_t protocol = static_cast<size_t>(m[10]) << 8 | m[11];
  // The message is exactly the header and the two strings (RFC 8832 §5.1).
  if (m.size() - kOpenHeader != label + protocol) return std::nullopt;
  Open open;
  open.channel_type = m[1];
  open.priority = static_cast<uint16_t>(m[2] << 8 | m[3]);
  // Reliable channels' reliability parameter "MUST be ignored on the receiving side".
  if ((open.channel_type & 0x7f) != kReliable)
    open.reliability = uint32_t{m[4]} << 24 | uint32_t{m[5]} << 16 | uint32_t{m[6]} << 8 | m[7];
  const char* text = reinterpret_cast<const char*>(m.data() + kOpenHeader);
  open.label.assign(text, label);
  open.protocol.assign(text + label, protocol);
  return open;
}

std::vector<uint8_t> open_message(const Open& open) {
  const size_t label = std::min(open.label.size(), kMaxString);
  const size_t protocol = std::min(open.protocol.size(), kMaxString);
  std::vector<uint8_t> out;
  out.reserve(kOpenHeader + label + protocol);
  out.push_back(kOpen);
  out.push_back(open.channel_type);
  put16(out, open.priority);
  put16(out, static_cast<uint16_t>(open.reliability >> 16));
  put16(out, static_cast<uint16_t>(open.reliability));
  put16(out, static_cast<uint16_t>(label));
  put16(out, static_cast<uint16_t>(protocol));
  out.insert(out.end(), open.label.begin(), open.label.begin() + label);
  out.insert(out.end(), open.protocol.begin(), open.protocol.begin() + protocol);
  return out;
}

std::vector<uint8_t> ack_message() { return {kAck}; }

}  // namespace seedcast::rtc::dcep
