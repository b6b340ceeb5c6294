// libFuzzer target: the WebSocket frame reader (http::detail::FrameReader). The first byte sets
// the read size, the rest is the client's byte stream, fed as socket reads would feed it. Nothing
// may crash; consumption never exceeds the input; text messages are UTF-8; after an error
// nothing more is read.
#include <cstdint>
#include <cstdlib>
#include <simdjson.h>
#include <string>

#include "seedcast/http/detail/ws_frame_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using seedcast::http::detail::FrameReader;
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  FrameReader reader(4096);
  std::string buf;
  size_t at = 0;
  for (;;) {
    size_t used = 0;
    auto ev = reader.next(buf.data(), buf.size(), used);
    if (used > buf.size()) std::abort();
    if (ev.kind == FrameReader::Kind::text && !simdjson::validate_utf8(ev.payload.data(), ev.payload.size()))
      std::abort();
    if (ev.payload.size() > 4096) std::abort();
    buf.erase(0, used);
    if (ev.kind == FrameReader::Kind::error) return 0;
    if (ev.kind == FrameReader::Kind::need_more) {
      if (at == in.size()) return 0;
      buf.append(in.substr(at, chunk));
      at = std::min(in.size(), at + chunk);
    }
  }
}
