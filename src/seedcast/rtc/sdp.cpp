#include "seedcast/rtc/sdp.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

namespace seedcast::rtc {
namespace {

constexpr size_t kMaxSdpBytes = 64 * 1024;
constexpr size_t kMaxLines = 1000;
constexpr size_t kMaxToken = 256;  // mids, media, protocols and formats we echo

// RFC 8866 token-char: what may be echoed into the answer without quoting or injection.
bool token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D ||
         u == 0x2E || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) ||
         (u >= 0x5E && u <= 0x7E);
}
bool is_token(std::string_view s) {
  return !s.empty() && s.size() <= kMaxToken && std::all_of(s.begin(), s.end(), token_char);
}
// proto = token *("/" token)
bool is_proto(std::string_view s) {
  if (s.empty() || s.size() > kMaxToken) return false;
  size_t start = 0;
  for (;;) {
    const size_t slash = s.find('/', start);
    if (!is_token(s.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}
bool ice_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}
bool is_ice_string(std::string_view s, size_t min) {
  return s.size() >= min && s.size() <= 256 && std::all_of(s.begin(), s.end(), ice_char);
}
template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  if (s.empty() || s.size() > 10 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// "AB:CD:…" with exactly 32 pairs.
std::optional<std::array<uint8_t, 32>> parse_fingerprint(std::string_view s) {
  std::array<uint8_t, 32> fp{};
  if (s.size() != 32 * 3 - 1) return std::nullopt;
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(s[3 * i]), lo = hex_value(s[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 31 && s[3 * i + 2] != ':')) return std::nullopt;
    fp[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return fp;
}
std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < s.size()) {
    const size_t end = std::min(s.find(' ', at), s.size());
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// The attributes of one level (the session, or one m-section) that the answer depends on.
struct Section {
  std::optional<std::string> ice_ufrag, ice_pwd, setup, mid;
  std::optional<std::array<uint8_t, 32>> fingerprint;
  std::optional<uint16_t> sctp_port;
  std::optional<uint32_t> max_message_size;
  bool ice_lite = false;
};

enum class Level { session, data, other };

// Reads one "a=" line of `level` into `s`; false (and `why`) when it is malformed or repeated.
// Only the session and the data channel's m-section matter to the answer; elsewhere only a=mid
// is read (the answer echoes it). Media-level attributes at session level are ignored (RFC 8866
// §5.13).
bool read_attribute(std::string_view a, Section& s, Level level, std::string& why) {
  const size_t colon = a.find(':');
  const std::string_view name = a.substr(0, colon);
  const std::string_view value =
      colon == std::string_view::npos ? std::string_view() : a.substr(colon + 1);
  auto bad = [&why](const char* reason) {
    why = reason;
    return false;
  };
  auto once = [&](auto& field, auto v) {
    if (field) {
      why = "a=" + std::string(name) + " repeated";
      return false;
    }
    field = std::move(v);
    return true;
  };
  if (name == "mid" && level != Level::session) {
    if (!is_token(value)) return bad("a=mid is not a token");
    return once(s.mid, std::string(value));
  }
  if (level == Level::other) return true;
  if (name == "ice-ufrag") {
    if (!is_ice_string(value, 4)) return bad("a=ice-ufrag is not 4..256 ice-chars");
    return once(s.ice_ufrag, std::string(value));
  }
  if (name == "ice-pwd") {
    if (!is_ice_string(value, 22)) return bad("a=ice-pwd is not 22..256 ice-chars");
    return once(s.ice_pwd, std::string(value));
  }
  if (name == "ice-lite") {
    s.ice_lite = true;
    return true;
  }
  if (name == "setup") {
    if (value != "actpass" && value != "active" && value != "passive" && value != "holdconn")
      return bad("a=setup is not actpass, active, passive or holdconn");
    return once(s.setup, std::string(value));
  }
  if (name == "fingerprint") {
    // Several hash functions may be offered (RFC 8122 §5); only sha-256 is read.
    const size_t space = value.find(' ');
    if (space == std::string_view::npos) return bad("a=fingerprint has no hash function");
    if (!iequals(value.substr(0, space), "sha-256")) return true;
    auto fp = parse_fingerprint(value.substr(space + 1));
    if (!fp) return bad("a=fingerprint:sha-256 is not 32 hex pairs");
    return once(s.fingerprint, *fp);
  }
  if (level == Level::session) return true;
  if (name == "sctp-port") {
    auto port = number<uint32_t>(value);
    if (!port || *port == 0 || *port > 65535) return bad("a=sctp-port is not a port");
    return once(s.sctp_port, static_cast<uint16_t>(*port));
  }
  if (name == "max-message-size") {
    auto size = number<uint32_t>(value);
    if (!size) return bad("a=max-message-size is not a 32-bit number");
    return once(s.max_message_size, *size);
  }
  return true;  // any other attribute: nothing the answer needs
}

// "m=<media> <port>[/<n>] <proto> <fmt> …" into `m`; false when malformed.
bool read_mline(std::string_view v, Offer::MLine& m, bool& data) {
  const auto f = split_spaces(v);
  if (f.size() < 4 || !is_token(f[0]) || !is_proto(f[2])) return false;
  const std::string_view port = f[1].substr(0, f[1].find('/'));
  if (auto p = number<uint32_t>(port); !p || *p > 65535) return false;
  if (f[1].size() > port.size() && !number<uint32_t>(f[1].substr(port.size() + 1))) return false;
  for (size_t i = 3; i < f.size(); ++i)
    if (!is_token(f[i])) return false;
  m.media = f[0];
  m.protocol = f[2];
  m.format = f[3];
  data = f[0] == "application" && f[2] == "UDP/DTLS/SCTP" &&
         std::find(f.begin() + 3, f.end(), "webrtc-datachannel") != f.end();
  if (data) m.format = "webrtc-datachannel";
  return true;
}

}  // namespace

result<Offer> parse_offer(std::string_view sdp, std::string* why) {
  std::string reason;
  auto refuse = [&](std::string r) -> result<Offer> {
    if (why) *why = std::move(r);
    return fail(make_error(errc::bad_sdp));
  };
  if (sdp.size() > kMaxSdpBytes) return refuse("longer than 64 KiB");

  Offer offer;
  Section session, data, current;  // `current`: the m-section being read
  bool seen_version = false, have_data = false, in_data = false, legacy = false;
  auto end_section = [&] {
    if (offer.mlines.empty()) return;
    offer.mlines.back().mid = current.mid.value_or("");
    if (in_data) data = std::move(current);
    current = Section();
  };
  size_t lines = 0;
  size_t at = 0;
  while (at < sdp.size()) {
    const size_t nl = std::min(sdp.find('\n', at), sdp.size());
    std::string_view line = sdp.substr(at, nl - at);
    at = nl + 1;
    if (++lines > kMaxLines) return refuse("more than 1000 lines");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(lines) + ": ";
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return refuse(where + "control character");
    }
    if (line.size() < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=')
      return refuse(where + "not <type>=<value>");
    const std::string_view value = line.substr(2);
    if (!seen_version && line != "v=0") return refuse("does not start with v=0");
    seen_version = true;
    if (line[0] == 'm') {
      end_section();
      Offer::MLine m;
      bool is_data = false;
      if (!read_mline(value, m, is_data)) return refuse(where + "malformed m= line");
      legacy = legacy || m.protocol == "DTLS/SCTP";
      in_data = is_data && !have_data;  // the first data-channel m-line is the one answered
      if (in_data) {
        have_data = true;
        offer.data_mline = offer.mlines.size();
      }
      offer.mlines.push_back(std::move(m));
      continue;
    }
    if (line[0] != 'a') continue;
    const Level level = offer.mlines.empty() ? Level::session
                        : in_data            ? Level::data
                                             : Level::other;
    if (!read_attribute(value, level == Level::session ? session : current, level, reason))
      return refuse(where + reason);
  }
  end_section();
  if (!seen_version) return refuse("empty");
  if (!have_data)
    return refuse(
        legacy ? "only the legacy DTLS/SCTP data channel form, not UDP/DTLS/SCTP webrtc-datachannel"
               : "no m=application UDP/DTLS/SCTP webrtc-datachannel line");
  if (session.ice_lite) return refuse("the offerer is ICE-lite too: nobody would send checks");

  auto pick = [](auto& media, auto& sess) { return media ? media : sess; };
  const auto ufrag = pick(data.ice_ufrag, session.ice_ufrag);
  const auto pwd = pick(data.ice_pwd, session.ice_pwd);
  const auto fingerprint = pick(data.fingerprint, session.fingerprint);
  // RFC 4145 §4.1: an offer without a=setup is "active" (JSEP offers always say actpass).
  const auto setup = pick(data.setup, session.setup).value_or("active");
  if (!ufrag || !pwd) return refuse("no a=ice-ufrag and a=ice-pwd");
  if (!fingerprint) return refuse("no a=fingerprint:sha-256");
  if (setup != "actpass" && setup != "active")
    return refuse("a=setup:" + setup + " cannot be answered passive");

  std::set<std::string_view> mids;
  for (const auto& m : offer.mlines)
    if (!m.mid.empty() && !mids.insert(m.mid).second)
      return refuse("a=mid:" + m.mid + " names two m-lines");

  offer.ice_ufrag = *ufrag;
  offer.ice_pwd = *pwd;
  offer.fingerprint = *fingerprint;
  offer.setup = setup;
  offer.mid = offer.mlines[offer.data_mline].mid;
  offer.sctp_port = data.sctp_port.value_or(5000);
  offer.max_message_size = data.max_message_size.value_or(65536);
  return offer;
}

std::string fingerprint_text(const std::array<uint8_t, 32>& fp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(fp.size() * 3);
  for (size_t i = 0; i < fp.size(); ++i) {
    if (i) out += ':';
    out += kHex[fp[i] >> 4];
    out += kHex[fp[i] & 15];
  }
  return out;
}

std::string write_answer(const Offer& offer, const Answer& answer) {
  std::string s;
  auto line = [&s](std::string_view a, std::string_view b = {}, std::string_view c = {}) {
    s.append(a).append(b).append(c).append("\r\n");
  };
  // JSEP §5.2.1: the session id is below 2^63 (some readers keep it in a signed 64-bit number).
  line("v=0");
  line("o=- ", std::to_string(answer.session_id & 0x7fffffffffffffffull), " 2 IN IP4 127.0.0.1");
  line("s=-");
  line("t=0 0");
  if (!offer.mid.empty()) line("a=group:BUNDLE ", offer.mid);
  line("a=ice-lite");
  for (size_t i = 0; i < offer.mlines.size(); ++i) {
    const auto& m = offer.mlines[i];
    if (i != offer.data_mline) {
      // Rejected: port 0, outside the bundle (RFC 8843 §7.3.3), the offer's mid kept.
      line("m=", m.media, " 0 " + m.protocol + " " + m.format);
      line("c=IN IP4 0.0.0.0");
      if (!m.mid.empty()) line("a=mid:", m.mid);
      continue;
    }
    line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
    line("c=IN IP4 0.0.0.0");
    if (!offer.mid.empty()) line("a=mid:", offer.mid);
    line("a=ice-ufrag:", answer.ice_ufrag);
    line("a=ice-pwd:", answer.ice_pwd);
    line("a=fingerprint:sha-256 ", fingerprint_text(answer.fingerprint));
    line("a=setup:passive");
    line("a=sctp-port:", std::to_string(offer.sctp_port));
    line("a=max-message-size:", std::to_string(answer.max_message_size));
    // Host candidates (RFC 8445 §5.1.2.1): type preference 126, local preference falling with
    // the order given, component 1. Each address has its own foundation.
    for (size_t c = 0; c < answer.candidates.size(); ++c) {
      const uint32_t local_pref = 65535 - static_cast<uint32_t>(std::min<size_t>(c, 65535));
      const uint32_t priority = (126u << 24) | (local_pref << 8) | (256 - 1);
      const auto& a = answer.candidates[c];
      line("a=candidate:" + std::to_string(c + 1) + " 1 udp " + std::to_string(priority) + " ",
           a.ip_string() + " " + std::to_string(a.port), " typ host");
    }
    line("a=end-of-candidates");
  }
  return s;
}

}  // namespace seedcast::rtc
