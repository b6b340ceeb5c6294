#pragma once
// The operator's API (/api/…), guarded by ACCESS_TOKEN (header X-Access-Token), and the
// client side of `seedcast add`.
#include <string>
#include <string_view>
#include <variant>

#include "seedcast/core/info_hash.hpp"
#include "seedcast/core/reloadable.hpp"

namespace seedcast::catalog {
class Catalog;
}
namespace seedcast::engine {
class Engine;
}
namespace seedcast::http {
class Router;
}

namespace seedcast::admin {

struct Options {
  const Reloadable<std::string>* access_token = nullptr;  // empty or nullptr: every /api/ call is refused
  catalog::Catalog* catalog = nullptr;
  engine::Engine* engine = nullptr;  // nullptr: no gateway (PEER_PORT=-1)
  // Magnets and info-hashes added whose metadata has not come yet, one per line, so a restart
  // goes on fetching them; empty: not kept.
  std::string pending_file;
};

//   POST   /api/torrents          body: a magnet URI, an info-hash, a .torrent file, or
//                                 {"magnet": "…"} / {"infoHash": "…"}  → 202 (fetching) or 200
//   GET    /api/torrents          the catalog, and what the gateway is fetching
//   DELETE /api/torrents/{hash}   a torrent the gateway fetched: out of the catalog, data deleted
void add_routes(http::Router& router, Options options);

// What a POST /api/torrents body asks for, checked: a .torrent file (its bytes), a magnet URI
// (one line) or an info-hash (40 hex digits), given raw or as JSON {"magnet"} / {"infoHash"}.
struct AddRequest {
  enum class Kind { torrent_file, magnet, info_hash } kind = Kind::info_hash;
  std::string text;  // the .torrent's bytes, the magnet URI, or the hex info-hash
  InfoHash info_hash;
};
// The request, or the message of the 400 that refuses it.
std::variant<AddRequest, std::string> parse_add_body(std::string_view body);

// Adds to the engine again what `options.pending_file` lists and the catalog still lacks.
void restore_pending(const Options& options);

// `seedcast add`: asks the server at `server` (http://host:port) to fetch `what` (a magnet URI,
// an info-hash, or the path of a .torrent file). Prints the answer; returns the exit status.
int add_remote(const std::string& server, const std::string& access_token, const std::string& what);

}  // namespace seedcast::admin
