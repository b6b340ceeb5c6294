#include "seedcast/rtc/dcep.hpp"

#include <gtest/gtest.h>

#include <string>

namespace seedcast::rtc {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// DATA_CHANNEL_OPEN as RFC 8832 §5.1 lays it out: type 0x03, channel type, priority (2 bytes),
// reliability parameter (4), label length (2), protocol length (2), label, protocol.
TEST(DcepOpen, ReadsWhatABrowserSends) {
  // createDataChannel('x'): reliable, ordered, priority 256 ("low"), no protocol.
  auto open =
      dcep::parse_open(bytes(std::string("\x03\x00\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00x", 13)));
  ASSERT_TRUE(open);
  EXPECT_EQ(open->channel_type, dcep::kReliable);
  EXPECT_TRUE(open->ordered());
  EXPECT_EQ(open->priority, 256);
  EXPECT_EQ(open->reliability, 0u);
  EXPECT_EQ(open->label, "x");
  EXPECT_EQ(open->protocol, "");
  // Unordered, partial reliability by retransmissions (3), a label and a protocol.
  open =
      dcep::parse_open(bytes(std::string("\x03\x81\x02\x00\x00\x00\x00\x03\x00\x04\x00\x05"
                                         "chatproto",
                                         21)));
  ASSERT_TRUE(open);
  EXPECT_EQ(open->channel_type, dcep::kPartialReliableRexmitUnordered);
  EXPECT_FALSE(open->ordered());
  EXPECT_EQ(open->priority, 512);
  EXPECT_EQ(open->reliability, 3u);
  EXPECT_EQ(open->label, "chat");
  EXPECT_EQ(open->protocol, "proto");
}

TEST(DcepOpen, RoundTrips) {
  for (uint8_t type : {dcep::kReliable, dcep::kReliableUnordered, dcep::kPartialReliableRexmit,
                       dcep::kPartialReliableRexmitUnordered, dcep::kPartialReliableTimed,
                       dcep::kPartialReliableTimedUnordered}) {
    dcep::Open o;
    o.channel_type = type;
    o.priority = 0xBEEF;
    o.reliability = (type & 0x7f) == dcep::kReliable ? 0 : 0x01020304;
    o.label = "webtorrent";
    o.protocol = std::string("\xc3\xa9t\xc3\xa9", 5);
    auto m = dcep::open_message(o);
    EXPECT_EQ(m.size(), 12u + 10 + 5);
    auto back = dcep::parse_open(m);
    ASSERT_TRUE(back) << int(type);
    EXPECT_EQ(back->channel_type, o.channel_type);
    EXPECT_EQ(back->priority, o.priority);
    EXPECT_EQ(back->reliability, o.reliability);
    EXPECT_EQ(back->label, o.label);
    EXPECT_EQ(back->protocol, o.protocol);
  }
  // Empty label and protocol, and the largest label that fits.
  dcep::Open o;
  o.label = std::string(65535, 'l');
  auto back = dcep::parse_open(dcep::open_message(o));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->label.size(), 65535u);
  EXPECT_TRUE(dcep::parse_open(dcep::open_message(dcep::Open{})));
}

TEST(DcepOpen, IgnoresReliabilityOfReliableChannels) {
  auto open =
      dcep::parse_open(bytes(std::string("\x03\x80\x00\x00\xff\xff\xff\xff\x00\x00\x00\x00", 12)));
  ASSERT_TRUE(open);
  EXPECT_EQ(open->reliability, 0u);
}

TEST(DcepOpen, RefusesMalformed) {
  const std::string ok("\x03\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01xy", 14);
  ASSERT_TRUE(dcep::parse_open(bytes(ok)));
  for (size_t n = 0; n < ok.size(); ++n)
    EXPECT_FALSE(dcep::parse_open(bytes(ok.substr(0, n)))) << n;
  EXPECT_FALSE(dcep::parse_open(bytes(ok + "z")));  // a byte past the protocol
  std::string bad = ok;
  bad[0] = dcep::kAck;
  EXPECT_FALSE(dcep::parse_open(bytes(bad)));
  for (uint8_t type : {0x03, 0x7f, 0x83, 0xff}) {
    bad = ok;
    bad[1] = static_cast<char>(type);
    EXPECT_FALSE(dcep::parse_open(bytes(bad))) << int(type);
  }
  bad = ok;
  bad[8] = '\xff';  // label length past the end
  EXPECT_FALSE(dcep::parse_open(bytes(bad)));
  bad = ok;
  bad[10] = '\xff';  // protocol length past the end
  EXPECT_FALSE(dcep::parse_open(bytes(bad)));
}

TEST(DcepAck, IsOneByte) { EXPECT_EQ(dcep::ack_message(), std::vector<uint8_t>{0x02}); }

}  // namespace
}  // namespace seedcast::rtc
