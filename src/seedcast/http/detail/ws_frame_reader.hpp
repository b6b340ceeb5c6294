#pragma once
// Client-to-server WebSocket frames (RFC 6455 section 5) after the handshake, sans-I/O: bytes
// in, messages and control frames out. Beast does the handshake; frames are read here so one
// socket read can yield many messages without a composed operation, a post and a timer update
// per message. Every client frame must be masked; no extension is negotiated, so RSV bits
// must be clear; text must be UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace seedcast::http::detail {

class FrameReader {
 public:
  enum class Kind : uint8_t { need_more, text, binary, ping, pong, close, error };
  struct Event {
    Kind kind = Kind::need_more;
    std::string_view payload;  // the message, or a control frame's payload
    uint16_t code = 0;         // close: the peer's status (1005: none); error: the status to close with
    size_t need = 0;           // need_more: bytes the next frame needs from `data` (0: not known yet)
  };

  explicit FrameReader(size_t max_message) : max_(max_message) {}

  // The next event in data[0, size), consuming only whole frames (`used` bytes). Payloads are
  // unmasked in place: an unfragmented message points into `data`, a fragmented one into the
  // reader. Either stays valid until the next call (and while the consumed bytes are kept).
  // After an error the connection must be closed.
  Event next(char* data, size_t size, size_t& used);

 private:
  size_t max_;
  std::string fragments_;  // the message being assembled
  std::string message_;    // the last assembled message
  uint8_t fragmented_op_ = 0;  // 1 text, 2 binary: a fragmented message is in progress
};

}  // namespace seedcast::http::detail
