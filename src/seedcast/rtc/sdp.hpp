#pragma once
// SDP (RFC 8866) for WebRTC data channels (RFC 8841, JSEP RFC 8829): reading the offers browsers
// send (WebTorrent and p2p-media-loader: non-trickle, one data-channel m-line) and writing the
// answers of an ICE-lite, DTLS-passive server. Only what data channels need.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/rtc/error.hpp"
#include "seedcast/rtc/address.hpp"

namespace seedcast::rtc {

struct Offer {
  std::string ice_ufrag;  // session- or media-level; media-level wins
  std::string ice_pwd;
  std::array<uint8_t, 32> fingerprint{};  // a=fingerprint:sha-256 (the only hash accepted)
  // "actpass" or "active" (a passive offerer cannot be answered passive); an offer without
  // a=setup reads "active" (RFC 4145 §4.1).
  std::string setup;
  std::string mid;                        // of the data-channel m-line ("" when it has none)
  uint16_t sctp_port = 5000;              // a=sctp-port
  uint32_t max_message_size = 65536;      // a=max-message-size (RFC 8841 §6: 64 KiB when absent; 0 = no limit)
  // Every m-line in order: the answer has as many, the others rejected (port 0).
  struct MLine {
    std::string media;     // "application", "audio", …
    std::string protocol;  // "UDP/DTLS/SCTP"
    std::string format;    // "webrtc-datachannel"
    std::string mid;
  };
  std::vector<MLine> mlines;
  size_t data_mline = 0;  // index of the data-channel m-line in mlines
};

// The offer in `sdp` (CRLF or LF line ends), or an error when it is malformed or
// offers no usable data channel (errc::bad_sdp, `why` says what): no "m=application … UDP/DTLS/SCTP webrtc-datachannel" line
// (the legacy "DTLS/SCTP 5000" form is refused too), no ice-ufrag/ice-pwd (ice-chars, 4..256
// and 22..256 long), no sha-256 fingerprint of 32 bytes, setup passive or holdconn, an ICE-lite
// offerer (it would send no checks). Malformed: not starting with v=0, a line that is not
// "<letter>=…", a control character, an m-line that is not "media port proto fmt…" of tokens,
// a mid that is not a token or names two m-lines, a malformed or repeated attribute the answer
// depends on (of the session or the data channel's m-section). The first data-channel m-line is
// the one answered; text past 64 KiB or 1000 lines is refused. Never throws on hostile text
// (only std::bad_alloc).
result<Offer> parse_offer(std::string_view sdp, std::string* why = nullptr);  // errors: errc::bad_sdp

struct Answer {
  uint64_t session_id = 0;  // o= line
  std::string ice_ufrag;
  std::string ice_pwd;
  std::array<uint8_t, 32> fingerprint{};  // the server certificate's SHA-256
  std::vector<Address> candidates;        // host candidates, in this order of preference
  uint32_t max_message_size = 262144;
};

// The answer to `offer`: a=ice-lite, a=setup:passive, a=ice-ufrag/pwd, a=fingerprint:sha-256,
// one a=candidate per address (UDP, typ host, decreasing priority) and a=end-of-candidates on
// the data-channel m-line, which echoes the offer's mid and sctp-port; a=group:BUNDLE of that
// mid; every other m-line rejected (port 0, same media, protocol and first format, its mid, out
// of the bundle). CRLF line ends. The o= session id is `session_id` below 2^63 (JSEP §5.2.1).
std::string write_answer(const Offer& offer, const Answer& answer);

// The fingerprint as SDP writes it: "AB:CD:…" (upper-case hex pairs joined by ':').
std::string fingerprint_text(const std::array<uint8_t, 32>& fp);

}  // namespace seedcast::rtc
