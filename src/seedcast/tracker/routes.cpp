#include "seedcast/tracker/routes.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <spdlog/spdlog.h>

#include "seedcast/core/text.hpp"
#include "seedcast/http/detail/asio_impl.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/tracker/tracker.hpp"

namespace seedcast::tracker {
using http::Request;
using http::Response;
using json = nlohmann::json;

namespace {

constexpr size_t kMaxScrape = 64;
constexpr size_t kMaxOffers = 10;
constexpr size_t kMaxSwarmsPerSocket = 1000;

std::string bencode(const lt::entry& e) {
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

Response bencoded(int status, const lt::entry& e) {
  Response r = Response::text(status, bencode(e), "text/plain");
  r.set("Cache-Control", "no-store");
  return r;
}

// Calls f(key, value) for every key=value of a query, both percent-decoded ('+' stays '+':
// clients percent-encode binary values).
template <class F>
void for_each_param(std::string_view query, F&& f) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    size_t eq = pair.find('=');
    f(text::percent_decode(pair.substr(0, eq)),
      eq == std::string_view::npos ? std::string() : text::percent_decode(pair.substr(eq + 1)));
  }
}

template <class T>
bool parse_number(const std::string& s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}


Event parse_event(std::string_view e, bool& ok) {
  ok = true;
  if (e.empty() || e == "update" || e == "empty") return Event::none;
  if (e == "started") return Event::started;
  if (e == "stopped") return Event::stopped;
  if (e == "completed") return Event::completed;
  if (e == "paused") return Event::paused;
  ok = false;
  return Event::none;
}

struct Context {
  Tracker& tracker;
  RouteOptions options;
};

Response http_announce(Context& ctx, const Request& req) {
  std::optional<std::string> info_hash, peer_id;
  std::string event;
  int64_t left = -1;
  int port = -1, numwant = -1, compact = 1;
  bool bad_number = false;
  for_each_param(req.query, [&](const std::string& k, const std::string& v) {
    if (k == "info_hash") {
      if (info_hash) bad_number = true;  // a second info_hash is ambiguous
      info_hash = v;
    } else if (k == "peer_id") {
      peer_id = v;
    } else if (k == "port") {
      bad_number |= !parse_number(v, port);
    } else if (k == "left") {
      bad_number |= !parse_number(v, left);
    } else if (k == "numwant") {
      bad_number |= !parse_number(v, numwant);
    } else if (k == "compact") {
      bad_number |= !parse_number(v, compact);
    } else if (k == "event") {
      event = v;
    }
  });
  if (!info_hash || info_hash->size() != 20) return failure(400, "info_hash must be 20 bytes");
  if (!peer_id || peer_id->size() != 20) return failure(400, "peer_id must be 20 bytes");
  if (bad_number) return failure(400, "malformed numbers or repeated info_hash");
  if (port < 0 || port > 65535) return failure(400, "port missing or out of range");
  bool event_ok = true;
  Tracker::HttpAnnounce a;
  a.event = parse_event(event, event_ok);
  if (!event_ok) return failure(400, "unknown event");
  a.info_hash = InfoHash::from_bytes(info_hash->data());
  if (!ctx.options.allowed(a.info_hash)) return failure(404, "torrent not in this server's catalog");
  std::memcpy(a.peer_id.data(), peer_id->data(), 20);
  if (!parse_endpoint(req.remote, static_cast<uint16_t>(port), a.endpoint))
    return failure(400, "cannot read the peer's address");
  a.seeder = left == 0;
  a.numwant = numwant;
  auto reply = ctx.tracker.announce(a);
  if (uint16_t self = ctx.options.self_peer_port ? ctx.options.self_peer_port(a.info_hash) : 0) {
    // The server is a seed too: at the address this client used to reach it.
    std::string_view local = req.local;
    std::string_view host = local.substr(0, local.rfind(':'));
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    Endpoint me;
    const size_t want = ctx.tracker.want(numwant);
    if (parse_endpoint(host, self, me) && !a.seeder && want > 0) {
      reply.peers.insert(reply.peers.begin(), me);
      if (reply.peers.size() > want) reply.peers.pop_back();
    }
    ++reply.counts.seeders;
  }

  lt::entry e(lt::entry::dictionary_t);
  e["interval"] = ctx.tracker.interval();
  e["min interval"] = ctx.tracker.interval() / 2;
  e["complete"] = reply.counts.seeders;
  e["incomplete"] = reply.counts.leechers;
  e["downloaded"] = reply.counts.completed;
  if (compact != 0) {
    std::string v4, v6;
    for (const auto& p : reply.peers) {
      std::string& out = p.v6 ? v6 : v4;
      out.append(reinterpret_cast<const char*>(p.addr.data()), p.v6 ? 16 : 4);
      out.push_back(static_cast<char>(p.port >> 8));
      out.push_back(static_cast<char>(p.port & 0xff));
    }
    e["peers"] = v4;
    if (!v6.empty()) e["peers6"] = v6;
  } else {
    lt::entry::list_type list;
    for (const auto& p : reply.peers) {
      char buf[INET6_ADDRSTRLEN] = {};
      inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr.data(), buf, sizeof buf);
      lt::entry d(lt::entry::dictionary_t);
      d["ip"] = std::string(buf);
      d["port"] = p.port;
      list.push_back(std::move(d));
    }
    e["peers"] = std::move(list);
  }
  return bencoded(200, e);
}

