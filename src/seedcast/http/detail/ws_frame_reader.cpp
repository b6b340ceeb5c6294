#include "seedcast/http/detail/ws_frame_reader.hpp"

#include <cstring>
#include <simdjson.h>

namespace seedcast::http::detail {
namespace {

using Kind = FrameReader::Kind;
using Event = FrameReader::Event;

constexpr uint16_t kProtocolError = 1002;
constexpr uint16_t kInvalidData = 1007;
constexpr uint16_t kTooBig = 1009;

Event error(uint16_t code) { return {Kind::error, {}, code, 0}; }
Event need(size_t n) { return {Kind::need_more, {}, 0, n}; }

void unmask(uint8_t* p, size_t n, const uint8_t key[4]) {
  uint32_t k32;
  std::memcpy(&k32, key, 4);
  const uint64_t k64 = (uint64_t{k32} << 32) | k32;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    v ^= k64;
    std::memcpy(p + i, &v, 8);
  }
  for (; i < n; ++i) p[i] ^= key[i & 3];
}

bool valid_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

}  // namespace

Event FrameReader::next(char* data, size_t size, size_t& used) {
  used = 0;
  for (;;) {
    auto* p = reinterpret_cast<uint8_t*>(data) + used;
    const size_t avail = size - used;
    if (avail < 2) return need(0);
    const bool fin = p[0] & 0x80;
    const uint8_t op = p[0] & 0x0f;
    if (p[0] & 0x70) return error(kProtocolError);  // RSV bits: no extension was negotiated
    if (!(p[1] & 0x80)) return error(kProtocolError);  // client frames are masked
    uint64_t len = p[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) return need(0);
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
      if (len < 126) return error(kProtocolError);  // not the minimal encoding
    } else if (len == 127) {
      if (avail < 10) return need(0);
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
      if (len <= 0xffff || (len >> 63)) return error(kProtocolError);
    }
    header += 4;  // the masking key
    const bool control = op & 0x8;
    if (control) {
      if (!fin || len > 125 || op > 0xa) return error(kProtocolError);
    } else {
      if (op > 2) return error(kProtocolError);
      if ((op == 0) != (fragmented_op_ != 0)) return error(kProtocolError);  // stray or missing continuation
      if (len > max_ || fragments_.size() + len > max_) return error(kTooBig);
    }
    if (avail < header + len) return need(header + static_cast<size_t>(len));
    uint8_t* payload = p + header;
    unmask(payload, static_cast<size_t>(len), p + header - 4);
    used += header + static_cast<size_t>(len);
    std::string_view body(reinterpret_cast<const char*>(payload), static_cast<size_t>(len));

    if (control) {
      if (op == 0x9) return {Kind::ping, body, 0, 0};
      if (op == 0xa) return {Kind::pong, body, 0, 0};
      if (op != 0x8) return error(kProtocolError);
      if (body.size() == 1) return error(kProtocolError);
      uint16_t code = 1005;
      if (body.size() >= 2) {
        code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
        if (code < 1000 || code == 1004 || code == 1005 || code == 1006 || (code > 1014 && code < 3000) || code > 4999)
          return error(kProtocolError);
        body.remove_prefix(2);
        if (!valid_utf8(body)) return error(kInvalidData);
      }
      return {Kind::close, body, code, 0};
    }
    if (op != 0 && fin) {  // a whole message in one frame
      if (op == 1 && !valid_utf8(body)) return error(kInvalidData);
      return {op == 1 ? Kind::text : Kind::binary, body, 0, 0};
    }
    if (op != 0) fragmented_op_ = op;
    fragments_.append(body);
    if (!fin) continue;
    const bool text = fragmented_op_ == 1;
    fragmented_op_ = 0;
    message_.swap(fragments_);
    fragments_.clear();
    if (text && !valid_utf8(message_)) return error(kInvalidData);
    return {text ? Kind::text : Kind::binary, message_, 0, 0};
  }
}

}  // namespace seedcast::http::detail
