#pragma once
// The tracker's front ends on the HTTP server: GET /announce and /scrape (bencoded, BEP 3/23/
// 7/48) and the WebSocket tracker at /announce (WebTorrent's bittorrent-tracker protocol,
// ws_protocol.hpp).
#include <functional>
#include <string_view>

#include "seedcast/core/info_hash.hpp"
#include "seedcast/http/message.hpp"

namespace seedcast::http {
class Router;
}

namespace seedcast::tracker {

class Tracker;

struct RouteOptions {
  // Whether an info-hash may be tracked (in the catalog, not blacklisted).
  std::function<bool(const InfoHash&)> allowed;
  // The port of this server's own BitTorrent seed for an info-hash (0: not seeded). HTTP
  // announces then list the server itself, at the address the client reached it on.
  std::function<uint16_t(const InfoHash&)> self_peer_port;
};

void add_routes(http::Router& router, Tracker& tracker, RouteOptions options);

// A refusal in the tracker's own language: status `status`, body d14:failure reason…e.
http::Response failure(int status, std::string_view message);

}  // namespace seedcast::tracker
