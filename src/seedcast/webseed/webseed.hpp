#pragma once
// The Seedess-compatible webseed routes: /torrent/{hash}.torrent, /file/{hash} (listing) and
// /file/{hash}/{path} (bytes with ranges). Glue of http, catalog and library.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "seedcast/core/info_hash.hpp"

namespace seedcast::catalog {
class Catalog;
class Blacklist;
struct Torrent;
}  // namespace seedcast::catalog
namespace seedcast::http {
class Router;
}
namespace seedcast::engine {
class Engine;
}
namespace seedcast::origin {
class Fetcher;
}

namespace seedcast::webseed {

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;
};

struct Options {
  std::string public_url;  // empty: http://<Host header>
  size_t max_ranges = 16;
  std::function<void()> on_stale;  // a file differs from what was hashed: re-index soon
  std::vector<std::string> extra_trackers;  // announced after this server's own (signal1/2)
  std::function<SwarmCounts(const InfoHash&)> swarm;  // the tracker's numbers, if any

  // The gateway to swarms seedcast does not hold (nullptr: none). With `open_gateway`, any
  // info-hash may be asked for; otherwise only those the operator added.
  engine::Engine* engine = nullptr;
  bool open_gateway = false;
  int metadata_timeout = 20;  // seconds to wait for a swarm's metadata before 504
  int piece_timeout = 15;     // seconds to wait for a piece before 503 (or, mid-body, giving up)
  uint32_t read_ahead = 8 * 1024 * 1024;  // bytes asked for past a range, for sequential video
  origin::Fetcher* origin = nullptr;  // torrents from URLs (/torrent/url/…); none when null
  // A torrent made from a URL was asked for (its .torrent, listing or bytes): the cache's
  // least-recently-used order. Called on the request's thread; must be cheap.
  std::function<void(const catalog::Torrent&)> on_url_use;
  // Is this address (Request::remote) a native BitTorrent client of this torrent (it announced
  // to the HTTP tracker, or is connected to the server's own seed)? Such a client gets the same
  // bytes from the seed and from its other peers, so its bulk web-seed requests (a closed range longer than one piece: libtorrent
  // merges up to 16 MiB into one request and completes none of its pieces before the last
  // byte) are answered 503 with `Retry-After: defer_seconds`. One-piece requests (WebTorrent,
  // players) and open ranges are always served. Unset or defer_seconds 0: never.
  std::function<bool(const InfoHash&, std::string_view remote)> bittorrent_peer;
  // Is this address a browser the server's own WebRTC peer serves in this torrent? That peer
  // sends it what the swarm lacks and what it needs at once (swarm-first), so its web-seed
  // requests (WebTorrent asks one piece at a time) are all deferred, whatever their size; the
  // browser retries the piece from its peers (WebTorrent: 10 s later from the web seed).
  std::function<bool(const InfoHash&, std::string_view remote)> webrtc_peer;
  int defer_seconds = 0;
};

class FileCache;

class Webseed {
 public:
  Webseed(Options options, const catalog::Catalog& catalog, const catalog::Blacklist& blacklist);
  ~Webseed();
  void add_routes(http::Router& router);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace seedcast::webseed
