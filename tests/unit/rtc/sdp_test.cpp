#include "seedcast/rtc/sdp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace seedcast::rtc {
namespace {

// Real offers, captured on a Debian 12 test machine (its addresses: 192.0.2.2, fd00::2) and
// pasted verbatim, one SDP line per literal.
// clang-format off
// @roamhq/wrtc 0.10.0 (Node 20): createDataChannel("x"), createOffer, ICE gathering complete with iceServers: [].
constexpr std::string_view kWrtcOffer =
    "v=0\r\n"
    "o=- 1205835380095752335 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 42833 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 192.0.2.2\r\n"
    "a=candidate:3077952869 1 udp 2122265343 fd00::2 56084 typ host generation 0 network-id 2\r\n"
    "a=candidate:3229573512 1 udp 2122194687 192.0.2.2 42833 typ host generation 0 network-id 1\r\n"
    "a=candidate:559267639 1 udp 2122136831 ::1 43002 typ host generation 0 network-id 4\r\n"
    "a=candidate:1510613869 1 udp 2122063615 127.0.0.1 40259 typ host generation 0 network-id 3\r\n"
    "a=candidate:4193659285 1 tcp 1518285567 fd00::2 51755 typ host tcptype passive generation 0 network-id 2\r\n"
    "a=candidate:2398920056 1 tcp 1518214911 192.0.2.2 52161 typ host tcptype passive generation 0 network-id 1\r\n"
    "a=candidate:1876313031 1 tcp 1518157055 ::1 50667 typ host tcptype passive generation 0 network-id 4\r\n"
    "a=candidate:344579997 1 tcp 1518083839 127.0.0.1 52337 typ host tcptype passive generation 0 network-id 3\r\n"
    "a=ice-ufrag:M1ys\r\n"
    "a=ice-pwd:FQsbytJn9l3z28F/FJumiMqQ\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 B9:4D:5E:32:2B:F8:01:78:46:1F:6D:82:16:3A:A8:D4:3F:12:A7:44:21:53:AF:B7:04:04:25:DA:53:83:51:96\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

// headless Chromium 156 (Debian 12, --allow-loopback-in-peer-connection): the same.
constexpr std::string_view kChromiumOffer =
    "v=0\r\n"
    "o=- 8887008278288952879 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=application 35876 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 192.0.2.2\r\n"
    "a=candidate:2383563841 1 udp 2113937151 192.0.2.2 35876 typ host generation 0 network-cost 999\r\n"
    "a=candidate:2304778481 1 udp 2113942271 fd00::2 47229 typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:+att\r\n"
    "a=ice-pwd:UiF7kbCoQ8CeSuC71auEPnnL\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 C2:0F:BD:92:8E:90:4A:D9:6F:CE:10:9B:CA:AD:1E:1D:41:ED:2A:8D:6B:CB:1C:0C:62:C8:77:4B:15:BB:85:E7\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";

// headless Chromium 156: addTransceiver("audio") and createDataChannel("x").
constexpr std::string_view kChromiumAudioOffer =
    "v=0\r\n"
    "o=- 5192693568611571058 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS\r\n"
    "m=audio 51398 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 192.0.2.2\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:3578016919 1 udp 2113937151 192.0.2.2 51398 typ host generation 0 network-cost 999\r\n"
    "a=candidate:3526776871 1 udp 2113942271 fd00::2 33749 typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:5FXJ\r\n"
    "a=ice-pwd:PbG+4/fj0rDvFULzf/9r877Q\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 7E:43:27:A6:28:99:F3:92:68:44:5D:C6:A0:71:84:76:FC:E4:7B:95:84:DC:5D:8E:04:52:07:AE:5E:46:01:51\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendrecv\r\n"
    "a=msid:- 027ee7bf-37b9-4874-84cc-028b20d95c44\r\n"
    "a=rtcp-mux\r\n"
    "a=rtcp-rsize\r\n"
    "a=rtcp-xr:rcvr-rtt=all\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\n"
    "a=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\n"
    "a=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:3433253399 cname:A0gzZs6vOBnhkZC0\r\n"
    "a=ssrc:3433253399 msid:- 027ee7bf-37b9-4874-84cc-028b20d95c44\r\n"
    "m=application 41555 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "c=IN IP4 192.0.2.2\r\n"
    "a=candidate:3578016919 1 udp 2113937151 192.0.2.2 41555 typ host generation 0 network-cost 999\r\n"
    "a=candidate:3526776871 1 udp 2113942271 fd00::2 56795 typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:5FXJ\r\n"
    "a=ice-pwd:PbG+4/fj0rDvFULzf/9r877Q\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 7E:43:27:A6:28:99:F3:92:68:44:5D:C6:A0:71:84:76:FC:E4:7B:95:84:DC:5D:8E:04:52:07:AE:5E:46:01:51\r\n"
    "a=setup:actpass\r\n"
    "a=mid:1\r\n"
    "a=sctp-port:5000\r\n"
    "a=max-message-size:262144\r\n";
// clang-format on

std::array<uint8_t, 32> fp(uint8_t first) {
  std::array<uint8_t, 32> f{};
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<uint8_t>(first + i);
  return f;
}

Answer server_answer() {
  Answer a;
  a.session_id = 4242;
  a.ice_ufrag = "SrvUfrag";
  a.ice_pwd = "ServerPassword+0123456/x";
  a.fingerprint = fp(0xA0);
  a.candidates = {*Address::parse("192.0.2.10", 3478), *Address::parse("2001:db8::10", 3478)};
  return a;
}

std::string refusal(std::string_view sdp) {
  std::string why;
  auto r = parse_offer(sdp, &why);
  EXPECT_FALSE(r) << sdp;
  if (r) return "accepted";
  EXPECT_EQ(r.error(), make_error(errc::bad_sdp));
  EXPECT_FALSE(why.empty());
  return why;
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(SdpOffer, ReadsWrtcOffer) {
  std::string why;
  auto o = parse_offer(kWrtcOffer, &why);
  ASSERT_TRUE(o) << why;
  EXPECT_EQ(o->ice_ufrag, "M1ys");
  EXPECT_EQ(o->ice_pwd, "FQsbytJn9l3z28F/FJumiMqQ");
  EXPECT_EQ(fingerprint_text(o->fingerprint),
            "B9:4D:5E:32:2B:F8:01:78:46:1F:6D:82:16:3A:A8:D4:3F:12:A7:44:21:53:AF:B7:04:04:25:DA:"
            "53:83:51:96");
  EXPECT_EQ(o->setup, "actpass");
  EXPECT_EQ(o->mid, "0");
  EXPECT_EQ(o->sctp_port, 5000);
  EXPECT_EQ(o->max_message_size, 262144u);
  ASSERT_EQ(o->mlines.size(), 1u);
  EXPECT_EQ(o->data_mline, 0u);
  EXPECT_EQ(o->mlines[0].media, "application");
  EXPECT_EQ(o->mlines[0].protocol, "UDP/DTLS/SCTP");
  EXPECT_EQ(o->mlines[0].format, "webrtc-datachannel");
  EXPECT_EQ(o->mlines[0].mid, "0");
}

TEST(SdpOffer, ReadsChromiumOffer) {
  std::string why;
  auto o = parse_offer(kChromiumOffer, &why);
  ASSERT_TRUE(o) << why;
  EXPECT_EQ(o->ice_ufrag, "+att");  // '+' is an ice-char
  EXPECT_EQ(o->ice_pwd, "UiF7kbCoQ8CeSuC71auEPnnL");
  EXPECT_EQ(o->fingerprint[0], 0xC2);
  EXPECT_EQ(o->fingerprint[31], 0xE7);
  EXPECT_EQ(o->mid, "0");
}

TEST(SdpOffer, ReadsLfLineEnds) {
  std::string lf(kChromiumOffer);
  for (size_t at; (at = lf.find("\r\n")) != std::string::npos;) lf.erase(at, 1);
  auto o = parse_offer(lf);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ice_ufrag, "+att");
  EXPECT_EQ(o->max_message_size, 262144u);
}

// The answer as the reference (docs: webrtc-server.md) lays it out, byte for byte.
TEST(SdpAnswer, AnswersWrtcOffer) {
  auto o = parse_offer(kWrtcOffer);
  ASSERT_TRUE(o);
  EXPECT_EQ(write_answer(*o, server_answer()),
            "v=0\r\n"
            "o=- 4242 2 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "t=0 0\r\n"
            "a=group:BUNDLE 0\r\n"
            "a=ice-lite\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "a=mid:0\r\n"
            "a=ice-ufrag:SrvUfrag\r\n"
            "a=ice-pwd:ServerPassword+0123456/x\r\n"
            "a=fingerprint:sha-256 A0:A1:A2:A3:A4:A5:A6:A7:A8:A9:AA:AB:AC:AD:AE:AF:"
            "B0:B1:B2:B3:B4:B5:B6:B7:B8:B9:BA:BB:BC:BD:BE:BF\r\n"
            "a=setup:passive\r\n"
            "a=sctp-port:5000\r\n"
            "a=max-message-size:262144\r\n"
            "a=candidate:1 1 udp 2130706431 192.0.2.10 3478 typ host\r\n"
            "a=candidate:2 1 udp 2130706175 2001:db8::10 3478 typ host\r\n"
            "a=end-of-candidates\r\n");
}

TEST(SdpAnswer, RejectsOtherMediaAndBundlesOnlyTheDataChannel) {
  std::string why;
  auto o = parse_offer(kChromiumAudioOffer, &why);
  ASSERT_TRUE(o) << why;
  ASSERT_EQ(o->mlines.size(), 2u);
  EXPECT_EQ(o->data_mline, 1u);
  EXPECT_EQ(o->mid, "1");
  EXPECT_EQ(o->mlines[0].media, "audio");
  EXPECT_EQ(o->mlines[0].protocol, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(o->mlines[0].format, "111");
  EXPECT_EQ(o->mlines[0].mid, "0");
  auto a = server_answer();
  a.candidates.resize(1);
  a.max_message_size = 65536;
  EXPECT_EQ(write_answer(*o, a),
            "v=0\r\n"
            "o=- 4242 2 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "t=0 0\r\n"
            "a=group:BUNDLE 1\r\n"
            "a=ice-lite\r\n"
            "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "a=mid:0\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "a=mid:1\r\n"
            "a=ice-ufrag:SrvUfrag\r\n"
            "a=ice-pwd:ServerPassword+0123456/x\r\n"
            "a=fingerprint:sha-256 A0:A1:A2:A3:A4:A5:A6:A7:A8:A9:AA:AB:AC:AD:AE:AF:"
            "B0:B1:B2:B3:B4:B5:B6:B7:B8:B9:BA:BB:BC:BD:BE:BF\r\n"
            "a=setup:passive\r\n"
            "a=sctp-port:5000\r\n"
            "a=max-message-size:65536\r\n"
            "a=candidate:1 1 udp 2130706431 192.0.2.10 3478 typ host\r\n"
            "a=end-of-candidates\r\n");
}

TEST(SdpAnswer, EchoesSctpPortAndKeepsSessionIdBelow2To63) {
  auto o = parse_offer(replace(std::string(kWrtcOffer), "a=sctp-port:5000", "a=sctp-port:5001"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->sctp_port, 5001);
  auto a = server_answer();
  a.session_id = ~uint64_t{0};
  a.candidates.clear();
  const auto text = write_answer(*o, a);
  EXPECT_NE(text.find("\r\no=- 9223372036854775807 2 IN IP4 127.0.0.1\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\na=sctp-port:5001\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\na=end-of-candidates\r\n"), std::string::npos);
  EXPECT_EQ(text.find("a=candidate"), std::string::npos);
}

TEST(SdpOffer, MediaLevelWinsOverSessionLevel) {
  std::string sdp = replace(
      std::string(kWrtcOffer), "a=group:BUNDLE 0\r\n",
      "a=group:BUNDLE 0\r\na=ice-ufrag:SESSION\r\na=ice-pwd:sessionsessionsessionsession\r\n"
      "a=setup:passive\r\n");
  auto o = parse_offer(sdp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ice_ufrag, "M1ys");
  EXPECT_EQ(o->ice_pwd, "FQsbytJn9l3z28F/FJumiMqQ");
  EXPECT_EQ(o->setup, "actpass");
  // Session-level values count when the m-section has none.
  sdp = replace(sdp, "a=ice-ufrag:M1ys\r\n", "");
  sdp = replace(sdp, "a=ice-pwd:FQsbytJn9l3z28F/FJumiMqQ\r\n", "");
  o = parse_offer(sdp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->ice_ufrag, "SESSION");
  EXPECT_EQ(o->ice_pwd, "sessionsessionsessionsession");
}

// Firefox writes the fingerprint at session level (no Firefox on the test machine: the offer
// captured from wrtc, its fingerprint moved up).
TEST(SdpOffer, SessionLevelFingerprint) {
  const std::string line =
      "a=fingerprint:sha-256 B9:4D:5E:32:2B:F8:01:78:46:1F:6D:82:16:3A:A8:D4:3F:12:A7:44:21:53:AF:"
      "B7:04:04:25:DA:53:83:51:96\r\n";
  std::string sdp = replace(std::string(kWrtcOffer), line, "");
  sdp = replace(sdp, "t=0 0\r\n", "t=0 0\r\n" + line);
  auto o = parse_offer(sdp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->fingerprint[0], 0xB9);
  EXPECT_EQ(o->fingerprint[31], 0x96);
}

TEST(SdpOffer, DefaultsAndOtherFingerprints) {
  std::string sdp(kWrtcOffer);
  sdp = replace(sdp, "a=sctp-port:5000\r\n", "");
  sdp = replace(sdp, "a=max-message-size:262144\r\n", "");
  sdp = replace(sdp, "a=setup:actpass\r\n", "");
  // A sha-1 fingerprint beside the sha-256 one is ignored; the hash name is case-insensitive.
  sdp = replace(sdp, "a=fingerprint:sha-256", "a=fingerprint:sha-1 00:11\r\na=fingerprint:SHA-256");
  auto o = parse_offer(sdp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->sctp_port, 5000);
  EXPECT_EQ(o->max_message_size, 65536u);  // RFC 8841 §6
  EXPECT_EQ(o->setup, "active");           // RFC 4145 §4.1
  EXPECT_EQ(o->fingerprint[0], 0xB9);
  o = parse_offer(replace(std::string(kWrtcOffer), "a=setup:actpass", "a=setup:active"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->setup, "active");
  o = parse_offer(
      replace(std::string(kWrtcOffer), "a=max-message-size:262144", "a=max-message-size:0"));
  ASSERT_TRUE(o);
  EXPECT_EQ(o->max_message_size, 0u);
}

TEST(SdpOffer, RefusesWhatCannotBeAnswered) {
  const std::string w(kWrtcOffer);
  EXPECT_EQ(refusal(replace(w, "m=application 42833 UDP/DTLS/SCTP webrtc-datachannel",
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111")),
            "no m=application UDP/DTLS/SCTP webrtc-datachannel line");
  EXPECT_EQ(refusal(replace(w, "UDP/DTLS/SCTP webrtc-datachannel", "DTLS/SCTP 5000")),
            "only the legacy DTLS/SCTP data channel form, not UDP/DTLS/SCTP webrtc-datachannel");
  EXPECT_EQ(
      refusal(replace(w, "UDP/DTLS/SCTP webrtc-datachannel", "TCP/DTLS/SCTP webrtc-datachannel")),
      "no m=application UDP/DTLS/SCTP webrtc-datachannel line");
  EXPECT_EQ(refusal(replace(w, "a=ice-ufrag:M1ys\r\n", "")), "no a=ice-ufrag and a=ice-pwd");
  EXPECT_EQ(refusal(replace(w, "a=ice-pwd:FQsbytJn9l3z28F/FJumiMqQ\r\n", "")),
            "no a=ice-ufrag and a=ice-pwd");
  EXPECT_EQ(refusal(replace(w, "a=ice-ufrag:M1ys", "a=ice-ufrag:M1y")),
            "line 18: a=ice-ufrag is not 4..256 ice-chars");
  EXPECT_EQ(refusal(replace(w, "a=ice-ufrag:M1ys", "a=ice-ufrag:M1y-")),
            "line 18: a=ice-ufrag is not 4..256 ice-chars");
  EXPECT_EQ(
      refusal(replace(w, "a=ice-pwd:FQsbytJn9l3z28F/FJumiMqQ", "a=ice-pwd:FQsbytJn9l3z28F/FJumi")),
      "line 19: a=ice-pwd is not 22..256 ice-chars");
  EXPECT_EQ(refusal(replace(w, "a=ice-ufrag:M1ys", "a=ice-ufrag:" + std::string(257, 'u'))),
            "line 18: a=ice-ufrag is not 4..256 ice-chars");
  EXPECT_EQ(refusal(replace(w, "a=ice-ufrag:M1ys\r\n", "a=ice-ufrag:M1ys\r\na=ice-ufrag:M1yz\r\n")),
            "line 19: a=ice-ufrag repeated");
  EXPECT_EQ(refusal(replace(w, "a=fingerprint:sha-256", "a=fingerprint:sha-1")),
            "no a=fingerprint:sha-256");
  EXPECT_EQ(refusal(replace(w, "B9:4D:", "B9:")),
            "line 21: a=fingerprint:sha-256 is not 32 hex pairs");
  EXPECT_EQ(refusal(replace(w, "B9:4D:", "B9-4D:")),
            "line 21: a=fingerprint:sha-256 is not 32 hex pairs");
  EXPECT_EQ(refusal(replace(w, "B9:4D:", "BX:4D:")),
            "line 21: a=fingerprint:sha-256 is not 32 hex pairs");
  EXPECT_EQ(refusal(replace(w, "51:96", "51:96:00")),
            "line 21: a=fingerprint:sha-256 is not 32 hex pairs");
  EXPECT_EQ(refusal(replace(w, "a=fingerprint:sha-256 ", "a=fingerprint:sha-256")),
            "line 21: a=fingerprint has no hash function");
  EXPECT_EQ(refusal(replace(w, "a=setup:actpass", "a=setup:passive")),
            "a=setup:passive cannot be answered passive");
  EXPECT_EQ(refusal(replace(w, "a=setup:actpass", "a=setup:holdconn")),
            "a=setup:holdconn cannot be answered passive");
  EXPECT_EQ(refusal(replace(w, "a=setup:actpass", "a=setup:both")),
            "line 22: a=setup is not actpass, active, passive or holdconn");
  EXPECT_EQ(refusal(replace(w, "a=sctp-port:5000", "a=sctp-port:0")),
            "line 24: a=sctp-port is not a port");
  EXPECT_EQ(refusal(replace(w, "a=sctp-port:5000", "a=sctp-port:65536")),
            "line 24: a=sctp-port is not a port");
  EXPECT_EQ(refusal(replace(w, "a=sctp-port:5000", "a=sctp-port:-1")),
            "line 24: a=sctp-port is not a port");
  EXPECT_EQ(refusal(replace(w, "a=max-message-size:262144", "a=max-message-size:4294967296")),
            "line 25: a=max-message-size is not a 32-bit number");
  EXPECT_EQ(refusal(replace(w, "a=mid:0", "a=mid:0 1")), "line 23: a=mid is not a token");
  EXPECT_EQ(refusal(replace(w, "a=group:BUNDLE 0\r\n", "a=group:BUNDLE 0\r\na=ice-lite\r\n")),
            "the offerer is ICE-lite too: nobody would send checks");
}

TEST(SdpOffer, RefusesMalformedText) {
  const std::string w(kWrtcOffer);
  EXPECT_EQ(refusal(""), "empty");
  EXPECT_EQ(refusal("\r\n\r\n"), "empty");
  EXPECT_EQ(refusal(w.substr(5)), "does not start with v=0");
  EXPECT_EQ(refusal("v=1\r\n" + w.substr(5)), "does not start with v=0");
  EXPECT_EQ(refusal(replace(w, "s=-", "s=a\rb")), "line 3: control character");
  EXPECT_EQ(refusal(replace(w, "s=-", std::string("s=\0", 3))), "line 3: control character");
  EXPECT_EQ(refusal(replace(w, "s=-", "s=\x7f")), "line 3: control character");
  EXPECT_EQ(refusal(replace(w, "s=-", "S=-")), "line 3: not <type>=<value>");
  EXPECT_EQ(refusal(replace(w, "s=-", "s")), "line 3: not <type>=<value>");
  EXPECT_EQ(refusal(replace(w, "s=-", "s:-")), "line 3: not <type>=<value>");
  for (const char* m : {"m=application", "m=application 9 UDP/DTLS/SCTP",
                        "m=application x UDP/DTLS/SCTP webrtc-datachannel",
                        "m=application 65536 UDP/DTLS/SCTP webrtc-datachannel",
                        "m=application 9/x UDP/DTLS/SCTP webrtc-datachannel",
                        "m=application 9 UDP//SCTP webrtc-datachannel",
                        "m=appli\"cation 9 UDP/DTLS/SCTP webrtc-datachannel"})
    EXPECT_EQ(refusal(replace(w, "m=application 42833 UDP/DTLS/SCTP webrtc-datachannel", m)),
              "line 8: malformed m= line")
        << m;
  // A mid named by two m-lines.
  std::string two = w + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";
  EXPECT_EQ(refusal(two), "a=mid:0 names two m-lines");
  EXPECT_EQ(refusal(w + "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\na=mid:2\r\n"),
            "line 28: a=mid repeated");
}

TEST(SdpOffer, RefusesTooMuchText) {
  std::string big(kWrtcOffer);
  const std::string filler = "a=x-filler:" + std::string(100, 'f') + "\r\n";
  while (big.size() <= 64 * 1024) big += filler;
  EXPECT_EQ(refusal(big), "longer than 64 KiB");
  std::string many(kWrtcOffer);
  while (std::count(many.begin(), many.end(), '\n') <= 1000) many += "a=x\r\n";
  EXPECT_EQ(refusal(many), "more than 1000 lines");
  // Exactly 1000 lines are read.
  many = std::string(kWrtcOffer);
  while (std::count(many.begin(), many.end(), '\n') < 1000) many += "a=x\r\n";
  EXPECT_TRUE(parse_offer(many));
}

TEST(SdpOffer, SecondDataChannelLineIsRejectedNotAnswered) {
  const std::string sdp =
      std::string(kWrtcOffer) +
      "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:7\r\n"
      "a=ice-ufrag:zzzz\r\na=ice-pwd:zzzzzzzzzzzzzzzzzzzzzzzz\r\n";
  auto o = parse_offer(sdp);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->data_mline, 0u);
  EXPECT_EQ(o->ice_ufrag, "M1ys");
  ASSERT_EQ(o->mlines.size(), 2u);
  EXPECT_EQ(o->mlines[1].mid, "7");
  const auto text = write_answer(*o, server_answer());
  EXPECT_NE(text.find("\r\na=group:BUNDLE 0\r\n"), std::string::npos);
  EXPECT_NE(text.find("\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 "
                      "0.0.0.0\r\na=mid:7\r\n"),
            std::string::npos);
}

TEST(SdpAnswer, FingerprintText) {
  std::array<uint8_t, 32> f{};
  f[0] = 0x0f;
  f[31] = 0xf0;
  EXPECT_EQ(fingerprint_text(f),
            "0F:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
            "00:00:00:F0");
}

}  // namespace
}  // namespace seedcast::rtc
