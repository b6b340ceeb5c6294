#pragma once
// The tracker's front ends on the HTTP server: GET /announce and /scrape (bencoded, BEP 3/23/
// 7/48) and the WebSocket tracker at /announce (WebTorrent's bittorrent-tracker protocol,
// ws_protocol.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "seedcast/core/info_hash.hpp"
#include "seedcast/http/message.hpp"
#include "seedcast/tracker/tracker.hpp"
#include "seedcast/tracker/ws_protocol.hpp"

namespace seedcast::http {
class Router;
}

namespace seedcast::tracker {

// An HTTP announce's query (BEP 3, 23): what the tracker needs of it, checked.
struct AnnounceQuery {
  InfoHash info_hash;
  PeerId peer_id{};
  uint16_t port = 0;
  Event event = Event::none;
  int64_t left = -1;   // -1: not sent
  int numwant = -1;    // -1: not sent
  bool compact = true;
  friend bool operator==(const AnnounceQuery&, const AnnounceQuery&) = default;
};
// The query of GET /announce, percent-decoded ('+' stays '+'); the failure reason otherwise.
std::variant<AnnounceQuery, std::string> parse_announce_query(std::string_view query);
// The info_hash values of GET /scrape (1 to 64 of them); the failure reason otherwise.
std::variant<std::vector<InfoHash>, std::string> parse_scrape_query(std::string_view query);

struct RouteOptions {
  // Whether an info-hash may be tracked (in the catalog, not blacklisted).
  std::function<bool(const InfoHash&)> allowed;
  // The ports of this server's own BitTorrent seeds for an info-hash (its engine, its worker
  // processes; empty: not seeded). HTTP announces list the server itself at each, at the
  // address the client reached it on.
  std::function<std::vector<uint16_t>(const InfoHash&)> self_peer_ports;
  // The server's WebRTC peers of an info-hash (its own, its workers'): WebSocket announces hand
  // them offers first (ws_protocol.hpp).
  std::function<std::vector<std::shared_ptr<ServerPeer>>(const InfoHash&)> server_peers;
};

void add_routes(http::Router& router, Tracker& tracker, RouteOptions options);

// A refusal in the tracker's own language: status `status`, body d14:failure reason…e.
http::Response failure(int status, std::string_view message);

}  // namespace seedcast::tracker
