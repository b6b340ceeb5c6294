#pragma once
// The super peer's REST API, with the paths, bodies and header of the "Server as Peer" system
// vendors ship (docs/api.md), and its dashboard at /ui:
//   POST /ping                 {bandwidth?, workers?} → {workers}
//   POST /seed                 {list: [{channel, …}]} → the channels seeded (the list replaces
//                              the previous one)
//   GET  /stats, /stats/{pid}, /stats/{channelId}
//   POST /stop_all, /stop/{pid}, /restart_all, /restart/{pid}
//   GET  /ui                   the dashboard (?token=<accessToken>)
// Header X-ACCESS-TOKEN must equal the access token; without one configured only loopback
// clients are answered.
#include <string>
#include <thread>

#include "seedcast/core/reloadable.hpp"

namespace seedcast::http {
class Router;
}
namespace seedcast::origin {
class Fetcher;
}

namespace seedcast::superpeer {

class Seeder;

struct ApiOptions {
  const Reloadable<std::string>* access_token = nullptr;  // accessToken / ACCESS_TOKEN; nullptr: none
  Seeder* seeder = nullptr;           // nullptr: no engine (PEER_PORT=-1); the API answers 409
  origin::Fetcher* origin = nullptr;  // makes torrents of URL channels; nullptr: refused
  std::string web_dir;                // holds ui.html
  // Where the last good POST /seed body is kept, so a restart seeds the same channels; empty:
  // nowhere.
  std::string state_file;
  // Where the last POST /ping bandwidth is kept ({"bandwidth": Mbit/s}), so a restart keeps the
  // upload cap; empty: nowhere.
  std::string bandwidth_file;
};

void add_routes(http::Router& router, ApiOptions options);

// Applies the bandwidth kept in `options.bandwidth_file` (at once), and seeds again the list the
// last good POST /seed left in `options.state_file`, on a thread of its own (a URL channel may
// wait for its origin). Join it before the seeder goes. A missing file is nothing to restore; a
// bad one is logged and ignored.
std::thread restore_channels(ApiOptions options);

// Whether a request comes from this machine (127.0.0.0/8, ::1, v4-mapped loopback).
bool loopback(std::string_view remote_address);

}  // namespace seedcast::superpeer
