#pragma once
// RFC 6455 frame headers for the benchmark's own load generator and mock server (they need
// raw frames to measure the tracker, not a WebSocket library's overhead).
#include <cstddef>
#include <cstdint>

struct WsFrame {
  int op = 0;
  bool fin = false;
  bool masked = false;
  size_t header = 0;  // bytes before the payload, mask key included
  uint64_t length = 0;
};

// Reads the frame header at b[0..avail); false when more bytes are needed for it.
inline bool parse_ws_frame(const uint8_t* b, size_t avail, WsFrame& f) {
  if (avail < 2) return false;
  f.fin = b[0] & 0x80;
  f.op = b[0] & 0x0F;
  f.masked = b[1] & 0x80;
  f.length = b[1] & 0x7F;
  f.header = 2;
  if (f.length == 126) {
    if (avail < 4) return false;
    f.length = (uint64_t(b[2]) << 8) | b[3];
    f.header = 4;
  } else if (f.length == 127) {
    if (avail < 10) return false;
    f.length = 0;
    for (int i = 0; i < 8; ++i) f.length = (f.length << 8) | b[2 + i];
    f.header = 10;
  }
  if (f.masked) f.header += 4;
  return true;
}

// Unmasks a payload in place with the key just before it.
inline void unmask_ws_payload(char* payload, uint64_t length, const uint8_t* key) {
  for (uint64_t i = 0; i < length; ++i) payload[i] ^= key[i & 3];
}
