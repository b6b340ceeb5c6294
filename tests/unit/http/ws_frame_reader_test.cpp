#include "seedcast/http/detail/ws_frame_reader.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace seedcast::http::detail {
namespace {

using Kind = FrameReader::Kind;

// A client frame: masked with `key`, the shortest length encoding unless `len_bytes` forces one.
std::string frame(uint8_t first, std::string_view payload, uint32_t key = 0x37fa213d, int len_bytes = 0) {
  std::string f;
  f.push_back(static_cast<char>(first));
  const size_t n = payload.size();
  if (len_bytes == 0) len_bytes = n < 126 ? 1 : n <= 0xffff ? 2 : 8;
  if (len_bytes == 1) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (len_bytes == 2) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>(static_cast<uint64_t>(n) >> (8 * i)));
  }
  const char k[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16), static_cast<char>(key >> 8),
                     static_cast<char>(key)};
  f.append(k, 4);
  for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ k[i & 3]));
  return f;
}

struct Got {
  Kind kind;
  std::string payload;
  uint16_t code;
};

// Feeds `bytes` in chunks of `chunk`, as socket reads would, and collects every event.
std::vector<Got> feed(const std::string& bytes, size_t chunk, size_t max = 1000) {
  FrameReader r(max);
  std::vector<Got> out;
  std::string buf;
  size_t at = 0;
  for (;;) {
    size_t used = 0;
    auto ev = r.next(buf.data(), buf.size(), used);
    if (ev.kind != Kind::need_more) out.push_back({ev.kind, std::string(ev.payload), ev.code});
    buf.erase(0, used);
    if (ev.kind == Kind::error) break;
    if (ev.kind == Kind::need_more) {
      if (at == bytes.size()) break;
      buf.append(bytes, at, chunk);
      at = std::min(bytes.size(), at + chunk);
    }
  }
  return out;
}

TEST(FrameReader, MessagesAndControlFramesInAnyChunking) {
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::string in = frame(0x81, "hello") + frame(0x82, std::string("\0\xff", 2)) + frame(0x89, "ping!") +
                   frame(0x01, "frag") + frame(0x8a, "pong") + frame(0x00, "men") + frame(0x80, "ted \xc3\xa9") +
                   frame(0x81, std::string(300, 'm')) + frame(0x81, big) + frame(0x81, "") +
                   frame(0x88, "\x03\xe8" "bye");
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, size_t{4096}, in.size()}) {
    auto got = feed(in, chunk, 100000);
    ASSERT_EQ(got.size(), 9u) << chunk;
    EXPECT_EQ(got[0].kind, Kind::text);
    EXPECT_EQ(got[0].payload, "hello");
    EXPECT_EQ(got[1].kind, Kind::binary);
    EXPECT_EQ(got[1].payload, std::string("\0\xff", 2));
    EXPECT_EQ(got[2].kind, Kind::ping);
    EXPECT_EQ(got[2].payload, "ping!");
    EXPECT_EQ(got[3].kind, Kind::pong);  // a control frame in the middle of a fragmented message
    EXPECT_EQ(got[4].kind, Kind::text);
    EXPECT_EQ(got[4].payload, "fragmented \xc3\xa9");
    EXPECT_EQ(got[5].payload, std::string(300, 'm'));
    EXPECT_EQ(got[6].payload, big);
    EXPECT_EQ(got[7].payload, "");
    EXPECT_EQ(got[8].kind, Kind::close);
    EXPECT_EQ(got[8].code, 1000);
    EXPECT_EQ(got[8].payload, "bye");
  }
  auto got = feed(frame(0x88, ""), 100);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].code, 1005);  // no status
}

TEST(FrameReader, ProtocolViolationsAreErrorsWithTheRightCloseCode) {
  auto code = [](const std::string& bytes, size_t max = 1000) {
    auto got = feed(bytes, bytes.size() + 1, max);
    return got.empty() || got.back().kind != Kind::error ? 0 : got.back().code;
  };
  std::string unmasked = frame(0x81, "hi");
  unmasked[1] = static_cast<char>(unmasked[1] & 0x7f);
  EXPECT_EQ(code(unmasked), 1002);
  EXPECT_EQ(code(frame(0xc1, "rsv1")), 1002);
  EXPECT_EQ(code(frame(0x83, "op 3")), 1002);
  EXPECT_EQ(code(frame(0x8b, "op b")), 1002);
  EXPECT_EQ(code(frame(0x80, "stray continuation")), 1002);
  EXPECT_EQ(code(frame(0x01, "a") + frame(0x81, "new message before the end")), 1002);
  EXPECT_EQ(code(frame(0x09, "unfinished ping")), 1002);
  EXPECT_EQ(code(frame(0x89, std::string(126, 'p'))), 1002);
  EXPECT_EQ(code(frame(0x81, "short", 1, 2)), 1002);  // 16-bit length for 5 bytes
  EXPECT_EQ(code(frame(0x81, "short", 1, 8)), 1002);
  EXPECT_EQ(code(frame(0x88, "\x03")), 1002);            // a 1-byte close payload
  EXPECT_EQ(code(frame(0x88, "\x03\xed")), 1002);        // 1005 may not be sent
  EXPECT_EQ(code(frame(0x88, "\x0b\xb8\xff")), 1007);    // 3000, reason not UTF-8
  EXPECT_EQ(code(frame(0x81, "caf\xc3")), 1007);
  EXPECT_EQ(code(frame(0x01, "caf\xc3") + frame(0x80, "\xa9")), 0);  // split UTF-8 is fine
  EXPECT_EQ(code(frame(0x81, std::string(1001, 'x'))), 1009);
  EXPECT_EQ(code(frame(0x01, std::string(600, 'x')) + frame(0x80, std::string(600, 'x'))), 1009);
  std::string huge = frame(0x81, "");
  huge[1] = static_cast<char>(0x80 | 127);
  huge.insert(2, std::string("\x80\0\0\0\0\0\0\0", 8));  // 2^63
  EXPECT_EQ(code(huge), 1002);
}

TEST(FrameReader, AskForTheWholeFrame) {
  FrameReader r(100000);
  std::string f = frame(0x81, std::string(5000, 'z'));
  size_t used = 0;
  auto ev = r.next(f.data(), 3, used);
  EXPECT_EQ(ev.kind, Kind::need_more);
  EXPECT_EQ(ev.need, 0u);  // the 16-bit length is not there yet
  ev = r.next(f.data(), 100, used);
  EXPECT_EQ(ev.kind, Kind::need_more);
  EXPECT_EQ(ev.need, f.size());
  EXPECT_EQ(used, 0u);
  ev = r.next(f.data(), f.size(), used);
  EXPECT_EQ(ev.kind, Kind::text);
  EXPECT_EQ(used, f.size());
}

}  // namespace
}  // namespace seedcast::http::detail
