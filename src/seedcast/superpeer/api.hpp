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
};

void add_routes(http::Router& router, ApiOptions options);

// Whether a request comes from this machine (127.0.0.0/8, ::1, v4-mapped loopback).
bool loopback(std::string_view remote_address);

}  // namespace seedcast::superpeer
