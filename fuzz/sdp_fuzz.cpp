// libFuzzer target: SDP offers (rtc::parse_offer) and the answers written for them. Whatever the
// text, nothing crashes and a refusal says why. For an accepted offer: its ICE credentials are
// ice-chars of the allowed lengths and its mid a token; the answer is deterministic, every line of
// it is "<letter>=<printable text>" ending in CRLF, it has one m-line per offered m-line, names
// the offer's mid in a=mid and a=group:BUNDLE, and, read back as an offer (setup made actpass,
// ice-lite dropped) when within the reader's limits, it gives the answer's own credentials,
// fingerprint, mid, sctp-port and the same m-lines.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seedcast/rtc/sdp.hpp"

namespace {

using namespace seedcast::rtc;

void check(bool ok) {
  if (!ok) std::abort();
}

bool ice_chars(const std::string& s, size_t min) {
  return s.size() >= min && s.size() <= 256 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
         });
}

std::string replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  check(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto offer = parse_offer(text, &why);
  if (!offer) {
    check(!why.empty() && offer.error() == make_error(errc::bad_sdp));
    return 0;
  }
  check(ice_chars(offer->ice_ufrag, 4) && ice_chars(offer->ice_pwd, 22));
  check(offer->setup == "actpass" || offer->setup == "active");
  check(offer->data_mline < offer->mlines.size() &&
        offer->mlines[offer->data_mline].mid == offer->mid);
  check(offer->sctp_port != 0);

  Answer a;
  a.session_id = 0x8000000000000001ull;
  a.ice_ufrag = "AnsU";
  a.ice_pwd = "answer/password+0123456789";
  for (size_t i = 0; i < a.fingerprint.size(); ++i) a.fingerprint[i] = static_cast<uint8_t>(i * 7);
  a.candidates = {*Address::parse("192.0.2.1", 3478), *Address::parse("2001:db8::1", 3478)};
  const std::string answer = write_answer(*offer, a);
  check(answer == write_answer(*offer, a));

  check(answer.size() >= 2 && answer.substr(answer.size() - 2) == "\r\n");
  size_t mlines = 0;
  bool mid_line = false, bundle = false;
  for (size_t at = 0; at < answer.size();) {
    const size_t end = answer.find("\r\n", at);
    check(end != std::string::npos);
    const std::string_view line(answer.data() + at, end - at);
    at = end + 2;
    check(line.size() >= 2 && line[0] >= 'a' && line[0] <= 'z' && line[1] == '=');
    for (char c : line) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    mlines += line[0] == 'm';
    mid_line = mid_line || line == "a=mid:" + offer->mid;
    bundle = bundle || line == "a=group:BUNDLE " + offer->mid;
  }
  check(mlines == offer->mlines.size());
  check(offer->mid.empty() || (mid_line && bundle));

  // Read back when it fits the reader's limits (an offer of many m-lines without mids has an
  // answer of more lines than it).
  if (answer.size() > 64 * 1024 || std::count(answer.begin(), answer.end(), '\n') > 1000) return 0;
  std::string again =
      replace(replace(answer, "a=setup:passive", "a=setup:actpass"), "a=ice-lite\r\n", "");
  auto back = parse_offer(again, &why);
  check(back.has_value());
  check(back->ice_ufrag == a.ice_ufrag && back->ice_pwd == a.ice_pwd &&
        back->fingerprint == a.fingerprint);
  check(back->mid == offer->mid && back->sctp_port == offer->sctp_port &&
        back->max_message_size == a.max_message_size);
  check(back->mlines.size() == offer->mlines.size() && back->data_mline == offer->data_mline);
  for (size_t i = 0; i < back->mlines.size(); ++i) {
    check(back->mlines[i].media == offer->mlines[i].media &&
          back->mlines[i].protocol == offer->mlines[i].protocol);
    check(back->mlines[i].format == offer->mlines[i].format &&
          back->mlines[i].mid == offer->mlines[i].mid);
  }
  return 0;
}
