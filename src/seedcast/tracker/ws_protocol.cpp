#include "seedcast/tracker/ws_protocol.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <simdjson.h>


namespace seedcast::tracker {
namespace od = simdjson::ondemand;
using simdjson::error_code;

namespace {

using Bytes20 = std::array<uint8_t, 20>;

// Containers nested deeper than this are refused (nothing in the protocol nests past 3).
constexpr int kMaxDepth = 32;

// ---- reading (simdjson On-Demand)
//
// On-Demand validates UTF-8 and string boundaries up front but checks the rest only as it is
// visited, so every value of a message is visited: one we do not need is walked by `check`.
// A value that is relayed verbatim (an offer, an answer) is walked too before its text is used,
// so what we relay is always valid JSON.

error_code check(od::value v, int depth);

error_code check_object(od::object o, int depth) {
  for (auto f : o) {
    od::field field;
    if (auto e = std::move(f).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    if (auto e = check(field.value(), depth + 1)) return e;
  }
  return simdjson::SUCCESS;
}

error_code check(od::value v, int depth) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      return check_object(o, depth);
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto x : a) {
        od::value item;
        if (auto e = std::move(x).get(item)) return e;
        if (auto e = check(item, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      double d;
      return v.get_double().get(d);
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool null = false;
      if (auto e = v.is_null().get(null)) return e;
      return null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// The JSON text of `v` after checking it; `doc` is the document it belongs to.
error_code raw_checked(od::document& doc, od::value v, int depth, std::string_view& out) {
  const char* start = v.raw_json_token().data();
  if (auto e = check(v, depth)) return e;
  const char* end;  // the next token: the ',' or '}' after the value
  if (auto e = doc.current_location().get(end)) return e;
  std::string_view raw(start, static_cast<size_t>(end - start));
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r'))
    raw.remove_suffix(1);
  out = raw;
  return simdjson::SUCCESS;
}

// A binary string field: its 20 bytes, or nullopt for anything else (still checked).
error_code binary(od::value v, int depth, std::optional<Bytes20>& out) {
  out.reset();
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::string) return check(v, depth);
  std::string_view s;
  if (auto e = v.get_string().get(s)) return e;
  Bytes20 b;
  if (decode_binary_string(s, b)) out = b;
  return simdjson::SUCCESS;
}

error_code string_or_empty(od::value v, int depth, std::string_view& out) {
  out = {};
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::string) return check(v, depth);
  return v.get_string().get(out);
}

// ---- writing

void append_number(std::string& out, int64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

constexpr char kHex[] = "0123456789abcdef";

// Appends the escape of an ASCII byte that needs one, or returns false.
bool append_escape(std::string& out, uint8_t c) {
  switch (c) {
    case '"': out += "\\\""; return true;
    case '\\': out += "\\\\"; return true;
    case '\b': out += "\\b"; return true;
    case '\f': out += "\\f"; return true;
    case '\n': out += "\\n"; return true;
    case '\r': out += "\\r"; return true;
    case '\t': out += "\\t"; return true;
    default:
      if (c >= 0x20) return false;
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(u, 6);
      return true;
  }
}

// Scratch space of this thread: the padded copy of the message being parsed and the parser
// (its strings are views into both, valid until the next message), and the output buffer.
struct Scratch {
  od::parser parser;
  std::string input;
  std::string out;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

bool decode_binary_string(std::string_view s, std::array<uint8_t, 20>& out) {
  if (s.size() == 20) {  // the usual peer id: 20 ASCII characters
    uint64_t a, b;
    uint32_t c;
    std::memcpy(&a, s.data(), 8);
    std::memcpy(&b, s.data() + 8, 8);
    std::memcpy(&c, s.data() + 16, 4);
    if (((a | b | c) & 0x8080808080808080ull) == 0) {
      std::memcpy(out.data(), s.data(), 20);
      return true;
    }
  }
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (n == 20) return false;
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      out[n++] = c;
    } else if ((c & 0xfe) == 0xc2 && i + 1 < s.size() && (static_cast<uint8_t>(s[i + 1]) & 0xc0) == 0x80) {
      out[n++] = static_cast<uint8_t>(((c & 0x03) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3f));
      ++i;
    } else {
      return false;  // a code point above U+00FF, or not UTF-8
    }
  }
  return n == 20;
}

std::string encode_binary_string(const uint8_t* bytes, size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    uint8_t b = bytes[i];
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
    } else {
      out.push_back(static_cast<char>(0xc0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    }
  }
  return out;
}

void append_json_string(std::string& out, std::string_view utf8) {
  out.push_back('"');
  size_t run = 0;  // bytes copied as they are, appended in one go
  for (size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<uint8_t>(utf8[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(utf8.data() + run, i - run);
    append_escape(out, c);
    run = i + 1;
  }
  out.append(utf8.data() + run, utf8.size() - run);
  out.push_back('"');
}

namespace {

// How each byte of a binary string is written: as itself, a JSON escape, or two UTF-8 bytes.
struct ByteText {
  uint8_t size = 0;
  char text[6] = {};
};
std::array<ByteText, 256> byte_texts() {
  std::array<ByteText, 256> t{};
  for (int b = 0; b < 256; ++b) {
    std::string s;
    if (b >= 0x80) {
      s.push_back(static_cast<char>(0xc0 | (b >> 6)));
      s.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    } else if (!append_escape(s, static_cast<uint8_t>(b))) {
      s.push_back(static_cast<char>(b));
    }
    t[b].size = static_cast<uint8_t>(s.size());
    std::memcpy(t[b].text, s.data(), s.size());
  }
  return t;
}
const std::array<ByteText, 256> kByteTexts = byte_texts();

}  // namespace

void append_json_binary_string(std::string& out, const uint8_t* bytes, size_t n) {
  out.push_back('"');
  char buf[20 * 6];
  for (size_t i = 0; i < n;) {
    const size_t end = std::min(n, i + 20);
    char* p = buf;
    for (; i < end; ++i) {
      const ByteText& t = kByteTexts[bytes[i]];
      std::memcpy(p, t.text, sizeof t.text);  // a fixed-size copy; only t.size bytes count
      p += t.size;
    }
    out.append(buf, static_cast<size_t>(p - buf));
  }
  out.push_back('"');
}

// What a message says, read in one pass (fields come in any order; the last of a repeated
// key wins, as in JSON.parse). Views point into the thread's Scratch.
struct WsProtocol::Message {
  struct Offer {
    bool usable = false;  // an object with "offer" and a valid "offer_id"
    std::string_view offer;
    Bytes20 offer_id{};
  };
  std::string_view action;
  bool info_hash_is_string = false;
  std::optional<Bytes20> info_hash;     // when a string
  size_t scrape_strings = 0;            // when an array: its strings…
  std::vector<std::optional<Bytes20>> scrape_hashes;  // …the first kMaxScrape + 1 of them
  std::optional<Bytes20> peer_id, to_peer_id, offer_id;
  std::string_view event;
  bool seeder = false;  // "left": 0
  bool has_answer = false;
  std::string_view answer;
  bool offers_is_array = false;
  size_t offers_count = 0;
  std::vector<Offer> offers;  // the first kMaxOffers

  // Empties it for the next message; the vectors keep their capacity.
  void clear() {
    auto s = std::move(scrape_hashes);
    auto o = std::move(offers);
    *this = Message();
    scrape_hashes = std::move(s);
    scrape_hashes.clear();
    offers = std::move(o);
    offers.clear();
  }
};

WsProtocol::WsProtocol(Tracker& tracker, std::function<bool(const InfoHash&)> allowed, std::shared_ptr<Mailbox> self,
                       WsOptions options)
    : tracker_(tracker), allowed_(std::move(allowed)), self_(std::move(self)), options_(std::move(options)) {}

namespace {

using Message = WsProtocol::Message;

error_code read_offer(od::document& doc, od::value v, Message::Offer& offer) {
  offer = {};
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::object) return check(v, 2);
  od::object o;
  if (auto e = v.get_object().get(o)) return e;
  bool has_offer = false;
  std::optional<Bytes20> id;
  for (auto f : o) {
    od::field field;
    if (auto e = std::move(f).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    if (key == "offer") {
      if (auto e = raw_checked(doc, field.value(), 3, offer.offer)) return e;
      has_offer = true;
    } else if (key == "offer_id") {
      if (auto e = binary(field.value(), 3, id)) return e;
    } else if (auto e = check(field.value(), 3)) {
      return e;
    }
  }
  offer.usable = has_offer && id;
  if (id) offer.offer_id = *id;
  return simdjson::SUCCESS;
}

error_code read_message(od::document& doc, Message& m) {
  od::object top;
  if (auto e = doc.get_object().get(top)) return e;
  for (auto f : top) {
    od::field field;
    if (auto e = std::move(f).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    od::value v = field.value();
    error_code e = simdjson::SUCCESS;
    if (key == "action") {
      e = string_or_empty(v, 1, m.action);
    } else if (key == "info_hash") {
      od::json_type type;
      if ((e = v.type().get(type))) return e;
      m.info_hash_is_string = type == od::json_type::string;
      m.info_hash.reset();
      m.scrape_strings = 0;
      m.scrape_hashes.clear();
      if (type == od::json_type::string) {
        e = binary(v, 1, m.info_hash);
      } else if (type == od::json_type::array) {
        od::array a;
        if ((e = v.get_array().get(a))) return e;
        for (auto x : a) {
          od::value item;
          if ((e = std::move(x).get(item))) return e;
          od::json_type t;
          if ((e = item.type().get(t))) return e;
          if (t != od::json_type::string) {  // skipped, as bittorrent-tracker does
            if ((e = check(item, 2))) return e;
            continue;
          }
          std::optional<Bytes20> h;
          if ((e = binary(item, 2, h))) return e;
          if (m.scrape_strings++ <= WsProtocol::kMaxScrape) m.scrape_hashes.push_back(h);
        }
      } else {
        e = check(v, 1);
      }
    } else if (key == "peer_id") {
      e = binary(v, 1, m.peer_id);
    } else if (key == "to_peer_id") {
      e = binary(v, 1, m.to_peer_id);
    } else if (key == "offer_id") {
      e = binary(v, 1, m.offer_id);
    } else if (key == "event") {
      e = string_or_empty(v, 1, m.event);
    } else if (key == "left") {
      od::json_type type;
      if ((e = v.type().get(type))) return e;
      m.seeder = false;
      if (type == od::json_type::number) {
        double left;
        if ((e = v.get_double().get(left))) return e;
        m.seeder = left == 0;
      } else {
        e = check(v, 1);
      }
    } else if (key == "answer") {
      m.has_answer = true;
      e = raw_checked(doc, v, 1, m.answer);
    } else if (key == "offers") {
      od::json_type type;
      if ((e = v.type().get(type))) return e;
      m.offers_is_array = type == od::json_type::array;
      m.offers_count = 0;
      m.offers.clear();
      if (!m.offers_is_array) {
        e = check(v, 1);
      } else {
        od::array a;
        if ((e = v.get_array().get(a))) return e;
        for (auto x : a) {
          od::value item;
          if ((e = std::move(x).get(item))) return e;
          if (m.offers_count++ < WsProtocol::kMaxOffers) {
            Message::Offer& offer = m.offers.emplace_back();
            if ((e = read_offer(doc, item, offer))) return e;
          } else if ((e = check(item, 2))) {
            return e;
          }
        }
      }
    } else {
      e = check(v, 1);
    }
    if (e) return e;
  }
  const char* rest;  // anything after the object is an error
  if (!doc.current_location().get(rest)) return simdjson::TRAILING_CONTENT;
  return simdjson::SUCCESS;
}

// A total order on (info-hash, peer id) pairs by 64/32-bit words: cheaper than the bytewise
// one, and joined_ needs only some order.
bool key_less(const std::pair<InfoHash, PeerId>& x, const std::pair<InfoHash, PeerId>& y) {
  uint64_t a[5], b[5];
  std::memcpy(a, x.first.bytes().data(), 20);
  std::memcpy(reinterpret_cast<char*>(a) + 20, x.second.data(), 20);
  std::memcpy(b, y.first.bytes().data(), 20);
  std::memcpy(reinterpret_cast<char*>(b) + 20, y.second.data(), 20);
  for (int i = 0; i < 5; ++i)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

void begin_announce(std::string& out) { out.assign("{\"action\":\"announce\""); }

void append_key(std::string& out, std::string_view key) {
  out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.append("\":");
}

void append_binary_field(std::string& out, std::string_view key, const uint8_t* bytes) {
  append_key(out, key);
  append_json_binary_string(out, bytes, 20);
}

}  // namespace

void WsProtocol::on_message(std::string_view text) {
  Scratch& s = scratch();
  if (s.input.size() < text.size() + simdjson::SIMDJSON_PADDING) s.input.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(s.input.data(), text.data(), text.size());
  thread_local Message m;
  m.clear();
  od::document doc;
  error_code e = s.parser.iterate(simdjson::padded_string_view(s.input.data(), text.size(), s.input.size())).get(doc);
  if (!e) e = read_message(doc, m);
  if (e) return fail("invalid JSON", nullptr);
  if (m.action == "announce")
    announce(m);
  else if (m.action == "scrape")
    scrape(m);
  else
    fail("invalid action", nullptr);
}

void WsProtocol::fail(std::string_view reason, const InfoHash* info_hash) {
  std::string& out = scratch().out;
  if (info_hash) {
    begin_announce(out);
    append_key(out, "failure reason");
    append_json_string(out, reason);
    append_binary_field(out, "info_hash", info_hash->bytes().data());
  } else {
    out.assign("{\"failure reason\":");
    append_json_string(out, reason);
  }
  out.push_back('}');
  self_->deliver(out);
}

void WsProtocol::announce(const Message& m) {
  if (!m.info_hash_is_string || !m.info_hash) return fail("invalid info_hash", nullptr);
  const InfoHash ih = InfoHash::from_bytes(m.info_hash->data());
  if (!m.peer_id) return fail("invalid peer_id", &ih);
  if (!allowed_(ih)) return fail("torrent not in this server's catalog", &ih);
  const PeerId& peer = *m.peer_id;
  std::string& out = scratch().out;

  if (m.has_answer) {
    if (!m.to_peer_id) return fail("invalid to_peer_id", &ih);
    if (!m.offer_id) return fail("invalid offer_id", &ih);
    if (auto target = tracker_.find_ws(ih, *m.to_peer_id)) {
      begin_announce(out);
      append_key(out, "answer");
      out.append(m.answer);
      append_binary_field(out, "info_hash", ih.bytes().data());
      append_binary_field(out, "offer_id", m.offer_id->data());
      append_binary_field(out, "peer_id", peer.data());
      out.push_back('}');
      target->deliver(out);
    }
    return;  // no reply to an answer
  }

  bool event_ok = true;
  const Event event = parse_event(m.event, event_ok);
  if (!event_ok) return fail("invalid event", &ih);
  size_t want = m.offers_is_array ? std::min(m.offers_count, kMaxOffers) : 0;

  // The server's own peers take offers first: a browser that wants the server gets it.
  thread_local std::vector<std::shared_ptr<ServerPeer>> servers;
  servers.clear();
  if (options_.server_peers) servers = options_.server_peers(ih);
  thread_local std::vector<ServerPeer*> taking;
  taking.clear();
  if (!m.seeder && event != Event::stopped) {
    for (const auto& sp : servers)
      if (taking.size() < want && sp->peer_id() != peer && sp->wants_offer(ih, peer)) taking.push_back(sp.get());
  }
  want -= taking.size();

  const Key key{ih, peer};
  auto pos = std::lower_bound(joined_.begin(), joined_.end(), key, key_less);
  const bool known = pos != joined_.end() && !key_less(key, *pos);
  if (event != Event::stopped && !known && joined_.size() >= kMaxSwarmsPerSocket)
    return fail("too many torrents on one socket", &ih);
  thread_local std::vector<Tracker::WsTarget> targets;
  targets.clear();
  Counts c = tracker_.announce_ws(ih, peer, m.seeder, event, self_, want, targets);
  c.seeders += static_cast<uint32_t>(servers.size());
  if (event == Event::stopped) {
    if (known) joined_.erase(pos);
  } else if (!known) {
    joined_.insert(pos, key);
  }

  begin_announce(out);
  append_key(out, "complete");
  append_number(out, c.seeders);
  append_key(out, "incomplete");
  append_number(out, c.leechers);
  append_binary_field(out, "info_hash", ih.bytes().data());
  append_key(out, "interval");
  append_number(out, tracker_.interval());
  out.push_back('}');
  self_->deliver(out);

  size_t next = 0;  // the next offer to hand out
  auto next_offer = [&]() -> const Message::Offer* {
    while (next < m.offers.size() && !m.offers[next].usable) ++next;
    return next < m.offers.size() ? &m.offers[next++] : nullptr;
  };
  for (ServerPeer* sp : taking) {
    const Message::Offer* o = next_offer();
    if (!o) break;
    // The answer may come later, on another thread: it is relayed to whichever socket holds the
    // offerer then.
    sp->offer(ih, peer, o->offer, options_.client,
              [&tracker = tracker_, ih, from = peer, offer_id = o->offer_id, me = sp->peer_id()](std::string_view sdp) {
                if (auto target = tracker.find_ws(ih, from)) target->deliver(answer_message(ih, me, offer_id, sdp));
              });
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    const Message::Offer* o = next_offer();
    if (!o) break;
    begin_announce(out);
    append_binary_field(out, "info_hash", ih.bytes().data());
    append_key(out, "offer");
    out.append(o->offer);
    append_binary_field(out, "offer_id", o->offer_id.data());
    append_binary_field(out, "peer_id", peer.data());
    out.push_back('}');
    targets[i].mailbox->deliver(out);
  }
  targets.clear();  // drops the references to the other sockets now
  servers.clear();
}

std::string answer_message(const InfoHash& h, const PeerId& from, const std::array<uint8_t, 20>& offer_id,
                           std::string_view answer_sdp) {
  std::string out;
  out.reserve(answer_sdp.size() + 256);
  begin_announce(out);
  append_key(out, "answer");
  out.append("{\"type\":\"answer\",\"sdp\":");
  append_json_string(out, answer_sdp);
  out.push_back('}');
  append_binary_field(out, "info_hash", h.bytes().data());
  append_binary_field(out, "offer_id", offer_id.data());
  append_binary_field(out, "peer_id", from.data());
  out.push_back('}');
  return out;
}

void WsProtocol::scrape(const Message& m) {
  thread_local std::vector<Bytes20> hashes;
  hashes.clear();
  if (m.info_hash_is_string) {
    if (!m.info_hash) return fail("invalid info_hash", nullptr);
    hashes.push_back(*m.info_hash);
  } else {
    if (m.scrape_strings > kMaxScrape) return fail("too many info_hash values (at most 64)", nullptr);
    for (const auto& h : m.scrape_hashes) {
      if (!h) return fail("invalid info_hash", nullptr);
      if (std::find(hashes.begin(), hashes.end(), *h) == hashes.end()) hashes.push_back(*h);
    }
  }
  std::string& out = scratch().out;
  out.assign("{\"action\":\"scrape\",\"files\":{");
  bool first = true;
  for (const auto& b : hashes) {
    const InfoHash h = InfoHash::from_bytes(b.data());
    if (!allowed_(h)) continue;
    Counts c = tracker_.counts(h);
    if (options_.server_peers) c.seeders += static_cast<uint32_t>(options_.server_peers(h).size());
    if (!first) out.push_back(',');
    first = false;
    append_json_binary_string(out, b.data(), b.size());
    out.append(":{\"complete\":");
    append_number(out, c.seeders);
    out.append(",\"downloaded\":");
    append_number(out, c.completed);
    out.append(",\"incomplete\":");
    append_number(out, c.leechers);
    out.push_back('}');
  }
  out.append("}}");
  self_->deliver(out);
}

void WsProtocol::close() {
  for (const auto& [h, p] : joined_) tracker_.leave_ws(h, p, self_.get());
  joined_.clear();
}

}  // namespace seedcast::tracker
