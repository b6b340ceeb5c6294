#include "seedcast/tracker/routes.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>
#include <spdlog/spdlog.h>

#include "seedcast/core/text.hpp"
#include "seedcast/http/detail/asio_impl.hpp"
#include "seedcast/http/router.hpp"
#include "seedcast/tracker/tracker.hpp"
#include "seedcast/tracker/ws_protocol.hpp"

namespace seedcast::tracker {
using http::Request;
using http::Response;

namespace {

constexpr size_t kMaxScrape = 64;

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

struct Context {
  Tracker& tracker;
  RouteOptions options;
};

Response http_announce(Context& ctx, const Request& req) {
  auto parsed = parse_announce_query(req.query);
  if (auto* why = std::get_if<std::string>(&parsed)) return failure(400, *why);
  const AnnounceQuery& q = std::get<AnnounceQuery>(parsed);
  Tracker::HttpAnnounce a;
  a.event = q.event;
  a.info_hash = q.info_hash;
  if (!ctx.options.allowed(a.info_hash)) return failure(404, "torrent not in this server's catalog");
  a.peer_id = q.peer_id;
  if (!parse_endpoint(req.remote, q.port, a.endpoint)) return failure(400, "cannot read the peer's address");
  const int numwant = q.numwant;
  const bool compact = q.compact;
  a.seeder = q.left == 0;
  a.numwant = numwant;
  auto reply = ctx.tracker.announce(a);
  std::vector<uint16_t> self;
  if (ctx.options.self_peer_ports) self = ctx.options.self_peer_ports(a.info_hash);
  if (!self.empty()) {
    // The server is a seed too: at the address this client used to reach it.
    std::string_view local = req.local;
    std::string_view host = local.substr(0, local.rfind(':'));
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const size_t want = ctx.tracker.want(numwant);
    for (auto it = self.rbegin(); it != self.rend(); ++it) {
      Endpoint me;
      if (parse_endpoint(host, *it, me) && !a.seeder && want > 0) reply.peers.insert(reply.peers.begin(), me);
      ++reply.counts.seeders;
    }
    if (reply.peers.size() > want) reply.peers.resize(want);
  }

  lt::entry e(lt::entry::dictionary_t);
  e["interval"] = ctx.tracker.interval();
  e["min interval"] = ctx.tracker.interval() / 2;
  e["complete"] = reply.counts.seeders;
  e["incomplete"] = reply.counts.leechers;
  e["downloaded"] = reply.counts.completed;
  if (compact) {
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
  auto parsed = parse_scrape_query(req.query);
  if (auto* why = std::get_if<std::string>(&parsed)) return failure(400, *why);
  const auto& hashes = std::get<std::vector<InfoHash>>(parsed);
  lt::entry e(lt::entry::dictionary_t);
  lt::entry& files = e["files"];
  files = lt::entry(lt::entry::dictionary_t);
  for (const auto& h : hashes) {
    if (!ctx.options.allowed(h)) continue;
    auto c = ctx.tracker.counts(h);
    if (ctx.options.self_peer_ports)  // as in announces
      c.seeders += static_cast<uint32_t>(ctx.options.self_peer_ports(h).size());
    lt::entry f(lt::entry::dictionary_t);
    f["complete"] = c.seeders;
    f["incomplete"] = c.leechers;
    f["downloaded"] = c.completed;
    files[std::string(reinterpret_cast<const char*>(h.bytes().data()), 20)] = std::move(f);
  }
  return bencoded(200, e);
}

// ---- WebSocket tracker

// The tracker's handle on a socket: what other peers' offers and answers are relayed to.
class Client final : public Mailbox {
 public:
  explicit Client(std::shared_ptr<http::WebSocket> ws) : ws_(std::move(ws)) {}
  void deliver(std::string_view message) override { ws_->send(message); }

 private:
  std::shared_ptr<http::WebSocket> ws_;
};

asio::awaitable<void> ws_session(std::shared_ptr<Context> ctx, std::shared_ptr<http::WebSocket> ws, WsClient client) {
  auto self = std::make_shared<Client>(ws);
  WsProtocol protocol(ctx->tracker, ctx->options.allowed, self, WsOptions{std::move(client), ctx->options.server_peers});
  while (auto msg = co_await ws->read()) {
    if (!msg->empty()) protocol.on_message(*msg);
  }
  protocol.close();
}

}  // namespace

std::variant<AnnounceQuery, std::string> parse_announce_query(std::string_view query) {
  std::optional<std::string> info_hash, peer_id;
  std::string event;
  int64_t left = -1;
  int port = -1, numwant = -1, compact = 1;
  bool bad_number = false;
  for_each_param(query, [&](const std::string& k, const std::string& v) {
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
  if (!info_hash || info_hash->size() != 20) return std::string("info_hash must be 20 bytes");
  if (!peer_id || peer_id->size() != 20) return std::string("peer_id must be 20 bytes");
  if (bad_number) return std::string("malformed numbers or repeated info_hash");
  if (port < 0 || port > 65535) return std::string("port missing or out of range");
  bool event_ok = true;
  AnnounceQuery q;
  q.event = parse_event(event, event_ok);
  if (!event_ok) return std::string("unknown event");
  q.info_hash = InfoHash::from_bytes(info_hash->data());
  std::memcpy(q.peer_id.data(), peer_id->data(), 20);
  q.port = static_cast<uint16_t>(port);
  q.left = left;
  q.numwant = numwant;
  q.compact = compact != 0;
  return q;
}

std::variant<std::vector<InfoHash>, std::string> parse_scrape_query(std::string_view query) {
  std::vector<InfoHash> hashes;
  bool bad = false;
  for_each_param(query, [&](const std::string& k, const std::string& v) {
    if (k != "info_hash") return;
    if (v.size() != 20) bad = true;
    else if (hashes.size() <= kMaxScrape) hashes.push_back(InfoHash::from_bytes(v.data()));
  });
  if (bad) return std::string("info_hash must be 20 bytes");
  if (hashes.empty()) return std::string("scrape needs at least one info_hash");
  if (hashes.size() > kMaxScrape) return std::string("too many info_hash values (at most 64)");
  return hashes;
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
      r.upgrade = [ctx, client = WsClient{std::string(req.remote), std::string(req.local)}](
                      std::shared_ptr<http::WebSocket> ws) { return ws_session(ctx, std::move(ws), client); };
      co_return r;
    }
    co_return http_announce(*ctx, req);
  });
  router.add({http::Method::get}, "/scrape",
             [ctx](Request& req) -> asio::awaitable<Response> { co_return http_scrape(*ctx, req); });
}

}  // namespace seedcast::tracker