Response http_scrape(Context& ctx, const Request& req) {
  std::vector<InfoHash> hashes;
  bool bad = false;
  for_each_param(req.query, [&](const std::string& k, const std::string& v) {
    if (k != "info_hash") return;
    if (v.size() != 20) bad = true;
    else hashes.push_back(InfoHash::from_bytes(v.data()));
  });
  if (bad) return failure(400, "info_hash must be 20 bytes");
  if (hashes.empty()) return failure(400, "scrape needs at least one info_hash");
  if (hashes.size() > kMaxScrape) return failure(400, "too many info_hash values (at most 64)");
  lt::entry e(lt::entry::dictionary_t);
  lt::entry& files = e["files"];
  files = lt::entry(lt::entry::dictionary_t);
  for (const auto& h : hashes) {
    if (!ctx.options.allowed(h)) continue;
    auto c = ctx.tracker.counts(h);
    if (ctx.options.self_peer_port && ctx.options.self_peer_port(h)) ++c.seeders;  // as in announces
    lt::entry f(lt::entry::dictionary_t);
    f["complete"] = c.seeders;
    f["incomplete"] = c.leechers;
    f["downloaded"] = c.completed;
    files[std::string(reinterpret_cast<const char*>(h.bytes().data()), 20)] = std::move(f);
  }
  return bencoded(200, e);
}

// ---- WebSocket tracker

class Client final : public Mailbox {
 public:
  explicit Client(std::shared_ptr<http::WebSocket> ws) : ws_(std::move(ws)) {}
  void deliver(std::string message) override { ws_->send(std::move(message)); }
  http::WebSocket& ws() { return *ws_; }

 private:
  std::shared_ptr<http::WebSocket> ws_;
};

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void ws_failure(Client& c, std::string_view message, const std::string* info_hash_text) {
  json j;
  if (info_hash_text) {
    j["action"] = "announce";
    j["failure reason"] = message;
    j["info_hash"] = *info_hash_text;
  } else {
    j["failure reason"] = message;
  }
  c.deliver(dump(j));
}

bool binary_field(const json& j, const char* key, std::array<uint8_t, 20>& out) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() && decode_binary_string(it->get_ref<const std::string&>(), out);
}

struct WsState {
  std::set<std::pair<InfoHash, PeerId>> joined;
};

void ws_announce(Context& ctx, const std::shared_ptr<Client>& self, WsState& st, const json& j) {
  std::array<uint8_t, 20> ih_bytes{}, peer{};
  if (!binary_field(j, "info_hash", ih_bytes)) return ws_failure(*self, "invalid info_hash", nullptr);
  const std::string& ih_text = j["info_hash"].get_ref<const std::string&>();
  if (!binary_field(j, "peer_id", peer)) return ws_failure(*self, "invalid peer_id", &ih_text);
  InfoHash ih = InfoHash::from_bytes(ih_bytes.data());
  if (!ctx.options.allowed(ih)) return ws_failure(*self, "torrent not in this server's catalog", &ih_text);
  const std::string& peer_text = j["peer_id"].get_ref<const std::string&>();

  if (auto answer = j.find("answer"); answer != j.end()) {
    std::array<uint8_t, 20> to{}, offer_id{};
    if (!binary_field(j, "to_peer_id", to)) return ws_failure(*self, "invalid to_peer_id", &ih_text);
    if (!binary_field(j, "offer_id", offer_id)) return ws_failure(*self, "invalid offer_id", &ih_text);
    if (auto target = ctx.tracker.find_ws(ih, to)) {
      json out = {{"action", "announce"}, {"answer", *answer}, {"offer_id", j["offer_id"]},
                  {"peer_id", peer_text}, {"info_hash", ih_text}};
      target->deliver(dump(out));
    }
    return;  // no reply to an answer
  }

  bool event_ok = true;
  auto ev = j.find("event");
  Event event = parse_event(ev != j.end() && ev->is_string() ? ev->get_ref<const std::string&>() : "", event_ok);
  if (!event_ok) return ws_failure(*self, "invalid event", &ih_text);
  auto left = j.find("left");
  bool seeder = left != j.end() && left->is_number() && left->get<double>() == 0;
  auto offers = j.find("offers");
  size_t want = 0;
  if (offers != j.end() && offers->is_array()) want = std::min(offers->size(), kMaxOffers);

  std::pair<InfoHash, PeerId> key{ih, peer};
  if (event != Event::stopped && !st.joined.count(key) && st.joined.size() >= kMaxSwarmsPerSocket)
    return ws_failure(*self, "too many torrents on one socket", &ih_text);
  std::vector<Tracker::WsTarget> targets;
  Counts c = ctx.tracker.announce_ws(ih, peer, seeder, event, self, want, targets);
  if (event == Event::stopped)
    st.joined.erase(key);
  else
    st.joined.insert(key);

  json reply = {{"action", "announce"},     {"interval", ctx.tracker.interval()}, {"info_hash", ih_text},
                {"complete", c.seeders}, {"incomplete", c.leechers}};
  self->deliver(dump(reply));
  for (size_t i = 0; i < targets.size(); ++i) {
    const json& o = (*offers)[i];
    if (!o.is_object() || !o.contains("offer")) continue;
    std::array<uint8_t, 20> offer_id{};
    if (!binary_field(o, "offer_id", offer_id)) continue;
    json out = {{"action", "announce"}, {"offer", o["offer"]}, {"offer_id", o["offer_id"]},
                {"peer_id", peer_text}, {"info_hash", ih_text}};
    targets[i].mailbox->deliver(dump(out));
  }
}

