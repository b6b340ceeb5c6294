#pragma once
// The tracker's front ends on the HTTP server: GET /announce and /scrape (bencoded, BEP 3/23/
// 7/48) and the WebSocket tracker at /announce (WebTorrent's bittorrent-tracker protocol,
// ws_protocol.hpp).
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

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
  // The ports of this server's own BitTorrent seeds for an info-hash (its engine, its worker
  // processes; empty: not seeded). HTTP announces list the server itself at each, at the
  // address the client reached it on.
  std::function<std::vector<uint16_t>(const InfoHash&)> self_peer_ports;
};

void add_routes(http::Router& router, Tracker& tracker, RouteOptions options);

// A refusal in the tracker's own language: status `status`, body d14:failure reason…e.
http::Response failure(int status, std::string_view message);

}  // namespace seedcast::tracker
