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
}  // namespace seedcast::catalog
namespace seedcast::http {
class Router;
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
  // Is this address (Request::remote) a native BitTorrent client of this torrent (it announced
  // to the HTTP tracker, or is connected to the server's own seed)? Such a client gets the same
  // bytes from the seed and from its other peers, so its bulk web-seed requests (a closed range longer than one piece: libtorrent
  // merges up to 16 MiB into one request and completes none of its pieces before the last
  // byte) are answered 503 with `Retry-After: defer_seconds`. One-piece requests (WebTorrent,
  // players) and open ranges are always served. Unset or defer_seconds 0: never.
  std::function<bool(const InfoHash&, std::string_view remote)> bittorrent_peer;
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