void ws_scrape(Context& ctx, Client& self, const json& j) {
  std::vector<std::string> texts;
  if (auto it = j.find("info_hash"); it != j.end()) {
    if (it->is_string()) texts.push_back(it->get<std::string>());
    else if (it->is_array())
      for (const auto& x : *it)
        if (x.is_string()) texts.push_back(x.get<std::string>());
  }
  if (texts.size() > kMaxScrape) return ws_failure(self, "too many info_hash values (at most 64)", nullptr);
  json files = json::object();
  for (const auto& t : texts) {
    std::array<uint8_t, 20> b{};
    if (!decode_binary_string(t, b)) return ws_failure(self, "invalid info_hash", nullptr);
    InfoHash h = InfoHash::from_bytes(b.data());
    if (!ctx.options.allowed(h)) continue;
    auto c = ctx.tracker.counts(h);
    files[t] = {{"complete", c.seeders}, {"incomplete", c.leechers}, {"downloaded", c.completed}};
  }
  self.deliver(dump({{"action", "scrape"}, {"files", files}}));
}

asio::awaitable<void> ws_session(std::shared_ptr<Context> ctx, std::shared_ptr<http::WebSocket> ws) {
  auto self = std::make_shared<Client>(ws);
  WsState st;
  while (auto msg = co_await ws->read()) {
    if (msg->empty()) continue;
    json j = json::parse(*msg, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ws_failure(*self, "invalid JSON", nullptr);
      continue;
    }
    auto action = j.find("action");
    std::string a = action != j.end() && action->is_string() ? action->get<std::string>() : "";
    try {
      if (a == "announce")
        ws_announce(*ctx, self, st, j);
      else if (a == "scrape")
        ws_scrape(*ctx, *self, j);
      else
        ws_failure(*self, "invalid action", nullptr);
    } catch (const json::exception& e) {
      ws_failure(*self, "malformed message", nullptr);
    }
  }
  for (const auto& [h, p] : st.joined) ctx->tracker.leave_ws(h, p, self.get());
}

}  // namespace

bool decode_binary_string(std::string_view s, std::array<uint8_t, 20>& out) {
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

Response failure(int status, std::string_view message) {
  lt::entry e(lt::entry::dictionary_t);
  e["failure reason"] = std::string(message);
  return bencoded(status, e);
}

void add_routes(http::Router& router, Tracker& tracker, RouteOptions options) {
  auto ctx = std::make_shared<Context>(Context{tracker, std::move(options)});
  router.add({http::Method::get}, "/announce", [ctx](Request& req) -> asio::awaitable<Response> {
    if (req.websocket) {
      Response r(101);
      r.upgrade = [ctx](std::shared_ptr<http::WebSocket> ws) { return ws_session(ctx, std::move(ws)); };
      co_return r;
    }
    co_return http_announce(*ctx, req);
  });
  router.add({http::Method::get}, "/scrape",
             [ctx](Request& req) -> asio::awaitable<Response> { co_return http_scrape(*ctx, req); });
}

}  // namespace seedcast::tracker
